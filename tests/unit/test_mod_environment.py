"""environment module: profile.d files for sh and csh, read back by real sh, bash and tcsh."""
import shutil
import subprocess

import pytest
from mod_support import write_files
from node_modules_support import compile_data, content

from confrt.errors import CompileError

SH = "/etc/profile.d/confrt-environment.sh"
CSH = "/etc/profile.d/confrt-environment.csh"
#: seed 001's Perl example, `environment = CMS_SITECONFIG=EC2,CMS_ROOT=/opt/cms`, and values that
#: need quoting in one shell or the other
VARIABLES = {"CMS_SITECONFIG": "EC2", "CMS_ROOT": "/opt/cms", "QUOTE": "it's", "DOLLAR": "$HOME/x",
             "BANG": "wow!now", "SPACES": " two  words ", "GLOB": "*.[ch] ~", "SEMI": "a;b|c&`id`",
             "BACKSLASH": "a\\b\\", "EMPTY": "", "NUMBER": 4096, "FLAG": True, "UTF8": "Zürich"}


def _expected():
    return {name: ("true" if value is True else str(value)) for name, value in VARIABLES.items()}


def _shell_env(shell, argv):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed (tests/debian-packages.txt)")
    result = subprocess.run(["env", "-i", "LANG=C.UTF-8", shell] + argv, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    pairs = [item.decode() for item in result.stdout.split(b"\0") if item]
    return {name: value for name, _, value in (pair.partition("=") for pair in pairs) if name in VARIABLES}


@pytest.fixture
def written(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["environment"], "environment::variables": VARIABLES})
    assert warnings == []
    return write_files(catalog, tmp_path / "root", "/etc/profile.d")


@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_sh_family_reads_every_value_literally(written, shell):
    assert _shell_env(shell, ["-c", '. "$1" && env -0', "sh", f"{written}/confrt-environment.sh"]) == _expected()


@pytest.mark.parametrize("shell", ["tcsh", "csh"])
def test_csh_reads_every_value_literally(written, shell):
    assert _shell_env(shell, ["-f", "-c", f"source {written}/confrt-environment.csh && env -0"]) == _expected()


def test_the_files_as_cernvm_users_see_them(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["environment"], "environment::variables": {
        "CMS_SITECONFIG": "EC2", "CMS_ROOT": "/opt/cms"}})
    header = "# Managed by confrt (module environment): environment::variables\n"
    assert content(catalog, SH) == header + "export CMS_ROOT='/opt/cms'\nexport CMS_SITECONFIG='EC2'\n"
    assert content(catalog, CSH) == header + "setenv CMS_ROOT '/opt/cms'\nsetenv CMS_SITECONFIG 'EC2'\n"
    assert catalog.get(f"file[{SH}]")["mode"] == "0644"


def test_debians_csh_reads_another_folder(tmp_path):
    """Debian's /etc/csh.login sources /etc/csh/login.d/*, not /etc/profile.d/*.csh."""
    catalog, _ = compile_data(tmp_path, {"classes": ["environment"], "environment::variables": {"A": "1"}},
                              facts={"os": {"family": "Debian"}})
    assert content(catalog, "/etc/csh/login.d/confrt-environment.csh").endswith("setenv A '1'\n")
    assert catalog.get("directory[/etc/csh/login.d]") and catalog.get(f"file[{CSH}]") is None
    assert content(catalog, SH).endswith("export A='1'\n")


def test_no_variables_removes_the_files(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["environment"]})
    assert catalog.get(f"file[{SH}]")["ensure"] == catalog.get(f"file[{CSH}]")["ensure"] == "absent"


@pytest.mark.parametrize("variables, problem", [
    ({"1ABC": "x"}, "'1ABC': not a variable name"),
    ({"A-B": "x"}, "'A-B': not a variable name"),
    ({"A": "two\nlines"}, "A: expected a value on one line"),
    ({"A": ["x"]}, "A: expected a string, got list"),
])
def test_bad_names_and_values_name_the_file(tmp_path, variables, problem):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["environment"], "environment::variables": variables})
    assert "common.yaml: environment::variables: " + problem in str(error.value)
