"""confrt submit: node-type file -> HTCondor-G submit description (read back by HTCondor) + userdata."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
ACCESS = "AKIAIOSFODNN7EXAMPLE"
LOCAL_DATA = "/etc/confrt/data/local.yaml"

# Parses the submit description with HTCondor's own parser and prints what it read back.
READ_BACK = r"""
import json, sys, time
import classad2, htcondor2
submit = htcondor2.Submit(open(sys.argv[1]).read())
values = {key: submit.expand(key) for key in submit.keys()}
expr = classad2.ExprTree(values["periodic_remove"])
now = int(time.time())
def removed(status, age):
    return bool(expr.eval(classad2.ClassAd({"JobStatus": status, "EnteredCurrentStatus": now - age})))
cases = {name: removed(*case) for name, case in json.loads(sys.argv[2]).items()}
print(json.dumps({"values": values, "queue": submit.getQArgs(), "removed": cases}))
"""


@pytest.fixture
def node_dir(tmp_path):
    (tmp_path / "ec2_access").write_text(ACCESS + "\n")
    secret = tmp_path / "ec2_secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    (tmp_path / "worker-data.yaml").write_text(
        "classes: [htcondor]\nhtcondor::collector_host: cm.example.org\nhtcondor::daemon_list: MASTER\n")
    (tmp_path / "motd").write_text("welcome\n")
    (tmp_path / "out").mkdir()
    return tmp_path


NODE_TYPE = """\
ami: ami-0123456789abcdef0
instance_type: m5.large
role: worker
data: worker-data.yaml
files: {/etc/motd: motd}
access_key_file: ec2_access
secret_key_file: ec2_secret
ec2_url: https://ec2.us-east-1.amazonaws.com
keypair: ops-key
security_groups: [condor-workers, ssh]
tags: {Name: confrt-worker, Project: atlas, cost_center: 42}
periodic_remove: {held: 300}
"""


def write_node(node_dir, text=NODE_TYPE, name="worker.yaml"):
    path = node_dir / name
    path.write_text(text)
    return path


def read_back(submit_file, cases):
    try:
        import htcondor2  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"HTCondor's Python bindings are not installed (PyPI htcondor): {exc}")
    result = subprocess.run([sys.executable, "-c", READ_BACK, str(submit_file), json.dumps(cases)],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, CONDOR_CONFIG="/dev/null"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_submit_description_read_back_by_htcondor(run_confrt, node_dir):
    node = write_node(node_dir)
    out = node_dir / "out"
    result = run_confrt("submit", node, "--count", "5", "-o", out)
    assert result.returncode == 0, result.stderr
    submit_file, userdata_file = out / "worker.sub", out / "worker.userdata"
    assert f"condor_submit {submit_file}" in result.stdout
    parsed = read_back(submit_file, {"held_long": [5, 301], "held_short": [5, 100], "idle_long": [1, 1801],
                                     "idle_short": [1, 1000], "running": [2, 10 ** 6]})
    values = parsed["values"]
    assert parsed["queue"] == "5"
    assert values["universe"] == "grid"
    assert values["grid_resource"] == "ec2 https://ec2.us-east-1.amazonaws.com"
    assert values["ec2_ami_id"] == "ami-0123456789abcdef0"
    assert values["ec2_instance_type"] == "m5.large"
    assert values["ec2_access_key_id"] == str(node_dir / "ec2_access")
    assert values["ec2_secret_access_key"] == str(node_dir / "ec2_secret")
    assert values["ec2_user_data_file"] == str(userdata_file)
    assert values["ec2_keypair"] == "ops-key"
    assert [g.strip() for g in values["ec2_security_groups"].split(",")] == ["condor-workers", "ssh"]
    assert values["ec2_tag_names"].split(",") == ["Name", "Project", "cost_center"]
    assert (values["ec2_tag_Name"], values["ec2_tag_Project"], values["ec2_tag_cost_center"]) == \
        ("confrt-worker", "atlas", "42")
    assert (values["MY.ConfrtNodeType"], values["MY.ConfrtRole"]) == ('"worker"', '"worker"')
    # held 300 s (configured) or idle 1800 s (default) removes the job; a running VM stays
    assert parsed["removed"] == {"held_long": True, "held_short": False, "idle_long": True,
                                 "idle_short": False, "running": False}


def test_userdata_writes_data_files_and_role_and_no_secret(run_confrt, node_dir):
    node = write_node(node_dir)
    result = run_confrt("submit", node, "-o", node_dir / "out")
    assert result.returncode == 0, result.stderr
    raw = (node_dir / "out" / "worker.userdata").read_bytes()
    assert oct((node_dir / "out" / "worker.userdata").stat().st_mode & 0o777) == oct(0o600)
    from confrt.userdata.formats import decode_userdata

    decoded = decode_userdata(raw, LOCAL_DATA, str(node_dir / "state"), 1 << 20)
    assert decoded.data == {"classes": ["htcondor"], "htcondor::collector_host": "cm.example.org",
                            "htcondor::daemon_list": "MASTER"}
    files = {item.path: item.content for item in decoded.files}
    assert files == {"/etc/motd": b"welcome\n", "/etc/confrt/facts.d/role.yaml": b"role: worker\n"}
    # on the VM, that file in facts_dir is what gives the hierarchy its %{role}
    from confrt.facts import Facts

    (node_dir / "facts.d").mkdir()
    (node_dir / "facts.d" / "role.yaml").write_bytes(files["/etc/confrt/facts.d/role.yaml"])
    assert Facts(facts_dir=str(node_dir / "facts.d")).get("role") == "worker"
    everything = raw + (node_dir / "out" / "worker.sub").read_bytes() + (result.stdout + result.stderr).encode()
    assert SECRET.encode() not in everything and ACCESS.encode() not in everything
    assert b"queue 1\n" in (node_dir / "out" / "worker.sub").read_bytes()


def test_rerun_leaves_unchanged_files_alone(run_confrt, node_dir):
    node = write_node(node_dir)
    out = node_dir / "out"
    assert run_confrt("submit", node, "-o", out).returncode == 0
    before = {name: os.stat(out / name).st_mtime_ns for name in ("worker.sub", "worker.userdata")}
    time.sleep(0.01)
    again = run_confrt("submit", node, "-o", out)
    assert again.returncode == 0
    assert again.stdout.count("unchanged ") == 2
    assert {name: os.stat(out / name).st_mtime_ns for name in before} == before
    changed = run_confrt("submit", node, "-o", out, "--count", "3")
    assert f"wrote {out / 'worker.sub'}" in changed.stdout and f"unchanged {out / 'worker.userdata'}" in changed.stdout
    assert "queue 3\n" in (out / "worker.sub").read_text()


def test_gzip_and_count_from_the_file(run_confrt, node_dir):
    node = write_node(node_dir, NODE_TYPE + "gzip: true\ncount: 7\n")
    result = run_confrt("submit", node, "-o", node_dir / "out")
    assert result.returncode == 0, result.stderr
    assert (node_dir / "out" / "worker.userdata").read_bytes()[:2] == b"\x1f\x8b"
    assert "queue 7\n" in (node_dir / "out" / "worker.sub").read_text()


def test_readable_secret_key_file_warns(run_confrt, node_dir):
    (node_dir / "ec2_secret").chmod(0o644)
    result = run_confrt("submit", write_node(node_dir), "-o", node_dir / "out")
    assert result.returncode == 0
    assert "ec2_secret: secret key file is readable by group or others" in result.stderr


def _replace(key, value):
    lines = [line for line in NODE_TYPE.splitlines() if not line.startswith(key + ":")]
    if value is not None:
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


BAD_NODE_TYPES = [
    (_replace("ami", None), "ami: missing"),
    (_replace("secret_key_file", "nope/secret"), "secret_key_file: {dir}/nope/secret: no such file"),
    (_replace("access_key_file", "absent"), "access_key_file: {dir}/absent: no such file"),
    (_replace("data", "missing.yaml"), "data: {dir}/missing.yaml: no such file"),
    (NODE_TYPE + "instance: m5.large\n", "instance: unknown key"),
    (_replace("ec2_url", "ec2.amazonaws.com"), "ec2_url: 'ec2.amazonaws.com': expected an http(s) URL"),
    (_replace("tags", "{'bad name': x}"), "tags: 'bad name': tag names are letters"),
    (_replace("tags", "{Name: '$(Cluster)'}"), "tags: Name: must not contain '$('"),
    (_replace("tags", "{Name: a, name: b}"), "tags: tag names must differ in more than case"),
    (_replace("periodic_remove", "{held: -5}"), "periodic_remove: held: expected a positive number"),
    (_replace("periodic_remove", "{stuck: 5}"), "periodic_remove: expected a mapping with held"),
    (_replace("security_groups", "[]"), "security_groups: expected a list"),
    (_replace("role", "'../etc'"), "role: '../etc': expected a name"),
    (_replace("files", "{etc/motd: motd}"), "files: 'etc/motd': expected an absolute path"),
    (_replace("instance_type", "'m5 large'"), "instance_type: 'm5 large' must not contain spaces"),
    (NODE_TYPE + "count: 0\n", "count: expected a positive integer"),
    ("- just\n- a list\n", "expected a mapping of node-type settings"),
    ("ami: [unclosed\n", "worker.yaml:2:1: invalid YAML"),
]


@pytest.mark.parametrize("text, message", BAD_NODE_TYPES)
def test_bad_node_type_is_one_line_and_writes_nothing(run_confrt, node_dir, text, message):
    node = write_node(node_dir, text)
    result = run_confrt("submit", node, "-o", node_dir / "out")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"confrt: error: {node}")
    assert message.format(dir=node_dir) in lines[0]
    assert SECRET not in result.stderr
    assert os.listdir(node_dir / "out") == []


def test_bad_data_file_fails_before_writing(run_confrt, node_dir):
    (node_dir / "worker-data.yaml").write_text("- not\n- a mapping\n")
    result = run_confrt("submit", write_node(node_dir), "-o", node_dir / "out")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "worker-data.yaml" in result.stderr
    assert os.listdir(node_dir / "out") == []
    absent = run_confrt("submit", write_node(node_dir), "-o", node_dir / "absent")
    assert absent.returncode == 1 and not os.path.exists(node_dir / "absent")  # no dir made either


def test_count_must_be_positive(run_confrt, node_dir):
    result = run_confrt("submit", write_node(node_dir), "--count", "0")
    assert result.returncode == 2 and "expected a positive integer, got '0'" in result.stderr


def test_a_missing_output_dir_is_created_private(run_confrt, node_dir):
    out = node_dir / "fleet" / "today"
    result = run_confrt("submit", write_node(node_dir), "-o", out)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["worker.sub", "worker.userdata"]
    assert os.stat(out).st_mode & 0o777 == 0o700


def test_an_output_dir_that_cannot_be_made_is_one_line(run_confrt, node_dir):
    (node_dir / "taken").write_text("a file\n")
    result = run_confrt("submit", write_node(node_dir), "-o", node_dir / "taken" / "out")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"confrt: error: {node_dir / 'taken' / 'out'}: "
                                      f"cannot create the output directory: Not a directory")


def test_help_documents_every_node_type_key():
    from confrt.commands import submit
    from confrt.fleet import KEY_CHECKS, REQUIRED

    table = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in submit.DESCRIPTION.splitlines()
             if line.startswith("  ")]
    for key in KEY_CHECKS:
        rows = [text for keys, text in table if key in re.split(r",\s*", keys)]
        assert len(rows) == 1, f"{key} is not in the key table of `confrt submit --help`"
        assert rows[0].startswith("required:") == (key in REQUIRED), f"{key}: the help says otherwise"
