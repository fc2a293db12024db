"""Writing decoded userdata: local_data, write_files entries and per-instance state.

Nothing is written until the whole userdata decoded and every write is planned
(owners resolved, appends read): then each file is replaced atomically, and
local_data (mode 0600) last. Unchanged files are not rewritten.

Per-instance state under <statedir>/userdata/ (cloud-init's semaphores are the
model), keyed by instance-id + sha256 of the userdata:
    current.json         {instance_id, hash, source, key, scripts}
    scripts/<key>/NN-*   the `#!` scripts, 0700
    done/<key>           semaphore: the scripts ran for this instance and userdata
    done/command-<key>   semaphore of one first_boot command (instance-id + the command)
A host move that keeps instance-id and userdata keeps the key, so first-boot
scripts do not run again; a new instance-id or new userdata runs them once.
`append` write_files entries are applied only when the key is new.
"""
import hashlib
import json
import os
import re

from confrt.errors import UserdataError
from confrt.util.atomic import atomic_write, read_bytes

METADATA_KEYS = {
    "instance_id": "confrt::instance_id",
    "local_hostname": "confrt::local_hostname",
    "public_keys": "sshkeys::metadata_keys",
    "block_device_mapping": "ephemeral_disk::block_device_mapping",
}
SOURCE_KEY = "confrt::userdata_source"
SCRIPT_TIMEOUT = 600
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PlannedWrite:
    def __init__(self, path, content, mode, uid=0, gid=0, sensitive=False):
        self.path = path
        self.content = content
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.sensitive = sensitive

    def describe(self):
        return f"{self.path} (mode {self.mode:04o}, {len(self.content)} bytes)"


def state_dir(config):
    return os.path.join(config.statedir, "userdata")


def scripts_dir(config):
    """Where the first-boot scripts are stored, one folder per instance key."""
    return os.path.join(state_dir(config), "scripts")


def instance_key(instance_id, userdata_hash):
    return f"{_UNSAFE.sub('_', instance_id or 'no-instance-id')}-{userdata_hash[:16]}"


def local_data_of(decoded, fetched):
    """The data layer: decoded keys plus the metadata under their documented keys.

    amiconfig's rootsshkeys plugin (on by default) put the metadata's key on root: when it is
    enabled for this userdata (decoded.amiconfig_plugins) and there is a key, the data selects the
    sshkeys class, which installs it (sshkeys::root_from_metadata)."""
    data = dict(decoded.data)
    for name, key in METADATA_KEYS.items():
        if fetched.metadata.get(name):
            data[key] = fetched.metadata[name]
    data[SOURCE_KEY] = fetched.source
    classes = data.get("classes", [])
    if decoded.amiconfig_plugins and "rootsshkeys" in decoded.amiconfig_plugins \
            and data.get(METADATA_KEYS["public_keys"]) and not {"sshkeys", "--sshkeys"} & set(classes):
        data["classes"] = list(classes) + ["sshkeys"]
    return data


def render_local_data(data):
    from confrt.util.yamlfile import dump_yaml

    return ("# Written by `confrt userdata fetch`; edits are replaced at the next fetch.\n"
            + dump_yaml(data)).encode("utf-8")


def _ids(owner, path):
    import grp
    import pwd

    user, _, group = owner.partition(":")
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
        if group:
            gid = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise UserdataError(f"{path}: owner {owner}: no such user or group on this machine") from None
    return uid, gid


def _unchanged(write):
    try:
        st = os.stat(write.path)
    except OSError:
        return False
    return ((st.st_mode & 0o7777, st.st_uid, st.st_gid) == (write.mode, write.uid, write.gid)
            and read_bytes(write.path) == write.content)


def _read_state(config):
    raw = read_bytes(os.path.join(state_dir(config), "current.json"))
    try:
        return json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        return {}


def current_instance_id(config):
    """The instance-id of the last userdata written (None before the first fetch or without one)."""
    return _read_state(config).get("instance_id")


