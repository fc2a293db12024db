"""Processors, memory and uptime."""
import os

from confrt.facts.units import usage


def cpuinfo(host):
    """/proc/cpuinfo as a list of {field: value}, one per logical processor."""
    text = host.read_text("/proc/cpuinfo") or ""
    processors = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "processor" in fields:
            processors.append(fields)
    return processors


def processors(host):
    """count (logical CPUs), physicalcount (sockets), models."""
    cpus = cpuinfo(host)
    if not cpus:
        return {"count": os.cpu_count() or 1, "physicalcount": 1, "models": []}
    sockets = {cpu["physical id"] for cpu in cpus if "physical id" in cpu}
    return {
        "count": len(cpus),
        "physicalcount": len(sockets) or 1,
        "models": [cpu["model name"] for cpu in cpus if "model name" in cpu],
    }


def memory(host):
    """memory.system (and memory.swap when there is swap), facter's keys."""
    sizes = meminfo_sizes(host.read_text("/proc/meminfo") or "") or psutil_memory_sizes()
    ram_total, ram_available, swap_total, swap_free = sizes
    fact = {"system": usage(ram_total, ram_available)}
    if swap_total:
        fact["swap"] = usage(swap_total, swap_free)
    return fact


def meminfo_sizes(text):
    """(ram total, ram available, swap total, swap free) in bytes from /proc/meminfo text.

    The numbers psutil reports; None when a field is missing or MemAvailable is
    0 (old kernels, a kernel bug), where psutil estimates it instead.
    """
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            fields[name] = int(words[0]) * 1024
    try:
        total, free, available = fields["MemTotal"], fields["MemFree"], fields["MemAvailable"]
        swap_total, swap_free = fields["SwapTotal"], fields["SwapFree"]
    except KeyError:
        return None
    if not available:
        return None
    if available > total:  # a container's distorted view: psutil (and procps) use MemFree
        available = free
    return total, available, swap_total, swap_free


def psutil_memory_sizes():
    """meminfo_sizes() read through psutil: the fallback, and the reference in tests."""
    import psutil

    ram, swap = psutil.virtual_memory(), psutil.swap_memory()
    return ram.total, ram.available, swap.total, swap.free


def system_uptime(host):
    """seconds, hours, days and facter's text ("3:07 hours", "1 day", "12 days")."""
    text = host.read_text("/proc/uptime")
    if not text:
        return None
    seconds = int(float(text.split()[0]))
    hours, days = seconds // 3600, seconds // 86400
    if days == 0:
        text = f"{hours}:{seconds // 60 % 60:02d} hours"
    else:
        text = "1 day" if days == 1 else f"{days} days"
    return {"seconds": seconds, "hours": hours, "days": days, "uptime": text}
