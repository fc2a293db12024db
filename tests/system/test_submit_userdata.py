"""The fleet loop without EC2: `confrt submit`'s userdata, fetched on a scratch VM, selects the role's data."""
import json

NODE_TYPE = """\
ami: ami-0123456789abcdef0
instance_type: m5.large
role: worker
data: worker-data.yaml
access_key_file: ec2_access
secret_key_file: ec2_secret
ec2_url: https://ec2.us-east-1.amazonaws.com
gzip: true
"""


def test_submitted_userdata_configures_the_node_as_its_role(scratch, run_confrt, tmp_path):
    (tmp_path / "ec2_access").write_text("AKIAIOSFODNN7EXAMPLE\n")
    (tmp_path / "ec2_secret").write_text("not-a-real-secret\n")
    (tmp_path / "ec2_secret").chmod(0o600)
    (tmp_path / "worker-data.yaml").write_text("condor::collector_host: cm.example.org\n")
    (tmp_path / "worker.yaml").write_text(NODE_TYPE)
    submitted = run_confrt("submit", tmp_path / "worker.yaml", "-o", tmp_path)
    assert submitted.returncode == 0, submitted.stderr

    scratch.write_file("/root/worker.userdata", (tmp_path / "worker.userdata").read_bytes())
    fetched = scratch.confrt("userdata", "fetch", "--source", "file:/root/worker.userdata")
    assert fetched.returncode == 0, fetched.stderr
    assert scratch.stat("/etc/confrt/data/local.yaml")[0] == 0o600
    assert scratch.read_text("/etc/confrt/facts.d/role.yaml") == "role: worker\n"

    classes = scratch.confrt("lookup", "classes", "--render-as", "json")
    assert classes.returncode == 0, classes.stderr
    assert "condor" in json.loads(classes.stdout), "the packaged roles/worker.yaml level was not selected"
    collector = scratch.confrt("lookup", "condor::collector_host")
    assert collector.returncode == 0, collector.stderr
    assert "cm.example.org" in collector.stdout