def plan_writes(config, fetched, decoded):
    """Every file write the userdata implies, in order, unchanged ones left out."""
    userdata_hash = hashlib.sha256(fetched.raw or b"").hexdigest()
    key = instance_key(fetched.metadata.get("instance_id"), userdata_hash)
    new_key = _read_state(config).get("key") != key
    uid, gid = os.getuid(), os.getgid()
    writes = []
    for item in decoded.files:
        file_uid, file_gid = _ids(item.owner, item.path)
        content = item.content
        if item.append:
            if not new_key:
                continue
            content = (read_bytes(item.path) or b"") + content
        writes.append(PlannedWrite(item.path, content, item.mode, file_uid, file_gid, item.sensitive))
    scripts = []
    for number, script in enumerate(decoded.scripts, 1):
        name = f"{number:02d}-{_UNSAFE.sub('_', script.name)}"
        scripts.append(name)
        writes.append(PlannedWrite(os.path.join(scripts_dir(config), key, name),
                                   script.content, 0o700, uid, gid))
    state = {"instance_id": fetched.metadata.get("instance_id"), "hash": userdata_hash,
             "source": fetched.source, "key": key, "scripts": scripts}
    writes.append(PlannedWrite(os.path.join(state_dir(config), "current.json"),
                               (json.dumps(state, indent=1, sort_keys=True) + "\n").encode(), 0o600, uid, gid))
    writes.append(PlannedWrite(config.local_data, render_local_data(local_data_of(decoded, fetched)),
                               0o600, uid, gid, sensitive=True))
    return [w for w in writes if not _unchanged(w)]


def _folders(config, write):
    """(folder, mode) apply_writes makes for a write, in order."""
    return [(state_dir(config), 0o700), (os.path.dirname(os.path.abspath(write.path)), 0o755)]


def folders_made_by(config, writes):
    """{folder: permission bits} apply_writes(config, writes) would make (for a noop's apply)."""
    from confrt.util.atomic import folders_made

    made = {}
    for write in writes:
        for folder, mode in _folders(config, write):
            for path, bits in folders_made(folder, mode).items():
                made.setdefault(path, bits)
    return made


def apply_writes(config, writes):
    """Write each planned file atomically; local_data is the last one, so a failure keeps the old one."""
    for write in writes:
        try:
            for folder, mode in _folders(config, write):
                os.makedirs(folder, mode=mode, exist_ok=True)
            atomic_write(write.path, write.content, write.mode, write.uid, write.gid)
        except OSError as exc:
            raise UserdataError(f"{write.path}: cannot write: {exc.strerror or exc}") from None


def first_boot_scripts_pending(config):
    """Paths of the current userdata's scripts not yet run on this instance."""
    state = _read_state(config)
    if not state.get("scripts") or os.path.exists(os.path.join(state_dir(config), "done", state["key"])):
        return []
    return [os.path.join(scripts_dir(config), state["key"], name) for name in state["scripts"]]


def mark_scripts_done(config):
    state = _read_state(config)
    if state.get("key"):
        done = os.path.join(state_dir(config), "done")
        os.makedirs(done, mode=0o700, exist_ok=True)
        atomic_write(os.path.join(done, state["key"]), b"done\n", 0o600)


def run_first_boot_scripts(config, log, timeout=SCRIPT_TIMEOUT):
    """Run the pending scripts as root in order, log their output, mark them done; -> results."""
    from confrt.util.proc import run

    results = []
    for path in first_boot_scripts_pending(config):
        result = run([path], timeout=timeout, cwd="/")
        log(result.describe() if not result.ok else f"{path}: ok")
        for line in (result.stdout + result.stderr).splitlines():
            log(f"{os.path.basename(path)}: {line}")
        results.append(result)
    mark_scripts_done(config)
    return results


# -- first-boot commands (module first_boot) ---------------------------------------------------
# The same per-instance state as the scripts: a command runs once for each instance-id and
# command text; done/command-<key> is its semaphore, written when it has run (failed or not).

