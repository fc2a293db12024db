"""What a tool left on disk: the whole tree (to compare tools) and its inode stamps (to catch rewrites)."""
import os
import stat


def snapshot(root):
    """{relative path: (kind, mode, uid, gid, content bytes or link target)} of everything under root."""
    found = {".": _entry(root)}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, root)] = _entry(path)
    return found


def _entry(path):
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        kind, payload = "link", os.readlink(path)
    elif stat.S_ISDIR(info.st_mode):
        kind, payload = "directory", None
    else:
        kind = "file"
        with open(path, "rb") as handle:
            payload = handle.read()
    return kind, f"{stat.S_IMODE(info.st_mode):04o}", info.st_uid, info.st_gid, payload


def differences(first, second, limit=5):
    """Up to `limit` lines saying how two snapshots differ (empty when they are the same)."""
    lines = []
    for path in sorted(set(first) | set(second)):
        if first.get(path) != second.get(path):
            lines.append(f"{path}: {_show(first.get(path))} != {_show(second.get(path))}")
            if len(lines) == limit:
                break
    return lines


def _show(entry):
    if entry is None:
        return "missing"
    kind, mode, uid, gid, payload = entry
    shown = payload if kind == "link" else (f"{len(payload)} bytes" if payload is not None else "")
    return f"{kind} {mode} {uid}:{gid} {shown}".strip()


def stamps(root):
    """{relative path: (inode, mtime_ns, ctime_ns)}: any write, chmod or replacement changes it."""
    found = {}
    for directory, subdirectories, files in os.walk(root):
        for name in [*subdirectories, *files, "."]:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return found


def touched(before, after):
    """Paths whose stamps differ between two stamps() results (added and removed ones too)."""
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
