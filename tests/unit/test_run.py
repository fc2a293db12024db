"""`confrt run` end to end on a scratch site: userdata from a file/nocloud source, real applies."""
import os

import pytest
import yaml
from run_site import make_run_site, multipart_userdata, read, summary


@pytest.fixture
def worker_site(tmp_path):
    """Userdata (a file source) picks role `worker`, whose data declares a file; no role, no file."""
    motd = tmp_path / "motd"
    roles = {"worker": {"resources::file": {str(motd): {"content": "worker node\n"}}}}
    env, paths = make_run_site(tmp_path, roles=roles, sources=[f"file:{tmp_path}/user-data"])
    paths["user-data"], paths["motd"] = str(tmp_path / "user-data"), str(motd)
    return env, paths


def write_userdata(paths, data):
    with open(paths["user-data"], "wb") as handle:
        handle.write(data if isinstance(data, bytes) else yaml.safe_dump(data).encode())


def test_boot_run_takes_role_and_classes_from_userdata_and_converges_in_one_run(worker_site, run_confrt):
    env, paths = worker_site
    write_userdata(paths, {"role": "worker", "classes": ["resources"]})
    first = run_confrt("run", "--boot", env=env)
    assert first.returncode == 2, first.stderr
    assert read(paths["motd"]) == "worker node\n"
    assert yaml.safe_load(read(paths["local.yaml"]))["role"] == "worker"
    assert summary(paths)["steps"]["userdata"]["status"] == "ok"
    assert summary(paths)["resources"]["changed"] == 1
    second = run_confrt("run", "--boot", env=env)
    assert second.returncode == 0, second.stderr
    assert summary(paths)["resources"] == dict(summary(paths)["resources"], changed=0, total=1, failed=0)
    assert "wrote" not in second.stdout  # unchanged userdata rewrites nothing


def test_bad_userdata_keeps_the_last_good_local_data_and_still_applies(worker_site, run_confrt):
    env, paths = worker_site
    write_userdata(paths, {"role": "worker", "classes": ["resources"]})
    assert run_confrt("run", "--boot", env=env).returncode == 2
    good = read(paths["local.yaml"])
    os.unlink(paths["motd"])
    write_userdata(paths, b"role: [unclosed\n")
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 6, result.stderr  # changes (motd again) + the failure bit
    assert read(paths["local.yaml"]) == good and read(paths["motd"]) == "worker node\n"
    step = summary(paths)["steps"]["userdata"]
    assert step["status"] == "failed" and "invalid YAML" in step["error"]
    assert step["kept_local_data"] == paths["local.yaml"]
    assert f"keeping the last good {paths['local.yaml']}" in result.stderr
    # the next run tries again
    write_userdata(paths, {"role": "worker", "classes": ["resources"], "extra": 1})
    assert run_confrt("run", "--boot", env=env).returncode == 0
    assert yaml.safe_load(read(paths["local.yaml"]))["extra"] == 1
    assert summary(paths)["steps"]["userdata"]["status"] == "ok"


def test_dead_source_on_a_fresh_host_applies_the_build_time_data(tmp_path, run_confrt):
    target = tmp_path / "base"
    env, paths = make_run_site(tmp_path, common={"classes": ["resources"],
                                                 "resources::file": {str(target): {"content": "base\n"}}},
                               sources=[f"file:{tmp_path}/missing"])
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 6, result.stderr
    assert read(target) == "base\n" and not os.path.exists(paths["local.yaml"])
    assert "no local_data yet" in result.stderr
    assert summary(paths)["steps"]["userdata"] == {
        "status": "failed", "error": f"{tmp_path}/missing: cannot read: No such file or directory",
        "kept_local_data": None}


def test_userdata_that_does_not_compile_is_rolled_back(worker_site, run_confrt):
    env, paths = worker_site
    write_userdata(paths, {"role": "worker", "classes": ["resources"]})
    assert run_confrt("run", "--boot", env=env).returncode == 2
    good = read(paths["local.yaml"])
    write_userdata(paths, {"role": "worker", "classes": ["resources", "no_such_module"]})
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 4, result.stderr
    assert read(paths["local.yaml"]) == good
    step = summary(paths)["steps"]["userdata"]
    assert step["status"] == "failed" and "the new local_data does not compile" in step["error"]
    assert "no_such_module" in step["error"] and summary(paths)["resources"]["total"] == 1


def test_hourly_run_refreshes_userdata_only_when_configured(worker_site, run_confrt, tmp_path):
    env, paths = worker_site
    write_userdata(paths, {"role": "worker", "classes": ["resources"]})
    assert run_confrt("run", "--no-splay", env=env).returncode == 0
    assert not os.path.exists(paths["local.yaml"]) and not os.path.exists(paths["motd"])
    assert "steps" not in summary(paths)
    env, _ = make_run_site(tmp_path / "refreshing", sources=[f"file:{paths['user-data']}"],
                           run={"refresh_userdata": True},
                           roles={"worker": {"resources::file": {paths["motd"]: {"content": "w\n"}}}})
    assert run_confrt("run", "--no-splay", env=env).returncode == 2
    assert read(paths["motd"]) == "w\n"


