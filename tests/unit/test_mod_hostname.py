"""hostname module: /etc/hostname, the exec that fits the init system, EL6 sysconfig, checks."""
import subprocess

import pytest
from node_modules_support import compile_data, content, of_type

from confrt.errors import CompileError


def test_name_file_and_one_exec_per_init_system(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["hostname"], "hostname::name": "wn042.example.org"},
                                     facts={"os": {"family": "Debian"}})
    assert content(catalog, "/etc/hostname") == "wn042.example.org\n"
    execs = of_type(catalog, "exec")
    assert execs["hostnamectl set-hostname"]["command"] == ["hostnamectl", "set-hostname", "wn042.example.org"]
    assert execs["hostname"]["command"] == ["hostname", "wn042.example.org"]
    assert of_type(catalog, "line") == {} and warnings == []


def test_exec_checks_pick_exactly_one_command(tmp_path):
    """The onlyif checks, run with /bin/sh here: exactly one of them passes when the name differs."""
    catalog, _ = compile_data(tmp_path, {"classes": ["hostname"], "hostname::name": "surely-not-this-host"})
    execs = of_type(catalog, "exec")
    passed = [title for title, r in execs.items() if subprocess.run(r["onlyif"]).returncode == 0]
    assert len(passed) == 1
    current = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    catalog, _ = compile_data(tmp_path / "same", {"classes": ["hostname"], "hostname::name": current})
    assert all(subprocess.run(r["onlyif"]).returncode != 0 for r in of_type(catalog, "exec").values())


def test_el6_sysconfig_and_hosts_entry(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["hostname"], "hostname::name": "wn1.example.org",
                                         "hostname::hosts_entry": True},
                              facts={"os": {"family": "RedHat", "release": {"major": "6"}}})
    lines = of_type(catalog, "line")
    assert lines["HOSTNAME in /etc/sysconfig/network"]["line"] == "HOSTNAME=wn1.example.org"
    assert lines["hosts entry of the host name"]["line"] == "127.0.1.1\twn1.example.org wn1"


def test_unset_name_manages_nothing(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["hostname"]})
    assert len(catalog) == 0


@pytest.mark.parametrize("name", ["-bad.example.org", "a" * 64, "under_score", "two words", "x..y"])
def test_bad_name_is_a_compile_error_naming_the_file(tmp_path, name):
    with pytest.raises(CompileError, match=r"common.yaml: hostname::name: .* is not a host name"):
        compile_data(tmp_path, {"classes": ["hostname"], "hostname::name": name})
