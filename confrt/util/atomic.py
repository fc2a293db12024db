"""Atomic, durable file replacement.

The new content goes into an unnamed file in the target's directory (O_TMPFILE;
a named temp file where the file system cannot), its owner and mode are set
before any content lands, the content is written and fsynced, the file gets a
temp name and is renamed over the target, and the directory is fsynced. A
process killed at any point leaves the target either wholly old or wholly new;
an unnamed file dies with the process, so a kill leaves a temp file behind only
in the instant between naming it and the rename. A failure removes the temp
file. Temp names start with '.confrt-'; the first write into a directory removes
the ones that killed processes left there (those older than this process).
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


def sweep_stale_temps(directory):
    """Remove the '.confrt-*' files a killed process left in `directory` (once per process)."""
    if directory in _swept:
        return
    _swept.add(directory)
    try:
        entries = [entry for entry in os.scandir(directory) if entry.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_ctime < _LOADED and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        except FileNotFoundError:
            pass


def _open_unnamed(directory):
    """An O_TMPFILE descriptor in directory, or None where the kernel or file system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _publish_unnamed(fd, directory, path):
    """Name the unnamed file behind fd with a temp name and rename that over path, back to back."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        while True:
            name = f"{TEMP_PREFIX}{os.urandom(6).hex()}"  # what secrets.token_hex does, without its imports
            try:  # a dir fd makes os.link use linkat, whose AT_SYMLINK_FOLLOW resolves /proc's fd link
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
                break
            except FileExistsError:
                continue
        try:
            os.rename(name, os.path.basename(path), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            os.unlink(name, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path, data, mode=0o644, uid=-1, gid=-1):
    """Replace `path` with bytes `data`, owned uid:gid (-1 keeps ours), with `mode`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    sweep_stale_temps(directory)
    fd, tmp = _open_unnamed(directory), None
    if fd is None:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        if tmp is None:
            _publish_unnamed(fd, directory, path)
            return
        os.rename(tmp, path)
        tmp = None
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    finally:
        os.close(fd)
    fsync_dir(directory)


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
