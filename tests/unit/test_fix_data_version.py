"""The run summary's version.config: a short data version of the run's catalog (condor's ConfrtDataVersion)."""
import json
import re

import yaml
from engine_support import make_site

SECRET = "tok-s3cret-7f3a"


def site_data(root, motd="hello", secret=None):
    files = {f"{root}/out/motd": {"content": motd}}
    if secret is not None:
        files[f"{root}/out/token"] = {"content": secret, "sensitive": ["content"], "mode": "0600"}
    return {"classes": ["resources"], "resources::directory": {f"{root}/out": {}}, "resources::file": files}


def applied_version(run_confrt, env, extra_env=None):
    """version.config of last_run_summary.yaml after a `confrt apply` (and the two report files' text)."""
    result = run_confrt("apply", env=dict(env, **(extra_env or {})))
    assert result.returncode == 0, result.stderr
    state = yaml.safe_load(open(env["CONFRT_CONFIG"]))["statedir"]
    summary_text = open(f"{state}/last_run_summary.yaml").read()
    report_text = open(f"{state}/last_run_report.json").read()
    version = yaml.safe_load(summary_text)["version"]["config"]
    assert json.loads(report_text)["summary"]["version"]["config"] == version
    return version, summary_text + report_text + result.stdout + result.stderr


def test_same_data_same_version_across_runs(tmp_path, run_confrt):
    env = make_site(tmp_path, site_data(tmp_path))
    first, _ = applied_version(run_confrt, env)
    assert isinstance(first, str) and re.fullmatch(r"[0-9a-f]{12}", first)
    second, _ = applied_version(run_confrt, env)  # converged run
    assert first == second


def test_changed_data_changes_the_version(tmp_path, run_confrt):
    env = make_site(tmp_path, site_data(tmp_path))
    before, _ = applied_version(run_confrt, env)
    (tmp_path / "data" / "common.yaml").write_text(yaml.safe_dump(site_data(tmp_path, motd="hello again")))
    after, _ = applied_version(run_confrt, env)
    assert after != before
    (tmp_path / "data" / "common.yaml").write_text(yaml.safe_dump(site_data(tmp_path)))
    back, _ = applied_version(run_confrt, env)
    assert back == before


def test_a_secret_changes_the_version_but_never_appears(tmp_path, run_confrt):
    env = make_site(tmp_path, site_data(tmp_path, secret=SECRET))
    version, written = applied_version(run_confrt, env)
    assert (tmp_path / "out" / "token").read_text() == SECRET
    assert SECRET not in written
    again, _ = applied_version(run_confrt, env)
    assert again == version
    (tmp_path / "data" / "common.yaml").write_text(yaml.safe_dump(site_data(tmp_path, secret=SECRET + "2")))
    changed, written = applied_version(run_confrt, env)
    assert changed != version and SECRET not in written


def test_condor_publishes_it_as_confrt_data_version(tmp_path, run_confrt):
    from mod_support import compile_site
    from test_mod_condor import EXECUTE, last_run_ad  # skips without the htcondor bindings

    env = make_site(tmp_path / "site", site_data(tmp_path))
    version, _ = applied_version(run_confrt, env)
    summary = (tmp_path / "site" / "state" / "last_run_summary.yaml").read_text()
    ad = last_run_ad(compile_site(tmp_path / "condor", EXECUTE), tmp_path, summary)
    assert ad["ConfrtDataVersion"] == version
