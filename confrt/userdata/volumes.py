"""Finding and reading contextualization volumes (config drive, cidata, context ISO).

Volumes are found by filesystem label (blkid, cache bypassed) or from the
CernVM device list, mounted read-only (nosuid, nodev, noexec) in a private temp
dir and always unmounted. When the kernel cannot mount the filesystem (a
container without iso9660/vfat), the volume is read with user-space tools
instead (xorriso for ISO 9660, mtools for vfat) into a private temp dir.
A directory is used as it is (a NoCloud seed dir, an already mounted volume).
"""
import contextlib
import os
import shutil
import tempfile

from confrt.util.proc import run

# amiconfig probes these for a context ISO, in this order
CERNVM_DEVICES = ["/dev/sr0", "/dev/sr1"] + [
    f"/dev/{bus}d{letter}{part}" for bus in ("xv", "v", "h", "s") for letter in "cdb" for part in ("", "1")
]
CONTEXT_FSTYPES = ("iso9660", "vfat")
TIMEOUT = 30


class VolumeUnavailable(Exception):
    """The volume cannot be read (not root, no tool, not a filesystem)."""


def find_by_label(labels):
    """Devices carrying one of `labels`, in the order of `labels`."""
    devices = []
    for label in labels:
        result = run(["blkid", "-c", "/dev/null", "-o", "device", "-t", f"LABEL={label}"], timeout=TIMEOUT)
        if result.ok:
            devices.extend(d for d in result.stdout.split() if d not in devices)
    return devices


def fstype(device):
    result = run(["blkid", "-p", "-c", "/dev/null", "-o", "value", "-s", "TYPE", device], timeout=TIMEOUT)
    return result.stdout.strip() if result.ok else ""


def cernvm_devices():
    """The CernVM device list, restricted to existing ISO 9660 / vfat volumes."""
    return [d for d in CERNVM_DEVICES if os.path.exists(d) and fstype(d) in CONTEXT_FSTYPES]


def _extract(device, kind, target):
    if kind == "iso9660":
        argv = ["xorriso", "-osirrox", "on", "-indev", "stdio:" + device, "-extract", "/", target]
    elif kind == "vfat":
        argv = ["mcopy", "-s", "-n", "-i", device, "::/", target]
    else:
        raise VolumeUnavailable(f"{device}: cannot mount it and no user-space reader for {kind or 'it'}")
    result = run(argv, timeout=TIMEOUT)
    if not result.ok:
        raise VolumeUnavailable(f"{device}: {result.describe()}")


@contextlib.contextmanager
def opened_volume(device):
    """Yield a directory with the volume's files; clean up whatever happens."""
    if os.path.isdir(device):
        yield device
        return
    workdir = tempfile.mkdtemp(prefix="confrt-volume-")
    os.chmod(workdir, 0o700)
    mounted = False
    try:
        options = "ro,nosuid,nodev,noexec" + ("" if device.startswith("/dev/") else ",loop")
        mount = run(["mount", "-o", options, device, workdir], timeout=TIMEOUT)
        if mount.ok:
            mounted = True
        else:
            _extract(device, fstype(device), workdir)
        yield workdir
    finally:
        if mounted:
            umount = run(["umount", workdir], timeout=TIMEOUT)
            if not umount.ok:
                run(["umount", "-l", workdir], timeout=TIMEOUT)
        shutil.rmtree(workdir, ignore_errors=True)
