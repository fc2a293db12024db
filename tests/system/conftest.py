"""Fixtures for system tests: a throwaway scratch copy of this machine (see scratch.py).

`scratch` is a fresh scratch system per test (it costs well under a second);
`offline_scratch` one with its own network namespace (services, net.* sysctls);
`scratch_module` is shared by the tests of one module where setting one up is
slow (packages installed once). Both skip with the reason when this machine
cannot build one (not root, no overlayfs, no util-linux).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scratch import start_or_skip  # noqa: E402


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.system)


def _started(tmp_path_factory, **options):
    return start_or_skip(str(tmp_path_factory.getbasetemp()), **options)


@pytest.fixture
def scratch(tmp_path_factory):
    """A fresh scratch system, torn down after the test."""
    system = _started(tmp_path_factory)
    yield system
    system.teardown()


@pytest.fixture(scope="module")
def scratch_module(tmp_path_factory):
    """One scratch system shared by the tests of a module."""
    system = _started(tmp_path_factory)
    yield system
    system.teardown()


@pytest.fixture
def offline_scratch(tmp_path_factory):
    """A fresh scratch system with its own network namespace (only lo): its services and net.*
    sysctls cannot clash with the host's; no network beyond 127.0.0.1."""
    system = _started(tmp_path_factory, private_network=True)
    yield system
    system.teardown()
