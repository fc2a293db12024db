"""Submit side of a fleet: a node-type file -> an HTCondor-G EC2 submit description + userdata.

A node-type file says what to start (AMI, instance type, role, data, credentials,
endpoint, keypair, security groups, tags); `confrt submit` turns it into a grid-universe
submit description that `condor_submit` queues N times, each job one VM whose userdata
writes the node's local_data (and its role fact). The credentials are file paths:
HTCondor's EC2 GAHP reads them, confrt never does, so no key ever lands in the submit
file, the userdata or a message.
"""
import os
import re

from confrt.errors import ConfrtError

DEFAULT_HELD_SECONDS = 600
DEFAULT_IDLE_SECONDS = 1800
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # becomes part of a submit command name


class NodeTypeError(ConfrtError):
    """A node-type file for `confrt submit` is unreadable or wrong."""


class NodeType:
    """A validated node-type file; paths are absolute, resolved against the file's folder."""

    def __init__(self, path, name, values):
        self.path = path
        self.name = name
        self.ami = values["ami"]
        self.instance_type = values["instance_type"]
        self.role = values.get("role")
        self.data = values["data"]
        self.files = values.get("files", [])
        self.access_key_file = values["access_key_file"]
        self.secret_key_file = values["secret_key_file"]
        self.ec2_url = values["ec2_url"]
        self.keypair = values.get("keypair")
        self.security_groups = values.get("security_groups", [])
        self.tags = values.get("tags", {})
        self.held_seconds, self.idle_seconds = values.get(
            "periodic_remove", (DEFAULT_HELD_SECONDS, DEFAULT_IDLE_SECONDS))
        self.count = values.get("count", 1)
        self.gzip = values.get("gzip", False)
        self.local_data = values.get("local_data")
        self.facts_dir = values.get("facts_dir")
        self.public_key = values.get("public_key")
        self.clear_secrets = values.get("clear_secrets", False)


def load_node_type(path):
    """Read and validate a node-type YAML file; any problem is one NodeTypeError line."""
    from confrt.errors import DataError
    from confrt.util.yamlfile import load_yaml_file

    try:
        raw = load_yaml_file(path)
    except DataError as exc:
        raise NodeTypeError(str(exc)) from None
    if not isinstance(raw, dict):
        raise NodeTypeError(f"{path}: expected a mapping of node-type settings")
    base = os.path.dirname(os.path.abspath(path))
    values = {}
    for key, value in raw.items():
        check = KEY_CHECKS.get(key)
        if check is None:
            raise NodeTypeError(f"{path}: {key}: unknown key (known: {', '.join(KEY_CHECKS)})")
        problem, value = check(value, base)
        if problem:
            raise NodeTypeError(f"{path}: {key}: {problem}")
        values[key] = value
    for key in REQUIRED:
        if key not in values:
            raise NodeTypeError(f"{path}: {key}: missing (required: {', '.join(REQUIRED)})")
    if values.get("public_key") and values.get("clear_secrets"):
        raise NodeTypeError(f"{path}: clear_secrets: true contradicts public_key (give one of them)")
    stem = os.path.splitext(os.path.basename(path))[0]
    if not _NAME.fullmatch(stem):
        raise NodeTypeError(f"{path}: file name must be letters, digits, '_', '.', '-' (it names the outputs)")
    return NodeType(os.path.abspath(path), stem, values)


def _plain(value):
    """A problem with a value written into a submit description, or None."""
    if "\n" in value or "\r" in value:
        return "must be one line"
    if "$(" in value:
        return "must not contain '$(' (condor_submit would expand it as a macro)"
    return None


def _word(value, _base):
    if not isinstance(value, str) or not value.strip():
        return "expected a non-empty string", None
    if any(c.isspace() for c in value):
        return f"{value!r} must not contain spaces", None
    return _plain(value), value


def _name(value, _base):
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        return f"{value!r}: expected a name of letters, digits, '_', '.', '-'", None
    return None, value


def _existing_file(value, base):
    if not isinstance(value, str) or not value:
        return "expected a file path", None
    path = os.path.join(base, os.path.expanduser(value))
    if not os.path.isfile(path):
        return f"{path}: no such file", None
    problem = _plain(path) or (f"{path}: path must not contain spaces" if " " in path else None)
    return problem, os.path.abspath(path)


def _absolute_path(value, _base):
    if not isinstance(value, str) or not value.startswith("/"):
        return f"{value!r}: expected an absolute path on the instance", None
    return _plain(value), value


def _url(value, _base):
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        return f"{value!r}: expected an http(s) URL of the EC2 endpoint", None
    return _plain(value), value


