"""`confrt modules list|show NAME`: the modules confrt can use and their parameters."""
from confrt.commands import add_common_options, add_facts_options


HELP = "list modules, or show one module's parameters and their current values"
DESCRIPTION = """\
list: every module on the modulepath and from installed plugins, with its origin.
show NAME: the module's parameters (type, default, doc) and the value the data
gives each one on this machine (key NAME::PARAM; sensitive values redacted).

examples:
  confrt modules list
  confrt modules show resources --facts node.yaml
  confrt modules show condor --role worker --data examples/worker.yaml"""


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_common_options(sub.add_parser("list", help="list the modules"))
    show = sub.add_parser("show", help="show one module's parameters and values")
    add_common_options(show)
    show.add_argument("name", metavar="NAME")
    add_facts_options(show)
    show.add_argument("--data", metavar="FILE", help="an extra YAML data layer above the hierarchy")


def run(args, config):
    from confrt.engine.plugins import modules

    found = modules(config)
    if args.action == "list":
        width = max((len(name) for name in found), default=0)
        for name in sorted(found):
            print(f"{name:<{width}}  {_doc(found[name])}  [{found[name].origin}]")
        return 0
    return show(config, found, args)


def _doc(module):
    """The module's one-line doc; a module that cannot load says why instead of ending the list."""
    from confrt.errors import CompileError

    try:
        return module.doc
    except CompileError as exc:
        return f"(cannot load: {exc})"


def show(config, found, args):
    from confrt.data import MISSING
    from confrt.engine.run import load_facts, open_store
    from confrt.errors import ConfrtError, LookupNotFound

    module = found.get(args.name)
    if module is None:
        from confrt.engine.catalog import did_you_mean

        raise ConfrtError(f"{args.name}: no such module{did_you_mean(args.name, list(found))}")
    store = open_store(config, load_facts(config, args.facts, args.role), found, args.data)
    print(f"{module.name}: {module.doc}")
    print(f"origin: {module.origin}")
    print("parameters:")
    for param in module.params:
        key = f"{module.name}::{param.name}"
        try:
            value = store.lookup(key)
        except LookupNotFound:
            value = MISSING
        secret = param.sensitive or store.is_sensitive(key)
        print(f"  {param.name} ({param.describe_type()}{', sensitive' if secret else ''}"
              f"{', required' if param.required else ''}): {param.doc}")
        print(f"    default: {_shown(param.default, param.sensitive)}")
        if value is MISSING:
            shown = "(none: required)" if param.required else "(default)"
        else:
            origins = store.origins(key)
            shown = _shown(value, secret) + (f"  [{origins[0][0]}]" if origins else "")
        print(f"    value:   {shown}")
    return 0


def _shown(value, secret):
    from confrt.util.redaction import REDACTED

    if secret and value is not None:
        return REDACTED
    import json

    return json.dumps(value, default=str)
