"""The compiled catalog kept between runs, used only when compiling again would give the same one.

A compile is a function of the settings, the files it reads (hiera.yaml, data
files, module code, templates, module files, the Python code it runs), the
paths it finds missing, the facts and the environment variables it reads (the
module contract: modules read nothing else). While compiling, a Recorder notes
all of them: Python's audit hook sees every file opened and folder listed, a
wrapper of os.stat/lstat every existence check, RecordedFacts every fact read
and RecordedEnviron every variable read, with their values. The next run stats
those paths, recomputes those facts and compares those variables; when all
agree, it unpickles the catalog instead of parsing data, importing Jinja2,
running modules and rendering templates (on the 221-resource benchmark that is
most of a converged run). A compile that reaches outside (a socket, a
subprocess, /proc, /sys, /dev), writes a file, or lists or sets the environment
is never cached. The clock is not seen: a module must not read it.

A catalog with a value in a sensitive attribute is not cached: secrets never
reach statedir. The file (statedir/catalog.cache, 0600) is used only when owned
by this user and writable by nobody else. CONFRT_CATALOG_CACHE=off disables it.
"""
import os
import sys
from collections.abc import MutableMapping

from confrt.facts.names import split_name

CACHE_FILE = "catalog.cache"
FORMAT = 4
DISABLE_VARIABLE = "CONFRT_CATALOG_CACHE"
OWN_VARIABLES = (DISABLE_VARIABLE, "CONFRT_CONFIG", "CONFRT_PARSE_CACHE")
OUTSIDE = ("/proc/", "/sys/", "/dev/")
OUTSIDE_EVENTS = ("subprocess.", "socket.", "urllib.", "http.client.", "ftplib.", "smtplib.", "os.system",
                  "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "ctypes.")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_STAT, _LSTAT = os.stat, os.lstat  # the real ones: os.stat/os.lstat are wrapped while recording


def signature(path, follow=True):
    """What changes when the path's content, kind or entries change; None when it does not exist."""
    try:
        info = _STAT(path) if follow else _LSTAT(path)
    except OSError:
        return None
    return info.st_mode, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class Recorder:
    """Notes what a compile depends on; `problem` says why it cannot be cached."""

    def __init__(self):
        from confrt.util import parse_cache

        # the parse cache's entries are no input of the compile: the data files they stand for are
        # (and its once-per-run sweep, which lists its folder, is done before recording)
        self.ignored = parse_cache.directory()
        if self.ignored:
            parse_cache.sweep(self.ignored)
        self.paths = {}      # (path, follow symlinks) -> signature
        self.facts = {}      # (method, args) -> result of every fact read
        self.environ = {}    # environment variable -> its value (None: unset) when the compile read it
        self.used_cwd = False  # a relative path was read: the working folder is an input too
        self.module_facts = {}  # module fact -> ((module name, path, code file, params), value)
        self.warnings = []
        self.problem = None
        self.quiet = 0       # > 0 while facts are computed: they are recorded by value instead

    def note_path(self, path, follow=True):
        path = os.fsdecode(path)
        if not os.path.isabs(path):
            self.used_cwd = True
        path = os.path.abspath(path)
        if self.is_ignored(path):
            return
        if path.endswith(".pyc"):  # an import read the bytecode: what counts is its source
            import importlib.util

            try:
                path = importlib.util.source_from_cache(path)
            except ValueError:
                pass
        if path.startswith(OUTSIDE):
            self.refuse(f"read {path}")
        elif (path, follow) not in self.paths:
            self.paths[path, follow] = signature(path, follow)

    def is_ignored(self, path):
        if self.ignored is None or path is None:
            return False
        from confrt.util.parse_cache import is_entry

        return is_entry(os.path.abspath(os.fsdecode(path)), self.ignored)

    def refuse(self, why):
        if self.problem is None:
            self.problem = why

    def audit(self, event, args):
        if self.quiet:
            return
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int) or self.is_ignored(path):
                return
            if (mode and any(c in mode for c in "wax+")) or (flags or 0) & _WRITE_FLAGS:
                if not _is_bytecode(os.fsdecode(path)):  # an import caching its .pyc changes nothing
                    self.refuse(f"wrote {os.fsdecode(path)}")
            else:
                self.note_path(path)
        elif event in ("os.listdir", "os.scandir"):
            path = args[0]
            if not isinstance(path, int) and not self.is_ignored(path):
                self.note_path("." if path is None else path)
        elif event.startswith(OUTSIDE_EVENTS):
            self.refuse(f"used {event}")

    def warn(self, message):
        self.warnings.append(message)

    def note_environ(self, name, value):
        # a fact reading it is recomputed by valid() anyway; confrt's own variables choose files
        # and caches, and what the compile read from those is recorded
        if not self.quiet and name not in OWN_VARIABLES:
            self.environ.setdefault(name, value)


