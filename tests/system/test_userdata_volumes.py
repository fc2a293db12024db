"""Volume datasources against real ISO 9660 / vfat images: HEPiX context ISO, OpenStack config drive,
NoCloud cidata. Images are built with genisoimage/xorriso and mkfs.vfat + mtools, attached to loop
devices and found by label with blkid, or named directly. Needs root."""
import base64
import json
import os
import shutil
import subprocess

import pytest
import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata")
ROOT_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@submit"
SETTINGS = {"sources": [], "ec2_url": "http://127.0.0.1:9", "timeout": 1, "total_timeout": 2,
            "max_size": 1 << 20}


def _need(*tools):
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mount)")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (see tests/debian-packages.txt)")


def _sample(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


def _tree(root, files):
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def make_iso(tmp_path, label, files):
    tree = _tree(tmp_path / f"tree-{label}", files)
    image = tmp_path / f"{label}.iso"
    if shutil.which("genisoimage"):
        argv = ["genisoimage", "-quiet", "-V", label, "-r", "-J", "-o", str(image), str(tree)]
    else:
        _need("xorriso")
        argv = ["xorriso", "-as", "mkisofs", "-quiet", "-V", label, "-r", "-J", "-o", str(image), str(tree)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return image


def make_vfat(tmp_path, label, files):
    _need("mkfs.vfat", "mcopy")
    tree = _tree(tmp_path / f"tree-{label}", files)
    image = tmp_path / f"{label}.img"
    subprocess.run(["mkfs.vfat", "-C", "-n", label, str(image), "2048"], check=True, capture_output=True,
                   timeout=60)
    for entry in sorted(os.listdir(tree)):
        subprocess.run(["mcopy", "-s", "-i", str(image), str(tree / entry), "::/"], check=True,
                       capture_output=True, timeout=60)
    return image


@pytest.fixture
def loop():
    """attach(image) -> /dev/loopN (read-only); every device is detached after the test."""
    _need("losetup", "blkid")
    attached = []

    def attach(image):
        result = subprocess.run(["losetup", "-f", "--show", "--read-only", str(image)], capture_output=True,
                                text=True, timeout=60)
        if result.returncode != 0:
            pytest.skip(f"no loop device: {result.stderr.strip()}")
        attached.append(result.stdout.strip())
        return attached[-1]

    yield attach
    for device in attached:
        subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)


@pytest.fixture
def commands(monkeypatch):
    """The argv of every command the volume code runs, in order."""
    from confrt.userdata import volumes

    seen = []
    real = volumes.run

    def recording(argv, **kwargs):
        seen.append(list(argv))
        return real(argv, **kwargs)

    monkeypatch.setattr(volumes, "run", recording)
    return seen


def _assert_cleaned_up(commands):
    mounts = open("/proc/self/mounts").read()
    assert "confrt-volume-" not in mounts
    workdirs = {argv[-1] for argv in commands if argv[0] == "mount"}
    workdirs |= {argv[-1] for argv in commands if argv[0] == "xorriso"}
    workdirs |= {argv[-2] for argv in commands if argv[0] == "mcopy"}
    assert workdirs and not any(os.path.exists(d) for d in workdirs)


def _decoded(fetched):
    from confrt.userdata.formats import decode_userdata

    return decode_userdata(fetched.raw, "/etc/confrt/data/local.yaml", "/var/lib/confrt", 1 << 20)


def _context_files(public_key_style):
    user_data = base64.b64encode(_sample("amiconfig-context-iso.txt")).decode()
    if public_key_style == "ROOT_PUBKEY":
        context = f'# Context variables used by amiconfig\nROOT_PUBKEY=root.pub\nEC2_USER_DATA="{user_data}"\n' \
                  'ONE_CONTEXT_PATH="/var/lib/amiconfig"\n'
        return {"context.sh": context, "root.pub": ROOT_KEY + "\n", "prolog.sh": ""}
    return {"context.sh": f"EC2_USER_DATA='{user_data}'\nPUBLIC_KEY='{ROOT_KEY}'\nVMID=42\n"}


def test_hepix_context_iso_found_by_label(tmp_path, loop, commands):
    from confrt.userdata.sources import fetch

    loop(make_iso(tmp_path, "CONTEXT", _context_files("ROOT_PUBKEY")))
    fetched = fetch(SETTINGS, ["context"])
    assert fetched.source.startswith("context:/dev/loop")
    assert fetched.raw == _sample("amiconfig-context-iso.txt")
    assert fetched.metadata == {"public_keys": [ROOT_KEY]}
    assert _decoded(fetched).data["cvmfs::repositories"] == ["atlas", "grid", "atlas-condb", "sft"]
    _assert_cleaned_up(commands)


def test_context_iso_found_on_the_cernvm_device_list(tmp_path, loop, monkeypatch):
    """No CONTEXT label: the volume is found by probing the CernVM device list (iso9660/vfat only)."""
    from confrt.userdata import volumes
    from confrt.userdata.sources import fetch

    image = make_iso(tmp_path, "UNLABELLED", _context_files("PUBLIC_KEY"))
    later, earlier = loop(image), loop(image)  # the same volume twice: the list order decides
    blank_image = tmp_path / "blank.img"
    blank_image.write_bytes(b"\0" * 65536)  # no file system: skipped by the type probe
    blank = loop(blank_image)
    monkeypatch.setattr(volumes, "CERNVM_DEVICES", ["/dev/does-not-exist", blank, earlier, later])
    fetched = fetch(SETTINGS, ["context"])
    assert fetched.source == f"context:{earlier}"
    assert fetched.metadata == {"public_keys": [ROOT_KEY], "instance_id": "42"}


def test_context_iso_image_named_directly_with_public_key(tmp_path, commands):
    from confrt.userdata.sources import fetch

    _need("blkid")
    image = make_iso(tmp_path, "CTX", _context_files("PUBLIC_KEY"))
    fetched = fetch(SETTINGS, [f"context:{image}"])
    assert fetched.metadata == {"public_keys": [ROOT_KEY], "instance_id": "42"}
    assert fetched.raw == _sample("amiconfig-context-iso.txt")
    _assert_cleaned_up(commands)


def _config_drive_files():
    meta = {"uuid": "83679162-1378-4288-a2d4-70e13ec132aa", "hostname": "vm1.novalocal",
            "public_keys": {"mykey": ROOT_KEY}}
    return {"openstack/latest/meta_data.json": json.dumps(meta),
            "openstack/latest/user_data": _sample("glidein-ini-args-proxy.txt")}


def test_bad_context_names_the_device_not_the_temp_dir(tmp_path, commands):
    from confrt.errors import UserdataError
    from confrt.userdata.sources import fetch

    _need("blkid")
    image = make_iso(tmp_path, "BADCTX", {"context.sh": "EC2_USER_DATA='@@@not base64@@@'\n"})
    with pytest.raises(UserdataError) as info:
        fetch(SETTINGS, [f"context:{image}"])
    assert str(info.value) == f"context:{image}/context.sh: EC2_USER_DATA: bad base64"
    _assert_cleaned_up(commands)


def test_openstack_config_drive_iso_found_by_label(tmp_path, loop, commands):
    from confrt.userdata.sources import fetch

    loop(make_iso(tmp_path, "config-2", _config_drive_files()))
    fetched = fetch(SETTINGS, ["openstack"])
    assert fetched.metadata == {"instance_id": "83679162-1378-4288-a2d4-70e13ec132aa",
                                "local_hostname": "vm1.novalocal", "public_keys": [ROOT_KEY]}
    assert _decoded(fetched).data["glidein::webbase"] == "http://factory.example.org/factory/stage"
    _assert_cleaned_up(commands)


def test_openstack_config_drive_vfat_named_directly(tmp_path, commands):
    from confrt.userdata.sources import fetch

    image = make_vfat(tmp_path, "CONFIG-2", _config_drive_files())
    fetched = fetch(SETTINGS, [f"openstack:{image}"])
    assert fetched.metadata["instance_id"] == "83679162-1378-4288-a2d4-70e13ec132aa"
    assert fetched.raw == _sample("glidein-ini-args-proxy.txt")
    _assert_cleaned_up(commands)


def test_context_source_accepts_a_config_drive_layout(tmp_path, commands):
    from confrt.userdata.sources import fetch

    _need("blkid")
    files = {"ec2/latest/meta-data.json": json.dumps({"instance-id": "i-cafe"}),
             "ec2/latest/user-data": _sample("amiconfig-ec2-script.txt")}
    fetched = fetch(SETTINGS, [f"context:{make_iso(tmp_path, 'CTXOS', files)}"])
    assert fetched.metadata == {"instance_id": "i-cafe"}
    assert [s.name for s in _decoded(fetched).scripts] == ["userdata-script"]


def test_nocloud_cidata_vfat_found_by_label_end_to_end(tmp_path, loop, run_confrt):
    image = make_vfat(tmp_path, "CIDATA", {
        "meta-data": "instance-id: iid-cidata-01\nlocal-hostname: cidata-node\n",
        "user-data": _sample("mime-multipart.txt"),
    })
    loop(image)
    config = tmp_path / "confrt.yaml"
    config.write_text(yaml.safe_dump({"statedir": str(tmp_path / "state"),
                                      "local_data": str(tmp_path / "data" / "local.yaml"),
                                      "userdata": {"sources": ["nocloud"]}}))
    result = run_confrt("userdata", "fetch", "--config", config)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((tmp_path / "data" / "local.yaml").read_text())
    assert data["confrt::instance_id"] == "iid-cidata-01"
    assert data["confrt::local_hostname"] == "cidata-node"
    assert data["condor::collector_host"] == "cm.example.org"
    assert data["confrt::userdata_source"].startswith("nocloud:/dev/loop")
    assert "confrt-volume-" not in open("/proc/self/mounts").read()


def _kernel_mounts(fstype):
    with open("/proc/filesystems") as handle:
        return any(line.split()[-1] == fstype for line in handle if line.strip())


def test_volume_is_mounted_read_only_and_unmounted(tmp_path, commands):
    from confrt.userdata.volumes import opened_volume

    if not _kernel_mounts("iso9660"):
        pytest.skip("this kernel cannot mount iso9660 (the user-space reader test covers this machine)")
    image = make_iso(tmp_path, "ROTEST", {"context.sh": "X=1\n"})
    with opened_volume(str(image)) as root:
        assert open(os.path.join(root, "context.sh")).read() == "X=1\n"
        with pytest.raises(OSError):
            open(os.path.join(root, "new"), "w")
    mount = next(argv for argv in commands if argv[0] == "mount")
    assert "ro" in mount[2].split(",") and "noexec" in mount[2].split(",")
    assert any(argv[0] == "umount" for argv in commands)
    _assert_cleaned_up(commands)


def test_user_space_reader_when_the_kernel_cannot_mount(tmp_path, commands):
    from confrt.userdata.volumes import opened_volume

    if _kernel_mounts("iso9660") and _kernel_mounts("vfat"):
        pytest.skip("this kernel mounts iso9660 and vfat: the mount path is used instead")
    _need("xorriso", "mcopy")
    iso = make_iso(tmp_path, "USERSPACE", {"a/b.txt": "iso"})
    vfat = make_vfat(tmp_path, "USERVFAT", {"a/b.txt": "vfat"})
    for image, expected in ((iso, "iso"), (vfat, "vfat")):
        with opened_volume(str(image)) as root:
            assert open(os.path.join(root, "a", "b.txt")).read() == expected
    assert {argv[0] for argv in commands} >= {"mount", "xorriso", "mcopy"}
    _assert_cleaned_up(commands)
