"""Facter's human-readable byte counts ("256.00 GiB") and percentages."""

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_bytes(count):
    """1536 -> "1.50 KiB"; under 1 KiB -> "N bytes"."""
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.2f} {unit}"
    raise AssertionError("unreachable")


def usage(total, available, used=None, total_name="total"):
    """Sizes in bytes and human form, as facter shows memory and mountpoints.

    used defaults to total - available; capacity is used / (used + available),
    which is what df shows (reserved blocks count as neither).
    """
    if used is None:
        used = max(total - available, 0)
    seen = used + available
    return {
        total_name: human_bytes(total), total_name + "_bytes": total,
        "available": human_bytes(available), "available_bytes": available,
        "used": human_bytes(used), "used_bytes": used,
        "capacity": f"{used * 100 / seen:.2f}%" if used and seen else "0%",
    }
