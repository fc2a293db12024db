"""A throwaway copy of this machine for system tests.

A holder process lives in new mount, PID, UTS and IPC namespaces (util-linux
`unshare`). Inside its mount namespace an overlayfs joins `/` (lower, read only)
with a temp dir (upper: everything written lands there), `/proc` (of the new
PID namespace), `/dev` and `/sys` are bound in, `/tmp`, `/run` and `/dev/shm`
are fresh tmpfs, and every other host mount (a separate /home or /work) gets an
overlay of its own (read-only mounts a read-only bind). Commands run with
`nsenter ... chroot MERGED argv`, so they see a whole system but change nothing
on the host. Teardown detaches loop devices made inside, kills every process in
the PID namespace (services started inside die with it) and removes the temp dir.

The PID namespace's init is a small reaper, so daemons that double-fork do not
turn into zombies that still answer `kill -0`.
"""
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

#: This source tree: `python -m confrt` inside runs it (PYTHONPATH).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Mount points (and everything below them) that are not copied as layers.
SPECIAL_MOUNTS = ("/proc", "/sys", "/dev", "/tmp", "/run")

#: confrt's own run state (reports, run lock) and parse cache, written by noop runs too.
CONFRT_STATE = ("/var/lib/confrt", "/var/cache/confrt")

#: Commands that change a system, traced during noop runs, and their read-only uses.
TRACED_COMMANDS = (
    "apt-get", "dpkg", "dnf", "yum", "rpm", "useradd", "usermod", "userdel", "groupadd", "groupmod",
    "groupdel", "chpasswd", "mkfs.ext2", "mkfs.ext4", "mkfs.xfs", "e2label", "xfs_admin", "mount",
    "umount", "sysctl", "service", "update-rc.d", "chkconfig", "systemctl", "losetup",
)
READ_ONLY = (re.compile(r"^service \S+ status$"), re.compile(r"^systemctl show "), re.compile(r"^rpm -qa"))
TRACE_DIR = "/run/confrt-trace"
TRACE_LOG = "/run/confrt-trace.log"

#: Environment of commands run inside: nothing of the host's leaks in.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "PYTHONDONTWRITEBYTECODE": "1",
}

REAPER = (
    "import os, time\n"
    "while True:\n"
    "    try:\n"
    "        os.wait()\n"
    "    except ChildProcessError:\n"
    "        time.sleep(0.2)\n"
)
REAPER_TAG = "confrt-scratch-init"


class ProvenRun(subprocess.CompletedProcess):
    """The real run of Scratch.noop_then_apply, carrying its checked noop run."""

    def __init__(self, real, noop, touched):
        super().__init__(real.args, real.returncode, real.stdout, real.stderr)
        self.noop = noop
        self.touched = touched


class ScratchUnavailable(Exception):
    """This machine cannot build a scratch system; str() says why (used as the skip reason)."""


