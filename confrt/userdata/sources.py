"""Userdata datasources: where the raw userdata and the instance metadata come from.

SOURCES is the registry the engine's confrt_userdata_sources() hook exposes:
name -> function(settings, argument) returning a Fetched, or raising
SourceAbsent when the source is not there (the next one is tried). A source
that is there but broken raises UserdataError and stops the fetch.

A configured source is NAME or NAME:ARGUMENT:
    ec2                 the metadata service at userdata.ec2_url
    openstack[:DEV]     config drive, label config-2 (or the given device/image/dir)
    nocloud[:DEV]       label cidata, or /var/lib/cloud/seed/nocloud{,-net}, or the given one
    context[:DEV]       HEPiX/OpenNebula context ISO: label CONTEXT and the CernVM devices
    file:PATH           raw userdata in a file (tests, bare metal)

Metadata keys: instance_id, local_hostname, public_keys (list), block_device_mapping (dict).
"""
import json
import os
import shlex

from confrt.errors import UserdataError
from confrt.userdata.decoding import b64decode

DEFAULT_SOURCES = ["ec2", "openstack", "nocloud", "context"]
NOCLOUD_SEED_DIRS = ["/var/lib/cloud/seed/nocloud", "/var/lib/cloud/seed/nocloud-net"]


class SourceAbsent(Exception):
    """This source is not available on this machine; str() says why."""


class NoDatasourceError(UserdataError):
    """No configured source answered."""


class Fetched:
    """Raw userdata (None: the source has none) and metadata from one source."""

    def __init__(self, source, raw, metadata=None):
        self.source = source
        self.raw = raw
        self.metadata = metadata or {}


