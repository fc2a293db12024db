"""Userdata format detection: raw bytes -> Decoded, recursively.

FORMATS is the ordered registry of built-in formats that the engine's
confrt_userdata_formats() hook exposes (confrt/userdata/plugin.py); a format is
a Format(name, detect, parse) where detect(raw) says whether it applies and
parse(raw, context, what) returns a Decoded (calling
context.nested().decode(child, what) for nested content). Built-in formats are
tried first, then plugin formats, then the catch-all YAML mapping.
"""
import re

from confrt.errors import UserdataError
from confrt.userdata.decoded import Decoded, Script
from confrt.userdata.decoding import GZIP_MAGIC, as_text, gunzip

MAX_DEPTH = 8
_EXIT_LINE = re.compile(r"^\s*exit(\s+\S+)?\s*;?\s*$")
#: blank lines before a `#!`: amiconfig's script runner drops blank lines first (`grep -v '^ *$'`), so
#: userdata built with Perl's qq{...} (it starts with a newline) is a script too
_LEADING_BLANK_LINES = re.compile(rb"^(?:[ \t]*\r?\n)+")
UNSUPPORTED_HEADERS = ("#cloud-boothook", "#include", "## template:", "#part-handler", "#upstart-job",
                       "#cloud-config-archive")


class Format:
    def __init__(self, name, detect, parse):
        self.name = name
        self.detect = detect
        self.parse = parse


class DecodeContext:
    """Settings the parsers need: local_data path, statedir, size limit, nesting depth, confrt.yaml's
    userdata section (amiconfig plugins, legacy local_data paths) and `hierarchy`: a function
    returning the hiera.yaml in use, parsed (called only when a part needs it)."""

    def __init__(self, local_data, statedir, max_size, depth=0, settings=None, hierarchy=None):
        from confrt.config import userdata_defaults

        self.local_data = local_data
        self.statedir = statedir
        self.max_size = max_size
        self.depth = depth
        self.settings = dict(userdata_defaults(), **(settings or {}))
        self.hierarchy = hierarchy

    def nested(self):
        return DecodeContext(self.local_data, self.statedir, self.max_size, self.depth + 1, self.settings,
                             self.hierarchy)

    def decode(self, raw, what="userdata"):
        if self.depth > MAX_DEPTH:
            raise UserdataError(f"{what}: nested more than {MAX_DEPTH} levels deep")
        if len(raw) > self.max_size:
            raise UserdataError(f"{what}: {len(raw)} bytes, over userdata.max_size ({self.max_size})")
        if not raw.strip():
            return Decoded()
        for fmt in _formats_in_order():
            if fmt.detect(raw):
                return fmt.parse(raw, self, what)
        raise UserdataError(f"{what}: unrecognised format")


def _formats_in_order():
    """FORMATS, then plugin formats, then YAML_MAPPING: the plugins (pluggy and every builtin
    plugin) are loaded only when no built-in format matched, not for each decode."""
    yield from FORMATS
    yield from plugin_formats()
    yield YAML_MAPPING


def decode_userdata(raw, local_data, statedir, max_size, settings=None, hierarchy=None):
    """Decode a whole userdata blob; raises UserdataError, never writes. `settings`: confrt.yaml's
    userdata section (defaults when None); `hierarchy`: a function returning the parsed hiera.yaml
    whose data dirs count as read when a write_files entry looks like data."""
    return DecodeContext(local_data, statedir, max_size, settings=settings, hierarchy=hierarchy).decode(raw)


def _head(raw):
    return raw.lstrip()[:64]


def _text_head(raw):
    return _head(raw).decode("utf-8", "replace")


def _parse_gzip(raw, context, what):
    return context.nested().decode(gunzip(raw, context.max_size, what), f"{what} (gunzipped)")


def _parse_mime(raw, context, what):
    from confrt.userdata.mime import parse_mime

    return parse_mime(raw, context, what)


def _parse_cloud_config(raw, context, what):
    from confrt.userdata.cloudconfig import parse_cloud_config

    return parse_cloud_config(as_text(raw, what), context, what)


