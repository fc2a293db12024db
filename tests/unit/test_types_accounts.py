"""user and group: checks (the password hash never shows), database parsing, what would change."""
import pytest
from engine_support import catalog_of, res

from confrt.engine.applier import ApplyContext
from confrt.errors import CompileError
from confrt.facts import Facts
from confrt.resources._accounts import group_members, parse_colon_db
from confrt.resources.base import ResourceFailed
from confrt.resources.group import GroupaddProvider
from confrt.resources.user import UseraddProvider

HASH = "$6$salt$0QwE2dY0ZJ8k2Q0c9c2mQ9v4Qv9oPp7lC8Vn1gF1m4l9oYJz5rXo8u1qR1b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
DATABASES = {
    "passwd": parse_colon_db("alice:x:1001:1001:Alice:/home/alice:/bin/bash\n"),
    "group": parse_colon_db("alice:x:1001:\nwheel:x:10:bob,alice\ncondor:x:990:\nusers:x:100:\n"),
    "shadow": parse_colon_db(f"alice:{HASH}:19000:0:99999:7:::\n"),
}


def _ctx():
    return ApplyContext(Facts.static({"os": {"family": "Debian"}}), "/nonexistent")


def _changes(provider_class, resource):
    return [(c.property, c.old, c.new) for c in provider_class(resource, _ctx(), DATABASES).changes()]


def test_group_members():
    assert group_members(DATABASES["group"]) == {"bob": {"wheel"}, "alice": {"wheel"}}


def test_user_in_sync_and_drifted():
    same = catalog_of(res("user", "alice", uid=1001, home="/home/alice", shell="/bin/bash",
                          groups=["wheel"], password=HASH)).get("user[alice]")
    assert _changes(UseraddProvider, same) == []
    drifted = catalog_of(res("user", "alice", uid=1001, shell="/bin/sh", groups=["condor"],
                             password="$6$other$hash")).get("user[alice]")
    changes = UseraddProvider(drifted, _ctx(), DATABASES).changes()
    assert [(c.property, c.old, c.new) for c in changes[:2]] == [
        ("shell", "/bin/bash", "/bin/sh"), ("groups", ["wheel"], ["condor", "wheel"])]
    password = changes[2]
    assert password.sensitive and "$6$" not in password.message and password.to_dict()["new"] == "[redacted]"


def test_inclusive_membership_and_usermod_options():
    user = catalog_of(res("user", "alice", groups=["users"], membership="inclusive", uid=2000)).get("user[alice]")
    provider = UseraddProvider(user, _ctx(), DATABASES)
    assert ("groups", ["wheel"], ["users"]) in [(c.property, c.old, c.new) for c in provider.changes()]
    assert provider.options({"uid", "groups"}) == ["-u", "2000", "-G", "users"]


def test_new_and_absent_accounts():
    bob = catalog_of(res("user", "bob", gid="condor")).get("user[bob]")
    assert _changes(UseraddProvider, bob) == [("ensure", "absent", "present")]
    gone = catalog_of(res("user", "alice", ensure="absent")).get("user[alice]")
    assert _changes(UseraddProvider, gone) == [("ensure", "present", "absent")]
    condor = catalog_of(res("group", "condor", gid=991)).get("group[condor]")
    assert _changes(GroupaddProvider, condor) == [("gid", 990, 991)]
    assert _changes(GroupaddProvider, catalog_of(res("group", "condor")).get("group[condor]")) == []


def test_plain_password_is_refused_without_showing_it():
    with pytest.raises(CompileError) as error:
        catalog_of(res("user", "alice", password="hunter2secret"))
    assert "expected a crypt hash" in str(error.value) and "hunter2secret" not in str(error.value)


@pytest.mark.parametrize("name", ["Alice", "9lives", "a b", "x" * 40])
def test_bad_names_are_compile_errors(name):
    with pytest.raises(CompileError, match="expected a user/group name"):
        catalog_of(res("user", name))


class _RecordingCtx:
    """Answers getent from DATABASES-like text and records the commands; one database fails."""

    def __init__(self, failing=None):
        self.commands, self.failing = [], failing

    def run(self, argv):
        from confrt.util.proc import CommandResult

        self.commands.append(argv)
        if argv[1] == self.failing:
            return CommandResult(argv, 1, "", "getent: broken\n")
        return CommandResult(argv, 0, "alice:x:1001:\n", "")


def test_prefetch_reads_each_database_once_and_only_what_the_type_needs():
    ctx = _RecordingCtx()
    GroupaddProvider.prefetch([], ctx)
    assert ctx.commands == [["getent", "group"]]
    ctx = _RecordingCtx()
    UseraddProvider.prefetch([catalog_of(res("user", "alice", password=HASH)).get("user[alice]")], ctx)
    assert ctx.commands == [["getent", "passwd"], ["getent", "group"], ["getent", "shadow"]]
    ctx = _RecordingCtx(failing="group")
    with pytest.raises(ResourceFailed, match="getent group exited 1: getent: broken"):
        UseraddProvider.prefetch([], ctx)
    assert ctx.commands == [["getent", "passwd"], ["getent", "group"]]  # the failed one is not run again


def test_primary_group_by_name_or_number():
    def user(gid):
        return catalog_of(res("user", "alice", gid=gid)).get("user[alice]")

    assert _changes(UseraddProvider, user(1001)) == []
    assert _changes(UseraddProvider, user("root")) == [("gid", 1001, "root")]
    with pytest.raises(ResourceFailed, match="^gid: no group named 'no-such-group-x'$"):
        _changes(UseraddProvider, user("no-such-group-x"))


def test_a_group_that_is_not_there_fails_unless_the_catalog_makes_it():
    """useradd -g/-G fail on a group that does not exist: so does reading the user (a noop)."""
    for attrs, problem in (({"groups": ["no-such-group-x"]}, "groups"), ({"gid": "no-such-group-x"}, "gid")):
        new = catalog_of(res("user", "bob", **attrs)).get("user[bob]")
        with pytest.raises(ResourceFailed, match=f"^{problem}: no group named 'no-such-group-x'$"):
            _changes(UseraddProvider, new)
    catalog = catalog_of(res("user", "bob", gid="no-such-group-x", groups=["no-such-group-x"]),
                         res("group", "no-such-group-x"))
    ctx = _ctx()
    ctx.catalog = catalog
    changes = UseraddProvider(catalog.get("user[bob]"), ctx, DATABASES).changes()
    assert [(c.property, c.old, c.new) for c in changes] == [("ensure", "absent", "present")]
    gone = catalog_of(res("user", "bob", gid="no-such-group-x"), res("group", "no-such-group-x", ensure="absent"))
    ctx.catalog = gone
    with pytest.raises(ResourceFailed, match="^gid: no group named 'no-such-group-x'$"):
        UseraddProvider(gone.get("user[bob]"), ctx, DATABASES).changes()
