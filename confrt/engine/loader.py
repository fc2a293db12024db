"""Built-in plugin: modules from every modulepath folder and the entry-point group confrt.modules."""
import os

from confrt.engine.hookspecs import hookimpl
from confrt.engine.module import NAME_PATTERN, Module

MODULE_ENTRY_POINT_GROUP = "confrt.modules"


def modulepath_modules(modulepath):
    """Module objects for <dir>/<name>/module.py; earlier folders win on a clash."""
    found = {}
    for directory in modulepath:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in entries:
            path = os.path.join(directory, name)
            if name in found or not NAME_PATTERN.match(name):
                continue
            if os.path.isfile(os.path.join(path, "module.py")):
                found[name] = Module(name, path=path)
    return list(found.values())


def entry_point_modules():
    """Modules published by installed distributions (entry points group confrt.modules)."""
    from confrt.engine.entry_points import entry_points

    return [Module.from_python_module(ep.name, ep.load(), origin=f"entry point {ep.value}")
            for ep in entry_points(MODULE_ENTRY_POINT_GROUP)]


@hookimpl
def confrt_modules(config):
    return modulepath_modules(config.modulepath) + entry_point_modules()
