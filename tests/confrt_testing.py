"""Helpers shared by the test suites: run the confrt CLI from this source tree.

Import it as `from confrt_testing import ...` (never `from conftest import`: each test
folder may have a conftest.py of its own, and the first one imported would shadow the rest).
"""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def confrt_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("CONFRT_CONFIG", None)
    if extra:
        env.update(extra)
    return env
