"""service: a system service running or stopped, enabled at boot or not; restarted on refresh.

systemd when it is PID 1 (/run/systemd/system exists), otherwise SysV init
scripts (`service`, with update-rc.d on Debian or chkconfig on EL). A refresh
(a notifying resource changed) restarts a running service, or reloads it when
`reload: true`; a stopped service is not started by a refresh.
"""
import re

from confrt.resources._service_systemd import SystemdProvider
from confrt.resources._service_sysv import SysvProvider
from confrt.resources._system import matching
from confrt.resources.base import Param, ResourceType

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:-]*$")


_name = matching(NAME_PATTERN, "a service name")


class ServiceType(ResourceType):
    name = "service"
    params = [
        Param("name", str, check=_name, doc="the service (unit or init script) name (the title)"),
        Param("ensure", str, None, choices=("running", "stopped"), doc="running or stopped (unmanaged if unset)"),
        Param("enable", bool, None, doc="start at boot (unmanaged if unset)"),
        Param("reload", bool, False, doc="on refresh reload instead of restart"),
    ]
    providers = [SystemdProvider, SysvProvider]
    refreshable = True

    @classmethod
    def autorequires(cls, resource):
        return [f"package[{resource['name']}]"]


TYPE = ServiceType
