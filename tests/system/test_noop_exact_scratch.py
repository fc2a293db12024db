"""Noop tells the truth on a fresh host (issue 13 §4).

On a scratch system where /etc/confrt and confrt's state do not exist (a host set up with
`pip install .`), for every built-in module (minimal valid parameters, placeholder hosts) and
every packaged role: `confrt apply --noop` changes nothing and lists exactly the changes, the
failed and the skipped resources the real apply then shows, resource by resource and path by
path (Scratch.noop_then_apply). The site's data is a `--data` file outside /etc/confrt. Then the
case that found it: `confrt run --boot --noop` with glideinWMS userdata, then the real boot run.
Each case gets a scratch system of its own (what a real run leaves would change the next plan);
its own network namespace keeps the services and net.* sysctls it sets inside.
"""
import base64
import gzip
import os
import struct

import pytest
import yaml
from node_support import skip_unless_debian_with_packages_of
from scratch import CONFRT_STATE, REPO, TRACE_LOG, assert_same_plan, diff_changes, state_changing

SITE = "/root/noop-exact"  # the test's own files: not under /etc/confrt
MODULES = sorted(name for name in os.listdir(os.path.join(REPO, "modules"))
                 if os.path.isfile(os.path.join(REPO, "modules", name, "module.py")))
ROLES = sorted(name[:-len(".yaml")] for name in os.listdir(os.path.join(REPO, "hiera", "roles"))
               if name.endswith(".yaml"))
KEY = base64.b64encode(struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes(range(32))).decode()
#: the VM's end is only logged: a run never shuts anything down here
NO_SHUTDOWN = {"lifetime::shutdown_command": ["true"], "glidein::shutdown_when_done": False}
#: minimal valid data of each module (besides `classes: [name]`); a module missing here runs on its defaults
DATA = {
    "accounts": {"accounts::groups": {"physics": {"gid": 5000}},
                 "accounts::users": {"alice": {"uid": 5001, "group": "physics"}},
                 "accounts::sudo": {"alice": "alice ALL=(ALL) NOPASSWD: ALL"}},
    "condor": {"condor::roles": ["execute"], "condor::collector_host": "cm.example.org"},
    "cvmfs": {"cvmfs::repositories": ["atlas.cern.ch"], "cvmfs::http_proxy": "http://squid.example.org:3128"},
    "environment": {"environment::variables": {"SITE_NAME": "EXAMPLE"}},
    "glidein": dict(NO_SHUTDOWN, classes=["glidein", "lifetime"], **{"glidein::webbase": "http://127.0.0.1:9/stage"}),
    "hostname": {"hostname::name": "node1.example.org"},
    "lifetime": dict(NO_SHUTDOWN, **{"lifetime::max_lifetime": 86400}),
    "resources": {"resources::file": {"/etc/motd.confrt": {"content": "managed\n"}}},
    "services": {"services::enabled": ["dbus"]},
    "sshkeys": {"sshkeys::keys": {"root": [f"ssh-ed25519 {KEY} admin@example.org"]}},
    # net.core.* is not in a network namespace of its own
    "tcpbuffers": {"tcpbuffers::sysctls": {"net.core.netdev_max_backlog": None}},
    "vcluster": {},  # with the compute node's vc-out.xml (see prepare)
}


def fresh(system):
    """No /etc/confrt, no run state: a host where confrt was just installed."""
    system.run(["rm", "-rf", "/etc/confrt", *CONFRT_STATE], check=True)
    assert not system.exists("/etc/confrt")


def site(system, data, *args):
    """The `confrt apply` arguments giving `data` (and more) without /etc/confrt."""
    system.write_file(f"{SITE}/data.yaml", yaml.safe_dump(data))
    return ["--data", f"{SITE}/data.yaml", *args]