def _files(value, base):
    if not isinstance(value, dict):
        return "expected a mapping {target path on the instance: source file}", None
    pairs = []
    for target, source in value.items():
        problem, target = _absolute_path(target, base)
        if problem:
            return problem, None
        problem, source = _existing_file(source, base)
        if problem:
            return f"{target}: {problem}", None
        pairs.append((target, source))
    return None, pairs


def _security_groups(value, _base):
    groups = [value] if isinstance(value, str) else value
    if not isinstance(groups, list) or not groups:
        return "expected a list of security group names", None
    for group in groups:
        if not isinstance(group, str) or not group.strip() or "," in group:
            return f"{group!r}: expected a group name without commas", None
        problem = _plain(group)
        if problem:
            return f"{group!r}: {problem}", None
    return None, groups


def _tags(value, _base):
    if not isinstance(value, dict):
        return "expected a mapping {tag name: value}", None
    tags = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _TAG_NAME.fullmatch(name):
            return f"{name!r}: tag names are letters, digits and '_', starting with a letter", None
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            return f"{name}: expected a string or number value", None
        problem = _plain(str(text))
        if problem:
            return f"{name}: {problem}", None
        tags[name] = str(text)
    if len({name.lower() for name in tags}) != len(tags):
        return "tag names must differ in more than case (HTCondor lower-cases them)", None
    return None, tags