def unavailable_reason():
    """Why a scratch system cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "the scratch system needs root (mount namespaces, overlayfs, chroot)"
    for tool in ("unshare", "nsenter", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"the scratch system needs util-linux `{tool}`, which is not installed"
    try:
        with open("/proc/filesystems") as handle:
            if "overlay" not in handle.read().split():
                probe = subprocess.run(["modprobe", "overlay"], capture_output=True)
                if probe.returncode != 0:
                    return "the kernel has no overlayfs (modprobe overlay failed)"
    except OSError as exc:
        return f"cannot read /proc/filesystems: {exc}"
    return None


def _mountinfo():
    """(mount point, fs type, options) of every host mount, in mount order."""
    mounts = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].replace("\\040", " ")
            mounts.append((point, fields[sep + 1], fields[5]))
    return mounts


def _under(path, roots):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def extra_layers():
    """Host mounts besides / that need their own layer: [(mount point, read_only)], outermost first."""
    layers = []
    for point, _fstype, options in _mountinfo():
        if point == "/" or _under(point, SPECIAL_MOUNTS):
            continue
        if _under(point, [p for p, _ in layers]):
            continue  # nested below a layer already copied: seen through its overlay
        layers.append((point, "ro" in options.split(",")))
    return layers


class Scratch:
    """One scratch system; use start()/teardown() or as a context manager."""

    def __init__(self, tmp_parent=None, private_network=False, upper_on_tmpfs=False):
        self.tmp_parent = tmp_parent
        self.upper_on_tmpfs = upper_on_tmpfs  # force the fallback of _overlay (tests use it)
        self.file_mounts = []  # host mount points that are files, copied in
        self.private_network = private_network  # own network namespace: only lo, own net.* sysctls
        self.root = None  # host temp dir holding the layers
        self.merged = None  # the overlay mount point (the scratch's /)
        self.holder = None  # Popen of `unshare`
        self.pid = None  # host pid of the PID namespace's init (nsenter target)
        self.uppers = {}  # scratch path of a layer -> its upper dir on the host

    # -- life cycle --------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.teardown()

    def start(self):
        reason = unavailable_reason()
        if reason:
            raise ScratchUnavailable(reason)
        self.root = tempfile.mkdtemp(prefix="confrt-scratch-", dir=self.tmp_parent)
        self.merged = os.path.join(self.root, "merged")
        os.mkdir(self.merged)
        try:
            self._start_holder()
            self._mount_layers()
            self._mount_specials()
            self._copy_file_mounts()
        except BaseException:
            self.teardown()
            raise
        return self

    def _start_holder(self):
        net = ["--net"] if self.private_network else []
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--uts", "--ipc", *net, "--fork", "--propagation", "private",
             sys.executable, "-c", REAPER, REAPER_TAG],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            child = self._holder_child()
            if child and REAPER_TAG in _cmdline(child):
                self.pid = child
                if self.private_network:
                    self._host("ip", "link", "set", "lo", "up", namespaces=["-n"])
                return
            if self.holder.poll() is not None:
                err = self.holder.stderr.read().decode(errors="replace").strip()
                raise ScratchUnavailable(f"unshare failed: {err}")
            time.sleep(0.02)
        raise ScratchUnavailable("unshare did not start its namespace init within 30s")

    def _holder_child(self):
        try:
            with open(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children") as handle:
                children = handle.read().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def _host(self, *argv, namespaces=("-m",)):
        """Run argv in some of the scratch's namespaces, not chrooted (for mounting)."""
        result = subprocess.run(["nsenter", "-t", str(self.pid), *namespaces, *argv],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise ScratchUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()}")
        return result

    def _overlay(self, lower, target, name):
        """Mount an overlay of `lower` on `target`; returns its upper dir as the host can read it.

        The upper dir lives on the host's disk, or, where that file system cannot
        be an upper layer (the host's / is itself an overlay, as in a container),
        on a tmpfs mounted inside the namespace (read from the host via /proc/PID/root).
        """
        layer = os.path.join(self.root, "layers", name)
        upper, work = os.path.join(layer, "upper"), os.path.join(layer, "work")
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        os.makedirs(upper)
        os.makedirs(work)
        if self.upper_on_tmpfs or self._try_host("mount", "-t", "overlay", "overlay", "-o", options, target):
            self._host("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", layer)
            self._host("mkdir", upper, work)
            self._host("mount", "-t", "overlay", "overlay", "-o", options, target)
            return f"/proc/{self.pid}/root{upper}"
        return upper

    def _try_host(self, *argv):
        """_host(), returning the error instead of raising it (None when it worked)."""
        try:
            self._host(*argv)
        except ScratchUnavailable as exc:
            return str(exc)
        return None

    def _mount_layers(self):
        self.uppers["/"] = self._overlay("/", self.merged, "root")
        for index, (point, read_only) in enumerate(extra_layers()):
            target = self.merged + point
            if not os.path.isdir(point):
                self.file_mounts.append(point)
            elif read_only:
                self._host("mount", "--rbind", point, target)
                self._host("mount", "-o", "remount,bind,ro", target)
            else:
                self.uppers[point] = self._overlay(point, target, f"mount{index}")

    def _copy_file_mounts(self):
        """Files the host mounts (a container's /etc/resolv.conf, /etc/hosts) are copied in."""
        for point in self.file_mounts:
            try:
                with open(point, "rb") as handle:
                    self.write_file(point, handle.read())
            except OSError:
                continue

    def _mount_specials(self):
        m = self.merged
        self._host("mount", "-t", "proc", "proc", m + "/proc", namespaces=["-m", "-p"])
        self._host("mount", "--rbind", "/sys", m + "/sys")
        self._host("mount", "--rbind", "/dev", m + "/dev")
        self._host("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", m + "/dev/shm")
        self._host("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", m + "/tmp")
        self._host("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", m + "/run")
        self.run(["mkdir", "-p", "-m", "1777", "/run/lock"], check=True)

    def teardown(self):
        """Detach loop devices made inside, kill every process inside, remove the layers."""
        if self.merged:
            self.detach_loop_devices()
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)  # PID namespace init: all inside die with it
            except ProcessLookupError:
                pass
            self.pid = None
        if self.holder:
            self.holder.wait(timeout=60)
            self.holder.stderr.close()
            self.holder = None
        if self.merged:
            self._wait_loop_devices_released()
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _wait_loop_devices_released(self, limit=10.0):
        """A loop device still mounted when the namespace died is freed once the kernel drops the mount."""
        deadline = time.monotonic() + limit
        while self.loop_devices() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.detach_loop_devices()

    def loop_devices(self):
        """Host loop devices whose backing file lives in this scratch system."""
        found = []
        prefix = self.merged + "/"
        for name in sorted(os.listdir("/sys/block")):
            try:
                with open(f"/sys/block/{name}/loop/backing_file") as handle:
                    backing = handle.read().strip()
            except OSError:
                continue
            if backing.startswith(prefix):
                found.append("/dev/" + name)
        return found

    def detach_loop_devices(self):
        """losetup -d each of ours; a mounted one auto-clears when the namespace goes away."""
        for device in self.loop_devices():
            subprocess.run(["losetup", "-d", device], capture_output=True)

    # -- running commands --------------------------------------------------
    def run(self, argv, input=None, env=None, check=False, timeout=600, cwd=None):
        """Run argv inside the scratch system; returns a CompletedProcess with text output."""
        full_env = dict(BASE_ENV)
        if env:
            full_env.update(env)
        command = self.enter_argv()
        if cwd:
            command += ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", cwd]
        result = subprocess.run(command + [str(arg) for arg in argv], input=input,
                                capture_output=True, text=True, env=full_env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"in scratch: {' '.join(map(str, argv))} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def enter_argv(self):
        """nsenter + chroot prefix that runs a command inside."""
        net = ["-n"] if self.private_network else []
        return ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", *net, "chroot", self.merged]

    def sh(self, script, **kwargs):
        """Run a /bin/sh script inside."""
        return self.run(["sh", "-ec", script], **kwargs)

    def confrt(self, *args, **kwargs):
        """Run `python -m confrt args` inside with this interpreter (its packages) and this source tree."""
        env = {"PYTHONPATH": REPO}
        env.update(kwargs.pop("env", None) or {})
        return self.run([sys.executable, "-m", "confrt", *args], env=env, **kwargs)

    def apt_get_install(self, *packages):
        """apt-get install inside, reusing the host's package lists; `apt-get update` once when stale.

        Raises ScratchUnavailable when Debian's registry cannot be reached.
        """
        argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
        result = self.run(argv)
        if result.returncode == 0:
            return result
        update = self.run(["apt-get", "update", "-q"])
        if update.returncode != 0 or "Err:" in update.stdout:
            raise ScratchUnavailable(f"apt-get update failed (Debian's registry unreachable?): "
                                     f"{(update.stderr or update.stdout).strip().splitlines()[-1:]}")
        return self.run(argv, check=True)

    def missing_packages(self, packages):
        """Those of the Debian `packages` that are not installed inside."""
        def installed(package):
            result = self.run(["dpkg-query", "-W", "-f", "${Status}", package])
            return result.returncode == 0 and result.stdout.endswith("installed")

        return [package for package in packages if not installed(package)]

    def host_pids(self):
        """Host pids of every process inside the scratch's PID namespace."""
        try:
            ours = os.readlink(f"/proc/{self.pid}/ns/pid")
        except (OSError, TypeError):
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink(f"/proc/{entry}/ns/pid") == ours:
                        pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def write_site(self, data):
        """Make `data` (a dict) the whole data of a one-level confrt site in /etc/confrt."""
        import yaml

        self.write_file("/etc/confrt/hiera.yaml", yaml.safe_dump({
            "version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
            "hierarchy": [{"name": "common", "path": "common.yaml"}]}))
        self.write_file("/etc/confrt/data/common.yaml", yaml.safe_dump(data))

    def apply(self, data=None, *args, env=None):
        """`confrt apply --detailed-exitcodes [args]` inside (0 nothing to do, 2 changes, 4 failures),
        after write_site(data) when data is given."""
        if data is not None:
            self.write_site(data)
        return self.confrt("apply", "--detailed-exitcodes", *args, env=env)

    def noop_then_apply(self, data=None, *args, exit_code=2):
        """Prove a noop exact, then apply for real (both with `args`), after write_site(data) when
        data is given: returns the real run's result (a ProvenRun).

        Asserts that the noop exits `exit_code` (2: changes pending; None: whatever
        the real run then exits), writes nothing (the overlay's upper layer is the
        same, minus confrt's own run state), runs no state-changing command (traced,
        see trace_commands) and lists exactly the changes the real run then makes
        and the resources it fails and skips, and that the real run exits the same.
        """
        if data is not None:
            self.write_site(data)
        before = self.changes()
        noop = self.apply(None, "--noop", *args, env=self.trace_commands())
        assert exit_code is None or noop.returncode == exit_code, noop.stdout + noop.stderr
        touched = diff_changes(before, self.changes(), ignore=CONFRT_STATE)
        commands = state_changing(self.read_text(TRACE_LOG).splitlines())
        assert touched == [] and commands == [], (touched, commands)
        real = self.apply(None, *args)
        assert real.returncode == noop.returncode, real.stdout + real.stderr
        assert_same_plan(noop, real)
        return ProvenRun(real, noop, touched)

    def trace_commands(self):
        """Wrap the commands that change a system so each call is logged to TRACE_LOG (a tmpfs,
        outside the upper layer); returns the env (PATH) under which they are traced."""
        wrappers = []
        for name in TRACED_COMMANDS:
            wrappers.append(f'if real=$(command -v {name}); then printf \'#!/bin/sh\\necho "{name} $*" >> '
                            f'{TRACE_LOG}\\nexec %s "$@"\\n\' "$real" > {TRACE_DIR}/{name}; '
                            f'chmod 755 {TRACE_DIR}/{name}; fi')
        self.sh(f"mkdir -p {TRACE_DIR}; : > {TRACE_LOG}; " + "; ".join(wrappers))
        return {"PATH": f"{TRACE_DIR}:{BASE_ENV['PATH']}"}

    # -- files -------------------------------------------------------------
    def read_file(self, path):
        """Bytes of a file inside (through the scratch's own root, so its symlinks resolve there)."""
        result = subprocess.run(
            self.enter_argv() + ["cat", "--", path],
            capture_output=True)
        if result.returncode != 0:
            raise FileNotFoundError(f"scratch:{path}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout

    def read_text(self, path):
        return self.read_file(path).decode()

    def write_file(self, path, data, mode=None):
        """Create or replace a file inside (parent directories are made)."""
        if isinstance(data, str):
            data = data.encode()
        script = 'mkdir -p "$(dirname "$1")" && cat > "$1"'
        if mode is not None:
            script += f' && chmod {mode:o} "$1"'
        result = subprocess.run(
            self.enter_argv() + ["sh", "-c", script, "sh", path],
            input=data, capture_output=True)
        if result.returncode != 0:
            raise OSError(f"scratch:{path}: {result.stderr.decode(errors='replace').strip()}")

    def exists(self, path):
        return self.run(["test", "-e", path]).returncode == 0

    def stat(self, path):
        """(mode bits, owner name, group name) of a path inside."""
        out = self.run(["stat", "-c", "%a %U %G", path], check=True).stdout.split()
        return int(out[0], 8), out[1], out[2]

    # -- what changed ------------------------------------------------------
    def changes(self):
        """What the scratch changed so far: {scratch path: description} from every upper layer.

        The description holds the kind, mode, owner and a content digest, so two
        snapshots compare equal exactly when nothing was written in between.
        Whiteouts (deletions) show as 'deleted'.
        """
        found = {}
        for mount_point, upper in self.uppers.items():
            for directory, dirs, files in os.walk(upper):
                for name in dirs + files:
                    host_path = os.path.join(directory, name)
                    rel = os.path.relpath(host_path, upper)
                    path = os.path.normpath(os.path.join(mount_point, rel))
                    description = _describe(host_path)
                    if description != _describe_lower_dir(path):
                        found[path] = description
        return found


def _describe(host_path):
    info = os.lstat(host_path)
    if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
        return "deleted"
    owner = f"{info.st_uid}:{info.st_gid} {stat.filemode(info.st_mode)}"
    if stat.S_ISREG(info.st_mode):
        with open(host_path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        return f"file {owner} {digest}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {owner} -> {os.readlink(host_path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {owner}"
    return f"special {owner}"


def state_changing(commands):
    """The traced commands that are not read-only uses (a blank line is the end of an argument
    holding a newline, such as rpm's --qf format)."""
    return [c for c in commands if c.strip() and not any(pattern.match(c) for pattern in READ_ONLY)]


def change_lines(output):
    """The 'type[title]/property: message' lines of a confrt apply output, ' (noop)' removed."""
    lines = []
    for line in output.splitlines():
        if "]/" in line and not line.startswith(("+", "-", "@", " ")):
            lines.append(line[:-len(" (noop)")] if line.endswith(" (noop)") else line)
    return lines


def unsuccessful(stderr):
    """[(ref, 'failed' or 'skipped')] of the resources a confrt output names as failed or skipped."""
    found = re.findall(r"^confrt: (\S+\[.*?\]): (failed|skipped): ", stderr, re.MULTILINE)
    return sorted(found)


def assert_same_plan(noop, real):
    """A noop run's output lists the changes, failures and skips the real run's then shows."""
    import difflib

    planned, made = change_lines(noop.stdout), change_lines(real.stdout)
    assert planned == made, "\n".join(difflib.unified_diff(planned, made, "noop", "real", lineterm=""))
    assert unsuccessful(noop.stderr) == unsuccessful(real.stderr), f"noop:\n{noop.stderr}real:\n{real.stderr}"


def _describe_lower_dir(path):
    """How a directory looks in the lower layer (the host), so plain copy-ups are not changes."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    return f"dir {info.st_uid}:{info.st_gid} {stat.filemode(info.st_mode)}"


def diff_changes(before, after, ignore=()):
    """Paths whose state differs between two changes() snapshots, minus ignored prefixes."""
    paths = set(before) | set(after)
    return sorted(p for p in paths if before.get(p) != after.get(p) and not _under(p, ignore))


def start_or_skip(tmp_parent=None, **options):
    """A started Scratch(**options) for a test; skips it with the reason when this machine cannot build one."""
    import pytest

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    try:
        return Scratch(tmp_parent=tmp_parent, **options).start()
    except ScratchUnavailable as exc:
        pytest.skip(f"cannot build the scratch system: {exc}")


def apt_install(system, *packages):
    """apt-get install inside `system` for a test; skips it when Debian's registry is unreachable."""
    import pytest

    try:
        return system.apt_get_install(*packages)
    except ScratchUnavailable as exc:
        pytest.skip(str(exc))


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
