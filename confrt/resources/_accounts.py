"""What user and group share: account names, the account databases read once per run."""
import re

from confrt.resources._system import matching
from confrt.resources.base import ResourceFailed

NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")


#: Param check: a portable user/group name (useradd's own rule).
account_name = matching(NAME_PATTERN, "a user/group name (lower case, digits, '_', '-', '.')")


def non_negative(value):
    if value < 0:
        raise ValueError(f"expected a number >= 0, got {value}")
    return value


def parse_colon_db(text):
    """getent output (passwd/group/shadow lines) -> {name: [fields]}."""
    entries = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] not in entries:
            entries[fields[0]] = fields
    return entries


def read_databases(ctx, names):
    """{name: {...}} for each database in names ('passwd', 'group', 'shadow'): one getent each."""
    databases = {}
    for name in names:
        result = ctx.run(["getent", name])
        if result.returncode not in (0, 2):  # 2: an empty database
            raise ResourceFailed(result.describe())
        databases[name] = parse_colon_db(result.stdout)
    return databases


def group_members(group_db):
    """{user: set(supplementary group names)} from the group database."""
    members = {}
    for name, fields in group_db.items():
        for user in filter(None, (fields[3] if len(fields) > 3 else "").split(",")):
            members.setdefault(user, set()).add(name)
    return members


def forget_cached_ids():
    """Other resources (files owned by a new user) must see the account databases anew."""
    from confrt.resources import _posix

    _posix.forget_ids()
