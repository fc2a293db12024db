"""hiera.yaml version 5: defaults, hierarchy levels, and their data file locations.

Each level names its files with exactly one of path, paths, glob, globs or
mapped_paths, relative to its datadir (default "data"), itself relative to the
directory of hiera.yaml. Backends: data_hash yaml_data and json_data, and
lookup_key eyaml_lookup_key (hiera-eyaml: YAML whose ENC[PKCS7,...] values are
decrypted with the key pair its options name, see confrt/data/eyaml.py).
"""
import os

from confrt.data.globs import ruby_glob
from confrt.errors import DataError

BACKENDS = ("yaml_data", "json_data")
EYAML = "eyaml_lookup_key"
LOOKUP_KEYS = (EYAML,)
LOCATION_KEYS = ("path", "paths", "glob", "globs", "mapped_paths")
_UNSUPPORTED = ("uri", "uris", "data_dig", "hiera3_backend")
_LEVEL_KEYS = ("name", "datadir", "data_hash", "lookup_key", "options") + LOCATION_KEYS + _UNSUPPORTED
_DEFAULTS_KEYS = ("datadir", "data_hash", "options", "lookup_key", "data_dig")
_RESERVED_OPTIONS = ("path", "uri")
_TOP_KEYS = ("version", "defaults", "hierarchy", "default_hierarchy", "plan_hierarchy")
_DEFAULT_HIERARCHY = [{"name": "Common", "path": "common.yaml"}]


class Location:
    """One data file of a level: `skipped` says why it is not read (an undefined variable);
    `keys` is the eyaml key pair of an eyaml_lookup_key level (None for others)."""

    def __init__(self, original, path, backend, skipped=None, keys=None):
        self.original = original
        self.path = path
        self.backend = backend
        self.skipped = skipped
        self.keys = keys


class Level:
    def __init__(self, name, backend, datadir, location_key, specs, options=None):
        self.name = name
        self.backend = backend
        self.datadir = datadir
        self.location_key = location_key
        self.specs = specs
        self.options = options or {}

    def locations(self, interpolator, where):
        """The level's files with variables expanded (globs matched, mapped paths mapped)."""
        datadir, _ = interpolator.path(self.datadir, where)
        keys = self._keys(interpolator, where)
        if self.location_key == "mapped_paths":
            return self._mapped(interpolator, datadir, where, keys)
        result = []
        for spec in self.specs:
            text, undefined = interpolator.path(spec, where)
            if undefined:
                result.append(Location(spec, None, self.backend, f"undefined variable {', '.join(undefined)}"))
            elif self.location_key in ("glob", "globs"):
                matches = ruby_glob(os.path.join(datadir, text))
                result.extend(Location(spec, match, self.backend, keys=keys)
                              for match in matches if not os.path.isdir(match))
            else:
                result.append(Location(spec, os.path.join(datadir, text), self.backend, keys=keys))
        return result

    def _keys(self, interpolator, where):
        """The eyaml key pair its options name (variables expanded, an undefined one as '',
        as Puppet does), or None for a level of another backend."""
        if self.backend != EYAML:
            return None
        from confrt.data.eyaml import Pkcs7Keys

        paths = {name: interpolator.path(self.options[name], f"{where}: options.{name}")[0]
                 for name in self.options}
        return Pkcs7Keys(paths.get("pkcs7_private_key"), paths.get("pkcs7_public_key"))

    def _mapped(self, interpolator, datadir, where, keys):
        variable, name, template = self.specs
        values = interpolator.variable(variable)
        if values is None or values == "" or values == []:
            return [Location(template, None, self.backend, f"undefined variable {variable}")]
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise DataError(f"{where}: mapped_paths variable {variable} must be a string or an array, "
                            f"got {type(values).__name__}")
        result = []
        for value in values:
            text, undefined = interpolator.path(template, where, local={name: value})
            if undefined:
                result.append(Location(template, None, self.backend, f"undefined variable {', '.join(undefined)}"))
            else:
                result.append(Location(template, os.path.join(datadir, text), self.backend, keys=keys))
        return result


class HieraConfig:
    def __init__(self, path, levels):
        self.path = path
        self.levels = levels


class HieraConfigs:
    """The hiera.yaml files one run reads, each parsed once: the run's userdata step (which level
    reads a file, which keys open local_data's ENC values) and its compiles share them. Made for
    one run, not kept by the process; a file that does not parse raises again for each caller."""

    def __init__(self):
        self._parsed = {}

    def load(self, path):
        if path not in self._parsed:
            self._parsed[path] = load_hiera_config(path)
        return self._parsed[path]


