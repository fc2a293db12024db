"""package through the dnf provider (EL), in the scratch system: real rpm and dnf (Debian's
packages) against a local repository built here with rpmbuild and createrepo_c. The host is
Debian, so os.family comes from --facts, as on an EL9 worker."""
import pytest
from rpm_support import EL_FACTS, build_repo, el_host
from scratch import change_lines

SPEC = """\
Name: confrt-probe
Version: 1.0
Release: 1
Summary: a package for confrt's dnf tests
License: MIT
BuildArch: noarch
AutoReqProv: no
%description
Installs one file.
%install
mkdir -p %{buildroot}/usr/share/confrt-probe
echo probe > %{buildroot}/usr/share/confrt-probe/installed
%files
/usr/share/confrt-probe/installed
"""
REPO_INSIDE = "/srv/confrt-probe-repo"
FACTS_INSIDE = EL_FACTS


@pytest.fixture(scope="module")
def probe_repo(tmp_path_factory):
    """{relative path: bytes} of a dnf repository holding confrt-probe-1.0-1.noarch."""
    return build_repo(tmp_path_factory.mktemp("probe-rpm"), SPEC)


@pytest.fixture
def el(scratch, probe_repo):
    return el_host(scratch, probe_repo, "confrt-probe", REPO_INSIDE, "confrt-probe")


def packages(**wanted):
    return {"classes": ["resources"], "resources::package": wanted}


def probe_installed(system):
    return system.run(["rpm", "-q", "confrt-probe"]).returncode == 0


def test_dnf_installs_then_removes_idempotently(el):
    installed = el.noop_then_apply(packages(**{"confrt-probe": {}}), "--facts", FACTS_INSIDE)  # noop exact first
    assert "package[confrt-probe]/ensure: ensure changed 'absent' to 'present'" in change_lines(installed.stdout)
    assert probe_installed(el) and el.read_text("/usr/share/confrt-probe/installed") == "probe\n"

    again = el.apply(None, "--facts", FACTS_INSIDE)
    assert again.returncode == 0, again.stdout + again.stderr  # rpm -qa saw it: nothing to do

    pinned = el.apply(packages(**{"confrt-probe": {"ensure": "1.0-1"}}), "--facts", FACTS_INSIDE)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr  # the version installed is the one asked

    removed = el.apply(packages(**{"confrt-probe": {"ensure": "absent"}}), "--facts", FACTS_INSIDE)
    assert removed.returncode == 2, removed.stdout + removed.stderr
    assert not probe_installed(el) and not el.exists("/usr/share/confrt-probe/installed")
    assert el.apply(None, "--facts", FACTS_INSIDE).returncode == 0


def test_dnf_one_unknown_package_fails_alone(el):
    result = el.apply(packages(**{"confrt-probe": {}, "confrt-no-such-package": {}}), "--facts", FACTS_INSIDE)
    assert result.returncode == 6, result.stdout + result.stderr
    assert probe_installed(el)
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and "package[confrt-no-such-package]" in failed[0], result.stderr
