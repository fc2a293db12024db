"""user, group and ssh_authorized_key in the scratch system: real useradd, keys sshd would accept."""
import json
import shutil
import subprocess

import pytest
from scratch import CONFRT_STATE, diff_changes

PASSWORD_HASH = "$6$confrtsalt$Yq1Zf3xJXk2mW0K8q7Z5d0pG8lU9zqv2v6H9h4w3Xx0eQ0o8sJtq8mWc7bYpX1pA4p0dWn6tB7r2Ue8HjYy0a."


@pytest.fixture
def keys(tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen (openssh-client)")
    found = {}
    for kind in ("ed25519", "rsa"):
        path = tmp_path / kind
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
        found[kind] = (tmp_path / f"{kind}.pub").read_text().split()[:2]
    return found


def _data(keys, extra_key=False):
    key_type, blob = keys["ed25519"]
    authorized = {"alice@laptop": {"user": "alice", "type": key_type, "key": blob,
                                   "options": ['from="10.0.0.0/8"', "no-agent-forwarding"]}}
    if extra_key:
        rsa_type, rsa_blob = keys["rsa"]
        authorized["alice@ci"] = {"user": "alice", "type": rsa_type, "key": rsa_blob}
    return {
        "classes": ["resources"],
        "resources::group": {"physics": {"gid": 2345}},
        "resources::user": {"alice": {"uid": 2345, "gid": "physics", "groups": ["users"], "home": "/home/alice",
                                      "shell": "/bin/bash", "comment": "Alice Example", "password": PASSWORD_HASH}},
        "resources::ssh_authorized_key": authorized,
    }


def _assert_sshd_would_accept(system, path):
    """StrictModes: the file and every directory up to / owned by root or the user, not group/other
    writable; ~/.ssh 0700 and the file 0600; each key line readable by ssh-keygen on its own."""
    assert system.stat(path) == (0o600, "alice", "physics")
    assert system.stat("/home/alice/.ssh") == (0o700, "alice", "physics")
    for directory in ("/home/alice", "/home", "/"):
        mode, owner, _group = system.stat(directory)
        assert owner in ("root", "alice") and not mode & 0o022, directory
    lines = [line for line in system.read_text(path).splitlines() if line and not line.startswith("#")]
    for line in lines:
        system.write_file("/tmp/one-key", line + "\n")
        listed = system.run(["ssh-keygen", "-l", "-f", "/tmp/one-key"])
        assert listed.returncode == 0, (line, listed.stderr)
    return lines


def test_user_group_and_keys_are_created_as_sshd_wants(scratch, keys):
    host_passwd = open("/etc/passwd").read()
    real = scratch.noop_then_apply(_data(keys))

    assert scratch.run(["getent", "passwd", "alice"]).stdout.strip() == \
        "alice:x:2345:2345:Alice Example:/home/alice:/bin/bash"
    assert scratch.run(["getent", "group", "physics"]).stdout.startswith("physics:x:2345:")
    assert "users" in scratch.run(["id", "-Gn", "alice"], check=True).stdout.split()
    assert scratch.run(["getent", "shadow", "alice"]).stdout.split(":")[1] == PASSWORD_HASH
    for output in (real.stdout + real.stderr,
                   scratch.read_text("/var/lib/confrt/last_run_report.json")):
        assert PASSWORD_HASH not in output and "confrtsalt" not in output
    report = json.loads(scratch.read_text("/var/lib/confrt/last_run_report.json"))
    assert "user[alice]" in json.dumps(report)

    path = "/home/alice/.ssh/authorized_keys"
    (line,) = _assert_sshd_would_accept(scratch, path)
    assert line.startswith('from="10.0.0.0/8",no-agent-forwarding ssh-ed25519 ')

    again = scratch.apply(_data(keys))
    assert again.returncode == 0, again.stdout + again.stderr

    # a key added by hand survives, also when confrt adds another key
    hand = " ".join(keys["rsa"]) + " added-by-hand"
    scratch.sh(f"echo '{hand}' >> {path}")
    assert scratch.apply(_data(keys)).returncode == 0
    more = scratch.apply(_data(keys, extra_key=True))
    assert more.returncode == 2, more.stderr
    lines = _assert_sshd_would_accept(scratch, path)
    assert hand in lines and len(lines) == 3
    assert open("/etc/passwd").read() == host_passwd


def test_bad_key_changes_nothing(scratch, keys):
    data = _data(keys)
    data["resources::ssh_authorized_key"]["alice@laptop"]["key"] = keys["rsa"][1]  # an rsa blob as ed25519
    scratch.write_site(data)
    before = scratch.changes()
    result = scratch.apply()
    assert result.returncode == 1
    assert "the key is of type 'ssh-rsa', not 'ssh-ed25519'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert scratch.run(["getent", "passwd", "alice"]).returncode == 2
    assert diff_changes(before, scratch.changes(), ignore=CONFRT_STATE) == []


def test_accounts_are_modified_then_removed(scratch):
    def accounts(**user):
        attrs = {"uid": 2400, "gid": "analysis", "groups": ["users", "audio"], "home": "/home/bob",
                 "shell": "/bin/bash"}
        attrs.update(user)
        return {"classes": ["resources"], "resources::group": {"analysis": {"gid": 2400}},
                "resources::user": {"bob": attrs}}

    assert scratch.apply(accounts()).returncode == 2
    scratch.write_file("/home/bob/notes", "mine\n")
    scratch.run(["chown", "bob", "/home/bob/notes"], check=True)
    modified = scratch.apply(accounts(uid=2401, shell="/bin/sh", groups=["users"], membership="inclusive"))
    assert modified.returncode == 2, modified.stderr
    assert scratch.run(["getent", "passwd", "bob"]).stdout.split(":")[2:7:4] == ["2401", "/bin/sh\n"]
    assert sorted(scratch.run(["id", "-Gn", "bob"]).stdout.split()) == ["analysis", "users"]
    assert scratch.stat("/home/bob/notes")[1] == "bob"  # usermod -u moved the home's files along
    again = scratch.apply(accounts(uid=2401, shell="/bin/sh", groups=["users"], membership="inclusive"))
    assert again.returncode == 0, again.stdout

    removed = {"classes": ["resources"], "resources::user": {"bob": {"ensure": "absent"}},
               "resources::group": {"analysis": {"ensure": "absent", "require": "user[bob]"}}}
    assert scratch.apply(removed).returncode == 2
    assert scratch.run(["getent", "passwd", "bob"]).returncode == 2
    assert scratch.run(["getent", "group", "analysis"]).returncode == 2
    assert not scratch.exists("/home/bob")
    assert scratch.apply(removed).returncode == 0
