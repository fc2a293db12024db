"""A hostile user against root's confrt (issue 14 §1), in a scratch copy of this machine.

A real unprivileged user (mallory, made in the scratch system) owns directories confrt works in,
plants links in them before a run or swaps them in during one (link_racer.py, as mallory, with
renameat2 RENAME_EXCHANGE: the name is now the real thing, now a link to a root-owned victim).
After every run the victim, a root file (0600) or directory (0700), has its owner, mode and
content unchanged, and no file mallory can read holds its content; what confrt refused is one
line naming the path.

What each test did to the code before the fix is in its docstring ("old code").
"""
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "system"))
from scratch import change_lines, start_or_skip  # noqa: E402

USER = "mallory"
HOME = f"/home/{USER}"
RACER = "/usr/local/lib/confrt-link-racer.py"
STOP = "/run/link-racer.stop"
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIGkQ1gtOJdRbQgQ0z3zqQ8Yw5vY7cW0u3kq0c5Jt0Ygq"
KEY_BLOCK = ("# BEGIN confrt managed keys (edits inside this block are overwritten)\n"
             f"ssh-ed25519 {KEY} mallory@laptop\n# END confrt managed keys\n")


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    system = start_or_skip(str(tmp_path_factory.getbasetemp()))
    try:
        if not system.exists("/usr/bin/python3"):
            pytest.skip("the racer runs with the system's /usr/bin/python3, which this machine lacks")
        system.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        system.run(["chmod", "0755", HOME], check=True)
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "link_racer.py"), "rb") as handle:
            system.write_file(RACER, handle.read(), mode=0o644)
        yield system
    finally:
        system.teardown()


@pytest.fixture(autouse=True)
def home(node):
    """mallory's home, emptied after each test."""
    yield HOME
    node.sh(f"find {HOME} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +")


def as_user(system, script):
    """Run a sh script as mallory inside."""
    return system.run(["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "sh", "-ec", script],
                      check=True)


class Racer:
    """link_racer.py as mallory in the background (see its docstring for the modes), ahead of the
    machine's other work (nice -10: a busy machine starved it, and the old code's races went unseen)."""

    def __init__(self, system, mode, victim, *names, seconds=60):
        system.run(["rm", "-f", STOP], check=True)
        self.system = system
        self.process = subprocess.Popen(
            system.enter_argv() + ["nice", "-n", "-10", "setpriv", f"--reuid={USER}", f"--regid={USER}",
                                   "--init-groups", "/usr/bin/python3", RACER, STOP, str(seconds), mode, victim,
                                   *names],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.1)  # the interpreter's start-up, so it races from the first resource

    def stop(self):
        self.system.run(["touch", STOP], check=True)
        out, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, out
        return out.strip()


def victim_file(system, name, mode=0o600, content=None):
    path = f"/root/{name}"
    system.write_file(path, content or f"root's secret {name}\n", mode=mode)
    return path


def victim_dir(system, name):
    path = f"/root/{name}"
    system.run(["mkdir", "-m", "0700", path], check=True)
    system.write_file(f"{path}/inside", f"root's secret inside {name}\n", mode=0o600)
    return path


def state(system, path):
    """Mode, owner, group and content of a victim file, or of a victim directory and of every file
    in it (one command)."""
    return system.sh(f"find {path} -maxdepth 1 -printf '%p %m %u %g %y\\n' -type f -exec cat {{}} +",
                     check=True).stdout


def readable_by_user_holding(system, secret):
    """Files under mallory's home that mallory can read and that hold `secret`."""
    found = system.run(["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups",
                        "grep", "-rl", "--no-messages", secret, HOME])
    return found.stdout.split()


def site(system, kind, resources):
    system.write_site({"classes": ["resources"], f"resources::{kind}": resources})


def failures(result):
    """The 'failed:' lines of a run's stderr; a traceback or an internal error fails the test."""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if ": failed: " in line]


def key(**attrs):
    return {"mallory@laptop": dict({"user": USER, "type": "ssh-ed25519", "key": KEY}, **attrs)}


def refused(system, victim, before):
    """A noop, then the real run: the victim as it was `before`; returns the one failure line, the
    same in both runs, and both runs' output."""
    noop = system.apply(None, "--noop")
    real = system.apply()
    assert state(system, victim) == before
    lines = failures(real)
    assert lines == failures(noop) and len(lines) == 1, real.stderr
    return lines[0], noop.stdout + real.stdout


