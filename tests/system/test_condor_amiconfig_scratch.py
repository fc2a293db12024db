"""amiconfig's [condor] (seed 001, "CernVM contextualization on Amazon EC2") through `confrt run --boot`
in the scratch system, then the node's own /etc/condor/config.d read by HTCondor's parser
(htcondor2.param), as the daemons would read it, the EL package's 00-htcondor-9.0.config included.

Seed 001, "Specific plugin options": "[condor] # host name hostname = <FQDN> # master host name
condor_master = <FQDN> # shared secret key condor_secret = <string> #------------------------
# collector name collector_name = <string> # condor user condor_user = <string> # condor group
condor_group = <string> [...]"; and "[amiconfig] plugins = <list of plugins to enable>" (condor is
not a default plugin). `allow_write` is an option of amiconfig's condor plugin (its docstring:
"# allow_write = *.$uid_domain"). amiconfig wrote everything to condor_config.local, read last, so
each of its knobs was the effective one; confrt's files must be too.
"""
import json
import sys

import pytest
import yaml

pytest.importorskip("htcondor2", reason="PyPI htcondor (the `test` extra) is not installed")

USERDATA = """[amiconfig]
plugins = condor
[condor]
condor_master = cm.example.org
condor_secret = s3cret-pool
collector_name = CernVM
condor_user = condor
condor_group = condor
allow_write = *.example.org
"""
#: what the EL package installs into config.d; and what an older confrt left there
PACKAGE_FILE = "# use security : host_based\nuse security : recommended_v9_0\n"
OLD_SECURITY_FILE = "# Managed by confrt (module condor): authentication and authorization.\nuse security : recommended\n"
TOP = """RELEASE_DIR = /usr
ETC = /etc/condor
LOCAL_DIR = /var
LOCAL_CONFIG_DIR = /etc/condor/config.d
LOCAL_CONFIG_FILE = /etc/condor/condor_config.local
"""
READ = """
import htcondor2, json, sys
print(json.dumps({name: htcondor2.param.get(name) for name in sys.argv[1:]}, default=str))
"""
KNOBS = ("DAEMON_LIST", "CONDOR_HOST", "COLLECTOR_NAME", "UID_DOMAIN", "LOWPORT", "HIGHPORT", "ALLOW_WRITE",
         "QUEUE_SUPER_USERS", "SEC_PASSWORD_FILE", "STARTD_CRON_CONFRT_ARGS")


def condor_knobs(scratch):
    """The knobs HTCondor reads from the scratch node's /etc/condor (parsed inside it)."""
    scratch.write_file("/root/condor_config", TOP)
    result = scratch.run([sys.executable, "-c", READ, *KNOBS], env={"CONDOR_CONFIG": "/root/condor_config"})
    assert result.returncode == 0, f"HTCondor rejected the config: {result.stdout}{result.stderr}"
    return {name: str(value) if value is not None else None for name, value in json.loads(result.stdout).items()}


def test_amiconfig_condor_worker_reads_as_amiconfig_wrote_it(scratch):
    if not scratch.exists("/etc/debian_version"):
        pytest.skip("the condor package is left out by os/Debian.yaml only: proven on Debian here")
    scratch.write_file("/root/user-data", USERDATA)
    scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({
        "userdata": {"sources": ["file:/root/user-data"]}, "statedir": "/srv/confrt-state"}))
    scratch.write_file("/etc/confrt/facts.d/domain.yaml", "networking.domain: example.org\n")
    scratch.write_file("/etc/condor/config.d/00-htcondor-9.0.config", PACKAGE_FILE)
    scratch.write_file("/etc/condor/config.d/20-confrt-security.conf", OLD_SECURITY_FILE)
    scratch.write_file("/etc/condor/condor_config.local", "")
    run = scratch.confrt("run", "--boot", "--no-splay")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "s3cret-pool" not in run.stdout + run.stderr
    knobs = condor_knobs(scratch)
    assert knobs["DAEMON_LIST"].replace(",", " ").split() == ["MASTER", "STARTD"]
    assert (knobs["CONDOR_HOST"], knobs["COLLECTOR_NAME"]) == ("cm.example.org", "CernVM")
    assert knobs["UID_DOMAIN"] == "example.org"  # amiconfig's default: the host's domain
    assert (knobs["LOWPORT"], knobs["HIGHPORT"]) == ("9600", "9700")  # amiconfig always wrote them
    assert knobs["ALLOW_WRITE"] == "*.example.org"  # read '*' while the metaknob came after it
    assert knobs["QUEUE_SUPER_USERS"].replace(",", " ").split() == ["root", "condor"]
    assert knobs["SEC_PASSWORD_FILE"] == "/etc/condor/passwords.d/POOL"
    assert knobs["STARTD_CRON_CONFRT_ARGS"] == "/srv/confrt-state/last_run_summary.yaml"  # the statedir's
    assert scratch.exists("/srv/confrt-state/last_run_summary.yaml")
    assert not scratch.exists("/etc/condor/config.d/20-confrt-security.conf")
    assert scratch.stat("/etc/condor/passwords.d/POOL")[0] == 0o600
    again = scratch.confrt("run", "--boot", "--no-splay")
    assert again.returncode == 0, again.stdout + again.stderr
