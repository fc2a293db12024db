"""`confrt --help` and subcommand help: widths as shutil would find them (without importing it)."""
import pytest


@pytest.mark.parametrize("columns, width", [("100", 100), ("0", 80), ("-5", 80), ("abc", 80), (None, 80)])
def test_the_width_is_columns_else_the_terminal_else_80(monkeypatch, columns, width):
    from confrt import cli

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli._columns() == width  # pytest's stdout is no terminal


@pytest.mark.parametrize("columns", ["60", "100"])  # narrower, argparse cannot break "[--merge {...}]"
def test_help_wraps_at_the_width(run_confrt, columns):
    """Everything argparse writes fits; a subcommand's description keeps its own lines."""
    for argv in (["--help"], ["lookup", "--help"], ["apply", "--help"]):
        result = run_confrt(*argv, env={"COLUMNS": columns})
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("usage: confrt")
        usage = lines[:lines.index("")]
        options = lines[lines.index("options:"):] if argv != ["--help"] else lines
        too_long = [line for line in usage + options if len(line) > int(columns) and " " in line.strip()]
        assert too_long == [], too_long


def test_help_imports_no_shutil():
    import subprocess
    import sys

    from confrt_testing import REPO, confrt_env

    script = "import sys\nfrom confrt import cli\ncli.build_parser(['facts'])\nprint('shutil' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, cwd=REPO,
                            env=confrt_env())
    assert result.stdout.strip() == "False", result.stderr