# -- ssh_authorized_key: links planted before the run --------------------------------------------

def test_ssh_dir_linked_to_a_root_directory(node):
    """~/.ssh -> a root 0700 directory. Old code: the directory became mallory's (0700) with her
    authorized_keys in it."""
    victim = victim_dir(node, "victim-sshdir")
    before = state(node, victim)
    as_user(node, f"ln -s {victim} {HOME}/.ssh")
    site(node, "ssh_authorized_key", key())
    line, _ = refused(node, victim, before)
    assert not node.exists(f"{victim}/authorized_keys")
    assert f"{HOME}/.ssh is a link" in line and f"{USER} can write" in line, line


def test_ssh_target_linked_to_a_root_file(node):
    """target: in mallory's directory, a link to a root 0600 file. Old code: confrt read the root
    file and wrote its content, with the key block, into a new file of mallory's."""
    victim = victim_file(node, "victim-keys")
    before = state(node, victim)
    as_user(node, f"mkdir {HOME}/keys && ln -s {victim} {HOME}/keys/authorized_keys")
    site(node, "ssh_authorized_key", key(target=f"{HOME}/keys/authorized_keys"))
    line, output = refused(node, victim, before)
    assert readable_by_user_holding(node, "root's secret") == []
    assert "root's secret" not in output  # no diff shows it either
    assert f"{HOME}/keys/authorized_keys is a link" in line, line


def test_ssh_keys_linked_to_a_root_file_holding_them(node):
    """~/.ssh/authorized_keys -> a root 0600 file whose text is the converged file. Old code: the
    root file was chowned to mallory."""
    victim = victim_file(node, "victim-converged", content=KEY_BLOCK)
    before = state(node, victim)
    as_user(node, f"mkdir -m 0700 {HOME}/.ssh && ln -s {victim} {HOME}/.ssh/authorized_keys")
    site(node, "ssh_authorized_key", key())
    line, _ = refused(node, victim, before)
    assert f"{HOME}/.ssh/authorized_keys is a link" in line, line


def test_ssh_keys_of_a_root_file_mallory_cannot_read(node):
    """A root 0600 file moved into ~/.ssh (not a link): its text is not copied into mallory's new
    file; mallory's own file, or one she may read, is merged as before."""
    node.run(["install", "-d", "-o", USER, "-g", USER, "-m", "0700", f"{HOME}/.ssh"], check=True)
    node.write_file(f"{HOME}/.ssh/authorized_keys", "root's secret unreadable\n", mode=0o600)
    site(node, "ssh_authorized_key", key())
    real = node.apply()
    lines = failures(real)
    assert len(lines) == 1 and f"{HOME}/.ssh/authorized_keys" in lines[0] and "cannot read" in lines[0], lines
    assert node.stat(f"{HOME}/.ssh/authorized_keys") == (0o600, "root", "root")
    node.run(["chmod", "0644", f"{HOME}/.ssh/authorized_keys"], check=True)  # now she may read it
    again = node.apply()
    assert failures(again) == [] and again.returncode == 2, again.stderr
    assert node.stat(f"{HOME}/.ssh/authorized_keys") == (0o600, USER, USER)
    assert node.read_text(f"{HOME}/.ssh/authorized_keys") == "root's secret unreadable\n" + KEY_BLOCK


# -- races: links swapped in while confrt works --------------------------------------------------

def test_file_mode_set_while_a_link_is_swapped_in(node):
    """8 root files in mallory's directory change mode (only) in each of 8 runs while each name
    flips between the file and a link to a root 0600 file. Old code (chmod by path): the victim
    became 0644 or 0640 in 4 runs of 8 to 1 of 2 (on a busy machine: 1 of 10 without the nice)."""
    victim = victim_file(node, "victim-mode")
    before = state(node, victim)
    folder = f"{HOME}/modes"
    as_user(node, f"mkdir {folder}")
    paths = [f"{folder}/f{i:02d}" for i in range(8)]
    node.sh(" ; ".join(f"echo same > {path} && chmod 0600 {path}" for path in paths))
    as_user(node, " ; ".join(f"ln -s {victim} {path}.alt" for path in paths))
    racer = Racer(node, "flip", victim, *[name for path in paths for name in (path, f"{path}.alt")])
    try:
        for run in range(8):
            mode = ("0644", "0640")[run % 2]
            site(node, "file", {path: {"mode": mode} for path in paths})
            failures(node.apply())
            assert state(node, victim) == before, f"run {run}"
    finally:
        swaps = racer.stop()
    assert state(node, victim) == before, swaps


