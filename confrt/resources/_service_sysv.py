"""SysV init scripts: `service NAME start|stop|status|restart|reload`; boot links by update-rc.d or chkconfig."""
import glob
import os
import shutil

from confrt.resources._service import ServiceProvider
from confrt.resources._system import run_checked
from confrt.resources.base import ResourceFailed

INIT_DIR = "/etc/init.d"


def debian_enabled(name, root=""):
    """True when an S link for the script exists in a multi-user runlevel (2-5)."""
    return bool(glob.glob(f"{root}/etc/rc[2345].d/S[0-9][0-9]{glob.escape(name)}"))


class SysvProvider(ServiceProvider):
    name = "sysv"

    @classmethod
    def suitable(cls, facts):
        return shutil.which("service") is not None or os.path.isdir(INIT_DIR)

    def _service(self, action):
        return run_checked(self.ctx, ["service", self.resource["name"], action])

    def running(self):
        script = os.path.join(INIT_DIR, self.resource["name"])
        if not os.path.exists(script):
            if self.ctx.planned(f"file[{script}]"):
                return False  # a noop: the real run writes the script first, and nothing started it yet
            raise ResourceFailed(f"no init script {script}")
        result = self.ctx.run(["service", self.resource["name"], "status"])
        if result.returncode == 4:
            raise ResourceFailed(f"cannot tell whether {self.resource['name']} runs: {result.describe()}")
        return result.returncode == 0  # LSB: 0 running, 1-3 not running

    def enabled(self):
        if shutil.which("chkconfig") and not shutil.which("update-rc.d"):
            return self.ctx.run(["chkconfig", self.resource["name"]]).returncode == 0
        return debian_enabled(self.resource["name"])

    def state(self):
        wanted = self.resource
        running = self.running() if wanted.get("ensure") is not None else None
        enabled = self.enabled() if wanted.get("enable") is not None else None
        return running, enabled

    def apply(self, changes):
        name = self.resource["name"]
        for change in changes:
            if change.property == "enable":
                if shutil.which("update-rc.d"):
                    run_checked(self.ctx, ["update-rc.d", name, "defaults"])
                    run_checked(self.ctx, ["update-rc.d", name, "enable" if change.new else "disable"])
                else:
                    run_checked(self.ctx, ["chkconfig", name, "on" if change.new else "off"])
            elif change.property == "ensure":
                self._service("start" if change.new == "running" else "stop")

    def restart(self):
        if not self.running():
            return
        self._service("reload" if self.resource["reload"] else "restart")
