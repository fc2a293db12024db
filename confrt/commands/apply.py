"""`confrt apply`: compile the catalog the data selects and converge this machine to it."""
from confrt.commands import add_facts_options


HELP = "converge this machine to the catalog (or preview with --noop)"
DESCRIPTION = """\
Compile the modules that the data selects (`classes`) into a catalog and apply
it: each resource is read, compared and changed in dependency order. A compile
error changes nothing. --noop changes nothing at all and shows exactly what a
real run would do, with unified diffs of file content (secrets redacted).

The report goes to <statedir>/last_run_report.json and last_run_summary.yaml (a noop's to
last_noop_report.json and last_noop_summary.yaml, leaving the last real run's).

exit codes without --detailed-exitcodes: 0 ok, 1 a resource failed or fatal error.
with --detailed-exitcodes: 0 nothing to do, 2 changes, 4 failures, 6 both,
1 fatal error. Unlike `puppet apply --noop` (PUP-686), a noop run that finds
pending changes exits 2, so `confrt apply --noop --detailed-exitcodes` tells
whether the machine has drifted.

examples:
  confrt apply --noop
  confrt apply --noop --role worker --data examples/worker.yaml
  confrt apply --tags cvmfs,squid --detailed-exitcodes
  confrt apply --wait-lock 600"""


def add_arguments(parser):
    parser.add_argument("--noop", action="store_true", help="change nothing; show what would change")
    parser.add_argument("--detailed-exitcodes", action="store_true",
                        help="exit 0 (no changes), 2 (changes), 4 (failures), 6 (both), 1 (fatal)")
    parser.add_argument("--tags", metavar="A,B", type=_tag_list,
                        help="only resources of these modules or carrying these tags")
    parser.add_argument("--wait-lock", metavar="SECONDS", type=float, default=0,
                        help="wait this long for another run's lock (default 0: fail at once)")
    add_facts_options(parser)
    parser.add_argument("--data", metavar="FILE", help="an extra YAML data layer above the hierarchy")


def _tag_list(text):
    tags = [tag.strip().lower() for tag in text.split(",") if tag.strip()]
    if not tags:
        import argparse

        raise argparse.ArgumentTypeError("expected tags separated by commas")
    return tags


def run(args, config):
    from confrt.engine.run import apply

    return apply(config, noop=args.noop, tags=args.tags, wait_lock=args.wait_lock, facts_file=args.facts,
                 role=args.role, extra_data=args.data, detailed_exitcodes=args.detailed_exitcodes)
