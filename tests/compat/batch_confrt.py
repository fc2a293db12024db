"""`confrt lookup` for many keys in one process: the counterpart of batch_lookup.rb.

stdin: a JSON list of argument lists (each a whole `confrt lookup ...` command line
without "confrt"); stdout: a JSON list of {"rc", "out", "err"}, one per command, each
from confrt's own main() as the console script calls it. One Python start-up and one
import of confrt for them all, instead of one per key.
"""
import contextlib
import io
import json
import sys

from confrt.cli import main


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return {"rc": code, "out": out.getvalue(), "err": err.getvalue()}


if __name__ == "__main__":
    json.dump([run(argv) for argv in json.load(sys.stdin)], sys.stdout)
