"""Modules found in the modulepath folders, without the plugin machinery.

Kept apart from loader.py (the pluggy plugin) so that `confrt lookup m::p`, which
only needs the module folders, does not import pluggy.
"""
import os

from confrt.engine.module import NAME_PATTERN, Module


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
