"""The glideinWMS VM's end in the scratch system, from the userdata of seed 000 (the gwms-cloud-vms
README) through `confrt run --boot` to the shutdown command, against what the old pilot-launcher
did: after the pilot (ended by itself or at max_lifetime) the POST scripts, then `sleep(600)`, then
the shutdown; debug mode (a plain ini) with disable_shutdown = False: no pilot, the same wait, the
shutdown.

The boot run goes through a time namespace whose boot was a moment ago (or ~10 minutes ago for the
debug VM), so deadlines counted from boot come within the test; the services it starts (SysV init:
systemd is not PID 1 inside) inherit that clock. The shutdown command only records the uptime, and
the site's build-time data shortens the wait for the logs (lifetime::shutdown_delay) to 3 s.
"""
import base64
import gzip
import os
import sys

import pytest
import yaml
from glidein_support import factory_server
from node_support import host_uptime, wait_inside
from scratch import REPO

#: The README's example ini file, verbatim in tests/fixtures/userdata/glidein-debug.ini ("If a plain
#: text ini file is sent as user data, then it is assumed that the VM is being started up in debug
#: mode."); webbase, max_lifetime and disable_shutdown are set per test below, as a factory would.
with open(os.path.join(REPO, "tests", "fixtures", "userdata", "glidein-debug.ini")) as _handle:
    SEED_INI = _handle.read()
PROXY = b"-----BEGIN CERTIFICATE-----\nnot a real proxy\n-----END CERTIFICATE-----\n"
HANGS = "#!/bin/sh\nid -un > /tmp/pilot.out\nsleep 600 &\necho \"child=$!\" >> /tmp/pilot.out\nwait\n"
ENDS = "#!/bin/sh\nid -un > /tmp/pilot.out\necho done >> /tmp/pilot.out\n"
LOGS = ("/var/log/confrt/confrt-glidein-pilot.log", "/var/log/confrt/confrt-lifetime.log")
SITE_DATA = {  # the image's build-time data (/etc/confrt/data/common.yaml), below the userdata's
    "lifetime::require_userdata": True,
    "lifetime::shutdown_delay": 3,
    "lifetime::shutdown_command": ["sh", "-c", "cat /proc/uptime > /tmp/shutdown.ran"],
    "glidein::stop_grace": 3,
}


@pytest.fixture
def factory():
    served = {"script": HANGS}
    with factory_server(served) as webbase:
        yield webbase, served


