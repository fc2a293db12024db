"""lifetime module: config and service from data, bad values as compile errors, the daemon's end sequence."""
import json
import os
import subprocess
import sys

import pytest
from node_modules_support import compile_data, content, watch_until_shutdown

from confrt.errors import CompileError
from confrt.paths import packaged_modules

SCRIPT = os.path.join(packaged_modules(), "lifetime", "files", "confrt-lifetime")


def config_of(catalog):
    return json.loads(content(catalog, "/etc/confrt/lifetime.json"))


def test_deadline_and_service_for_both_init_systems(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["lifetime"], "lifetime::max_lifetime": 172800,
                                                "confrt::userdata_source": "ec2"})
    config = config_of(catalog)
    assert config["deadline"] == 172800 and config["reason"] == "max_lifetime reached"
    assert config["shutdown_command"] == ["shutdown", "-h", "now"] and config["disable_shutdown"] is False
    assert config["drain"] == "auto" and config["drain_command"] == ["condor_off", "-peaceful", "-startd"]
    unit = content(catalog, "/etc/systemd/system/confrt-lifetime.service")
    assert "ExecStart=/usr/bin/python3 /usr/libexec/confrt/confrt-lifetime watch /etc/confrt/lifetime.json" in unit
    init = content(catalog, "/etc/init.d/confrt-lifetime")
    assert "# Provides:          confrt-lifetime" in init
    assert "setsid /usr/bin/python3 /usr/libexec/confrt/confrt-lifetime watch /etc/confrt/lifetime.json" in init
    service = catalog.get("service[confrt-lifetime]")
    assert service["ensure"] == "running" and service["enable"] is True
    assert set(service.relations["subscribe"]) == {"file[/usr/libexec/confrt/confrt-lifetime]",
                                                   "file[/etc/confrt/lifetime.json]"}
    assert catalog.get("file[/usr/libexec/confrt/confrt-lifetime]")["source"] == SCRIPT
    assert warnings == []


def test_init_script_is_valid_sh(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["lifetime"]})
    script = tmp_path / "init"
    script.write_text(content(catalog, "/etc/init.d/confrt-lifetime"))
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0


def test_string_commands_are_split_like_a_shell(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["lifetime"], "lifetime::shutdown_command": "touch '/tmp/x y'",
                                         "lifetime::disable_shutdown": True})
    config = config_of(catalog)
    assert config["shutdown_command"] == ["touch", "/tmp/x y"] and config["disable_shutdown"] is True
    assert config["deadline"] is None


def test_missing_userdata_ends_only_after_grace(tmp_path):
    data = {"classes": ["lifetime"], "lifetime::require_userdata": True, "lifetime::grace": 600,
            "lifetime::max_lifetime": 172800}
    catalog, warnings = compile_data(tmp_path, data)
    assert config_of(catalog)["deadline"] == 600 and config_of(catalog)["reason"] == "no userdata (grace reached)"
    assert warnings == ["module lifetime: no userdata on an image that needs it: the VM ends 600 s after boot, "
                        "shut down 600 s later"]
    catalog, warnings = compile_data(tmp_path / "with", dict(data, **{"confrt::userdata_source": "ec2"}))
    assert config_of(catalog)["deadline"] == 172800 and warnings == []


@pytest.mark.parametrize("data, problem", [
    ({"lifetime::max_lifetime": "2 days"}, "lifetime::max_lifetime: expected an integer, got '2 days'"),
    ({"lifetime::max_lifetime": 0}, "lifetime::max_lifetime: expected a number of seconds > 0, got 0"),
    ({"lifetime::max_lifetime": True}, "lifetime::max_lifetime: expected an integer, got True"),
    ({"lifetime::shutdown_command": []}, "lifetime::shutdown_command: expected a command"),
    ({"lifetime::shutdown_command": "halt 'now"}, "lifetime::shutdown_command: No closing quotation"),
    ({"lifetime::drain": "sometimes"}, "lifetime::drain: expected one of 'auto', 'always', 'never'"),
])
def test_bad_value_is_a_compile_error_never_a_shutdown(tmp_path, data, problem):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, dict(data, classes=["lifetime"]))
    assert "common.yaml: " + problem in str(error.value)


