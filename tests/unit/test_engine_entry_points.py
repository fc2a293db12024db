"""The cheap look at installed distributions' entry-point groups (before importlib.metadata)."""
import zipfile

from confrt.engine.entry_points import declared_groups, entry_points


def dist(folder, name, text):
    (folder / name).mkdir(parents=True)
    if text is not None:
        (folder / name / "entry_points.txt").write_text(text)


def test_groups_of_dist_info_and_egg_info_folders(tmp_path):
    site = tmp_path / "site"
    dist(site, "a-1.0.dist-info", "[console_scripts]\na = a:main\n\n[confrt.modules]\nnote = a.note\n")
    dist(site, "b-2.0.egg-info", "[ confrt ]\nstamp = b.plugin\n")
    dist(site, "c-1.0.dist-info", None)
    (site / "d-1.0.egg-info").write_text("Metadata-Version: 1.0\n")  # old distutils: a file, no entry points
    assert declared_groups([str(site), str(tmp_path / "missing")]) == {"console_scripts", "confrt.modules",
                                                                      "confrt"}


def test_a_zip_on_the_path_means_unknown(tmp_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("x-1.0.dist-info/entry_points.txt", "[confrt]\nx = x\n")
    assert declared_groups([str(tmp_path), str(archive)]) is None


def test_entry_points_of_a_declared_group_come_from_importlib_metadata(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist(site, "sitecfg-1.0.dist-info", "[confrt.modules]\nnote = sitecfg.note\n")
    (site / "sitecfg-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: sitecfg\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    assert [(ep.name, ep.value) for ep in entry_points("confrt.modules")] == [("note", "sitecfg.note")]
    assert entry_points("confrt.nosuchgroup") == []
