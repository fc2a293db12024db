"""Autorequired mounts: what lies under a managed mount point comes after the mount, the mount after
its file system."""
import pytest
from engine_support import catalog_of, res
from node_modules_support import compile_condor_before_ephemeral_disk

from confrt.errors import CompileError


def requires(catalog, ref):
    return set(catalog.requires[ref])


def test_paths_under_a_mount_point_require_the_nearest_managed_mount():
    catalog = catalog_of(
        res("file", "/scratch/data/big/x.txt", content="x"),   # declared before the mounts
        res("directory", "/scratch/condor"),
        res("link", "/scratch/tmp", target="/tmp"),
        res("mount", "/scratch", device="/dev/vdb", fstype="ext4"),
        res("mount", "/scratch/data", device="/dev/vdc", fstype="ext4"),
        res("file", "/scratchpad/y", content="y"),
        res("file", "/etc/motd", content="hi"),
    )
    assert requires(catalog, "file[/scratch/data/big/x.txt]") == {"mount[/scratch/data]"}  # the longest only
    assert requires(catalog, "directory[/scratch/condor]") == {"mount[/scratch]"}
    assert requires(catalog, "link[/scratch/tmp]") == {"mount[/scratch]"}
    assert requires(catalog, "mount[/scratch/data]") == {"mount[/scratch]"}  # a nested mount: after its parent
    assert requires(catalog, "file[/scratchpad/y]") == set()  # a prefix of the name is not a parent folder
    assert requires(catalog, "file[/etc/motd]") == set()
    order = [r.ref for r in catalog.order]
    assert order.index("mount[/scratch]") < order.index("mount[/scratch/data]") < \
        order.index("file[/scratch/data/big/x.txt]")


def test_the_mount_point_itself_comes_before_the_mount_without_a_cycle():
    catalog = catalog_of(
        res("file", "/scratch/a", content="a"),
        res("mount", "/scratch", device="/dev/vdb", fstype="ext4"),
        res("directory", "/scratch"),
    )
    assert requires(catalog, "mount[/scratch]") == {"directory[/scratch]"}
    assert requires(catalog, "directory[/scratch]") == set()
    assert [r.ref for r in catalog.order] == ["directory[/scratch]", "mount[/scratch]", "file[/scratch/a]"]


def test_a_mount_point_that_is_not_managed_adds_nothing():
    catalog = catalog_of(res("directory", "/scratch"), res("directory", "/scratch/condor"))
    assert requires(catalog, "directory[/scratch/condor]") == {"directory[/scratch]"}


@pytest.mark.parametrize("device", ["/dev/vdb", "LABEL=ephemeral", "/dev/disk/by-label/ephemeral"])
def test_a_mount_requires_the_file_system_of_its_device(device):
    catalog = catalog_of(
        res("mount", "/scratch", device=device, fstype="ext4"),
        res("filesystem", "/dev/vdb", fstype="ext4", label="ephemeral"),
        res("filesystem", "/dev/vdc", fstype="ext4", label="other"),
    )
    assert requires(catalog, "mount[/scratch]") == {"filesystem[/dev/vdb]"}
    assert [r.ref for r in catalog.order][:2] == ["filesystem[/dev/vdb]", "mount[/scratch]"]


def test_a_mount_by_a_label_no_managed_file_system_has_requires_none():
    catalog = catalog_of(res("mount", "/scratch", device="LABEL=data", fstype="ext4"),
                         res("filesystem", "/dev/vdb", fstype="ext4", label="ephemeral"))
    assert requires(catalog, "mount[/scratch]") == set()


def test_an_explicit_edge_against_the_mount_is_a_cycle_reported_at_compile():
    with pytest.raises(CompileError) as error:
        catalog_of(res("mount", "/scratch", device="/dev/vdb", fstype="ext4", require="file[/scratch/x]"),
                   res("file", "/scratch/x", content="x"))
    assert "dependency cycle" in str(error.value) and "mount[/scratch]" in str(error.value)


def test_condor_execute_directory_lands_on_the_ephemeral_disk_after_its_mount(tmp_path):
    catalog, _, disk = compile_condor_before_ephemeral_disk(tmp_path)
    assert "mount[/scratch]" in requires(catalog, "directory[/scratch/condor/execute]")
    assert "mount[/scratch]" in requires(catalog, "directory[/scratch/condor]")
    assert f"filesystem[{disk}]" in requires(catalog, "mount[/scratch]")
    order = [r.ref for r in catalog.order]
    assert order.index(f"filesystem[{disk}]") < order.index("mount[/scratch]") < \
        order.index("directory[/scratch/condor]") < order.index("directory[/scratch/condor/execute]")
