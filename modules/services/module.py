"""Services enabled at boot and kept running (CernVM's [cernvm] services)."""
from confrt.engine.module import Param
from confrt.errors import CompileError

DOC = "services enabled at boot and kept running"

PARAMS = [
    Param("enabled", list, [], "service names: each enabled at boot and kept running (a unique merge "
                               "across data levels; '--name' removes one)"),
]


def declare(params, facts, ctx):
    from confrt.resources.service import ServiceType

    where = f"{ctx.origin('enabled')}: services::enabled"
    resources = []
    for index, name in enumerate(dict.fromkeys(params["enabled"])):
        try:
            ServiceType.param("name").convert(name)
        except ValueError as exc:
            raise CompileError(f"{where}[{index}]: {exc}") from None
        resources.append(ctx.resource("service", name, ensure="running", enable=True))
    return resources
