"""`confrt lookup` end to end: a real process on a hierarchy written to a temp dir."""
import json

import pytest
import yaml

HIERA = """\
version: 5
defaults:
  datadir: data
hierarchy:
  - name: runtime
    path: "%{confrt.local_data}"
  - name: os
    path: "os/%{facts.os.family}.yaml"
  - name: common
    path: common.yaml
"""


@pytest.fixture
def site(tmp_path):
    """A confrt.yaml naming a hiera.yaml, local_data, a modulepath and a facts file."""
    (tmp_path / "data" / "os").mkdir(parents=True)
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "local.yaml").write_text("classes: ['--ntp', squid]\nport: 8080\n")
    (tmp_path / "data" / "os" / "Debian.yaml").write_text("classes: [apt]\nport: 3128\n")
    (tmp_path / "data" / "common.yaml").write_text(yaml.safe_dump({
        "lookup_options": {"token": {"sensitive": True}},
        "classes": ["ntp", "base"], "port": 80, "token": "t0ps3cret", "settings": {"a": 1, "b": "--"},
    }))
    module = tmp_path / "modules" / "cvmfs" / "data"
    module.mkdir(parents=True)
    (module / "common.yaml").write_text("cvmfs::quota_limit: 4000\n")
    (module.parent / "module.py").write_text('"""cvmfs client (test module)."""\n')
    (tmp_path / "facts.json").write_text(json.dumps({"os": {"family": "Debian"}}))
    (tmp_path / "facts.d").mkdir()
    (tmp_path / "confrt.yaml").write_text(yaml.safe_dump({
        "hiera_config": str(tmp_path / "hiera.yaml"), "local_data": str(tmp_path / "local.yaml"),
        "modulepath": [str(tmp_path / "modules")], "facts_dir": str(tmp_path / "facts.d"),
    }))
    return tmp_path


def lookup(run_confrt, site, *args):
    return run_confrt("lookup", "--config", site / "confrt.yaml", "--facts", site / "facts.json", *args)


def test_first_found_with_local_data_on_top(run_confrt, site):
    result = lookup(run_confrt, site, "port", "--render-as", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == 8080


def test_yaml_is_the_default_rendering(run_confrt, site):
    result = lookup(run_confrt, site, "classes")
    assert yaml.safe_load(result.stdout) == ["--ntp", "squid"]


def test_unique_merge_with_knockout(run_confrt, site):
    result = lookup(run_confrt, site, "classes", "--merge", "unique", "--knockout-prefix=--", "--render-as", "json")
    assert json.loads(result.stdout) == ["squid", "apt", "base"]


def test_knockout_prefix_alone_means_dashes_and_deep_merge(run_confrt, site):
    result = lookup(run_confrt, site, "--render-as", "json", "--knockout-prefix", "--", "settings")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"a": 1}
    alone = lookup(run_confrt, site, "settings", "--render-as", "json", "--knockout-prefix")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout) == {"a": 1}


def test_module_data_from_the_modulepath(run_confrt, site):
    result = lookup(run_confrt, site, "cvmfs::quota_limit")
    assert result.stdout.strip() == "4000"


def test_not_found_exits_1_with_one_line(run_confrt, site):
    result = lookup(run_confrt, site, "nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("confrt: error: no value found for key 'nope'")
    assert result.stderr.count("\n") == 1


def test_sensitive_values_are_redacted_unless_asked(run_confrt, site):
    hidden = lookup(run_confrt, site, "token")
    assert "t0ps3cret" not in hidden.stdout and "[redacted]" in hidden.stdout
    shown = lookup(run_confrt, site, "token", "--show-sensitive")
    assert shown.stdout.strip() == "t0ps3cret"
    explained = lookup(run_confrt, site, "token", "--explain", "--show-sensitive")
    assert "t0ps3cret" not in explained.stdout and "[redacted]" in explained.stdout


def test_a_modules_sensitive_parameter_is_redacted_unless_asked(run_confrt, site):
    module = site / "modules" / "pool"
    module.mkdir()
    (module / "module.py").write_text(
        "from confrt.engine.params import Param\n"
        "PARAMS = [Param('password', str, None, 'pool password', sensitive=True), Param('port', int, 1)]\n")
    with open(site / "local.yaml", "a") as handle:
        handle.write("pool::password: hunter2pw\npool::port: 9618\n")
    for args in [(), ("--explain",), ("--render-as", "json")]:
        hidden = lookup(run_confrt, site, "pool::password", *args)
        assert hidden.returncode == 0, hidden.stderr
        assert "hunter2pw" not in hidden.stdout and "[redacted]" in hidden.stdout
    assert lookup(run_confrt, site, "pool::password", "--show-sensitive").stdout.strip() == "hunter2pw"
    assert lookup(run_confrt, site, "pool::port").stdout.strip() == "9618"


def test_explain_lists_each_level(run_confrt, site):
    result = lookup(run_confrt, site, "port", "--explain", "--merge", "deep")
    assert result.returncode == 0, result.stderr
    for text in ('Hierarchy entry "runtime"', str(site / "local.yaml"), "os/%{facts.os.family}.yaml",
                 'Hierarchy entry "common"', "Merge strategy: deep (requested)", "Result: 8080"):
        assert text in result.stdout


def test_hiera_config_option_and_bad_yaml(run_confrt, site, tmp_path):
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    (other / "hiera.yaml").write_text("version: 5\n")
    (other / "data" / "common.yaml").write_text("a: 1\nb: {c: [1, 2}\n")
    result = lookup(run_confrt, site, "a", "--hiera-config", other / "hiera.yaml")
    assert result.returncode == 1
    assert result.stderr.startswith(f"confrt: error: {other / 'data' / 'common.yaml'}:2:")
    assert result.stderr.count("\n") == 1
