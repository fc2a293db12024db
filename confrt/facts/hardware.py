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
    import psutil

    ram = psutil.virtual_memory()
    fact = {"system": usage(ram.total, ram.available)}
    swap = psutil.swap_memory()
    if swap.total:
        fact["swap"] = usage(swap.total, swap.free)
    return fact


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
