"""Helpers shared by the system resource types (not a type: the name starts with '_').

Commands that must succeed, text files edited in place with their owner and
mode kept, and the one Change shape used for a file's new content.
"""
from confrt.resources.base import Change, Param, ResourceFailed


def run_checked(ctx, argv, input=None):
    """ctx.run(argv); ResourceFailed with the command's last output line when it fails.

    Secrets must go through `input`, never argv: argv is shown in the error.
    """
    result = ctx.run(argv, input=input) if input is not None else ctx.run(argv)
    if not result.ok:
        raise ResourceFailed(result.describe())
    return result


def read_text(path, ctx=None):
    """The file's text, or None when it does not exist.

    The way there follows no link that someone besides root can write next to (ResourceFailed
    naming it); with ctx, a folder that someone besides root and the file's owner can write, and
    that the catalog does not manage, is warned of (_posix.warn_if_open)."""
    from confrt.util.nofollow import LinkRefused, locate

    try:
        folder, name, info = locate(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ResourceFailed(exc.strerror if isinstance(exc, LinkRefused) else
                             f"cannot read {path}: {exc.strerror}") from None
    with folder:
        if ctx is not None:
            from confrt.resources._posix import warn_if_open

            warn_if_open(ctx, folder, info.st_uid if info is not None else 0)
        if info is None:
            return None
        try:
            return folder.read(name, expect=info).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ResourceFailed(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def read_planned(ctx, path):
    """The file's text as this run leaves it so far: in noop, what earlier resources would have written.

    Several resources may edit one file (sysctl lines, keys, fstab lines); a noop
    must show what the real run does, so each sees its predecessors' planned text.
    """
    planned = getattr(ctx, "planned_files", None)
    if ctx.noop and planned and path in planned:
        return planned[path]
    return read_text(path, ctx)


def plan_text(ctx, path, text):
    """Remember the text a noop resource would write to path (see read_planned)."""
    if ctx.noop:
        if getattr(ctx, "planned_files", None) is None:
            ctx.planned_files = {}
        ctx.planned_files[path] = text


def first_plan(ctx, key):
    """False when this noop already planned `key` (say, fixing a file's mode) for an earlier resource:
    the real run makes that change once, so the noop must report it once too."""
    if not ctx.noop:
        return True
    if getattr(ctx, "planned_once", None) is None:
        ctx.planned_once = set()
    if key in ctx.planned_once:
        return False
    ctx.planned_once.add(key)
    return True


def content_change(path, old, new, sensitive=False, shared=False):
    """Change('content') of a text file (old None: created), with a unified diff unless sensitive;
    shared: a file other resources may edit too (a sysctl.d file, fstab), whose diff the report
    shows once per run (Change.edit) in place of one per change."""
    from confrt.resources.file import checksum, unified_diff

    old_bytes, new_bytes = (old or "").encode("utf-8"), new.encode("utf-8")
    message = f"created {path}" if old is None else f"content of {path} changed"
    if shared:
        return Change("content", None if old is None else checksum(old_bytes), checksum(new_bytes),
                      message=message, edit=(path, old, new), sensitive=sensitive)
    return Change("content", None if old is None else checksum(old_bytes), checksum(new_bytes), message=message,
                  diff=unified_diff(old_bytes, new_bytes, path), sensitive=sensitive)


def write_text(path, text, mode=None, uid=-1, gid=-1):
    """Atomically replace a text file; an existing file keeps its mode and owner unless given.

    Written in its folder opened by nofollow (no link someone besides root can write next to is
    followed on the way); the file's own link, root's, is replaced as before, its target's mode
    and owner kept."""
    from confrt.util.atomic import write_into
    from confrt.util.nofollow import locate, open_parent

    try:
        found, _, info = locate(path)
        found.close()
        if info is not None:
            mode = info.st_mode & 0o7777 if mode is None else mode
            uid = info.st_uid if uid == -1 else uid
            gid = info.st_gid if gid == -1 else gid
        folder, name = open_parent(path)
        with folder:
            write_into(folder, name, text.encode("utf-8"), mode=0o644 if mode is None else mode, uid=uid, gid=gid)
    except OSError as exc:
        raise ResourceFailed(f"cannot write {path}: {exc.strerror or exc}") from None


def make_folder(path):
    """The folder `path` and the ones above it, made root's 0755 when missing (nofollow.make_folders)."""
    from confrt.util.nofollow import make_folders

    try:
        make_folders(path)
    except OSError as exc:
        raise ResourceFailed(f"cannot make {path}: {exc.strerror or exc}") from None


def split_lines(text):
    """Lines without their newlines ('' or None -> [])."""
    return (text or "").splitlines()


def join_lines(lines):
    return "".join(line + "\n" for line in lines)


def single_line(value):
    """Param check: a string without newlines."""
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value



def matching(pattern, expected):
    """Param check: the value must match the compiled `pattern`; else 'expected <expected>, got ...'."""

    def check(value):
        if not pattern.match(value):
            raise ValueError(f"expected {expected}, got {value!r}")
        return value

    return check


def ensure_param():
    """The `ensure: present|absent` attribute of most types."""
    return Param("ensure", str, "present", choices=("present", "absent"), doc="present or absent")
