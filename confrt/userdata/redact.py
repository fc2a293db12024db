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
    """key -> whether `options` (a lookup_options hash) mark it sensitive, as the data store reads
    them; bad entries are left out here and left to the data store, which refuses them."""
    from confrt.data.lookup_options import LookupOptions, regex_problem

    if not isinstance(options, dict):
        return lambda key: False
    usable = LookupOptions({name: option for name, option in options.items()
                            if isinstance(name, str) and isinstance(option, dict) and not regex_problem(name)})
    return lambda key: isinstance(key, str) and usable.sensitive(key)
