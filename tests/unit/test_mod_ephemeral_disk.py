"""ephemeral_disk module: disk discovery on a fixture /dev,/sys,/proc tree; resources for 1 and N disks."""
import os

import pytest
from node_modules_support import compile_data, of_type

from confrt.engine.loader import modulepath_modules
from confrt.errors import CompileError
from confrt.facts import Facts
from confrt.paths import packaged_modules

INSTANCE_STORE = "Amazon EC2 NVMe Instance Storage"


@pytest.fixture(scope="module")
def code():
    return {m.name: m for m in modulepath_modules([packaged_modules()])}["ephemeral_disk"].code


def block(root, name, sectors=2048, dev="8:0", parent=None, holders=()):
    """A /sys/class/block entry (partitions live inside their disk's folder, as in sysfs)."""
    base = root / "sys/class/block"
    folder = base / parent / name if parent else base / name
    folder.mkdir(parents=True)
    (folder / "size").write_text(f"{sectors}\n")
    (folder / "dev").write_text(dev + "\n")
    (folder / "holders").mkdir()
    for holder in holders:
        (folder / "holders" / holder).write_text("")
    if parent:
        (folder / "partition").write_text("1\n")
        (base / name).symlink_to(folder)
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev" / name).write_text("")


@pytest.fixture
def host(tmp_path):
    """An EC2-like machine: / on sda1, ephemeral0/1 as xvdb/xvdc, NVMe disks, an OpenStack label."""
    root = tmp_path / "root"
    block(root, "sda", dev="8:0")
    block(root, "sda1", dev="8:1", parent="sda")
    block(root, "xvdb", sectors=4096, dev="202:16")
    block(root, "xvdc", sectors=4096, dev="202:32")
    block(root, "xvdd", dev="202:48")
    for index in range(4):
        block(root, f"nvme{index}n1", dev=f"259:{index}", holders=("dm-0",) if index == 3 else ())
    block(root, "vdb", dev="252:16")
    (root / "dev/disk/by-label").mkdir(parents=True)
    (root / "dev/disk/by-label/ephemeral0").symlink_to("../../vdb")
    (root / "proc").mkdir()
    (root / "proc/swaps").write_text("Filename Type Size Used Priority\n/dev/xvdd partition 1 0 -2\n")
    return root


def facts_for(mounted=None):
    disks = {"nvme0n1": {"model": "Amazon Elastic Block Store"}, "nvme1n1": {"model": INSTANCE_STORE + "  "},
             "nvme2n1": {"model": INSTANCE_STORE}, "nvme3n1": {"model": INSTANCE_STORE}}
    mountpoints = {"/": {"device": "/dev/sda1"}, "/mnt": {"device": "/dev/nvme2n1"}}
    mountpoints.update(mounted or {})
    return Facts.static({"disks": disks, "mountpoints": mountpoints})


def params(**more):
    values = {"devices": [], "block_device_mapping": {}, "nvme_model": INSTANCE_STORE,
              "openstack_label": "ephemeral0", "mountpoint": "/scratch", "raid_device": "/dev/md/ephemeral",
              "cache_percent": 20, "cache_max_mb": 50000}
    values.update(more)
    return values


def test_discovery_from_every_source_and_what_is_refused(code, host):
    mapping = {"ami": "sda1", "root": "/dev/sda1", "ephemeral1": "sdc", "ephemeral0": "sdb", "ephemeral2": "sdd",
               "ephemeral3": "sdz"}
    used, skipped = code.find_disks(params(block_device_mapping=mapping), facts_for(), root=str(host))
    assert used == ["/dev/xvdb", "/dev/xvdc", "/dev/nvme1n1", "/dev/vdb"]
    assert dict(skipped) == {"/dev/xvdd": "used as swap", "/dev/nvme2n1": "mounted at /mnt",
                             "/dev/nvme3n1": "used by dm-0"}


def test_explicit_devices_replace_discovery_but_not_the_safety_checks(code, host):
    used, skipped = code.find_disks(params(devices=["/dev/sda", "/dev/xvdb", "/dev/nope", "/dev/xvdb"]),
                                    facts_for(), root=str(host))
    assert used == ["/dev/xvdb"]
    assert dict(skipped) == {"/dev/sda": "it holds /", "/dev/nope": "no such device"}


