"""exec: run a command when it is needed (creates/unless/onlyif) or on refresh (refreshonly).

Commands are argv lists run without a shell; a string command goes through
/bin/sh only with `shell: true`. The checks (unless, onlyif) run in --noop too:
they must not change anything.
"""
import os

from confrt.engine.params import Param
from confrt.resources.base import REDACTED, Change, Provider, ResourceFailed, ResourceType, format_ref


class PosixExecProvider(Provider):
    name = "posix"

    def argv(self, command):
        if self.resource["shell"]:
            return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        return list(command)

    def run(self, command):
        resource = self.resource
        env = None
        if resource["environment"]:
            env = dict(os.environ)
            env.update({str(k): str(v) for k, v in resource["environment"].items()})
        return self.ctx.run(self.argv(command), timeout=resource["timeout"], env=env,
                            cwd=resource.get("cwd"), user=resource.get("user"))

    def needed(self):
        """The creates/unless/onlyif checks: True when the command should run."""
        resource = self.resource
        if resource.get("creates") and os.path.lexists(resource["creates"]):
            return False
        if resource.get("onlyif") is not None and not self.run(resource["onlyif"]).ok:
            return False
        if resource.get("unless") is not None and self.run(resource["unless"]).ok:
            return False
        return True

    def shown_command(self):
        if "command" in self.resource.sensitive:
            return REDACTED
        import shlex

        command = self.resource["command"]
        return command if isinstance(command, str) else shlex.join(command)

    def changes(self):
        if self.resource["refreshonly"] or not self.needed():
            return []
        return [Change("executed", "notrun", self.resource["returns"], f"ran {self.shown_command()}")]

    def execute(self):
        result = self.run(self.resource["command"])
        if result.returncode not in self.resource["returns"]:
            if "command" in self.resource.sensitive:
                raise ResourceFailed(f"command exited {result.returncode}")
            raise ResourceFailed(result.describe())

    def apply(self, changes):
        self.execute()

    def refresh(self):
        if not self.applied_changes and self.needed():  # an exec that just ran is not run again
            self.execute()


def _argv_or_string(value):
    if isinstance(value, list) and (not value or not all(isinstance(arg, str) for arg in value)):
        raise ValueError(f"expected a non-empty list of strings, got {value!r}")
    return value


class ExecType(ResourceType):
    name = "exec"
    namevar = "name"
    refreshable = True
    params = [
        Param("name", str, required=True, doc="a name for the command (the title)"),
        Param("command", (list, str), required=True, doc="argv list; a string only with shell: true",
              check=_argv_or_string),
        Param("shell", bool, False, "run string commands and checks through /bin/sh -c"),
        Param("creates", str, None, "skip when this path exists"),
        Param("unless", (list, str), None, "skip when this command succeeds", check=_argv_or_string),
        Param("onlyif", (list, str), None, "run only when this command succeeds", check=_argv_or_string),
        Param("refreshonly", bool, False, "run only when notified by a changed resource"),
        Param("returns", list, [0], "exit codes that mean success"),
        Param("timeout", (int, float), 300, "seconds before the command is killed"),
        Param("environment", dict, {}, "variables added to the command's environment"),
        Param("cwd", str, None, "working directory"),
        Param("user", str, None, "run as this user"),
    ]
    providers = [PosixExecProvider]

    @classmethod
    def validate(cls, attrs):
        for name in ("command", "unless", "onlyif"):
            if isinstance(attrs.get(name), str) and not attrs["shell"]:
                raise ValueError(f"{name}: a string needs shell: true (or give an argv list)")
        if not all(isinstance(code, int) and not isinstance(code, bool) for code in attrs["returns"]):
            raise ValueError(f"returns: expected a list of integers, got {attrs['returns']!r}")

    @classmethod
    def autorequires(cls, resource):
        refs = []
        if resource.get("cwd"):
            refs.append(format_ref("directory", resource["cwd"]))
        if resource.get("user"):
            refs.append(format_ref("user", resource["user"]))
        return refs


TYPE = ExecType
