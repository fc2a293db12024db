"""The resource contract: types say WHAT, providers say HOW (Puppet's split).

A new resource type is one small file, confrt/resources/<name>.py, defining a
ResourceType subclass, its Provider subclass(es), and `TYPE = <the type class>`.
The built-in plugin finds it by its file name (no list to edit): it becomes
usable in modules as ctx.resource("<name>", title, ...) and in data as the key
`resources::<name>`. Helper files in this package start with "_". A plugin
outside confrt registers its types with the hook `confrt_resource_types`.

Example (a whole type):

    from confrt.resources.base import Change, Param, Provider, ResourceType

    class SysctlProvider(Provider):
        name = "procfs"

        def changes(self):
            current = read_sysctl(self.resource["name"])       # read current state
            wanted = self.resource["value"]
            if current == wanted:
                return []
            return [Change("value", current, wanted)]           # compare

        def apply(self, changes):                              # change
            self.ctx.run(["sysctl", "-w", f"{self.resource['name']}={self.resource['value']}"])

    class SysctlType(ResourceType):
        name = "sysctl"
        params = [Param("name", str, required=True, doc="key, e.g. net.core.rmem_max"),
                  Param("value", str, required=True, doc="wanted value")]
        providers = [SysctlProvider]

    TYPE = SysctlType

The engine's cycle per resource: provider.changes() reads the current state and
returns the list of Change (nothing = in sync); in noop the changes are only
reported; otherwise provider.apply(changes) makes them. A refreshable type gets
provider.refresh() when a resource it subscribes to (or that notifies it)
changed. Providers never print: they return changes or raise ResourceFailed.
"""
from confrt.engine.params import Param  # noqa: F401  (re-exported: types import it from here)
from confrt.util.redaction import REDACTED  # noqa: F401  (re-exported for resource types)

#: Attributes every resource accepts besides its type's params (Puppet's metaparameters).
#: require/before/notify/subscribe take references "type[title]" (one string or a list);
#: tags a string or list; sensitive True (all attributes) or a list of attribute names.
METAPARAMS = ("require", "before", "notify", "subscribe", "tags", "sensitive")
RELATIONSHIPS = ("require", "before", "notify", "subscribe")



class ResourceFailed(Exception):
    """A resource could not be read or changed; str() is the one-line reason (no secrets)."""


def format_ref(type_name, title):
    """'file[/etc/motd]': how resources refer to each other."""
    return f"{type_name}[{title}]"


def parse_ref(ref):
    """'service[squid]' -> ('service', 'squid'); ValueError when it is not a reference."""
    if not isinstance(ref, str) or not ref.endswith("]") or "[" not in ref:
        raise ValueError(f"expected a reference like 'service[squid]', got {ref!r}")
    type_name, _, title = ref[:-1].partition("[")
    if not type_name or not title:
        raise ValueError(f"expected a reference like 'service[squid]', got {ref!r}")
    return type_name.lower(), title


def octal_mode(value):
    """Param check for file modes: '0644' or '644' or '2755' -> '0644' (a string always).

    Integers are refused: YAML reads an unquoted 644 as decimal, which would
    silently give the wrong mode.
    """
    if not isinstance(value, str) or not value or len(value) > 4 or \
            any(c not in "01234567" for c in value):
        raise ValueError(f"expected an octal mode string like '0644', got {value!r}")
    return value.rjust(4, "0")


