"""What the package providers share: deciding the action, reporting it, batching it."""
from confrt.resources.base import Change, Provider, ResourceFailed

ABSENT = ("absent", "purged")


def wanted_action(ensure, installed, candidate=None):
    """What must happen: None (in sync), 'install', 'upgrade', 'remove' or 'purge'.

    installed is the installed version or None; candidate the newest available
    version (only needed for ensure latest).
    """
    if ensure in ABSENT:
        return None if installed is None else ("purge" if ensure == "purged" else "remove")
    if ensure == "present":
        return None if installed is not None else "install"
    if ensure == "latest":
        if installed is None:
            return "install"
        return None if candidate is None or installed == candidate else "upgrade"
    return None if installed == ensure or _same_version(installed, ensure) else "install"


def _same_version(installed, wanted):
    """'1:2.3-1' equals '2.3-1' when the wanted version names no epoch (rpm and dpkg print both)."""
    return installed is not None and ":" not in wanted and installed.split(":", 1)[-1] == wanted


class PackageProvider(Provider):
    """Base of apt and dnf: the change report from prefetched state, one transaction per action."""

    version_separator = "="  # name=version (apt); dnf uses name-version

    def installed(self):
        return (self.prefetched or {}).get("installed", {}).get(self.resource["name"])

    def candidate(self):
        return (self.prefetched or {}).get("candidates", {}).get(self.resource["name"])

    def action(self):
        name, ensure = self.resource["name"], self.resource["ensure"]
        if ensure == "purged" and name in (self.prefetched or {}).get("config_only", ()):
            return "purge"  # removed, but its configuration files are still there
        return wanted_action(ensure, self.installed(), self.candidate())

    def changes(self):
        if self.action() is None:
            return []
        old = self.installed() or "absent"
        new = self.resource["ensure"]
        if new == "latest":
            new = self.candidate() or "latest"
        return [Change("ensure", old, new)]

    def apply(self, changes):
        error = type(self).apply_batch([(self, changes)], self.ctx)[0]
        if error:
            raise ResourceFailed(error)

    @classmethod
    def command(cls, action, args):
        """argv installing/removing/purging args in one transaction."""
        raise NotImplementedError

    @classmethod
    def transaction_arg(cls, provider):
        """'name', or 'name=version' (apt) / 'name-version' (dnf) when a version is wanted."""
        name, ensure = provider.resource["name"], provider.resource["ensure"]
        if ensure in ("present", "latest"):
            return name
        return f"{name}{cls.version_separator}{ensure}"

    @classmethod
    def apply_batch(cls, items, ctx):
        """One transaction per action (install, remove, purge). When the package tool names
        packages it does not know, those fail and the others go in again, in one transaction:
        one unknown name must not keep the rest off the machine. Any other failure (a conflict,
        a lock, the network) is the error of every package of the transaction."""
        groups = {}
        for index, (provider, _changes) in enumerate(items):
            groups.setdefault(provider.action(), []).append(index)
        errors = [None] * len(items)
        for action, indexes in groups.items():
            if action is None:
                continue
            pending = sorted((cls.transaction_arg(items[i][0]) if action == "install"
                              else items[i][0].resource["name"], i) for i in indexes)
            while pending:
                argv = cls.command(action, [arg for arg, _ in pending])
                result = ctx.run(argv)
                if result.ok:
                    break
                for arg, i in pending:
                    line = unknown_line(result, arg, items[i][0].resource["name"])
                    if line:
                        errors[i] = f"{' '.join(argv)} exited {result.returncode}: {line}"
                known = [(arg, i) for arg, i in pending if errors[i] is None]
                if len(known) == len(pending):  # no unknown name: the failure is every package's
                    for _arg, i in pending:
                        errors[i] = result.describe()
                    break
                pending = known
        return errors


# how apt-get, dnf and yum say that they know no such package (or version); they run with LC_ALL=C
UNKNOWN_MARKERS = ("Unable to locate package", "has no installation candidate", "was not found",
                   "No match for argument", "Unable to find a match", "No package")


def unknown_line(result, arg, name):
    """The line of a failed transaction's output saying that `arg` (or `name`) is unknown, or None."""
    import re

    words = {arg, name, name.split(":")[0]}  # apt names 'bash' for a pinned 'bash:amd64=9.9'
    for line in (result.stderr + "\n" + result.stdout).splitlines():
        if any(marker in line for marker in UNKNOWN_MARKERS) and any(
                re.search(rf"(?<![\w.+:~-]){re.escape(word)}(?![\w.+:~-])", line) for word in words):
            return line.strip()
    return None
