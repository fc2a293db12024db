"""sysctl, cron and line in the scratch system (own network namespace, so net.* sysctls are its own)."""
from scratch import change_lines

RMEM = "net.ipv4.tcp_rmem"


def _data():
    return {
        "classes": ["resources"],
        "resources::sysctl": {
            "net.core.somaxconn": {"value": 3333, "file": "/etc/sysctl.d/60-confrt-tcp.conf"},
            RMEM: {"value": "4096 87380 16777216", "only_raise": True, "file": "/etc/sysctl.d/60-confrt-tcp.conf"},
        },
        "resources::cron": {"fetch-crl": {"command": "/usr/sbin/fetch-crl -q", "minute": "*/30"}},
        "resources::line": {"profile-include": {"path": "/etc/profile", "line": ". /etc/profile.d/confrt.sh"}},
    }


def test_sysctl_cron_and_line(offline_scratch):
    system = offline_scratch
    system.run(["sysctl", "-w", f"{RMEM}=4096 131072 33554432"], check=True)  # the kernel allows more
    profile = system.read_text("/etc/profile")
    real = system.noop_then_apply(_data())
    # the two sysctls share a file: a change line each, its diff once (issue 19), in the noop only
    noop = real.noop.stdout
    assert sorted(line for line in noop.splitlines() if line.startswith("--- ")) == \
        ["--- /etc/cron.d/fetch-crl", "--- /etc/profile", "--- /etc/sysctl.d/60-confrt-tcp.conf"], noop
    assert "+net.core.somaxconn = 3333\n+net.ipv4.tcp_rmem = 4096 131072 33554432\n" in noop
    assert sum(line.startswith("sysctl[") and "/content: " in line for line in noop.splitlines()) == 2
    assert "--- " not in real.stdout

    assert system.run(["sysctl", "-n", "net.core.somaxconn"]).stdout.strip() == "3333"
    assert system.run(["sysctl", "-n", RMEM]).stdout.split() == ["4096", "131072", "33554432"]
    assert system.read_text("/etc/sysctl.d/60-confrt-tcp.conf") == \
        "net.core.somaxconn = 3333\nnet.ipv4.tcp_rmem = 4096 131072 33554432\n"
    applied = system.run(["sysctl", "-p", "/etc/sysctl.d/60-confrt-tcp.conf"], check=True)
    assert "net.core.somaxconn = 3333" in applied.stdout
    assert system.read_text("/etc/cron.d/fetch-crl").endswith("*/30 * * * * root /usr/sbin/fetch-crl -q\n")
    assert system.read_text("/etc/profile") == profile + ". /etc/profile.d/confrt.sh\n"

    again = system.apply(_data())
    assert again.returncode == 0, again.stdout + again.stderr

    system.run(["sysctl", "-w", "net.core.somaxconn=100"], check=True)  # drift of the live value
    drift = system.apply(_data())
    assert change_lines(drift.stdout) == ["sysctl[net.core.somaxconn]/value: value changed '100' to '3333'"]
    assert system.run(["sysctl", "-n", "net.core.somaxconn"]).stdout.strip() == "3333"
