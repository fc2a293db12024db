"""Compatibility: on this host confrt's facts equal what Debian's facter reports.

Hierarchies written for Puppet interpolate these names, so the values must be the
same, not only the names. Facts facter cannot resolve here are left out.
"""
import json
import shutil
import subprocess

import pytest

from confrt.facts import Facts
from confrt.facts.mounts import is_remote

pytestmark = pytest.mark.compat

NAMES = ("os", "kernel", "kernelrelease", "kernelversion", "kernelmajversion", "networking",
         "processors", "memory", "disks", "mountpoints")


@pytest.fixture(scope="module")
def facter():
    if not shutil.which("facter"):
        pytest.skip("facter is not installed (Debian package facter, see tests/debian-packages.txt)")
    # facter exits 1 where /proc/1/environ is unreadable (containers), yet prints every fact
    result = subprocess.run(["facter", "--json", *NAMES], capture_output=True, text=True, timeout=120)
    if not result.stdout.strip():
        pytest.skip(f"facter printed nothing: {result.stderr.strip()[-200:]}")
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def confrt_facts():
    return Facts()


@pytest.mark.parametrize("name", [
    "os.name", "os.family", "os.release.full", "os.release.major", "os.release.minor",
    "os.distro.codename", "os.architecture", "os.hardware",
    "kernel", "kernelrelease", "kernelversion", "kernelmajversion",
    "networking.hostname", "networking.fqdn", "networking.domain", "networking.ip",
    "networking.ip6", "networking.mac", "networking.netmask", "networking.network",
    "networking.mtu", "networking.primary",
    "processors.count", "processors.physicalcount", "processors.models",
    "memory.system.total_bytes",
])
def test_same_value_as_facter(facter, confrt_facts, name):
    expected = Facts.static(facter).get(name)
    assert confrt_facts.get(name) == expected


def test_same_interfaces_as_facter(facter, confrt_facts):
    theirs = facter["networking"]["interfaces"]
    ours = confrt_facts.get("networking.interfaces")
    assert sorted(ours) == sorted(theirs)
    for name, info in theirs.items():
        for key in ("ip", "ip6", "mac", "mtu", "netmask", "netmask6", "network", "network6", "scope6"):
            assert ours[name].get(key) == info.get(key), f"{name}.{key}"
        assert [b["address"] for b in ours[name].get("bindings", [])] == \
            [b["address"] for b in info.get("bindings", [])]


def test_same_disks_as_facter(facter, confrt_facts):
    theirs, ours = facter.get("disks", {}), confrt_facts.get("disks") or {}
    assert sorted(ours) == sorted(theirs)
    for name, info in theirs.items():
        for key in ("size_bytes", "size", "type", "model", "vendor"):
            if key in info:
                assert ours[name].get(key) == info[key], f"{name}.{key}"


def test_same_mountpoints_as_facter(facter, confrt_facts):
    theirs, ours = facter.get("mountpoints", {}), confrt_facts.get("mountpoints")
    assert set(theirs) <= set(ours)
    for path, info in theirs.items():
        keys = ("device", "filesystem", "options")
        if not is_remote(info["filesystem"]):  # confrt does not statvfs() network/FUSE mounts
            keys += ("size_bytes",)
        for key in keys:
            assert ours[path][key] == info[key], f"{path}.{key}"
