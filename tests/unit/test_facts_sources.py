"""The probes behind the facts, fed with fixture trees (root=...) and real text formats."""
import os

import pytest

from confrt.facts import Facts, Host
from confrt.facts.kernel import parse_cmdline
from confrt.facts.mounts import parse_mounts
from confrt.facts.networking import binding, default_route_interface, resolv_conf_domain
from confrt.facts.units import human_bytes, usage
from confrt.facts.virtual import detect_from_files


def tree(root, files):
    """Write {relative path: text} under root; return a Facts reading that root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Facts(root=str(root))


# --- /proc/cmdline ----------------------------------------------------------

def test_cmdline_values_flags_and_vgrid_username(tmp_path):
    facts = tree(tmp_path, {"proc/cmdline": (
        "BOOT_IMAGE=/vmlinuz-5.14.0 root=UUID=7a1c-22 ro crashkernel=1G-4G:192M,4G-64G:256M "
        "rhgb quiet vgrid_username=alice\n")})
    assert facts.get("cmdline.vgrid_username") == "alice"
    assert facts.get("cmdline.root") == "UUID=7a1c-22"
    assert facts.get("cmdline.crashkernel") == "1G-4G:192M,4G-64G:256M"
    assert facts.get("cmdline.quiet") is True
    assert facts.get("cmdline.ro") is True
    assert "cmdline.vgrid_group" not in facts


@pytest.mark.parametrize("text, expected", [
    ('msg="hello world" x=1', {"msg": "hello world", "x": "1"}),
    ('"opt=a b" y', {"opt": "a b", "y": True}),
    ('"flag with space"', {"flag with space": True}),
    ('a="x" b=""', {"a": "x", "b": ""}),
    ('k=v"q w"z', {"k": 'v"q w"z'}),
    ("dyndbg=\"file foo.c +p\" quiet", {"dyndbg": "file foo.c +p", "quiet": True}),
    ("console=tty0 console=ttyS0,115200n8", {"console": ["tty0", "ttyS0,115200n8"]}),
    ("rd.lvm.lv=vg/root random.trust_cpu=on", {"rd.lvm.lv": "vg/root", "random.trust_cpu": "on"}),
    ("ro -- single vgrid_username=bob", {"ro": True}),
    ("a==b", {"a": "=b"}),
    ("  \t\n", {}),
], ids=["quoted-value", "quoted-param", "quoted-flag", "empty-value", "inner-quotes", "dyndbg",
        "repeated", "dotted-names", "init-args", "double-equals", "blank"])
def test_parse_cmdline_like_the_kernel(text, expected):
    assert parse_cmdline(text) == expected


def test_no_cmdline_file_no_fact(tmp_path):
    assert Facts(root=str(tmp_path)).get("cmdline") is None


# --- /proc/self/mounts ------------------------------------------------------

MOUNTS = """\
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/mapper/rl-root / xfs rw,relatime,attr2,inode64,noquota 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
/dev/vda1 /boot ext4 rw,relatime 0 0
/dev/md0 /home xfs rw,noatime 0 0
/dev/vdb /mnt/with\\040space ext4 ro,noatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=1G 0 0
tmpfs /run tmpfs rw,size=2G 0 0
"""


def test_mountpoints_skip_pseudo_filesystems_and_decode_paths(tmp_path):
    facts = tree(tmp_path, {"proc/self/mounts": MOUNTS})
    mounts = facts.get("mountpoints")
    assert sorted(mounts) == ["/", "/boot", "/home", "/mnt/with space", "/run"]
    assert mounts["/"]["device"] == "/dev/mapper/rl-root"
    assert mounts["/"]["filesystem"] == "xfs"
    assert mounts["/"]["options"] == ["rw", "relatime", "attr2", "inode64", "noquota"]
    assert mounts["/run"]["options"] == ["rw", "size=2G"]  # the mount on top wins
    assert facts.get("mountpoints./home.device") == "/dev/md0"


def test_mountpoint_space_comes_from_statvfs(tmp_path):
    facts = tree(tmp_path, {"proc/self/mounts": "/dev/vda1 / ext4 rw 0 0\n"})
    root = facts.get("mountpoints./")
    stat = os.statvfs(str(tmp_path))
    assert root["size_bytes"] == stat.f_blocks * stat.f_frsize
    assert 0 <= root["available_bytes"] <= root["size_bytes"]
    # other processes write to this disk meanwhile: used space may move a little between reads
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    assert abs(root["used_bytes"] - used) <= max(64 << 20, used // 100)
    assert root["capacity"].endswith("%")


def test_mount_on_a_missing_path_has_no_sizes(tmp_path):
    facts = tree(tmp_path, {"proc/self/mounts": "/dev/vdc /nowhere ext4 rw 0 0\n"})
    assert facts.get("mountpoints./nowhere") == {"device": "/dev/vdc", "filesystem": "ext4",
                                                 "options": ["rw"]}


def test_remote_and_fuse_filesystems_get_no_sizes(tmp_path):
    """A hung NFS server or CVMFS repository must not hang the run in statvfs()."""
    facts = tree(tmp_path, {"proc/self/mounts": (
        "/dev/vda1 / ext4 rw 0 0\n"
        "nfs.bnl.gov:/home /home nfs4 rw,vers=4.2,hard 0 0\n"
        "cvmfs2 /cvmfs/atlas.cern.ch fuse ro,nosuid,nodev,allow_other 0 0\n"
        "user@host:/data /mnt/data fuse.sshfs rw 0 0\n")})
    mounts = facts.get("mountpoints")
    assert "size_bytes" in mounts["/"]
    for path in ("/home", "/cvmfs/atlas.cern.ch", "/mnt/data"):
        assert "size_bytes" not in mounts[path], path
    assert mounts["/home"] == {"device": "nfs.bnl.gov:/home", "filesystem": "nfs4",
                               "options": ["rw", "vers=4.2", "hard"]}


def test_parse_mounts_ignores_short_and_comment_lines():
    assert parse_mounts("# c\n\nbroken line\n/dev/a /x ext4 rw,noatime 0 0\n") == [
        ("/dev/a", "/x", "ext4", ["rw", "noatime"])]


# --- /sys/block -------------------------------------------------------------

def test_disks_from_sys_block(tmp_path):
    facts = tree(tmp_path, {
        "sys/block/nvme1n1/size": "3662109375\n",
        "sys/block/nvme1n1/queue/rotational": "0\n",
        "sys/block/nvme1n1/device/model": "Amazon EC2 NVMe Instance Storage        \n",
        "sys/block/nvme1n1/device/serial": "AWS1A2B3C4D5E6F7\n",
        "sys/block/sda/size": "1953525168\n",
        "sys/block/sda/queue/rotational": "1\n",
        "sys/block/sda/device/model": "ST1000NM0033\n",
        "sys/block/sda/device/vendor": "ATA     \n",
        "sys/block/vdb/size": "209715200\n",
        "sys/block/vdb/serial": "\n",
        "sys/block/vdb/device/vendor": "0x1af4\n",
        "sys/block/loop0/size": "1024\n",
        "sys/block/md0/size": "2048\n",
    })
    disks = facts.get("disks")
    assert sorted(disks) == ["nvme1n1", "sda", "vdb"]
    assert disks["nvme1n1"] == {
        "size": "1.71 TiB", "size_bytes": 3662109375 * 512, "type": "ssd",
        "model": "Amazon EC2 NVMe Instance Storage", "serial": "AWS1A2B3C4D5E6F7"}
    assert disks["sda"]["type"] == "hdd"
    assert disks["sda"]["vendor"] == "ATA"
    assert disks["vdb"] == {"size": "100.00 GiB", "size_bytes": 107374182400, "vendor": "0x1af4"}


def test_no_sys_block_no_disks(tmp_path):
    assert Facts(root=str(tmp_path)).get("disks") is None


# --- virtual ------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"sys/class/dmi/id/product_name": "KVM\n", "sys/class/dmi/id/sys_vendor": "Red Hat\n"}, "kvm"),
    ({"sys/class/dmi/id/product_name": "VMware Virtual Platform\n"}, "vmware"),
    ({"sys/class/dmi/id/product_name": "Virtual Machine\n",
      "sys/class/dmi/id/sys_vendor": "Microsoft Corporation\n"}, "hyperv"),
    ({"sys/class/dmi/id/product_name": "c5.large\n", "sys/class/dmi/id/sys_vendor": "Amazon EC2\n"},
     "kvm"),
    ({"sys/class/dmi/id/product_name": "Google Compute Engine\n"}, "gce"),
    ({"sys/class/dmi/id/product_name": "HVM domU\n", "sys/class/dmi/id/sys_vendor": "Xen\n"}, "xenhvm"),
    ({"sys/class/dmi/id/product_name": "PowerEdge R740\n", "sys/class/dmi/id/sys_vendor": "Dell Inc.\n",
      "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu vme sse2\n"}, "physical"),
    ({"proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu hypervisor sse2\n"}, "virtual"),
    ({".dockerenv": ""}, "docker"),
    ({}, "physical"),
], ids=["kvm", "vmware", "hyperv", "ec2", "gce", "xen", "metal", "cpu-flag", "docker", "nothing"])
def test_virtual_from_files(tmp_path, files, expected):
    facts = tree(tmp_path, files)
    assert detect_from_files(Host(str(tmp_path))) == expected
    assert facts.get("virtual") == expected
    assert facts.get("is_virtual") is (expected != "physical")


def test_is_virtual_follows_an_overridden_virtual():
    assert Facts(overrides={"virtual": "physical"}).get("is_virtual") is False
    assert Facts(overrides={"virtual": "xen0"}).get("is_virtual") is False
    assert Facts(overrides={"virtual": "kvm"}).get("is_virtual") is True


# --- processors, uptime, kernel -----------------------------------------------

CPUINFO = "".join(
    f"processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6130\n"
    f"physical id\t: {n // 2}\nflags\t\t: fpu sse2\n\n" for n in range(4))


def test_processors_from_cpuinfo(tmp_path):
    facts = tree(tmp_path, {"proc/cpuinfo": CPUINFO})
    assert facts.get("processors") == {"count": 4, "physicalcount": 2,
                                       "models": ["Intel(R) Xeon(R) Gold 6130"] * 4}
    assert facts.get("processorcount") == 4
    assert facts.get("physicalprocessorcount") == 2


def test_processors_without_cpuinfo_use_the_cpu_count(tmp_path):
    assert Facts(root=str(tmp_path)).get("processors.count") == os.cpu_count()


@pytest.mark.parametrize("uptime, expected", [
    ("59.99 100.0\n", {"seconds": 59, "hours": 0, "days": 0, "uptime": "0:00 hours"}),
    ("11220.5 1.0\n", {"seconds": 11220, "hours": 3, "days": 0, "uptime": "3:07 hours"}),
    ("90000 1\n", {"seconds": 90000, "hours": 25, "days": 1, "uptime": "1 day"}),
    ("1036800.3 1\n", {"seconds": 1036800, "hours": 288, "days": 12, "uptime": "12 days"}),
])
def test_uptime(tmp_path, uptime, expected):
    facts = tree(tmp_path, {"proc/uptime": uptime})
    assert facts.get("system_uptime") == expected
    assert facts.get("uptime_seconds") == expected["seconds"]
    assert facts.get("uptime_days") == expected["days"]
    assert facts.get("uptime") == expected["uptime"]


def test_kernel_versions_from_proc(tmp_path):
    facts = tree(tmp_path, {"proc/sys/kernel/osrelease": "5.14.0-427.13.1.el9_4.x86_64\n",
                            "proc/sys/kernel/ostype": "Linux\n"})
    assert facts.get("kernel") == "Linux"
    assert facts.get("kernelrelease") == "5.14.0-427.13.1.el9_4.x86_64"
    assert facts.get("kernelversion") == "5.14.0"
    assert facts.get("kernelmajversion") == "5.14"


def test_kernel_falls_back_to_uname(tmp_path):
    facts = Facts(root=str(tmp_path))
    assert facts.get("kernelrelease") == os.uname().release


# --- networking helpers -------------------------------------------------------

def test_default_route_interface():
    route = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "eth1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
             "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\n")
    assert default_route_interface(route) == "eth0"
    assert default_route_interface(route.splitlines()[0]) is None


def test_domain_from_resolv_conf():
    assert resolv_conf_domain("nameserver 1.1.1.1\nsearch usatlas.bnl.gov bnl.gov\n") == "usatlas.bnl.gov"
    assert resolv_conf_domain("search a.org\ndomain b.org\n") == "b.org"
    assert resolv_conf_domain("nameserver 8.8.8.8\n") is None


def test_binding_networks_and_ipv6_scope():
    assert binding("192.168.1.17", "255.255.255.0") == {
        "address": "192.168.1.17", "netmask": "255.255.255.0", "network": "192.168.1.0"}
    assert binding("fe80::1%eth0", "ffff:ffff:ffff:ffff::") == {
        "address": "fe80::1", "netmask": "ffff:ffff:ffff:ffff::", "network": "fe80::",
        "scope6": "link"}
    assert binding("2001:db8:5::7", "ffff:ffff:ffff::")["network"] == "2001:db8:5::"
    assert binding("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")["scope6"] == "host"


def test_live_primary_interface_is_copied_to_the_top():
    networking = Facts().get("networking")
    primary = networking.get("primary")
    if primary is None:
        pytest.skip("this host has no interface with an address besides lo")
    for key in ("ip", "mac", "netmask", "mtu"):
        if key in networking["interfaces"][primary]:
            assert networking[key] == networking["interfaces"][primary][key]


# --- units ----------------------------------------------------------------------

def test_human_bytes_like_facter():
    assert human_bytes(0) == "0 bytes"
    assert human_bytes(1023) == "1023 bytes"
    assert human_bytes(1536) == "1.50 KiB"
    assert human_bytes(274877906944) == "256.00 GiB"
    assert human_bytes(2 ** 70) == "1024.00 EiB"


def test_usage_capacity():
    assert usage(1000, 250)["capacity"] == "75.00%"
    assert usage(1000, 250)["used_bytes"] == 750
    assert usage(1000, 1000)["capacity"] == "0%"
    sizes = usage(100, 20, used=60, total_name="size")
    assert (sizes["size_bytes"], sizes["capacity"]) == (100, "75.00%")


# --- property: what a boot loader writes, the cmdline fact reads back ----------

def test_cmdline_round_trip_property():
    hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
    strategies = hypothesis.strategies
    names = strategies.text("abcdefghijklmnopqrstuvwxyz_.-0123456789", min_size=1, max_size=12).filter(
        lambda name: name != "--")
    values = strategies.one_of(strategies.just(True), strategies.text(
        strategies.characters(blacklist_characters='"', blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        max_size=20))

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(strategies.dictionaries(names, values, max_size=8))
    def check(params):
        words = []
        for name, value in params.items():
            if value is True:
                words.append(name)
            elif value == "" or any(char.isspace() for char in value):
                words.append(f'{name}="{value}"')
            else:
                words.append(f"{name}={value}")
        assert parse_cmdline(" ".join(words) + "\n") == params

    check()


def test_live_virtual_asks_systemd_only_when_files_name_nothing():
    import shutil
    import subprocess

    from confrt.facts.virtual import SYSTEMD_NAMES

    from_files = detect_from_files(Host("/"))
    live = Facts().get("virtual")
    if from_files not in ("physical", "virtual"):
        assert live == from_files
    elif shutil.which("systemd-detect-virt"):
        answer = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip()
        assert live == SYSTEMD_NAMES.get(answer, answer or from_files)
    else:
        assert live == from_files
