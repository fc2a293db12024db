"""Never follow a link that a user controls (issue 14 §1): confrt.util.nofollow and the resources on it.

A directory owned by `nobody` stands for a user's home. The races of the reliability test
(tests/reliability/test_hostile_users.py) are played here step by step: the link is swapped in
between two steps of confrt's, exactly where the old code went by path.
"""
import os
import pwd
import stat

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.resources.base import ResourceFailed
from confrt.util.atomic import atomic_write

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a directory of another user's needs root")
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIGkQ1gtOJdRbQgQ0z3zqQ8Yw5vY7cW0u3kq0c5Jt0Ygq"
BLOCK = ("# BEGIN confrt managed keys (edits inside this block are overwritten)\n"
         f"ssh-ed25519 {KEY} k@laptop\n# END confrt managed keys\n")


def fake_stat(mode, uid=0, gid=0):
    return os.stat_result((stat.S_IFDIR | mode, 0, 0, 2, uid, gid, 0, 0, 0, 0))


def test_who_can_write_a_directory():
    from confrt.util import nofollow

    assert nofollow.writers(fake_stat(0o755)) == []
    assert nofollow.writers(fake_stat(0o775)) == []  # root's group: root's (no ACL looked at without fd)
    assert nofollow.writers(fake_stat(0o555, uid=1000)) == [("user", 1000)]  # an owner can chmod
    assert nofollow.writers(fake_stat(0o775, gid=50)) == [("group", 50)]
    assert nofollow.writers(fake_stat(0o1777)) == [("everyone", None)]
    assert nofollow.describe([("user", 0), ("everyone", None)]) == "root and everyone"


@pytest.fixture
def nobody():
    return pwd.getpwnam("nobody")


@pytest.fixture
def home(tmp_path, nobody):
    """A directory of nobody's (a user's home)."""
    if os.geteuid() != 0:
        pytest.skip("a directory of another user's needs root")
    path = tmp_path / "home"
    path.mkdir()
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return path


@pytest.fixture
def victim(tmp_path):
    """A root 0600 file and a root 0700 directory beside it, outside the user's reach."""
    secret = tmp_path / "secret"
    secret.write_text("root's secret\n")
    os.chmod(secret, 0o600)
    folder = tmp_path / "root-dir"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    return secret, folder


def state(path):
    info = os.lstat(path)
    content = path.read_text() if path.is_file() else sorted(os.listdir(path))
    return info.st_mode, info.st_uid, info.st_gid, content


@root_only
def test_a_link_in_a_users_directory_is_refused_a_link_of_roots_followed(tmp_path, home, victim):
    from confrt.util import nofollow

    os.symlink(str(victim[1]), home / "sub")
    with pytest.raises(nofollow.LinkRefused) as refused:
        nofollow.open_folder(str(home / "sub"))
    assert str(refused.value) == f"{home}/sub is a link in {home}, which nobody can write to: not following it"
    os.symlink(str(victim[1]), tmp_path / "roots-link")
    with nofollow.open_folder(str(tmp_path / "roots-link")) as folder:
        assert folder.path == str(victim[1]) and folder.info.st_ino == os.stat(victim[1]).st_ino


@root_only
def test_a_folder_walked_before_and_swapped_for_a_link_is_walked_again(home, victim):
    from confrt.util import nofollow

    (home / "sub").mkdir()
    nofollow.open_folder(str(home / "sub")).close()  # remembered
    os.rename(home / "sub", home / "sub.old")
    os.symlink(str(victim[1]), home / "sub")
    with pytest.raises(nofollow.LinkRefused):
        nofollow.open_folder(str(home / "sub"))


