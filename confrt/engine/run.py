"""One run, phase by phase: facts -> data -> compile -> apply -> report.

Shared by `confrt apply`, `confrt run` (which may compile with a Candidate first) and
`confrt modules show` (which stops after the data).
"""
import contextlib
import os
import sys


def warn(message):
    print(f"confrt: warning: {message}", file=sys.stderr)


class Candidate:
    """New data a run compiles with before it takes it (`confrt run`): nothing of it is written or
    switched to until that compile has succeeded. None of each: the data in use.

    files      {path: content} the userdata writes (local_data, write_files...): the compile reads
               them from memory (the data store, a file's source) in place of the files on disk
    site_data  (directory, commit) of a new site data checkout, read in place of `current`
    """

    def __init__(self, files=None, site_data=None):
        self.files = files or {}
        self.site_data = site_data


IN_USE = Candidate()


def load_facts(config, facts_file=None, role=None, candidate=IN_USE):
    """This host's facts (facts_dir, --facts FILE, --role) plus the facts plugins register; the role
    from local_data is the candidate's."""
    from confrt.engine.plugins import plugin_manager
    from confrt.facts import Facts

    facts = Facts.for_config(config, facts_file, role)
    if config.local_data in candidate.files:
        from confrt.facts.role import role_from_local_data

        facts.register("role", lambda: role_from_local_data(config.local_data, candidate.files[config.local_data]))
    plugin_manager().hook.confrt_facts(facts=facts)
    return facts


def open_store(config, facts, modules, extra_data=None, candidate=IN_USE, hiera_configs=None):
    """The DataStore for this run: the hierarchy (with the candidate's data), module data, and an
    optional top layer; `hiera_configs`: the run's parsed hiera.yaml files."""
    from confrt.data import DataStore
    from confrt.errors import DataError

    if extra_data and not os.path.isfile(extra_data):
        raise DataError(f"{extra_data}: --data file not found")
    module_data = {name: module.data_dir for name, module in modules.items() if module.data_dir}
    return DataStore(config.effective_hiera_config(candidate.site_data), facts,
                     variables=config.data_variables(candidate.site_data),
                     module_data=module_data, top_data=extra_data, in_memory=candidate.files,
                     hiera_configs=hiera_configs)


def compile_catalog(config, facts, extra_data=None, warn=warn, candidate=IN_USE, hiera_configs=None):
    """(catalog, compiler) for this host; raises CompileError/DataError before any change."""
    from confrt.engine.compiler import Compiler
    from confrt.engine.plugins import modules, resource_types

    found = modules(config)
    store = open_store(config, facts, found, extra_data, candidate, hiera_configs)
    compiler = Compiler(store, facts, found, resource_types(), warn=warn, written_before=candidate.files)
    return compiler.compile(), compiler


def apply(config, noop=False, tags=None, wait_lock=0, facts_file=None, extra_data=None,
          detailed_exitcodes=False, role=None):
    """A whole `confrt apply`; returns the exit code. A fatal error is reported, then raised."""
    from confrt.engine.report import Report

    report = Report(noop=noop)
    with take_run_lock(config, report, wait_lock):
        with fatal_reported(config, report):
            facts, catalog = compile_phases(config, report, facts_file, extra_data, role)
            apply_phase(config, report, facts, catalog, tags)
        publish(config, report)
    return report.exit_code(detailed_exitcodes)


def take_run_lock(config, report, wait_seconds=0):
    """The run lock (a context manager), its wait timed as the 'lock' phase."""
    from confrt.engine.lock import RunLock

    with report.phase("lock"):
        return RunLock(config.statedir).acquire(wait_seconds)


@contextlib.contextmanager
def fatal_reported(config, report):
    """A ConfrtError raised inside becomes the report's fatal error, written to the report files, re-raised."""
    from confrt.errors import ConfrtError

    try:
        yield
    except ConfrtError as exc:
        report.fatal = str(exc)
        report.finish()
        report.write(config.statedir)
        raise


def compile_phases(config, report, facts_file=None, extra_data=None, role=None, candidate=IN_USE,
                   hiera_configs=None):
    """(facts, catalog): the facts and compile phases, with the candidate's data (hiera.yaml parsed
    by `hiera_configs`, the run's, when given); raises before any change."""
    with report.phase("facts"):
        facts = load_facts(config, facts_file, role, candidate)
    with report.phase("compile"):
        from confrt.engine.report import data_version

        catalog, _ = compile_catalog(config, facts, extra_data, candidate=candidate,
                                     hiera_configs=hiera_configs)
        report.data_version = data_version(catalog)
        checkout = candidate.site_data or config.site_data_checkout()
        report.site_data_commit = checkout[1] if checkout else None
    return facts, catalog


def apply_phase(config, report, facts, catalog, tags=None, made_before=None, written_before=None):
    """Converge to the catalog (or, when the report is noop, only find what would change);
    made_before and written_before: the folders ({path: mode}) and files ({path: content}) a step
    before it writes (a noop's userdata step, which writes nothing)."""
    from confrt.engine.applier import ApplyContext, Applier

    with report.phase("apply"):
        ctx = ApplyContext(facts, config.statedir, noop=report.noop, made_before=made_before,
                           written_before=written_before)
        Applier(catalog, ctx, report, tags).run()


def publish(config, report):
    """Finish the report: write its files, hand it to plugins, print the headline."""
    report.finish()
    report.write(config.statedir)
    deliver_report(report)
    report.out.write(report.headline() + "\n")


def deliver_report(report):
    """Hand the report to the confrt_report plugins; their failures are only warnings."""
    from confrt.engine.plugins import plugin_manager

    try:
        plugin_manager().hook.confrt_report(report=report)
    except Exception as exc:
        warn(f"a report plugin failed: {type(exc).__name__}: {exc}")
