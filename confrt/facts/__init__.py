"""Facts: what confrt knows about the host, under facter-compatible names.

A top-level fact ("os", "networking", "disks" ...) is computed the first time
it is asked for and cached for the life of the Facts object, so
`facts.get("os.family")` reads /etc/os-release and nothing else. Layers, lowest
first: built-in and registered (plugin) facts, external facts from facts_dir
(*.yaml, *.yml, *.json, in file-name order), then overrides (`--facts FILE`).
A plain name in a layer replaces the whole fact; a dotted name
("os.family") replaces only that leaf. Plugins add facts with register(),
top-level or as dotted leaves ("site.rack").
"""
from confrt.facts.names import split_name

# top-level name -> "module:function"; the function takes a Host.
BUILTIN = {
    "cmdline": "confrt.facts.kernel:cmdline",
    "disks": "confrt.facts.disks:disks",
    "kernel": "confrt.facts.kernel:kernel",
    "kernelmajversion": "confrt.facts.kernel:kernelmajversion",
    "kernelrelease": "confrt.facts.kernel:kernelrelease",
    "kernelversion": "confrt.facts.kernel:kernelversion",
    "memory": "confrt.facts.hardware:memory",
    "mountpoints": "confrt.facts.mounts:mountpoints",
    "networking": "confrt.facts.networking:networking",
    "os": "confrt.facts.os_release:os_fact",
    "processors": "confrt.facts.hardware:processors",
    "system_uptime": "confrt.facts.hardware:system_uptime",
    "virtual": "confrt.facts.virtual:virtual",
    "yum_repos": "confrt.facts.repositories:yum_repos",
}

# Leaves of an expensive fact that can be had cheaply: "networking.fqdn" (used by
# most hierarchies) must not list every interface. dotted name -> "module:function"
# returning a partial value of the top-level fact.
SHORTCUTS = {
    "networking.domain": "confrt.facts.networking:names_fact",
    "networking.fqdn": "confrt.facts.networking:names_fact",
    "networking.hostname": "confrt.facts.networking:names_fact",
}

# Flat names facter still answers (legacy facts) -> the structured fact they copy.
LEGACY = {
    "architecture": "os.architecture",
    "clientcert": "trusted.certname",
    "domain": "networking.domain",
    "fqdn": "networking.fqdn",
    "hardwaremodel": "os.hardware",
    "hostname": "networking.hostname",
    "ipaddress": "networking.ip",
    "ipaddress6": "networking.ip6",
    "lsbdistcodename": "os.distro.codename",
    "macaddress": "networking.mac",
    "memoryfree": "memory.system.available",
    "memorysize": "memory.system.total",
    "netmask": "networking.netmask",
    "network": "networking.network",
    "operatingsystem": "os.name",
    "operatingsystemmajrelease": "os.release.major",
    "operatingsystemrelease": "os.release.full",
    "osfamily": "os.family",
    "physicalprocessorcount": "processors.physicalcount",
    "processorcount": "processors.count",
    "uptime": "system_uptime.uptime",
    "uptime_days": "system_uptime.days",
    "uptime_hours": "system_uptime.hours",
    "uptime_seconds": "system_uptime.seconds",
}

_UNSET = object()


