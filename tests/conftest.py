"""Shared test helpers: run the confrt CLI from this source tree."""
import subprocess
import sys

import pytest
from confrt_testing import confrt_env


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
