"""sshkeys in the scratch system: real authorized_keys files, modes, exclusive, the owner's key."""
from node_support import converge, public_key


def test_keys_of_users_root_metadata_and_owner_exclusive(scratch, tmp_path):
    alice, meta, owner, stray = (public_key(tmp_path, c) for c in ("alice@laptop", "meta", "jdoe@vgrid", "stray"))
    scratch.write_file("/root/.ssh/authorized_keys", f"{stray[0]} {stray[1]} stray\n", mode=0o600)
    scratch.write_file("/opt/ssh_public_keys/authorized_keys.jdoe", f"{owner[0]} {owner[1]} jdoe@vgrid\n")
    data = {"classes": ["accounts", "sshkeys"], "accounts::users": {"alice": {"shell": "/bin/sh"}},
            "sshkeys::exclusive": True, "sshkeys::owner": "jdoe",
            "sshkeys::metadata_keys": [f"{meta[0]} {meta[1]} meta"],
            "sshkeys::keys": {"alice": [f'no-pty,from="10.0.0.0/8" {alice[0]} {alice[1]} alice@laptop']}}
    first = converge(scratch, data)
    assert "ssh_authorized_key[jdoe@vgrid]" in first.stdout
    root_keys = scratch.read_text("/root/.ssh/authorized_keys")
    assert "stray" not in root_keys and f"{meta[1]} meta" in root_keys and f"{owner[1]} jdoe@vgrid" in root_keys
    assert scratch.stat("/root/.ssh/authorized_keys") == (0o600, "root", "root")
    alice_keys = scratch.read_text("/home/alice/.ssh/authorized_keys")
    assert f'no-pty,from="10.0.0.0/8" {alice[0]} {alice[1]} alice@laptop' in alice_keys
    assert scratch.stat("/home/alice/.ssh") == (0o700, "alice", "alice")
    assert scratch.stat("/home/alice/.ssh/authorized_keys") == (0o600, "alice", "alice")
    # sshd's own parser reads every line: ssh-keygen lists each key
    listed = scratch.run(["ssh-keygen", "-l", "-f", "/root/.ssh/authorized_keys"], check=True).stdout
    assert len(listed.splitlines()) == 2


def test_a_fetch_failure_keeps_existing_keys(scratch, tmp_path):
    """No local key and an unreachable repository: root's hand-added key stays despite exclusive."""
    stray = public_key(tmp_path, "stray")
    scratch.write_file("/root/.ssh/authorized_keys", f"{stray[0]} {stray[1]} by hand\n", mode=0o600)
    result = scratch.apply({"classes": ["sshkeys"], "sshkeys::exclusive": True, "sshkeys::owner": "jdoe",
                            "sshkeys::key_repository_url": "https://127.0.0.1:9/keys/",
                            "sshkeys::fetch_timeout": 5})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "owner key of jdoe: cannot fetch https://127.0.0.1:9/keys/jdoe" in result.stderr
    assert "keeping the existing keys of root" in result.stderr
    assert "by hand" in scratch.read_text("/root/.ssh/authorized_keys")