def _is_bytecode(path):
    prefix = getattr(sys, "pycache_prefix", None)
    return "__pycache__" in path.split(os.sep) or bool(prefix and path.startswith(prefix))


_recorder = None


def _audit_hook(event, args):
    if _recorder is not None:
        _recorder.audit(event, args)


def _note_stat(path, dir_fd, follow):
    if _recorder is not None and not _recorder.quiet and not isinstance(path, int):
        if dir_fd is not None:
            _recorder.refuse("stat relative to a folder descriptor")
        else:
            _recorder.note_path(path, follow)


def _stat(path, *, dir_fd=None, follow_symlinks=True):
    """os.stat while recording: an existence check is a dependency too."""
    _note_stat(path, dir_fd, follow_symlinks)
    return _STAT(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)


def _lstat(path, *, dir_fd=None):
    _note_stat(path, dir_fd, False)
    return _LSTAT(path, dir_fd=dir_fd)


class recording:
    """Context manager: the Recorder notes what runs inside (one at a time per process)."""

    _hooked = False

    def __init__(self, recorder):
        self.recorder = recorder

    def __enter__(self):
        global _recorder
        if _recorder is not None:
            raise RuntimeError("a compile is already being recorded")  # one at a time per process
        if not recording._hooked:
            sys.addaudithook(_audit_hook)  # permanent: it does nothing when no recorder is set
            recording._hooked = True
        for module in list(sys.modules.values()):  # the code already loaded counts too
            source = getattr(module, "__file__", None)
            if isinstance(source, str):
                self.recorder.note_path(source)
        os.stat, os.lstat = _stat, _lstat
        self.environ, os.environ = os.environ, RecordedEnviron(os.environ, self.recorder)
        _recorder = self.recorder
        return self.recorder

    def __exit__(self, *exc):
        global _recorder
        _recorder = None
        os.stat, os.lstat = _STAT, _LSTAT
        os.environ = self.environ  # noqa: B003  (the same object back, not a new environment)
        return False


class RecordedEnviron(MutableMapping):
    """os.environ (and so os.getenv) while a compile is recorded: each variable read is noted
    with its value, so that a run under cron does not reuse a catalog a shell's environment made."""

    def __init__(self, environ, recorder):
        self._environ = environ
        self._recorder = recorder

    def __getitem__(self, name):
        value = self._environ.get(name)
        self._recorder.note_environ(name, value)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self):
        if not self._recorder.quiet:
            self._recorder.refuse("listed the environment")
        return iter(self._environ)

    def __len__(self):
        return len(self._environ)

    def __setitem__(self, name, value):
        self._recorder.refuse(f"set the environment variable {name}")
        self._environ[name] = value

    def __delitem__(self, name):
        self._recorder.refuse(f"unset the environment variable {name}")
        del self._environ[name]

    def copy(self):
        return dict(self.items())  # depends on every variable: refused as a listing


class RecordedFacts:
    """The run's Facts for the compile: every read is noted with its result (replayed by valid()).

    A fact a module publishes (its FACTS) is computed from the module's params (from
    the data, recorded as files) and the host (ephemeral_disk looks at /dev and
    /sys): its own reads are not recorded, its value is, with what valid() needs to
    compute it again (the module's code file and the params).
    """

    def __init__(self, facts, recorder):
        self._facts = facts
        self._recorder = recorder

    def register_module_fact(self, name, function, module, params):
        """Register a module fact: computed on first read, recorded by value and recipe."""
        def compute():
            self._recorder.quiet += 1
            try:
                value = function()
            finally:
                self._recorder.quiet -= 1
            if module.code_file is None:
                self._recorder.refuse(f"module {module.name} publishes facts without a code file")
            self._recorder.module_facts[name] = ((module.name, module.path, module.code_file, params), value)
            return value

        self._facts.register(name, compute)

    def _read(self, method, *args):
        self._recorder.quiet += 1
        try:
            result = _call(self._facts, method, args)
        finally:
            self._recorder.quiet -= 1
        if not (args and split_name(str(args[0]))[0] in self._recorder.module_facts):
            self._recorder.facts[method, args] = result  # a module fact's inputs were recorded instead
        return _raised(result)

    def get(self, name, default=None):
        value = self._read("get", name)
        return default if value is None else value

    def __getitem__(self, name):
        return self._read("__getitem__", name)

    def __contains__(self, name):
        return self._read("__contains__", name)

    def names(self):
        return self._read("names")

    def to_dict(self):
        return self._read("to_dict")

    def view(self):
        from confrt.facts.view import FactsView

        return FactsView(self, self._facts.view().partial)

    def __getattr__(self, name):
        self._recorder.refuse(f"facts.{name} used")
        return getattr(self._facts, name)


