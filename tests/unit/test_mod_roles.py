"""The packaged role profiles (hiera/roles) and OS defaults (hiera/os) compiled through the packaged hierarchy."""
import os

import pytest
import yaml
from confrt_testing import REPO
from mod_support import FACTS, compile_site, content, sh_values, write_files

from confrt.paths import packaged_hiera_config

DEBIAN = {"family": "Debian", "name": "Debian", "release": {"major": "12", "full": "12.11"}}
LOCAL = {"condor::collector_host": "cm.example.org", "cvmfs::repositories": ["cms.cern.ch"]}
EL_ONLY = ["package[condor]", "service[condor]", "exec[condor_reconfig]", "package[cvmfs]",
           "package[cvmfs-config-default]", "package[autofs]", "package[HEP_OSlibs]", "package[osg-wn-client]",
           "package[osg-ca-certs]"]


def role_catalog(tmp_path, role, os_fact=None, local=None):
    facts = dict(FACTS, role=role)
    if os_fact:
        facts["os"] = os_fact
    return compile_site(tmp_path, dict(LOCAL, **(local or {})), facts, hiera_config=packaged_hiera_config())


@pytest.mark.parametrize("role, classes", [
    ("worker", ["ephemeral_disk", "sshkeys", "cvmfs", "condor", "osg_wn", "atlas_wn", "metadata_lock"]),
    ("manager", ["sshkeys", "condor"]),
    ("submit", ["sshkeys", "condor"]),
    ("squid", ["ephemeral_disk", "sshkeys", "squid"]),
])
def test_each_role_selects_its_modules(tmp_path, role, classes):
    assert role_catalog(tmp_path, role).classes == classes


def test_worker_on_el_installs_everything(tmp_path):
    catalog = role_catalog(tmp_path, "worker")
    missing = [ref for ref in EL_ONLY + ["service[fetch-crl.timer]", "sysctl[user.max_user_namespaces]"]
               if ref not in catalog.resources]
    assert not missing
    assert "use ROLE : Execute" in content(catalog, "/etc/condor/config.d/10-confrt-roles.conf")
    assert 'ConfrtRole = "worker"' in content(catalog, "/etc/condor/config.d/40-confrt-execute.conf")
    write_files(catalog, tmp_path / "root", "/etc/cvmfs")
    repos = sh_values(tmp_path / "root" / "etc" / "cvmfs" / "default.local", ["CVMFS_REPOSITORIES"])
    assert repos["CVMFS_REPOSITORIES"].split(",") == ["cms.cern.ch", "atlas.cern.ch", "atlas-condb.cern.ch",
                                                      "atlas-nightlies.cern.ch", "grid.cern.ch", "sft.cern.ch",
                                                      "unpacked.cern.ch"]
    # EL: a line in vo-client's /etc/vomses file (not a file in a directory there)
    vomses = catalog.get("line[vomses atlas voms-atlas-auth.cern.ch]")
    assert vomses["path"] == "/etc/vomses" and vomses["line"].startswith('"atlas" "voms-atlas-auth.cern.ch" "443"')


def test_worker_on_debian_skips_what_debian_lacks_but_writes_the_config(tmp_path):
    catalog = role_catalog(tmp_path, "worker", DEBIAN)
    assert [ref for ref in EL_ONLY if ref in catalog.resources] == []
    assert {"package[fetch-crl]", "package[voms-clients]"} <= set(catalog.resources)
    for path in ("/etc/condor/config.d/10-confrt-roles.conf", "/etc/condor/config.d/30-confrt-slots.conf",
                 "/etc/cvmfs/default.local", "/etc/auto.master.d/cvmfs.autofs", "/etc/profile.d/osg.sh",
                 "/etc/profile.d/atlas.sh", "/etc/profile.d/atlas.csh"):
        assert content(catalog, path)
    # Debian has no IGTF bundle package nor a CVMFS client (grid.cern.ch's directory was never there):
    # X509_CERT_DIR is a directory that exists, in profile.d and in every job's environment
    assert "X509_CERT_DIR=/etc/ssl/certs" in content(catalog, "/etc/profile.d/osg.sh")
    assert "X509_CERT_DIR='/etc/ssl/certs'" in content(catalog, "/etc/condor/config.d/40-confrt-execute.conf")
    assert os.path.isdir("/etc/ssl/certs")  # this Debian host's
    assert "cron[confrt-fetch-crl]" not in catalog.resources  # no IGTF CRLs to fetch


def test_squid_role_on_debian_runs_as_proxy(tmp_path):
    catalog = role_catalog(tmp_path, "squid", DEBIAN)
    assert catalog.get("directory[/var/spool/squid]")["owner"] == "proxy"
    assert catalog.get("service[squid]")["ensure"] == "running"


def test_userdata_overrides_the_role(tmp_path):
    """Local data (userdata) is above the role: an amiconfig [condor] without condor_master makes a manager."""
    catalog = role_catalog(tmp_path, "worker", local={"condor::roles": ["central_manager"], "classes": ["--atlas_wn"]})
    assert "use ROLE : CentralManager" in content(catalog, "/etc/condor/config.d/10-confrt-roles.conf")
    assert "atlas_wn" not in catalog.classes
    assert catalog.get("file[/etc/condor/config.d/30-confrt-slots.conf]")["ensure"] == "absent"



EXAMPLES = os.path.join(REPO, "examples")


def test_every_role_has_an_example_site():
    roles = sorted(name[:-len(".yaml")] for name in os.listdir(os.path.join(REPO, "hiera", "roles")))
    assert sorted(name[:-len(".yaml")] for name in os.listdir(EXAMPLES) if name.endswith(".yaml")) == roles


@pytest.mark.parametrize("role", ["worker", "manager", "submit", "squid"])
@pytest.mark.parametrize("os_fact", [None, DEBIAN], ids=["RedHat", "Debian"])
def test_each_example_compiles_with_its_role(tmp_path, role, os_fact):
    """The README's preview (`--role ROLE --data examples/ROLE.yaml`): the role's own modules,
    with nothing the role requires left out (condor::collector_host ...)."""
    with open(os.path.join(EXAMPLES, f"{role}.yaml")) as handle:
        example = yaml.safe_load(handle)
    assert f"confrt apply --noop --role {role} --data examples/{role}.yaml" in open(
        os.path.join(EXAMPLES, f"{role}.yaml")).read()
    facts = dict(FACTS, role=role, **({"os": os_fact} if os_fact else {}))
    catalog = compile_site(tmp_path, example, facts, hiera_config=packaged_hiera_config())
    assert catalog.classes == role_catalog(tmp_path / "role", role).classes
    assert "ssh_authorized_key[ops@example.org]" in catalog.resources


def test_the_worker_example_reaches_cvmfs_through_its_squids(tmp_path):
    with open(os.path.join(EXAMPLES, "worker.yaml")) as handle:
        example = yaml.safe_load(handle)
    catalog = compile_site(tmp_path, example, dict(FACTS, role="worker"), hiera_config=packaged_hiera_config())
    write_files(catalog, tmp_path / "root", "/etc/cvmfs")
    proxy = sh_values(tmp_path / "root" / "etc" / "cvmfs" / "default.local", ["CVMFS_HTTP_PROXY"])
    assert proxy["CVMFS_HTTP_PROXY"] == "http://squid1.example.org:3128|http://squid2.example.org:3128"  # no DIRECT
