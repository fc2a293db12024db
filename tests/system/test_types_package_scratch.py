"""package in the scratch system: real apt-get from Debian's registry, one transaction, idempotent."""
import pytest

from scratch import apt_install, change_lines


@pytest.fixture
def debian(scratch):
    if scratch.run(["dpkg-query", "-W", "dpkg"]).returncode != 0:
        pytest.skip("the package test needs a Debian system (dpkg)")
    for name in ("hello", "sl"):
        if _installed(scratch, name):
            pytest.skip(f"{name} is installed on this machine already: nothing to install")
    apt_install(scratch, "--download-only", "hello", "sl")  # fresh package lists, or a skip when offline
    return scratch


def _host_apt_history():
    try:
        with open("/var/log/apt/history.log") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _installed(system, name):
    result = system.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", name])
    return result.stdout.startswith("ii")


def test_install_then_remove_in_one_transaction_each(debian):
    with open("/var/lib/dpkg/status", "rb") as handle:
        host_status = handle.read()
    packages = {"classes": ["resources"], "resources::package": {"hello": {}, "sl": {"ensure": "latest"}}}
    real = debian.noop_then_apply(packages)
    assert "package[hello]/ensure: ensure changed 'absent' to 'present'" in change_lines(real.stdout)
    assert debian.run(["hello"], check=True).stdout.strip() == "Hello, world!"
    assert _installed(debian, "sl")
    history = debian.read_text("/var/log/apt/history.log")[len(_host_apt_history()):]
    assert history.count("Commandline:") == 1  # both packages, one apt-get transaction
    assert "install hello sl" in history

    again = debian.apply(packages)
    assert again.returncode == 0, again.stdout + again.stderr

    absent = {"classes": ["resources"],
              "resources::package": {"hello": {"ensure": "absent"}, "sl": {"ensure": "purged"}}}
    removed = debian.apply(absent)
    assert removed.returncode == 2, removed.stderr
    assert not _installed(debian, "hello") and debian.run(["dpkg-query", "-W", "sl"]).returncode != 0
    assert debian.apply(absent).returncode == 0
    with open("/var/lib/dpkg/status", "rb") as handle:
        assert handle.read() == host_status


def test_a_fresh_image_without_package_lists_gets_them_first(debian):
    debian.sh("rm -f /var/lib/apt/lists/*_Packages* /var/cache/apt/archives/*.deb")
    result = debian.apply({"classes": ["resources"], "resources::package": {"hello": {}}})
    assert result.returncode == 2, result.stdout + result.stderr
    assert debian.run(["hello"], check=True).stdout.strip() == "Hello, world!"


def test_one_unknown_package_keeps_no_other_off_the_machine(debian):
    packages = {"classes": ["resources"],
                "resources::package": {"hello": {}, "confrt-no-such-package": {}, "sl": {}}}
    # on a host whose apt speaks German (its messages are translated): confrt reads them in English
    result = debian.apply(packages, env={"LANGUAGE": "de", "LANG": "C.UTF-8"})
    assert result.returncode == 6, result.stdout + result.stderr  # changes (2) and failures (4)
    assert _installed(debian, "hello") and _installed(debian, "sl")
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and "package[confrt-no-such-package]" in failed[0], result.stderr
    assert "Unable to locate package confrt-no-such-package" in failed[0]
