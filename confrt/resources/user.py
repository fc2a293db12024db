"""user: a local account (useradd, usermod, userdel); its password hash is sensitive.

`password` takes a crypt hash (`mkpasswd -m sha-512`, `openssl passwd -6`) or a
lock marker ('!' / '*'), never a plain password. It is set with `chpasswd -e`
through stdin, so it never appears in a command line, a log or a report.
`groups` are supplementary groups; with membership 'minimum' (the default)
the user keeps other groups it is in, with 'inclusive' it is in exactly these.
"""
from confrt.resources._accounts import (
    account_name, forget_cached_ids, group_members, non_negative, read_databases,
)
from confrt.resources._posix import absolute_path, resolve_id
from confrt.resources._system import ensure_param, run_checked, single_line
from confrt.resources.base import Change, Param, Provider, ResourceType, format_ref

PASSWD_FIELDS = {"uid": 2, "gid": 3, "comment": 4, "home": 5, "shell": 6}


def _password(value):
    if "\n" in value or ":" in value or not value.startswith(("$", "!", "*")):
        raise ValueError("expected a crypt hash (mkpasswd -m sha-512, openssl passwd -6) or '!', "
                         "not a plain password")
    return value


def _groups(value):
    for name in value:
        if not isinstance(name, str):
            raise ValueError(f"expected group names, got {name!r}")
        account_name(name)
    return value


class UseraddProvider(Provider):
    name = "useradd"

    @classmethod
    def prefetch(cls, resources, ctx):
        shadow = ("shadow",) if any(r.get("password") is not None for r in resources) else ()
        return read_databases(ctx, ("passwd", "group") + shadow)

    def changes(self):
        wanted, name = self.resource, self.resource["name"]
        current = self.prefetched["passwd"].get(name)
        if wanted["ensure"] == "absent":
            return [] if current is None else [Change("ensure", "present", "absent")]
        self.check_groups()
        if current is None:
            return [Change("ensure", "absent", "present")]
        changes = []
        for prop, index in PASSWD_FIELDS.items():
            value = wanted.get(prop)
            if value is None:
                continue
            if prop == "gid":
                number = resolve_id("group", value, self.ctx, attr="gid")
                if number is None or number != int(current[index]):
                    changes.append(Change("gid", int(current[index]), value))
            elif str(value) != current[index]:
                changes.append(Change(prop, int(current[index]) if prop == "uid" else current[index], value))
        groups = self.wanted_groups()
        if groups is not None:
            changes.append(Change("groups", sorted(self.current_groups()), groups))
        password = wanted.get("password")
        if password is not None:
            entry = self.prefetched.get("shadow", {}).get(name)
            if entry is None or entry[1] != password:
                changes.append(Change("password", None, None, message="password changed", sensitive=True))
        return changes

    def check_groups(self):
        """useradd and usermod fail on a group that is not there: so does a noop (a group the
        catalog creates is fine)."""
        wanted = self.resource
        groups = [("gid", wanted["gid"])] if wanted.get("gid") is not None else []
        groups += [("groups", group) for group in wanted.get("groups") or []]
        for attr, group in groups:
            if group not in self.prefetched["group"]:
                resolve_id("group", group, self.ctx, attr=attr)

    def current_groups(self):
        return group_members(self.prefetched["group"]).get(self.resource["name"], set())

    def wanted_groups(self):
        """The full supplementary group list to set, or None when membership is right."""
        wanted = self.resource.get("groups")
        if wanted is None:
            return None
        current = self.current_groups()
        if self.resource["membership"] == "inclusive":
            return None if set(wanted) == current else sorted(set(wanted))
        return None if set(wanted) <= current else sorted(current | set(wanted))

    def options(self, properties):
        """useradd/usermod options for the given properties."""
        wanted, argv = self.resource, []
        flags = {"uid": "-u", "gid": "-g", "comment": "-c", "home": "-d", "shell": "-s"}
        for prop, flag in flags.items():
            if prop in properties and wanted.get(prop) is not None:
                argv += [flag, str(wanted[prop])]
        if "groups" in properties and wanted.get("groups") is not None:
            argv += ["-G", ",".join(self.wanted_groups() or sorted(set(wanted["groups"])))]
        return argv

    def apply(self, changes):
        name = self.resource["name"]
        properties = {change.property for change in changes}
        if self.resource["ensure"] == "absent":
            run_checked(self.ctx, ["userdel"] + (["-r"] if self.resource["managehome"] else []) + [name])
            forget_cached_ids()
            return
        if "ensure" in properties:
            argv = ["useradd"] + self.options(set(PASSWD_FIELDS) | {"groups"})
            argv += ["-m"] if self.resource["managehome"] else ["-M"]
            argv += ["-r"] if self.resource["system"] else []
            run_checked(self.ctx, argv + [name])
            properties.add("password")
        else:
            options = self.options(properties)
            if options:
                run_checked(self.ctx, ["usermod"] + options + [name])
        if "password" in properties and self.resource.get("password") is not None:
            run_checked(self.ctx, ["chpasswd", "-e"], input=f"{name}:{self.resource['password']}\n")
        forget_cached_ids()


class UserType(ResourceType):
    name = "user"
    params = [
        Param("name", str, check=account_name, doc="the login name (the title)"),
        ensure_param(),
        Param("uid", int, None, check=non_negative, doc="numeric user id (chosen by useradd if unset)"),
        Param("gid", (str, int), None, doc="primary group, name or number (useradd's default if unset)"),
        Param("groups", list, None, check=_groups, doc="supplementary groups"),
        Param("membership", str, "minimum", choices=("minimum", "inclusive"),
              doc="minimum: at least `groups`; inclusive: exactly `groups`"),
        Param("home", str, None, check=absolute_path, doc="home directory"),
        Param("managehome", bool, True, doc="create the home on creation, remove it with the user"),
        Param("shell", str, None, check=absolute_path, doc="login shell"),
        Param("comment", str, None, check=single_line, doc="the GECOS field (full name)"),
        Param("system", bool, False, doc="a system account (uid from the system range) when created"),
        Param("password", str, None, check=_password, sensitive=True,
              doc="crypt hash of the password, or '!' to lock it"),
    ]
    providers = [UseraddProvider]

    @classmethod
    def validate(cls, attrs):
        comment = attrs.get("comment")
        if comment is not None and ":" in comment:
            raise ValueError("comment: must not contain ':'")

    @classmethod
    def autorequires(cls, resource):
        refs = [format_ref("group", g) for g in resource.get("groups") or []]
        gid = resource.get("gid")
        if isinstance(gid, str) and not gid.isdigit():
            refs.append(format_ref("group", gid))
        return refs

    @classmethod
    def creates(cls, resource):
        """Its home, made by useradd -m."""
        if resource["ensure"] != "present" or not resource["managehome"]:
            return []
        return [resource.get("home") or f"/home/{resource['name']}"]


TYPE = UserType
