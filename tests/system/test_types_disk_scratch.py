"""filesystem + mount in the scratch system: loop devices, mkfs once, fstab line, mounted state."""
import os
import shutil

import pytest

from scratch import change_lines

LABEL = "confrtprobe"


@pytest.fixture
def loop(scratch):
    """A function making a 64 MB loop device inside the scratch (detached by its teardown)."""
    for tool in ("losetup", "mkfs.ext4", "blkid", "findmnt"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")

    def make(name):
        scratch.run(["truncate", "-s", "64M", f"/var/tmp/{name}.img"], check=True)
        return scratch.run(["losetup", "-f", "--show", f"/var/tmp/{name}.img"], check=True).stdout.strip()

    return make


def _data(device, options=("noatime", "nofail"), ensure="mounted"):
    return {
        "classes": ["resources"],
        "resources::filesystem": {device: {"fstype": "ext4", "label": LABEL}},
        "resources::mount": {"/srv/data": {"device": f"LABEL={LABEL}", "fstype": "ext4", "ensure": ensure,
                                           "options": list(options), "pass": 2,
                                           "require": f"filesystem[{device}]"}},
    }


def _blkid(system, device, tag):
    return system.run(["blkid", "-p", "-s", tag, "-o", "value", device]).stdout.strip()


def test_filesystem_mount_and_fstab_line_once(scratch, loop):
    device = loop("data")
    scratch.sh("echo '# kept as it is' >> /etc/fstab")
    fstab_before = scratch.read_text("/etc/fstab")
    scratch.noop_then_apply(_data(device))

    assert (_blkid(scratch, device, "TYPE"), _blkid(scratch, device, "LABEL")) == ("ext4", LABEL)
    mounted = scratch.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "/srv/data"], check=True).stdout
    assert mounted.split()[:2] == [device, "ext4"] and "noatime" in mounted.split()[2]
    fstab = scratch.read_text("/etc/fstab")
    assert fstab.startswith(fstab_before)
    assert fstab[len(fstab_before):] == (f"# managed by confrt: mount[/srv/data]\n"
                                         f"LABEL={LABEL}\t/srv/data\text4\tnoatime,nofail\t0\t2\n")
    scratch.write_file("/srv/data/precious", "keep me\n")
    uuid = _blkid(scratch, device, "UUID")

    again = scratch.apply(_data(device))
    assert again.returncode == 0, again.stdout + again.stderr
    assert _blkid(scratch, device, "UUID") == uuid
    assert scratch.read_text("/srv/data/precious") == "keep me\n"

    scratch.run(["umount", "/srv/data"], check=True)
    remount = scratch.apply(_data(device))
    assert remount.returncode == 2 and change_lines(remount.stdout) == ["mount[/srv/data]/ensure: ensure changed "
                                                                        "'unmounted' to 'mounted'"]
    assert scratch.read_text("/srv/data/precious") == "keep me\n"
    with open("/etc/fstab") as handle:
        assert "confrt" not in handle.read()
    assert not os.path.exists("/srv/data/precious")


def test_mount_options_change_remounts_and_absent_unmounts(scratch, loop):
    device = loop("opts")
    assert scratch.apply(_data(device)).returncode == 2
    scratch.write_file("/srv/data/precious", "keep me\n")
    remounted = scratch.apply(_data(device, options=("ro", "nofail")))
    assert remounted.returncode == 2, remounted.stderr
    assert "mount[/srv/data]/options: options changed 'noatime,nofail' to 'ro,nofail'" in change_lines(remounted.stdout)
    options = scratch.run(["findmnt", "-n", "-o", "OPTIONS", "/srv/data"], check=True).stdout.split(",")
    assert "ro" in options
    assert scratch.run(["touch", "/srv/data/new"]).returncode != 0  # really read-only now
    assert scratch.apply(_data(device, options=("ro", "nofail"))).returncode == 0

    fstab_before = scratch.read_text("/etc/fstab")
    removed = scratch.apply(_data(device, ensure="absent"))
    assert removed.returncode == 2, removed.stderr
    assert scratch.run(["findmnt", "/srv/data"]).returncode != 0
    assert "confrt" not in scratch.read_text("/etc/fstab")
    assert fstab_before.startswith(scratch.read_text("/etc/fstab"))
    assert scratch.apply(_data(device, ensure="absent")).returncode == 0
    assert _blkid(scratch, device, "LABEL") == LABEL  # the file system itself stays


def test_a_device_with_a_file_system_is_never_formatted(scratch, loop):
    device = loop("other")
    scratch.run(["mkfs.ext2", "-q", "-L", "theirs", device], check=True)
    uuid = _blkid(scratch, device, "UUID")
    result = scratch.apply({"classes": ["resources"], "resources::filesystem": {device: {"fstype": "ext4"}}})
    assert result.returncode == 4
    assert f"filesystem[{device}]: failed: {device} holds a ext2 signature, not ext4" in result.stderr
    assert (_blkid(scratch, device, "TYPE"), _blkid(scratch, device, "UUID")) == ("ext2", uuid)
    same_type = scratch.apply({"classes": ["resources"], "resources::filesystem": {device: {"fstype": "ext2"}}})
    assert same_type.returncode == 0 and _blkid(scratch, device, "UUID") == uuid
