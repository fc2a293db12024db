"""`confrt run` in the scratch system with the default paths: a fresh VM's boot run from a
NoCloud seed converges it in one run (role, user, host name, first-boot script after the apply),
the next run writes nothing outside confrt's own state and log, a new instance-id reruns the script."""
import email.mime.multipart
import email.mime.text

import yaml

from scratch import diff_changes

SEED = "/var/lib/cloud/seed/nocloud"
PASSWORD = "Plain-s3cret-for-alice"
SCRIPT = "#!/bin/sh\n{ id alice; hostname; } >> /root/first-boot.log\necho first boot done\n"
OWN_STATE = ("/var/lib/confrt", "/var/log/confrt")


def seed(system, instance_id):
    message = email.mime.multipart.MIMEMultipart()
    message.attach(email.mime.text.MIMEText(SCRIPT, "x-shellscript"))
    message.attach(email.mime.text.MIMEText(yaml.safe_dump(
        {"role": "physics", "hostname::name": "node17.example.org",
         "accounts::users": {"alice": {"uid": 2345, "group": "physics", "home": "/home/alice",
                                       "managehome": True, "password": PASSWORD}}}), "x-yaml"))
    system.write_file(f"{SEED}/meta-data", f"instance-id: {instance_id}\n")
    system.write_file(f"{SEED}/user-data", message.as_bytes())


def site(system):
    system.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": [f"nocloud:{SEED}"]}}))
    system.write_file("/etc/confrt/data/roles/physics.yaml", yaml.safe_dump(
        {"classes": ["accounts", "hostname"], "accounts::groups": {"physics": {"gid": 2345}}}))


def test_boot_run_converges_a_fresh_host_in_one_run(scratch):
    site(scratch)
    seed(scratch, "i-scratch-0001")
    first = scratch.confrt("run", "--boot")
    assert first.returncode == 2, first.stdout + first.stderr
    assert scratch.run(["getent", "passwd", "alice"]).stdout.split(":")[2:4] == ["2345", "2345"]
    assert scratch.read_text("/etc/hostname") == "node17.example.org\n"
    assert scratch.read_text("/root/first-boot.log") == (
        "uid=2345(alice) gid=2345(physics) groups=2345(physics)\nnode17.example.org\n")
    summary = yaml.safe_load(scratch.read_text("/var/lib/confrt/last_run_summary.yaml"))
    assert summary["steps"]["userdata"]["source"] == f"nocloud:{SEED}"
    assert summary["steps"]["first_boot_scripts"]["status"] == "ok"
    assert scratch.stat("/etc/confrt/data/local.yaml")[0] == 0o600
    log = scratch.read_text("/var/log/confrt/run.log")
    assert "first-boot script 01-part-001: first boot done" in log and "user[alice]" in log
    shadow_hash = scratch.run(["getent", "shadow", "alice"]).stdout.split(":")[1]
    assert shadow_hash.startswith("$6$")
    for secret in (PASSWORD, shadow_hash):
        assert secret not in log and secret not in first.stdout + first.stderr

    before = scratch.changes()
    second = scratch.confrt("run", "--boot")
    assert second.returncode == 0, second.stdout + second.stderr
    hourly = scratch.confrt("run", "--no-splay")
    assert hourly.returncode == 0, hourly.stdout + hourly.stderr
    assert diff_changes(before, scratch.changes(), ignore=OWN_STATE) == []
    assert scratch.read_text("/root/first-boot.log").count("node17") == 1

    seed(scratch, "i-scratch-0002")  # the image booted again as another instance
    third = scratch.confrt("run", "--boot")
    assert third.returncode == 0, third.stdout + third.stderr
    assert scratch.read_text("/root/first-boot.log").count("node17") == 2


def test_boot_run_without_a_seed_applies_and_reports_the_failure(scratch):
    site(scratch)
    scratch.write_file("/etc/confrt/data/common.yaml", yaml.safe_dump({"classes": ["hostname"],
                                                                        "hostname::name": "base.example.org"}))
    scratch.write_file("/etc/confrt/hiera.yaml", yaml.safe_dump({
        "version": 5, "defaults": {"datadir": "/etc/confrt/data", "data_hash": "yaml_data"},
        "hierarchy": [{"name": "local", "path": "%{confrt.local_data}"},
                      {"name": "common", "path": "common.yaml"}]}))
    result = scratch.confrt("run", "--boot")
    assert result.returncode == 6, result.stdout + result.stderr
    assert scratch.read_text("/etc/hostname") == "base.example.org\n"
    assert "no local_data yet: the build-time data only" in result.stderr
    summary = yaml.safe_load(scratch.read_text("/var/lib/confrt/last_run_summary.yaml"))
    assert summary["steps"]["userdata"]["status"] == "failed"
