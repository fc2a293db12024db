"""Shared test helpers: run the confrt CLI from this source tree."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def confrt_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("CONFRT_CONFIG", None)
    if extra:
        env.update(extra)
    return env


@pytest.fixture
def run_confrt():
    """run_confrt(*args, env=None, input=None) -> CompletedProcess of `python -m confrt args`."""

    def _run(*args, env=None, input=None, timeout=120, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "confrt", *map(str, args)],
            capture_output=True, text=True, env=confrt_env(env), input=input, timeout=timeout,
            cwd=cwd,
        )

    return _run
