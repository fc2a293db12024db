"""osg_wn on EL with the package layout of OSG's vo-client, in the scratch system: an RPM built here
with vo-client's file list (its spec, release 143: `%config(noreplace) /etc/vomses`, a file, and
`%config(noreplace) /etc/grid-security/vomsdir`), installed by dnf from a local repository. The host
is Debian, so os.family comes from --facts, as on an EL9 worker.

Before: osg_wn declared directory[/etc/vomses], which failed on every run once the package had made
/etc/vomses a file (and condor's START guard kept the node closed for good)."""
import os

import pytest
import yaml
from rpm_support import EL_FACTS, build_repo, el_host

ATLAS_LINE = '"atlas" "voms-atlas-auth.cern.ch" "443" "/DC=ch/DC=cern/OU=computers/CN=atlas-auth.cern.ch" "atlas"'
CMS_LINE = '"cms" "voms-cms-auth.cern.ch" "443" "/DC=ch/DC=cern/OU=computers/CN=cms-auth.cern.ch" "cms"'
CERN_CA = "/DC=ch/DC=cern/CN=CERN Grid Certification Authority"
#: vo-client.spec's %install and %files, with two VOs' entries of its vomses file and vomsdir
SPEC = f"""\
Name: vo-client
Version: 143
Release: 1
Summary: Contains vomses file for use with user authentication (confrt test build)
License: Apache 2.0
BuildArch: noarch
AutoReqProv: no
%description
The file layout of OSG's vo-client.
%install
install -d $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir/atlas
install -d $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir/cms
printf '%s\\n' '{ATLAS_LINE}' '{CMS_LINE}' > $RPM_BUILD_ROOT/%{{_sysconfdir}}/vomses
chmod 644 $RPM_BUILD_ROOT/%{{_sysconfdir}}/vomses
printf '%s\\n' '/DC=ch/DC=cern/OU=computers/CN=atlas-auth.cern.ch' '{CERN_CA}' \\
  > $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir/atlas/voms-atlas-auth.cern.ch.lsc
printf '%s\\n' '/DC=ch/DC=cern/OU=computers/CN=atlas-auth.web.cern.ch' '{CERN_CA}' \\
  > $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir/atlas/voms-atlas-auth.app.cern.ch.lsc
printf '%s\\n' '/DC=ch/DC=cern/OU=computers/CN=cms-auth.cern.ch' '{CERN_CA}' \\
  > $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir/cms/voms-cms-auth.cern.ch.lsc
find $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir -type f -exec chmod 644 {{}} \\;
find $RPM_BUILD_ROOT/%{{_sysconfdir}}/grid-security/vomsdir -type d -exec chmod 755 {{}} \\;
%files
%defattr(-,root,root,-)
%config(noreplace) %{{_sysconfdir}}/vomses
%config(noreplace) %{{_sysconfdir}}/grid-security/vomsdir
"""
REPO_INSIDE = "/srv/confrt-vo-client-repo"
FACTS_INSIDE = EL_FACTS


@pytest.fixture(scope="module")
def vo_client_repo(tmp_path_factory):
    """{relative path: bytes} of a dnf repository holding vo-client-143-1.noarch."""
    return build_repo(tmp_path_factory.mktemp("vo-client-rpm"), SPEC)


@pytest.fixture
def el(scratch, vo_client_repo):
    return el_host(scratch, vo_client_repo, "confrt-vo-client", REPO_INSIDE, "vo-client", ["/etc/vomses"])


def worker_vos():
    """osg_wn::vos of the packaged worker role (hiera/roles/worker.yaml)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "hiera", "roles", "worker.yaml")) as handle:
        return yaml.safe_load(handle)["osg_wn::vos"]


def data(vos):
    # the package stands for osg-wn-client (which requires vo-client); no CA package, no sysctl
    return {"classes": ["osg_wn"], "osg_wn::packages": ["vo-client"], "osg_wn::ca_source": "none",
            "osg_wn::user_namespaces": 0, "osg_wn::vos": vos}


def test_vomses_is_vo_clients_file_and_runs_converge(el):
    # on a fresh host the noop cannot read /etc/vomses before the package makes it: skipped, not failed
    noop = el.apply(data(worker_vos()), "--noop", "--facts", FACTS_INSIDE)
    assert noop.returncode == 2 and " 0 failed" in noop.stdout.splitlines()[-1], noop.stdout + noop.stderr
    assert "line[vomses atlas voms-atlas-auth.cern.ch]: skipped: cannot be read before the changes of " \
           "package[vo-client] are made" in noop.stderr
    first = el.apply(None, "--facts", FACTS_INSIDE)
    assert first.returncode == 2 and " 0 failed" in first.stdout.splitlines()[-1], first.stdout + first.stderr
    assert el.run(["test", "-f", "/etc/vomses"]).returncode == 0
    assert el.read_text("/etc/vomses") == f"{ATLAS_LINE}\n{CMS_LINE}\n"  # the package's file, as shipped
    verify = el.run(["rpm", "-V", "vo-client"])
    assert verify.returncode == 0, verify.stdout + verify.stderr  # unmodified: vo-client updates still land
    again = el.apply(None, "--facts", FACTS_INSIDE)
    assert again.returncode == 0, again.stdout + again.stderr

    vos = dict(worker_vos(), myvo=[{"host": "voms.example.org", "port": 15001, "dn": "/DC=org/CN=voms.example.org",
                                    "ca_dn": "/DC=org/CN=Example CA"}])
    added = el.noop_then_apply(data(vos), "--facts", FACTS_INSIDE)
    assert added.returncode == 2, added.stdout + added.stderr
    assert el.read_text("/etc/vomses") == (f"{ATLAS_LINE}\n{CMS_LINE}\n"
                                           '"myvo" "voms.example.org" "15001" "/DC=org/CN=voms.example.org" "myvo"\n')
    assert el.read_text("/etc/grid-security/vomsdir/myvo/voms.example.org.lsc") == \
        "/DC=org/CN=voms.example.org\n/DC=org/CN=Example CA\n"
    assert el.apply(None, "--facts", FACTS_INSIDE).returncode == 0
