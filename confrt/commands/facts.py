"""`confrt facts [NAME] [--json] [--facts FILE]`: show what confrt knows about this host."""
from confrt.commands import add_facts_options


HELP = "show facts about this host (all, or one dotted NAME)"
DESCRIPTION = """\
Show the facts the data store and modules see, under facter's names
(os.family, networking.fqdn, processors.count, cmdline.vgrid_username ...).

Without NAME every fact is printed as YAML (or JSON). With a dotted NAME only
that value is printed: a scalar plainly, a structure as YAML (or JSON); an
unknown NAME exits 1. Only the facts asked for are computed.

External facts come from the facts_dir of confrt.yaml (*.yaml, *.yml, *.json);
plugins add theirs through the confrt_facts hook; --facts FILE overrides facts
by name, as `puppet lookup --facts` does.

examples:
  confrt facts os.family
  confrt facts networking.interfaces --json
  confrt facts --facts ./node.yaml"""


def add_arguments(parser):
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="dotted fact name, e.g. os.release.major (quote segments holding dots: "
                             "'cmdline.\"random.trust_cpu\"')")
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    add_facts_options(parser)


def run(args, config):
    from confrt.errors import FactError
    from confrt.facts import Facts

    facts = Facts.for_config(config, args.facts, args.role)
    if args.name is None:
        add_plugin_facts(facts)
        value = facts.to_dict()
    else:
        value = facts.get(args.name)
        if value is None:  # not built in nor given: maybe a plugin's
            add_plugin_facts(facts)
            value = facts.get(args.name)
        if value is None:
            raise FactError(f"{args.name}: no such fact")
    print(render(value, args.json), end="")
    return 0


def add_plugin_facts(facts):
    """Let third-party plugins register their facts (the confrt_facts hook).

    confrt's own facts live in confrt.facts, so the hook matters only when some
    installed distribution declares the "confrt" entry-point group; otherwise
    pluggy (~20 ms to import) is not loaded at all.
    """
    from confrt.engine.entry_points import declared
    from confrt.engine.plugins import ENTRY_POINT_GROUP

    if declared(ENTRY_POINT_GROUP):
        from confrt.engine.plugins import plugin_manager

        plugin_manager().hook.confrt_facts(facts=facts)


def render(value, as_json=False):
    """The text printed for `value`: JSON, plain for a scalar, else YAML."""
    if as_json:
        import json

        return json.dumps(value, indent=2, default=str) + "\n"
    if isinstance(value, bool):
        return ("true" if value else "false") + "\n"
    if isinstance(value, (str, int, float)):
        return f"{value}\n"
    from confrt.util.yamlfile import dump_yaml

    return dump_yaml(value)
