"""The plugin manager (pluggy), built on first use, and the registries it feeds.

Built-in plugins are listed in BUILTIN_PLUGINS (module names, imported when the
manager is built); third-party ones come from the setuptools entry-point group
"confrt". Resource types registered as "module:attribute" strings are imported
only when used.
"""
import importlib

from confrt.engine.entry_points import declared
from confrt.errors import CompileError

ENTRY_POINT_GROUP = "confrt"

#: confrt's own plugins: they use the same hooks as third-party ones.
BUILTIN_PLUGINS = [
    "confrt.resources",        # core resource types (confrt_resource_types)
    "confrt.engine.loader",    # modules from modulepath and entry points (confrt_modules)
    "confrt.userdata.plugin",  # datasources and formats (confrt_userdata_sources/_formats)
]

_manager = None


def plugin_manager():
    """The process-wide PluginManager, created on first call."""
    global _manager
    if _manager is None:
        import pluggy

        from confrt.engine import hookspecs

        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        for name in BUILTIN_PLUGINS:
            manager.register(importlib.import_module(name), name=name)
        if declared(ENTRY_POINT_GROUP):  # importlib.metadata only when some distribution has the group
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        _manager = manager
    return _manager


def reset():
    """Forget the manager and the registries (tests register their own plugins)."""
    global _manager, _types
    _manager = None
    _types = None


def resolve(spec):
    """'package.module:attribute' -> the object; anything else is returned as is."""
    if not isinstance(spec, str):
        return spec
    module_name, _, attribute = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise CompileError(f"resource type {spec}: cannot load: {exc}") from None


class TypeRegistry:
    """Resource types by name, resolved on first use."""

    def __init__(self, specs):
        self._specs = specs
        self._resolved = {}

    def names(self):
        return sorted(self._specs)

    def __contains__(self, name):
        return name in self._specs

    def get(self, name):
        """The ResourceType class named `name`, or None when no plugin registered it."""
        if name not in self._resolved:
            if name not in self._specs:
                return None
            from confrt.resources.base import ResourceType

            found = resolve(self._specs[name])
            if not (isinstance(found, type) and issubclass(found, ResourceType)):
                raise CompileError(f"resource type {name}: {self._specs[name]!r} is not a ResourceType subclass")
            self._resolved[name] = found
        return self._resolved[name]


_types = None


def resource_types():
    """The TypeRegistry of every registered resource type (later plugins win)."""
    global _types
    if _types is None:
        specs = {}
        # pluggy calls the most recently registered plugin first; apply in reverse so it wins.
        for result in reversed(plugin_manager().hook.confrt_resource_types()):
            specs.update(result or {})
        _types = TypeRegistry(specs)
    return _types


def modules(config):
    """{name: Module} of every registered module; the first registration of a name wins."""
    found = {}
    for result in reversed(plugin_manager().hook.confrt_modules(config=config)):
        for module in result or []:
            found.setdefault(module.name, module)
    return found
