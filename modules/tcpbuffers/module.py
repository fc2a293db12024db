"""TCP buffer sysctls (CernVM's [tcpbuffers]): persistent, and never lowering a larger live value."""
from confrt.engine.module import CompileError, Param, absolute_path, resource_type

DOC = "TCP buffer sizes and related sysctls, persistent, only raised"

PARAMS = [
    Param("sysctls", dict, {}, "sysctl key -> value, or -> {value, only_raise}; null drops a default key"),
    Param("only_raise", bool, True, "never lower a live value that is already larger (per key overridable)"),
    Param("file", str, "/etc/sysctl.d/60-confrt-tcpbuffers.conf", "the sysctl.d file holding the settings",
          check=absolute_path),
]


def declare(params, facts, ctx):
    where = f"{ctx.origin('sysctls')}: tcpbuffers::sysctls"
    resources = []
    for key, setting in sorted(params["sysctls"].items()):
        if setting is None:
            continue
        only_raise = params["only_raise"]
        if isinstance(setting, dict):
            unknown = set(setting) - {"value", "only_raise"}
            if unknown or "value" not in setting:
                raise CompileError(f"{where}: {key}: expected a value or a mapping with value (and only_raise)")
            only_raise = setting.get("only_raise", only_raise)
            setting = setting["value"]
        attrs = {"name": key, "value": setting, "only_raise": only_raise, "file": params["file"]}
        for name, value in attrs.items():
            try:
                resource_type("sysctl").param(name).convert(value)
            except ValueError as exc:
                raise CompileError(f"{where}: {key}: {exc}") from None
        resources.append(ctx.resource("sysctl", key, attrs=attrs))
    return resources
