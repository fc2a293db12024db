"""Dotted lookup keys: "ntp.servers.0" names servers[0] inside the hash ntp.

As in Hiera 5, a segment may be quoted ('"a.b".c') to hold a dot, and a
numeric segment indexes an array. The first segment is the root key: the one
searched in data files and matched against lookup_options.
"""
import re

from confrt.errors import DataError


class _Missing:
    """The marker for "no value" (a key present with a null value is found: None)."""

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()

_SEGMENT = re.compile(r'"([^"]*)"|\'([^\']*)\'|([^."\']+)')


def split_key(key):
    """'a."b.c".0' -> ['a', 'b.c', '0']; a malformed key is a DataError."""
    segments = []
    pos = 0
    while True:
        match = _SEGMENT.match(key, pos)
        if not match:
            raise DataError(f"key {key!r}: malformed (empty segment or unbalanced quote)")
        segments.append(next(group for group in match.groups() if group is not None))
        pos = match.end()
        if pos == len(key):
            return segments
        if key[pos] != ".":
            raise DataError(f"key {key!r}: malformed at character {pos + 1}")
        pos += 1


def dig(value, segments):
    """The value at `segments` inside value, or MISSING."""
    for segment in segments:
        if isinstance(value, dict):
            value = value.get(segment, MISSING)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def module_name(root_key):
    """'htcondor::role' -> 'htcondor'; None for a key outside any module."""
    head, sep, _ = root_key.partition("::")
    return head if sep and head else None
