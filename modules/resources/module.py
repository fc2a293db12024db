"""Declare resources straight from data: resources::<type> is a hash of title -> attributes."""
from confrt.engine.module import CompileError, Param, resource_type_names

DOC = "Resources declared straight from data (resources::file, resources::exec, ...)"


def PARAMS():
    """One hash parameter per registered resource type."""
    return [Param(name, dict, {}, f"{name} resources: title -> attributes")
            for name in resource_type_names()]


def declare(params, facts, ctx):
    resources = []
    for type_name, declared in params.items():
        where = f"{ctx.origin(type_name)}: resources::{type_name}"
        for title, attrs in declared.items():
            if attrs is None:
                attrs = {}
            if not isinstance(attrs, dict):
                raise CompileError(f"{where}: {title}: expected a mapping of attributes, got {attrs!r}")
            attrs = dict(attrs)
            if ctx.is_sensitive(type_name):
                attrs["sensitive"] = True
            resources.append(ctx.resource(type_name, title, attrs, declared_by=where))
    return resources
