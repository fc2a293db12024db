"""mount: confrt's marked fstab lines beside everyone else's, escaping, conflicts, noop plan."""
import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.resources.base import ResourceFailed
from confrt.resources.mount import MARK, edit_fstab, mounted

FSTAB = "# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\nproc /proc proc defaults 0 0\n"


def _mount(path, **attrs):
    attrs.setdefault("device", "LABEL=data")
    return catalog_of(res("mount", path, **attrs)).get(f"mount[{path}]")


def test_own_line_is_added_replaced_and_removed():
    text, previous = edit_fstab(FSTAB, _mount("/data", fstype="ext4", options=["noatime", "nofail"], **{"pass": 2}))
    assert previous is None
    assert text == FSTAB + f"{MARK.format('/data')}\nLABEL=data\t/data\text4\tnoatime,nofail\t0\t2\n"
    changed, previous = edit_fstab(text, _mount("/data", fstype="ext4", options="defaults"))
    assert previous == "LABEL=data\t/data\text4\tnoatime,nofail\t0\t2"
    assert changed == FSTAB + f"{MARK.format('/data')}\nLABEL=data\t/data\text4\tdefaults\t0\t0\n"
    assert edit_fstab(changed, _mount("/data", ensure="absent"))[0] == FSTAB


def test_spaces_are_escaped():
    text, _ = edit_fstab("", _mount("/mnt/my disk", device="/dev/vdb"))
    assert text.splitlines()[1].split("\t")[:2] == ["/dev/vdb", "/mnt/my\\040disk"]


def test_someone_elses_line_is_a_conflict():
    with pytest.raises(ResourceFailed, match=r"line 3 already mounts /proc \(not confrt's line"):
        edit_fstab(FSTAB, _mount("/proc", device="proc"))


def test_mounted_reads_mountinfo():
    source, fstype = mounted("/proc")
    assert fstype == "proc"
    assert mounted("/no/such/mount/point") is None


def test_noop_plans_fstab_and_mount_without_touching(tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text(FSTAB)
    report = apply_catalog(catalog_of(res("mount", str(tmp_path / "mnt"), device="LABEL=none", fstype="ext4",
                                          fstab=str(fstab))), tmp_path / "s", noop=True)
    changes = report.statuses[f"mount[{tmp_path}/mnt]"]["changes"]
    assert [c["property"] for c in changes] == ["content", "ensure"]
    assert fstab.read_text() == FSTAB and not (tmp_path / "mnt").exists()


@pytest.mark.parametrize("device", ["proc", "atlas.cern.ch"])
def test_a_network_source_mounted_is_in_sync(tmp_path, device):
    """/proc is mounted from 'proc': a source that is no device path is not compared (no remount loop),
    even when it is not the mounted one, as a CVMFS repository is mounted from 'cvmfs2'."""
    fstab = tmp_path / "fstab"
    attrs = {"device": device, "fstype": "proc", "fstab": str(fstab)}
    apply_catalog(catalog_of(res("mount", "/proc", ensure="present", **attrs)), tmp_path / "s")
    report = apply_catalog(catalog_of(res("mount", "/proc", **attrs)), tmp_path / "s", noop=True)
    assert not report.has_changes and "mount[/proc]" not in report.statuses
