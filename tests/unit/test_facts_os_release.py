"""os-release parsing and the `os` fact for the distributions confrt targets."""
import pytest

from confrt.facts import Facts
from confrt.facts.os_release import parse_os_release

RHEL_9 = """\
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"
"""

ROCKY_9 = """\
NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
"""

DEBIAN_12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

UBUNTU_2204 = """\
PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
"""

CENTOS_STREAM_9 = """\
NAME="CentOS Stream"
VERSION="9"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="9"
PRETTY_NAME="CentOS Stream 9"
"""

UNKNOWN_EL_REBUILD = """\
# a site rebuild nobody has heard of
ID=gridos
ID_LIKE='rhel fedora'
VERSION_ID=9.2
NAME='Grid OS'
"""


def os_of(tmp_path, os_release, debian_version=None, where="etc/os-release"):
    target = tmp_path / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(os_release)
    if debian_version is not None:
        (tmp_path / "etc" / "debian_version").write_text(debian_version)
    return Facts(root=str(tmp_path))


@pytest.mark.parametrize("text, name, family, release", [
    (RHEL_9, "RedHat", "RedHat", {"full": "9.4", "major": "9", "minor": "4"}),
    (ROCKY_9, "Rocky", "RedHat", {"full": "9.3", "major": "9", "minor": "3"}),
    (CENTOS_STREAM_9, "CentOS", "RedHat", {"full": "9", "major": "9"}),
    (UBUNTU_2204, "Ubuntu", "Debian", {"full": "22.04", "major": "22.04"}),
    (DEBIAN_12, "Debian", "Debian", {"full": "12", "major": "12"}),
    (UNKNOWN_EL_REBUILD, "Gridos", "RedHat", {"full": "9.2", "major": "9", "minor": "2"}),
], ids=["el9-rhel", "rocky", "centos-stream", "ubuntu", "debian-no-debian_version", "id_like"])
def test_os_fact_per_distribution(tmp_path, text, name, family, release):
    facts = os_of(tmp_path, text)
    assert facts.get("os.name") == name
    assert facts.get("os.family") == family
    assert facts.get("os.release") == release
    assert facts.get("osfamily") == family
    assert facts.get("operatingsystem") == name
    assert facts.get("operatingsystemmajrelease") == release["major"]
    assert facts.get("operatingsystemrelease") == release["full"]


def test_debian_release_comes_from_debian_version_like_facter(tmp_path):
    facts = os_of(tmp_path, DEBIAN_12, debian_version="12.11\n")
    assert facts.get("os.release") == {"full": "12.11", "major": "12", "minor": "11"}
    assert facts.get("os.distro.codename") == "bookworm"
    assert facts.get("lsbdistcodename") == "bookworm"


def test_debian_testing_debian_version_is_not_a_number(tmp_path):
    facts = os_of(tmp_path, DEBIAN_12, debian_version="trixie/sid\n")
    assert facts.get("os.release.full") == "12"


def test_debian_architecture_is_the_package_architecture(tmp_path):
    import os

    machine = os.uname().machine
    debian = os_of(tmp_path / "d", DEBIAN_12)
    rocky = os_of(tmp_path / "r", ROCKY_9)
    assert debian.get("os.hardware") == rocky.get("os.hardware") == machine
    assert rocky.get("os.architecture") == machine
    if machine == "x86_64":
        assert debian.get("os.architecture") == "amd64"


def test_usr_lib_os_release_is_the_fallback(tmp_path):
    facts = os_of(tmp_path, ROCKY_9, where="usr/lib/os-release")
    assert facts.get("os.name") == "Rocky"


def test_no_os_release_means_no_os_fact(tmp_path):
    facts = Facts(root=str(tmp_path))
    assert facts.get("os.family") is None
    assert "os" not in facts
    assert "os.family" not in facts
    with pytest.raises(KeyError):
        facts["os"]


def test_selinux_state_from_sysfs(tmp_path):
    facts = os_of(tmp_path, RHEL_9)
    (tmp_path / "sys/fs/selinux").mkdir(parents=True)
    (tmp_path / "sys/fs/selinux/enforce").write_text("1")
    assert facts.get("os.selinux") == {"enabled": True, "enforced": True}


def test_parse_os_release_quoting():
    values = parse_os_release(
        'A="two words"\n'
        "B='single $quoted'\n"
        'C="escaped \\"quote\\" and \\$dollar"\n'
        "D=bare\n"
        "# E=comment\n"
        "\n"
        'F="unbalanced\n'
        "not an assignment\n"
    )
    assert values == {"A": "two words", "B": "single $quoted", "C": 'escaped "quote" and $dollar',
                      "D": "bare", "F": "unbalanced"}
