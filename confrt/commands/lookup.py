"""confrt lookup: one key through the data hierarchy, like `puppet lookup`."""
from confrt.commands import add_facts_options


HELP = "look up a key in the layered data (Hiera 5 compatible)"
DESCRIPTION = """Look up KEY in the data hierarchy (hiera.yaml v5) with this machine's facts.

Examples:
  confrt lookup classes --merge unique --knockout-prefix --
  confrt lookup htcondor::collector_host --explain
  confrt lookup ntp::servers --facts facts.yaml --render-as json

A key that has no value exits 1. Values of keys that lookup_options mark
sensitive print as [redacted] unless --show-sensitive is given.
"""


def add_arguments(parser):
    from confrt.data.merge import STRATEGIES

    parser.add_argument("key", metavar="KEY", help="the key, dotted to reach inside hashes (a.b.0)")
    parser.add_argument("--merge", choices=STRATEGIES,
                        help="merge strategy (default: per lookup_options, else first)")
    parser.add_argument("--knockout-prefix", metavar="P", nargs="?", const="--",
                        help="elements/values starting with P remove lower-level ones (default merge: deep); "
                             "alone it means --knockout-prefix=--")
    parser.add_argument("--sort-merged-arrays", action="store_true", help="sort arrays merged by a deep merge")
    parser.add_argument("--merge-hash-arrays", action="store_true",
                        help="deep-merge hashes at the same index of merged arrays")
    parser.add_argument("--explain", action="store_true", help="show every level searched and the merge")
    add_facts_options(parser)
    parser.add_argument("--hiera-config", metavar="FILE",
                        help="hiera.yaml to use (default: the configured one, else the packaged one)")
    parser.add_argument("--render-as", choices=("yaml", "json"), default="yaml", help="output format")
    parser.add_argument("--show-sensitive", action="store_true", help="print values marked sensitive")


def merge_request(args):
    """The merge requested on the command line: None, a name, or a hash with options."""
    options = {}
    if args.knockout_prefix:
        options["knockout_prefix"] = args.knockout_prefix
    if args.sort_merged_arrays:
        options["sort_merged_arrays"] = True
    if args.merge_hash_arrays:
        options["merge_hash_arrays"] = True
    if not options:
        return args.merge
    return dict(options, strategy=args.merge or "deep")


def module_layer(config, key):
    """({module: data dir}, sensitive keys) of the modulepath's modules, for a module key ("m::p")
    only: the module's data is the lowest layer, and its sensitive parameter stays redacted."""
    if "::" not in key:
        return {}, ()
    from confrt.engine.modulepath import modulepath_modules

    modules = modulepath_modules(config.modulepath)
    name, _, param_name = key.partition("::")
    sensitive = ()
    for module in modules:
        if module.name == name:
            param = module.param(param_name.split(".")[0])
            if param is not None and param.sensitive:
                sensitive = (key.split(".")[0],)
    return {module.name: module.data_dir for module in modules if module.data_dir}, sensitive


def render(value, render_as):
    if render_as == "json":
        import json

        return json.dumps(value, default=str)
    from confrt.util.yamlfile import dump_yaml

    text = dump_yaml(value)
    return text[:-len("...\n")].rstrip("\n") if text.endswith("...\n") else text.rstrip("\n")


def run(args, config):
    from confrt.data import DataStore
    from confrt.util.redaction import REDACTED
    from confrt.facts import Facts

    module_data, sensitive_keys = module_layer(config, args.key)
    store = DataStore(args.hiera_config or config.effective_hiera_config(),
                      Facts.for_config(config, args.facts, args.role),
                      variables=config.data_variables(),
                      module_data=module_data, sensitive_keys=sensitive_keys)
    merge = merge_request(args)
    if args.explain:
        print(store.explain(args.key, merge), end="")
        return 0
    value = store.lookup(args.key, merge)
    if store.is_sensitive(args.key) and not args.show_sensitive:
        value = REDACTED
    print(render(value, args.render_as))
    return 0
