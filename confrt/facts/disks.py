"""Block devices from /sys/block, as facter's `disks` fact.

Only devices backed by hardware (with a `device` link: sda, vdb, nvme0n1,
xvdb) are listed, as facter does; loop, ram, zram, md and dm devices are not.
"""
import os

from confrt.facts.units import human_bytes

SECTOR_BYTES = 512  # /sys/block/*/size counts 512-byte sectors whatever the device's block size


def disks(host):
    base = host.path("/sys/block")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return None
    result = {}
    for name in names:
        if os.path.exists(os.path.join(base, name, "device")):
            result[name] = disk(host, name)
    return result


def disk(host, name):
    """size, size_bytes, and type (ssd/hdd), model, vendor, serial where the kernel has them."""
    def read(relative):
        value = host.read_text(f"/sys/block/{name}/{relative}")
        return value.strip() if value and value.strip() else None

    size_bytes = int(read("size") or 0) * SECTOR_BYTES
    info = {"size": human_bytes(size_bytes), "size_bytes": size_bytes}
    rotational = read("queue/rotational")
    if rotational in ("0", "1"):
        info["type"] = "hdd" if rotational == "1" else "ssd"
    for key, relative in (("model", "device/model"), ("vendor", "device/vendor"),
                          ("serial", "serial"), ("serial", "device/serial"),
                          ("wwn", "wwid"), ("wwn", "device/wwid")):
        value = read(relative)
        if value and key not in info:
            info[key] = value
    return info
