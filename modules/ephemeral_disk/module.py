"""The instance's ephemeral disks: found, made into one file system (RAID0 when several), mounted.

Disks are found when the catalog is compiled (read-only: the facts, /sys,
/proc, /dev/disk/by-label): EC2's block-device-mapping ephemeralN, NVMe
instance storage by model, OpenStack's `ephemeral0` label, or an explicit
list. A disk that holds `/`, is mounted elsewhere, is swap or is used by
another device (LVM, another RAID) is never taken. A file system is only made
on a disk without any signature (the filesystem type's blkid -p guard), so a
disk holding data is left alone and the run says so.

The result is published as the module fact `ephemeral_disk` ({mountpoint,
devices, size_bytes}, FACTS below): every module of the catalog sees it,
whatever the order of `classes` (condor puts EXECUTE on it, cvmfs sizes its
cache from it). It is only computed when some module reads it.
"""
import os
import re

from confrt.engine.module import (DEFAULT_CACHE_MAX_MB, DEFAULT_CACHE_PERCENT, CompileError, Param,
                                  cache_budget)

DOC = "Ephemeral (instance store) disks: one file system or a RAID0, mounted at /scratch"

PARAMS = [
    Param("devices", list, [], "explicit disks (paths); when given, nothing is discovered"),
    Param("block_device_mapping", dict, {}, "EC2 metadata block-device-mapping (name -> device), from userdata"),
    Param("nvme_model", str, "Amazon EC2 NVMe Instance Storage", "model of NVMe instance-store disks"),
    Param("openstack_label", str, "ephemeral0", "file system label of OpenStack's ephemeral disk"),
    Param("fstype", str, "ext4", "file system to make", choices=("ext4", "xfs")),
    Param("label", str, "ephemeral", "label of the file system (mounted by it)"),
    Param("mkfs_options", list, [], "extra mkfs arguments"),
    Param("mountpoint", str, "/scratch", "where it is mounted"),
    Param("options", (str, list), "noatime,nofail", "mount options"),
    Param("raid_device", str, "/dev/md/ephemeral", "the RAID0 made from several disks"),
    Param("directories", dict, {}, "directories made on it: relative path -> {mode, owner, group} or null"),
    Param("swap", (bool, int, str), False, "a swap file on it: true (2048 MB) or a size in MB"),
    Param("relocate_paths", list, [], "paths moved onto the disk and linked back (amiconfig relocate-paths)"),
    Param("libexec_dir", str, "/usr/libexec/confrt", "where the RAID helper script is installed"),
    Param("cache_percent", int, DEFAULT_CACHE_PERCENT, "the share of the disk kept for caches (the CVMFS "
          "cache) when jobs share it: the fact's cache_mb; the rest, jobs_mb, is for jobs (condor's "
          "RESERVED_DISK is cache_mb)"),
    Param("cache_max_mb", int, DEFAULT_CACHE_MAX_MB, "the most the caches get, whatever the disk's size"),
]

DEFAULT_SWAP_MB = 2048
MIB = 1024 * 1024
RAID_SCRIPT = "confrt-ephemeral-raid"
FACT = "ephemeral_disk"
UNUSED_FACT = "ephemeral_disk_unused"


def declare(params, facts, ctx):
    check_params(params, ctx)
    # Through this module's facts, not /dev and /sys directly: the disks are probed once per run,
    # and other modules (condor, cvmfs, squid) see the same answer.
    for device, reason in facts.get(UNUSED_FACT) or []:
        ctx.warn(f"{device}: not used ({reason})")
    disk = facts.get(FACT)
    devices = [str(device) for device in disk.get("devices") or []] if isinstance(disk, dict) else []
    if not devices:
        return []
    resources, device = [], devices[0]
    if len(devices) > 1:
        device = params["raid_device"]
        script = os.path.join(params["libexec_dir"], RAID_SCRIPT)
        resources += [
            ctx.resource("package", "mdadm"),
            *ctx.directories(params["libexec_dir"]),
            ctx.resource("file", script, source=f"{ctx.name}/{RAID_SCRIPT}", mode="0755"),
            ctx.resource("exec", "ephemeral RAID0", command=[script, device] + devices,
                         unless=["test", "-b", device], require=["package[mdadm]", f"file[{script}]"]),
        ]
    mountpoint = params["mountpoint"]
    fs_ref = f"filesystem[{device}]"
    resources += [
        ctx.resource("filesystem", device, fstype=params["fstype"], label=params["label"],
                     mkfs_options=params["mkfs_options"],
                     require="exec[ephemeral RAID0]" if len(devices) > 1 else None),
        ctx.resource("directory", mountpoint, require=fs_ref),  # nothing changes for a disk left alone
        ctx.resource("mount", mountpoint, device=f"LABEL={params['label']}", fstype=params["fstype"],
                     options=params["options"], require=fs_ref),
    ]
    mounted = f"mount[{mountpoint}]"
    for name, attrs in sorted(params["directories"].items()):
        resources.append(ctx.resource("directory", os.path.join(mountpoint, name), attrs=dict(attrs or {}),
                                      require=mounted))
    return resources + swap_resources(params, ctx, mounted) + relocate_resources(params, ctx, mounted)


