"""Run lock: a second process waits up to --wait-lock, then fails naming the holder's pid."""
import contextlib
import os
import subprocess
import sys
import textwrap

import pytest

from confrt.engine.lock import RunLock
from confrt.errors import LockError

HOLDER = textwrap.dedent("""
    import sys, time
    from confrt.engine.lock import RunLock
    lock = RunLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    sys.stdin.readline()
""")


@contextlib.contextmanager
def holding(statedir):
    """Another process holding the run lock of `statedir` until the block ends."""
    from confrt_testing import confrt_env

    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(statedir)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=confrt_env())
    try:
        assert process.stdout.readline() == "locked\n"
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=10)


@pytest.fixture
def holder(tmp_path):
    with holding(tmp_path) as process:
        yield process


def test_second_run_fails_naming_the_holder(tmp_path, holder):
    with pytest.raises(LockError) as error:
        RunLock(str(tmp_path)).acquire(wait_seconds=0)
    assert f"another confrt run (pid {holder.pid}) holds {tmp_path}/lock" in str(error.value)


def test_waits_then_gets_the_lock_when_the_holder_ends(tmp_path, holder):
    holder.stdin.write("\n")
    holder.stdin.flush()
    lock = RunLock(str(tmp_path)).acquire(wait_seconds=30)
    with open(tmp_path / "lock") as handle:
        assert handle.read().strip() == str(os.getpid())
    lock.release()


def test_cli_exits_1_naming_the_holder(tmp_path, run_confrt):
    from engine_support import make_site

    env = make_site(tmp_path, {"classes": []})
    with holding(tmp_path / "state") as holder2:
        result = run_confrt("apply", "--wait-lock", "0.3", env=env)
        assert result.returncode == 1
        assert f"confrt: error: another confrt run (pid {holder2.pid}) holds" in result.stderr
        assert "after waiting 0.3s" in result.stderr
