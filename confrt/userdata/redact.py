"""Hiding sensitive values before data is shown (show, fetch --noop, warnings)."""
import re

from confrt.util.redaction import REDACTED

SENSITIVE_NAME = re.compile(r"pass(word|wd)?$|password|secret|token|private|credential", re.IGNORECASE)


def is_sensitive(name):
    return bool(SENSITIVE_NAME.search(str(name).rpartition("::")[2]))


def redact(value):
    """A copy of `value` with the values of sensitive-looking keys replaced, at any depth, and of
    the keys its own lookup_options mark `sensitive: true` (by name or ^regex)."""
    if isinstance(value, dict):
        marked = _marked(value.get("lookup_options"))
        return {k: REDACTED if is_sensitive(k) or marked(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _marked(options):
    """key -> whether `options` (a lookup_options hash) mark it sensitive: its exact name or ANY
    ^regex saying sensitive: true, more than the data store's first match (confrt/data/lookup_options.py)
    on purpose: the node merges these with files show does not see, whose order of names comes
    first. Bad entries are left to the data store, which refuses them."""
    if not isinstance(options, dict):
        return lambda key: False
    names, patterns = set(), []
    for name, option in options.items():
        if not isinstance(name, str) or not isinstance(option, dict) or option.get("sensitive") is not True:
            continue
        if name.startswith("^"):
            try:
                patterns.append(re.compile(name))
            except re.error:
                continue
        else:
            names.add(name)
    return lambda key: isinstance(key, str) and (key in names or any(p.search(key) for p in patterns))
