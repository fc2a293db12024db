"""Parsed YAML files kept between runs, so that an unchanged file costs neither PyYAML's
import (~15 ms) nor its parse.

One entry file per source file, in /var/cache/confrt/yaml/ for root (else
~/.cache/confrt/yaml/; CONFRT_PARSE_CACHE names another folder, or `off`), named
after the source's path. An entry holds the source's whole text and its parsed
data (marshal, with a CRC); the data is used only when the source's text, read
again in full, is the same, so no clock or stat subtlety can serve stale data.
A run reads only the entries of the files it reads. An entry is believed only
when it is a regular file owned by this user and writable by nobody else; it is
written (0600, atomically) when its source was parsed anew, removed when its
source no longer parses, cannot be read, grew too large or holds data marshal
cannot keep (YAML timestamps), and the first use in a run removes the entries of
sources that are gone.
Entries hold what the sources hold (local_data's secrets too), as private as
local_data itself.
"""
import os
import sys

VARIABLE = "CONFRT_PARSE_CACHE"
FORMAT = 3                 # raise it when load_yaml's results change (3: limits, duplicate keys)
MAX_TEXT = 4 << 20         # a larger source is parsed every time
MAX_ENTRY = 4 * MAX_TEXT   # an entry file larger than this is not read
PREFIX = "%2F"             # every entry's name: its source's absolute path, '/' as %2F
TEMP_PREFIX = ".new-"

_header = None


def directory():
    """The cache folder of this process, or None when it has none."""
    chosen = os.environ.get(VARIABLE)
    if chosen:
        return None if chosen == "off" else os.path.abspath(chosen)
    if os.geteuid() == 0:
        return "/var/cache/confrt/yaml"
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.environ["HOME"], ".cache")
                                                if os.environ.get("HOME") else None)
    return os.path.join(base, "confrt", "yaml") if base else None


def parsed(path, text, parse):
    """parse() of `text`, the content of the file at absolute `path`: from its entry when the
    text is the same."""
    folder = directory()
    entry = _entry_path(folder, path) if folder else None
    if entry is None:
        return parse()
    sweep(folder)
    if len(text) > MAX_TEXT:
        _remove(entry)  # parsed every time: no entry, and no copy of an older text
        return parse()
    stored = _read(entry)
    if stored is not None and stored[0] == text:
        import marshal

        try:
            return marshal.loads(stored[1])
        except (ValueError, EOFError, TypeError):
            pass
    try:
        data = parse()
    except BaseException:
        _remove(entry)  # no copy of a text that no longer parses (it may hold an old secret)
        raise
    _write(folder, entry, text, data)
    return data


def forget(path):
    """Remove the entry of `path` (a file that can no longer be read)."""
    folder = directory()
    entry = _entry_path(folder, path) if folder else None
    if entry is not None:
        _remove(entry)


def _entry_path(folder, path):
    name = path.replace("%", "%25").replace("/", "%2F")
    return os.path.join(folder, name) if len(name.encode("utf-8", "surrogateescape")) <= 255 else None


def _source_of(name):
    return name.replace("%2F", "/").replace("%25", "%")


def header():
    """What the parse depends on besides the text: this format, confrt, Python and PyYAML's files."""
    global _header
    if _header is None:
        from confrt import __version__

        _header = (FORMAT, __version__, tuple(sys.version_info[:2]), _pyyaml_stamp())
    return _header


def _pyyaml_stamp():
    """Where PyYAML is and when it was installed, without importing it (an upgrade changes it)."""
    for folder in sys.path:
        try:
            info = os.stat(os.path.join(folder or ".", "yaml", "__init__.py"))
        except OSError:
            continue
        return os.path.abspath(folder or "."), info.st_mtime_ns, info.st_size
    return None


def _read(entry):
    """(text, marshalled data) of an entry we can trust, or None."""
    import stat

    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022 \
                or info.st_size > MAX_ENTRY:
            return None  # somebody else could have written it, or it is no entry of ours
        with open(fd, "rb", closefd=False) as handle:
            raw = handle.read()
        import marshal
        import zlib

        stored_header, text, crc, blob = marshal.loads(raw)
        if stored_header != header() or zlib.crc32(blob) != crc:
            return None
        return text, blob
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        os.close(fd)


def _write(folder, entry, text, data):
    """Keep (text, data) as the entry; a failure only means no cache."""
    import marshal
    import zlib

    try:
        blob = marshal.dumps(data)
    except ValueError:  # a date, or another type marshal cannot hold
        _remove(entry)
        return
    content = marshal.dumps((header(), text, zlib.crc32(blob), blob))
    if len(content) > MAX_ENTRY:
        _remove(entry)
        return
    temp = os.path.join(folder, f"{TEMP_PREFIX}{os.urandom(6).hex()}")
    try:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:  # the first run: /var/cache/confrt is made private too
            os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
            os.mkdir(folder, 0o700)
        # not util.atomic: a cache needs no fsync (a torn entry fails its CRC)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with open(fd, "wb", closefd=False) as handle:
                handle.write(content)
        finally:
            os.close(fd)
        os.replace(temp, entry)
    except OSError:
        _remove(temp)


_swept = set()


def sweep(folder):
    """Once per process: remove the entries of sources that are gone, and temp files a killed
    run left (only ours: the folder may be shared)."""
    if folder in _swept:
        return
    _swept.add(folder)
    import time

    try:
        names = os.listdir(folder)
    except OSError:
        return
    uid, stale = os.geteuid(), time.time() - 600
    for name in names:
        path = os.path.join(folder, name)
        try:
            if name.startswith(PREFIX) and not os.access(_source_of(name), os.F_OK, follow_symlinks=False) \
                    or name.startswith(TEMP_PREFIX) and os.lstat(path).st_mtime < stale:
                if os.lstat(path).st_uid == uid:
                    os.unlink(path)
        except OSError:
            continue


def _remove(entry):
    try:
        os.unlink(entry)
    except OSError:
        pass
