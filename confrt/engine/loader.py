"""Built-in plugin: modules from every modulepath folder and the entry-point group confrt.modules."""
from confrt.engine.hookspecs import hookimpl
from confrt.engine.module import Module
from confrt.engine.modulepath import modulepath_modules  # noqa: F401  (part of this plugin's API)

MODULE_ENTRY_POINT_GROUP = "confrt.modules"


def entry_point_modules():
    """Modules published by installed distributions (entry points group confrt.modules)."""
    from confrt.engine.entry_points import entry_points

    return [Module.from_python_module(ep.name, ep.load(), origin=f"entry point {ep.value}")
            for ep in entry_points(MODULE_ENTRY_POINT_GROUP)]


@hookimpl
def confrt_modules(config):
    return modulepath_modules(config.modulepath) + entry_point_modules()
