"""glideinWMS VM pilot userdata (gwms-cloud-vms).

Shapes, fields separated by `####` (a separator only when found after index 0):

    base64(ini)####extra args[####...]####base64(gzip(proxy))   proxy is the last field
    base64(ini)####extra args                                    no proxy
    base64(tar.gz)####extra args                                 tarball holds glidein_userdata
                                                                 (the ini) and the proxy file
    [glidein_startup] ... plain ini, no ####                     debug mode: only disable_shutdown

Data keys: glidein::args (ini args + extra args, backslashes removed, kept as one
shell-quoted string: the old pilot split on whitespace), glidein::webbase,
glidein::proxy_file (the proxy written 0600 under <statedir>/glidein/, never
logged), lifetime::max_lifetime (seconds; without one in the ini 172800, the old
service ini's default_max_lifetime), lifetime::disable_shutdown; classes
[glidein, lifetime] ([lifetime] in debug mode).

Debug mode as the old pilot-launcher ran it: no pilot (no webbase is read), then,
unless disable_shutdown is true, the ten-minute wait and the shutdown. Here: with
disable_shutdown = True the VM stays up; otherwise it ends DEBUG_LIFETIME seconds
after boot (lifetime::max_lifetime, lifetime::shutdown_delay 0). A plain ini
without disable_shutdown was "Invalid ini file" and, failing closed, the same
shutdown: here the same end, with a warning naming the problem.
"""
import io
import os
import re
import shlex
import tarfile

from confrt.errors import UserdataError
from confrt.userdata.decoded import Decoded, WriteFile
from confrt.userdata.decoding import GZIP_MAGIC, as_text, b64decode, gunzip, parse_bool, parse_int
from confrt.userdata.ini import parse_ini

SEPARATOR = "####"
GLIDEIN_SECTIONS = ("glidein_startup", "vm_properties")
INI_MEMBER = "glidein_userdata"
DEFAULT_PROXY_NAME = "pilot_proxy"
#: the old service ini's default_max_lifetime (/etc/glideinwms/glidein-pilot.ini): 48 hours
DEFAULT_MAX_LIFETIME = 172800
#: debug mode without disable_shutdown: the old launcher's wait before the shutdown (no pilot ran)
DEBUG_LIFETIME = 600


def looks_like_glidein(text):
    """Delimited userdata: `####` after index 0 and a base64-looking first field."""
    index = text.find(SEPARATOR)
    if index <= 0:
        return False
    head = "".join(text[:index].split())
    return bool(head) and all(c.isalnum() or c in "+/=" for c in head)


def is_glidein_ini(sections):
    return any(name in sections for name in GLIDEIN_SECTIONS)


def _tar_members(blob, context, what):
    """{basename: bytes} of the regular files of a tar.gz."""
    tar_bytes = gunzip(blob, context.max_size, what)
    members = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    members[os.path.basename(member.name)] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UserdataError(f"{what}: broken tarball ({exc})") from None
    return members


def _proxy_name(sections, what):
    name = sections.get("glidein_startup", {}).get("proxy_file_name", "").strip() or DEFAULT_PROXY_NAME
    if "/" in name or name in (".", ".."):
        raise UserdataError(f"{what}: [glidein_startup] proxy_file_name: must be a plain file name")
    return name


def parse_delimited(text, context, what):
    fields = text.strip().split(SEPARATOR)
    blob = b64decode(fields[0], f"{what}: glideinWMS field 1")
    proxy = None
    extra = fields[1:]
    if blob.startswith(GZIP_MAGIC):
        members = _tar_members(blob, context, what)
        if INI_MEMBER not in members:
            raise UserdataError(f"{what}: tarball has no {INI_MEMBER} file")
        sections = _sections(as_text(members.pop(INI_MEMBER), what), what)
        proxy = members.get(_proxy_name(sections, what))
        if proxy is None and len(members) == 1:
            proxy = next(iter(members.values()))
    else:
        sections = _sections(as_text(blob, what), what)
        if len(fields) >= 3:
            proxy_field = b64decode(fields[-1], f"{what}: glideinWMS proxy field")
            proxy = gunzip(proxy_field, context.max_size, f"{what}: glideinWMS proxy field")
            extra = fields[1:-1]
    return glidein_decoded(sections, extra, proxy, context, what)


def _sections(text, what):
    sections = parse_ini(text, what)
    if not is_glidein_ini(sections):
        raise UserdataError(f"{what}: glideinWMS ini has neither [glidein_startup] nor [vm_properties]")
    return sections