def _raised(result):
    if isinstance(result, KeyError):
        raise KeyError(*result.args)
    return result


def _call(facts, method, args):
    try:
        return getattr(facts, method)(*args)
    except KeyError as exc:
        return exc


def _same(first, second):
    if isinstance(first, KeyError) or isinstance(second, KeyError):
        return isinstance(first, KeyError) and isinstance(second, KeyError) and first.args == second.args
    return first == second


def holds_secrets(catalog):
    """True when a resource has a value in a sensitive attribute."""
    return any(resource.attrs.get(name) not in (None, "", [], {})
               for resource in catalog.order for name in resource.sensitive)


def key(config, extra_data=None, facts_file=None):
    """What must be equal besides the recorded inputs: format, confrt and Python versions, the
    settings, and where imports come from (sys.path; '' is the working folder)."""
    from confrt import __version__

    return repr((FORMAT, __version__, sys.version, sorted(config.as_dict().items()), extra_data, facts_file,
                 [os.path.abspath(folder) for folder in sys.path]))


def valid(entry, facts, expected_key):
    """True when the cached entry was compiled from what this run would compile from."""
    if entry.get("key") != expected_key:
        return False
    for (path, follow), recorded in entry["paths"].items():
        if signature(path, follow) != recorded:
            return False
    if any(os.environ.get(name) != value for name, value in entry["environ"].items()):
        return False
    if entry["cwd"] is not None and entry["cwd"] != os.getcwd():
        return False
    modules = {}  # one load of each module's code, however many facts it publishes
    if not all(_module_fact_now(name, recipe, facts, modules) == value
               for name, (recipe, value) in entry["module_facts"].items()):
        return False
    return all(_same(_call(facts, method, args), result) for (method, args), result in entry["facts"].items())


def _module_fact_now(name, recipe, facts, modules):
    """A module fact computed again from its module's code (loaded once into `modules`) and the
    recorded params (a KeyError, never equal to a value, when that fails)."""
    from confrt.engine.module import Module

    module_name, path, code_file, params = recipe
    try:
        module = modules.get(code_file) or modules.setdefault(
            code_file, Module(module_name, path=path, code_file=code_file))
        return module.facts[name](facts, params)
    except Exception as exc:  # noqa: BLE001  whatever went wrong, the cached catalog is not used
        return KeyError(f"{name}: {exc}")


def read(path):
    """The cached entry, or None (absent, unreadable, foreign-owned or others can write it)."""
    import pickle

    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return None
            return pickle.load(handle)
    except Exception:  # noqa: BLE001  a damaged or old cache is only a cache miss
        return None


def write(path, entry):
    import pickle

    from confrt.util.atomic import atomic_write

    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    atomic_write(path, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600)


def compiled(config, facts, compile, warn, extra_data=None, facts_file=None):
    """The catalog: from statedir/catalog.cache when it is still exact, else compile(facts, warn) (cached).

    compile(facts, warn) -> a finalized Catalog; warnings of a cached compile are shown again.
    """
    from confrt.engine.plugins import resource_types

    if os.environ.get(DISABLE_VARIABLE, "").lower() in ("off", "0", "no", "false"):
        return compile(facts, warn)
    path = os.path.join(config.statedir, CACHE_FILE)
    expected = key(config, extra_data, facts_file)
    entry = read(path)
    if entry is not None and valid(entry, facts, expected):
        for message in entry["warnings"]:
            warn(message)
        catalog = entry["catalog"]
        catalog.types = resource_types()
        return catalog
    recorder = Recorder()
    with recording(recorder):
        catalog = compile(RecordedFacts(facts, recorder), recorder.warn)
    for message in recorder.warnings:
        warn(message)
    if holds_secrets(catalog):
        recorder.refuse("the catalog holds sensitive values")  # they stay out of statedir
    types, catalog.types = catalog.types, None
    try:
        if recorder.problem is None:
            write(path, {"key": expected, "paths": recorder.paths, "facts": recorder.facts,
                         "environ": recorder.environ, "cwd": os.getcwd() if recorder.used_cwd else None,
                         "module_facts": recorder.module_facts,
                         "warnings": recorder.warnings, "catalog": catalog})
        elif os.path.exists(path):
            os.unlink(path)
    except OSError:
        pass  # a statedir this user cannot write (a noop run as another user): no cache, same catalog
    finally:
        catalog.types = types
    return catalog
