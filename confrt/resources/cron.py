"""cron: one job as a file in /etc/cron.d/ (the whole file is confrt's).

cron ignores /etc/cron.d files whose names contain dots, so titles are limited
to letters, digits, '-' and '_'. A '%' in a command is a newline to cron: write
'\\%' for a literal percent sign.
"""
import os
import re

from confrt.resources._system import (
    content_change, ensure_param, make_folder, matching, read_text, single_line, write_text,
)
from confrt.resources.base import Change, Param, Provider, ResourceType

CRON_DIR = "/etc/cron.d"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
FIELD_PATTERN = re.compile(r"^[A-Za-z0-9*,/-]+$")
SPECIALS = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_name = matching(NAME_PATTERN, "letters, digits, '-' or '_' (cron skips other file names)")


_time_field = matching(FIELD_PATTERN, "a cron time field like '*/15' or '1,31'")


def _field(value):
    return _time_field(str(value))


def _command(value):
    single_line(value)
    if re.search(r"(?<!\\)%", value):
        raise ValueError("cron turns an unescaped '%' into a newline: write '\\%'")
    return value


def _environment(value):
    for key, setting in value.items():
        if not ENV_NAME.match(str(key)):
            raise ValueError(f"expected variable names, got {key!r}")
        single_line(str(setting))
    return value


def render(resource):
    """The cron.d file for a cron resource."""
    lines = [f"# managed by confrt: cron[{resource['name']}]"]
    for key in sorted(resource.get("environment", {})):
        lines.append(f"{key}={resource['environment'][key]}")
    if resource.get("special"):
        when = resource["special"]
    else:
        when = " ".join(str(resource[f]) for f in ("minute", "hour", "monthday", "month", "weekday"))
    lines.append(f"{when} {resource['user']} {resource['command']}")
    return "\n".join(lines) + "\n"


class CronProvider(Provider):
    name = "crond"

    def _path(self):
        return os.path.join(CRON_DIR, self.resource["name"])

    def changes(self):
        path = self._path()
        old = read_text(path)
        if self.resource["ensure"] == "absent":
            return [] if old is None else [Change("ensure", "present", "absent", message=f"removed {path}")]
        new = render(self.resource)
        return [] if new == old else [content_change(path, old, new)]

    def apply(self, changes):
        path = self._path()
        if self.resource["ensure"] == "absent":
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        make_folder(CRON_DIR)
        write_text(path, render(self.resource), mode=0o644, uid=0, gid=0)


class CronType(ResourceType):
    name = "cron"
    params = [
        Param("name", str, check=_name, doc="the job's name = its file name in /etc/cron.d (the title)"),
        Param("command", str, check=_command, doc="the command line (run by /bin/sh)"),
        Param("user", str, "root", check=single_line, doc="the user the job runs as"),
        Param("minute", (str, int), "*", check=_field, doc="minute field"),
        Param("hour", (str, int), "*", check=_field, doc="hour field"),
        Param("monthday", (str, int), "*", check=_field, doc="day-of-month field"),
        Param("month", (str, int), "*", check=_field, doc="month field"),
        Param("weekday", (str, int), "*", check=_field, doc="day-of-week field"),
        Param("special", str, choices=SPECIALS, doc="@reboot, @hourly ... instead of the time fields"),
        Param("environment", dict, {}, check=_environment, doc="variables set for the job (MAILTO, PATH)"),
        ensure_param(),
    ]
    providers = [CronProvider]

    @classmethod
    def validate(cls, attrs):
        if attrs.get("ensure") == "present" and not attrs.get("command"):
            raise ValueError("command: required unless ensure is absent")

    @classmethod
    def autorequires(cls, resource):
        return [f"user[{resource['user']}]"]


TYPE = CronType
