"""`confrt site-data status`, and the `site_data:` settings refused in one line."""
import json

import pytest
import yaml
from site_data_support import Keys, served_site
from test_site_data import motd_data, run


@pytest.fixture
def site(tmp_path):
    served = served_site(tmp_path, Keys(tmp_path / "keys"))
    yield served
    served[1].stop()


def test_site_data_status_shows_the_commit_in_use_its_signer_and_the_last_fetch(site, run_confrt):
    repo, _, env, paths = site
    good = repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    bad = repo.commit(motd_data(paths, "unsigned\n"), signer=None)
    assert run(run_confrt, env).returncode == 4
    result = run_confrt("site-data", "status", env=env)
    assert result.returncode == 0, result.stderr
    status = yaml.safe_load(result.stdout)
    assert status["in_use"]["commit"] == good and status["in_use"]["signer"] == "alice@example.org"
    assert status["in_use"]["key"].startswith("SHA256:") and status["in_use"]["ref"] == "main"
    assert status["last_fetch"]["status"] == "failed" and status["last_fetch"]["commit"] == bad
    assert status["last_fetch"]["error"] == f"commit {bad}: refused: not signed"
    assert json.loads(run_confrt("site-data", "status", "--json", env=env).stdout) == status


def test_site_data_status_without_site_data(tmp_path, run_confrt):
    config = tmp_path / "confrt.yaml"
    config.write_text("statedir: /nonexistent\n")
    result = run_confrt("site-data", "status", "--config", config)
    assert result.returncode == 0
    assert result.stdout == f"confrt: site data: not configured (no site_data.url in {config})\n"
    as_json = run_confrt("site-data", "status", "--json", "--config", config)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == {"url": None}, as_json.stdout
    assert as_json.stderr == result.stdout


@pytest.mark.parametrize("settings, message", [
    ({"url": "--upload-pack=touch /tmp/x"}, "site_data.url: must not hold spaces or control characters"),
    ({"url": "-oProxyCommand=x"}, "site_data.url: expected a https://"),
    ({"url": "git://h/r", "ref": "-x"}, "site_data.ref: expected a branch, tag or ref name"),
    ({"url": "git://h/r", "allowed_signers": ""}, "site_data.allowed_signers: required with site_data.url"),
    ({"url": "git://h/r", "allowed_signers": "signers"}, "site_data.allowed_signers: expected an absolute path"),
    ({"url": "git://h/r", "keep": 1}, "site_data.keep: expected 2 or more"),
    ({"url": "git://h/r", "total_timeout": 0}, "site_data.total_timeout: expected a number of seconds above 0"),
    ({"url": "git://h/r", "bogus": 1}, "site_data.bogus: unknown key"),
])
def test_bad_site_data_settings_are_one_line(tmp_path, run_confrt, settings, message):
    config = tmp_path / "confrt.yaml"
    config.write_text(yaml.safe_dump({"site_data": settings}))
    result = run_confrt("facts", "kernel", "--config", config)
    assert result.returncode == 1
    assert result.stderr.startswith(f"confrt: error: {config}: {message}") and result.stderr.count("\n") == 1


def test_the_readme_example_is_a_valid_setting(tmp_path):
    """docs/runs.md's `site_data:` example loads (and names keys that exist)."""
    import os
    import re

    from confrt.config import load_config
    from confrt_testing import REPO

    with open(os.path.join(REPO, "docs", "runs.md")) as handle:
        section = handle.read().split("## Site data from git", 1)[1].split("\n## ", 1)[0]
    [example] = re.findall(r"```yaml\n(.*?)```", section, re.S)
    config = tmp_path / "confrt.yaml"
    config.write_text(example)
    settings = load_config(str(config)).site_data
    assert settings["ref"] == "%{facts.role}" and settings["url"].startswith("https://")
