"""`confrt run`: the run cron and systemd start at boot and every hour.

Under the run lock, in this order:
  1. refresh userdata (always at boot; hourly only with run.refresh_userdata), so
     a role or classes from userdata count in this same run: one boot run
     converges a fresh VM, no "run it twice";
  2. fetch the site data (site_data.url: a signed git repository), checked out beside the
     checkout in use; its `current` link moves to it only once the run's data compiles with it;
  3. facts -> compile -> apply;
  4. the first-boot scripts of this instance, then the commands of the first_boot module, each
     once (never in noop);
  5. the report, and the detailed exit code (0, 2, 4, 6; 1 fatal).
A dead metadata service, bad userdata, refused site data or a failed resource
never blocks the rest: local_data and the site data stay the last good ones,
the run applies with them, and the failure is a failed step in the report
(exit code bit 4); the next run tries again. Userdata that decodes but whose
data does not compile counts as bad userdata too: the previous local_data is
put back and the run compiles again; site data that does not compile is
refused, and the run compiles with the checkout in use.

Hourly runs first wait a splay: a stable per-host offset within run.splaylimit,
so a fleet cloned from one image does not hit its services at minute 0 at once.
"""
import os
import sys
import time

from confrt.util.log import SYSLOG_SOCKET

USERDATA_STEP = "userdata"
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
    from confrt.engine.report import Report
    from confrt.engine.run import apply_phase, compile_phases, fatal_reported, publish, take_run_lock

    report = Report(noop=noop, out=out, err=err)
    with take_run_lock(config, report, wait_lock):
        refresh = boot or config.run["refresh_userdata"]
        previous = _read_local_data(config) if refresh else None
        run_config, new_scripts, made = refresh_userdata(config, report) if refresh else (config, [], {})
        site = fetch_site_data(run_config, report)
        try:
            with fatal_reported(config, report):
                facts, catalog = compile_with_new_site_data(site, run_config, report)
                if facts is None and refresh:
                    facts, catalog = compile_with_good_local_data(config, run_config, report, previous)
                elif facts is None:
                    facts, catalog = compile_phases(config, report)
                apply_phase(config, report, facts, catalog, made_before=made)
            run_first_boot_scripts(config, report, new_scripts)
            run_first_boot_commands(config, report, facts)
        finally:
            if run_config is not config:
                import shutil

                shutil.rmtree(os.path.dirname(run_config.local_data))
            if site is not None:
                site.close()
        publish(config, report)
    return report.exit_code(detailed=True)


def refresh_userdata(config, report):
    """Fetch and write local_data; a failure keeps the old one and is a failed step.

    Returns (config to compile with, paths of first-boot scripts the refresh stored
    or, in noop, would store, {folder: mode} the refresh would make: noop only). In
    noop the config is a copy whose local_data is a private temporary file holding
    what the refresh would write.
    """
    from confrt.errors import ConfrtError
    from confrt.userdata import local
    from confrt.userdata.refresh import refresh_local_data

    if not config.userdata["sources"]:
        report.step(USERDATA_STEP, "skipped", reason="userdata.sources is empty")
        return config, [], {}
    try:
        with report.phase("userdata"):
            fetched, decoded, writes = refresh_local_data(config, noop=report.noop)
    except ConfrtError as exc:
        return _keep_local_data(config, report, str(exc)), [], {}
    except Exception as exc:  # a bug in a parser must not stop the fleet from converging
        return _keep_local_data(config, report, f"internal error ({type(exc).__name__}); "
                                                "`confrt userdata show --debug` shows it"), [], {}
    for warning in decoded.warnings:
        report.err.write(f"confrt: warning: {warning}\n")  # each names its part: "userdata: ..."
    verb = "would write" if report.noop else "wrote"
    for write in writes:
        report.out.write(f"confrt: userdata from {fetched.source}: {verb} {write.describe()}\n")
    report.step(USERDATA_STEP, "ok", source=fetched.source, written=[write.path for write in writes])
    scripts = [write.path for write in writes if write.path.startswith(local.scripts_dir(config))]
    made = local.folders_made_by(config, writes) if report.noop else {}
    planned = [write for write in writes if write.path == config.local_data]
    if report.noop and planned:
        others = [write for write in writes if write.path != config.local_data]
        return _config_with_local_data(config, planned[0].content, others), scripts, made
    return config, scripts, made