def test_empty_source_list_skips_the_refresh_without_failing(tmp_path, run_confrt):
    env, paths = make_run_site(tmp_path, sources=[])
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 0, result.stderr
    assert summary(paths)["steps"]["userdata"] == {"status": "skipped", "reason": "userdata.sources is empty"}


def nocloud_seed(directory, instance_id, data, script):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "meta-data"), "w") as handle:
        handle.write(f"instance-id: {instance_id}\n")
    with open(os.path.join(directory, "user-data"), "wb") as handle:
        handle.write(multipart_userdata(data, script))


def test_first_boot_script_runs_once_per_instance_after_the_apply(tmp_path, run_confrt):
    seed, marker, motd = tmp_path / "seed", tmp_path / "script-ran", tmp_path / "motd"
    roles = {"worker": {"resources::file": {str(motd): {"content": "worker\n"}}}}
    env, paths = make_run_site(tmp_path, roles=roles, sources=[f"nocloud:{seed}"])
    script = f"#!/bin/sh\ncat {motd} >> {marker}\necho script says hello\n"
    data = {"role": "worker", "classes": ["resources"]}
    nocloud_seed(seed, "i-0001", data, script)
    noop = run_confrt("run", "--boot", "--noop", env=env)
    assert noop.returncode == 2, noop.stderr
    assert not marker.exists() and not motd.exists() and not os.path.exists(paths["local.yaml"])
    assert f"file[{motd}]/ensure" in noop.stdout  # the noop saw the role the userdata sets
    assert "would run the first-boot scripts 01-part-001 (noop)" in noop.stdout
    first = run_confrt("run", "--boot", env=env)
    assert first.returncode == 2, first.stderr
    assert read(marker) == "worker\n"  # ran after the apply wrote motd
    assert "confrt: first-boot script 01-part-001: script says hello" in first.stdout
    assert summary(paths)["steps"]["first_boot_scripts"] == {
        "status": "ok", "scripts": ["01-part-001"], "failed": []}
    assert run_confrt("run", "--boot", env=env).returncode == 0
    assert read(marker) == "worker\n"
    assert "first_boot_scripts" not in summary(paths)["steps"]
    nocloud_seed(seed, "i-0002", data, script)  # the image booted as a new instance
    assert run_confrt("run", "--boot", env=env).returncode == 0
    assert read(marker) == "worker\nworker\n"


def test_failed_first_boot_script_sets_the_failure_bit_and_is_not_retried(tmp_path, run_confrt):
    seed = tmp_path / "seed"
    env, paths = make_run_site(tmp_path, sources=[f"nocloud:{seed}"])
    nocloud_seed(seed, "i-0001", {"x": 1}, "#!/bin/sh\necho broken >&2\nexit 3\n")
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 4, result.stderr
    step = summary(paths)["steps"]["first_boot_scripts"]
    assert step["status"] == "failed" and step["failed"] == ["01-part-001"]
    assert run_confrt("run", "--boot", env=env).returncode == 0


def test_boot_noop_plans_the_glidein_proxy_under_the_name_the_real_run_gives_it(tmp_path, run_confrt):
    """The noop's preview keeps the name of each file the userdata writes: glidein names the pilot's
    copy of the proxy after it (the noop planned /home/glidein_pilot/0-pilot_proxy)."""
    fixture = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata",
                           "glidein-ini-args-proxy.txt")
    env, paths = make_run_site(tmp_path, sources=[f"file:{fixture}"])
    result = run_confrt("run", "--boot", "--noop", env=env)
    assert "file[/home/glidein_pilot/pilot_proxy]/ensure: defined content as [redacted]" in result.stdout, \
        result.stdout + result.stderr
    assert '+  "proxy": "/home/glidein_pilot/pilot_proxy",' in result.stdout  # pilot.json's diff
    assert not os.path.exists(paths["local.yaml"]) and "0-pilot_proxy" not in result.stdout


def test_boot_noop_plans_against_the_folders_its_userdata_refresh_makes(tmp_path, run_confrt):
    """The refresh makes local_data's folder before the apply: the noop (which makes nothing) plans
    the catalog as the real run then finds it, a directory resource for that folder in sync."""
    env, paths = make_run_site(tmp_path, sources=[f"file:{tmp_path}/user-data"])
    site = tmp_path / "new"
    with open(paths["confrt.yaml"]) as handle:
        config = yaml.safe_load(handle)
    config["local_data"] = str(site / "data" / "local.yaml")
    with open(paths["confrt.yaml"], "w") as handle:
        yaml.safe_dump(config, handle)
    with open(tmp_path / "user-data", "w") as handle:
        yaml.safe_dump({"classes": ["resources"], "resources::directory": {str(site): {"mode": "0755"}},
                        "resources::file": {str(site / "data" / "motd"): {"content": "x\n"}}}, handle)
    noop = run_confrt("run", "--boot", "--noop", env=env)
    assert noop.returncode == 2 and not site.exists(), noop.stdout + noop.stderr
    real = run_confrt("run", "--boot", env=env)
    assert real.returncode == 2, real.stdout + real.stderr
    planned = [line[:-len(" (noop)")] for line in noop.stdout.splitlines() if line.endswith(" (noop)") and "]/" in line]
    assert planned == [line for line in real.stdout.splitlines() if "]/" in line]
    assert len(planned) == 1 and planned[0].startswith(f"file[{site}/data/motd]/ensure: defined content as ")