class CommandResult:
    """What became of one first-boot command: exit status (None while a background one runs)."""

    def __init__(self, command, returncode=None, pid=None, error=None, output=""):
        self.command = command
        self.returncode = returncode
        self.pid = pid
        self.error = error
        self.output = output

    @property
    def ok(self):
        return self.returncode in (0, None) and self.error is None

    def describe(self):
        where = f"{self.command['name']} (as {self.command['user']})"
        if self.error:
            return f"{where}: {self.error}"
        if self.returncode is None:
            return f"{where}: running in the background (pid {self.pid})"
        return f"{where}: exited {self.returncode}"

    def as_report(self):
        entry = {"user": self.command["user"], "background": self.command["background"]}
        if self.returncode is None and self.error is None:
            entry["running"] = self.pid
        else:
            entry["exit"] = self.returncode
        if self.error:
            entry["error"] = self.error
        return entry


def command_key(instance_id, command):
    """The semaphore name of a command on the instance `instance_id` (current_instance_id())."""
    text = "\0".join([command["user"], command["command"], str(command["background"])])
    return "command-" + instance_key(instance_id, hashlib.sha256(text.encode()).hexdigest())


def first_boot_commands_pending(config, commands):
    """The commands (from the fact first_boot) not yet run on this instance."""
    done = os.path.join(state_dir(config), "done")
    instance_id = current_instance_id(config)
    return [c for c in commands if not os.path.exists(os.path.join(done, command_key(instance_id, c)))]


def run_first_boot_commands(config, commands, settings, log):
    """Run each command as its user (runuser -l), mark it done; -> [CommandResult]."""
    results = []
    instance_id = current_instance_id(config)
    for command in commands:
        if command["background"]:
            result = _start_background(config, command, settings["background_check"])
        else:
            result = _run_foreground(command, settings["timeout"])
        log(result.describe())
        for line in result.output.splitlines():
            log(f"{command['name']}: {line}")
        done = os.path.join(state_dir(config), "done")
        os.makedirs(done, mode=0o700, exist_ok=True)
        atomic_write(os.path.join(done, command_key(instance_id, command)), b"done\n", 0o600)
        results.append(result)
    return results


def _argv(command):
    return ["runuser", "-l", command["user"], "-c", command["command"]]


def _spawn(command, output):
    import subprocess

    return subprocess.Popen(_argv(command), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                            cwd="/", start_new_session=True)


def _run_foreground(command, timeout):
    """Wait up to timeout seconds; past it the command's whole process group is killed. Output goes
    to a temp file, not a pipe, so a child it leaves behind cannot hold the run up."""
    import signal
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as output:
        try:
            process = _spawn(command, output)
        except OSError as exc:
            return CommandResult(command, 127, error=f"cannot run runuser: {exc.strerror}")
        error = None
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid, signal.SIGKILL)
            returncode = process.wait()
            error = f"timed out after {timeout}s (first_boot::timeout): killed"
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return CommandResult(command, returncode, error=error, output=text)


def _kill_group(pid, signal_number):
    try:
        os.killpg(pid, signal_number)
    except OSError:
        pass


def _start_background(config, command, check_seconds):
    """Start it in its own session, output appended to <run.log_dir>/first_boot-NAME.log; an exit
    within check_seconds is reported like a foreground command's."""
    import subprocess

    log_dir = config.run["log_dir"]
    path = os.path.join(log_dir, f"first_boot-{_UNSAFE.sub('_', command['name'])}.log")
    try:
        os.makedirs(log_dir, mode=0o750, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        return CommandResult(command, 1, error=f"cannot open {path}: {exc.strerror}")
    try:
        process = _spawn(command, fd)
    except OSError as exc:
        return CommandResult(command, 127, error=f"cannot run runuser: {exc.strerror}")
    finally:
        os.close(fd)
    try:
        returncode = process.wait(check_seconds)
    except subprocess.TimeoutExpired:
        return CommandResult(command, pid=process.pid, output=f"output in {path}")
    return CommandResult(command, returncode, output=f"output in {path}")
