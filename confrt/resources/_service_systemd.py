"""systemd units through systemctl (used when systemd is PID 1)."""
import os

from confrt.resources._service import ServiceProvider
from confrt.resources._system import run_checked
from confrt.resources.base import ResourceFailed

ENABLED_STATES = ("enabled", "enabled-runtime", "alias", "static", "indirect", "generated")


def parse_show(text):
    """`systemctl show -p A -p B` output -> {A: value, B: value}."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values


class SystemdProvider(ServiceProvider):
    name = "systemd"

    @classmethod
    def suitable(cls, facts):
        return os.path.isdir("/run/systemd/system")  # sd_booted(): systemd is PID 1

    def _unit(self):
        name = self.resource["name"]
        return name if "." in name else name + ".service"

    def state(self):
        result = run_checked(self.ctx, ["systemctl", "show", self._unit(), "-p", "LoadState",
                                        "-p", "ActiveState", "-p", "UnitFileState"])
        state = parse_show(result.stdout)
        if state.get("LoadState") == "not-found":
            raise ResourceFailed(f"no systemd unit {self._unit()}")
        running = state.get("ActiveState") in ("active", "activating", "reloading")
        enabled = state.get("UnitFileState") in ENABLED_STATES
        return running, enabled

    def apply(self, changes):
        for change in changes:
            if change.property == "enable":
                run_checked(self.ctx, ["systemctl", "enable" if change.new else "disable", self._unit()])
            elif change.property == "ensure":
                run_checked(self.ctx, ["systemctl", "start" if change.new == "running" else "stop",
                                       self._unit()])

    def restart(self):
        verb = "try-reload-or-restart" if self.resource["reload"] else "try-restart"
        run_checked(self.ctx, ["systemctl", verb, self._unit()])