def _seconds(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return f"{what}: expected a positive number of seconds, got {value!r}"
    return None


def _periodic_remove(value, _base):
    if not isinstance(value, dict) or set(value) - {"held", "idle"}:
        return "expected a mapping with held and/or idle seconds", None
    held = value.get("held", DEFAULT_HELD_SECONDS)
    idle = value.get("idle", DEFAULT_IDLE_SECONDS)
    return _seconds(held, "held") or _seconds(idle, "idle"), (held, idle)


def _count(value, _base):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"expected a positive integer, got {value!r}", None
    return None, value


def _flag(value, _base):
    if not isinstance(value, bool):
        return f"expected true or false, got {value!r}", None
    return None, value


KEY_CHECKS = {
    "ami": _word,
    "instance_type": _word,
    "role": _name,
    "data": _existing_file,
    "files": _files,
    "access_key_file": _existing_file,
    "secret_key_file": _existing_file,
    "ec2_url": _url,
    "keypair": _word,
    "security_groups": _security_groups,
    "tags": _tags,
    "periodic_remove": _periodic_remove,
    "count": _count,
    "gzip": _flag,
    "local_data": _absolute_path,
    "facts_dir": _absolute_path,
    "public_key": _existing_file,
    "clear_secrets": _flag,
}
REQUIRED = ("ami", "instance_type", "data", "access_key_file", "secret_key_file", "ec2_url")


def periodic_remove_expression(held_seconds, idle_seconds):
    """Remove a VM job held (JobStatus 5) or idle, i.e. not started (JobStatus 1), for too long."""
    return (f"(JobStatus == 5 && (time() - EnteredCurrentStatus) > {held_seconds}) || "
            f"(JobStatus == 1 && (time() - EnteredCurrentStatus) > {idle_seconds})")


def submit_description(node, userdata_file, log_file, count):
    """The grid-universe submit description text for `count` VMs of `node`."""
    lines = [
        f"# confrt submit: node type {node.name} from {node.path}",
        "# The ec2_*_key_* lines are file paths: the EC2 GAHP reads the keys from them.",
        "universe = grid",
        f"grid_resource = ec2 {node.ec2_url}",
        f"executable = confrt-{node.name}",  # a label for EC2 jobs: shows in condor_q
        f"ec2_ami_id = {node.ami}",
        f"ec2_instance_type = {node.instance_type}",
        f"ec2_access_key_id = {node.access_key_file}",
        f"ec2_secret_access_key = {node.secret_key_file}",
        f"ec2_user_data_file = {userdata_file}",
    ]
    if node.keypair:
        lines.append(f"ec2_keypair = {node.keypair}")
    if node.security_groups:
        lines.append(f"ec2_security_groups = {', '.join(node.security_groups)}")
    if node.tags:
        lines.append(f"ec2_tag_names = {','.join(node.tags)}")
        lines.extend(f"ec2_tag_{name} = {value}" for name, value in node.tags.items())
    lines.append(f'+ConfrtNodeType = "{node.name}"')
    if node.role:
        lines.append(f'+ConfrtRole = "{node.role}"')
    lines += [
        f"log = {log_file}",
        "notification = never",
        f"periodic_remove = {periodic_remove_expression(node.held_seconds, node.idle_seconds)}",
        f"queue {count}",
    ]
    return "\n".join(lines) + "\n"


def node_userdata(node, local_data, facts_dir, secrets=None):
    """The userdata bytes: the node's data as local_data (its sensitive keys encrypted by
    `secrets`, a SecretsPolicy), its files, and its role as a fact."""
    import tempfile

    from confrt.userdata.build import build_userdata

    files = list(node.files)
    with tempfile.TemporaryDirectory(prefix="confrt-submit-") as scratch:
        if node.role:
            role_file = os.path.join(scratch, "role.yaml")
            with open(role_file, "w") as handle:
                handle.write(f"role: {node.role}\n")
            files.append((os.path.join(facts_dir, "role.yaml"), role_file))
        return build_userdata(node.data, local_data, files, compress=node.gzip, secrets=secrets)


def write_if_changed(path, data, mode):
    """Atomically write `data` unless the file already holds it; True when written."""
    from confrt.util.atomic import atomic_write, read_bytes

    if read_bytes(path) == data:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    atomic_write(path, data, mode)
    return True


def make_output_dir(out_dir):
    """Create out_dir (and its parents) when missing: 0700, since the userdata holds secrets."""
    try:
        os.makedirs(out_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise NodeTypeError(f"{out_dir}: cannot create the output directory: {exc.strerror}") from None


def write_submission(node, out_dir, count, local_data, facts_dir, secrets=None):
    """Write <name>.sub and <name>.userdata into out_dir; returns [(path, written)]."""
    out_dir = os.path.abspath(out_dir)
    userdata_file = os.path.join(out_dir, f"{node.name}.userdata")
    submit_file = os.path.join(out_dir, f"{node.name}.sub")
    problem = _plain(out_dir) or (" " in out_dir and "path must not contain spaces")
    if problem:
        raise NodeTypeError(f"{out_dir}: output directory {problem}")
    userdata = node_userdata(node, local_data, facts_dir, secrets)  # fails before anything is written
    stamped = None
    if secrets is not None and secrets.encrypted_for:
        # each encryption is new ciphertext: whether the last userdata still holds is told by
        # a stamp of what it was made from (the clear userdata and the public key)
        from confrt.util.atomic import read_bytes

        stamped = node_userdata(node, local_data, facts_dir) + b"\0" + read_bytes(secrets.encrypted_for)
    text = submit_description(node, userdata_file, os.path.join(out_dir, f"{node.name}.log"), count)
    make_output_dir(out_dir)
    if stamped is None:
        userdata_written = write_if_changed(userdata_file, userdata, 0o600)  # local_data holds secrets
    else:
        userdata_written = _write_if_stamp_changed(userdata_file, userdata, stamped,
                                                   os.path.join(out_dir, f".{node.name}.userdata.stamp"))
    return [
        (userdata_file, userdata_written),
        (submit_file, write_if_changed(submit_file, text.encode("utf-8"), 0o644)),
    ]


STAMP_ITERATIONS = 200000


def _stamp(source, salt):
    """A slow salted hash of what encrypted userdata was made from: it holds the clear secrets,
    so a stamp must not make guessing them cheap."""
    import hashlib

    digest = hashlib.pbkdf2_hmac("sha256", source, salt, STAMP_ITERATIONS).hex()
    return f"pbkdf2-sha256 {STAMP_ITERATIONS} {salt.hex()} {digest}\n".encode("ascii")


def _stamp_salt(stamp):
    """The salt of a stamp this version wrote, or None (any other content: rewrite)."""
    fields = stamp.decode("ascii", "replace").split()
    if len(fields) != 4 or fields[:2] != ["pbkdf2-sha256", str(STAMP_ITERATIONS)]:
        return None
    try:
        return bytes.fromhex(fields[2]) or None
    except ValueError:
        return None


def _write_if_stamp_changed(path, data, source, stamp_file):
    """Write encrypted userdata unless the file exists and its stamp says it was made from
    `source`; True when written. The stamp (0600) is written after the userdata."""
    from confrt.util.atomic import atomic_write, read_bytes

    old = read_bytes(stamp_file)
    salt = _stamp_salt(old) if old and os.path.isfile(path) else None
    if salt and _stamp(source, salt) == old:
        if os.stat(path).st_mode & 0o7777 != 0o600:
            os.chmod(path, 0o600)
        return False
    atomic_write(path, data, 0o600)
    atomic_write(stamp_file, _stamp(source, os.urandom(16)), 0o600)
    return True
