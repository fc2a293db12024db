"""The module contract: a module declares resources from its parameters and the facts.

A module is a folder <modulepath>/<name>/ (name: lower case, digits, '_'):

    module.py         DOC (optional one line), PARAMS, declare(params, facts, ctx),
                      and optionally FACTS (facts the module publishes, below)
    templates/        Jinja2 templates (StrictUndefined), rendered with ctx.template()
    files/            static files, referenced as ctx.file("name") (e.g. a file's `source`)
    data/common.yaml  the module's defaults for its keys (the data store's module layer)
    README.md         what it is for, its parameters, an example

Example, modules/motd/module.py:

    from confrt.engine.module import Param

    DOC = "Message of the day"
    PARAMS = [
        Param("message", str, "Welcome\\n", "text of /etc/motd"),
        Param("api_token", str, None, "token for the status page", sensitive=True),
    ]

    def declare(params, facts, ctx):
        return [
            ctx.resource("file", "/etc/motd",
                         content=ctx.template("motd.j2", host=facts.get("networking.fqdn")),
                         mode="0644"),
            ctx.resource("exec", "refresh-status", command=["/usr/bin/status", "--refresh"],
                         refreshonly=True, subscribe="file[/etc/motd]"),
        ]

Parameter `p` of module `m` is looked up in the data as `m::p` (merged per
lookup_options), checked against its Param and passed in `params` (a dict);
missing values take the Param default. A module never touches the system: it
only returns resources (and may read facts). Values of sensitive parameters are
tracked: any resource attribute containing one is redacted everywhere.

A module can also come from a Python distribution: an entry point in the group
`confrt.modules` names a Python module with the same DOC/PARAMS/declare; its
templates/, files/ and data/ sit beside that Python file. Both kinds are
registered through the hook `confrt_modules` (confrt/engine/hookspecs.py).
PARAMS may instead be a function params() -> [Param] (the `resources` module
builds its params from the registered resource types).

A module whose changes must not outlive it (a firewall table, a mount) may define
declare_absent(params, facts, ctx): the resources that undo it, compiled only when its
class is knocked out (`--name` in `classes`, e.g. from userdata), never merely because
no level names it.

A module publishes facts with FACTS = {"name": function(facts, params) -> value}
(top-level names: lower case, digits, '_'). Every included module's FACTS are
registered before any module's declare() runs, so a fact reads the same for
every module whatever the order of `classes`; each is computed on its first
read (it costs nothing unless read), with the module's own parameters. A fact
given in facts_dir or --facts still wins. Two included modules may not publish
the same name. Example, modules/ephemeral_disk: FACTS = {"ephemeral_disk":
disk_fact}, read by condor and cvmfs as facts.get("ephemeral_disk.mountpoint").

The module API: a module uses confrt only through its `ctx` (ModuleContext, below) and the
names of this file listed in __all__, never through confrt.resources or other internals
(tests/unit/test_module_api.py checks every built-in module):

    Param                       a parameter of PARAMS (confrt.engine.params)
    CompileError                what declare() raises on bad data: one line, file and key first
    absolute_path(value)        Param check: an absolute path, normalised ('/etc//x/' -> '/etc/x')
    resource_type(name)         a registered resource type, to check data with the type's own rules
                                before declaring: .param(attribute).convert(value) (the value as
                                the type takes it, or ValueError), .param(attribute).choices,
                                .validate(attrs) (the checks across attributes, ValueError)
    resource_type_names()       the names of the registered resource types, sorted
    read_text(path)             a local file's text read at compile time (sshkeys: the owner's
                                key), None when it does not exist; no link others could plant is
                                followed; CompileError when it cannot be read
    selinux_labelling(facts)    a RedHat-family host with SELinux enabled: paths off a package's
                                defaults need their file context (selinux_fcontext)
    cache_location(facts, configured, subdir, default), on_scratch(facts, path),
    cache_budget_mb(facts)      caches on the ephemeral disk (confrt/util/scratch_disk.py)
    cache_budget(size_mb, percent, max_mb), DEFAULT_CACHE_PERCENT, DEFAULT_CACHE_MAX_MB
                                the caches' share of a disk, and ephemeral_disk's defaults for it
    csh_quote(value)            a value for csh/tcsh (profile.d/*.csh), read back literally
"""
import functools
import os
import re

