"""tcpbuffers in a scratch system with its own network namespace (its net.ipv4 sysctls are its own).

net.core.rmem_max, wmem_max and netdev_max_backlog belong to the host's first network namespace
(read-only or absent in others), so this test drops them (null) and changes nothing of the host.
"""
from node_support import converge

PER_NAMESPACE = {"net.core.rmem_max": None, "net.core.wmem_max": None, "net.core.netdev_max_backlog": None}


def live(scratch, key):
    return " ".join(scratch.run(["sysctl", "-n", key], check=True).stdout.split())


def test_buffers_raised_never_lowered_and_persistent(offline_scratch):
    scratch = offline_scratch
    scratch.run(["sysctl", "-w", "net.ipv4.tcp_rmem=4096 131072 33554432"], check=True)  # more than CernVM's
    scratch.run(["sysctl", "-w", "net.ipv4.tcp_wmem=4096 16384 4194304"], check=True)    # less
    scratch.run(["sysctl", "-w", "net.ipv4.tcp_timestamps=0"], check=True)
    data = {"classes": ["tcpbuffers"], "tcpbuffers::sysctls": dict(PER_NAMESPACE)}
    noop = converge(scratch, data).noop.stdout
    # four keys in one file: a change line each, the file's diff once (issue 19: it was diffed per key)
    assert noop.count("--- /etc/sysctl.d/60-confrt-tcpbuffers.conf\n") == 1, noop
    assert noop.count("/content: ") == 4 and noop.count("+net.ipv4.tcp_") == 4, noop
    assert live(scratch, "net.ipv4.tcp_rmem") == "4096 131072 33554432"   # never lowered, field by field
    assert live(scratch, "net.ipv4.tcp_wmem") == "4096 65536 16777216"     # raised
    assert live(scratch, "net.ipv4.tcp_timestamps") == "1"
    lines = scratch.read_text("/etc/sysctl.d/60-confrt-tcpbuffers.conf").splitlines()
    assert sorted(lines) == ["net.ipv4.tcp_rmem = 4096 131072 33554432", "net.ipv4.tcp_sack = 1",
                             "net.ipv4.tcp_timestamps = 1", "net.ipv4.tcp_wmem = 4096 65536 16777216"]
    # the file is what the next boot applies: sysctl reads it back without complaint
    scratch.run(["sysctl", "-p", "/etc/sysctl.d/60-confrt-tcpbuffers.conf"], check=True)
    # one key allowed lower, per key
    data["tcpbuffers::sysctls"]["net.ipv4.tcp_timestamps"] = {"value": 0, "only_raise": False}
    result = scratch.apply(data)
    assert result.returncode == 2, result.stdout + result.stderr
    assert live(scratch, "net.ipv4.tcp_timestamps") == "0"
