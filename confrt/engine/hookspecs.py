"""How confrt can be extended: every hook, specified and documented once.

Plugins are Python objects or modules with functions marked by `hookimpl`:

    from confrt.engine.hookspecs import hookimpl

    @hookimpl
    def confrt_resource_types():
        return {"zfs_dataset": "mysite.zfs:ZfsDatasetType"}

Third-party plugins are found through the setuptools entry-point group
"confrt" (see confrt/engine/plugins.py). confrt's own parts (the core resource
types, the modulepath loader, the datasources and formats) register through the
same hooks, so a plugin can do anything a built-in part can.
"""
import pluggy

PROJECT = "confrt"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def confrt_facts(facts):
    """Register plugin facts.

    Call ``facts.register(name, fn)`` for each fact; ``fn()`` is called lazily
    the first time the fact is read and must return a JSON-like value. Use a
    dotted name under your own prefix (``site.rack``) to avoid clashes.

    :param confrt.facts.Facts facts: the facts of this run.
    """


@hookspec
def confrt_resource_types():
    """Register resource types.

    Return a mapping ``{type_name: type}`` where type is a
    :class:`confrt.resources.base.ResourceType` subclass or the string
    ``"package.module:Attribute"`` naming one (imported only when the type is
    used: keep runs cheap). Each type becomes usable in modules
    (``ctx.resource(type_name, ...)``) and in data as ``resources::<type_name>``.
    Its providers come with it (``ResourceType.providers``). A later plugin
    registering the same name replaces the built-in type.
    """


@hookspec
def confrt_modules(config):
    """Register modules.

    Return a list of :class:`confrt.engine.module.Module`. The built-in
    implementation returns every folder of ``config.modulepath`` (earlier
    folders win on a name clash) and each entry point of the group
    ``confrt.modules``. Loading a module's code must stay lazy: create Module
    objects only, their module.py is imported when the module is compiled.

    :param confrt.config.Config config: confrt's settings.
    """


@hookspec
def confrt_userdata_sources():
    """Register userdata datasources.

    Return ``{name: fetch}``; ``fetch(settings, argument)`` returns a
    :class:`confrt.userdata.sources.Fetched` (raw userdata bytes, instance id).
    ``settings`` is the ``userdata`` section of confrt.yaml, ``argument`` the
    text after ``name:`` in ``userdata.sources`` (or None). Raise
    ``confrt.userdata.sources.SourceAbsent`` when the datasource is not on this
    machine and :class:`confrt.errors.UserdataError` when it is there but
    broken. ``userdata.sources`` lists the names to try, in order.
    """


@hookspec
def confrt_userdata_formats():
    """Register userdata formats.

    Return a list of :class:`confrt.userdata.formats.Format` objects:
    ``Format(name, detect, parse)`` with ``detect(raw: bytes) -> bool`` and
    ``parse(raw, context, what)`` returning the decoded part (the data it
    contributes to local.yaml). Plugin formats are tried after the built-in
    ones and before the catch-all YAML mapping; the first whose detect() is
    true parses a part.
    """


@hookspec
def confrt_report(report):
    """Process the report of a finished run (after last_run_report.json is written).

    Called for real and noop runs. Sensitive values are already redacted.
    Exceptions are logged as warnings and never change the run's exit code.

    :param confrt.engine.report.Report report: ``report.to_dict()`` is the
        JSON written to statedir/last_run_report.json.
    """