def test_directory_made_while_a_link_is_swapped_in(node):
    """Each of 5 runs makes 200 directories (mode 0777) in mallory's directory; as each appears she
    swaps it for a link to a root 0700 directory. Old code (mkdir, then chmod by path): the victim
    became 0777 in 2 runs of 5 to 1 of 2 (a window of two system calls)."""
    victim = victim_dir(node, "victim-made")
    before = state(node, victim)
    folder = f"{HOME}/made"
    as_user(node, f"mkdir {folder}")
    for run in range(5):
        paths = [f"{folder}/r{run}-d{i:03d}" for i in range(200)]
        site(node, "directory", {path: {"mode": "0777"} for path in paths})
        racer = Racer(node, "hijack", victim, *paths, seconds=30)
        try:
            result = node.apply()
        finally:
            swaps = racer.stop()
        for line in failures(result):
            assert line.startswith("confrt: directory[") and f"{folder}/r{run}-d" in line, line
        assert state(node, victim) == before, f"run {run}: {swaps}"


def test_file_written_while_its_folder_is_swapped_for_a_link(node):
    """20 files in mallory's sub/ are rewritten in each of 4 runs while sub flips between the
    directory and a link to a root directory holding root 0600 files of the same names. Old code
    (the folder opened by path): root's files were replaced, in every run."""
    victim = victim_dir(node, "victim-folder")
    names = [f"f{i:02d}" for i in range(20)]
    node.sh(" ; ".join(f"echo 'root secret {name}' > {victim}/{name} && chmod 0600 {victim}/{name}"
                       for name in names))
    before = state(node, victim)
    folder = f"{HOME}/folder"
    as_user(node, f"mkdir -p {folder}/sub && ln -s {victim} {folder}/sub.alt")
    racer = Racer(node, "flip", victim, f"{folder}/sub", f"{folder}/sub.alt")
    try:
        for run in range(4):
            site(node, "file", {f"{folder}/sub/{name}": {"content": f"run {run}\n", "mode": "0644"}
                                for name in names})
            failures(node.apply())
            assert state(node, victim) == before, f"run {run}"
    finally:
        swaps = racer.stop()
    assert readable_by_user_holding(node, "root secret") == [], swaps


# -- what is not managed but writable by others: said, never followed ----------------------------

def test_unmanaged_folder_writable_by_a_user_is_named(node):
    """A root file in mallory's directory: a warning names the directory (noop and real run); in a
    managed directory, or for mallory's own file, no warning."""
    folder = f"{HOME}/notes"
    as_user(node, f"mkdir {folder}")
    site(node, "file", {f"{folder}/root-note": {"content": "x\n"}})
    warning = f"warning: {folder} is writable by {USER} and not managed"
    for run in (node.apply(None, "--noop"), node.apply(), node.apply()):
        assert warning in run.stderr, run.stderr
    site(node, "file", {f"{folder}/own-note": {"content": "x\n", "owner": USER}})
    assert "warning" not in node.apply().stderr
    node.write_site({"classes": ["resources"], "resources::directory": {folder: {"owner": USER}},
                     "resources::file": {f"{folder}/root-note": {"content": "x\n"}}})
    result = node.apply()
    assert "warning" not in result.stderr and change_lines(result.stdout) == [], result.stdout + result.stderr


def test_line_in_a_file_linked_to_a_root_file(node):
    """line on a file in mallory's directory that is a link to a root 0600 file. Old code: the root
    file's text, with the line, replaced the link."""
    victim = victim_file(node, "victim-line")
    before = state(node, victim)
    as_user(node, f"ln -s {victim} {HOME}/.profile-extra")
    site(node, "line", {"extra": {"path": f"{HOME}/.profile-extra", "line": "export A=1"}})
    line, _ = refused(node, victim, before)
    assert node.run(["test", "-L", f"{HOME}/.profile-extra"]).returncode == 0
    assert f"{HOME}/.profile-extra is a link" in line, line