# -- the daemon itself ---------------------------------------------------------------------------

def write_config(tmp_path, **more):
    config = {"deadline": None, "reason": "test", "disable_shutdown": False,
              "shutdown_command": ["sh", "-c", f"cat /proc/uptime > {tmp_path}/shutdown-ran"],
              "drain": "never", "drain_command": ["false"], "drain_timeout": 0,
              "hooks_dir": str(tmp_path / "hooks"), "hook_timeout": 2, "state_dir": str(tmp_path / "state")}
    config.update(more)
    path = tmp_path / "lifetime.json"
    path.write_text(json.dumps(config))
    (tmp_path / "hooks").mkdir(exist_ok=True)
    return path


def hook(tmp_path, name, body):
    path = tmp_path / "hooks" / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def lifetime(*args, **kwargs):
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, **kwargs)


def test_end_runs_hooks_in_order_then_shutdown_once(tmp_path):
    config = write_config(tmp_path)
    hook(tmp_path, "20-second", f"echo second >> {tmp_path}/order\n")
    hook(tmp_path, "10-first", f"echo first >> {tmp_path}/order\n")
    hook(tmp_path, "15-not-executable", "exit 1\n")
    (tmp_path / "hooks" / "15-not-executable").chmod(0o644)
    # a hook that hangs, with a child in its process group: both killed after hook_timeout
    hook(tmp_path, "30-hangs", f"sleep 300 & echo $! > {tmp_path}/child; wait\n")
    result = lifetime("end", config, "asked")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "order").read_text() == "first\nsecond\n"
    assert (tmp_path / "shutdown-ran").exists()
    child = int((tmp_path / "child").read_text())
    assert not os.path.exists(f"/proc/{child}") or "zombie" in open(f"/proc/{child}/status").read().lower()
    assert "30-hangs still running after 2 s: killing its process group" in result.stdout
    (tmp_path / "shutdown-ran").unlink()
    again = lifetime("end", config, "asked")
    assert "the end already ran in this boot" in again.stdout and not (tmp_path / "shutdown-ran").exists()


def test_disable_shutdown_keeps_the_vm_up(tmp_path):
    config = write_config(tmp_path, disable_shutdown=True)
    result = lifetime("end", config)
    assert "shutdown disabled: staying up" in result.stdout and not (tmp_path / "shutdown-ran").exists()


def test_watch_ends_at_the_deadline_counted_from_boot(tmp_path):
    """In a time namespace whose boot was a second ago: the end comes at uptime >= deadline."""
    config = write_config(tmp_path, deadline=3, reason="max_lifetime reached")
    running, output = watch_until_shutdown(config, tmp_path / "shutdown-ran", booted_ago=1)
    assert float((tmp_path / "shutdown-ran").read_text().split()[0]) >= 3
    assert running  # it stays up after the end: the service keeps running
    assert "deadline 3 s after boot (max_lifetime reached)" in output
    assert "end of life: max_lifetime reached" in output


def test_its_folders_are_declared_on_a_host_without_etc_confrt(tmp_path):
    """/etc/confrt is not there on a host set up with pip: the module declares it before what goes in it."""
    catalog, _ = compile_data(tmp_path, {"classes": ["lifetime"], "lifetime::max_lifetime": 60})
    order = [resource.ref for resource in catalog.order]
    assert order.index("directory[/etc/confrt]") < order.index("directory[/etc/confrt/lifetime.d]")
    assert order.index("directory[/etc/confrt]") < order.index("file[/etc/confrt/lifetime.json]")
    assert "directory[/etc]" not in order and "directory[/usr/libexec]" not in order
