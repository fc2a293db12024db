"""`confrt run`: the run cron and systemd start at boot and every hour.

Under the run lock, in this order:
  1. fetch and decode the userdata (always at boot; hourly only with run.refresh_userdata), so
     a role or classes from userdata count in this same run: one boot run
     converges a fresh VM, no "run it twice";
  2. fetch the site data (site_data.url: a signed git repository), checked out beside the
     checkout in use;
  3. facts -> compile with the new local_data (in memory) and the new checkout; only then is the
     userdata written and the site data's `current` link moved -> apply;
  4. the first-boot scripts of this instance, then the commands of the first_boot module, each
     once (never in noop);
  5. the report, and the detailed exit code (0, 2, 4, 6; 1 fatal).
A dead metadata service, bad userdata, refused site data or a failed resource
never blocks the rest: local_data and the site data stay the last good ones,
the run applies with them, and the failure is a failed step in the report
(exit code bit 4); the next run tries again. Userdata that decodes but whose
data does not compile counts as bad userdata too: none of it is written, and
the run compiles with the local_data in use; site data that does not compile is
refused, and the run compiles with the checkout in use.

Hourly runs first wait a splay: a stable per-host offset within run.splaylimit,
so a fleet cloned from one image does not hit its services at minute 0 at once.
"""
import os
import sys
import time

from confrt.util.log import SYSLOG_SOCKET

SCRIPTS_STEP = "first_boot_scripts"
COMMANDS_STEP = "first_boot_commands"


