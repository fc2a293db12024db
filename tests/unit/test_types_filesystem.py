"""filesystem: blkid -p decides; real mkfs on image files; a foreign signature is never formatted."""
import shutil
import subprocess

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.resources.filesystem import mkfs_argv, parse_blkid_export

needs_e2fsprogs = pytest.mark.skipif(shutil.which("mkfs.ext4") is None or shutil.which("blkid") is None,
                                     reason="needs e2fsprogs and blkid")


def test_mkfs_argv_and_blkid_parsing():
    fs = catalog_of(res("filesystem", "/dev/vdb", fstype="ext4", label="home", mkfs_options=["-m", "0"],
                        force=True)).get("filesystem[/dev/vdb]")
    assert mkfs_argv(fs) == ["mkfs.ext4", "-q", "-L", "home", "-F", "-m", "0", "/dev/vdb"]
    vfat = catalog_of(res("filesystem", "/dev/vdc", fstype="vfat", label="CIDATA")).get("filesystem[/dev/vdc]")
    assert mkfs_argv(vfat) == ["mkfs.vfat", "-n", "CIDATA", "/dev/vdc"]
    assert parse_blkid_export("DEVNAME=/dev/vdb\nLABEL=home\nTYPE=ext4\n")["TYPE"] == "ext4"


def _image(tmp_path, name="disk.img"):
    path = tmp_path / name
    with open(path, "wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    return str(path)


def _blkid(path, tag):
    return subprocess.run(["blkid", "-p", "-s", tag, "-o", "value", path], capture_output=True, text=True).stdout.strip()


@needs_e2fsprogs
def test_formats_an_empty_image_once_and_relabels(tmp_path):
    image = _image(tmp_path)

    def run(noop=False, **attrs):
        return apply_catalog(catalog_of(res("filesystem", image, fstype="ext4", **attrs)), tmp_path / "s", noop=noop)

    assert run(noop=True, label="data").has_changes and _blkid(image, "TYPE") == ""
    assert run(label="data").count("changed") == 1
    assert (_blkid(image, "TYPE"), _blkid(image, "LABEL")) == ("ext4", "data")
    uuid = _blkid(image, "UUID")
    assert not run(label="data").has_changes
    assert run(label="scratch").count("changed") == 1
    assert (_blkid(image, "LABEL"), _blkid(image, "UUID")) == ("scratch", uuid)  # relabelled, not reformatted


@needs_e2fsprogs
def test_another_signature_is_never_formatted_without_force(tmp_path):
    image = _image(tmp_path)
    subprocess.run(["mkfs.ext2", "-q", image], check=True)
    uuid = _blkid(image, "UUID")
    report = apply_catalog(catalog_of(res("filesystem", image, fstype="ext4")), tmp_path / "s")
    failure = report.statuses[f"filesystem[{image}]"]["failure"]
    assert "holds a ext2 signature, not ext4: not formatting it (force: true would)" in failure
    assert _blkid(image, "UUID") == uuid
    apply_catalog(catalog_of(res("filesystem", image, fstype="ext4", force=True)), tmp_path / "s")
    assert _blkid(image, "TYPE") == "ext4" and _blkid(image, "UUID") != uuid


def test_missing_device_fails(tmp_path):
    report = apply_catalog(catalog_of(res("filesystem", str(tmp_path / "nope"))), tmp_path / "s", noop=True)
    assert report.statuses[f"filesystem[{tmp_path}/nope]"]["failure"].endswith("nope does not exist")
