"""A full file system (a small tmpfs, filled up) under each place confrt writes to.

Managed files, the statedir (backups, reports), the run log and local_data each
sit on the full file system in turn: the write fails with one clear line naming
the path and "No space left on device", never a traceback; the original file
is intact and no `.confrt-*` temp file is left.
"""
import errno
import os
import subprocess

import pytest
import yaml
from reliability_support import confrt_process, process_env, temp_leftovers
from run_site import make_run_site, read, summary, write_yaml

NEW_CONTENT = "new content\n" * 20000  # 240 KB: more than a full file system has left


def fill(directory):
    """Fill the file system of `directory` until even a one-byte write fails with ENOSPC."""
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.fixture
def full(tmpfs):
    """A 1 MiB tmpfs holding old.conf ("old", 0640), then filled up."""
    path = tmpfs("full", "1m")
    old = path / "old.conf"
    old.write_text("old\n")
    old.chmod(0o640)
    return path


def run(env, *args):
    return subprocess.run(confrt_process(*args), env=process_env(env), capture_output=True, text=True, timeout=120)


def assert_clear_failure(result, path):
    """One error line naming the path and the cause; no traceback, no internal error."""
    lines = [line for line in result.stderr.splitlines() if str(path) in line]
    assert lines and all("No space left on device" in line for line in lines), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert "Logging error" not in result.stderr, result.stderr


def test_a_managed_file_on_a_full_file_system_is_left_intact(tmp_path, full):
    target = full / "old.conf"
    env, paths = make_run_site(tmp_path / "site", common={"classes": ["resources"], "resources::file": {
        str(target): {"content": NEW_CONTENT, "mode": "0600"},
        str(tmp_path / "elsewhere"): {"content": "unrelated\n"}}})
    fill(full)
    result = run(env, "apply", "--detailed-exitcodes")
    assert result.returncode == 6, result.stderr  # the unrelated file changed, this one failed
    assert_clear_failure(result, target)
    assert read(target) == "old\n" and target.stat().st_mode & 0o7777 == 0o640
    assert read(tmp_path / "elsewhere") == "unrelated\n"
    assert temp_leftovers(str(full)) == []
    assert summary(paths)["resources"]["failed"] == 1


def test_a_full_statedir_fails_the_run_clearly_and_changes_nothing_unbacked(tmp_path, full):
    target = tmp_path / "app.conf"
    target.write_text("old app\n")
    env, paths = make_run_site(tmp_path / "site", common={"classes": ["resources"], "resources::file": {
        str(target): {"content": NEW_CONTENT}}})
    config = yaml.safe_load(read(paths["confrt.yaml"]))
    config["statedir"] = str(full / "state")
    write_yaml(paths["confrt.yaml"], config)
    os.mkdir(full / "state")
    fill(full)
    result = run(env, "apply", "--detailed-exitcodes")
    assert result.returncode in (1, 4), result.stderr
    assert_clear_failure(result, full / "state")
    assert read(target) == "old app\n"  # its backup could not be kept, so it was not replaced
    assert temp_leftovers(str(full)) == [] and temp_leftovers(str(tmp_path)) == []


def test_a_full_log_dir_is_a_warning_and_the_run_goes_on(tmp_path, full):
    target = tmp_path / "motd"
    env, paths = make_run_site(tmp_path / "site", common={"classes": ["resources"], "resources::file": {
        str(target): {"content": "hello\n"}}}, run={"log_dir": str(full / "log")})
    os.mkdir(full / "log")
    fill(full)
    result = run(env, "run", "--no-splay")
    assert result.returncode == 2, result.stderr
    assert read(target) == "hello\n"
    assert_clear_failure(result, full / "log")


def test_local_data_on_a_full_file_system_keeps_the_last_good_one(tmp_path, full):
    userdata = tmp_path / "user-data"
    userdata.write_text(yaml.safe_dump({"classes": ["resources"], "padding": "x" * 300000}))
    env, paths = make_run_site(tmp_path / "site", sources=[f"file:{userdata}"])
    local_data = full / "local.yaml"
    local_data.write_text("classes: [resources]\n")
    config = yaml.safe_load(read(paths["confrt.yaml"]))
    config["local_data"] = str(local_data)
    write_yaml(paths["confrt.yaml"], config)
    fill(full)
    result = run(env, "run", "--boot")
    assert result.returncode == 4, result.stderr
    assert_clear_failure(result, local_data)
    assert read(local_data) == "classes: [resources]\n"
    assert temp_leftovers(str(full)) == []
    step = summary(paths)["steps"]["userdata"]
    assert step["status"] == "failed" and "No space left on device" in step["error"], step


def test_the_named_temp_file_fallback_leaves_nothing_either(tmp_path, full, monkeypatch):
    """Where a file system has no O_TMPFILE (NFS, vfat), atomic_write uses a named temp file."""
    from confrt.util import atomic

    monkeypatch.setattr(atomic, "_open_unnamed", lambda directory: None)
    atomic.atomic_write(str(tmp_path / "written"), b"fallback\n", mode=0o640)
    assert read(tmp_path / "written") == "fallback\n" and (tmp_path / "written").stat().st_mode & 0o7777 == 0o640
    fill(full)
    with pytest.raises(OSError) as error:
        atomic.atomic_write(str(full / "old.conf"), NEW_CONTENT.encode())
    assert error.value.errno == errno.ENOSPC
    assert read(full / "old.conf") == "old\n"
    assert temp_leftovers(str(full)) == [] and temp_leftovers(str(tmp_path)) == []