@pytest.mark.parametrize("name", MODULES)
def test_module_noop_lists_what_the_real_run_does(offline_scratch, name):
    system = offline_scratch
    skip_unless_debian_with_packages_of(system, name)
    fresh(system)
    data = dict({"classes": [name]}, **DATA.get(name, {}))
    extra = []
    if name == "vcluster":
        with open(os.path.join(REPO, "tests", "fixtures", "vcluster", "compute.xml")) as handle:
            system.write_file("/root/vc-out.xml", handle.read())
        system.write_file(f"{SITE}/facts.yaml", yaml.safe_dump(
            {"networking": {"interfaces": {"ens3": {"mac": "52:54:00:bb:00:03"}}}}))
        extra = ["--facts", f"{SITE}/facts.yaml"]
    real = system.noop_then_apply(None, *site(system, data, *extra), exit_code=None)
    assert real.returncode in (0, 2), real.stdout + real.stderr  # and so did the noop: nothing failed


@pytest.mark.parametrize("role", ROLES)
def test_role_noop_lists_what_the_real_run_does(offline_scratch, role):
    system = offline_scratch
    skip_unless_debian_with_packages_of(system, role)
    fresh(system)
    system.write_file(f"{SITE}/role.yaml", yaml.safe_dump({"role": role}))  # as an image's facts.d sets it
    real = system.noop_then_apply(None, *site(system, {"condor::collector_host": "cm.example.org"},
                                              "--facts", f"{SITE}/role.yaml"))
    assert " 0 failed" in real.stdout.splitlines()[-1], real.stdout + real.stderr


def glidein_userdata():
    """glideinWMS VM userdata: base64(ini)####extra args####base64(gzip(proxy)). The factory is a
    closed port (the pilot fails at once) and the userdata disables the VM's shutdown."""
    ini = ("[glidein_startup]\nargs = -v std -name gfactory_instance -entry Cloud_Site\n"
           "webbase = http://127.0.0.1:9/factory/stage\nproxy_file_name = pilot_proxy\n\n"
           "[vm_properties]\nmax_lifetime = 43200\ndisable_shutdown = True\n")
    proxy = gzip.compress(b"-----BEGIN CERTIFICATE-----\nnot a real proxy\n-----END CERTIFICATE-----\n")
    return f"{base64.b64encode(ini.encode()).decode()}####-param_X 1####{base64.b64encode(proxy).decode()}"


@pytest.mark.parametrize("local_data", [None, "/var/lib/confrt/data/local.yaml"])
def test_glidein_boot_run_noop_lists_what_the_real_boot_run_does(offline_scratch, local_data):
    """The case of issue 13: the noop planned /etc/confrt/glidein (the real run could not make it:
    no /etc/confrt) and the proxy as 0-pilot_proxy. With the default local_data the boot run's
    userdata refresh makes /etc/confrt/data first, and the noop plans against that; elsewhere
    /etc/confrt is the modules' to make."""
    system = offline_scratch
    fresh(system)
    system.write_file(f"{SITE}/user-data", glidein_userdata())
    settings = {"userdata": {"sources": [f"file:{SITE}/user-data"]}}
    if local_data:
        settings["local_data"] = local_data
    system.write_file(f"{SITE}/confrt.yaml", yaml.safe_dump(settings))
    env = {"CONFRT_CONFIG": f"{SITE}/confrt.yaml"}
    before = system.changes()
    noop = system.confrt("run", "--boot", "--noop", "--no-splay", env=dict(env, **system.trace_commands()))
    assert noop.returncode == 2, noop.stdout + noop.stderr
    own = CONFRT_STATE + ("/var/log/confrt",)
    assert diff_changes(before, system.changes(), ignore=own) == []
    assert state_changing(system.read_text(TRACE_LOG).splitlines()) == []
    real = system.confrt("run", "--boot", "--no-splay", env=env)
    assert real.returncode == 2, real.stdout + real.stderr
    assert_same_plan(noop, real)
    assert " 0 failed, 0 skipped" in real.stdout.splitlines()[-1], real.stdout + real.stderr
    assert "file[/home/glidein_pilot/pilot_proxy]/ensure" in noop.stdout
    assert "directory[/etc/confrt/glidein]/ensure: created" in noop.stdout
    assert ("directory[/etc/confrt]/ensure: created" in noop.stdout) == bool(local_data)
    assert system.stat("/home/glidein_pilot/pilot_proxy") == (0o600, "glidein_pilot", "glidein_pilot")
    assert system.exists("/etc/confrt/glidein/pilot.json") and system.exists("/etc/confrt/lifetime.json")
