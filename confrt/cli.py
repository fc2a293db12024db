"""The confrt command line: argparse wiring only.

Each subcommand lives in confrt/commands/<name>.py with HELP, DESCRIPTION,
add_arguments(parser) and run(args, config) -> exit code. Command modules
import their heavy dependencies inside run(), so `confrt --help` and a
converged run stay cheap.
"""
import argparse
import importlib
import os
import sys

from confrt import __version__
from confrt.commands import add_common_options

COMMANDS = ["facts", "lookup", "userdata", "submit", "apply", "run", "modules", "eyaml", "site-data"]


def _columns():
    """The terminal width as shutil.get_terminal_size finds it, without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
        if columns > 0:
            return columns
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, given its width: argparse builds a formatter for every option it adds, and
    the default one imports shutil to measure the terminal (~4 ms of every run)."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, width or max(_columns() - 2, 20))


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The subcommands' formatter: their descriptions keep their lines."""


def chosen_command(argv):
    """The subcommand argv names (its first word that is neither an option nor --config's value), or None."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv=None):
    """The argparse parser (all subcommands). When argv names a subcommand, only that
    command's module is imported and only its options are built: each run pays for one."""
    parser = argparse.ArgumentParser(
        prog="confrt", formatter_class=HelpFormatter,
        description="Masterless configuration runtime: userdata + layered data -> modules -> "
                    "an idempotent, previewable apply.",
    )
    parser.add_argument("--version", action="version", version=f"confrt {__version__}")
    add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = chosen_command(argv) if argv is not None else None
    for name in [chosen] if chosen else COMMANDS:
        module = importlib.import_module(f"confrt.commands.{name.replace('-', '_')}")
        cmd = sub.add_parser(name, help=module.HELP,
                             description=getattr(module, "DESCRIPTION", module.HELP),
                             formatter_class=RawDescriptionHelpFormatter)
        add_common_options(cmd)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 1
    from confrt.errors import ConfrtError

    try:
        from confrt.config import load_config

        config = load_config(args.config)
        return args._module.run(args, config)
    except ConfrtError as exc:
        print(f"confrt: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("confrt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"confrt: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
