"""Interfaces (getifaddrs + /sys) and memory (/proc/meminfo) read without psutil,
checked against psutil itself: on this machine, in a network namespace with
made-up interfaces, and with psutil pointed at fixture /proc trees."""
import json
import os
import shutil
import subprocess
import sys

import psutil
import pytest
from confrt_testing import REPO

from confrt.facts import Facts, Host
from confrt.facts import networking
from confrt.facts._ifaddrs import InterfacesUnavailable, interface_addresses
from confrt.facts.hardware import memory, meminfo_sizes, psutil_memory_sizes

MEMINFO = """\
MemTotal:       16303412 kB
MemFree:         1200000 kB
MemAvailable:    9876543 kB
Buffers:          300000 kB
Active:          4000000 kB
Inactive:        3000000 kB
Cached:          7000000 kB
SwapCached:            0 kB
Shmem:             12000 kB
Slab:             400000 kB
SReclaimable:     300000 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""
VMSTAT = "pswpin 0\npswpout 0\n"


# --- interfaces --------------------------------------------------------------

def test_getifaddrs_lists_loopback_and_every_psutil_interface():
    found = interface_addresses()
    assert (2, "127.0.0.1", "255.0.0.0") in found["lo"]
    assert sorted(found) == sorted(psutil.net_if_addrs())


def test_links_match_psutil_on_this_host():
    assert networking.links(Host()) == networking.psutil_links()


def test_interfaces_fact_matches_psutil_on_this_host(monkeypatch):
    ours = networking.interfaces_fact(Host())
    monkeypatch.setattr(networking, "links", lambda host: networking.psutil_links())
    assert ours == networking.interfaces_fact(Host())
    assert ours["lo"]["ip"] == "127.0.0.1" and "mac" not in ours["lo"]


def test_psutil_is_the_fallback_without_getifaddrs(monkeypatch):
    import confrt.facts._ifaddrs as ifaddrs

    def unavailable():
        raise InterfacesUnavailable("getifaddrs: not here")

    monkeypatch.setattr(ifaddrs, "interface_addresses", unavailable)
    loaded = []
    monkeypatch.setattr(networking, "psutil_links", lambda: loaded.append(1) or {"x0": (None, 9000, [])})
    assert networking.links(Host()) == {"x0": (None, 9000, [])}
    assert loaded


def test_mac_and_mtu_come_from_sys_class_net(tmp_path, monkeypatch):
    import confrt.facts._ifaddrs as ifaddrs

    for name, address, mtu in (("eth9", "52:54:00:12:34:56\n", "9001\n"), ("tun0", "\n", "1420\n")):
        folder = tmp_path / "sys/class/net" / name
        folder.mkdir(parents=True)
        (folder / "address").write_text(address)
        (folder / "mtu").write_text(mtu)
    monkeypatch.setattr(ifaddrs, "interface_addresses", lambda: {"eth9": [], "tun0": [], "gone": []})
    assert networking.links(Host(str(tmp_path))) == {
        "eth9": ("52:54:00:12:34:56", 9001, []), "tun0": (None, 1420, []), "gone": (None, None, [])}


NETNS_SCRIPT = """
import json, subprocess
from confrt.facts import Host
from confrt.facts import networking
for command in (
    "mount -t sysfs sysfs /sys",
    "ip link set lo up",
    "ip link add d0 type veth peer name d1", "ip link set d0 mtu 9000 address 52:54:00:ab:cd:ef up",
    "ip addr add 10.20.30.40/12 dev d0", "ip addr add 192.168.7.9/24 dev d0",
    "ip addr add 2001:db8:1::5/48 dev d0", "ip addr add fe80::5/64 dev d0",
    "ip link add d2 type bridge", "ip addr add 172.16.0.1/32 dev d2",
):
    subprocess.run(command.split(), check=True)
ours = networking.interfaces_fact(Host())
networking.links = lambda host: networking.psutil_links()
print(json.dumps({"ours": ours, "psutil": networking.interfaces_fact(Host())}))
"""


def test_interfaces_match_psutil_in_a_network_namespace():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip (iproute2) for a private network namespace")
    done = subprocess.run(["unshare", "--net", "--mount", sys.executable, "-c", NETNS_SCRIPT],
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip(f"cannot create a network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ours"] == result["psutil"]
    d0 = result["ours"]["d0"]
    assert (d0["mac"], d0["mtu"], d0["ip"], d0["network"]) == ("52:54:00:ab:cd:ef", 9000, "10.20.30.40", "10.16.0.0")
    assert [b["address"] for b in d0["bindings"]] == ["10.20.30.40", "192.168.7.9"]
    assert (d0["ip6"], d0["scope6"]) == ("2001:db8:1::5", "global")
    assert "ip" not in result["ours"]["d1"] and result["ours"]["d1"]["mtu"] == 1500
    assert result["ours"]["d2"]["netmask"] == "255.255.255.255"


# --- memory ------------------------------------------------------------------

def proc_tree(root, meminfo):
    proc = root / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(meminfo)
    (proc / "vmstat").write_text(VMSTAT)
    return proc


@pytest.mark.parametrize("meminfo", [
    MEMINFO,
    MEMINFO.replace("MemAvailable:    9876543", "MemAvailable:   99999999"),  # container: > total
    MEMINFO.replace("SwapTotal:       2097148", "SwapTotal:             0")
           .replace("SwapFree:        2000000", "SwapFree:              0"),
], ids=["plain", "available-above-total", "no-swap"])
def test_meminfo_sizes_are_psutils(tmp_path, monkeypatch, meminfo):
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(proc_tree(tmp_path, meminfo)))
    assert meminfo_sizes(meminfo) == psutil_memory_sizes()


def test_meminfo_sizes_in_bytes():
    assert meminfo_sizes(MEMINFO) == (16303412 * 1024, 9876543 * 1024, 2097148 * 1024, 2000000 * 1024)


@pytest.mark.parametrize("meminfo", [
    "", MEMINFO.replace("MemAvailable:    9876543 kB\n", ""),
    MEMINFO.replace("MemAvailable:    9876543", "MemAvailable:          0"),
], ids=["empty", "no-MemAvailable", "zero-MemAvailable"])
def test_meminfo_sizes_leave_estimates_to_psutil(meminfo):
    assert meminfo_sizes(meminfo) is None


def test_memory_fact_reads_meminfo_under_root(tmp_path):
    proc_tree(tmp_path, MEMINFO)
    facts = Facts(root=str(tmp_path))
    assert facts.get("memory.system.total_bytes") == 16303412 * 1024
    assert facts.get("memory.system.available_bytes") == 9876543 * 1024
    assert facts.get("memory.swap.available_bytes") == 2000000 * 1024
    assert facts.get("memorysize") == "15.55 GiB"


def test_memory_fact_matches_psutil_on_this_host():
    ours = memory(Host())
    ram, swap = psutil.virtual_memory(), psutil.swap_memory()
    assert ours["system"]["total_bytes"] == ram.total
    assert ("swap" in ours) == bool(swap.total)
    assert ours.get("swap", {}).get("total_bytes", 0) == swap.total


def test_all_facts_import_neither_psutil_nor_idna_codecs():
    code = ("import sys\nbefore = set(sys.modules)\nfrom confrt.facts import Facts\nFacts().to_dict()\n"
            "print(sorted({'psutil', 'encodings.idna'} & (set(sys.modules) - before)))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
