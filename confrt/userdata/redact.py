"""Hiding sensitive values before data is shown (show, fetch --noop, warnings)."""
import re

from confrt.util.redaction import REDACTED

SENSITIVE_NAME = re.compile(r"pass(word|wd)?$|password|secret|token|private|credential", re.IGNORECASE)


def is_sensitive(name):
    return bool(SENSITIVE_NAME.search(str(name).rpartition("::")[2]))


def redact(value):
    """A copy of `value` with the values of sensitive-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_sensitive(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
