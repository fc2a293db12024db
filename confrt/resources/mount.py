"""mount: a file system in /etc/fstab (its own marked line) and its mounted state.

confrt's line for a mount point follows the comment '# managed by confrt:
mount[<path>]'; every other line of the file is left as it is. A line someone
else wrote for the same mount point is a conflict, reported and left alone.
ensure: mounted (line + mounted), unmounted (line, not mounted), present (line
only), absent (no line, not mounted). Changed options of a mounted file system
are applied with a remount; a changed device with umount + mount.
"""
import os

from confrt.resources._posix import absolute_path, enclosing_mount
from confrt.resources._system import (
    content_change, join_lines, make_folder, plan_text, read_planned, run_checked, split_lines, write_text,
)
from confrt.resources.base import Change, Param, Provider, ResourceFailed, ResourceType, format_ref

MARK = "# managed by confrt: mount[{}]"
LABEL_PREFIXES = ("LABEL=", "/dev/disk/by-label/")  # a device named by its file system's label


def fstab_escape(value):
    return value.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")


def fstab_unescape(value):
    return value.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def fstab_entry(resource):
    options = resource["options"]
    return "\t".join([fstab_escape(resource["device"]), fstab_escape(resource["path"]), resource["fstype"],
                      options, str(resource["dump"]), str(resource["pass"])])


def edit_fstab(text, resource):
    """(new text, the previous entry of ours or None); ResourceFailed on someone else's line."""
    path = resource["path"]
    mark = MARK.format(path)
    lines = split_lines(text)
    previous = None
    kept = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == mark:
            if index + 1 < len(lines) and not lines[index + 1].lstrip().startswith("#"):
                previous = lines[index + 1]
                index += 1
            index += 1
            continue
        fields = line.split()
        if fields and not fields[0].startswith("#") and len(fields) > 1 and \
                os.path.normpath(fstab_unescape(fields[1])) == path:
            raise ResourceFailed(f"{resource['fstab']} line {index + 1} already mounts {path} "
                                 "(not confrt's line: remove it or stop managing this mount)")
        kept.append(line)
        index += 1
    if resource["ensure"] != "absent":
        kept += [mark, fstab_entry(resource)]
    return join_lines(kept), previous


def mounted(path):
    """(source, fstype) of what is mounted on path (the top mount), or None."""
    found = None
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            separator = fields.index("-")
            if fstab_unescape(fields[4]) == path:
                found = (fstab_unescape(fields[separator + 2]), fields[separator + 1])
    return found


class FstabProvider(Provider):
    name = "fstab"

    def device_path(self):
        """The wanted device as a path (LABEL=/UUID= resolved by blkid), or None when that cannot be
        told (not found, or a network/pseudo source like 'server:/export' or a CVMFS repository)."""
        device = self.resource["device"]
        if device.startswith("/"):
            return os.path.realpath(device)
        if device.split("=", 1)[0] not in ("LABEL", "UUID", "PARTLABEL", "PARTUUID"):
            return None
        result = self.ctx.run(["blkid", "-l", "-o", "device", "-t", device])
        return os.path.realpath(result.stdout.strip()) if result.ok and result.stdout.strip() else None

    def plan(self):
        wanted = self.resource
        old = read_planned(self.ctx, wanted["fstab"])
        new, previous = edit_fstab(old, wanted)
        changes = [] if new == (old or "") else [content_change(wanted["fstab"], old, new, shared=True)]
        if changes:
            plan_text(self.ctx, wanted["fstab"], new)
        current = mounted(wanted["path"])
        if wanted["ensure"] in ("unmounted", "absent"):
            if current:
                changes.append(Change("ensure", "mounted", wanted["ensure"]))
            return changes, new
        if wanted["ensure"] != "mounted":
            return changes, new
        if current is None:
            changes.append(Change("ensure", "unmounted", "mounted"))
        elif self.device_path() not in (None, os.path.realpath(current[0])):
            changes.append(Change("device", current[0], wanted["device"]))
        elif previous is not None and previous.split()[3:4] != [wanted["options"]]:
            changes.append(Change("options", previous.split()[3], wanted["options"]))
        return changes, new

    def changes(self):
        return self.plan()[0]

    def apply(self, changes):
        wanted, path = self.resource, self.resource["path"]
        changes, new = self.plan()
        properties = {change.property for change in changes}
        if "content" in properties:
            write_text(wanted["fstab"], new)
        if "device" in properties or ("ensure" in properties and wanted["ensure"] != "mounted"):
            run_checked(self.ctx, ["umount", path])
        if "options" in properties:
            run_checked(self.ctx, ["mount", "-o", f"remount,{wanted['options']}", path])
        if wanted["ensure"] == "mounted" and properties & {"ensure", "device"}:
            make_folder(path)
            run_checked(self.ctx, ["mount", "-t", wanted["fstype"], "-o", wanted["options"],
                                   wanted["device"], path])


def _options(value):
    if isinstance(value, list):
        value = ",".join(str(option) for option in value)
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"expected mount options like 'noatime,nofail', got {value!r}")
    return value


class MountType(ResourceType):
    name = "mount"
    namevar = "path"
    params = [
        Param("path", str, check=absolute_path, doc="the mount point (the title)"),
        Param("device", str, required=True, doc="what to mount: /dev/..., LABEL=..., UUID=..."),
        Param("fstype", str, "auto", doc="file system type"),
        Param("options", (str, list), "defaults", check=_options, doc="mount options, e.g. noatime,nofail"),
        Param("dump", int, 0, doc="fstab dump field"),
        Param("pass", int, 0, doc="fstab fsck order (0: no check, 2: after /)"),
        Param("ensure", str, "mounted", choices=("mounted", "unmounted", "present", "absent"),
              doc="mounted, unmounted (in fstab only), present (fstab, mount state unmanaged), absent"),
        Param("fstab", str, "/etc/fstab", check=absolute_path, doc="the fstab file"),
    ]
    providers = [FstabProvider]

    @classmethod
    def validate(cls, attrs):
        if attrs.get("fstype") and any(c.isspace() for c in attrs["fstype"]):
            raise ValueError("fstype: must be one word")

    @classmethod
    def autorequires(cls, resource):
        """Its mount point directory, the mount above it, and the filesystem of its device
        (by path, LABEL=x or /dev/disk/by-label/x)."""
        refs = [format_ref("directory", resource["path"]), enclosing_mount(resource["path"])]
        device = resource["device"]
        label = next((device[len(prefix):] for prefix in LABEL_PREFIXES if device.startswith(prefix)), None)
        if label:
            refs.append(lambda other: other.type == "filesystem" and other.get("label") == label)
        elif device.startswith("/"):
            refs.append(format_ref("filesystem", device))
        return refs

    @classmethod
    def creates(cls, resource):
        return [resource["path"]] if resource["ensure"] == "mounted" else []  # made when it mounts


TYPE = MountType
