"""sysctl: a kernel setting, both persistent (a line in /etc/sysctl.d/) and live.

Several sysctl resources may share one file; each owns the `key = value` line
of its key. With only_raise (buffer sizes), a kernel that already allows more
keeps its value: the live value is never lowered, and the file records the
larger of the two so the next boot does not lower it either.
"""
import os
import re

from confrt.resources._system import (
    content_change, join_lines, make_folder, matching, plan_text, read_planned, run_checked, split_lines,
    write_text,
)
from confrt.resources.line import edit_lines
from confrt.resources._posix import absolute_path
from confrt.resources.base import Change, Param, Provider, ResourceFailed, ResourceType

DEFAULT_FILE = "/etc/sysctl.d/90-confrt.conf"
KEY_PATTERN = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_\-]+)+$")


_key = matching(KEY_PATTERN, "a sysctl key like net.core.rmem_max")


def normalise_value(value):
    """'4096  87380\t16777216' -> '4096 87380 16777216'; ints become strings."""
    text = str(value).strip()
    if "\n" in text or "=" in text:
        raise ValueError(f"expected a sysctl value on one line, got {text!r}")
    text = " ".join(text.split())
    if not text:
        raise ValueError("expected a value, got an empty string")
    return text


def raised_value(wanted, live):
    """Field by field the larger of wanted and live (both all-integer) for only_raise."""
    wanted_fields, live_fields = wanted.split(), (live or "").split()
    try:
        numbers = [int(f) for f in wanted_fields], [int(f) for f in live_fields]
    except ValueError:
        return wanted
    if len(numbers[0]) != len(numbers[1]):
        return wanted
    return " ".join(str(max(a, b)) for a, b in zip(*numbers))


def proc_path(key):
    return "/proc/sys/" + key.replace(".", "/")


class SysctlProvider(Provider):
    """Live value through /proc/sys (read) and `sysctl -w` (write)."""

    name = "procfs"

    def _state(self):
        key = self.resource["name"]
        try:
            with open(proc_path(key)) as handle:
                live = normalise_value(handle.read())
        except FileNotFoundError:
            raise ResourceFailed(f"this kernel has no sysctl {key}") from None
        except (OSError, ValueError) as exc:
            raise ResourceFailed(f"cannot read sysctl {key}: {exc}") from None
        wanted = self.resource["value"]
        if self.resource["only_raise"]:
            wanted = raised_value(wanted, live)
        path = self.resource["file"]
        old = read_planned(self.ctx, path)
        new = _with_setting(old, key, wanted)
        return live, wanted, old, new

    def changes(self):
        live, wanted, old, new = self._state()
        found = []
        if old != new:
            found.append(content_change(self.resource["file"], old, new, shared=True))
            plan_text(self.ctx, self.resource["file"], new)
        if live != wanted:
            found.append(Change("value", live, wanted))
        return found

    def apply(self, changes):
        live, wanted, old, new = self._state()
        if old != new:
            make_folder(os.path.dirname(self.resource["file"]))
            write_text(self.resource["file"], new, mode=0o644 if old is None else None)
        if live != wanted:
            run_checked(self.ctx, ["sysctl", "-w", f"{self.resource['name']}={wanted}"])


def _with_setting(text, key, value):
    """The file's text with exactly one `key = value` line for key (others kept)."""
    match = r"^\s*-?" + re.escape(key).replace(r"\.", r"[./]") + r"\s*="
    lines = split_lines(text)
    new_lines = edit_lines(lines, f"{key} = {value}", match)
    return text if text is not None and new_lines == lines else join_lines(new_lines)


class SysctlType(ResourceType):
    name = "sysctl"
    params = [
        Param("name", str, check=_key, doc="the key, e.g. net.core.rmem_max (the title)"),
        Param("value", (str, int), required=True, check=normalise_value,
              doc="wanted value; several fields separated by spaces ('4096 87380 16777216')"),
        Param("only_raise", bool, False, doc="never lower a larger live value (buffer sizes)"),
        Param("file", str, DEFAULT_FILE, check=absolute_path, doc="the sysctl.d file holding the line"),
    ]
    providers = [SysctlProvider]


TYPE = SysctlType
