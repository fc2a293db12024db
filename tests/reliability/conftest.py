"""The reliability suite: real `confrt` processes killed, raced, starved of disk and fed garbage.

Every site lives under the test's temp dir. Helpers are in reliability_support.py;
helpers shared with the unit tests (run_site) come from tests/unit; confrt itself is
imported from this source tree, not from an installed copy.
"""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(HERE)), HERE, os.path.join(os.path.dirname(HERE), "unit")]


@pytest.fixture
def tmpfs(tmp_path):
    """mount_tmpfs(name, size) -> a fresh tmpfs of `size` (e.g. '64m') at tmp_path/name; unmounted after."""
    mounted = []

    def mount_tmpfs(name, size):
        if os.geteuid() != 0:
            pytest.skip("needs root to mount a tmpfs")
        path = tmp_path / name
        path.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount_tmpfs
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=True)
