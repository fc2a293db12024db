"""Atomic, durable file replacement.

A temp file is created in the target's directory, its owner and mode are set
before any content lands, the content is written and fsynced, the temp file is
renamed over the target and the directory is fsynced. A process killed at any
point leaves the target either wholly old or wholly new; a failure removes the
temp file. Temp names start with '.confrt-' so leftovers are easy to find.
"""
import os
import tempfile

TEMP_PREFIX = ".confrt-"


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data, mode=0o644, uid=-1, gid=-1):
    """Replace `path` with bytes `data`, owned uid:gid (-1 keeps ours), with `mode`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
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
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def read_bytes(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
