"""Writing userdata: local_data, write_files, state, first-boot scripts, noop and show (CLI and library)."""
import base64
import grp
import gzip
import os

import pytest
import yaml
from userdata_helpers import FIXTURES, write_config

from confrt.config import load_config
from confrt.userdata.local import first_boot_scripts_pending, mark_scripts_done, run_first_boot_scripts
from confrt.userdata.refresh import refresh_local_data


def _cloud_config(tmp_path, extra_entry=""):
    local = base64.b64encode(b"classes: [cvmfs]\naccounts::users: {bob: {password: s3cretpw}}\n").decode()
    return (f"#cloud-config\nwrite_files:\n"
            f"- path: {tmp_path}/data/local.yaml\n  encoding: b64\n  content: {local}\n"
            f"- path: {tmp_path}/etc/app.conf\n  content: 'setting = 1'\n  owner: root:daemon\n"
            f"  permissions: '0640'\n"
            f"- path: {tmp_path}/etc/appended\n  content: \"line\\n\"\n  append: true\n"
            f"{extra_entry}").encode()


def _seed(tmp_path, userdata, instance_id="iid-one"):
    seed = tmp_path / "seed"
    seed.mkdir(exist_ok=True)
    (seed / "user-data").write_bytes(userdata)
    (seed / "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: node1\n")
    return f"nocloud:{seed}"


def test_fetch_writes_local_data_and_files_then_nothing_when_unchanged(tmp_path, run_confrt):
    source = _seed(tmp_path, _cloud_config(tmp_path))
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "appended").write_text("existing\n")
    config = write_config(tmp_path, sources=[source])
    first = run_confrt("userdata", "fetch", "--config", config)
    assert first.returncode == 0, first.stderr
    local = tmp_path / "data" / "local.yaml"
    assert os.stat(local).st_mode & 0o777 == 0o600
    data = yaml.safe_load(local.read_text())
    assert data["classes"] == ["cvmfs"]
    assert data["confrt::instance_id"] == "iid-one"
    assert data["confrt::local_hostname"] == "node1"
    app = tmp_path / "etc" / "app.conf"
    assert app.read_text() == "setting = 1"
    assert os.stat(app).st_mode & 0o777 == 0o640
    assert os.stat(app).st_gid == grp.getgrnam("daemon").gr_gid
    assert (tmp_path / "etc" / "appended").read_text() == "existing\nline\n"
    assert "s3cretpw" not in first.stdout + first.stderr
    before = os.stat(local)
    second = run_confrt("userdata", "fetch", "--config", config)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    assert (tmp_path / "etc" / "appended").read_text() == "existing\nline\n"  # appended once per instance
    after = os.stat(local)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


BAD_ENTRY = "- path: /nonexistent-dir/x\n  encoding: b64\n  content: '%%%'\n"


@pytest.mark.parametrize("make_bad", [
    lambda tmp: _cloud_config(tmp, BAD_ENTRY),
    lambda tmp: gzip.compress(_cloud_config(tmp))[:-12],
    lambda tmp: b"classes: [a\n  broken: yaml: here\n",
    lambda tmp: base64.b64encode(b"no sections here\n") + b"####args",
    lambda tmp: _cloud_config(tmp, "- path: /tmp/x\n  owner: no-such-user-xyz\n"),
], ids=["bad base64", "broken gzip", "invalid yaml", "ini without sections", "unknown owner"])
def test_bad_userdata_leaves_previous_local_data_and_writes_nothing(tmp_path, run_confrt, make_bad):
    good = tmp_path / "good"
    good.write_bytes(b"classes: [squid]\n")
    config = write_config(tmp_path)
    assert run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{good}").returncode == 0
    local = tmp_path / "data" / "local.yaml"
    before = (local.read_bytes(), os.stat(local).st_ino)
    bad = tmp_path / "bad"
    bad.write_bytes(make_bad(tmp_path))
    result = run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{bad}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("confrt: error: "), result.stderr
    assert (local.read_bytes(), os.stat(local).st_ino) == before
    assert not (tmp_path / "etc").exists()
    assert not [n for n in os.listdir(local.parent) if n != "local.yaml"]


def test_noop_writes_nothing_and_redacts(tmp_path, run_confrt):
    source = _seed(tmp_path, _cloud_config(tmp_path))
    config = write_config(tmp_path, sources=[source])
    result = run_confrt("userdata", "fetch", "--noop", "--config", config)
    assert result.returncode == 0, result.stderr
    assert f"would write {tmp_path}/data/local.yaml (mode 0600" in result.stdout
    assert f"would write {tmp_path}/etc/app.conf (mode 0640" in result.stdout
    assert "password: '[redacted]'" in result.stdout
    assert "s3cretpw" not in result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path)) == ["confrt.yaml", "seed"]


