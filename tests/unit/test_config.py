import pytest

from confrt.config import load_config
from confrt.errors import ConfigError
from confrt.paths import packaged_hiera_config


def write(tmp_path, text):
    path = tmp_path / "confrt.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_when_default_file_missing(monkeypatch, tmp_path):
    monkeypatch.setattr("confrt.config.DEFAULT_PATH", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("CONFRT_CONFIG", raising=False)
    config = load_config()
    assert config.statedir == "/var/lib/confrt"
    assert config.local_data == "/etc/confrt/data/local.yaml"
    assert config.modulepath[0] == "/etc/confrt/modules"
    assert config.userdata["sources"] == ["ec2", "openstack", "nocloud", "context"]
    assert config.userdata["ec2_url"] == "http://169.254.169.254"
    assert config.run["splaylimit"] == 3420


def test_packaged_hiera_used_when_configured_one_missing(tmp_path):
    config = load_config(write(tmp_path, f"hiera_config: {tmp_path}/nope.yaml\n"))
    assert config.effective_hiera_config() == packaged_hiera_config()
    present = tmp_path / "hiera.yaml"
    present.write_text("version: 5\n")
    config = load_config(write(tmp_path, f"hiera_config: {present}\n"))
    assert config.effective_hiera_config() == str(present)


def test_env_var_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "statedir: /tmp/state\n")
    monkeypatch.setenv("CONFRT_CONFIG", path)
    assert load_config().statedir == "/tmp/state"


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("text, message", [
    ("statdir: /x\n", "statdir: unknown key"),
    ("userdata:\n  timeot: 3\n", "userdata.timeot: unknown key"),
    ("statedir: [1]\n", "statedir: expected a string"),
    ("run:\n  splaylimit: true\n", "run.splaylimit: expected an integer"),
    ("modulepath: [/a, 3]\n", r"modulepath\[1\]: expected a string"),
    ("- a\n", "expected a mapping at the top"),
    ("statedir: [\n", r"confrt.yaml:2:1: invalid YAML"),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert path in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_reports_config_error_in_one_line(tmp_path, run_confrt):
    path = write(tmp_path, "bogus: 1\n")
    result = run_confrt("facts", "os.family", "--config", path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"confrt: error: {path}: bogus: unknown key " \
        "(known: hiera_config, modulepath, statedir, local_data, facts_dir, userdata, run, site_data)"


def test_version(run_confrt):
    result = run_confrt("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("confrt ")
