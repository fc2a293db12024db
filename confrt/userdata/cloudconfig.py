"""`#cloud-config`: write_files (written by confrt itself) and confrt's own data.

The write_files entry whose path is local_data becomes the data layer (its
content must be a YAML mapping); a top-level `confrt:` mapping is local data
too. Other entries are written atomically with their owner and permissions;
`append` appends; `defer` is accepted and ignored (confrt writes them at fetch
time). Other cloud-config keys are left to cloud-init, with a warning.
"""
import os

from confrt.errors import DataError, UserdataError
from confrt.userdata.decoded import Decoded, WriteFile
from confrt.userdata.decoding import as_text, b64decode, gunzip, parse_bool

HEADER = "#cloud-config"
# encoding name -> decoding steps, as cloud-init's cc_write_files accepts them
ENCODINGS = {
    "b64": ("b64",), "base64": ("b64",),
    "gz": ("gz",), "gzip": ("gz",),
    "gz+b64": ("b64", "gz"), "gz+base64": ("b64", "gz"),
    "gzip+b64": ("b64", "gz"), "gzip+base64": ("b64", "gz"),
    "text/plain": (),
}
ENTRY_KEYS = {"path", "content", "encoding", "owner", "permissions", "append", "defer", "source"}


def load_mapping(text, what):
    """YAML text -> mapping (None/empty -> {}); anything else is a one-line error."""
    from confrt.util.yamlfile import load_yaml

    try:
        value = load_yaml(text, what)
    except DataError as exc:
        raise UserdataError(" ".join(str(exc).split())) from None  # reader errors span lines
    except RecursionError:
        raise UserdataError(f"{what}: invalid YAML: nested too deeply") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserdataError(f"{what}: expected a YAML mapping, got {type(value).__name__}")
    return value


def _permissions(value, where):
    if value is None:
        return 0o644
    try:
        mode = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value), 8)
    except ValueError:
        raise UserdataError(f"{where}: permissions: expected an octal mode, got {value!r}") from None
    if not 0 <= mode <= 0o7777:
        raise UserdataError(f"{where}: permissions: {value!r} is not a file mode")
    return mode


def _content(entry, where, context):
    content = entry.get("content", "")
    if content is None:
        content = ""
    if not isinstance(content, (str, bytes)):
        raise UserdataError(f"{where}: content: expected a string, got {type(content).__name__}")
    encoding = str(entry.get("encoding", "text/plain")).strip().lower()
    if encoding not in ENCODINGS:
        raise UserdataError(f"{where}: encoding: unknown {encoding!r} (known: {', '.join(ENCODINGS)})")
    data = content.encode("utf-8") if isinstance(content, str) else content
    for step in ENCODINGS[encoding]:
        data = b64decode(data, where) if step == "b64" else gunzip(data, context.max_size, where)
    return data


def _owner(value, where):
    owner = "root:root" if value is None else value
    if not isinstance(owner, str) or not owner.strip() or owner.count(":") > 1:
        raise UserdataError(f"{where}: owner: expected 'user' or 'user:group', got {value!r}")
    return owner.strip()


def parse_write_files(entries, context, what):
    decoded = Decoded()
    if not isinstance(entries, list):
        raise UserdataError(f"{what}: write_files: expected a list, got {type(entries).__name__}")
    for index, entry in enumerate(entries):
        where = f"{what}: write_files[{index}]"
        if not isinstance(entry, dict):
            raise UserdataError(f"{where}: expected a mapping, got {type(entry).__name__}")
        unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
        if unknown:
            raise UserdataError(f"{where}: unknown key {unknown[0]!r}")
        if "source" in entry:
            raise UserdataError(f"{where}: source (download from a URL) is not supported")
        path = entry.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise UserdataError(f"{where}: path: expected an absolute path, got {path!r}")
        content = _content(entry, where, context)
        if os.path.normpath(path) == os.path.normpath(context.local_data):
            decoded.extend(Decoded(load_mapping(as_text(content, where), path), path), where)
            continue
        decoded.files.append(WriteFile(
            path, content, mode=_permissions(entry.get("permissions"), where),
            owner=_owner(entry.get("owner"), where),
            append=parse_bool(entry.get("append", False), f"{where}: append"),
        ))
    return decoded


def parse_cloud_config(text, context, what):
    config = load_mapping(text, what)
    decoded = Decoded()
    if "write_files" in config:
        decoded.extend(parse_write_files(config["write_files"], context, what), what)
    if "confrt" in config:
        own = config["confrt"]
        if not isinstance(own, dict):
            raise UserdataError(f"{what}: confrt: expected a mapping, got {type(own).__name__}")
        decoded.extend(Decoded(own, f"{what}: confrt"), what)
    others = sorted(str(k) for k in config if k not in ("write_files", "confrt"))
    if others:
        decoded.warnings.append(f"{what}: cloud-config keys left to cloud-init: {', '.join(others)}")
    return decoded
