"""metadata_lock on a scratch VM with a network of its own: a real IMDSv2 server on 169.254.169.254:80
(an address on the namespace's loopback), the real nft, an unprivileged user trying to read it."""
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from scratch import CONFRT_STATE, diff_changes

METADATA = "169.254.169.254"
USERDATA = "/root/imds-userdata.yaml"
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The server and what it imports, copied in: the tree may sit under /tmp, which the scratch hides.
SERVER_FILES = ("system/imds_serve.py", "unit/test_userdata_ec2.py", "unit/userdata_helpers.py")
SERVER = "/root/imds/system/imds_serve.py"


def reaches(system, user):
    """True when `user` can open a TCP connection to the metadata service."""
    probe = f"exec 3<>/dev/tcp/{METADATA}/80"
    argv = ["bash", "-c", probe] if user == "root" else \
        ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups", "bash", "-c", probe]
    return system.run(argv, timeout=30).returncode == 0


@pytest.fixture
def vm(offline_scratch):
    if not shutil.which("nft"):
        pytest.skip("nft not installed (Debian package nftables, tests/debian-packages.txt)")
    system = offline_scratch
    system.run(["ip", "addr", "add", f"{METADATA}/32", "dev", "lo"], check=True)
    system.write_file(USERDATA, yaml.safe_dump({"classes": ["metadata_lock"]}))
    for name in SERVER_FILES:
        with open(os.path.join(TESTS, name), "rb") as handle:
            system.write_file(f"/root/imds/{name}", handle.read())
    system.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump(
        {"userdata": {"sources": ["ec2"], "timeout": 2, "total_timeout": 10}}))
    server = subprocess.Popen(system.enter_argv() + [sys.executable, SERVER, METADATA, USERDATA],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "serving", server.stderr.read()
    yield system
    server.kill()
    server.wait()


def ruleset(system):
    return system.run(["nft", "list", "ruleset"], check=True).stdout


def test_the_boot_run_locks_the_metadata_service_to_root(vm):
    assert reaches(vm, "nobody") and reaches(vm, "root")
    first = vm.confrt("run", "--boot", "--no-splay")
    assert first.returncode == 2, first.stdout + first.stderr
    assert "table inet confrt_metadata_lock" in ruleset(vm)
    assert not reaches(vm, "nobody")
    assert reaches(vm, "root")
    fetched = vm.confrt("userdata", "show")  # root still reads the userdata
    assert fetched.returncode == 0 and "metadata_lock" in fetched.stdout, fetched.stderr

    rules, before = ruleset(vm), vm.changes()
    noop = vm.confrt("run", "--boot", "--no-splay", "--noop")
    assert noop.returncode == 0, noop.stdout + noop.stderr
    again = vm.confrt("run", "--boot", "--no-splay")
    assert again.returncode == 0 and "0 changed" in again.stdout, again.stdout + again.stderr
    assert ruleset(vm) == rules
    assert diff_changes(before, vm.changes(), ignore=CONFRT_STATE + ("/var/log/confrt",)) == []


def test_knocking_the_class_out_removes_the_table_and_nothing_else(vm):
    assert vm.confrt("run", "--boot", "--no-splay").returncode == 2
    vm.run(["nft", "add", "table", "inet", "site"], check=True)
    vm.run(["nft", "add", "chain", "inet", "site", "output", "{ type filter hook output priority 0; }"], check=True)
    vm.run(["nft", "add", "rule", "inet", "site", "output", "ip", "daddr", "10.1.1.1", "drop"], check=True)
    site_rules = vm.run(["nft", "list", "table", "inet", "site"], check=True).stdout
    vm.write_file(USERDATA, yaml.safe_dump({"classes": ["--metadata_lock"]}))
    time.sleep(0.01)
    noop = vm.confrt("run", "--boot", "--no-splay", "--noop")
    assert noop.returncode == 2 and "exec[remove the metadata lock]" in noop.stdout, noop.stdout + noop.stderr
    assert "confrt_metadata_lock" in ruleset(vm)
    removed = vm.confrt("run", "--boot", "--no-splay")
    assert removed.returncode == 2, removed.stdout + removed.stderr
    assert "confrt_metadata_lock" not in ruleset(vm)
    assert vm.run(["nft", "list", "table", "inet", "site"], check=True).stdout == site_rules
    assert not vm.exists("/etc/confrt/metadata_lock")
    assert not vm.exists("/etc/systemd/system/confrt-metadata-lock.service")
    assert reaches(vm, "nobody")
