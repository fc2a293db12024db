"""Services enabled at boot and kept running (CernVM's [cernvm] services)."""
from confrt.engine.module import CompileError, Param, resource_type

DOC = "services enabled at boot and kept running"

PARAMS = [
    Param("enabled", list, [], "service names: each enabled at boot and kept running (a unique merge "
                               "across data levels; '--name' removes one)"),
]


def declare(params, facts, ctx):
    where = f"{ctx.origin('enabled')}: services::enabled"
    resources = []
    for index, name in enumerate(dict.fromkeys(params["enabled"])):
        try:
            resource_type("service").param("name").convert(name)
        except ValueError as exc:
            raise CompileError(f"{where}[{index}]: {exc}") from None
        resources.append(ctx.resource("service", name, ensure="running", enable=True))
    return resources
