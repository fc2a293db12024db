"""glidein + lifetime in the scratch system: the pilot from a factory on 127.0.0.1, the deadline.

The scratch system shares this machine's network namespace, so the pilot's download reaches the
HTTP server the test runs on 127.0.0.1. confrt runs in a time namespace whose boot was a second
ago, so `max_lifetime` (seconds from boot) starts counting at the apply; the services it starts
(SysV init: systemd is not PID 1 inside) inherit that clock.
"""
import pytest
from glidein_support import factory_server
from node_support import apply_just_booted, wait_inside

STARTUP = """#!/bin/sh
out=/tmp/pilot.out
id -un > $out
echo "proxy=$X509_USER_PROXY" >> $out
head -1 "$X509_USER_PROXY" >> $out
for arg in "$@"; do echo "arg=$arg" >> $out; done
sleep 600 &
echo "child=$!" >> $out
wait
echo "not killed" >> $out
"""
LOGS = ("/var/log/confrt/confrt-glidein-pilot.log", "/var/log/confrt/confrt-lifetime.log")
PROXY = "-----BEGIN CERTIFICATE-----\nnot a real proxy\n-----END CERTIFICATE-----\n"


@pytest.fixture
def factory():
    with factory_server({"script": STARTUP}) as webbase:
        yield webbase


def site(scratch, webbase, max_lifetime):
    scratch.write_file("/var/lib/confrt/glidein/pilot_proxy", PROXY, mode=0o600)  # as confrt userdata writes it
    scratch.write_file("/etc/confrt/glidein/post.d/10-mark", "#!/bin/sh\necho post >> /tmp/post.ran\n", mode=0o755)
    scratch.write_site({
        "classes": ["glidein", "lifetime"], "glidein::webbase": webbase,
        "glidein::args": "-v std -name 'my glidein' -entry CMS_T2",
        "glidein::proxy_file": "/var/lib/confrt/glidein/pilot_proxy", "glidein::stop_grace": 3,
        "lifetime::max_lifetime": max_lifetime,
        "lifetime::shutdown_command": ["sh", "-c", "cat /proc/uptime > /tmp/shutdown.ran"],
        "lifetime::shutdown_delay": 2,  # the old pilot's 600 s for the logs, shortened
        "confrt::userdata_source": "test",
    })


def test_pilot_runs_as_the_pilot_user_with_args_and_proxy(scratch, factory):
    site(scratch, factory, 3600)
    first = apply_just_booted(scratch)
    assert first.returncode == 2, first.stdout + first.stderr
    out = wait_inside(scratch, "/tmp/pilot.out", "child=", logs=LOGS).splitlines()
    assert out[0] == "glidein_pilot"
    assert out[1] == "proxy=/home/glidein_pilot/pilot_proxy" and out[2] == "-----BEGIN CERTIFICATE-----"
    assert out[3:9] == ["arg=-v", "arg=std", "arg=-name", "arg=my glidein", "arg=-entry", "arg=CMS_T2"]
    assert scratch.stat("/home/glidein_pilot/pilot_proxy") == (0o600, "glidein_pilot", "glidein_pilot")
    assert "not a real proxy" not in first.stdout + first.stderr
    assert scratch.run(["service", "confrt-lifetime", "status"]).returncode == 0
    second = apply_just_booted(scratch)
    assert second.returncode == 0, second.stdout + second.stderr  # nothing restarted, nothing rewritten


def test_max_lifetime_kills_the_pilot_group_then_shuts_down(scratch, factory):
    site(scratch, factory, 5)
    result = apply_just_booted(scratch)
    assert result.returncode == 2, result.stdout + result.stderr
    out = wait_inside(scratch, "/tmp/pilot.out", "child=", logs=LOGS)
    child = out.split("child=")[1].split()[0]
    uptime = float(wait_inside(scratch, "/tmp/shutdown.ran", ".", logs=LOGS).split()[0])
    assert uptime >= 5 + 2  # at the deadline counted from boot, then shutdown_delay, not before
    assert scratch.read_text("/tmp/post.ran") == "post\n"  # the POST scripts ran before the shutdown
    assert scratch.run(["kill", "-0", child]).returncode != 0  # the pilot's process group is gone
    assert "not killed" not in scratch.read_text("/tmp/pilot.out")
    log = scratch.read_text("/var/log/confrt/confrt-lifetime.log")
    assert "end of life: max_lifetime reached" in log and "running /etc/confrt/lifetime.d/10-glidein-pilot" in log
    assert "killing the pilot's process group" in scratch.read_text("/var/log/confrt/confrt-glidein-pilot.log")
