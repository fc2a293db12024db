"""file, directory and link: content, metadata, validation, backups, redaction."""
import hashlib
import os
import pwd

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError


def test_content_mode_and_no_rewrite_when_unchanged(tmp_path):
    path = tmp_path / "f"
    catalog = catalog_of(res("file", str(path), content="hello\n", mode="0600"))
    report = apply_catalog(catalog, tmp_path / "state")
    assert path.read_text() == "hello\n" and (path.stat().st_mode & 0o7777) == 0o600
    assert report.summary()["changes"]["total"] == 1
    before = os.stat(path)
    report = apply_catalog(catalog, tmp_path / "state")
    after = os.stat(path)
    assert report.summary()["resources"]["changed"] == 0
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_same_size_different_content_is_noticed_and_backed_up(tmp_path):
    path, state = tmp_path / "f", tmp_path / "state"
    path.write_text("abc\n")
    os.chmod(path, 0o640)
    report = apply_catalog(catalog_of(res("file", str(path), content="xyz\n")), state)
    assert path.read_text() == "xyz\n"
    assert (path.stat().st_mode & 0o7777) == 0o640  # mode kept when not managed
    old_sum = hashlib.sha256(b"abc\n").hexdigest()
    assert f"content changed {{sha256}}{old_sum} to {{sha256}}" in report.out.getvalue()
    backup = state / "backup" / old_sum
    assert backup.read_text() == "abc\n" and (backup.stat().st_mode & 0o7777) == 0o600


def test_mode_only_change_keeps_the_inode(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    os.chmod(path, 0o644)
    inode = path.stat().st_ino
    report = apply_catalog(catalog_of(res("file", str(path), content="x", mode="0600")), tmp_path / "state")
    assert f"file[{path}]/mode: mode changed '0644' to '0600'" in report.out.getvalue()
    assert path.stat().st_ino == inode and (path.stat().st_mode & 0o7777) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_owner_and_group(tmp_path):
    path = tmp_path / "f"
    nobody = pwd.getpwnam("nobody")
    report = apply_catalog(catalog_of(res("file", str(path), content="x", owner="nobody", group=nobody.pw_gid)),
                           tmp_path / "state")
    assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert report.summary()["resources"]["changed"] == 1
    os.chown(path, 0, 0)
    report = apply_catalog(catalog_of(res("file", str(path), content="x", owner="nobody")), tmp_path / "state")
    assert "owner changed 'root' to 'nobody'" in report.out.getvalue()


def test_unknown_owner_fails_the_resource(tmp_path):
    report = apply_catalog(catalog_of(res("file", str(tmp_path / "f"), content="x", owner="no-such-user-x")),
                           tmp_path / "state")
    assert "owner: no user named 'no-such-user-x'" in report.err.getvalue()
    assert not (tmp_path / "f").exists()


def test_validate_cmd_runs_on_new_content_before_replacing(tmp_path):
    path = tmp_path / "conf"
    path.write_text("good\n")
    check = ["grep", "-q", "^good", "%s"]
    report = apply_catalog(catalog_of(res("file", str(path), content="bad\n", validate_cmd=check)), tmp_path / "state")
    assert path.read_text() == "good\n"
    assert "validate_cmd rejected the new content: grep -q ^good <new content> exited 1" in report.err.getvalue()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".confrt-")] == []
    apply_catalog(catalog_of(res("file", str(path), content="good too\n", validate_cmd=check)), tmp_path / "state")
    assert path.read_text() == "good too\n"


def test_validate_cmd_needs_a_placeholder():
    with pytest.raises(CompileError, match="validate_cmd: expected an argv list with '%s'"):
        catalog_of(res("file", "/tmp/x", content="a", validate_cmd=["true"]))


def test_source_and_absent(tmp_path):
    source = tmp_path / "src"
    source.write_bytes(b"\x00binary\xff")
    path = tmp_path / "f"
    report = apply_catalog(catalog_of(res("file", str(path), source=str(source))), tmp_path / "state", noop=True)
    assert "defined content as {sha256}" in report.out.getvalue() and "+++" not in report.out.getvalue()
    apply_catalog(catalog_of(res("file", str(path), source=str(source))), tmp_path / "state")
    assert path.read_bytes() == b"\x00binary\xff"
    apply_catalog(catalog_of(res("file", str(path), ensure="absent")), tmp_path / "state")
    assert not path.exists()
    with pytest.raises(CompileError, match="content and source: give only one"):
        catalog_of(res("file", str(path), source=str(source), content="x"))


