"""`#cloud-config`: write_files (written by confrt itself) and confrt's own data.

The write_files entry whose path is local_data becomes the data layer (its
content must be a YAML mapping), and so does one whose path is one of
userdata.legacy_local_data (where the BNL provisioning toolkit's userdata wrote
/etc/hiera/local.yaml); a top-level `confrt:` mapping is local data too. An
entry elsewhere whose content looks like data (a YAML mapping with `classes` or
`module::key` keys) at a path no data level reads is written, with a warning.
Other entries are written atomically with their owner and permissions;
`append` appends; `defer` is accepted and ignored (confrt writes them at fetch
time). Other cloud-config keys are left to cloud-init, with a warning.
"""
import os
import re

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
    if not isinstance(owner, str) or not owner.strip() or owner.count(":") > 1 or "\0" in owner:
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
        if not isinstance(path, str) or not os.path.isabs(path) or "\0" in path:
            raise UserdataError(f"{where}: path: expected an absolute path, got {path!r}")
        content = _content(entry, where, context)
        if os.path.normpath(path) in _data_layer_paths(context):
            decoded.extend(Decoded(load_mapping(as_text(content, where), path), path), where)
            continue
        if _looks_like_data(content) and not _read_by_the_hierarchy(path, context):
            decoded.warnings.append(
                f"{where}: {path} looks like data (classes or module::key keys) but no data level reads it: "
                f"write it to {context.local_data} (or a path of userdata.legacy_local_data) to make it "
                f"the data layer")
        decoded.files.append(WriteFile(
            path, content, mode=_permissions(entry.get("permissions"), where),
            owner=_owner(entry.get("owner"), where),
            append=parse_bool(entry.get("append", False), f"{where}: append"),
        ))
    return decoded


def _data_layer_paths(context):
    """local_data and the legacy paths read as local_data, normalized."""
    return {os.path.normpath(p) for p in [context.local_data] + list(context.settings["legacy_local_data"])}


def _looks_like_data(content):
    """A YAML mapping with `classes` or a `module::key` key: Hiera/confrt data."""
    if b"::" not in content and b"classes" not in content:
        return False
    from confrt.util.yamlfile import load_yaml

    try:
        value = load_yaml(content.decode("utf-8"), "write_files")
    except Exception:  # not YAML (or not text): not data
        return False
    return isinstance(value, dict) and any(
        isinstance(key, str) and (key == "classes" or "::" in key) for key in value)


def _read_by_the_hierarchy(path, context):
    """Whether a level of the hierarchy in use may read path: path is one of its data files, or lies
    under the fixed part (before any %{...}) of its datadir or of a path with variables. Without a
    readable hiera.yaml, assume it may."""
    if not context.hierarchy:
        return True
    try:
        levels = context.hierarchy().levels
    except Exception:  # a broken hiera.yaml fails the compile with its own message
        return True
    path = os.path.normpath(path)
    for level in levels:
        specs = [level.specs[2]] if level.location_key == "mapped_paths" else list(level.specs)
        specs = [spec.replace("%{confrt.local_data}", context.local_data) for spec in specs]
        # a path that starts with a variable (other than local_data) says nothing about where it is
        for pattern in [spec if spec.startswith("%{") else os.path.join(level.datadir, spec) for spec in specs]:
            if "%{" not in pattern and not any(c in pattern for c in "*?["):
                if os.path.normpath(pattern) == path:
                    return True
                continue
            fixed = os.path.dirname(re.split(r"%\{|[*?\[]", pattern, maxsplit=1)[0])
            if fixed not in ("", "/") and path.startswith(os.path.join(os.path.normpath(fixed), "")):
                return True
    return False


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
