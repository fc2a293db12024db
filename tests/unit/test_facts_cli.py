"""`confrt facts` end to end: python -m confrt from the source tree."""
import json

import pytest
import yaml
from confrt_testing import REPO


def config_with_facts_dir(tmp_path, files):
    facts_dir = tmp_path / "facts.d"
    facts_dir.mkdir()
    for name, text in files.items():
        (facts_dir / name).write_text(text)
    config = tmp_path / "confrt.yaml"
    config.write_text(f"facts_dir: {facts_dir}\n")
    return config


def test_one_scalar_prints_plainly(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {})
    result = run_confrt("facts", "kernel", "--config", config)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Linux\n"


def test_booleans_print_as_yaml_words(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {"f.yaml": "managed: true\nlegacy: false\n"})
    assert run_confrt("facts", "managed", "--config", config).stdout == "true\n"
    assert run_confrt("facts", "legacy", "--config", config).stdout == "false\n"


def test_structure_as_yaml_and_json(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {"site.yaml": "site: {name: bnl, racks: [1, 2]}\n"})
    as_yaml = run_confrt("facts", "site", "--config", config)
    assert as_yaml.returncode == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == {"name": "bnl", "racks": [1, 2]}
    as_json = run_confrt("facts", "site", "--json", "--config", config)
    assert json.loads(as_json.stdout) == {"name": "bnl", "racks": [1, 2]}
    assert json.loads(run_confrt("facts", "site.name", "--json", "--config", config).stdout) == "bnl"


def test_all_facts_as_yaml_and_json_agree(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {"site.json": '{"site": "bnl"}'})
    as_yaml = run_confrt("facts", "--config", config)
    as_json = run_confrt("facts", "--json", "--config", config)
    assert as_yaml.returncode == 0 and as_json.returncode == 0, as_yaml.stderr + as_json.stderr
    from_yaml, from_json = yaml.safe_load(as_yaml.stdout), json.loads(as_json.stdout)
    assert from_yaml["site"] == "bnl"
    for name in ("os", "kernel", "networking", "processors", "memory", "mountpoints", "disks",
                 "virtual", "is_virtual", "cmdline", "osfamily", "processorcount", "uptime_seconds"):
        assert name in from_json, name
    assert list(from_json) == sorted(from_json)
    assert from_yaml["os"] == from_json["os"]
    assert from_yaml["processors"] == from_json["processors"]


def test_facts_file_overrides_by_name(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {"site.yaml": "role: worker\n"})
    overrides = tmp_path / "node.yaml"
    overrides.write_text("os.family: RedHat\nrole: submit\n")
    assert run_confrt("facts", "os.family", "--facts", overrides, "--config", config).stdout == "RedHat\n"
    assert run_confrt("facts", "osfamily", "--facts", overrides, "--config", config).stdout == "RedHat\n"
    assert run_confrt("facts", "role", "--facts", overrides, "--config", config).stdout == "submit\n"


def test_unknown_name_is_one_line_exit_1(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {})
    result = run_confrt("facts", "os.nosuch", "--config", config)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "confrt: error: os.nosuch: no such fact\n"


def test_bad_facts_file_is_one_line_exit_1(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {})
    bad = tmp_path / "bad.json"
    bad.write_text('{"os": ')
    result = run_confrt("facts", "os", "--facts", bad, "--config", config)
    assert result.returncode == 1
    assert result.stderr.startswith(f"confrt: error: {bad}:1:8: invalid JSON")
    assert result.stderr.count("\n") == 1


def test_bad_facts_dir_file_names_the_file(run_confrt, tmp_path):
    config = config_with_facts_dir(tmp_path, {"10-broken.yaml": "a: b: c\n"})
    result = run_confrt("facts", "kernel", "--config", config)
    assert result.returncode == 1
    assert f"{tmp_path / 'facts.d' / '10-broken.yaml'}:1:5: invalid YAML" in result.stderr
    assert result.stderr.count("\n") == 1


def test_cmdline_fact_from_the_running_kernel(run_confrt, tmp_path):
    from confrt.facts.kernel import parse_cmdline

    with open("/proc/cmdline") as handle:
        expected = parse_cmdline(handle.read())
    config = config_with_facts_dir(tmp_path, {})
    result = run_confrt("facts", "cmdline", "--json", "--config", config)
    assert json.loads(result.stdout) == expected


def test_a_subcommand_imports_only_its_own_command_module(tmp_path):
    """cli.build_parser: `confrt facts os.family` must not pay for the other commands."""
    import subprocess
    import sys

    config = config_with_facts_dir(tmp_path, {})
    script = (
        "import sys\n"
        "from confrt.cli import main\n"
        f"code = main(['facts', 'os.family', '--config', {str(config)!r}])\n"
        "print(sorted(m for m in sys.modules if m.startswith('confrt.commands.')), 'psutil' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['confrt.commands.facts'] False"


def install_fact_plugin(tmp_path):
    """A real distribution on PYTHONPATH whose `confrt` entry point registers site.rack.

    Importing the plugin leaves a marker file, so a test can tell whether it was loaded.
    """
    import os

    site = tmp_path / "site-packages"
    (site / "confrt_site_facts-0.1.dist-info").mkdir(parents=True)
    (site / "confrt_site_facts-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: confrt-site-facts\nVersion: 0.1\n")
    (site / "confrt_site_facts-0.1.dist-info" / "entry_points.txt").write_text(
        "[confrt]\nsite_facts = confrt_site_facts\n")
    marker = tmp_path / "plugin-loaded"
    (site / "confrt_site_facts.py").write_text(
        "from confrt.engine.hookspecs import hookimpl\n"
        f"open({str(marker)!r}, 'w').close()\n\n"
        "@hookimpl\n"
        "def confrt_facts(facts):\n"
        "    facts.register('site.rack', lambda: 'r12')\n"
        "    facts.register('site.room', lambda: 3)\n")
    return {"PYTHONPATH": f"{REPO}{os.pathsep}{site}"}, marker


def test_plugin_facts_are_shown_and_loaded_only_when_needed(run_confrt, tmp_path):
    env, marker = install_fact_plugin(tmp_path)
    config = config_with_facts_dir(tmp_path, {})
    result = run_confrt("facts", "kernel", "--config", config, env=env)
    assert result.stdout == "Linux\n" and not marker.exists()
    result = run_confrt("facts", "site.rack", "--config", config, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "r12\n" and marker.exists()
    everything = json.loads(run_confrt("facts", "--json", "--config", config, env=env).stdout)
    assert everything["site"] == {"rack": "r12", "room": 3}


def test_help_still_lists_every_command(run_confrt):
    from confrt.cli import COMMANDS

    result = run_confrt("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert f"    {name} " in result.stdout or f"    {name}\n" in result.stdout, name
    wrong = run_confrt("nosuch")
    assert wrong.returncode == 2 and "invalid choice: 'nosuch'" in wrong.stderr


def test_all_facts_without_fact_plugins_do_not_load_pluggy(tmp_path):
    import subprocess
    import sys

    from confrt.engine.entry_points import declared

    if declared("confrt"):
        pytest.skip("an installed distribution declares confrt plugins: they are loaded, rightly")
    config = config_with_facts_dir(tmp_path, {})
    script = (
        "import io, sys, contextlib\n"
        "from confrt.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['facts', '--config', {str(config)!r}])\n"
        "print(code, 'pluggy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.split() == ["0", "False"], result.stderr
