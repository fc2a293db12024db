"""Parsed YAML files kept between runs, so that an unchanged file costs neither PyYAML's
import (~15 ms) nor its parse.

Each entry holds a file's whole text and its parsed data (marshal); the data is
used only when the file's text, read again in full, is the same, so no clock or
stat subtlety can serve stale data. Data marshal cannot hold (YAML timestamps)
is not kept. The cache is one file, written (atomically, 0600) only after a run
parsed something new: /var/cache/confrt/yaml.cache for root, else
~/.cache/confrt/yaml.cache; it is read only when owned by this user and writable
by nobody else. It holds what the files hold (local_data's secrets too), as
private as local_data itself; an entry is replaced when its file changes and
dropped when it is gone. CONFRT_PARSE_CACHE names another file, or `off`.
"""
import os
import sys

VARIABLE = "CONFRT_PARSE_CACHE"
FORMAT = 1
MAX_ENTRIES = 256
MAX_TEXT = 4 << 20        # a larger file is parsed every time
MAX_TOTAL = 32 << 20      # texts kept in all; the least recently used go first

_entries = None           # path -> (text, marshalled data), least recently used first
_dirty = False


def location():
    """The cache file of this process, or None when it has none."""
    chosen = os.environ.get(VARIABLE)
    if chosen:
        return None if chosen == "off" else os.path.abspath(chosen)
    if os.geteuid() == 0:
        return "/var/cache/confrt/yaml.cache"
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.environ["HOME"], ".cache")
                                                if os.environ.get("HOME") else None)
    return os.path.join(base, "confrt", "yaml.cache") if base else None


def parsed(path, text, parse):
    """parse() of `text` (the content of `path`), from the cache when the text is the same."""
    import marshal

    entries = load()
    entry = entries.get(path)
    if entry is not None and entry[0] == text:
        entries[path] = entries.pop(path)  # most recently used last
        return marshal.loads(entry[1])
    data = parse()
    blob = None
    if location() is not None and len(text) <= MAX_TEXT:
        try:
            blob = marshal.dumps(data)
        except ValueError:  # a date, or another type marshal cannot hold
            pass
    if blob is not None:
        entries[path] = (text, blob)
        _changed()
    elif entries.pop(path, None) is not None:
        _changed()  # the entry of the file's old text goes
    return data


def _header():
    from confrt import __version__

    return FORMAT, __version__, tuple(sys.version_info[:2])


def load():
    """The entries, read once per process (the catalog cache reads them before it records
    what a compile opens: the cache is not an input of the compile)."""
    global _entries
    if _entries is None:
        _entries = {}
        path = location()
        if path is not None:
            _entries = _read(path)
    return _entries


def _read(path):
    import marshal

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return {}  # somebody else could have written it
        with open(fd, "rb", closefd=False) as handle:
            header, entries = marshal.loads(handle.read())
        return entries if header == _header() and isinstance(entries, dict) else {}
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    finally:
        os.close(fd)


def _changed():
    global _dirty
    if not _dirty:
        import atexit

        atexit.register(save)
        _dirty = True


def save():
    """Write the cache when this process parsed something new; never fails the run."""
    global _dirty
    path = location()
    if not _dirty or path is None:
        return
    _dirty = False
    import marshal

    from confrt.util.atomic import atomic_write

    kept, total = {}, 0
    for name, entry in reversed(list(_entries.items())):
        if not os.path.exists(name):
            continue  # no copy of a removed file's content (it may have held a secret) stays behind
        total += len(entry[0])
        if len(kept) >= MAX_ENTRIES or total > MAX_TOTAL:
            break
        kept[name] = entry
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        atomic_write(path, marshal.dumps((_header(), dict(reversed(list(kept.items()))))), mode=0o600)
    except OSError:
        pass