def check_params(params, ctx):
    limit = 12 if params["fstype"] == "xfs" else 16
    if not params["label"] or len(params["label"]) > limit or any(c.isspace() for c in params["label"]):
        raise CompileError(f"{ctx.origin('label')}: ephemeral_disk::label: {params['label']!r}: a {params['fstype']} "
                           f"label is 1 to {limit} characters without blanks")
    for key in ("mountpoint", "raid_device"):
        if not params[key].startswith("/") or os.path.normpath(params[key]) in ("/", "/dev"):
            raise CompileError(f"{ctx.origin(key)}: ephemeral_disk::{key}: {params[key]!r}: expected an "
                               f"absolute path below /")
    for name, attrs in params["directories"].items():
        if not isinstance(name, str) or name.startswith("/") or ".." in name.split("/") or not name.strip("/"):
            raise CompileError(f"{ctx.origin('directories')}: ephemeral_disk::directories: {name!r}: expected "
                               f"a path relative to the mount point")
        if attrs is not None and (not isinstance(attrs, dict) or set(attrs) - {"mode", "owner", "group"}):
            raise CompileError(f"{ctx.origin('directories')}: ephemeral_disk::directories: {name}: expected "
                               f"null or a mapping of mode, owner, group")
    for path in params["relocate_paths"]:
        if not isinstance(path, str) or not path.startswith("/") or os.path.normpath(path) in ("/", params["mountpoint"]):
            raise CompileError(f"{ctx.origin('relocate_paths')}: ephemeral_disk::relocate_paths: {path!r}: "
                               f"expected an absolute path")
    swap_size(params, ctx)
    if not 0 <= params["cache_percent"] <= 90:
        raise CompileError(f"{ctx.origin('cache_percent')}: ephemeral_disk::cache_percent: expected 0 to 90, got "
                           f"{params['cache_percent']!r}")
    if params["cache_max_mb"] < 0:
        raise CompileError(f"{ctx.origin('cache_max_mb')}: ephemeral_disk::cache_max_mb: expected a size in MB "
                           f">= 0, got {params['cache_max_mb']!r}")


# -- finding the disks ------------------------------------------------------------------------

def find_disks(params, facts, root="/"):
    """([device path], [(device, reason it is not used)]) on the host whose files are under root."""
    host = Host(root)
    used, skipped, seen = [], [], set()
    for device in candidates(params, facts, host):
        real = host.realpath(device)
        if real in seen:
            continue
        seen.add(real)
        reason = in_use(real, params, facts, host)
        if reason:
            skipped.append((device, reason))
        else:
            used.append(real)
    return used, skipped


def candidates(params, facts, host):
    if params["devices"]:
        return [str(device) for device in params["devices"]]
    found = []
    mapping = params["block_device_mapping"]
    names = sorted((n for n in mapping if re.match(r"^ephemeral\d+$", str(n))), key=lambda n: int(n[9:]))
    for name in names:
        device = ec2_device(str(mapping[name]), host)
        if device:
            found.append(device)
    for name, disk in sorted((facts.get("disks") or {}).items()):
        if isinstance(disk, dict) and str(disk.get("model", "")).strip() == params["nvme_model"]:
            found.append("/dev/" + name)
    labelled = f"/dev/disk/by-label/{params['openstack_label']}"
    if host.exists(labelled):
        found.append(labelled)
    return found


def ec2_device(name, host):
    """'sdb' -> /dev/sdb, or /dev/xvdb where Xen renamed it (the first that exists)."""
    base = name[len("/dev/"):] if name.startswith("/dev/") else name
    choices = [base]
    if base.startswith("sd"):
        choices.append("xvd" + base[2:])
    elif base.startswith("xvd"):
        choices.append("sd" + base[3:])
    for choice in choices:
        if host.exists("/dev/" + choice):
            return "/dev/" + choice
    return None


def in_use(device, params, facts, host):
    """Why `device` must not be taken, or None."""
    if not host.exists(device):
        return "no such device"
    name = os.path.basename(device)
    ours = {os.path.basename(host.realpath(params["raid_device"]))}
    parts = host.partitions(name)
    holders = sorted(set(host.listdir(f"/sys/class/block/{name}/holders")) - ours)
    if holders:
        return f"used by {', '.join(holders)}"
    names = {name} | set(parts)
    for path, entry in sorted((facts.get("mountpoints") or {}).items()):
        source = entry.get("device", "") if isinstance(entry, dict) else ""
        if source.startswith("/dev/") and os.path.basename(host.realpath(source)) in names:
            if path == "/":
                return "it holds /"
            if path != params["mountpoint"]:
                return f"mounted at {path}"
    if host.holds_root(names):
        return "it holds /"
    for line in (host.read("/proc/swaps") or "").splitlines()[1:]:
        fields = line.split()
        if fields and os.path.basename(fields[0]) in names:
            return "used as swap"
    return None


