"""`confrt run` lock contention between real processes: one applies, the other waits or exits 1."""
import os
import subprocess
import sys
import time

from confrt_testing import confrt_env
from run_site import make_run_site, read


def wait_for(path, process, limit=60):
    """Wait until `path` exists (the holder reached its apply); fail if the holder died."""
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def start_run(env, *args):
    return subprocess.Popen([sys.executable, "-m", "confrt", "run", *args], env=confrt_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def holding_site(tmp_path):
    """A site whose one exec writes start to `order`, touches `started` and holds the run until
    `gate` exists, then writes end. Returns (env, order, started, gate)."""
    order, started, gate = tmp_path / "order", tmp_path / "started", tmp_path / "gate"
    hold = (f"echo start >> {order}; touch {started}; "
            f"while [ ! -e {gate} ]; do sleep 0.05; done; echo end >> {order}")
    env, _ = make_run_site(tmp_path, common={"classes": ["resources"], "resources::exec": {
        "hold": {"command": ["/bin/sh", "-c", hold], "timeout": 120}}})
    return env, order, started, gate


def test_a_second_run_exits_naming_the_holder_or_waits_for_it(tmp_path, run_confrt):
    env, order, started, gate = holding_site(tmp_path)
    boot = start_run(env, "--boot")
    waiting = None
    try:
        wait_for(started, boot)
        refused = run_confrt("run", "--no-splay", env=env)
        assert refused.returncode == 1
        assert f"confrt: error: another confrt run (pid {boot.pid}) holds" in refused.stderr
        assert "use --wait-lock SECONDS" in refused.stderr
        gave_up = run_confrt("run", "--no-splay", "--wait-lock", "0.3", env=env)
        assert gave_up.returncode == 1 and "after waiting 0.3s" in gave_up.stderr
        waiting = start_run(env, "--no-splay", "--wait-lock", "120")
        assert waiting.stdout.readline() == "confrt: hourly run started\n"
    finally:
        gate.write_text("")
        boot_out, boot_err = boot.communicate(timeout=120)
        if waiting is not None:
            wait_out, wait_err = waiting.communicate(timeout=120)
    assert boot.returncode == 2, boot_err
    assert waiting.returncode == 2, wait_err
    assert read(order) == "start\nend\nstart\nend\n"  # the runs never overlapped


def test_a_boot_run_waits_for_an_hourly_run_that_holds_the_lock(tmp_path, run_confrt):
    """On most hosts only the boot run fetches the userdata: it must not be lost to an hourly run
    that took the lock first."""
    env, order, started, gate = holding_site(tmp_path)
    hourly = start_run(env, "--no-splay")
    boot = None
    try:
        wait_for(started, hourly)
        boot = start_run(env, "--boot")
        assert boot.stdout.readline() == "confrt: boot run started\n"
        time.sleep(0.5)
        assert boot.poll() is None  # waiting for the lock, not refused
    finally:
        gate.write_text("")
        hourly.communicate(timeout=120)
        if boot is not None:
            boot_out, boot_err = boot.communicate(timeout=120)
    assert hourly.returncode == 2
    assert boot.returncode == 2, boot_err
    assert read(order) == "start\nend\nstart\nend\n"
    assert run_confrt("run", "--boot", "--wait-lock", "0", env=env).returncode == 2  # free again: the exec ran
