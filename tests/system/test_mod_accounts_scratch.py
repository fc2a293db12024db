"""accounts in the scratch system: users, groups, a hashed amiconfig password, sudo files by visudo."""
import shutil
import subprocess

import pytest
from node_support import converge


def test_users_groups_password_and_sudo(scratch):
    if shutil.which("visudo") is None:
        pytest.skip("visudo (Debian sudo) is not installed")
    data = {"classes": ["accounts"], "accounts::shell": "/bin/bash",
            "accounts::groups": {"cms": {"gid": 5000}},
            "accounts::users": {"alice": {"uid": 5001, "group": "cms", "comment": "Alice Example"},
                                "cvm": {"group": "cvm", "password": "s3cret pw"}},
            "accounts::sudo": {"alice": "alice ALL=(ALL) NOPASSWD: ALL"}}
    first = converge(scratch, data)
    assert "s3cret" not in first.stdout + first.stderr
    assert scratch.read_text("/etc/group").count("cms:x:5000:") == 1
    passwd = {line.split(":")[0]: line.split(":") for line in scratch.read_text("/etc/passwd").splitlines()}
    assert passwd["alice"][2:4] == ["5001", "5000"] and passwd["alice"][4] == "Alice Example"
    assert passwd["alice"][6] == "/bin/bash" and passwd["cvm"][6] == "/bin/bash"
    shadow = {line.split(":")[0]: line.split(":")[1] for line in scratch.read_text("/etc/shadow").splitlines()}
    salt = shadow["cvm"].split("$")[2]
    check = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input="s3cret pw",
                           capture_output=True, text=True, check=True)
    assert shadow["cvm"] == check.stdout.strip()  # the login password works
    assert scratch.stat("/etc/sudoers.d/alice") == (0o440, "root", "root")
    rules = scratch.run(["sudo", "-l", "-U", "alice"], check=True).stdout
    assert "(ALL) NOPASSWD: ALL" in rules


def test_a_rule_visudo_rejects_changes_nothing(scratch):
    if shutil.which("visudo") is None:
        pytest.skip("visudo (Debian sudo) is not installed")
    result = scratch.apply({"classes": ["accounts"], "accounts::sudo": {"broken": "alice ALL=(ALL NOPASSWD"}})
    assert result.returncode == 4, result.stdout + result.stderr
    assert "validate_cmd rejected the new content" in result.stderr
    assert not scratch.exists("/etc/sudoers.d/broken")
    assert scratch.run(["visudo", "-c"]).returncode == 0
