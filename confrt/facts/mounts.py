"""Mounted filesystems from /proc/self/mounts, as facter's `mountpoints` fact."""
import os
import re

from confrt.facts.units import usage

# Kernel pseudo filesystems facter leaves out: they hold no data worth a fact.
PSEUDO_FILESYSTEMS = frozenset((
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "efivarfs",
    "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "rpc_pipefs", "securityfs",
    "selinuxfs", "sysfs", "tracefs",
))


# Filesystems served over the network or by a user-space daemon: a hung server
# would hang statvfs() and with it the run, so their sizes are not read.
REMOTE_FILESYSTEMS = frozenset((
    "9p", "afs", "beegfs", "ceph", "cifs", "glusterfs", "gpfs", "lustre", "ncpfs", "nfs", "nfs4",
    "smb3", "smbfs", "sshfs",
))


def is_remote(filesystem):
    return filesystem in REMOTE_FILESYSTEMS or filesystem.split(".")[0] in ("fuse", "fuseblk")


def parse_mounts(text):
    """[(device, path, filesystem, [options])] from fstab-format text (octal escapes decoded)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or line.lstrip().startswith("#"):
            continue
        device, path, filesystem, options = (_unescape(field) for field in fields[:4])
        entries.append((device, path, filesystem, options.split(",")))
    return entries


def mountpoints(host):
    """path -> device, filesystem, options, size/available/used (bytes and human), capacity.

    When a path is mounted over, the last mount (the visible one) wins. Remote
    and FUSE filesystems (NFS, CVMFS ...) get no sizes: see REMOTE_FILESYSTEMS.
    """
    text = host.read_text("/proc/self/mounts") or host.read_text("/proc/mounts")
    if text is None:
        return None
    result = {}
    for device, path, filesystem, options in parse_mounts(text):
        if filesystem in PSEUDO_FILESYSTEMS:
            continue
        entry = {"device": device, "filesystem": filesystem, "options": options}
        if not is_remote(filesystem):
            entry.update(_space(host.path(path)))
        result[path] = entry
    return dict(sorted(result.items()))


def _space(path):
    try:
        stat = os.statvfs(path)
    except OSError:
        return {}
    return usage(stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize,
                 (stat.f_blocks - stat.f_bfree) * stat.f_frsize, total_name="size")


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)