def fetch_site_data(config, report):
    """The site data step (site_data.url set): fetch, verify and check out the ref's new commit;
    -> SiteData, or None. A failure keeps the checkout in use and is a failed step."""
    if not config.site_data["url"]:
        return None
    from confrt.site_data.refresh import fetch_site_data as fetch

    return fetch(config, report)


def compile_with_new_site_data(site, run_config, report):
    """(facts, catalog) compiled with the newly fetched site data, which is then taken (`current`
    switched; in noop only named); (None, None) when there is none or it does not compile (then
    refused: the caller compiles with the data in use)."""
    from confrt.engine.run import compile_phases
    from confrt.errors import ConfrtError

    if site is None or site.candidate is None:
        return None, None
    try:
        compiled = compile_phases(site.pinned(run_config), report)
    except ConfrtError as exc:
        site.refuse(report, f"its data does not compile: {exc}")
        return None, None
    site.take(report)
    return compiled


def _keep_local_data(config, report, error):
    kept = config.local_data if os.path.exists(config.local_data) else None
    report.step(USERDATA_STEP, "failed", error=error, kept_local_data=kept)
    report.log_error(f"userdata: {error}; " + (f"keeping the last good {kept}" if kept else
                                               "no local_data yet: the build-time data only"))
    return config


def _config_with_local_data(config, content, others=()):
    """A copy of config whose local_data is `content` in a private temp dir (0700: it may hold
    secrets). The other files the refresh would write (a glidein proxy, write_files) go there
    too, each in a folder of its own under its own name (a module may derive a name from it:
    glidein's proxy in the pilot's home), and local_data values naming them point at those
    copies, so the preview compiles as the real run will (a file resource's `source` must exist)."""
    import copy
    import tempfile

    directory = tempfile.mkdtemp(prefix="confrt-preview-")
    moved = {}
    for index, write in enumerate(others):
        folder = os.path.join(directory, str(index))
        os.mkdir(folder, 0o700)
        moved[write.path] = _private_file(os.path.join(folder, os.path.basename(write.path)), write.content)
    if moved:
        from confrt.util.yamlfile import dump_yaml, load_yaml

        content = dump_yaml(_repointed(load_yaml(content.decode("utf-8"), config.local_data), moved)).encode()
    preview = copy.copy(config)
    preview.local_data = _private_file(os.path.join(directory, "local.yaml"), content)
    return preview


def _private_file(path, content):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
        stream.write(content)
    return path


def _repointed(value, moved):
    """`value` with every string equal to a key of `moved` replaced by its value."""
    if isinstance(value, dict):
        return {key: _repointed(item, moved) for key, item in value.items()}
    if isinstance(value, list):
        return [_repointed(item, moved) for item in value]
    return moved.get(value, value) if isinstance(value, str) else value


def _read_local_data(config):
    from confrt.util.atomic import read_bytes

    return read_bytes(config.local_data)


def compile_with_good_local_data(config, run_config, report, previous):
    """(facts, catalog) after a refresh. When the refreshed local_data does not compile, put
    `previous` back (in noop: just use it), record the userdata failure and compile again."""
    from confrt.engine.run import compile_phases
    from confrt.errors import ConfrtError

    try:
        return compile_phases(run_config, report)
    except ConfrtError as exc:
        if _read_local_data(run_config) == previous:
            raise
        if not report.noop:
            _restore_local_data(config, previous)
        _keep_local_data(config, report, f"the new local_data does not compile: {exc}")
    return compile_phases(config, report)


def _restore_local_data(config, previous):
    from confrt.util.atomic import atomic_write

    if previous is None:
        os.unlink(config.local_data)
    else:
        atomic_write(config.local_data, previous, 0o600)


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
