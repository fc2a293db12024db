"""The `os` fact from /etc/os-release, with facter's names and release rules.

Facter-compatible details: os.name is facter's spelling (RedHat, Rocky,
AlmaLinux, Debian, Ubuntu, SLES ...); on Debian the release comes from
/etc/debian_version ("12.11", as facter reports it) when that file holds a
number; on Ubuntu major is the whole "22.04" and there is no minor.
"""
import os

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")

# os-release ID -> facter's os.name
NAMES = {
    "almalinux": "AlmaLinux", "amzn": "Amazon", "arch": "Archlinux", "alpine": "Alpine",
    "centos": "CentOS", "cloudlinux": "CloudLinux", "debian": "Debian", "devuan": "Devuan",
    "fedora": "Fedora", "gentoo": "Gentoo", "linuxmint": "LinuxMint", "ol": "OracleLinux",
    "opensuse": "OpenSuSE", "opensuse-leap": "OpenSuSE", "opensuse-tumbleweed": "OpenSuSE",
    "raspbian": "Raspbian", "rhel": "RedHat", "rocky": "Rocky", "scientific": "Scientific",
    "sled": "SLED", "sles": "SLES", "ubuntu": "Ubuntu", "virtuozzo": "VirtuozzoLinux",
}

# family -> os-release IDs (the ID itself or one in ID_LIKE)
FAMILIES = {
    "RedHat": ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "scientific",
               "cloudlinux", "virtuozzo"),
    "Debian": ("debian", "ubuntu", "linuxmint", "raspbian", "devuan"),
    "Suse": ("suse", "sles", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed"),
    "Archlinux": ("arch",),
    "Gentoo": ("gentoo",),
}

# uname machine -> the package architecture Debian-family systems report
DEBIAN_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "i586": "i386",
                        "armv7l": "armhf", "ppc64le": "ppc64el"}


def parse_os_release(text):
    """Parse os-release(5) text: KEY=value lines, shell quoting, # comments."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        values[key.strip()] = unquote(raw.strip())
    return values


def unquote(raw):
    """A shell word as os-release(5) allows it: "double" (backslash escapes \\, ", $, `), 'single', bare.

    An unbalanced quote keeps the rest of the line as written.
    """
    result, quote, index = [], None, 0
    while index < len(raw):
        char = raw[index]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                result.append(char)
        elif char == "\\" and index + 1 < len(raw) and (quote is None or raw[index + 1] in '\\"$`'):
            index += 1
            result.append(raw[index])
        elif char == '"':
            quote = None if quote == '"' else '"'
        elif char == "'" and quote is None:
            quote = "'"
        else:
            result.append(char)
        index += 1
    return "".join(result)


def os_name(release):
    os_id = release.get("ID", "").lower()
    if os_id in NAMES:
        return NAMES[os_id]
    if os_id:
        return os_id.capitalize()
    words = release.get("NAME", "").split()
    return words[0] if words else None


def os_family(release):
    ids = [release.get("ID", "").lower()] + release.get("ID_LIKE", "").lower().split()
    for candidate in ids:
        for family, members in FAMILIES.items():
            if candidate in members:
                return family
    return os_name(release)


def release_version(release, name, debian_version=None):
    """{full, major[, minor]} by facter's rules, or None when the system names no version."""
    full = release.get("VERSION_ID")
    if name == "Debian" and debian_version and debian_version.strip()[:1].isdigit():
        full = debian_version.strip()
    if not full:
        return None
    if name == "Ubuntu":
        return {"full": full, "major": full}
    parts = full.split(".")
    version = {"full": full, "major": parts[0]}
    if len(parts) > 1:
        version["minor"] = parts[1]
    return version


def os_fact(host):
    text = None
    for path in OS_RELEASE_PATHS:
        text = host.read_text(path)
        if text is not None:
            break
    if text is None:
        return None
    release = parse_os_release(text)
    name = os_name(release)
    family = os_family(release)
    version = release_version(release, name, host.read_text("/etc/debian_version"))
    hardware = os.uname().machine
    fact = {"name": name, "family": family}
    if version:
        fact["release"] = version
    distro = {"id": name, "codename": release.get("VERSION_CODENAME"),
              "description": release.get("PRETTY_NAME") or release.get("NAME"),
              "release": dict(version) if version else None}
    fact.update({
        "distro": {key: value for key, value in distro.items() if value is not None},
        "architecture": DEBIAN_ARCHITECTURES.get(hardware, hardware) if family == "Debian" else hardware,
        "hardware": hardware,
        "selinux": _selinux(host),
    })
    return fact


def _selinux(host):
    enforce = host.read_text("/sys/fs/selinux/enforce")
    if enforce is None:
        return {"enabled": False}
    return {"enabled": True, "enforced": enforce.strip() == "1"}
