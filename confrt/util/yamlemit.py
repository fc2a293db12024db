"""A small YAML writer for plain data, so that printing facts or a lookup needs no PyYAML.

Importing PyYAML costs ~15 ms (its reader and resolver compile large regular
expressions), a good part of a `confrt facts` run. Plain data (dicts, lists,
str, int, float, bool, None) is written here in PyYAML's block layout; a string
is left plain only when no YAML 1.1 reader could take it for anything else,
otherwise it is quoted: single quotes when it is printable ASCII, else double
quotes with escapes, as PyYAML does (the output is ASCII). `emit` returns
None for anything else (dates, bytes, sets, a cycle), and the caller falls
back to PyYAML.
"""
import re

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+:-]*(?: [A-Za-z0-9_./@+:-]+)*\Z")
# the words YAML 1.1 readers resolve to booleans or null (PyYAML knows all but y/n)
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


class _Unsupported(Exception):
    pass


def emit(data):
    """The YAML text of `data`, or None when it holds something other than plain data."""
    try:
        if isinstance(data, (dict, list)) and data:
            return "".join(line + "\n" for line in _lines(data, 0, set()))
        return _scalar(data) + "\n"
    except _Unsupported:
        return None


def _lines(data, indent, parents):
    if id(data) in parents:
        raise _Unsupported  # a recursive structure (YAML anchors can build one)
    parents.add(id(data))
    pad = " " * indent
    if isinstance(data, dict):
        for key, value in data.items():
            head = f"{pad}{_key(key)}:"
            if isinstance(value, dict) and value:
                yield head
                yield from _lines(value, indent + 2, parents)
            elif isinstance(value, list) and value:
                yield head
                yield from _lines(value, indent, parents)  # PyYAML's layout: "- " under the key
            else:
                yield f"{head} {_scalar(value)}"
    else:
        for item in data:
            if isinstance(item, (dict, list)) and item:
                first, *rest = _lines(item, indent + 2, parents)
                yield f"{pad}- {first[indent + 2:]}"
                yield from rest
            else:
                yield f"{pad}- {_scalar(item)}"
    parents.discard(id(data))


def _key(key):
    text = _scalar(key)
    if len(text) > 1000:  # a YAML reader takes an implicit key of up to 1024 characters
        raise _Unsupported
    return text


def _scalar(value):
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        value = str.__str__(value)  # a str subclass (a str Enum) as its text, not its name
        if _PLAIN.match(value) and value.lower() not in _RESERVED and ": " not in value \
                and not value.endswith(":"):
            return value
        return _quoted(value)
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    raise _Unsupported


def _float(value):
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text:  # 1e+20: YAML 1.1 wants a dot in a float
        text = text.replace("e", ".0e") if "e" in text else text + ".0"
    return text


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _quoted(text):
    """Single-quoted when the text is printable ASCII, else double-quoted with every other
    character escaped, as PyYAML writes (so the output is ASCII whatever stdout's encoding)."""
    if text.isascii() and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return '"' + "".join(_escaped(char) for char in text) + '"'


def _escaped(char):
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if 0x20 <= code <= 0x7E:
        return char
    if 0xD800 <= code <= 0xDFFF:
        raise _Unsupported  # a lone surrogate: libyaml refuses its escape
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}"
