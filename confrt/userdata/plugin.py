"""confrt's own datasources and formats, registered through the engine's hooks like a plugin's.

Interfaces (what a plugin returns from these hooks):
    confrt_userdata_sources() -> {name: function(settings, argument) -> Fetched}
        settings is confrt.yaml's userdata section, argument the text after "name:" or None;
        raise SourceAbsent when the source is not on this machine, UserdataError when it is broken.
    confrt_userdata_formats() -> [Format(name, detect(raw) -> bool, parse(raw, context, what) -> Decoded)]
        tried after the built-in formats and before the catch-all YAML mapping.
"""
from confrt.engine.hookspecs import hookimpl


@hookimpl
def confrt_userdata_sources():
    from confrt.userdata.sources import SOURCES

    return dict(SOURCES)


@hookimpl
def confrt_userdata_formats():
    from confrt.userdata.formats import FORMATS

    return list(FORMATS)
