"""The scratch system itself: what happens inside stays inside, and teardown cleans up."""
import os
import socket
import subprocess
import sys

import pytest

from scratch import TRACE_LOG, apt_install, diff_changes, start_or_skip, state_changing, unavailable_reason


def _host_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_file_written_inside_stays_inside(scratch):
    scratch.write_file("/etc/confrt-scratch-probe", "inside\n", mode=0o600)
    assert scratch.read_text("/etc/confrt-scratch-probe") == "inside\n"
    assert scratch.stat("/etc/confrt-scratch-probe") == (0o600, "root", "root")
    assert not os.path.exists("/etc/confrt-scratch-probe")
    changes = scratch.changes()
    assert changes["/etc/confrt-scratch-probe"].startswith("file 0:0 -rw-------")


def test_tmp_and_run_are_private_and_not_in_the_upper_layer(scratch):
    scratch.sh("echo x > /tmp/confrt-probe; echo y > /run/confrt-probe")
    assert scratch.read_text("/tmp/confrt-probe") == "x\n"
    assert not os.path.exists("/tmp/confrt-probe") and not os.path.exists("/run/confrt-probe")
    assert not [p for p in scratch.changes() if p.startswith(("/tmp", "/run"))]


def test_changes_show_deletions_and_diff_ignores_prefixes(scratch):
    before = scratch.changes()
    scratch.run(["rm", "/etc/hostname"], check=True)
    scratch.write_file("/var/lib/confrt/state", "s")
    after = scratch.changes()
    assert after["/etc/hostname"] == "deleted"
    assert os.path.exists("/etc/hostname")
    assert diff_changes(before, after, ignore=["/var/lib/confrt"]) == ["/etc/hostname"]
    assert "/var/lib/confrt/state" in diff_changes(before, after)


def test_useradd_inside_leaves_host_accounts_alone(scratch):
    passwd, group = _host_bytes("/etc/passwd"), _host_bytes("/etc/group")
    scratch.run(["useradd", "--create-home", "--shell", "/bin/sh", "scratchprobe"], check=True)
    assert "scratchprobe:" in scratch.read_text("/etc/passwd")
    assert scratch.run(["id", "-u", "scratchprobe"]).returncode == 0
    assert scratch.stat("/home/scratchprobe")[1] == "scratchprobe"
    assert _host_bytes("/etc/passwd") == passwd and _host_bytes("/etc/group") == group
    assert not os.path.exists("/home/scratchprobe")


def test_hostname_and_processes_are_private(scratch):
    scratch.run(["hostname", "scratch-probe-host"], check=True)
    assert scratch.run(["hostname"]).stdout.strip() == "scratch-probe-host"
    assert socket.gethostname() != "scratch-probe-host"
    # only the scratch's own processes are visible inside: its init is pid 1
    out = scratch.run(["cat", "/proc/1/cmdline"], check=True).stdout
    assert "confrt-scratch-init" in out


def test_apt_get_install_inside_leaves_host_dpkg_alone(scratch):
    status = _host_bytes("/var/lib/dpkg/status")
    assert scratch.run(["dpkg", "-s", "hello"]).returncode != 0
    apt_install(scratch, "hello")
    assert scratch.run(["hello"], check=True).stdout.strip() == "Hello, world!"
    assert "Status: install ok installed" in scratch.run(["dpkg", "-s", "hello"], check=True).stdout
    assert _host_bytes("/var/lib/dpkg/status") == status
    assert not os.path.exists("/usr/bin/hello")
    assert "/usr/bin/hello" in scratch.changes()


def test_teardown_detaches_loop_devices_and_kills_processes(tmp_path):
    system = start_or_skip(str(tmp_path))
    try:
        system.sh("truncate -s 32M /var/tmp/disk.img; losetup -f --show /var/tmp/disk.img > /var/tmp/dev;"
                  "mkfs.ext4 -q \"$(cat /var/tmp/dev)\"; mkdir -p /mnt/probe;"
                  "mount \"$(cat /var/tmp/dev)\" /mnt/probe; echo data > /mnt/probe/f;"
                  "setsid -f sleep 4242 </dev/null >/dev/null 2>&1")
        device = system.read_text("/var/tmp/dev").strip()
        assert system.loop_devices() == [device]
        pids = system.host_pids()
        assert any("sleep" in _host_bytes(f"/proc/{pid}/cmdline").decode() for pid in pids)
        root = system.root
    finally:
        system.teardown()
    assert system.loop_devices() == []
    backing = f"/sys/block/{os.path.basename(device)}/loop/backing_file"
    assert not os.path.exists(backing) or root not in _host_bytes(backing).decode()
    assert not any(os.path.exists(f"/proc/{pid}") and "4242" in _host_bytes(f"/proc/{pid}/cmdline").decode()
                   for pid in pids)
    assert not os.path.exists(root)


def test_offline_scratch_has_its_own_network_and_net_sysctls(offline_scratch):
    links = offline_scratch.run(["ip", "-o", "link"], check=True).stdout.splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]
    with open("/proc/sys/net/core/somaxconn") as handle:
        host_value = handle.read()
    wanted = "1111" if host_value.strip() != "1111" else "2222"
    offline_scratch.run(["sysctl", "-w", f"net.core.somaxconn={wanted}"], check=True)
    assert offline_scratch.read_text("/proc/sys/net/core/somaxconn").strip() == wanted
    with open("/proc/sys/net/core/somaxconn") as handle:
        assert handle.read() == host_value


def test_traced_commands_reveal_state_changes(scratch):
    env = scratch.trace_commands()
    scratch.sh("service no-such-service status || true; useradd tracedprobe; getent passwd tracedprobe", env=env)
    traced = scratch.read_text(TRACE_LOG).splitlines()
    assert traced == ["service no-such-service status", "useradd tracedprobe"]
    assert state_changing(traced) == ["useradd tracedprobe"]


def test_scratch_shell_runs_a_command_and_throws_its_changes_away():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    shell = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scratch-shell")
    result = subprocess.run([sys.executable, shell, "sh", "-c", "echo x > /etc/confrt-shell-probe; exit 3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert "1 changed paths thrown away:\n  /etc/confrt-shell-probe" in result.stderr
    assert not os.path.exists("/etc/confrt-shell-probe")


def test_upper_layer_on_tmpfs_where_the_host_disk_cannot_hold_it(tmp_path):
    """The fallback for hosts whose / is an overlay itself (containers): same behaviour."""
    system = start_or_skip(str(tmp_path), upper_on_tmpfs=True)
    try:
        assert system.uppers["/"].startswith(f"/proc/{system.pid}/root/")
        system.run(["useradd", "tmpfsprobe"], check=True)
        system.write_file("/etc/confrt-tmpfs-probe", "x")
        changed = system.changes()
        assert changed["/etc/confrt-tmpfs-probe"].startswith("file 0:0")
        assert "/etc/passwd" in changed
        assert not os.path.exists("/etc/confrt-tmpfs-probe")
    finally:
        system.teardown()
    assert not os.listdir(tmp_path)
