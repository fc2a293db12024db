"""Shared test helpers: run the confrt CLI from this source tree."""
import os
import shutil
import subprocess
import sys

import pytest
from confrt_testing import REPO, confrt_env


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


@pytest.fixture(scope="session", autouse=True)
def parse_cache_of_the_session(tmp_path_factory):
    """confrt's parse cache (util/parse_cache) in a file of this session, not in /var/cache:
    every run of the suite starts cold, and it leaves this machine's cache alone."""
    os.environ["CONFRT_PARSE_CACHE"] = str(tmp_path_factory.mktemp("parse-cache"))


@pytest.fixture(scope="session")
def rpm_build(tmp_path_factory):
    """The RPM of this tree, built once per session by packaging/build-rpm.sh (the unit and the
    system tests both use it): (its --topdir, the build's CompletedProcess)."""
    if not shutil.which("rpmbuild"):
        pytest.skip("rpmbuild not installed (Debian package rpm)")
    topdir = tmp_path_factory.mktemp("rpmbuild")
    result = subprocess.run(["bash", os.path.join(REPO, "packaging", "build-rpm.sh"), "--topdir", str(topdir)],
                            capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHON=sys.executable))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return topdir, result