class Host:
    """The filesystem facts are read from; `root` lets tests feed fixture trees."""

    def __init__(self, root="/"):
        self.root = root

    def path(self, path):
        if self.root in ("", "/"):
            return path
        return self.root.rstrip("/") + path

    def read_text(self, path, default=None):
        """The text of `path` under root, or `default` when it cannot be read."""
        try:
            with open(self.path(path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return default

    @property
    def is_live(self):
        """True when probing the running system (commands and psutil may be used)."""
        return self.root in ("", "/")


class Facts:
    """Lazily computed facts with external and override layers on top.

    overrides: {name or dotted name: value}, winning over everything (--facts FILE);
    facts_dir: the folder of external facts files; root: where /etc, /proc and /sys
    are read from (fixture trees in tests).
    """

    def __init__(self, overrides=None, facts_dir=None, root="/"):
        self._host = Host(root)
        self._builtin = {name: _import_later(spec, self._host) for name, spec in BUILTIN.items()}
        for alias, source in LEGACY.items():
            self._builtin[alias] = _copy_of(self, source)
        self._builtin["is_virtual"] = lambda: _is_virtual(self.get("virtual"))
        self._builtin["trusted"] = lambda: _trusted(self.get("networking.fqdn"))
        by_spec = {spec: _import_later(spec, self._host) for spec in set(SHORTCUTS.values())}
        self._shortcuts = {name: by_spec[spec] for name, spec in SHORTCUTS.items()}
        self._partial = {}
        self._leaves = {}
        self._facts_dir = facts_dir
        self._overrides = dict(overrides or {})
        self._layers = None
        self._cache = {}

    @classmethod
    def static(cls, values):
        """Facts holding only `values` (names may be dotted); probes nothing. For tests."""
        facts = cls(overrides=values)
        facts._builtin = {}
        facts._shortcuts = {}
        return facts

    @classmethod
    def for_config(cls, config, facts_file=None, role=None):
        """The facts of a command: config.facts_dir plus the --facts FILE overrides and --role.

        `role` falls back to the top-level `role` of config.local_data (userdata).
        """
        overrides = cls.load_file(facts_file) if facts_file else {}
        if role is not None:
            overrides["role"] = role
        facts = cls(overrides=overrides, facts_dir=config.facts_dir)
        facts.register("role", lambda: _role_from_local_data(config.local_data))
        return facts

    @staticmethod
    def load_file(path):
        """Read a YAML or JSON mapping of fact names; a bad file is a FactError naming it."""
        from confrt.facts.external import load_facts_file

        return load_facts_file(path)

    def register(self, name, function):
        """Add (or replace) a fact computed lazily by function().

        A dotted name ("site.rack") adds a leaf to the top-level fact, computed
        when that fact is first read.
        """
        parts = split_name(name)
        if len(parts) == 1:
            self._builtin[name] = function
        else:
            leaves = [leaf for leaf in self._leaves.get(parts[0], []) if leaf[0] != parts[1:]]
            self._leaves[parts[0]] = leaves + [(parts[1:], function)]
        self._cache.pop(parts[0], None)
        self._shortcuts = {key: value for key, value in self._shortcuts.items()
                           if split_name(key)[0] != parts[0]}

    def names(self):
        """Sorted top-level names; nothing is computed."""
        given, patches = self._given()
        return sorted(set(self._builtin) | set(self._leaves) | set(given) | set(patches))

    def get(self, name, default=None):
        """The value of a dotted name ("os.release.major"), or default when unknown."""
        parts = split_name(name)
        value = self._shortcut(name, parts)
        if value is _UNSET:
            value = self._resolve(parts[0])
        for part in parts[1:]:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return default
        return default if value is None else value

    def __getitem__(self, name):
        value = self._resolve(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name):
        return self.get(name, _UNSET) is not _UNSET

    def to_dict(self):
        """Every fact resolved (this probes everything): {top-level name: value}."""
        import copy

        result = {}
        for name in self.names():
            value = self._resolve(name)
            if value is not None:
                result[name] = copy.deepcopy(value)
        return result

    def view(self):
        """The facts as a read-only mapping computed on first read: what templates get as `facts`."""
        from confrt.facts.view import FactsView

        return FactsView(self, {split_name(name)[0] for name in self._shortcuts})

    def _given(self):
        """(plain values, dotted patches) from facts_dir and overrides, read once."""
        if self._layers is None:
            layers = []
            if self._facts_dir:
                from confrt.facts.external import load_facts_dir

                layers.extend(load_facts_dir(self._facts_dir))
            layers.append(self._overrides)
            self._layers = _flatten_layers(layers)
        return self._layers

    def _shortcut(self, name, parts):
        """A partial top-level value that answers `name` without computing the whole fact
        (a dotted override covering it, or a SHORTCUTS function), else _UNSET."""
        given, patches = self._given()
        if parts[0] in self._cache or parts[0] in given:
            return _UNSET
        if parts[0] in patches:
            return _covering_patches(patches[parts[0]], parts[1:])
        compute = self._shortcuts.get(name)
        if compute is None:
            return _UNSET
        if compute not in self._partial:
            self._partial[compute] = compute()
        return self._partial[compute]

    def _resolve(self, name):
        if name in self._cache:
            return self._cache[name]
        given, patches = self._given()
        if name in given:
            value = given[name]
        else:
            value = self._builtin[name]() if name in self._builtin else None
            if name in self._leaves:
                value = _apply_patches(value, [(path, compute()) for path, compute in self._leaves[name]])
        if name in patches:
            value = _apply_patches(value, patches[name])
        self._cache[name] = value
        return value


def _role_from_local_data(path):
    from confrt.facts.role import role_from_local_data

    return role_from_local_data(path)


def _import_later(spec, host):
    def compute():
        import importlib

        module_name, function_name = spec.split(":")
        return getattr(importlib.import_module(module_name), function_name)(host)

    return compute


def _copy_of(facts, source):
    return lambda: facts.get(source)


def _is_virtual(virtual):
    """False on bare metal and in a Xen dom0, as facter says."""
    return None if virtual is None else virtual not in ("physical", "xen0")


def _trusted(fqdn):
    """Puppet's $trusted of a masterless run: the certname is the lower-cased fqdn.

    Not a fact in facter, but hiera.yaml files use %{trusted.certname} (and
    %{clientcert}) for per-node data, so they work here unchanged.
    """
    if not fqdn:
        return None
    certname = fqdn.lower()
    hostname, _, domain = certname.partition(".")
    return {"authenticated": "local", "certname": certname, "domain": domain, "extensions": {},
            "hostname": hostname}


def _flatten_layers(layers):
    """Fold layers (lowest first) into {name: value} and {name: [(path, value)]}.

    A plain name drops the dotted patches earlier layers made to it; within one
    layer plain names come first, so {"os": {...}, "os.family": "X"} keeps X.
    """
    given, patches = {}, {}
    for layer in layers:
        entries = [(split_name(str(key)), value) for key, value in layer.items()]
        for parts, value in sorted(entries, key=lambda entry: len(entry[0]) > 1):
            if len(parts) == 1:
                given[parts[0]] = value
                patches.pop(parts[0], None)
            else:
                patches.setdefault(parts[0], []).append((parts[1:], value))
    return given, patches


def _covering_patches(patches, path):
    """The value the patches alone give when one of them covers `path` (is it or above it;
    the later ones still apply on top), else _UNSET: the built-in value is needed."""
    for index in range(len(patches) - 1, -1, -1):
        patch_path = patches[index][0]
        if path[:len(patch_path)] == patch_path:
            return _apply_patches(None, patches[index:])
    return _UNSET


def _apply_patches(value, patches):
    import copy

    value = copy.deepcopy(value) if isinstance(value, dict) else {}
    for path, leaf in patches:
        node = value
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = leaf
    return value