class Change:
    """One property that differs: what the log line, the report and --noop show.

    property  attribute name ('content', 'mode', 'ensure', 'executed' ...)
    old, new  current and wanted values (shown via repr, unless sensitive)
    message   the human text; default "<property> changed '<old>' to '<new>'"
    diff      optional unified diff (file content), omitted when sensitive
    edit      (path, text before, text after) when the change edits a text file that other
              resources may edit too (sysctl.d lines, fstab entries, authorized keys, line):
              instead of a diff per change, a noop shows one diff per such file, after the
              change lines, from the text the run found to the one it leaves (Report.log_edits);
              the texts are dropped when sensitive (the file then shows no diff)
    sensitive redact old/new/diff; the message must then not contain them either
              (pass a checksum-only message; Change builds one by default)
    """

    __slots__ = ("property", "old", "new", "message", "diff", "edit", "sensitive")

    def __init__(self, property, old, new, message=None, diff=None, sensitive=False, edit=None):
        self.property = property
        self.old = old
        self.new = new
        self.sensitive = sensitive
        self.diff = None if sensitive else diff
        self.edit = (edit[0], None, None) if sensitive and edit else edit
        if message is None:
            if sensitive:
                message = f"{property} changed {REDACTED}"
            elif old is None:
                message = f"defined '{property}' as {_show(new)}"
            else:
                message = f"{property} changed {_show(old)} to {_show(new)}"
        self.message = message

    def to_dict(self):
        """Report form: old/new are replaced by [redacted] when sensitive."""
        if self.sensitive:
            return {"property": self.property, "old": REDACTED, "new": REDACTED, "message": self.message}
        return {"property": self.property, "old": _plain(self.old), "new": _plain(self.new),
                "message": self.message}

    def __repr__(self):
        return f"Change({self.property!r}, {self.message!r})"


def _show(value):
    return f"'{value}'" if isinstance(value, (str, int, float)) else repr(value)


def _plain(value):
    return value if value is None or isinstance(value, (str, int, float, bool, list, dict)) else str(value)


class Resource:
    """One declared resource: a type name, a title and checked attributes.

    Modules create them with ctx.resource(type, title, **attrs); the `resources`
    module creates them from data. The catalog checks them against their type
    (unknown attribute, wrong type, missing required value -> compile error).

    attrs       the type's params with defaults filled in (after the catalog checked it)
    module      the declaring module ('resources' for data-declared ones)
    declared_by where it came from, for error messages ('module squid', or a data file)
    tags        set of tags: always the module name and the type name, plus given ones
    relations   {'require': [refs], 'before': [...], 'notify': [...], 'subscribe': [...]}
    sensitive   set of attribute names whose values are secrets
    """

    __slots__ = ("type", "title", "attrs", "module", "declared_by", "tags", "relations", "sensitive",
                 "ref")

    def __init__(self, type_name, title, attrs, module=None, declared_by=None):
        self.type = type_name
        self.title = str(title)
        self.attrs = dict(attrs)
        self.module = module
        self.declared_by = declared_by or (f"module {module}" if module else "<unknown>")
        self.tags = set()
        self.relations = {}
        self.sensitive = set()
        self.ref = format_ref(type_name, self.title)

    def __getitem__(self, name):
        return self.attrs[name]

    def get(self, name, default=None):
        value = self.attrs.get(name)
        return default if value is None else value

    def __repr__(self):
        return f"<Resource {self.ref}>"


