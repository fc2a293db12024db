"""Shared by file, directory and link: paths, owners, groups and modes on POSIX systems."""
import contextlib
import functools
import os

from confrt.engine.params import Param
from confrt.resources.base import Change, Creates, ResourceFailed, format_ref, octal_mode, owner_group_autorequires


def absolute_path(value):
    """Param check: an absolute, normalised path."""
    if not value.startswith("/"):
        raise ValueError(f"expected an absolute path, got {value!r}")
    normal = os.path.normpath(value)
    return "/" if normal == "//" else normal


def path_params(kind):
    """path (the namevar) and ensure: the first params of file, directory and link."""
    return [
        Param("path", str, required=True, doc=f"absolute path of the {kind}", check=absolute_path),
        Param("ensure", str, "present", f"present (a {kind}) or absent", choices=("present", "absent")),
    ]


#: the largest uid or gid: chown(2) reads (uid_t) -1 = 4294967295 as "leave it"
MAX_ID = 4294967294


def account(value):
    """Param check of owner and group: a name, or a number from 0 to MAX_ID (as a number or digits);
    a larger one made chown raise OverflowError, a negative one left the owner unchanged."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        if not value or value.startswith("-") and value[1:].isdigit():
            raise ValueError(f"expected a name or a number from 0 to {MAX_ID}, got {value!r}")
        return value
    if not 0 <= int(value) <= MAX_ID:
        raise ValueError(f"expected a name or a number from 0 to {MAX_ID}, got {value!r}")
    return value


def ownership_params():
    """mode, owner, group: the metadata params of file and directory."""
    return [
        Param("mode", (str, int), None, "permission bits as an octal string, e.g. '0644'", check=octal_mode),
        Param("owner", (str, int), None, "user name or uid", check=account),
        Param("group", (str, int), None, "group name or gid", check=account),
    ]


def path_autorequires(resource):
    """The managed parent directories (every ancestor: only managed ones become edges), whatever
    else creates the parent (a user's home), the mount the path lies under, and the owners."""
    refs = []
    path = os.path.dirname(resource["path"])
    while path and path != "/":
        refs.append(format_ref("directory", path))
        path = os.path.dirname(path)
    return refs + [Creates(os.path.dirname(resource["path"])), enclosing_mount(resource["path"])] + \
        owner_group_autorequires(resource)


def check_creatable(resource, ctx):
    """Before a path is created (noop or not), what the real run would fail on: a parent directory
    that does not exist and that no resource of this run creates first, an owner or a group that
    does not exist and that the catalog does not create. Raises ResourceFailed."""
    path = resource["path"]
    parent = os.path.dirname(path)
    if not os.path.isdir(parent) and not ctx.will_exist(parent):
        problem = "is not a directory" if os.path.lexists(parent) else \
            "does not exist and no resource creates it (declare it as a directory)"
        raise ResourceFailed(f"cannot create {path}: {parent} {problem}")
    for attr, kind in (("owner", "user"), ("group", "group")):
        if resource.get(attr) is not None:
            resolve_id(kind, resource[attr], ctx)


def enclosing_mount(path):
    """mount[...] of every mount point strictly above `path`, longest first: a tuple of
    alternatives, so only the nearest managed mount becomes an edge (see Catalog.finalize)."""
    return _mounts_from(os.path.dirname(path)) if path != "/" else ()


@functools.lru_cache(maxsize=4096)
def _mounts_from(folder):
    """mount refs of folder and each folder above it (shared by the files of one folder)."""
    return (format_ref("mount", folder),) + (_mounts_from(os.path.dirname(folder)) if folder != "/" else ())


@functools.cache
def _uid(name):
    import pwd

    return pwd.getpwnam(name).pw_uid


@functools.cache
def _gid(name):
    import grp

    return grp.getgrnam(name).gr_gid


def declared(ctx, kind, name):
    """The catalog's user[name] or group[name] (kind) that makes the account exist, or None (also
    when it is declared ensure absent)."""
    resource = ctx.catalog.get(format_ref(kind, name)) if ctx.catalog is not None else None
    return resource if resource is not None and resource["ensure"] != "absent" else None


def resolve_id(kind, value, ctx, attr=None):
    """uid/gid of an owner/group; None when it does not exist yet but the catalog creates it.

    attr names the attribute in the error (default 'owner' or 'group')."""
    if isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    try:
        return _uid(value) if kind == "user" else _gid(value)
    except KeyError:
        if declared(ctx, kind, value) is not None:
            return None
        attr = attr or ("owner" if kind == "user" else "group")
        raise ResourceFailed(f"{attr}: no {kind} named {value!r}") from None


def forget_ids():
    """Drop cached user/group lookups (after user or group resources changed them)."""
    _uid.cache_clear()
    _gid.cache_clear()


def metadata_changes(resource, stat, ctx):
    """Changes of mode/owner/group of an existing path (stat: its lstat result)."""
    changes = []
    mode = resource.get("mode")
    if mode is not None and (stat.st_mode & 0o7777) != int(mode, 8):
        changes.append(Change("mode", "%04o" % (stat.st_mode & 0o7777), mode))
    for attr, kind, current in (("owner", "user", stat.st_uid), ("group", "group", stat.st_gid)):
        wanted = resource.get(attr)
        if wanted is None:
            continue
        wanted_id = resolve_id(kind, wanted, ctx)
        if wanted_id != current:
            changes.append(Change(attr, _name_of(kind, current), wanted))
    return changes


def _name_of(kind, number):
    import grp
    import pwd

    try:
        return pwd.getpwuid(number).pw_name if kind == "user" else grp.getgrgid(number).gr_name
    except KeyError:
        return number


def wanted_ids(resource, ctx, stat=None):
    """(uid, gid) to give a new or replaced path: the wanted ones, else the current ones, else -1."""
    ids = []
    for attr, kind, index in (("owner", "user", "st_uid"), ("group", "group", "st_gid")):
        wanted = resource.get(attr)
        if wanted is not None:
            number = resolve_id(kind, wanted, ctx)
            if number is None:
                raise ResourceFailed(f"{attr}: {kind} {wanted!r} does not exist")
            ids.append(number)
        else:
            ids.append(getattr(stat, index) if stat is not None else -1)
    return tuple(ids)


def apply_metadata(folder, name, resource, ctx, changes, expect, directory=False):
    """fchown/fchmod for the mode/owner/group changes in `changes`, on the entry `name` of the open
    Folder `folder`, opened without following a link and only while it is `expect` (the lstat
    result changes() saw)."""
    from confrt.util.nofollow import LinkRefused

    names = {change.property for change in changes}
    uid = gid = -1
    if "owner" in names or "group" in names:
        uid, gid = wanted_ids(resource, ctx)
        uid, gid = (uid if "owner" in names else -1), (gid if "group" in names else -1)
    mode = int(resource["mode"], 8) if "mode" in names else None
    try:
        folder.set_metadata(name, mode, uid, gid, expect=expect, directory=directory)
    except LinkRefused as exc:
        raise ResourceFailed(str(exc)) from None
    except OSError as exc:
        raise ResourceFailed(f"cannot change {resource['path']}: {exc.strerror}") from None


def open_parent(path):
    """(Folder, name): the open directory holding `path` (nofollow.open_parent), or (None, name)
    when it does not exist; ResourceFailed naming the link when the way there goes through a link
    that someone besides root can write next to."""
    from confrt.util.nofollow import LinkRefused, open_parent as walk

    try:
        return walk(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, os.path.basename(path)
    except LinkRefused as exc:
        raise ResourceFailed(str(exc)) from None
    except OSError as exc:
        raise ResourceFailed(f"{path}: {exc.strerror}") from None


@contextlib.contextmanager
def examined(resource, ctx, uid=None):
    """(Folder or None, name, lstat or None) of resource's path, the folder open for the block: what
    changes() reads. Warns when someone besides root and `uid` can write the folder (warn_if_open);
    uid defaults to owner_uid() (a link, which has no owner, passes root's)."""
    path = resource["path"]
    folder, name = open_parent(path)
    try:
        stat = entry_stat(folder, name, path, ctx)
        if folder is not None:
            warn_if_open(ctx, folder, owner_uid(resource, ctx, stat) if uid is None else uid)
        yield folder, name, stat
    finally:
        if folder is not None:
            folder.close()


def entry_stat(folder, name, path, ctx=None):
    """lstat of the entry `name` of `folder` (None: the folder is missing), or what made_before()
    says of a path that does not exist."""
    info = folder.entry(name) if folder is not None else None
    return info if info is not None else made_before(path, ctx)


def owner_uid(resource, ctx, stat=None):
    """The uid the resource wants (or the one it has, or root's) (who may write its folder unsaid)."""
    wanted = resource.get("owner")
    if wanted is not None:
        number = resolve_id("user", wanted, ctx)
        if number is not None:
            return number
    return stat.st_uid if stat is not None else 0


def managed(ctx, path):
    """True when the catalog makes or manages the directory `path` (a directory, a user's home)."""
    catalog = getattr(ctx, "catalog", None)
    return catalog is not None and (catalog.has(format_ref("directory", path)) or catalog.creator(path) is not None)


def warn_if_open(ctx, folder, uid=None):
    """Warn (once a run) when `folder` is writable by someone besides root and `uid` and the
    catalog does not manage it: a link there is never followed, and its owner decides what is in it."""
    from confrt.util.nofollow import describe

    others = folder.open_to_others(uid)
    if others and hasattr(ctx, "warn") and not managed(ctx, folder.path):
        ctx.warn(f"{folder.path} is writable by {describe(others)} and not managed: confrt follows no link there")


def check_links(folder, path, stat, changes):
    """An existing file with other hard links, in a folder someone besides root can write: one of
    them may be someone else's file; its owner and mode are not changed in place."""
    from confrt.util.nofollow import describe

    if stat is None or stat.st_nlink < 2 or not changes or folder is None or not folder.writers():
        return
    properties = {change.property for change in changes}
    if properties & {"mode", "owner", "group"} and not properties & {"content", "ensure"}:
        raise ResourceFailed(f"{path} has {stat.st_nlink} hard links and {folder.path} is writable by "
                             f"{describe(folder.writers())}: not changing its owner or mode in place")


def made_before(path, ctx):
    """In a noop, the stat of a folder a step before the apply would have made (ctx.made_before),
    else None."""
    mode = ctx.made_before.get(path) if ctx is not None and ctx.noop else None
    if mode is None:
        return None
    import stat

    return os.stat_result((stat.S_IFDIR | mode, 0, 0, 2, os.getuid(), os.getgid(), 0, 0, 0, 0))