@root_only
def test_atomic_write_through_a_users_link_is_refused(home, victim):
    """Old code: the folder was opened by path, and root's file replaced."""
    os.symlink(str(victim[0].parent), home / "sub")
    before = state(victim[0])
    with pytest.raises(OSError) as refused:
        atomic_write(str(home / "sub" / "secret"), b"mine\n", mode=0o644)
    assert str(refused.value) == f"{home}/sub is a link in {home}, which nobody can write to: not following it"
    assert state(victim[0]) == before


@root_only
def test_file_mode_is_set_on_the_file_confrt_examined(tmp_path, home, victim):
    """The name becomes a link to a root 0600 file between changes() and apply(). Old code
    (os.chmod by path): the root file became 0644."""
    from confrt.engine.applier import ApplyContext
    from confrt.facts import Facts
    from confrt.resources.file import PosixFileProvider

    path = home / "f"
    path.write_text("x\n")
    os.chmod(path, 0o600)
    resource = catalog_of(res("file", str(path), mode="0644")).get(f"file[{path}]")
    provider = PosixFileProvider(resource, ApplyContext(Facts.static({}), str(tmp_path / "state")))
    changes = provider.changes()
    assert [change.property for change in changes] == ["mode"]
    os.rename(path, home / "f.old")
    os.symlink(str(victim[0]), path)
    before = state(victim[0])
    with pytest.raises(ResourceFailed) as failed:
        provider.apply(changes)
    assert str(failed.value) == f"{path} is a link in {home}, which nobody can write to: not following it"
    assert state(victim[0]) == before


@root_only
def test_a_new_directory_gets_its_mode_on_its_descriptor(tmp_path, home, victim, monkeypatch):
    """The new directory is swapped for a link to a root 0700 directory right after mkdir. Old code
    (mkdir, then chmod by path): the root directory became 0777."""
    real_mkdir = os.mkdir

    def mkdir_then_swapped(path, mode=0o777, *, dir_fd=None):
        real_mkdir(path, mode, dir_fd=dir_fd)
        target = path if dir_fd is None else os.path.join(str(home), path)
        os.rename(target, target + ".moved")
        os.symlink(str(victim[1]), target)

    monkeypatch.setattr(os, "mkdir", mkdir_then_swapped)
    before = state(victim[1])
    report = apply_catalog(catalog_of(res("directory", str(home / "d"), mode="0777")), tmp_path / "state")
    assert state(victim[1]) == before
    assert f"directory[{home}/d]: failed: cannot create {home}/d: {home}/d was replaced while confrt made it" \
        in report.err.getvalue()


@root_only
def test_a_file_in_a_users_folder_swapped_for_a_link_is_not_written_through(tmp_path, home, victim):
    """Old code: lstat and the write went by path, through the user's link, and replaced root's file."""
    os.symlink(str(victim[0].parent), home / "sub")
    before = state(victim[0])
    report = apply_catalog(catalog_of(res("file", str(home / "sub" / "secret"), content="mine\n")),
                           tmp_path / "state", noop=True)
    assert f"{home}/sub is a link in {home}, which nobody can write to: not following it" in report.err.getvalue()
    report = apply_catalog(catalog_of(res("file", str(home / "sub" / "secret"), content="mine\n")),
                           tmp_path / "state")
    assert f"{home}/sub is a link in {home}, which nobody can write to: not following it" in report.err.getvalue()
    assert state(victim[0]) == before


@root_only
def test_an_unmanaged_folder_others_can_write_is_named_once(tmp_path, home):
    catalog = catalog_of(res("file", str(home / "a"), content="a\n"), res("file", str(home / "b"), content="b\n"),
                         res("file", str(home / "c"), content="c\n", owner="nobody"))
    report = apply_catalog(catalog, tmp_path / "state")
    assert report.err.getvalue() == \
        f"confrt: warning: {home} is writable by nobody and not managed: confrt follows no link there\n"
    managed = catalog_of(res("directory", str(home), owner="nobody"), res("file", str(home / "a"), content="a\n"))
    assert apply_catalog(managed, tmp_path / "state").err.getvalue() == ""
    only_own = catalog_of(res("file", str(home / "c"), content="c\n", owner="nobody"))
    assert apply_catalog(only_own, tmp_path / "state").err.getvalue() == ""


