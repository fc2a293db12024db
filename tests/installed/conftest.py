"""Fixtures of the "as installed" lane (see installed_support.py): the wheel once per session,
one venv per interpreter once per session, all under one folder in /var/tmp (not /tmp: the
scratch system mounts a fresh tmpfs there, and the README session runs the venv inside it)."""
import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "system")]

from installed_support import build_wheel, interpreters, make_venv  # noqa: E402

INTERPRETERS = interpreters()


@pytest.fixture(scope="session")
def lane_dir():
    """This session's folder of wheel, venvs and parse cache; removed afterwards."""
    parent = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    path = tempfile.mkdtemp(prefix="confrt-installed-", dir=parent)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def wheel(lane_dir):
    return build_wheel(lane_dir)


@pytest.fixture(scope="session", params=INTERPRETERS, ids=[name for name, _, _ in INTERPRETERS])
def installed(request, lane_dir, wheel):
    """confrt from the wheel in a fresh venv of each interpreter (an Installed)."""
    name, python, missing = request.param
    if python is None:
        pytest.skip(missing)
    return make_venv(python, os.path.join(lane_dir, f"venv-{name}"), wheel, name,
                     os.path.join(lane_dir, "parse-cache"))
