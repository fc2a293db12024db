"""service: state comparison, systemctl parsing, SysV boot links, a missing init script."""
import os

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError
from confrt.resources._service_systemd import parse_show
from confrt.resources._service_sysv import debian_enabled
from confrt.resources._service import service_changes


def _props(changes):
    return [(c.property, c.old, c.new) for c in changes]


def test_service_changes_only_for_managed_properties():
    squid = catalog_of(res("service", "squid", ensure="running", enable=True)).get("service[squid]")
    assert _props(service_changes(squid, False, False)) == [("ensure", "stopped", "running"),
                                                            ("enable", False, True)]
    assert service_changes(squid, True, True) == []
    unmanaged = catalog_of(res("service", "cron")).get("service[cron]")
    assert service_changes(unmanaged, None, None) == []


def test_parse_systemctl_show():
    assert parse_show("LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n") == \
        {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"}


def test_debian_boot_links(tmp_path):
    for level in "0126":
        os.makedirs(tmp_path / f"etc/rc{level}.d")
    os.symlink("../init.d/squid", tmp_path / "etc/rc0.d/K01squid")
    assert not debian_enabled("squid", str(tmp_path))
    os.symlink("../init.d/squid", tmp_path / "etc/rc2.d/S01squid")
    assert debian_enabled("squid", str(tmp_path))
    assert not debian_enabled("squ", str(tmp_path))


def test_bad_ensure_is_a_compile_error():
    with pytest.raises(CompileError, match=r"service\[squid\]: ensure: expected one of 'running', 'stopped'"):
        catalog_of(res("service", "squid", ensure="started"))


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="checks the SysV provider")
def test_missing_init_script_fails_clearly(tmp_path):
    report = apply_catalog(catalog_of(res("service", "no-such-daemon", ensure="running")), tmp_path, noop=True)
    assert report.statuses["service[no-such-daemon]"]["failure"] == "no init script /etc/init.d/no-such-daemon"


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="checks the SysV provider")
def test_noop_reads_a_service_whose_init_script_the_run_writes_first_as_stopped(tmp_path):
    """The real run writes the script, then finds the service stopped and starts it: the noop says so
    (it was skipped as unreadable)."""
    name = "confrt-test-no-such-daemon"
    catalog = catalog_of(res("file", f"/etc/init.d/{name}", content="#!/bin/sh\n", mode="0755"),
                         res("service", name, ensure="running", enable=True, require=f"file[/etc/init.d/{name}]"))
    report = apply_catalog(catalog, tmp_path, noop=True)
    assert report.statuses[f"service[{name}]"]["status"] == "noop", report.err.getvalue()
    assert f"service[{name}]/ensure: ensure changed 'stopped' to 'running' (noop)\n" in report.out.getvalue()
    assert not os.path.exists(f"/etc/init.d/{name}")


def test_the_providers_do_not_import_their_type():
    """The type says what, the providers how, what both use sits below both: no import circle."""
    import subprocess
    import sys

    code = ("import sys; import confrt.resources._service_systemd, confrt.resources._service_sysv; "
            "print('confrt.resources.service' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout == "False\n", result.stderr


class _Recorded:
    """A service provider whose state and restarts are recorded, not run."""

    def __init__(self, provider_class, ensure, applied=()):
        from confrt.resources.base import Change

        self.provider = provider_class(catalog_of(res("service", "squid", ensure=ensure)).get("service[squid]"),
                                       None)
        self.provider.applied_changes = [Change(p, None, None) for p in applied]
        self.restarted = []
        self.provider.restart = lambda: self.restarted.append(True)


@pytest.mark.parametrize("provider", ["systemd", "sysv"])
def test_a_refresh_restarts_unless_stopped_or_just_started(provider):
    from confrt.resources._service_systemd import SystemdProvider
    from confrt.resources._service_sysv import SysvProvider

    provider_class = {"systemd": SystemdProvider, "sysv": SysvProvider}[provider]
    for ensure, applied, restarts in [("running", (), 1), ("running", ("ensure",), 0),
                                      ("running", ("enable",), 1), ("stopped", (), 0)]:
        recorded = _Recorded(provider_class, ensure, applied)
        recorded.provider.refresh()
        assert len(recorded.restarted) == restarts, (ensure, applied)
