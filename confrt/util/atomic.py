"""Atomic, durable file replacement.

The new content goes into an unnamed file in the target's directory (O_TMPFILE;
a named temp file where the file system cannot), its owner and mode are set
on its descriptor before any content lands, the content is written and fsynced,
the file gets a temp name and is renamed over the target, and the directory is
fsynced. A process killed at any point leaves the target either wholly old or
wholly new; an unnamed file dies with the process, so a kill leaves a temp file
behind only in the instant between naming it and the rename. A failure removes
the temp file. Temp names start with '.confrt-'; the first write into a
directory removes the ones that killed processes left there (those older than
this process).

Everything happens relative to the directory's descriptor, opened without
following a link that someone besides root can write next to (nofollow): the
target's name is replaced, never written through.
"""
import errno
import os
import time

TEMP_PREFIX = ".confrt-"
_LOADED = time.time()  # temp files changed before this are leftovers of earlier, dead processes
_swept = set()


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_folder(folder):
    """Remove the '.confrt-*' files a killed process left in the open nofollow.Folder `folder`
    (once per process and directory)."""
    key = (folder.info.st_dev, folder.info.st_ino)
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = [entry for entry in os.scandir(folder.fd) if entry.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_ctime < _LOADED and not entry.is_dir(follow_symlinks=False):
                folder.unlink(entry.name)
        except FileNotFoundError:
            pass


def temp_name():
    return f"{TEMP_PREFIX}{os.urandom(6).hex()}"  # what secrets.token_hex does, without its imports


def _open_unnamed(dir_fd):
    """An O_TMPFILE descriptor in the directory dir_fd, or None where the kernel or file system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(".", flag | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _open_named(dir_fd):
    """(descriptor, name) of a new temp file in the directory dir_fd (O_EXCL: never an existing one)."""
    while True:
        name = temp_name()
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                           dir_fd=dir_fd), name
        except FileExistsError:
            continue


def _name_unnamed(fd, dir_fd):
    """Give the unnamed file behind fd a temp name in dir_fd; returns the name."""
    while True:
        name = temp_name()
        try:  # a dir fd makes os.link use linkat, whose AT_SYMLINK_FOLLOW resolves /proc's fd link
            os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
            return name
        except FileExistsError:
            continue


def write_into(folder, name, data, mode=0o644, uid=-1, gid=-1):
    """Replace the entry `name` of the open nofollow.Folder `folder` with bytes `data`, owned
    uid:gid (-1 keeps ours), with `mode`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    sweep_folder(folder)
    fd, temp = _open_unnamed(folder.fd), None
    if fd is None:
        fd, temp = _open_named(folder.fd)
    try:
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        if temp is None:
            temp = _name_unnamed(fd, folder.fd)  # back to back with the rename: see the docstring
        os.rename(temp, name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
        temp = None
        folder.sync()
    except BaseException:
        if temp is not None:
            try:
                folder.unlink(temp)
            except FileNotFoundError:
                pass
        raise
    finally:
        os.close(fd)


def atomic_write(path, data, mode=0o644, uid=-1, gid=-1):
    """Replace `path` with bytes `data`, owned uid:gid (-1 keeps ours), with `mode`."""
    from confrt.util.nofollow import open_parent

    folder, name = open_parent(path)
    with folder:
        write_into(folder, name, data, mode, uid, gid)


def folders_made(path, mode=0o777):
    """{folder: permission bits} of the folders os.makedirs(path, mode) would make now: `path`
    gets `mode`, the missing folders above it 0o777 (Python 3.7+), each less the umask. What a
    noop needs to know of a step it does not take."""
    umask = os.umask(0o22)
    os.umask(umask)
    made, path, bits = {}, os.path.abspath(path), mode
    while not os.path.isdir(path) and path != os.path.dirname(path):
        made[path] = bits & ~umask
        path, bits = os.path.dirname(path), 0o777
    return made


def read_bytes(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