def test_our_own_mount_and_raid_do_not_count_as_in_use(code, host):
    (host / "dev/md").mkdir()
    (host / "dev/md127").write_text("")
    (host / "dev/md/ephemeral").symlink_to("../md127")
    for name in ("xvdb", "xvdc"):
        (host / "sys/class/block" / name / "holders" / "md127").write_text("")
    facts = facts_for({"/scratch": {"device": "/dev/md127"}, "/data": {"device": "/dev/vdb"}})
    used, skipped = code.find_disks(params(devices=["/dev/xvdb", "/dev/xvdc", "/dev/vdb"]), facts, root=str(host))
    assert used == ["/dev/xvdb", "/dev/xvdc"] and dict(skipped) == {"/dev/vdb": "mounted at /data"}


def disk_images(tmp_path, count, size=1 << 20):
    paths = []
    for index in range(count):
        path = tmp_path / f"disk{index}.img"
        path.write_bytes(b"\0" * size)
        paths.append(str(path))
    return paths


def test_one_disk_filesystem_with_label_mounted_by_label_and_directories(tmp_path):
    [disk] = disk_images(tmp_path, 1)
    catalog, warnings = compile_data(tmp_path, {"classes": ["ephemeral_disk"], "ephemeral_disk::devices": [disk],
        "ephemeral_disk::directories": {"condor/execute": {"mode": "0755"}, "condor": None,
                                        "tmp": {"mode": "1777"}}})
    fs = catalog.get(f"filesystem[{disk}]")
    assert fs["fstype"] == "ext4" and fs["label"] == "ephemeral" and fs["force"] is False
    mount = catalog.get("mount[/scratch]")
    assert mount["device"] == "LABEL=ephemeral" and mount["options"] == "noatime,nofail"
    assert mount.relations["require"] == [f"filesystem[{disk}]"]
    dirs = of_type(catalog, "directory")
    assert list(dirs) == ["/scratch", "/scratch/condor", "/scratch/condor/execute", "/scratch/tmp"]
    assert dirs["/scratch/tmp"]["mode"] == "1777"
    order = [r.ref for r in catalog.order]
    assert order.index("mount[/scratch]") < order.index("directory[/scratch/condor]") < \
        order.index("directory[/scratch/condor/execute]")
    assert of_type(catalog, "exec") == {} and warnings == []


def test_several_disks_make_a_raid0_first(tmp_path):
    disks = disk_images(tmp_path, 2)
    catalog, _ = compile_data(tmp_path, {"classes": ["ephemeral_disk"], "ephemeral_disk::devices": disks,
                                         "ephemeral_disk::fstype": "xfs"})
    raid = catalog.get("exec[ephemeral RAID0]")
    assert raid["command"] == ["/usr/libexec/confrt/confrt-ephemeral-raid", "/dev/md/ephemeral"] + disks
    assert raid["unless"] == ["test", "-b", "/dev/md/ephemeral"]
    assert catalog.get("package[mdadm]") is not None
    script = catalog.get("file[/usr/libexec/confrt/confrt-ephemeral-raid]")
    assert script["mode"] == "0755" and script["source"].endswith("ephemeral_disk/files/confrt-ephemeral-raid")
    fs = catalog.get("filesystem[/dev/md/ephemeral]")
    assert fs["fstype"] == "xfs" and fs.relations["require"] == ["exec[ephemeral RAID0]"]
    assert all(catalog.get(f"filesystem[{d}]") is None for d in disks)


def test_size_fact_of_the_disks_found(tmp_path, code):
    disks = disk_images(tmp_path, 2, size=3 << 20)
    value = code.disk_fact(Facts.static({}), params(devices=disks))
    assert value == {"mountpoint": "/scratch", "devices": disks, "size_bytes": 6 << 20, "cache_mb": 1, "jobs_mb": 5}
    assert code.disk_fact(Facts.static({}), params(devices=["/dev/does-not-exist"])) is None
    assert code.FACTS == {"ephemeral_disk": code.disk_fact, "ephemeral_disk_unused": code.unused_fact}
    assert code.unused_fact(Facts.static({}), params(devices=["/dev/does-not-exist"])) == \
        [["/dev/does-not-exist", "no such device"]]


