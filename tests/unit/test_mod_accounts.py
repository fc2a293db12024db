"""accounts module: users and groups from data, passwords hashed reproducibly, sudo files checked by visudo."""
import shutil
import subprocess

import pytest
from engine_support import apply_catalog
from node_modules_support import compile_data, content, of_type

from confrt.errors import CompileError


def test_users_groups_primary_group_and_default_shell(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["accounts"], "accounts::shell": "/bin/bash",
        "accounts::groups": {"cms": {"gid": 5000}, "atlas": None},
        "accounts::users": {
            "alice": {"uid": 5001, "group": "cms", "groups": ["wheel"], "comment": "Alice Example"},
            "bob": {"group": "physics", "shell": "/bin/zsh"},
            "old": {"ensure": "absent"}}})
    groups, users = of_type(catalog, "group"), of_type(catalog, "user")
    assert list(groups) == ["atlas", "cms", "physics"] and groups["cms"]["gid"] == 5000
    assert users["alice"]["uid"] == 5001 and users["alice"]["gid"] == "cms"
    assert users["alice"]["groups"] == ["wheel"] and users["alice"]["shell"] == "/bin/bash"
    assert users["bob"]["shell"] == "/bin/zsh" and users["old"]["ensure"] == "absent"
    assert users["old"].get("shell") is None
    # the user needs its primary group first (autorequire)
    order = [r.ref for r in catalog.order]
    assert order.index("group[cms]") < order.index("user[alice]")
    assert warnings == []


def test_amiconfig_plain_password_is_hashed_reproducibly(tmp_path):
    data = {"classes": ["accounts"], "accounts::users": {
        "cvm": {"group": "cvm", "password": "s3cret pw"}, "nopw": {"group": "nopw", "password": ""},
        "hashed": {"password": "$6$salt$abc"}}}
    catalog, _ = compile_data(tmp_path, data)
    users = of_type(catalog, "user")
    hashed = users["cvm"]["password"]
    assert hashed.startswith("$6$") and "s3cret" not in hashed
    assert "password" in users["cvm"].sensitive
    assert users["nopw"].get("password") is None and users["hashed"]["password"] == "$6$salt$abc"
    again, _ = compile_data(tmp_path / "again", data)
    assert of_type(again, "user")["cvm"]["password"] == hashed
    if shutil.which("openssl"):
        salt = hashed.split("$")[2]
        check = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input="s3cret pw",
                               capture_output=True, text=True, check=True)
        assert check.stdout.strip() == hashed


def test_sha512_crypt_matches_glibc_for_long_passwords(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    from confrt.engine.loader import modulepath_modules
    from confrt.paths import packaged_modules

    module = {m.name: m for m in modulepath_modules([packaged_modules()])}["accounts"]
    for password in ("x" * 65, "ü" * 40, "a"):
        expected = subprocess.run(["openssl", "passwd", "-6", "-salt", "0123456789abcdef", "-stdin"],
                                  input=password.encode(), capture_output=True, check=True).stdout.decode().strip()
        assert module.code.sha512_crypt(password, "0123456789abcdef") == expected


@pytest.mark.parametrize("users, problem", [
    ({"Alice": {}}, "'Alice': expected a user/group name"),
    ({"alice": {"uid": "x"}}, "alice: uid: expected an integer, got 'x'"),
    ({"alice": {"gorup": "x"}}, "alice: unknown field 'gorup'"),
    ({"alice": {"password": "pw:with:colons"}}, "alice: password: expected a crypt hash or a password"),
    ({"alice": "x"}, "alice: expected a mapping of fields, got str"),
])
def test_bad_user_names_file_key_entry_never_the_password(tmp_path, users, problem):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["accounts"], "accounts::users": users})
    message = str(error.value)
    assert "common.yaml: accounts::users: " + problem in message and "colons" not in message


def test_sudo_files_validated_by_visudo(tmp_path):
    if shutil.which("visudo") is None:
        pytest.skip("visudo (Debian sudo) is not installed")
    sudoers = tmp_path / "sudoers.d"
    sudoers.mkdir()
    data = {"classes": ["accounts"], "accounts::sudoers_dir": str(sudoers), "accounts::sudo": {
        "alice": "alice ALL=(ALL) NOPASSWD: ALL", "ops": ["%wheel ALL=(ALL) ALL", "Defaults:%wheel !requiretty"]}}
    catalog, _ = compile_data(tmp_path, data)
    ops = catalog.get(f"file[{sudoers}/ops]")
    assert ops["mode"] == "0440" and ops["validate_cmd"] == ["visudo", "-cf", "%s"]
    assert content(catalog, f"{sudoers}/ops").splitlines()[1:] == ["%wheel ALL=(ALL) ALL",
                                                                  "Defaults:%wheel !requiretty"]
    report = apply_catalog(catalog, tmp_path / "state")
    assert report.exit_code(True) == 2, report.err.getvalue()
    assert (sudoers / "alice").read_text().endswith("alice ALL=(ALL) NOPASSWD: ALL\n")
    assert oct((sudoers / "alice").stat().st_mode & 0o777) == "0o440"
    # a broken rule is refused by visudo: the old file stays
    data["accounts::sudo"]["alice"] = "alice ALL=(ALL NOPASSWD ALL"
    catalog, _ = compile_data(tmp_path, data)
    report = apply_catalog(catalog, tmp_path / "state")
    assert "validate_cmd rejected the new content" in report.err.getvalue()
    assert (sudoers / "alice").read_text().endswith("alice ALL=(ALL) NOPASSWD: ALL\n")


def test_sudo_file_names_sudo_would_skip_are_refused(tmp_path):
    with pytest.raises(CompileError, match=r"accounts::sudo: 'alice.conf': sudo ignores include files"):
        compile_data(tmp_path, {"classes": ["accounts"], "accounts::sudo": {"alice.conf": "alice ALL=(ALL) ALL"}})