def load_hiera_config(path):
    """Read and check hiera.yaml; every problem is one DataError line naming the file and level."""
    from confrt.data.files import read_mapping

    raw = read_mapping(path)
    _check_keys(path, "", raw, _TOP_KEYS)
    if raw.get("version") != 5:
        raise DataError(f"{path}: version: must be 5 (Hiera 5 format), got {raw.get('version')!r}")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise DataError(f"{path}: defaults: expected a mapping")
    _check_keys(path, "defaults.", defaults, _DEFAULTS_KEYS)
    _check_backend(path, "defaults", defaults)
    _check_options(path, "defaults.", defaults.get("options"))
    hierarchy = raw.get("hierarchy", _DEFAULT_HIERARCHY)
    if not isinstance(hierarchy, list):
        raise DataError(f"{path}: hierarchy: expected a list of levels")
    root = os.path.dirname(os.path.abspath(path))
    levels = []
    names = set()
    for index, entry in enumerate(hierarchy):
        level = _level(path, root, index, entry, defaults)
        if level.name in names:
            raise DataError(f"{path}: hierarchy[{index}]: name {level.name!r} is used twice")
        names.add(level.name)
        levels.append(level)
    return HieraConfig(path, levels)


def _level(path, root, index, entry, defaults):
    where = f"{path}: hierarchy[{index}]"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected a mapping with name and path")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise DataError(f"{where}: name: required (a non-empty string)")
    where = f"{where} ({name})"
    _check_keys(where, "", entry, _LEVEL_KEYS)
    for key in _UNSUPPORTED:
        if key in entry:
            raise DataError(f"{where}: {key}: not supported (backends: {', '.join(BACKENDS)})")
    _check_backend(where, "", entry)
    keys = [key for key in LOCATION_KEYS if key in entry]
    if len(keys) != 1:
        raise DataError(f"{where}: needs exactly one of {', '.join(LOCATION_KEYS)}")
    key = keys[0]
    specs = entry[key]
    specs = [specs] if key in ("path", "glob") else specs
    if not isinstance(specs, list) or not specs or not all(isinstance(s, str) and s for s in specs):
        raise DataError(f"{where}: {key}: expected {'a string' if key in ('path', 'glob') else 'a list of strings'}")
    if key == "mapped_paths" and len(specs) != 3:
        raise DataError(f"{where}: mapped_paths: expected [variable, name, path template]")
    datadir = entry.get("datadir") or defaults.get("datadir") or "data"
    # the level's own function, else the defaults' (Puppet); else yaml_data (confrt's leniency)
    backend = (entry.get("data_hash") or entry.get("lookup_key") or defaults.get("data_hash")
               or defaults.get("lookup_key") or "yaml_data")
    options = entry["options"] if "options" in entry else defaults.get("options")
    _check_options(where, "", options, backend)
    return Level(name, backend, os.path.normpath(os.path.join(root, datadir)), key, specs, options)


def _check_keys(where, prefix, mapping, known):
    for key in mapping:
        if key not in known:
            raise DataError(f"{where}: {prefix}{key}: unknown key (known: {', '.join(known)})")


def _check_backend(where, prefix, mapping):
    prefix = prefix + "." if prefix else ""
    datadir = mapping.get("datadir")
    if datadir and not isinstance(datadir, str):
        raise DataError(f"{where}: {prefix}datadir: expected a directory (a string), got {datadir!r}")
    if "data_dig" in mapping:
        raise DataError(f"{where}: {prefix}data_dig: not supported (data_hash: {', '.join(BACKENDS)}; "
                        f"lookup_key: {', '.join(LOOKUP_KEYS)})")
    if "data_hash" in mapping and "lookup_key" in mapping:
        raise DataError(f"{where}: {prefix}data_hash and lookup_key: only one of them")
    backend = mapping.get("data_hash")
    if backend is not None and backend not in BACKENDS:
        raise DataError(f"{where}: {prefix}data_hash: {backend!r} not supported (backends: {', '.join(BACKENDS)})")
    function = mapping.get("lookup_key")
    if function is not None and function not in LOOKUP_KEYS:
        raise DataError(f"{where}: {prefix}lookup_key: {function!r} not supported "
                        f"(lookup_key functions: {', '.join(LOOKUP_KEYS)})")


def _check_options(where, prefix, options, backend=None):
    """options: a mapping; never path or uri (Puppet's own); for eyaml the key pair's paths."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise DataError(f"{where}: {prefix}options: expected a mapping")
    for name in _RESERVED_OPTIONS:
        if name in options:
            raise DataError(f"{where}: {prefix}options.{name}: reserved by Puppet (the level's own {name})")
    if backend != EYAML:
        return
    from confrt.data.eyaml import OPTIONS

    for name, value in options.items():
        if name not in OPTIONS:
            raise DataError(f"{where}: {prefix}options.{name}: not supported for {EYAML} "
                            f"(known: {', '.join(OPTIONS)})")
        if not isinstance(value, str) or not value:
            raise DataError(f"{where}: {prefix}options.{name}: expected a file path (a string)")
