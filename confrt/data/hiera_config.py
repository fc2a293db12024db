"""hiera.yaml version 5: defaults, hierarchy levels, and their data file locations.

Each level names its files with exactly one of path, paths, glob, globs or
mapped_paths, relative to its datadir (default "data"), itself relative to the
directory of hiera.yaml. Backends: yaml_data and json_data.
"""
import os

from confrt.data.globs import ruby_glob
from confrt.errors import DataError

BACKENDS = ("yaml_data", "json_data")
LOCATION_KEYS = ("path", "paths", "glob", "globs", "mapped_paths")
_UNSUPPORTED = ("uri", "uris", "lookup_key", "data_dig", "hiera3_backend")
_LEVEL_KEYS = ("name", "datadir", "data_hash", "options") + LOCATION_KEYS + _UNSUPPORTED
_DEFAULTS_KEYS = ("datadir", "data_hash", "options", "lookup_key", "data_dig")
_TOP_KEYS = ("version", "defaults", "hierarchy", "default_hierarchy", "plan_hierarchy")
_DEFAULT_HIERARCHY = [{"name": "Common", "path": "common.yaml"}]


class Location:
    """One data file of a level: `skipped` says why it is not read (an undefined variable)."""

    def __init__(self, original, path, backend, skipped=None):
        self.original = original
        self.path = path
        self.backend = backend
        self.skipped = skipped


class Level:
    def __init__(self, name, backend, datadir, location_key, specs):
        self.name = name
        self.backend = backend
        self.datadir = datadir
        self.location_key = location_key
        self.specs = specs

    def locations(self, interpolator, where):
        """The level's files with variables expanded (globs matched, mapped paths mapped)."""
        datadir, _ = interpolator.path(self.datadir, where)
        if self.location_key == "mapped_paths":
            return self._mapped(interpolator, datadir, where)
        result = []
        for spec in self.specs:
            text, undefined = interpolator.path(spec, where)
            if undefined:
                result.append(Location(spec, None, self.backend, f"undefined variable {', '.join(undefined)}"))
            elif self.location_key in ("glob", "globs"):
                matches = ruby_glob(os.path.join(datadir, text))
                result.extend(Location(spec, match, self.backend) for match in matches if not os.path.isdir(match))
            else:
                result.append(Location(spec, os.path.join(datadir, text), self.backend))
        return result

    def _mapped(self, interpolator, datadir, where):
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
                result.append(Location(template, os.path.join(datadir, text), self.backend))
        return result


class HieraConfig:
    def __init__(self, path, levels):
        self.path = path
        self.levels = levels


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
    backend = entry.get("data_hash") or defaults.get("data_hash") or "yaml_data"
    return Level(name, backend, os.path.normpath(os.path.join(root, datadir)), key, specs)


def _check_keys(where, prefix, mapping, known):
    for key in mapping:
        if key not in known:
            raise DataError(f"{where}: {prefix}{key}: unknown key (known: {', '.join(known)})")


def _check_backend(where, prefix, mapping):
    datadir = mapping.get("datadir")
    if datadir and not isinstance(datadir, str):
        raise DataError(f"{where}: {prefix + '.' if prefix else ''}datadir: expected a directory (a string), "
                        f"got {datadir!r}")
    for key in ("lookup_key", "data_dig"):
        if key in mapping:
            raise DataError(f"{where}: {prefix + '.' if prefix else ''}{key}: not supported "
                            f"(backends: {', '.join(BACKENDS)})")
    backend = mapping.get("data_hash")
    if backend is not None and backend not in BACKENDS:
        raise DataError(f"{where}: data_hash: {backend!r} not supported (backends: {', '.join(BACKENDS)})")
