"""ssh_authorized_key: real keys from ssh-keygen validated, the managed block, a real apply."""
import os
import pwd
import shutil
import subprocess

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError
from confrt.resources.ssh_authorized_key import BEGIN, END, edit_keys, key_blob_type

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)")


def make_key(tmp_path, kind, name):
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", str(path)], check=True)
    key_type, blob, _comment = (tmp_path / f"{name}.pub").read_text().split(" ", 2)
    return key_type, blob


def test_real_keys_pass_and_mismatches_fail(tmp_path):
    ed_type, ed_blob = make_key(tmp_path, "ed25519", "ed")
    rsa_type, rsa_blob = make_key(tmp_path, "rsa", "rsa")
    assert key_blob_type(ed_blob) == ed_type == "ssh-ed25519" and key_blob_type(rsa_blob) == "ssh-rsa"
    catalog_of(res("ssh_authorized_key", "alice@laptop", user="alice", type=rsa_type, key=rsa_blob))
    with pytest.raises(CompileError, match="the key is of type 'ssh-ed25519', not 'ssh-rsa'"):
        catalog_of(res("ssh_authorized_key", "a", user="alice", type="ssh-rsa", key=ed_blob))
    with pytest.raises(CompileError, match="key: not valid base64"):
        catalog_of(res("ssh_authorized_key", "a", user="alice", key=ed_blob[:-3] + "!!!"))
    with pytest.raises(CompileError, match="key: give only the base64 part"):
        catalog_of(res("ssh_authorized_key", "a", user="alice", key=f"{ed_blob} a@b"))
    with pytest.raises(CompileError, match="options: expected options"):
        catalog_of(res("ssh_authorized_key", "a", user="alice", key=ed_blob, options=["no pty"]))


def _key(name, blob, **attrs):
    return catalog_of(res("ssh_authorized_key", name, user="alice", key=blob, **attrs)).get(
        f"ssh_authorized_key[{name}]")


def test_block_keeps_hand_written_lines(tmp_path):
    _t, blob = make_key(tmp_path, "ed25519", "k")
    hand = "ssh-ed25519 AAAAhand someone@else"
    text = edit_keys(hand + "\n", _key("ops", blob, options=["no-pty", 'from="10.0.0.0/8"']))
    assert text == f'{hand}\n{BEGIN}\nno-pty,from="10.0.0.0/8" ssh-ed25519 {blob} ops\n{END}\n'
    assert edit_keys(text, _key("ops", blob, options=["no-pty", 'from="10.0.0.0/8"'])) == text
    second = edit_keys(text, _key("backup", blob))
    assert second.count(BEGIN) == 1 and second.splitlines()[3] == f"ssh-ed25519 {blob} backup"
    assert edit_keys(second, _key("ops", blob, ensure="absent")).splitlines()[2] == f"ssh-ed25519 {blob} backup"
    assert edit_keys(text, _key("ops", blob, ensure="absent")) == hand + "\n"
    exclusive = edit_keys(second, _key("ops", blob, exclusive=True), keep=lambda comment: comment == "ops")
    assert exclusive == f"{BEGIN}\nssh-ed25519 {blob} ops\n{END}\n"


def test_apply_to_a_target_file_for_root(tmp_path):
    _t, blob = make_key(tmp_path, "ed25519", "k")
    target = tmp_path / "keys" / "authorized_keys"
    os.makedirs(target.parent)
    target.write_text("# by hand\n")
    me = pwd.getpwuid(os.getuid()).pw_name

    def run(noop=False):
        return apply_catalog(catalog_of(res("ssh_authorized_key", "ci", user=me, key=blob, target=str(target))),
                             tmp_path / "state", noop=noop)

    assert run(noop=True).has_changes and target.read_text() == "# by hand\n"
    run()
    assert target.read_text().startswith("# by hand\n" + BEGIN)
    assert os.stat(target).st_mode & 0o777 == 0o600
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(target)], capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("ci (ED25519)")
    assert not run().has_changes


def test_unknown_user_fails(tmp_path):
    _t, blob = make_key(tmp_path, "ed25519", "k")
    report = apply_catalog(catalog_of(res("ssh_authorized_key", "x", user="no-such-user-here", key=blob)),
                           tmp_path / "state", noop=True)
    assert report.statuses["ssh_authorized_key[x]"]["failure"] == "user: no user named 'no-such-user-here'"


def test_a_mode_fix_shared_by_two_keys_is_reported_once_like_the_real_run(tmp_path):
    _t, blob = make_key(tmp_path, "ed25519", "k")
    target = tmp_path / "authorized_keys"
    target.write_text("")
    os.chmod(target, 0o644)
    me = pwd.getpwuid(os.getuid()).pw_name

    def run(noop):
        catalog = catalog_of(*(res("ssh_authorized_key", name, user=me, key=blob, target=str(target))
                               for name in ("one", "two")))
        report = apply_catalog(catalog, tmp_path / "state", noop=noop)
        return [c["property"] for entry in report.statuses.values() for c in entry["changes"]]

    assert run(noop=True) == ["content", "mode", "content"]
    assert run(noop=False) == ["content", "mode", "content"]
    assert os.stat(target).st_mode & 0o777 == 0o600


def test_the_block_holds_exactly_the_declared_keys_without_exclusive(tmp_path):
    """VGrid's owner changes from alice to bob: alice's key leaves confrt's block although nothing is
    exclusive (it stayed there), the hand-written line outside the block stays, and a key of the same
    file declared for another account is not taken as this file's."""
    _t, alice = make_key(tmp_path, "ed25519", "alice")
    _t, bob = make_key(tmp_path, "ed25519", "bob")
    me = pwd.getpwuid(os.getuid()).pw_name
    target = tmp_path / "authorized_keys"
    target.write_text(f"ssh-ed25519 {alice} admin by hand\n{BEGIN}\nssh-ed25519 {alice} alice@vgrid\n{END}\n")

    def run(*resources):
        return apply_catalog(catalog_of(*resources), tmp_path / "state")

    run(res("ssh_authorized_key", "bob@vgrid", user=me, key=bob, target=str(target)),
        res("ssh_authorized_key", "alice@vgrid", user="root", key=alice, target=str(tmp_path / "other")))
    assert target.read_text() == f"ssh-ed25519 {alice} admin by hand\n{BEGIN}\nssh-ed25519 {bob} bob@vgrid\n{END}\n"
    assert not run(res("ssh_authorized_key", "bob@vgrid", user=me, key=bob, target=str(target))).has_changes
