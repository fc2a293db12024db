"""The `role` fact from the runtime data layer.

An image sets `role` in facts.d; userdata sets it as the top-level key `role`
of local_data. facts.d and --facts win (they are layers above this one); with
neither, `role` is undefined and the hierarchy's roles/%{role}.yaml levels are
skipped.
"""
import os
import re

from confrt.errors import FactError

KEY = "role"
_ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def role_from_local_data(path, content=None):
    """The `role` key of the local_data file at `path` (or in `content`, the bytes of a new local_data
    not written yet), or None when absent."""
    if content is None and not os.path.isfile(path):
        return None
    from confrt.data.files import read_mapping

    role = read_mapping(path, content=content).get(KEY)
    if role is None:
        return None
    if not isinstance(role, str) or not _ROLE_NAME.match(role):
        raise FactError(f"{path}: {KEY}: expected a role name (letters, digits, '_', '.', '-'), got {role!r}")
    return role
