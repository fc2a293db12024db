"""Helpers of the reliability suite (imported by its tests; fixtures live in conftest.py)."""
import os
import sys

import pytest
from confrt_testing import REPO, confrt_env

TEMP_PREFIX = ".confrt-"


def need_root(reason):
    if os.geteuid() != 0:
        pytest.skip(f"needs root: {reason}")


def confrt_process(*args):
    """argv of `python -m confrt args` (run it with process_env(site env))."""
    return [sys.executable, "-m", "confrt", *map(str, args)]


def process_env(site_env):
    """This environment plus the site's (CONFRT_CONFIG) with only this source tree on PYTHONPATH."""
    return confrt_env(dict(site_env, PYTHONPATH=REPO))


def temp_leftovers(root):
    """Every `.confrt-*` temp file below root."""
    return sorted(os.path.join(directory, name) for directory, _, names in os.walk(root)
                  for name in names if name.startswith(TEMP_PREFIX))