def _is_cloud_config(raw):
    return _text_head(raw).split("\n", 1)[0].rstrip() == "#cloud-config"


def split_script(text):
    """amiconfig: config blocks may follow a script that ends with `exit`: (script, rest)."""
    from confrt.userdata.ini import first_significant_line, is_section_header

    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines[1:], 1):
        if _EXIT_LINE.match(line):
            rest = "".join(lines[index + 1:])
            if is_section_header(first_significant_line(rest)):
                return "".join(lines[:index + 1]), rest
    return text, ""


def _is_script(raw):
    return _LEADING_BLANK_LINES.sub(b"", raw, count=1).startswith(b"#!")


def _parse_script(raw, context, what):
    script, rest = split_script(as_text(_LEADING_BLANK_LINES.sub(b"", raw, count=1), what))
    decoded = Decoded()
    decoded.scripts.append(Script("userdata-script", script.encode("utf-8")))
    if rest:
        decoded.extend(context.nested().decode(rest.encode("utf-8"), f"{what} (after the script)"), what)
    return decoded


def _is_unsupported(raw):
    return _text_head(raw).startswith(UNSUPPORTED_HEADERS)


def _parse_unsupported(raw, context, what):
    header = _text_head(raw).split("\n", 1)[0].split()[0]
    raise UserdataError(f"{what}: {header} userdata is not supported by confrt (cloud-init only)")


def _is_glidein(raw):
    from confrt.userdata.glidein import looks_like_glidein

    return looks_like_glidein(raw.decode("utf-8", "replace"))


def _parse_glidein(raw, context, what):
    from confrt.userdata.glidein import parse_delimited

    return parse_delimited(as_text(raw, what), context, what)


def _is_ini(raw):
    from confrt.userdata.ini import first_significant_line, is_section_header

    return is_section_header(first_significant_line(raw.decode("utf-8", "replace")))


def _parse_ini(raw, context, what):
    from confrt.userdata import amiconfig, glidein
    from confrt.userdata.ini import parse_ini

    sections = parse_ini(as_text(raw, what), what)
    if glidein.is_glidein_ini(sections):
        return glidein.debug_decoded(sections, what)
    return amiconfig.translate(sections, what, context.settings)


def _is_glidein_without_separator(raw):
    from confrt.userdata.glidein import without_separator

    return without_separator(raw) is not None


def _parse_glidein_without_separator(raw, context, what):
    from confrt.userdata.glidein import without_separator

    raise UserdataError(f"{what}: {without_separator(raw)}")


def _parse_yaml(raw, context, what):
    from confrt.userdata.cloudconfig import load_mapping

    return Decoded(load_mapping(as_text(raw, what), what), what)


FORMATS = [
    Format("gzip", lambda raw: raw.startswith(GZIP_MAGIC), _parse_gzip),
    Format("mime", lambda raw: _head(raw)[:13].lower().startswith((b"content-type:", b"mime-version:")),
           _parse_mime),
    Format("cloud-config", _is_cloud_config, _parse_cloud_config),
    Format("script", _is_script, _parse_script),
    Format("cloud-init-only", _is_unsupported, _parse_unsupported),
    Format("glidein", _is_glidein, _parse_glidein),
    Format("ini", _is_ini, _parse_ini),
    Format("glidein-without-separator", _is_glidein_without_separator, _parse_glidein_without_separator),
]
# tried last, after plugin formats: any text that is a YAML mapping is local data
YAML_MAPPING = Format("yaml", lambda raw: True, _parse_yaml)
_plugin_formats = None


def plugin_formats():
    """Formats other plugins register through confrt_userdata_formats(), loaded on first need."""
    global _plugin_formats
    if _plugin_formats is None:
        from confrt.engine.plugins import plugin_manager

        found = []
        for result in plugin_manager().hook.confrt_userdata_formats():
            found.extend(f for f in result or [] if f not in FORMATS and f not in found)
        _plugin_formats = found
    return _plugin_formats
