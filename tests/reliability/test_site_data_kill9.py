"""Site data under kill -9: during the fetch, the checkout and the switch.

kill -9 of `confrt run` while it fetches or checks out a new commit (1.4 MB in 400 files), or at
a random point: `current` still names a whole checkout (every file of its commit), no git process
outlives the run, and the next run takes the commit with nothing left over (no half-made
checkout, link, index or git lock file). tests/reliability/test_site_data_concurrency.py races
readers and runs.
CONFRT_SITE_KILL9_TRIALS sets the number of kills (default 9), CONFRT_SITE_KILL9_SEED the seed.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

import psutil
import pytest
from reliability_support import confrt_process
from site_data_fault_support import current, faulty_site, generation_files, run_to_end
from site_data_support import wait_for

TRIALS = int(os.environ.get("CONFRT_SITE_KILL9_TRIALS", "9"))
BLOBS = 400


def blob(generation, index):
    return random.Random(generation * 100003 + index).getrandbits(8 * 1700).to_bytes(1700, "big").hex()


def with_blobs(generation):
    files = generation_files(generation)
    files.update({f"blobs/f{index:03d}": blob(generation, index) for index in range(BLOBS)})
    return files


@pytest.fixture
def site(tmp_path):
    served = faulty_site(tmp_path)
    yield served
    served[1].stop()


def checkout_is_whole(paths, commit, generation):
    directory = os.path.join(paths["site"], "checkouts", commit)
    names = sorted(os.listdir(os.path.join(directory, "blobs")))
    if names != [f"f{index:03d}" for index in range(BLOBS)]:
        return False
    for index, name in enumerate(names):
        with open(os.path.join(directory, "blobs", name)) as handle:
            if handle.read() != blob(generation, index):
                return False
    return os.path.isfile(os.path.join(directory, "common.yaml"))


def git_processes(paths):
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(paths["site"] in word for word in process.info["cmdline"] or []):
            found.append(" ".join(process.info["cmdline"]))
    return found


def leftovers(paths):
    site = paths["site"]
    found = [name for name in os.listdir(site) if name.startswith((".new-", ".current-", ".index-"))]
    found += [name for name in os.listdir(os.path.join(site, "checkouts")) if name.startswith(".")]
    for directory, _, names in os.walk(os.path.join(site, "repo.git")):
        found += [os.path.join(directory, name) for name in names if name.endswith(".lock")]
    return found


def kill_when(process, rng, phase, paths):
    """SIGKILL the run once `phase` is reached (git fetch running, a checkout being written) plus
    up to 20 ms, or after a random delay; -> whether it was killed (not finished first)."""
    checkouts = os.path.join(paths["site"], "checkouts")
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        if phase == "fetch":
            try:
                reached = any("fetch" in child.cmdline() for child in psutil.Process(process.pid).children())
            except psutil.Error:
                reached = False
        elif phase == "checkout":
            reached = os.path.isdir(checkouts) and any(name.startswith(".new-") for name in os.listdir(checkouts))
        else:
            reached = True
        if reached:
            break
        time.sleep(0.0005)
    time.sleep(rng.uniform(0, 0.02 if phase != "random" else 0.8))
    process.send_signal(signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


def test_kill9_during_fetch_checkout_or_switch_keeps_a_whole_checkout_in_use(site):
    repo, _, env, paths = site
    seed = int(os.environ.get("CONFRT_SITE_KILL9_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    generations = {repo.commit(with_blobs(0)): 0}
    first = run_to_end(env)
    assert first.returncode == 0, first.stderr
    killed = {"fetch": 0, "checkout": 0, "random": 0}
    for trial in range(1, TRIALS + 1):
        context = f"seed {seed}, trial {trial}"
        commit = repo.commit(with_blobs(trial))
        generations[commit] = trial
        phase = ("fetch", "checkout", "random")[trial % 3]
        process = subprocess.Popen(confrt_process("run", "--no-splay"), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        killed[phase] += kill_when(process, rng, phase, paths)
        in_use = current(paths)
        assert in_use in generations, f"{context}: current names {in_use}"
        assert checkout_is_whole(paths, in_use, generations[in_use]), f"{context}: {in_use} is not whole"
        for name in os.listdir(os.path.join(paths["site"], "checkouts")):
            if not name.startswith("."):
                assert checkout_is_whole(paths, name, generations[name]), f"{context}: {name} is not whole"
        assert wait_for(lambda: not git_processes(paths), 5), f"{context}: {git_processes(paths)}"
        json.load(open(os.path.join(paths["site"], "state.json")))
        after = run_to_end(env)
        assert after.returncode == 0, f"{context}: {after.stderr}"  # no class: nothing to change
        assert current(paths) == commit, f"{context}: the next run did not take {commit}: {after.stderr}"
        assert leftovers(paths) == [], context
    assert killed["fetch"] >= TRIALS // 6 and killed["checkout"] >= TRIALS // 6, f"seed {seed}: {killed}"
    print(f"seed {seed}: kills {killed}", file=sys.stderr)


def test_kill9_while_git_waits_on_a_silent_server_leaves_no_git_behind(site):
    repo, daemon, env, paths = site
    good = repo.commit(generation_files(1))
    assert run_to_end(env).returncode == 0  # no class: nothing to change
    new = repo.commit(generation_files(2))
    daemon.silent = True
    process = subprocess.Popen(confrt_process("run", "--no-splay"), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert wait_for(lambda: any(" fetch " in line for line in git_processes(paths)), 20)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert wait_for(lambda: not git_processes(paths), 5), git_processes(paths)
    assert current(paths) == good
    daemon.silent = False
    result = run_to_end(env)
    assert result.returncode == 0, result.stderr  # same data: nothing to change
    assert current(paths) == new and leftovers(paths) == []


def test_git_lock_files_a_killed_fetch_left_do_not_block_the_next(site):
    repo, _, env, paths = site
    first = run_to_end(env)
    assert first.returncode == 4, first.stderr  # an empty repository: the step fails, the repo is made
    repository = os.path.join(paths["site"], "repo.git")
    os.makedirs(os.path.join(repository, "refs", "confrt"), exist_ok=True)
    for name in ("refs/confrt/fetched.lock", "packed-refs.lock", "shallow.lock", "objects/pack/tmp_pack_x"):
        with open(os.path.join(repository, name), "w") as handle:
            handle.write("left by a killed fetch\n")
    commit = repo.commit(generation_files(1))
    result = run_to_end(env)
    assert result.returncode == 0, result.stderr
    assert current(paths) == commit and leftovers(paths) == []


def test_git_leftovers_of_a_fetch_killed_after_a_good_one_do_not_block_the_next(site):
    """A good fetch spares the next run the repository's walk; a fetch killed halfway does not."""
    repo, daemon, env, paths = site
    repo.commit(generation_files(1))
    assert run_to_end(env).returncode == 0
    new = repo.commit(generation_files(2))
    daemon.silent = True
    process = subprocess.Popen(confrt_process("run", "--no-splay"), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert wait_for(lambda: any(" fetch " in line for line in git_processes(paths)), 20)
    repository = os.path.join(paths["site"], "repo.git")
    for name in ("refs/confrt/fetched.lock", "packed-refs.lock", "objects/pack/tmp_pack_x"):
        with open(os.path.join(repository, name), "w") as handle:  # as the killed git would leave them
            handle.write("left by a killed fetch\n")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert wait_for(lambda: not git_processes(paths), 5), git_processes(paths)
    daemon.silent = False
    result = run_to_end(env)
    assert result.returncode == 0, result.stderr
    assert current(paths) == new and leftovers(paths) == []
    assert not os.path.exists(os.path.join(repository, "objects", "pack", "tmp_pack_x"))