class Provider:
    """How one type is managed on one platform; one instance per resource per run.

    Override:
      suitable(facts)    classmethod; True when this provider works here. The
                         first suitable provider in ResourceType.providers wins.
                         e.g. facts.get('os.family') in ('Debian', 'RedHat'), or
                         os.path.isdir('/run/systemd/system') (systemd is PID 1).
      prefetch(resources, ctx)  classmethod; called ONCE per run with all the
                         resources this provider manages; read all current state in
                         one query (one `dpkg-query -W` for all packages) and return it.
                         Each instance then finds it in self.prefetched.
      changes()          read the current state (from self.prefetched when possible)
                         and return [Change, ...]; [] means in sync. Must not change anything.
      apply(changes)     make the changes; raise ResourceFailed('one line') on failure.
      refresh()          for refreshable types: restart/reload/re-run.
      apply_batch(items, ctx)  classmethod; items = [(provider, changes), ...] that are
                         ready at the same time (e.g. all packages to install): do them in
                         one transaction. Returns one error string or None per item.
                         The default calls apply() on each.

    Available: self.resource (a Resource; self.resource['mode']), self.ctx (the
    ApplyContext: ctx.noop, ctx.facts, ctx.statedir, ctx.run(argv, ...),
    ctx.backup(data) -> path under statedir/backup, ctx.catalog.has('user[bob]'),
    ctx.planned(ref) / ctx.will_exist(path): in noop, what earlier resources would have changed
    or made, so a noop reads the state the real run will find), ctx.warn(line) (a warning about
    the system, once a run, noop or not: _posix.warn_if_open names a folder others can write),
    ctx.read_file(path) (a file the resource reads, such as file's source: in noop, what a step
    before the apply would have written there),
    self.prefetched, and in refresh() self.applied_changes (the changes this run
    just made to the resource: a service it just started needs no restart).
    """

    name = "default"

    def __init__(self, resource, ctx, prefetched=None):
        self.resource = resource
        self.ctx = ctx
        self.prefetched = prefetched
        self.applied_changes = []

    @classmethod
    def suitable(cls, facts):
        return True

    @classmethod
    def prefetch(cls, resources, ctx):
        return None

    def changes(self):
        raise NotImplementedError

    def apply(self, changes):
        raise NotImplementedError

    def refresh(self):
        raise ResourceFailed(f"{self.resource.type} cannot be refreshed")

    @classmethod
    def apply_batch(cls, items, ctx):
        errors = []
        for provider, changes in items:
            try:
                provider.apply(changes)
            except ResourceFailed as exc:
                errors.append(str(exc))
            else:
                errors.append(None)
        return errors


class ResourceType:
    """What a kind of resource is: its attributes, namevar, checks and relations.

    name         the type name used in references and data ('package')
    namevar      the attribute that identifies the thing on the system; it
                 defaults to the title ('path' for file, 'name' for package)
    params       [Param, ...]; Param(sensitive=True) attributes are always redacted
    providers    [Provider subclass, ...] in order of preference
    refreshable  True when notify/subscribe can refresh it (service, exec)
    batch        True when its provider's apply_batch groups resources (package)

    Override validate(attrs) for checks across attributes (raise ValueError with
    "attribute: problem"), autorequires(resource) to return references this
    resource depends on when they are in the catalog (a file its parent directory
    and its owner user/group), creates(resource) to name the paths besides its
    own that it makes exist (a user its home), and prepare(resource, env) for
    work that must be done at compile time (the file type renders its `template`
    there, so a bad template is a compile error and nothing is changed).
    """

    name = None
    namevar = "name"
    params = []
    providers = []
    refreshable = False
    batch = False

    @classmethod
    def param(cls, name):
        for param in cls.params:
            if param.name == name:
                return param
        return None

    @classmethod
    def validate(cls, attrs):
        """Cross-attribute checks on converted attrs; raise ValueError('attr: problem')."""

    @classmethod
    def autorequires(cls, resource):
        """References this resource needs first if they are managed too; an item may also be a
        tuple of alternative refs (only the first managed one counts: the nearest mount) or a
        function(other resource) -> bool (a mount's filesystem by label), or a Creates(path): the
        managed resource that creates that path (see creates())."""
        return []

    @classmethod
    def creates(cls, resource):
        """Absolute paths of directories this resource makes exist when it changes (a directory its
        path, a new user its home): a noop counts them as there when it plans that change, and a
        path inside one autorequires it (Creates)."""
        return []

    @classmethod
    def prepare(cls, resource, env):
        """Compile-time expansion; env.facts, env.render(spec, variables), env.module_file(spec).

        Raise ValueError('attribute: problem') or CompileError."""

    @classmethod
    def provider_for(cls, facts):
        """The first suitable provider class, or None."""
        for provider in cls.providers:
            if provider.suitable(facts):
                return provider
        return None


class Creates:
    """An autorequire item: whichever managed resource creates `path` (ResourceType.creates)."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path


def owner_group_autorequires(resource):
    """user[owner] and group[group] of a resource with owner/group attributes."""
    refs = []
    if resource.get("owner") is not None:
        refs.append(format_ref("user", resource["owner"]))
    if resource.get("group") is not None:
        refs.append(format_ref("group", resource["group"]))
    return refs
