"""group: a local group with its gid (groupadd, groupmod, groupdel)."""
from confrt.resources._accounts import account_name, forget_cached_ids, non_negative, read_databases
from confrt.resources._system import ensure_param, run_checked
from confrt.resources.base import Change, Param, Provider, ResourceType


class GroupaddProvider(Provider):
    name = "groupadd"

    @classmethod
    def prefetch(cls, resources, ctx):
        return read_databases(ctx, ("group",))  # the only one a group needs

    def current(self):
        return self.prefetched["group"].get(self.resource["name"])

    def changes(self):
        current, wanted = self.current(), self.resource
        if wanted["ensure"] == "absent":
            return [] if current is None else [Change("ensure", "present", "absent")]
        if current is None:
            return [Change("ensure", "absent", "present")]
        if wanted.get("gid") is not None and int(current[2]) != wanted["gid"]:
            return [Change("gid", int(current[2]), wanted["gid"])]
        return []

    def apply(self, changes):
        name, gid = self.resource["name"], self.resource.get("gid")
        properties = {change.property for change in changes}
        if self.resource["ensure"] == "absent":
            run_checked(self.ctx, ["groupdel", name])
        elif "ensure" in properties:
            argv = ["groupadd"] + (["-g", str(gid)] if gid is not None else [])
            argv += ["-r"] if self.resource["system"] else []
            run_checked(self.ctx, argv + [name])
        elif "gid" in properties:
            run_checked(self.ctx, ["groupmod", "-g", str(gid), name])
        forget_cached_ids()


class GroupType(ResourceType):
    name = "group"
    params = [
        Param("name", str, check=account_name, doc="the group name (the title)"),
        ensure_param(),
        Param("gid", int, None, check=non_negative, doc="numeric group id (chosen by groupadd if unset)"),
        Param("system", bool, False, doc="a system group (gid from the system range) when created"),
    ]
    providers = [GroupaddProvider]


TYPE = GroupType