from confrt.engine.params import Param
from confrt.errors import CompileError
from confrt.util.scratch_disk import (DEFAULT_CACHE_MAX_MB, DEFAULT_CACHE_PERCENT, cache_budget, cache_budget_mb,
                                      cache_location, on_scratch)
from confrt.util.selinux import labelling as selinux_labelling

#: What module code may import from confrt (the module API; see the docstring above).
__all__ = ["Param", "CompileError", "absolute_path", "resource_type", "resource_type_names", "read_text",
           "selinux_labelling", "cache_location", "on_scratch", "cache_budget_mb", "cache_budget",
           "DEFAULT_CACHE_PERCENT", "DEFAULT_CACHE_MAX_MB", "csh_quote"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def absolute_path(value):
    """Param check: an absolute, normalised path (the resource types' own check)."""
    from confrt.resources._posix import absolute_path as check

    return check(value)


def resource_type(name):
    """The registered resource type `name` (a ResourceType class); CompileError when there is none."""
    from confrt.engine.plugins import resource_types

    found = resource_types().get(name)
    if found is None:
        raise CompileError(f"no resource type named {name!r}")
    return found


def resource_type_names():
    """The names of the registered resource types, sorted."""
    from confrt.engine.plugins import resource_types

    return resource_types().names()


def read_text(path):
    """The text of the file at `path`, or None when it does not exist; CompileError naming the
    problem when it cannot be read (a link someone besides root could have planted on the way)."""
    from confrt.resources._system import read_text as read
    from confrt.resources.base import ResourceFailed

    try:
        return read(path)
    except ResourceFailed as exc:
        raise CompileError(str(exc)) from None


def csh_quote(value):
    """'value' for csh/tcsh, read back literally: a ' is written '\\'', and ! (history substitution,
    even inside quotes) \\!. (POSIX sh: shlex.quote.) ValueError for a newline, which csh cannot quote."""
    if "\n" in value:
        raise ValueError(f"{value!r}: a csh value cannot hold a newline")
    return "'" + value.replace("'", "'\\''").replace("!", "\\!") + "'"


class Module:
    """A module found on the modulepath or through an entry point; loads its code lazily.

    name    the class name used in `classes` and as the key prefix 'name::'
    path    the folder holding templates/, files/, data/ (None if there is none)
    origin  where it came from, for messages ('/etc/confrt/modules/squid', 'entry point x')
    """

    def __init__(self, name, path=None, code_file=None, origin=None, pymodule=None):
        self.name = name
        self.path = path
        self.code_file = code_file or (os.path.join(path, "module.py") if path else None)
        self.origin = origin or path or name
        self._code = pymodule
        self._params = None

    @classmethod
    def from_python_module(cls, name, pymodule, origin=None):
        """A module whose code is an imported Python module (entry points, tests)."""
        code_file = getattr(pymodule, "__file__", None)
        path = os.path.dirname(code_file) if code_file else None
        return cls(name, path=path, code_file=code_file, origin=origin, pymodule=pymodule)

    @property
    def undoes_itself(self):
        """True when the module has declare_absent(): what to declare when its class is knocked out."""
        return callable(getattr(self.code, "declare_absent", None))

    @property
    def data_dir(self):
        """<module>/data when it exists: the data store's module layer for this module."""
        if self.path and os.path.isdir(os.path.join(self.path, "data")):
            return os.path.join(self.path, "data")
        return None

    @property
    def code(self):
        if self._code is None:
            self._code = _import_file(self.name, self.code_file)
        return self._code

    @property
    def doc(self):
        doc = getattr(self.code, "DOC", None) or (self.code.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def params(self):
        """[Param, ...] in declaration order."""
        if self._params is None:
            params = getattr(self.code, "PARAMS", [])
            if callable(params):
                params = params()
            for param in params:
                if not isinstance(param, Param):
                    raise CompileError(f"{self.code_file}: PARAMS holds {param!r}, not a Param")
            self._params = list(params)
        return self._params

    def param(self, name):
        for param in self.params:
            if param.name == name:
                return param
        return None

    @property
    def facts(self):
        """{fact name: function(facts, params) -> value}: the module's FACTS, checked."""
        published = getattr(self.code, "FACTS", {})
        if not isinstance(published, dict) or not all(
                isinstance(name, str) and NAME_PATTERN.match(name) and callable(function)
                for name, function in published.items()):
            raise CompileError(f"{self.code_file}: FACTS: expected a mapping of fact names (lower case, "
                               f"digits, '_') to functions(facts, params)")
        return dict(published)

    def publish_facts(self, facts, params):
        """Register the module's FACTS on `facts`, each computed on its first read."""
        for name, function in self.facts.items():
            compute = functools.partial(self._fact, name, function, facts, params)
            facts.register(name, compute)

    def _fact(self, name, function, facts, params):
        return self._run(f"fact {name} of module {self.name}", function, facts, params)

    def declare(self, params, facts, ctx, function_name="declare"):
        """Call the module's declare() (or declare_absent()); returns its list of Resource."""
        function = getattr(self.code, function_name, None)
        if not callable(function):
            raise CompileError(f"{self.code_file}: module {self.name} has no {function_name}(params, facts, ctx)")
        declared = self._run(f"module {self.name}", lambda: list(function(params, facts, ctx) or []))
        from confrt.resources.base import Resource

        for item in declared:
            if not isinstance(item, Resource):
                raise CompileError(f"{self.code_file}: module {self.name} returned {item!r}, "
                                   f"not a resource (use ctx.resource())")
        return declared

    def _run(self, what, function, *args):
        """function(*args): a bug in the module's code is a CompileError naming its file and line."""
        try:
            return function(*args)
        except CompileError:
            raise
        except Exception as exc:
            raise CompileError(f"{self.code_file}: {what} failed: {_where(exc)}{type(exc).__name__}: {exc}") from None

    def __repr__(self):
        return f"<Module {self.name} from {self.origin}>"


def _where(exc):
    """'line N: ' of the innermost frame of the module's own code, if any."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith("module.py")]
    return f"line {frames[-1].lineno}: " if frames else ""


def _import_file(name, code_file):
    import importlib.util

    if not code_file or not os.path.isfile(code_file):
        raise CompileError(f"module {name}: {code_file or 'no module.py'}: not found")
    spec = importlib.util.spec_from_file_location(f"confrt_module_{name}", code_file)
    pymodule = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(pymodule)
    except SyntaxError as exc:
        raise CompileError(f"{code_file}:{exc.lineno}: syntax error: {exc.msg}") from None
    except CompileError:
        raise
    except Exception as exc:
        raise CompileError(f"{code_file}: cannot load module {name}: {type(exc).__name__}: {exc}") from None
    return pymodule


#: Folders every Linux system has (FHS): ctx.directories() never declares them. The other folders
#: a module writes into are its own (declared, ancestors too, so a fresh host needs nothing
#: made by hand) or another package's (/etc/sudoers.d, /etc/profile.d: not declared; where one is
#: missing its files fail, in a noop too).
BASE_DIRECTORIES = frozenset([
    "/", "/etc", "/home", "/opt", "/root", "/run", "/srv", "/tmp", "/usr", "/usr/lib", "/usr/libexec",
    "/usr/local", "/usr/share", "/var", "/var/cache", "/var/lib", "/var/log", "/var/spool",
])


class ModuleContext:
    """What declare(params, facts, ctx) gets as ctx: builds resources, renders templates.

    ctx.resource(type, title, **attrs)   a Resource declared by this module; attributes
                                         that are not Python names go in attrs={...};
                                         declared_by="FILE: KEY" names the data that declared it
                                         in its errors (default: "module NAME")
    ctx.template(name, **variables)      render templates/<name> (Jinja2, StrictUndefined);
                                         `params` and `facts` (a dict) are always defined
    ctx.file(name)                       absolute path of files/<name>, e.g. for `source`
    ctx.directories(*paths, **attrs)     directory resources for the folders the module owns:
                                         each path and each ancestor below the base system's
                                         folders (BASE_DIRECTORIES), all mode 0755 by default
    ctx.sibling(name)                    the code of the module `name` beside this one (its
                                         functions, e.g. vcluster parses keys with sshkeys')
    ctx.warn(message)                    a compile warning shown to the user
    ctx.is_sensitive(param_name)         the parameter is a secret (its Param or the data says so)
    ctx.origin(param_name)               the data file that gave the parameter its value
    ctx.name, ctx.path, ctx.facts, ctx.params
    """

    def __init__(self, module, params, facts, warn=None, sensitive=(), origin=None):
        self.module = module
        self.sensitive = set(sensitive)
        self._origin = origin
        self.name = module.name
        self.path = module.path
        self.params = params
        self.facts = facts
        self._warn = warn

    def resource(self, type_name, title, attrs=None, declared_by=None, **more):
        from confrt.resources.base import Resource

        values = dict(attrs or {})
        values.update(more)
        return Resource(type_name, title, values, module=self.name,
                        declared_by=declared_by or f"module {self.name}")

    def directories(self, *paths, mode="0755", **attrs):
        """directory resources (with `mode` and `attrs`) for each of `paths` and each folder above
        it up to BASE_DIRECTORIES, outermost first; each folder once."""
        folders = []
        for path in paths:
            chain = []
            path = os.path.normpath(path)
            while path not in BASE_DIRECTORIES and path not in folders and path not in chain:
                chain.append(path)
                if not path.startswith("/"):
                    break  # the directory type refuses it: a compile error naming the path
                path = os.path.dirname(path)
            folders += reversed(chain)
        return [self.resource("directory", folder, mode=mode, **attrs) for folder in folders]

    def file(self, name):
        if not self.path:
            raise CompileError(f"module {self.name}: has no folder for files/{name}")
        path = os.path.join(self.path, "files", name)
        if not os.path.isfile(path):
            raise CompileError(f"module {self.name}: files/{name}: not found")
        return path

    def template(self, name, **variables):
        if not self.path:
            raise CompileError(f"module {self.name}: has no templates/ folder")
        return render_template(os.path.join(self.path, "templates"), name,
                               dict({"params": self.params, "facts": template_facts(self.facts)}, **variables),
                               label=f"module {self.name}")

    def sibling(self, name):
        """The code of the module `name` in the folder this module's folder is in."""
        if not self.path:
            raise CompileError(f"module {self.name}: has no folder beside which to find module {name}")
        return Module(name, path=os.path.join(os.path.dirname(self.path), name)).code

    def origin(self, param_name):
        if self._origin is None:
            return "<data>"
        return self._origin(f"{self.name}::{param_name}")

    def is_sensitive(self, param_name):
        return param_name in self.sensitive

    def warn(self, message):
        if self._warn is not None:
            self._warn(f"module {self.name}: {message}")


def template_facts(facts):
    """What templates get as `facts`: a Facts' lazy view (a fact is computed when read), or a dict."""
    view = getattr(facts, "view", None)
    return view() if callable(view) else dict(facts or {})


@functools.cache
def _jinja_environment(directory):
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(directory), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render_template(directory, name, variables, label="template"):
    """Render directory/name with Jinja2 (StrictUndefined, trailing newline kept).

    An undefined variable or a syntax error is a CompileError naming the template.
    """
    import jinja2

    env = _jinja_environment(directory)
    where = os.path.join(directory, name)
    try:
        return env.get_template(name).render(**variables)
    except jinja2.TemplateNotFound:
        raise CompileError(f"{label}: template {where}: not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise CompileError(f"{exc.filename or where}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise CompileError(f"{where}: {exc.message}") from None
