"""`confrt run`: the boot and hourly run (userdata, apply, first-boot scripts, report)."""

BOOT_WAIT_LOCK = 600  # seconds a boot run waits for another run's lock

HELP = "the boot/hourly run: refresh userdata, converge, first-boot scripts, report"
DESCRIPTION = """\
What cron (@reboot and hourly) and the systemd units run. Under the run lock:
fetch the userdata, written to local_data once the data compiles with it (always
with --boot; hourly runs only when run.refresh_userdata is true), fetch the site data (site_data.url: only
signed commits, taken once the data compiles with them; see `confrt site-data
status`), compile and apply the catalog, run this
instance's first-boot scripts once (never in noop), write the report to
<statedir>/last_run_report.json and last_run_summary.yaml (a noop's to last_noop_report.json
and last_noop_summary.yaml, leaving the last real run's).

Hourly runs first wait a splay: a stable per-host offset derived from the
instance-id (else the hostname), below run.splaylimit seconds, so a fleet does
not hit its services at once. --boot and --no-splay do not wait.

A dead metadata service, bad userdata or refused site data does not stop the
run: it applies with the last good local_data and site data checkout and
reports the failure (exit bit 4); the next run tries again. Lines go to
stdout/stderr, <run.log_dir>/run.log and syslog (when the output is not
already collected by the journal or a pipe).

A run that finds another run's lock held exits 1 at once; a boot run waits
for it first (up to 600 s): it alone refreshes the userdata on most hosts.

exit codes: 0 nothing to do, 2 changes, 4 failures (a resource, the userdata
refresh, the site data or a first-boot script), 6 both, 1 fatal (lock held,
compile error).

examples:
  confrt run --boot
  confrt run --noop --no-splay
  confrt run --wait-lock 600"""


def add_arguments(parser):
    parser.add_argument("--boot", action="store_true",
                        help="the boot run: always refresh userdata, no splay")
    parser.add_argument("--no-splay", action="store_true", help="do not wait the per-host splay")
    parser.add_argument("--noop", action="store_true",
                        help="change nothing (local_data included); show what would change")
    parser.add_argument("--wait-lock", metavar="SECONDS", type=float, default=None,
                        help=f"wait this long for another run's lock (default: {BOOT_WAIT_LOCK:g} with "
                             "--boot, else 0: exit 1 at once)")


def run(args, config):
    from confrt.runner import run as confrt_run

    wait_lock = args.wait_lock
    if wait_lock is None:  # a boot run must not be lost to an hourly run that got the lock first
        wait_lock = BOOT_WAIT_LOCK if args.boot else 0

    return confrt_run(config, boot=args.boot, noop=args.noop, splay=not args.no_splay, wait_lock=wait_lock)
