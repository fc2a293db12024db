"""service in the scratch system: Debian's squid through its SysV init script (own network namespace)."""
import os

import pytest

from scratch import change_lines

CONF = "/etc/squid/conf.d/confrt.conf"


@pytest.fixture
def squid(offline_scratch):
    if not offline_scratch.exists("/etc/init.d/squid"):
        pytest.skip("needs Debian's squid installed on this machine (tests/debian-packages.txt)")
    return offline_scratch


def _data(comment, ensure="running", enable=True, reload=False):
    return {
        "classes": ["resources"],
        "resources::file": {CONF: {"content": f"# {comment}\nshutdown_lifetime 1 seconds\n",
                                   "notify": "service[squid]"}},
        "resources::service": {"squid": {"ensure": ensure, "enable": enable, "reload": reload}},
    }


def _pid(system):
    return system.read_text("/run/squid.pid").strip()


def _boot_links(system):
    return system.run(["sh", "-c", "ls /etc/rc[2345].d/ | grep squid || true"]).stdout.split()


def test_squid_started_restarted_on_refresh_and_stopped(squid):
    assert squid.run(["service", "squid", "status"]).returncode != 0
    squid.noop_then_apply(_data("first"))
    assert squid.run(["service", "squid", "status"]).returncode == 0
    first = _pid(squid)
    assert squid.apply(_data("first")).returncode == 0

    changed = squid.apply(_data("second"))
    assert changed.returncode == 2, changed.stderr
    assert f"service[squid]/refresh: triggered refresh from file[{CONF}]" in change_lines(changed.stdout)
    assert squid.run(["service", "squid", "status"]).returncode == 0
    restarted = _pid(squid)
    assert restarted != first  # restarted: a new master process

    reloaded = squid.apply(_data("third", reload=True))
    assert f"service[squid]/refresh: triggered refresh from file[{CONF}]" in change_lines(reloaded.stdout)
    assert squid.run(["service", "squid", "status"]).returncode == 0
    assert _pid(squid) == restarted  # reloaded: the same master process read its configuration again

    stopped = squid.apply(_data("second", ensure="stopped", enable=False))
    assert stopped.returncode == 2, stopped.stderr
    assert squid.run(["service", "squid", "status"]).returncode == 3
    assert _boot_links(squid) and all(link.startswith("K") for link in _boot_links(squid))
    assert squid.apply(_data("second", ensure="stopped", enable=False)).returncode == 0
    assert not os.path.exists(CONF)  # the host's squid configuration is untouched