def test_show_prints_redacted_data_and_files_without_writing(tmp_path, run_confrt):
    with open(os.path.join(FIXTURES, "glidein-ini-args-proxy.txt"), "rb") as handle:
        sample = tmp_path / "ud"
        sample.write_bytes(handle.read())
    config = write_config(tmp_path)
    result = run_confrt("userdata", "show", "--config", config, "--source", f"file:{sample}")
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["glidein::proxy_file"] == f"{tmp_path}/state/glidein/pilot_proxy"
    assert "# file: " + f"{tmp_path}/state/glidein/pilot_proxy (mode 0600" in result.stdout
    assert "MIIproxysecret" not in result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path)) == ["confrt.yaml", "ud"]


def test_glidein_proxy_written_0600_and_never_printed(tmp_path, run_confrt):
    sample = tmp_path / "ud"
    with open(os.path.join(FIXTURES, "glidein-ini-args-proxy.txt"), "rb") as handle:
        sample.write_bytes(handle.read())
    config = write_config(tmp_path)
    result = run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{sample}")
    assert result.returncode == 0, result.stderr
    proxy = tmp_path / "state" / "glidein" / "pilot_proxy"
    assert b"MIIproxysecret" in proxy.read_bytes()
    assert os.stat(proxy).st_mode & 0o777 == 0o600
    assert "MIIproxysecret" not in result.stdout + result.stderr


def test_no_source_answering_is_one_clear_error(tmp_path, run_confrt):
    config = write_config(tmp_path, sources=[f"nocloud:{tmp_path}/missing-seed"])
    result = run_confrt("userdata", "fetch", "--config", config)
    assert result.returncode == 1
    assert result.stderr.startswith("confrt: error: no userdata source answered (nocloud:")
    assert not (tmp_path / "data").exists()


SCRIPT = b"#!/bin/sh\necho ran >> \"$(dirname \"$0\")/../../../ran.log\"\necho script output\nexit\n[amiconfig]\nplugins = hostname\n[hostname]\nhostname = n1\n"


def _refresh(tmp_path, userdata, instance_id):
    config = load_config(str(write_config(tmp_path, sources=[_seed(tmp_path, userdata, instance_id)])))
    refresh_local_data(config)
    return config


def test_first_boot_scripts_run_once_per_instance_and_userdata(tmp_path):
    config = _refresh(tmp_path, SCRIPT, "iid-one")
    assert yaml.safe_load((tmp_path / "data" / "local.yaml").read_text())["hostname::name"] == "n1"
    pending = first_boot_scripts_pending(config)
    assert len(pending) == 1 and os.stat(pending[0]).st_mode & 0o777 == 0o700
    logged = []
    results = run_first_boot_scripts(config, logged.append)
    assert [r.returncode for r in results] == [0]
    assert any("script output" in line for line in logged)
    ran = tmp_path / "state" / "ran.log"
    assert ran.read_text() == "ran\n"
    assert first_boot_scripts_pending(config) == []
    assert run_first_boot_scripts(config, logged.append) == []
    # the same instance and userdata fetched again (e.g. after a host move): nothing to run
    config = _refresh(tmp_path, SCRIPT, "iid-one")
    assert first_boot_scripts_pending(config) == []
    # a new instance-id is a first boot
    config = _refresh(tmp_path, SCRIPT, "iid-two")
    assert len(first_boot_scripts_pending(config)) == 1
    mark_scripts_done(config)
    assert first_boot_scripts_pending(config) == []
    # new userdata on the same instance runs its scripts once
    config = _refresh(tmp_path, SCRIPT.replace(b"n1", b"n2"), "iid-two")
    assert len(first_boot_scripts_pending(config)) == 1
    assert ran.read_text() == "ran\n"


def test_noop_refresh_stores_no_scripts(tmp_path):
    config = load_config(str(write_config(tmp_path, sources=[_seed(tmp_path, SCRIPT, "iid-x")])))
    _, decoded, writes = refresh_local_data(config, noop=True)
    assert [s.name for s in decoded.scripts] == ["userdata-script"]
    assert writes and first_boot_scripts_pending(config) == []
    assert not (tmp_path / "state").exists()


def test_unwritable_target_is_one_line_error_and_local_data_kept(tmp_path, run_confrt):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    good = tmp_path / "good"
    good.write_bytes(b"classes: [squid]\n")
    config = write_config(tmp_path)
    assert run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{good}").returncode == 0
    local = tmp_path / "data" / "local.yaml"
    before = local.read_bytes()
    bad = tmp_path / "ud"
    bad.write_bytes(f"#cloud-config\nwrite_files:\n- path: {blocker}/inside\n  content: x\n"
                    f"confrt: {{classes: [condor]}}\n".encode())
    result = run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{bad}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"confrt: error: {blocker}/inside: cannot write: ")
    assert local.read_bytes() == before


def test_source_without_userdata_writes_metadata_only(tmp_path, run_confrt):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "meta-data").write_text("instance-id: 1234\n")
    config = write_config(tmp_path, sources=[f"nocloud:{seed}"])
    result = run_confrt("userdata", "fetch", "--config", config)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((tmp_path / "data" / "local.yaml").read_text())
    assert data == {"confrt::instance_id": "1234", "confrt::userdata_source": f"nocloud:{seed}"}