@pytest.mark.parametrize("size_mb, cache_mb", [(572204, 50000), (100000, 20000), (20000, 4000), (0, 0)])
def test_the_disk_budget_keeps_a_share_for_caches_with_an_upper_bound(code, size_mb, cache_mb):
    """A 600 GB RAID0 (572,204 MB): 20% would be 114,440 MB; the caches get at most 50,000 MB, jobs the rest."""
    assert code.cache_budget(size_mb) == cache_mb
    assert code.cache_budget(size_mb, 10, 1000000) == size_mb // 10


def test_no_disk_declares_nothing(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["ephemeral_disk"],
                                                "ephemeral_disk::devices": ["/dev/does-not-exist"]})
    assert len(catalog) == 0
    assert warnings == ["module ephemeral_disk: /dev/does-not-exist: not used (no such device)"]


def test_swap_and_relocated_paths(tmp_path):
    [disk] = disk_images(tmp_path, 1)
    catalog, _ = compile_data(tmp_path, {"classes": ["ephemeral_disk"], "ephemeral_disk::devices": [disk],
                                         "ephemeral_disk::swap": "512", "ephemeral_disk::relocate_paths": ["/var/tmp/"]})
    swap = catalog.get("exec[ephemeral swap file]")
    assert swap["command"][-2:] == ["/scratch/swapfile", "512"] and swap["creates"] == "/scratch/swapfile"
    relocate = catalog.get("exec[relocate /var/tmp]")
    assert relocate["command"][-2:] == ["/var/tmp", "/scratch/var/tmp"]
    assert relocate["unless"] == ["test", "-L", "/var/tmp"]


@pytest.mark.parametrize("data, problem", [
    ({"ephemeral_disk::label": "a-very-long-label"}, "ephemeral_disk::label: 'a-very-long-label': a ext4 label"),
    ({"ephemeral_disk::fstype": "xfs", "ephemeral_disk::label": "thirteen-char"}, "a xfs label is 1 to 12"),
    ({"ephemeral_disk::fstype": "btrfs"}, "ephemeral_disk::fstype: expected one of 'ext4', 'xfs'"),
    ({"ephemeral_disk::mountpoint": "/"}, "ephemeral_disk::mountpoint: '/': expected an absolute path below /"),
    ({"ephemeral_disk::directories": {"../etc": None}}, "ephemeral_disk::directories: '../etc': expected a path"),
    ({"ephemeral_disk::swap": "lots"}, "ephemeral_disk::swap: expected true, false or a size in MB, got 'lots'"),
])
def test_bad_values_are_compile_errors_naming_the_key(tmp_path, data, problem):
    data = dict(data, classes=["ephemeral_disk"])
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, data)
    assert problem in str(error.value) and "common.yaml" in str(error.value)


def test_raid_helper_is_valid_sh():
    path = os.path.join(packaged_modules(), "ephemeral_disk", "files", "confrt-ephemeral-raid")
    assert os.access(path, os.X_OK)
    assert os.system(f"sh -n {path}") == 0


def test_raid_helper_creates_only_on_blank_disks(tmp_path):
    """The helper with a stand-in mdadm (the md driver may be missing) and the real blkid -p."""
    import shutil
    import subprocess

    if shutil.which("blkid") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs blkid and mkfs.ext4 (Debian util-linux, e2fsprogs)")
    helper = os.path.join(packaged_modules(), "ephemeral_disk", "files", "confrt-ephemeral-raid")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mdadm").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/mdadm.calls\n[ "$1" != --assemble ]\n')
    (bin_dir / "mdadm").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    disks = disk_images(tmp_path, 2)
    result = subprocess.run([helper, "/dev/md/ephemeral", *disks], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "mdadm.calls").read_text().splitlines()
    assert calls == [f"--assemble /dev/md/ephemeral {' '.join(disks)}",
                     f"--create /dev/md/ephemeral --run --level=0 --metadata=1.2 --raid-devices=2 {' '.join(disks)}"]
    (tmp_path / "mdadm.calls").unlink()
    subprocess.run(["mkfs.ext4", "-q", "-F", disks[1]], check=True)
    result = subprocess.run([helper, "/dev/md/ephemeral", *disks], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and f"{disks[1]} holds data (blkid -p exit 0): not creating" in result.stderr
    assert (tmp_path / "mdadm.calls").read_text().splitlines() == [f"--assemble /dev/md/ephemeral {' '.join(disks)}"]