def _read_limited(path, settings, required=False):
    """Bytes of `path` (None when missing and not required), refusing oversize files."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        if required:
            raise UserdataError(f"{path}: cannot read: {exc.strerror}") from None
        return None
    if size > settings["max_size"]:
        raise UserdataError(f"{path}: {size} bytes, over userdata.max_size ({settings['max_size']})")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UserdataError(f"{path}: cannot read: {exc.strerror}") from None


def from_file(settings, argument):
    if not argument:
        raise UserdataError("file: source needs a path (file:PATH)")
    return Fetched("file:" + argument, _read_limited(argument, settings, required=True))


def from_ec2(settings, argument):
    from confrt.userdata.imds import MetadataClient, MetadataUnavailable, fetch_ec2_metadata

    client = MetadataClient(argument or settings["ec2_url"], settings["timeout"],
                            settings["total_timeout"], settings["max_size"])
    try:
        raw, metadata = fetch_ec2_metadata(client)
    except MetadataUnavailable as exc:
        raise SourceAbsent(str(exc)) from None
    return Fetched("ec2", raw, metadata)


def _json_file(path, settings):
    raw = _read_limited(path, settings)
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserdataError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UserdataError(f"{path}: expected a JSON object")
    return value


def _key_list(keys):
    if isinstance(keys, dict):
        keys = list(keys.values())
    if isinstance(keys, str):
        keys = keys.splitlines()
    return [str(k).strip() for k in keys or [] if str(k).strip()]


def read_config_drive(root, settings):
    """OpenStack config drive layout (openstack/latest, or ec2/latest as amiconfig accepted)."""
    meta = _json_file(volume_path(root, "openstack/latest/meta_data.json"), settings)
    if meta is not None:
        raw = _read_limited(volume_path(root, "openstack/latest/user_data"), settings)
        metadata = {"instance_id": meta.get("uuid"), "local_hostname": meta.get("hostname"),
                    "public_keys": _key_list(meta.get("public_keys"))}
        return raw, {k: v for k, v in metadata.items() if v}
    meta = _json_file(volume_path(root, "ec2/latest/meta-data.json"), settings)
    if meta is not None:
        raw = _read_limited(volume_path(root, "ec2/latest/user-data"), settings)
        metadata = {"instance_id": meta.get("instance-id"), "local_hostname": meta.get("local-hostname")}
        return raw, {k: v for k, v in metadata.items() if v}
    return None


def read_nocloud(root, settings):
    from confrt.userdata.cloudconfig import load_mapping

    meta_raw = _read_limited(os.path.join(root, "meta-data"), settings)
    raw = _read_limited(os.path.join(root, "user-data"), settings)
    if meta_raw is None and raw is None:
        return None
    meta = load_mapping(meta_raw.decode("utf-8", "replace"), os.path.join(root, "meta-data")) if meta_raw else {}
    metadata = {"public_keys": _key_list(meta.get("public-keys"))}
    for name, key in (("instance_id", "instance-id"), ("local_hostname", "local-hostname")):
        if meta.get(key) is not None:
            metadata[name] = str(meta[key])
    return raw, {k: v for k, v in metadata.items() if v}


def volume_path(root, relative):
    """root/relative, matching each name as ISO 9660 level 1 stores it when the volume has neither
    Rock Ridge nor Joliet (`mkisofs -o context.iso dir`, as CernVM's docs make it): upper case with
    a version (`CONTEXT.SH;1`). The kernel's iso9660 (map=normal) shows `context.sh`, xorriso's
    extraction `CONTEXT.SH`: an exact name is taken first, else one equal but for case, the `;N`
    version and a trailing dot."""
    path = root
    for name in [part for part in relative.split("/") if part]:
        exact = os.path.join(path, name)
        if os.path.lexists(exact) or not os.path.isdir(path):
            path = exact
            continue
        wanted = _iso_name(name)
        try:
            entries = sorted(os.listdir(path))
        except OSError:
            entries = []
        path = next((os.path.join(path, entry) for entry in entries if _iso_name(entry) == wanted), exact)
    return path


def _iso_name(name):
    base = name.split(";", 1)[0]
    return (base[:-1] if base.endswith(".") and len(base) > 1 else base).lower()


def parse_context_sh(text, what):
    """KEY=value assignments of a HEPiX/OpenNebula context.sh, without running it."""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as exc:
        raise UserdataError(f"{what}: cannot parse: {exc}") from None
    variables = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if sep and name.replace("_", "").isalnum():
            variables[name] = value
    return variables


def read_context(root, settings):
    path = volume_path(root, "context.sh")
    text = _read_limited(path, settings)
    if text is None:
        return read_config_drive(root, settings)
    variables = parse_context_sh(text.decode("utf-8", "replace"), path)
    raw = None
    if variables.get("EC2_USER_DATA"):
        raw = b64decode(variables["EC2_USER_DATA"], f"{path}: EC2_USER_DATA")
    elif variables.get("USER_DATA"):
        raw = variables["USER_DATA"].encode("utf-8")
        if variables.get("USERDATA_ENCODING", "").lower() == "base64":
            raw = b64decode(raw, f"{path}: USER_DATA")
    keys = _key_list(variables.get("PUBLIC_KEY", "")) + _key_list(variables.get("SSH_PUBLIC_KEY", ""))
    if variables.get("ROOT_PUBKEY"):
        key_path = os.path.normpath(os.path.join(root, variables["ROOT_PUBKEY"].lstrip("/")))
        if key_path.startswith(os.path.join(os.path.normpath(root), "")):
            key_path = volume_path(root, os.path.relpath(key_path, root))
        else:
            raise UserdataError(f"{path}: ROOT_PUBKEY: must name a file on the context volume")
        key_text = _read_limited(key_path, settings, required=True).decode("utf-8", "replace")
        keys.extend(_key_list(key_text))
    metadata = {"public_keys": keys} if keys else {}
    if variables.get("VMID"):
        metadata["instance_id"] = variables["VMID"]
    return raw, metadata


def _from_volumes(name, reader, candidates, settings):
    from confrt.userdata.volumes import VolumeUnavailable, opened_volume

    if not candidates:
        raise SourceAbsent("no volume found")
    reasons = []
    for device in candidates:
        try:
            with opened_volume(device) as root:
                try:
                    found = reader(root, settings)
                except UserdataError as exc:  # name the device, not the private temp dir
                    raise UserdataError(str(exc).replace(root, f"{name}:{device}")) from None
        except VolumeUnavailable as exc:
            reasons.append(str(exc))
            continue
        if found is not None:
            raw, metadata = found
            return Fetched(f"{name}:{device}", raw, metadata)
        reasons.append(f"{device}: no {name} files")
    raise SourceAbsent("; ".join(reasons))


def from_openstack(settings, argument):
    from confrt.userdata.volumes import find_by_label

    candidates = [argument] if argument else find_by_label(["config-2", "CONFIG-2"])
    return _from_volumes("openstack", read_config_drive, candidates, settings)


def from_nocloud(settings, argument):
    from confrt.userdata.volumes import find_by_label

    if argument:
        candidates = [argument]
    else:
        candidates = find_by_label(["cidata", "CIDATA"]) + [d for d in NOCLOUD_SEED_DIRS if os.path.isdir(d)]
    return _from_volumes("nocloud", read_nocloud, candidates, settings)


def from_context(settings, argument):
    from confrt.userdata.volumes import cernvm_devices, find_by_label

    if argument:
        candidates = [argument]
    else:
        candidates = find_by_label(["CONTEXT", "context"])
        candidates += [d for d in cernvm_devices() if d not in candidates]
    return _from_volumes("context", read_context, candidates, settings)


SOURCES = {
    "ec2": from_ec2,
    "openstack": from_openstack,
    "nocloud": from_nocloud,
    "context": from_context,
    "file": from_file,
}


def plugin_sources():
    """Sources registered through the confrt_userdata_sources() hook (loaded only when needed)."""
    from confrt.engine.plugins import plugin_manager

    found = {}
    for result in reversed(plugin_manager().hook.confrt_userdata_sources()):
        found.update(result or {})
    return found


def fetch(settings, names=None):
    """Try the sources in order; the first one present wins."""
    names = names or settings.get("sources", DEFAULT_SOURCES)
    if not names:
        raise NoDatasourceError("userdata.sources is empty: no source to fetch userdata from")
    reasons = []
    for spec in names:
        name, _, argument = str(spec).partition(":")
        function = SOURCES.get(name) or plugin_sources().get(name)
        if function is None:
            raise UserdataError(f"userdata.sources: unknown source {name!r} (known: {', '.join(SOURCES)})")
        try:
            return function(settings, argument or None)
        except SourceAbsent as exc:
            reasons.append(f"{spec}: {exc}")
    raise NoDatasourceError("no userdata source answered (" + "; ".join(reasons) + ")")