@root_only
def test_line_refuses_a_users_link(tmp_path, home, victim):
    """Old code: the root file's text, with the line, replaced the link."""
    os.symlink(str(victim[0]), home / ".profile")
    before = state(victim[0])
    report = apply_catalog(catalog_of(res("line", "x", path=str(home / ".profile"), line="export A=1")),
                           tmp_path / "state")
    assert f"{home}/.profile is a link in {home}, which nobody can write to: not following it" in report.err.getvalue()
    assert state(victim[0]) == before and os.path.islink(home / ".profile")


def key(target=None):
    attrs = {"user": "nobody", "type": "ssh-ed25519", "key": KEY}
    if target:
        attrs["target"] = target
    return res("ssh_authorized_key", "k@laptop", **attrs)


@root_only
def test_ssh_keys_never_chown_a_file_in_place(tmp_path, home, nobody):
    """A root file holding the converged text, also linked (hard) from outside the user's reach, in
    the user's keys folder: a new file of the user's replaces the name; the root inode stays root's.
    Old code: os.chown made the root file (both names) the user's."""
    keys = home / "keys"
    keys.mkdir()
    os.chown(keys, nobody.pw_uid, nobody.pw_gid)
    outside = tmp_path / "outside"
    outside.write_text(BLOCK)
    os.chmod(outside, 0o644)
    os.link(outside, keys / "authorized_keys")
    report = apply_catalog(catalog_of(key(str(keys / "authorized_keys"))), tmp_path / "state")
    assert report.err.getvalue() == "", report.err.getvalue()
    assert state(outside)[:3] == (stat.S_IFREG | 0o644, 0, 0) and os.stat(outside).st_nlink == 1
    info = os.lstat(keys / "authorized_keys")
    assert (info.st_mode & 0o7777, info.st_uid) == (0o600, nobody.pw_uid)
    assert (keys / "authorized_keys").read_text() == BLOCK


@root_only
def test_ssh_keys_never_copy_what_the_user_could_not_read(tmp_path, home, nobody):
    keys = home / "keys"
    keys.mkdir()
    os.chown(keys, nobody.pw_uid, nobody.pw_gid)
    (keys / "authorized_keys").write_text("root's secret\n")
    os.chmod(keys / "authorized_keys", 0o600)
    noop = apply_catalog(catalog_of(key(str(keys / "authorized_keys"))), tmp_path / "state", noop=True)
    real = apply_catalog(catalog_of(key(str(keys / "authorized_keys"))), tmp_path / "state")
    line = (f"confrt: ssh_authorized_key[k@laptop]: failed: cannot read {keys}/authorized_keys: it is root's "
            f"(mode 0600) and nobody could not read it; its text would go into nobody's own file (give it to "
            f"nobody, or remove it)\n")
    assert noop.err.getvalue() == real.err.getvalue() == line
    assert (keys / "authorized_keys").read_text() == "root's secret\n"


@root_only
def test_ssh_dir_made_on_its_descriptor(tmp_path, home, nobody, monkeypatch):
    """~/.ssh missing: made 0700 and the user's without a path call (the home is the user's)."""
    entry = pwd.struct_passwd(tuple(nobody)[:5] + (str(home), nobody.pw_shell))
    real = pwd.getpwnam
    monkeypatch.setattr(pwd, "getpwnam", lambda name: entry if name == "nobody" else real(name))
    report = apply_catalog(catalog_of(key()), tmp_path / "state")
    assert report.err.getvalue() == ""
    info = os.lstat(home / ".ssh")
    assert (info.st_mode & 0o7777, info.st_uid) == (0o700, nobody.pw_uid)
    assert (home / ".ssh" / "authorized_keys").read_text() == BLOCK
