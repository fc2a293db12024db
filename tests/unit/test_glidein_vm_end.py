"""How a glideinWMS VM ends (issue 15), from the userdata of seed 000 (the gwms-cloud-vms README) to
the lifetime daemon's shutdown, against what the old pilot-launcher did:

- the pilot ran with max_lifetime as its timeout; after it ended, the POST scripts, then, unless
  disable_shutdown, `sleep(600)` ("ten_minutes") and the shutdown;
- without max_lifetime in the ini, the service ini's default_max_lifetime (172800) applied;
- a plain ini is debug mode, where only disable_shutdown matters: with False the launcher found no
  webbase, ran the POST scripts, slept 600 s and shut the VM down; a plain ini without
  disable_shutdown raised "Invalid ini file" and ended the same way.
"""
import base64
import json
import os
import subprocess
import sys

import pytest
from node_modules_support import compile_data, content, watch_until_shutdown
from userdata_helpers import FIXTURES, decode

from confrt.errors import CompileError
from confrt.paths import packaged_modules

LIFETIME = os.path.join(packaged_modules(), "lifetime", "files", "confrt-lifetime")

#: The README's example ini file ("If a plain text ini file is sent as user data, then it is assumed
#: that the VM is being started up in debug mode. Essentially, the only option that matters in this
#: case is the disable_shutdown option."), verbatim in tests/fixtures/userdata/glidein-debug.ini.
with open(os.path.join(FIXTURES, "glidein-debug.ini")) as _handle:
    SEED_INI = _handle.read()


def lifetime_settings(tmp_path, data):
    """The lifetime daemon's settings the decoded userdata compiles to (userdata present)."""
    catalog, _ = compile_data(tmp_path, dict(data, **{"confrt::userdata_source": "ec2"}))
    return json.loads(content(catalog, "/etc/confrt/lifetime.json"))


def test_debug_mode_with_disable_shutdown_true_stays_up(tmp_path):
    """The README's ini as it is: the admin's debug VM stays up (no deadline, no shutdown)."""
    decoded = decode(SEED_INI.encode())
    assert decoded.data == {"classes": ["lifetime"], "lifetime::disable_shutdown": True}
    settings = lifetime_settings(tmp_path, decoded.data)
    assert settings["deadline"] is None and settings["disable_shutdown"] is True


@pytest.mark.parametrize("change, problem", [
    (("disable_shutdown = True", "disable_shutdown = False"), "glideinWMS debug mode (plain ini): no pilot runs"),
    (("disable_shutdown = True\n", ""), "a plain glideinWMS ini without [vm_properties] disable_shutdown (the old "
                                        "pilot: 'Invalid ini file', then its shutdown): no pilot runs"),
])
def test_debug_mode_without_disable_shutdown_ends_ten_minutes_after_boot(tmp_path, change, problem):
    """The old VM shut down ~600 s after the launcher started; the old confrt set no deadline, so the VM
    ran (and billed) forever. max_lifetime = 43200 of the ini does not count in debug mode."""
    decoded = decode(SEED_INI.replace(*change).encode())
    assert decoded.data == {"classes": ["lifetime"], "lifetime::disable_shutdown": False,
                            "lifetime::max_lifetime": 600, "lifetime::shutdown_delay": 0}
    assert decoded.warnings == [f"userdata: {problem}; the VM ends 600 s after boot, as the old pilot's did "
                                f"(disable_shutdown = True keeps it up)"]
    settings = lifetime_settings(tmp_path, decoded.data)
    assert (settings["deadline"], settings["shutdown_delay"], settings["disable_shutdown"]) == (600, 0, False)


def test_delimited_userdata_without_max_lifetime_gets_the_old_default(tmp_path):
    """`[Base64 encoded blob]####[additional arguments]` whose ini has no max_lifetime: the pilot service
    ini's default_max_lifetime (172800) applied; the old confrt set no deadline."""
    ini = SEED_INI.replace("max_lifetime = 43200\n", "").replace("disable_shutdown = True", "disable_shutdown = False")
    decoded = decode(f"{base64.b64encode(ini.encode()).decode()}####-param_X 1".encode())
    assert decoded.data["lifetime::max_lifetime"] == 172800 and decoded.data["classes"] == ["glidein", "lifetime"]
    settings = lifetime_settings(tmp_path, dict(decoded.data, **{"glidein::webbase": "http://f.example.org/s"}))
    assert (settings["deadline"], settings["shutdown_delay"]) == (172800, 600)  # and the 10 minutes for the logs
    with_it = decode(f"{base64.b64encode(SEED_INI.encode()).decode()}####-param_X 1".encode())
    assert with_it.data["lifetime::max_lifetime"] == 43200


def test_shutdown_delay_is_checked(tmp_path):
    with pytest.raises(CompileError, match=r"common.yaml: lifetime::shutdown_delay: expected seconds >= 0, got -1"):
        compile_data(tmp_path, {"classes": ["lifetime"], "lifetime::shutdown_delay": -1})


# -- the daemon: the wait before the shutdown, and the debug VM's end on a fake clock ---------------

def write_settings(tmp_path, **more):
    settings = {"deadline": None, "reason": "test", "disable_shutdown": False, "shutdown_delay": 0,
                "shutdown_command": ["sh", "-c", f"cat /proc/uptime > {tmp_path}/shutdown.ran"],
                "drain": "never", "drain_command": ["false"], "drain_timeout": 0,
                "hooks_dir": str(tmp_path / "hooks"), "hook_timeout": 5, "state_dir": str(tmp_path / "state")}
    settings.update(more)
    (tmp_path / "hooks").mkdir(exist_ok=True)
    hook = tmp_path / "hooks" / "10-post"  # stands for the pilot's stop and its POST scripts
    hook.write_text(f"#!/bin/sh\ncat /proc/uptime > {tmp_path}/hook.ran\n")
    hook.chmod(0o755)
    path = tmp_path / "lifetime.json"
    path.write_text(json.dumps(settings))
    return path


def uptime_in(path):
    return float(path.read_text().split()[0])


def test_the_end_waits_shutdown_delay_after_the_hooks(tmp_path):
    """The old pilot slept 600 s after the POST scripts; the old confrt shut down at once."""
    settings = write_settings(tmp_path, shutdown_delay=2)
    result = subprocess.run([sys.executable, LIFETIME, "end", str(settings), "the glidein pilot ended"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert uptime_in(tmp_path / "shutdown.ran") - uptime_in(tmp_path / "hook.ran") >= 2
    assert "shutting down in 2 s (time to collect the logs)" in result.stdout


def test_the_debug_vm_ends_at_600_s_after_boot_on_a_fake_clock(tmp_path):
    """The settings the README's ini with disable_shutdown = False compiles to, run by the daemon in a
    time namespace whose boot was 597 s ago: the shutdown comes at 600 s after boot, not before."""
    decoded = decode(SEED_INI.replace("disable_shutdown = True", "disable_shutdown = False").encode())
    compiled = lifetime_settings(tmp_path / "compile", decoded.data)
    settings = write_settings(tmp_path, **{key: compiled[key] for key in ("deadline", "reason", "shutdown_delay",
                                                                            "disable_shutdown")})
    output = watch_until_shutdown(settings, tmp_path / "shutdown.ran", booted_ago=597)[1]
    assert 600 <= uptime_in(tmp_path / "shutdown.ran") < 610
    assert uptime_in(tmp_path / "hook.ran") >= 600
    assert "deadline 600 s after boot (max_lifetime reached)" in output
