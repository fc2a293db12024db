"""Resource types, one file each: confrt/resources/<type>.py defines `TYPE`.

See base.py for the contract. This package is also the built-in plugin that
registers them (hook confrt_resource_types) by file name, without importing
them: a type's file is imported only when a run or a command uses the type.
"""
import os

from confrt.engine.hookspecs import hookimpl

_NOT_TYPES = {"base"}


def builtin_type_names():
    """Names of the resource types shipped in this package (sorted)."""
    here = os.path.dirname(os.path.abspath(__file__))
    names = []
    for entry in os.listdir(here):
        stem, ext = os.path.splitext(entry)
        if ext == ".py" and not stem.startswith("_") and stem not in _NOT_TYPES:
            names.append(stem)
    return sorted(names)


@hookimpl
def confrt_resource_types():
    return {name: f"confrt.resources.{name}:TYPE" for name in builtin_type_names()}
