"""confrt site-data status: the site data's commit in use, its signer, the last fetch's result."""
HELP = "the site data from git: the commit in use, its signer, the last fetch"
DESCRIPTION = """\
status  the commit the site data checkout in use holds (site_data.url of confrt.yaml, a
        signed git repository that `confrt run` fetches at boot and hourly), who signed it,
        when it was taken and from which ref, and the last fetch's result (ok, or the one
        line that says why a commit was refused and the last good one kept). --json for
        machines. The URL's credentials and the token never appear.

The data in use changes only in `confrt run`; `confrt run --noop` fetches and verifies
into a temporary place and previews with it.

examples:
  confrt site-data status
  confrt site-data status --json"""


def add_arguments(parser):
    from confrt.commands import add_common_options

    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser("status", help="the commit in use, its signer, the last fetch",
                                description="the commit in use, its signer, the last fetch")
    add_common_options(status)
    status.add_argument("--json", action="store_true", help="print JSON")


def run(args, config):
    import json
    import sys

    from confrt.util.yamlfile import dump_yaml

    if not config.site_data["url"]:  # with --json still JSON on stdout, for the scripts that parse it
        print(f"confrt: site data: not configured (no site_data.url in {config.path})",
              file=sys.stderr if args.json else sys.stdout)
        if args.json:
            print(json.dumps({"url": None}))
        return 0
    status = site_data_status(config)
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        print(dump_yaml(status), end="")
    return 0


def site_data_status(config):
    """{url, ref, dir, in_use: {commit, directory, signer, key, ref, taken}, last_fetch: {...}}."""
    import os

    from confrt.errors import StateError
    from confrt.site_data import current_checkout, site_dir
    from confrt.site_data.checkouts import read_state
    from confrt.site_data.git import redacted_url

    base = site_dir(config)
    if os.path.isdir(base) and not os.access(base, os.R_OK | os.X_OK):
        raise StateError(f"{base}: cannot read the site data: permission denied (run as root)")
    state = read_state(base)
    status = {"url": redacted_url(config.site_data["url"]), "ref": config.site_data["ref"], "dir": base}
    checkout = current_checkout(config)
    if checkout:
        info = (state.get("checkouts") or {}).get(checkout[1]) or {}
        status["in_use"] = {"commit": checkout[1], "directory": checkout[0], "signer": info.get("signer"),
                            "key": info.get("key"), "ref": info.get("ref"), "taken": _when(info.get("taken"))}
    else:
        status["in_use"] = None
    last = state.get("last_fetch")
    status["last_fetch"] = dict(last, time=_when(last.get("time"))) if isinstance(last, dict) else None
    return status


def _when(seconds):
    import time

    if not isinstance(seconds, (int, float)):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
