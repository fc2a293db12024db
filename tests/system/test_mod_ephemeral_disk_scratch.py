"""ephemeral_disk in the scratch system with loop devices: one disk, two disks (RAID0), a disk with data."""
import os
import secrets

import pytest
from node_support import converge


def loop_disk(scratch, name, size="64M"):
    path = f"/var/tmp/{name}.img"
    scratch.run(["truncate", "-s", size, path], check=True)
    result = scratch.run(["losetup", "-f", "--show", path])
    if result.returncode != 0:
        pytest.skip(f"no loop devices here: {result.stderr.strip()}")
    return result.stdout.strip()


def unique_label():
    """Labels are seen machine-wide by blkid: each test gets its own."""
    return "eph" + secrets.token_hex(4)


def test_one_disk_formatted_labelled_mounted_with_directories(scratch):
    disk = loop_disk(scratch, "disk0")
    label = unique_label()
    data = {"classes": ["ephemeral_disk"], "ephemeral_disk::devices": [disk], "ephemeral_disk::label": label,
            "ephemeral_disk::directories": {"condor": {"mode": "0755"}, "condor/execute": {"mode": "0700"},
                                            "tmp": {"mode": "1777"}}}
    converge(scratch, data)
    probe = scratch.run(["blkid", "-p", "-o", "export", disk], check=True).stdout
    assert "TYPE=ext4" in probe and f"LABEL={label}" in probe
    source, options = scratch.run(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "/scratch"], check=True).stdout.split()
    assert source == disk and "noatime" in options.split(",")
    fstab = [line.split() for line in scratch.read_text("/etc/fstab").splitlines() if "/scratch" in line and not line.startswith("#")]
    assert fstab == [[f"LABEL={label}", "/scratch", "ext4", "noatime,nofail", "0", "0"]]
    assert scratch.run(["findmnt", "--verify", "--tab-file", "/etc/fstab"]).returncode == 0
    assert scratch.stat("/scratch/condor/execute")[0] == 0o700 and scratch.stat("/scratch/tmp")[0] == 0o1777
    # the directories are on the disk, not under it
    assert scratch.run(["findmnt", "-n", "-o", "TARGET", "-T", "/scratch/condor/execute"]).stdout.strip() == "/scratch"


def test_a_disk_with_data_is_left_alone(scratch):
    disk = loop_disk(scratch, "data0")
    scratch.sh(f"mkfs.ext2 -q -L keepme {disk} && mkdir -p /mnt/keep && mount {disk} /mnt/keep && "
               "echo precious > /mnt/keep/data.txt && umount /mnt/keep")
    result = scratch.apply({"classes": ["ephemeral_disk"], "ephemeral_disk::devices": [disk],
                            "ephemeral_disk::label": unique_label()})
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"{disk} holds a ext2 signature, not ext4: not formatting it" in result.stderr
    assert "TYPE=ext2" in scratch.run(["blkid", "-p", "-o", "export", disk], check=True).stdout
    assert scratch.run(["findmnt", "/scratch"]).returncode != 0
    scratch.sh(f"mount -o ro {disk} /mnt/keep")
    assert scratch.read_text("/mnt/keep/data.txt") == "precious\n"


def test_a_disk_mounted_elsewhere_is_not_taken(scratch):
    disk = loop_disk(scratch, "busy0")
    scratch.sh(f"mkfs.ext4 -q {disk} && mkdir -p /mnt/busy && mount {disk} /mnt/busy")
    result = scratch.apply({"classes": ["ephemeral_disk"], "ephemeral_disk::devices": [disk]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{disk}: not used (mounted at /mnt/busy)" in result.stderr


def test_two_disks_make_a_raid0(scratch):
    if not os.path.exists("/proc/mdstat"):
        pytest.skip("this kernel has no md (software RAID) driver: /proc/mdstat is missing")
    disks = [loop_disk(scratch, f"raid{i}") for i in range(2)]
    label = unique_label()
    md = f"/dev/md/confrt-{secrets.token_hex(3)}"
    data = {"classes": ["ephemeral_disk"], "ephemeral_disk::devices": disks, "ephemeral_disk::label": label,
            "ephemeral_disk::raid_device": md}
    try:
        converge(scratch, data)
        assert "raid0" in scratch.run(["mdadm", "--detail", md], check=True).stdout
        assert f"LABEL={label}" in scratch.run(["blkid", "-p", "-o", "export", md], check=True).stdout
        assert scratch.run(["findmnt", "/scratch"]).returncode == 0
    finally:
        scratch.run(["umount", "/scratch"])
        scratch.run(["mdadm", "--stop", md])
