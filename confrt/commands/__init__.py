"""confrt's subcommands, one module each (see confrt/cli.py), and the options they share."""
import argparse


def add_common_options(parser, top=False):
    """--config and --debug, accepted at every level: before the subcommand, after it, after its
    action (`confrt --config F modules list`, `confrt modules list --config F`).

    Only the top level has defaults; below it an option given overrides and one not given leaves
    the value from higher up (argparse copies a subparser's defaults over its parent's)."""
    default = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--config", metavar="FILE", **default,
                        help="confrt settings (default: $CONFRT_CONFIG or /etc/confrt/confrt.yaml)")
    parser.add_argument("--debug", action="store_true", **default, help="show tracebacks of unexpected errors")


def add_facts_options(parser):
    """--facts FILE and --role ROLE: what a command's facts are, where they are not this host's."""
    parser.add_argument("--facts", metavar="FILE", help="YAML or JSON facts overriding this machine's")
    parser.add_argument("--role", metavar="ROLE", type=_role_name,
                        help="the role fact (shorthand for --facts with `role: ROLE`; wins over both)")


def _role_name(text):
    """A role names data files (roles/<role>.yaml): a plain name, never a path."""
    if not text or text.startswith(".") or not all(char.isalnum() or char in "_.-" for char in text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a role name (letters, digits, '_', '.', '-')")
    return text
