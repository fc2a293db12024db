"""kill -9 at random points of an apply that rewrites 200 files (content, mode, owner and group).

Each trial rewrites every file to a new version, kills `confrt apply` after a
random delay, then checks that every file is wholly its old or wholly its new
version (content, mode, owner, group together), that no `.confrt-*` temp file
is left (see check_leftovers for the one exception), and that the next run
converges with 0 failures and removes any leftover.
CONFRT_KILL9_TRIALS sets the number of kills (default 50), CONFRT_KILL9_SEED the
random seed (printed in every failure).
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml
from reliability_support import confrt_process, need_root, process_env, temp_leftovers
from run_site import make_run_site, summary, write_yaml

TRIALS = int(os.environ.get("CONFRT_KILL9_TRIALS", "50"))
FILES, DIRS = 200, 20
USERS = ("root", "daemon", "bin", "sys", "nobody")
GROUPS = ("root", "daemon", "bin", "sys", "adm")
MODES = ("0600", "0640", "0644", "0400", "0755", "0444", "0660")


class Tree:
    """200 files in 20 directories; version v of file i has its own content, mode, owner and group."""

    def __init__(self, root):
        self.root = root
        self.paths = [os.path.join(root, f"d{i % DIRS:02d}", f"f{i:03d}") for i in range(FILES)]

    def attrs(self, i, version):
        return {"content": f"file {i} version {version}\n" * (1 + (i * 37) % 300),
                "mode": MODES[(i + version) % len(MODES)], "owner": USERS[(i + version) % len(USERS)],
                "group": GROUPS[(i + 2 * version) % len(GROUPS)]}

    def data(self, version):
        directories = {os.path.join(self.root, f"d{j:02d}"): {"mode": "0755"} for j in range(DIRS)}
        directories[self.root] = {"mode": "0755"}
        return {"classes": ["resources"], "resources::directory": directories,
                "resources::file": {path: self.attrs(i, version) for i, path in enumerate(self.paths)}}

    def expected(self, i, version):
        import grp
        import pwd

        attrs = self.attrs(i, version)
        return (attrs["content"].encode(), int(attrs["mode"], 8), pwd.getpwnam(attrs["owner"]).pw_uid,
                grp.getgrnam(attrs["group"]).gr_gid)

    def states(self):
        found = []
        for path in self.paths:
            info = os.lstat(path)
            with open(path, "rb") as handle:
                found.append((handle.read(), info.st_mode & 0o7777, info.st_uid, info.st_gid))
        return found


@pytest.fixture
def site(tmpfs):
    """The whole site on a tmpfs: fsync costs nothing there, so 50 trials take a minute, and a
    kill -9 (unlike a power cut) does not depend on fsync anyway."""
    need_root("the managed files belong to several users")
    root = tmpfs("site", "256m")
    tree = Tree(str(root / "tree"))
    env, paths = make_run_site(root, common=tree.data(0))
    return tree, process_env(env), paths


def set_version(paths, tree, version):
    write_yaml(os.path.join(paths["data"], "common.yaml"), tree.data(version))


def converge(tree, env, paths, version, context):
    """The next run: 0 failures and every file at `version`."""
    result = subprocess.run(confrt_process("apply", "--detailed-exitcodes"), env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode in (0, 2), f"{context}: exit {result.returncode}: {result.stderr}"
    assert summary(paths)["resources"]["failed"] == 0, context
    wanted = [tree.expected(i, version) for i in range(FILES)]
    assert tree.states() == wanted, f"{context}: the next run did not converge"
    return result


def check_leftovers(tree, version, states, context):
    """A kill leaves no temp file, except when it fell between naming a finished temp file and
    renaming it over its target (two back-to-back system calls): then that one file, whole: the new
    version of a managed file still old, the backup (0600) of one, or a complete report."""
    leftovers = temp_leftovers(os.path.dirname(tree.root))
    assert len(leftovers) <= 1, f"{context}: {leftovers}"
    for leftover in leftovers:
        info = os.lstat(leftover)
        with open(leftover, "rb") as handle:
            state = (handle.read(), info.st_mode & 0o7777, info.st_uid, info.st_gid)
        still_old = [i for i in range(FILES) if states[i] == tree.expected(i, version - 1)]
        if os.path.basename(os.path.dirname(leftover)) == "backup":
            whole = state[1] == 0o600 and any(state[0] == states[i][0] for i in still_old)
        elif os.path.dirname(leftover).startswith(tree.root):
            whole = any(os.path.dirname(tree.paths[i]) == os.path.dirname(leftover)
                        and state == tree.expected(i, version) for i in still_old)
        else:
            whole = isinstance(yaml.safe_load(state[0]), dict)  # the JSON report or the YAML summary
        assert whole, f"{context}: {leftover} is not a whole file"


def kill_at_random_point(process, tree, order, before_apply, rng):
    """SIGKILL the apply: one time in ten during start-up and compile, else just after a random
    file of the rewrite was replaced (plus up to 2 ms), whatever the machine's load."""
    target = rng.randrange(-len(order) // 10, len(order))
    if target < 0:
        deadline = time.monotonic() + rng.uniform(0, before_apply)
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.001)
    else:
        path = tree.paths[order[target]]
        inode = os.stat(path).st_ino
        while os.stat(path).st_ino == inode and process.poll() is None:
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 0.002))
    process.send_signal(signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


def test_kill9_leaves_every_file_wholly_old_or_new_and_the_next_run_converges(site):
    tree, env, paths = site
    seed = int(os.environ.get("CONFRT_KILL9_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    converge(tree, env, paths, 0, f"seed {seed}: first apply")
    set_version(paths, tree, 1)
    converge(tree, env, paths, 1, f"seed {seed}: calibration")
    order = sorted(range(FILES), key=lambda i: os.stat(tree.paths[i]).st_ctime_ns)  # the apply's order
    before_apply = sum(summary(paths)["time"][phase] for phase in ("startup", "lock", "facts", "compile"))
    kills, partial, version = 0, 0, 1
    while kills < TRIALS:
        version += 1
        context = f"seed {seed}, trial {version - 1}"
        assert version <= 2 * TRIALS, f"{context}: the apply kept finishing before the kill"
        set_version(paths, tree, version)
        process = subprocess.Popen(confrt_process("apply"), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        killed = kill_at_random_point(process, tree, order, before_apply, rng)
        old = [tree.expected(i, version - 1) for i in range(FILES)]
        new = [tree.expected(i, version) for i in range(FILES)]
        states = tree.states()
        torn = [tree.paths[i] for i, state in enumerate(states) if state not in (old[i], new[i])]
        assert not torn, f"{context}: neither wholly old nor wholly new: {torn[:5]}"
        check_leftovers(tree, version, states, context)
        converge(tree, env, paths, version, context)
        assert temp_leftovers(os.path.dirname(tree.root)) == [], context
        kills += killed
        partial += killed and 0 < sum(state == new[i] for i, state in enumerate(states)) < FILES
    assert partial >= TRIALS // 2, f"seed {seed}: only {partial} of {kills} kills hit the rewrite"
    print(f"seed {seed}: {kills} kills, {partial} in the middle of the rewrite", file=sys.stderr)