class Host:
    """Read-only views of /dev, /sys and /proc under `root` (tests give a fixture tree)."""

    def __init__(self, root="/"):
        self.root = root.rstrip("/")

    def path(self, path):
        return self.root + path

    def exists(self, path):
        return os.path.exists(self.path(path))

    def realpath(self, path):
        real = os.path.realpath(self.path(path))
        return real[len(self.root):] if self.root and real.startswith(self.root + "/") else real

    def listdir(self, path):
        try:
            return os.listdir(self.path(path))
        except OSError:
            return []

    def read(self, path):
        try:
            with open(self.path(path)) as handle:
                return handle.read()
        except OSError:
            return None

    def partitions(self, name):
        return [p for p in self.listdir(f"/sys/class/block/{name}") if self.exists(f"/sys/class/block/{name}/{p}/partition")]

    def holds_root(self, names):
        """True when / lives on one of these block devices (compared by device number)."""
        if self.root:
            return False
        root_dev = os.stat("/").st_dev
        wanted = f"{os.major(root_dev)}:{os.minor(root_dev)}"
        return any((self.read(f"/sys/class/block/{name}/dev") or "").strip() == wanted for name in names)

    def size_bytes(self, device):
        name = os.path.basename(device)
        sectors = (self.read(f"/sys/class/block/{name}/size") or "").strip()
        if sectors.isdigit():
            return int(sectors) * 512
        try:
            return os.path.getsize(self.path(device))
        except OSError:
            return 0


def disk_fact(facts, params, root="/"):
    """The `ephemeral_disk` fact: {mountpoint, devices, size_bytes, cache_mb, jobs_mb}, or None without
    a usable disk. cache_mb and jobs_mb are the disk's budget (cache_budget())."""
    devices, _ = find_disks(params, facts, root)
    if not devices:
        return None
    host = Host(root)
    size = sum(host.size_bytes(device) for device in devices)
    cache_mb = cache_budget(size // MIB, params["cache_percent"], params["cache_max_mb"])
    return {"mountpoint": params["mountpoint"], "devices": devices, "size_bytes": size,
            "cache_mb": cache_mb, "jobs_mb": size // MIB - cache_mb}


def unused_fact(facts, params, root="/"):
    """The `ephemeral_disk_unused` fact: [[device, why it is left alone], ...] (the run's warnings)."""
    return [[device, reason] for device, reason in find_disks(params, facts, root)[1]]


FACTS = {FACT: disk_fact, UNUSED_FACT: unused_fact}


# -- swap and relocated paths ---------------------------------------------------------------

def swap_size(params, ctx):
    """Swap file size in MB, or None."""
    swap = params["swap"]
    if swap is False or swap is None:
        return None
    if swap is True:
        return DEFAULT_SWAP_MB
    if isinstance(swap, str) and swap.strip().isdigit():
        swap = int(swap)
    if isinstance(swap, int) and swap > 0:
        return swap
    raise CompileError(f"{ctx.origin('swap')}: ephemeral_disk::swap: expected true, false or a size in MB, "
                       f"got {params['swap']!r}")


def swap_resources(params, ctx, mounted):
    size = swap_size(params, ctx)
    if size is None:
        return []
    path = os.path.join(params["mountpoint"], "swapfile")
    make = 'fallocate -l "$2"M "$1" 2>/dev/null || dd if=/dev/zero of="$1" bs=1M count="$2"; ' \
           'chmod 600 "$1" && mkswap "$1"'
    return [
        ctx.resource("exec", "ephemeral swap file", command=["sh", "-c", make, "sh", path, str(size)],
                     creates=path, require=mounted),
        ctx.resource("exec", "swapon ephemeral swap file", command=["swapon", path],
                     unless=["sh", "-c", 'grep -q "^$1 " /proc/swaps', "sh", path],
                     require="exec[ephemeral swap file]"),
    ]


def relocate_resources(params, ctx, mounted):
    """Each path moved onto the disk (its content copied) and replaced by a link to it."""
    move = 'mkdir -p "$2" && if [ -d "$1" ]; then cp -a "$1"/. "$2"/ && mv "$1" "$1.confrt-moved" && ln -s "$2" "$1" && ' \
           'rm -rf "$1.confrt-moved"; else ln -s "$2" "$1"; fi'
    resources = []
    for path in params["relocate_paths"]:
        path = os.path.normpath(path)
        target = os.path.normpath(params["mountpoint"] + path)
        resources.append(ctx.resource("exec", f"relocate {path}", command=["sh", "-c", move, "sh", path, target],
                                      unless=["test", "-L", path], require=mounted))
    return resources