def splay_seconds(host_id, limit):
    """A stable offset in [0, limit) seconds for this host: sha256(host_id) mod limit."""
    import hashlib

    if limit <= 0:
        return 0
    digest = hashlib.sha256(host_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % limit


def host_id(config):
    """What the splay is derived from: the instance-id of the last userdata, else the hostname."""
    import socket

    from confrt.userdata.local import current_instance_id

    return current_instance_id(config) or socket.gethostname()


def run(config, boot=False, noop=False, splay=True, wait_lock=0, sleep=time.sleep, out=None, err=None,
        syslog_socket=SYSLOG_SOCKET):
    """One `confrt run`; returns the detailed exit code. sleep, out, err and syslog_socket
    (None: no syslog) are there for tests."""
    import logging

    from confrt.errors import ConfrtError
    from confrt.util.log import LoggedStream, close_run_log, open_run_log

    out, err = out or sys.stdout, err or sys.stderr
    log = open_run_log(config.run["log_dir"], syslog_socket, stream=out)
    out, err = LoggedStream(out, log, logging.INFO), LoggedStream(err, log, logging.ERROR)
    kind = "boot" if boot else "hourly"
    try:
        out.write(f"confrt: {kind} run started{' (noop)' if noop else ''}\n")
        if splay and not boot:
            wait_splay(config, sleep, out)
        return _locked_run(config, boot, noop, wait_lock, out, err)
    except ConfrtError as exc:
        log.error(str(exc))  # the CLI prints it; the run log keeps it too
        raise
    except Exception as exc:  # a bug: its message might quote data, so only its type is logged
        log.error(f"internal error: {type(exc).__name__} (run with --debug for a traceback)")
        raise
    finally:
        close_run_log(log)


def wait_splay(config, sleep, out):
    seconds = splay_seconds(host_id(config), config.run["splaylimit"])
    if seconds:
        out.write(f"confrt: waiting the {seconds}s splay of this host (run.splaylimit "
                  f"{config.run['splaylimit']}; --no-splay skips it)\n")
        out.flush()
        sleep(seconds)


def _locked_run(config, boot, noop, wait_lock, out, err):
    from confrt.data.hiera_config import HieraConfigs
    from confrt.engine.report import Report
    from confrt.engine.run import apply_phase, fatal_reported, publish, take_run_lock

    report = Report(noop=noop, out=out, err=err)
    hiera_configs = HieraConfigs()  # the userdata step and every compile of this run share its parse
    with take_run_lock(config, report, wait_lock):
        userdata = None
        if boot or config.run["refresh_userdata"]:
            from confrt.userdata.refresh import refresh_userdata

            userdata = refresh_userdata(config, report, hiera_configs)
        site = fetch_site_data(config, report, userdata)
        try:
            with fatal_reported(config, report):
                facts, catalog = compile_newest(config, report, userdata, site, hiera_configs)
                apply_phase(config, report, facts, catalog, made_before=userdata and userdata.made,
                            written_before=userdata and userdata.written)
            run_first_boot_scripts(config, report, userdata.scripts if userdata else [])
            run_first_boot_commands(config, report, facts)
        finally:
            if site is not None:
                site.close()
        publish(config, report)
    return report.exit_code(detailed=True)


def fetch_site_data(config, report, userdata):
    """The site data step (site_data.url set): fetch, verify and check out the ref's new commit;
    -> SiteData, or None. A failure keeps the checkout in use and is a failed step."""
    if not config.site_data["url"]:
        return None
    from confrt.site_data.refresh import fetch_site_data as fetch

    return fetch(config, report, userdata.candidate if userdata else None)


def compile_newest(config, report, userdata, site, hiera_configs=None):
    """(facts, catalog) compiled with the newest data that compiles, which is then taken: the new
    site data with the new userdata (local_data and write_files, in memory), else the new userdata
    alone, else the data in use (whose compile error is fatal). A candidate that does not compile
    is refused, its step failed. The userdata is written (in noop: named) only after a compile with
    it, the site data switched to only after one with it; userdata that cannot be written fails
    its step, and the data compiles again without it. `hiera_configs`: the run's parsed hiera.yaml files."""
    from confrt.engine.run import Candidate, compile_phases
    from confrt.errors import ConfrtError

    steps = [step for step in (site, userdata) if step is not None and step.candidate is not None]
    while True:
        candidate = Candidate(files=userdata.candidate if userdata in steps else None,
                              site_data=site.candidate if site in steps else None)
        try:
            compiled = compile_phases(config, report, candidate=candidate, hiera_configs=hiera_configs)
        except ConfrtError as exc:
            if not steps:
                raise
            steps.pop(0).refuse(report, str(exc))
            continue
        if userdata is None or userdata.take(report) or userdata not in steps:
            break
        steps.remove(userdata)
        userdata = None
    if site in steps:
        site.take(report)
    return compiled


def run_first_boot_scripts(config, report, new_scripts):
    """This instance's first-boot scripts, once, after the apply; in noop only named
    (`new_scripts`: what the noop refresh would have stored)."""
    from confrt.userdata import local

    pending = new_scripts if report.noop and new_scripts else local.first_boot_scripts_pending(config)
    if not pending:
        return
    names = [os.path.basename(path) for path in pending]
    if _named_in_noop(report, SCRIPTS_STEP, "scripts", names):
        return
    with report.phase(SCRIPTS_STEP):
        results = local.run_first_boot_scripts(config, _logger(report, "script"))
    failed = [os.path.basename(result.argv[0]) for result in results if not result.ok]
    report.step(SCRIPTS_STEP, "failed" if failed else "ok", scripts=names, failed=failed)


def run_first_boot_commands(config, report, facts):
    """The first_boot module's commands (its fact first_boot) not yet run on this instance, after
    the scripts; in noop only named. The report step lists each one's exit status (or pid)."""
    from confrt.userdata import local

    published = facts.get("first_boot")
    if not published or not published.get("commands"):
        return
    pending = local.first_boot_commands_pending(config, published["commands"])
    if not pending:
        return
    if _named_in_noop(report, COMMANDS_STEP, "commands", [command["name"] for command in pending]):
        return
    with report.phase(COMMANDS_STEP):
        results = local.run_first_boot_commands(config, pending, published, _logger(report, "command"))
    failed = [result.command["name"] for result in results if not result.ok]
    for result in results:
        if not result.ok:
            report.log_error(f"first-boot command {result.describe()}")
    report.step(COMMANDS_STEP, "failed" if failed else "ok",
                commands={result.command["name"]: result.as_report() for result in results}, failed=failed)


def _named_in_noop(report, step, kind, names):
    """In noop: record the step skipped, name the first-boot `kind` (scripts, commands) that would
    run, and say True."""
    if not report.noop:
        return False
    report.step(step, "skipped", reason="noop", **{kind: names})
    report.out.write(f"confrt: would run the first-boot {kind} {', '.join(names)} (noop)\n")
    return True


def _logger(report, kind):
    return lambda line: report.out.write(f"confrt: first-boot {kind} {line}\n")