def test_sensitive_content_is_redacted_with_checksum(tmp_path):
    path = tmp_path / "secret"
    path.write_text("old-password\n")
    catalog = catalog_of(res("file", str(path), content="hunter2-secret\n", sensitive=["content"]))
    report = apply_catalog(catalog, tmp_path / "state", noop=True)
    text = report.out.getvalue() + report.err.getvalue() + str(report.to_dict())
    assert "hunter2" not in text and "old-password" not in text
    assert "content changed [redacted] {sha256}" in report.out.getvalue()
    assert report.to_dict()["resource_statuses"][f"file[{path}]"]["changes"][0]["new"] == "[redacted]"


def test_noop_shows_a_unified_diff_and_changes_nothing(tmp_path):
    path = tmp_path / "f"
    path.write_text("one\ntwo\n")
    report = apply_catalog(catalog_of(res("file", str(path), content="one\n2\n", mode="0600")),
                           tmp_path / "state", noop=True)
    out = report.out.getvalue()
    assert "-two\n+2\n" in out and out.count("(noop)") == 2
    assert path.read_text() == "one\ntwo\n" and (path.stat().st_mode & 0o7777) == 0o644
    assert not (tmp_path / "state" / "backup").exists()


def test_template_renders_at_compile_time(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text("family={{ facts.os.family }} n={{ n }}\n")
    from confrt.engine.catalog import Catalog
    from confrt.engine.compiler import CompileEnv
    from confrt.engine.plugins import resource_types
    from confrt.facts import Facts

    catalog = Catalog(resource_types())
    resource = catalog.add(res("file", str(tmp_path / "out"), template=str(template), template_vars={"n": 3}))
    env = CompileEnv(Facts.static({"os": {"family": "Debian"}}), {})
    catalog.types.get("file").prepare(resource, env)
    assert resource["content"] == "family=Debian n=3\n"
    broken = catalog.add(res("file", str(tmp_path / "out2"), template=str(template)))
    with pytest.raises(CompileError, match="t.j2: 'n' is undefined"):
        catalog.types.get("file").prepare(broken, env)


def test_directory_and_link(tmp_path):
    d, link = tmp_path / "d", tmp_path / "l"
    catalog = catalog_of(res("directory", str(d), mode="0700"), res("link", str(link), target=str(d)))
    apply_catalog(catalog, tmp_path / "state")
    assert d.is_dir() and (d.stat().st_mode & 0o7777) == 0o700 and os.readlink(link) == str(d)
    os.remove(link)
    os.symlink("/elsewhere", link)
    report = apply_catalog(catalog, tmp_path / "state")
    assert f"link[{link}]/target: target changed '/elsewhere' to '{d}'" in report.out.getvalue()
    assert os.readlink(link) == str(d)
    os.remove(link)
    link.write_text("a file")
    report = apply_catalog(catalog, tmp_path / "state")
    assert "is a file, not a link (force: true replaces a file)" in report.err.getvalue()
    apply_catalog(catalog_of(res("link", str(link), target=str(d), force=True)), tmp_path / "state")
    assert os.readlink(link) == str(d)
    (d / "inside").write_text("x")
    report = apply_catalog(catalog_of(res("directory", str(d), ensure="absent")), tmp_path / "state")
    assert "force: true removes its contents" in report.err.getvalue()
    apply_catalog(catalog_of(res("directory", str(d), ensure="absent", force=True)), tmp_path / "state")
    assert not d.exists()


def test_file_in_a_missing_directory_fails_cleanly(tmp_path):
    report = apply_catalog(catalog_of(res("file", str(tmp_path / "no" / "f"), content="x")), tmp_path / "state")
    assert f"cannot create {tmp_path}/no/f: {tmp_path}/no does not exist" in report.err.getvalue()