def glidein_decoded(sections, extra_fields, proxy, context, what):
    startup = sections.get("glidein_startup", {})
    vm = sections.get("vm_properties", {})
    data = {"classes": ["glidein", "lifetime"]}
    extra = " ".join(f.replace("\\", "").strip() for f in extra_fields if f.strip())
    args = " ".join(part for part in (startup.get("args", "").strip(), extra) if part)
    try:
        shlex.split(args)
    except ValueError as exc:
        raise UserdataError(f"{what}: glidein args: {exc}") from None
    data["glidein::args"] = args
    if startup.get("webbase"):
        data["glidein::webbase"] = startup["webbase"]
    data["lifetime::max_lifetime"] = (parse_int(vm["max_lifetime"], f"{what}: [vm_properties] max_lifetime")
                                      if "max_lifetime" in vm else DEFAULT_MAX_LIFETIME)
    _disable_shutdown(vm, data, what)
    decoded = Decoded(data)
    if proxy is not None:
        path = os.path.join(context.statedir, "glidein", _proxy_name(sections, what))
        decoded.data["glidein::proxy_file"] = path
        decoded.files.append(WriteFile(path, proxy, mode=0o600, sensitive=True))
    return decoded


def _disable_shutdown(vm, data, what):
    """[vm_properties] disable_shutdown -> lifetime::disable_shutdown (both shapes read it)."""
    if "disable_shutdown" in vm:
        data["lifetime::disable_shutdown"] = parse_bool(vm["disable_shutdown"],
                                                        f"{what}: [vm_properties] disable_shutdown")


def debug_decoded(sections, what):
    """A plain glidein ini: debug mode, where only disable_shutdown matters; without it true the VM
    ends DEBUG_LIFETIME seconds after boot, as the old pilot's did (module docstring)."""
    data = {"classes": ["lifetime"]}
    _disable_shutdown(sections.get("vm_properties", {}), data, what)
    if not data.get("lifetime::disable_shutdown"):
        data.update({"lifetime::disable_shutdown": False, "lifetime::max_lifetime": DEBUG_LIFETIME,
                     "lifetime::shutdown_delay": 0})
    decoded = Decoded(data)
    if data["lifetime::disable_shutdown"]:
        decoded.warnings.append(f"{what}: glideinWMS debug mode (plain ini): only disable_shutdown is used; "
                                f"the VM stays up")
        return decoded
    end = (f"the VM ends {DEBUG_LIFETIME} s after boot, as the old pilot's did (disable_shutdown = True keeps "
           f"it up)")
    if "disable_shutdown" in sections.get("vm_properties", {}):
        decoded.warnings.append(f"{what}: glideinWMS debug mode (plain ini): no pilot runs; {end}")
    else:
        decoded.warnings.append(f"{what}: a plain glideinWMS ini without [vm_properties] disable_shutdown (the "
                                f"old pilot: 'Invalid ini file', then its shutdown): no pilot runs; {end}")
    return decoded


#: a base64 blob alone (line-wrapped or not), long enough to hold an ini
_BASE64_ONLY = re.compile(rb"^[A-Za-z0-9+/=\s]{16,}$")


def without_separator(raw):
    """The problem, when raw is glideinWMS userdata whose `####` separator is missing (a common
    mistake: base64(ini) or base64(tar.gz) alone); else None. The old pilot took it for a plain ini
    and failed on it; YAML would read it as one string. Also `####...` with nothing before it:
    YAML would read it as a comment, and local_data would be the metadata alone."""
    if raw.lstrip().startswith(SEPARATOR.encode()) and all(
            not line.strip() or line.lstrip().startswith(b"#") for line in raw.splitlines()):
        return (f"glideinWMS userdata whose first field (base64 of the ini or of the tarball) is empty: "
                f"expected base64(ini){SEPARATOR}extra args[{SEPARATOR}base64(gzip(proxy))]")
    if len(raw) > 1 << 20 or not _BASE64_ONLY.match(raw.strip()):
        return None
    try:
        blob = b64decode(raw, "userdata")
        if blob.startswith(GZIP_MAGIC):
            members = _tar_members(blob, _Limits(), "userdata")
            return (f"a base64 glideinWMS tarball ({INI_MEMBER} inside) without the `{SEPARATOR}` separator: "
                    f"expected base64(tar.gz){SEPARATOR}extra args") if INI_MEMBER in members else None
        sections = parse_ini(blob.decode("utf-8"), "userdata")
    except (UserdataError, UnicodeDecodeError):
        return None
    if not is_glidein_ini(sections):
        return None
    return (f"a base64-encoded glideinWMS ini without the `{SEPARATOR}` separator: expected "
            f"base64(ini){SEPARATOR}extra args[{SEPARATOR}base64(gzip(proxy))], or the plain ini (debug mode)")


class _Limits:
    """The size limit _tar_members needs, for a probe of at most 1 MiB of userdata."""
    max_size = 16 << 20
