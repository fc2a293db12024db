"""Declare resources straight from data: resources::<type> is a hash of title -> attributes."""
from confrt.engine.module import Param

DOC = "Resources declared straight from data (resources::file, resources::exec, ...)"


def PARAMS():
    """One hash parameter per registered resource type."""
    from confrt.engine.plugins import resource_types

    return [Param(name, dict, {}, f"{name} resources: title -> attributes")
            for name in resource_types().names()]


def declare(params, facts, ctx):
    from confrt.resources.base import Resource

    resources = []
    for type_name, declared in params.items():
        where = f"{ctx.origin(type_name)}: resources::{type_name}"
        for title, attrs in declared.items():
            if attrs is None:
                attrs = {}
            if not isinstance(attrs, dict):
                from confrt.errors import CompileError

                raise CompileError(f"{where}: {title}: expected a mapping of attributes, got {attrs!r}")
            attrs = dict(attrs)
            if ctx.is_sensitive(type_name):
                attrs["sensitive"] = True
            resources.append(Resource(type_name, title, attrs, module=ctx.name, declared_by=where))
    return resources
