"""filesystem: a file system on a device, made only when the device carries no signature.

`blkid -p DEVICE` (a low-level probe, no cache) exits 2 when it finds no
signature at all: only then is mkfs run. A device holding another file system,
a partition table or a RAID member is never formatted unless `force: true`; the
run reports that as a failure instead. A wrong label on the right file system
is fixed in place (e2label, xfs_admin, btrfs, fatlabel).
"""
import os

from confrt.resources._posix import absolute_path
from confrt.resources._system import run_checked
from confrt.resources.base import Change, Param, Provider, ResourceFailed, ResourceType

FSTYPES = ("ext2", "ext3", "ext4", "xfs", "btrfs", "vfat")
LABEL_FLAG = {"vfat": "-n"}
FORCE_FLAG = {"ext2": "-F", "ext3": "-F", "ext4": "-F", "xfs": "-f", "btrfs": "-f"}
QUIET_FLAG = {"ext2": "-q", "ext3": "-q", "ext4": "-q", "xfs": "-q", "btrfs": "-q"}


def parse_blkid_export(text):
    """`blkid -p -o export` output -> {'TYPE': 'ext4', 'LABEL': ...}."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def describe_signature(probe):
    """What blkid found, in words: 'a ext4 signature', 'a gpt partition table'."""
    if probe.get("TYPE"):
        return f"a {probe['TYPE']} signature"
    if probe.get("PTTYPE"):
        return f"a {probe['PTTYPE']} partition table"
    return "a signature"


def mkfs_argv(resource):
    fstype, device = resource["fstype"], resource["device"]
    argv = [f"mkfs.{fstype}"]
    if fstype in QUIET_FLAG:
        argv.append(QUIET_FLAG[fstype])
    if resource.get("label"):
        argv += [LABEL_FLAG.get(fstype, "-L"), resource["label"]]
    if resource["force"] and fstype in FORCE_FLAG:
        argv.append(FORCE_FLAG[fstype])
    return argv + list(resource.get("mkfs_options") or []) + [device]


def relabel_argv(fstype, device, label):
    if fstype.startswith("ext"):
        return ["e2label", device, label]
    if fstype == "xfs":
        return ["xfs_admin", "-L", label, device]
    if fstype == "btrfs":
        return ["btrfs", "filesystem", "label", device, label]
    return ["fatlabel", device, label]


class BlkidProvider(Provider):
    name = "blkid"

    def probe(self):
        """{} when the device has no signature, else blkid's findings."""
        device = self.resource["device"]
        if not os.path.exists(device):
            raise ResourceFailed(f"{device} does not exist")
        result = self.ctx.run(["blkid", "-p", "-o", "export", device])
        if result.returncode == 2:
            return {}
        if result.returncode != 0:
            raise ResourceFailed(result.describe())
        return parse_blkid_export(result.stdout)

    def changes(self):
        wanted, device = self.resource, self.resource["device"]
        probe = self.probe()
        if not probe:
            return [Change("fstype", None, wanted["fstype"], message=f"make a {wanted['fstype']} file system")]
        if probe.get("TYPE") != wanted["fstype"]:
            if not wanted["force"]:
                raise ResourceFailed(f"{device} holds {describe_signature(probe)}, not {wanted['fstype']}: "
                                     "not formatting it (force: true would)")
            return [Change("fstype", probe.get("TYPE") or probe.get("PTTYPE"), wanted["fstype"],
                           message=f"reformat as {wanted['fstype']} (force)")]
        label = wanted.get("label")
        if label is not None and probe.get("LABEL", "") != label:
            return [Change("label", probe.get("LABEL", ""), label)]
        return []

    def apply(self, changes):
        properties = {change.property for change in changes}
        if "fstype" in properties:
            run_checked(self.ctx, mkfs_argv(self.resource))
        elif "label" in properties:
            run_checked(self.ctx, relabel_argv(self.resource["fstype"], self.resource["device"],
                                               self.resource["label"]))


def _label(value):
    if not value or "\n" in value or len(value) > 16:
        raise ValueError(f"expected a label of 1 to 16 characters, got {value!r}")
    return value


class FilesystemType(ResourceType):
    name = "filesystem"
    namevar = "device"
    params = [
        Param("device", str, check=absolute_path, doc="block device or image file (the title)"),
        Param("fstype", str, "ext4", choices=FSTYPES, doc="file system type"),
        Param("label", str, None, check=_label, doc="file system label (mount it as LABEL=...)"),
        Param("mkfs_options", list, [], doc="extra mkfs arguments, e.g. ['-m', '0']"),
        Param("force", bool, False, doc="format even when the device already holds something else"),
    ]
    providers = [BlkidProvider]


TYPE = FilesystemType
