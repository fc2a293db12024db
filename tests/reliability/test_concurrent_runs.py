"""A boot run and a timer run started at the same instant, again and again.

Each trial changes 100 files and an exec (which notifies a refresh-only exec)
and starts `confrt run --boot` and `confrt run --no-splay` together. One of
them applies; the other either finds the lock held and exits 1 naming the
holder, or gets the lock after the first finished and has nothing to do; with
--wait-lock both end well and only one applies. Nothing is applied twice (the
exec and the refresh each ran once per trial) or half (every file is new).
tests/unit/test_run_lock.py covers a holder parked inside its apply; this races
the whole start-up, from a statedir that does not exist yet.
"""
import os
import re
import subprocess

import pytest
from reliability_support import confrt_process, process_env
from run_site import make_run_site, read, summary, write_yaml

TRIALS = 6
#: without --wait-lock the runs must be seen to overlap once: on a loaded machine one may start after
#: the other has finished several times in a row, so more trials are run until they do
MAX_TRIALS = 24
FILES = 100
HELD = re.compile(r"^confrt: error: another confrt run \(pid (\d+)\) holds (\S+)"
                  r"( after waiting [0-9.]+s)?; use --wait-lock SECONDS to wait for it$")


def site_data(root, version):
    ledger, mark = os.path.join(root, "ledger"), os.path.join(root, f"applied-{version}")
    files = {os.path.join(root, "tree", f"f{i:03d}"): {"content": f"file {i} version {version}\n",
                                                       "notify": "exec[refresh]"} for i in range(FILES)}
    return {"classes": ["resources"], "resources::directory": {os.path.join(root, "tree"): {}},
            "resources::file": files,
            "resources::exec": {
                f"apply {version}": {"command": ["/bin/sh", "-c", f"echo apply {version} >> {ledger}; touch {mark}"],
                                     "creates": mark},
                "refresh": {"command": ["/bin/sh", "-c", f"echo refresh >> {ledger}"], "refreshonly": True}}}


@pytest.fixture
def site(tmp_path):
    root = str(tmp_path)
    write_yaml(os.path.join(root, "user-data"), {"role": "worker"})
    env, paths = make_run_site(root, common=site_data(root, 0), sources=[f"file:{root}/user-data"])
    return root, process_env(env), paths


def race(env, *extra):
    """Start the boot run and the timer run at once; (boot, timer) as (pid, exit code, stdout, stderr)."""
    runs = [subprocess.Popen(confrt_process("run", *args, *extra), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for args in (["--boot"], ["--no-splay"])]
    return [(run.pid, run.returncode, out, err) for run, (out, err) in
            ((run, run.communicate(timeout=120)) for run in runs)]


@pytest.mark.parametrize("wait", [False, True], ids=["no-wait", "wait-lock"])
def test_boot_and_timer_runs_at_once_apply_everything_exactly_once(site, wait):
    root, env, paths = site
    outcomes = set()
    for version in range(1, MAX_TRIALS + 1):
        if version > TRIALS and (wait or "refused" in outcomes):
            break
        write_yaml(os.path.join(paths["data"], "common.yaml"), site_data(root, version))
        runs = race(env, *(["--wait-lock", "60"] if wait else []))
        codes = sorted(code for _, code, _, _ in runs)
        context = f"version {version}: " + "; ".join(f"pid {pid} exit {code}: {err[-300:]}"
                                                    for pid, code, _, err in runs)
        if codes == [1, 2]:  # one applied, the other found the lock held
            (winner,) = [run for run in runs if run[1] == 2]
            (loser,) = [run for run in runs if run[1] == 1]
            assert loser is runs[1], context  # the timer run: a boot run waits for the lock
            held = HELD.match(loser[3].strip())
            assert held and "\n" not in loser[3].strip(), context
            assert held.group(1) == str(winner[0]) and held.group(2) == os.path.join(
                paths["state"], "lock"), context
            assert not wait, context
            outcomes.add("refused")
        else:  # the second ran after the first and found nothing to do
            assert codes == [0, 2], context
            outcomes.add("serialised")
        assert summary(paths)["resources"]["failed"] == 0, context
        for i in range(FILES):
            assert read(os.path.join(root, "tree", f"f{i:03d}")) == f"file {i} version {version}\n", context
        applied = [line for line in read(os.path.join(root, "ledger")).splitlines() if line.startswith("apply")]
        assert applied == [f"apply {v}" for v in range(1, version + 1)], context
        assert read(os.path.join(root, "ledger")).count("refresh") == version, context
    if not wait:
        assert "refused" in outcomes, f"the runs never overlapped in {MAX_TRIALS} trials: {outcomes}"