def ini(**changes):
    """SEED_INI with `key = value` lines replaced (None drops the line)."""
    lines = []
    for line in SEED_INI.splitlines():
        key = line.split("=")[0].strip()
        if key in changes:
            if changes[key] is not None:
                lines.append(f"{key} = {changes[key]}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def delimited(text):
    """`[Base64 encoded blob]####[additional arguments]`, the proxy as the last field (gzip, base64)."""
    return (f"{base64.b64encode(text.encode()).decode()}####-param_X 1####"
            f"{base64.b64encode(gzip.compress(PROXY)).decode()}")


def boot_run(scratch, userdata, uptime=1):
    """`confrt run --boot` with `userdata` from a file source, `uptime` seconds after a boot."""
    scratch.write_file("/root/user-data", userdata)
    scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": ["file:/root/user-data"]}}))
    scratch.write_file("/etc/confrt/data/common.yaml", yaml.safe_dump(SITE_DATA))
    scratch.write_file("/etc/confrt/glidein/post.d/10-mark", "#!/bin/sh\ncat /proc/uptime > /tmp/post.ran\n",
                       mode=0o755)
    offset = str(uptime - int(host_uptime()))
    probe = scratch.run(["unshare", "--time", "--boottime", offset, "true"])
    if probe.returncode != 0:
        pytest.skip(f"no time namespaces here (unshare --time, Linux 5.6+): {probe.stderr.strip()}")
    result = scratch.run(["unshare", "--time", "--boottime", offset, sys.executable, "-m", "confrt", "run",
                          "--boot", "--no-splay"], env={"PYTHONPATH": REPO})
    assert result.returncode == 2, result.stdout + result.stderr
    return result


def uptime_of(scratch, path):
    return float(wait_inside(scratch, path, ".", logs=LOGS).split()[0])


def test_max_lifetime_then_post_then_the_wait_then_the_shutdown(scratch, factory):
    """max_lifetime = 5: the pilot's process group is killed at 5 s after boot, the POST scripts run,
    the VM waits shutdown_delay (the old 600 s), then shuts down."""
    webbase, _ = factory
    boot_run(scratch, delimited(ini(webbase=webbase, max_lifetime=5, disable_shutdown="False")))
    child = wait_inside(scratch, "/tmp/pilot.out", "child=", logs=LOGS).split("child=")[1].split()[0]
    assert wait_inside(scratch, "/tmp/pilot.out").startswith("glidein_pilot\n")
    shutdown = uptime_of(scratch, "/tmp/shutdown.ran")
    post = uptime_of(scratch, "/tmp/post.ran")
    assert 5 <= post and shutdown - post >= 3, (post, shutdown)
    assert scratch.run(["kill", "-0", child]).returncode != 0  # the pilot's process group is gone
    log = scratch.read_text("/var/log/confrt/confrt-lifetime.log")
    assert "end of life: max_lifetime reached" in log and "shutting down in 3 s (time to collect the logs)" in log


def test_a_pilot_that_ends_by_itself_gets_the_wait_and_the_old_default_lifetime(scratch, factory):
    """An ini without max_lifetime: the old service ini's default_max_lifetime (172800) is the deadline;
    the pilot ends at once, so the POST scripts, the wait and the shutdown follow it."""
    webbase, served = factory
    served["script"] = ENDS
    boot_run(scratch, delimited(ini(webbase=webbase, max_lifetime=None, disable_shutdown="False")))
    shutdown = uptime_of(scratch, "/tmp/shutdown.ran")
    post = uptime_of(scratch, "/tmp/post.ran")
    assert shutdown - post >= 3, (post, shutdown)
    assert scratch.read_text("/tmp/pilot.out") == "glidein_pilot\ndone\n"
    settings = yaml.safe_load(scratch.read_text("/etc/confrt/lifetime.json"))
    assert (settings["deadline"], settings["shutdown_delay"]) == (172800, 3)  # the site's delay, under the userdata
    assert "end of life: the glidein pilot ended" in scratch.read_text("/var/log/confrt/confrt-glidein-pilot.log")


def test_debug_mode_without_disable_shutdown_ends_ten_minutes_after_boot(scratch):
    """The README's plain ini with disable_shutdown = False, booted ~10 minutes ago: no pilot, and the
    VM ends at 600 s after boot (the old launcher: no webbase, the 600 s wait, the shutdown); the old
    confrt set no deadline and the VM ran on."""
    result = boot_run(scratch, ini(disable_shutdown="False"), uptime=594)
    assert "no pilot runs; the VM ends 600 s after boot" in result.stderr
    shutdown = uptime_of(scratch, "/tmp/shutdown.ran")
    assert 600 <= shutdown < 630, shutdown
    assert not scratch.exists("/etc/confrt/glidein/pilot.json") and not scratch.exists("/tmp/pilot.out")


def test_debug_mode_with_disable_shutdown_true_stays_up(scratch):
    """The README's ini as it is: the admin's VM stays up for debugging (no deadline)."""
    boot_run(scratch, SEED_INI)
    settings = yaml.safe_load(scratch.read_text("/etc/confrt/lifetime.json"))
    assert settings["deadline"] is None and settings["disable_shutdown"] is True
    assert "no deadline: nothing to do" in wait_inside(scratch, "/var/log/confrt/confrt-lifetime.log", "no deadline")
