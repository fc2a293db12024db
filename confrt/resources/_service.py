"""What the service providers share: the changes from the state a provider reads, and when a
refresh restarts. The type (service.py) says what; systemd and SysV (below it) say how."""
from confrt.resources.base import Change, Provider


def service_changes(resource, running, enabled):
    """Changes from the current state (running, enabled: bools) to the wanted one."""
    changes = []
    ensure = resource.get("ensure")
    if ensure is not None and running != (ensure == "running"):
        changes.append(Change("ensure", "running" if running else "stopped", ensure))
    enable = resource.get("enable")
    if enable is not None and enabled != enable:
        changes.append(Change("enable", enabled, enable))
    return changes


class ServiceProvider(Provider):
    """Base of systemd and SysV. Override state() -> (running, enabled) and restart()."""

    def state(self):
        """(running, enabled): bools; None for one the resource does not manage."""
        raise NotImplementedError

    def restart(self):
        """Restart (or, with reload: true, reload) the service if it runs."""
        raise NotImplementedError

    def changes(self):
        return service_changes(self.resource, *self.state())

    def just_started(self):
        """True when this run started the service already: a refresh need not restart it again."""
        return any(change.property == "ensure" for change in self.applied_changes)

    def refresh(self):
        if self.resource.get("ensure") == "stopped" or self.just_started():
            return
        self.restart()
