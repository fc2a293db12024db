"""Submit side: make #cloud-config userdata that writes local_data (and extra files).

Each file becomes a write_files entry (encoding b64, owner root:root,
permissions '0600'), as the BNL generate-userdata filemap did. The result is
gzipped when asked or when it would pass EC2's 16 KiB userdata limit; still too
big gzipped is an error. With a SecretsPolicy (confrt/userdata/secrets.py) the
sensitive keys of the data file are encrypted for the image's public key first.
"""
import base64
import gzip
import os

from confrt.errors import UserdataError

EC2_LIMIT = 16 * 1024


def _read(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UserdataError(f"{path}: cannot read {what}: {exc.strerror}") from None


def read_filemap(path):
    """A filemap YAML {target: source}; relative sources are relative to the filemap's folder."""
    from confrt.util.yamlfile import load_yaml_file

    mapping = load_yaml_file(path)
    if not isinstance(mapping, dict):
        raise UserdataError(f"{path}: expected a mapping of target path: source file")
    base = os.path.dirname(os.path.abspath(path))
    pairs = []
    for target, source in mapping.items():
        if not isinstance(target, str) or not isinstance(source, str):
            raise UserdataError(f"{path}: {target}: target and source must be strings")
        pairs.append((target, os.path.join(base, source)))
    return pairs


def parse_file_option(option):
    """'TARGET=SOURCE' -> (target, source)."""
    target, sep, source = option.partition("=")
    if not sep or not target or not source:
        raise UserdataError(f"--file {option}: expected TARGET=SOURCE")
    return target, source


def _entry(target, content):
    return {"path": target, "owner": "root:root", "permissions": "0600", "encoding": "b64",
            "content": base64.b64encode(content).decode("ascii")}


def build_userdata(data_path, local_data, extra_files=(), compress=False, secrets=None):
    """Userdata bytes: #cloud-config writing `data_path` to `local_data` plus the (target, source)
    files; `secrets` (a SecretsPolicy) encrypts the data's sensitive keys."""
    from confrt.util.yamlfile import dump_yaml, load_yaml_file

    data = load_yaml_file(data_path)
    if data is not None and not isinstance(data, dict):
        raise UserdataError(f"{data_path}: expected a YAML mapping of data keys")
    raw = _read(data_path, "the data file")
    extra = []
    for target, source in extra_files:
        if not os.path.isabs(target):
            raise UserdataError(f"{target}: target path must be absolute")
        if os.path.normpath(target) == os.path.normpath(local_data):
            raise UserdataError(f"{target}: is local_data, which the data file already writes")
        extra.append(_entry(target, _read(source, "an extra file")))
    content = secrets.data_bytes(data, data_path, local_data) if secrets is not None and data else None
    entries = [_entry(local_data, raw if content is None else content)] + extra
    text = ("#cloud-config\n" + dump_yaml({"write_files": entries})).encode("utf-8")
    if not compress and len(text) <= EC2_LIMIT:
        return text
    packed = gzip.compress(text, mtime=0)
    if len(packed) > EC2_LIMIT:
        raise UserdataError(f"userdata is {len(packed)} bytes even gzipped, over EC2's {EC2_LIMIT}-byte limit")
    return packed
