"""DataStore: Hiera 5 compatible lookups over hiera.yaml levels and module data.

Each data file is parsed once per store and a key's value in a file is
interpolated once, when first needed. The module data layer
(<module>/data/common.yaml) sits below the hierarchy and answers only keys of
that module ("m::p"); its lookup_options apply only to that module's keys.

A value decrypted from an eyaml level is a secret, and so is every key whose value
was built from a secret (interpolation, alias): is_sensitive() says so once the key
has been looked up. Decrypted values live only in this store's memory.

`in_memory` {path: content} holds files read from memory instead of disk: the level that reads
local_data gets the candidate local_data of `confrt run`, which is written only once the run's
compile with it has succeeded.
"""
import copy
import os

from confrt.data.files import read_mapping
from confrt.data.hiera_config import HieraConfigs, Location
from confrt.data.interpolate import Interpolator
from confrt.data.keys import MISSING, dig, module_name, split_key
from confrt.data.lookup_options import LOOKUP_OPTIONS, LookupOptions, regex_problem
from confrt.data.merge import Merge
from confrt.data.scope import Scope
from confrt.errors import DataError, LookupNotFound

#: lookups inside lookups (%{lookup()}, %{alias()}): a deeper chain is an error, not a RecursionError
MAX_NESTED_LOOKUPS = 32


class DataStore:
    def __init__(self, hiera_config_path, facts, variables=None, module_data=None, sensitive_keys=(),
                 top_data=None, in_memory=None, hiera_configs=None):
        """`top_data`: a YAML file read above the whole hierarchy (`confrt apply --data`);
        `in_memory`: {path: content (bytes)} read in place of those files; `hiera_configs`: the
        run's HieraConfigs, which parses hiera.yaml once for the whole run."""
        self._config = (hiera_configs or HieraConfigs()).load(hiera_config_path)
        self._top_data = top_data
        self._in_memory = {os.path.normpath(path): content for path, content in (in_memory or {}).items()}
        self._sensitive_keys = frozenset(sensitive_keys)
        self._interpolator = Interpolator(Scope(facts, variables), self._interpolation_lookup)
        self._module_data = dict(module_data or {})
        self._levels = None
        self._files = {}
        self._values = {}
        self._options = {}
        self._active = []
        self._secrets = set()     # root keys whose value holds a decrypted one

    def lookup(self, key, merge=None, default=MISSING):
        """The value of `key` merged per `merge` (None: per lookup_options, else first found)."""
        value = self._lookup(key, merge, None, "lookup")
        if value is MISSING:
            if default is not MISSING:
                return default
            raise LookupNotFound(f"no value found for key '{key}' in the hierarchy of {self._config.path}")
        return copy.deepcopy(value)

    def explain(self, key, merge=None):
        """A readable account of the lookup: each level, its path, found or not, merge and result
        (values redacted when the key turns out sensitive)."""
        from confrt.data.explain import Explanation

        trace = Explanation(key)
        try:
            value = self._lookup(key, merge, trace, "lookup")
        except DataError as error:
            trace.failed(error)
        else:
            trace.result(value)
        return trace.text(redact=self.is_sensitive(key))

    def origins(self, key):
        """[(path, raw value)] of every data file holding key, highest priority first."""
        segments = split_key(key)
        result = []
        for location, _ in self._all_locations([module_name(segments[0])]):
            data = self._data(location)
            if data is not None and segments[0] in data:
                raw = dig(data[segments[0]], segments[1:])
                if raw is not MISSING:
                    result.append((location.path, raw))
        return result

    def is_sensitive(self, key):
        """True when lookup_options mark the key sensitive, the caller did (a module's
        sensitive parameter), or its value (as looked up so far) holds a decrypted eyaml
        value or another sensitive key's: its value must never be shown."""
        root = split_key(key)[0]
        return (root in self._secrets or root in self._sensitive_keys
                or self._options_for(root).get("sensitive") is True)

    def keys(self):
        """Every top-level key of every data file in the hierarchy and the module data."""
        result = set()
        for location, _ in self._all_locations(self._module_data):
            data = self._data(location)
            if data:
                result.update(key for key in data if isinstance(key, str))
        result.discard(LOOKUP_OPTIONS)
        return result

    # -- searching

    def _lookup(self, key, merge, trace, where):
        segments = split_key(key)
        root = segments[0]
        if root == LOOKUP_OPTIONS:
            return MISSING
        if key in self._active:
            chain = " -> ".join(self._active + [key])
            raise DataError(f"{where}: interpolation loop: {chain}")
        if len(self._active) > MAX_NESTED_LOOKUPS:
            chain = " -> ".join(self._active[:3] + ["..."] + self._active[-2:] + [key])
            raise DataError(f"{where}: interpolation nested more than {MAX_NESTED_LOOKUPS} lookups deep: {chain}")
        self._active.append(key)
        try:
            options = self._options_for(root)
            if merge is None and "merge" in options:
                spec = Merge.parse(options["merge"], f"lookup_options for '{root}'")
                origin = "lookup_options"
            else:
                spec = Merge.parse(merge, "merge")
                origin = "request" if merge is not None else "default"
            if trace:
                trace.merge(spec, origin)
            found = self._search(root, spec.strategy == "first", trace)
            if not found:
                return MISSING
            value = spec.merge(found, root)
            if trace and len(found) > 1:
                trace.merged(value)
            return dig(value, segments[1:])
        finally:
            self._active.pop()
            if self._active and self.is_sensitive(root):  # the value interpolating this one holds it
                self._secrets.update(split_key(active)[0] for active in self._active)

    def _search(self, root, first_only, trace):
        found = []
        for location, heading in self._all_locations([module_name(root)]):
            if trace:
                trace.location(heading, location)
            if location.skipped:
                continue
            data = self._data(location)
            if data is None or root not in data:
                if trace:
                    trace.absent(data is not None)
                continue
            value = self._value(location, root, data)
            if trace:
                trace.found(value)
            found.append((location.path, value))
            if first_only:
                break
        return found

    def _all_locations(self, modules):
        """(location, heading) of the hierarchy, then of the data of `modules`."""
        if self._levels is None:
            self._levels = []
            if self._top_data:
                self._levels.append((Location(self._top_data, os.path.abspath(self._top_data), "yaml_data"),
                                     f'Extra data "--data {self._top_data}"'))
            for level in self._config.levels:
                where = f"{self._config.path}: hierarchy level '{level.name}'"
                for location in level.locations(self._interpolator, where):
                    self._levels.append((location, f'Hierarchy entry "{level.name}"'))
        result = list(self._levels)
        for module in modules:
            location = self._module_location(module)
            if location is not None:
                result.append((location, f'Module data "{module}"'))
        return result

    def _module_location(self, module):
        directory = self._module_data.get(module)
        if directory is None:
            return None
        return Location("common.yaml", os.path.join(directory, "common.yaml"), "yaml_data")

    def _value(self, location, root, data):
        """The key's value in a location's data: decrypted (eyaml), then interpolated; once."""
        cache_key = (location.path, root)
        if cache_key not in self._values:
            where = f"{location.path}: key '{root}'"
            value = data[root]
            if location.keys is not None:
                from confrt.data.eyaml import decrypt_value

                value, decrypted = decrypt_value(value, location.keys, where)
                if decrypted:
                    self._secrets.add(root)
            self._values[cache_key] = self._interpolated(value, where)
        return self._values[cache_key]

    def _interpolated(self, value, where):
        """The value interpolated, within the limits of YAML parsing (util/yamlfile): %{alias()}
        shares a list or hash as a YAML alias does, and nests it where it stands."""
        from confrt.util.yamlfile import MAX_DEPTH, MAX_VALUES, measure

        aliases = self._interpolator.aliases
        try:
            result = self._interpolator.value(value, where)
        except RecursionError:  # lookups inside deeply nested values inside lookups...
            raise DataError(f"{where}: data and interpolation nested too deeply to follow") from None
        if self._interpolator.aliases != aliases:
            depth, values = measure(result)
            if depth > MAX_DEPTH:
                raise DataError(f"{where}: %{{alias()}} makes a value nested more than {MAX_DEPTH} levels deep")
            if values > MAX_VALUES:
                raise DataError(f"{where}: %{{alias()}} makes a value of more than {MAX_VALUES:,} values")
        return result

    def _interpolation_lookup(self, key, where):
        return self._lookup(key, None, None, where)

    def _data(self, location):
        """The parsed mapping of a location's file (cached), or None when skipped or missing."""
        path = location.path
        if location.skipped:
            return None
        if path not in self._files:
            content = self._in_memory.get(os.path.normpath(path))
            if content is not None:
                self._files[path] = read_mapping(path, location.backend, content)
            else:
                self._files[path] = read_mapping(path, location.backend) if os.path.isfile(path) else None
        return self._files[path]

    # -- lookup_options

    def _options_for(self, root):
        module = module_name(root)
        if module not in self._options:
            self._options[module] = LookupOptions({})  # what a lookup inside lookup_options itself sees
            self._options[module] = self._compile_options(module)
        return self._options[module].of(root)

    def _compile_options(self, module):
        """lookup_options of every level (and of the module's data), checked per file and merged."""
        found = []
        module_location = self._module_location(module)
        for location, _ in self._all_locations([module]):
            data = self._data(location)
            if not data or LOOKUP_OPTIONS not in data:
                continue
            where = f"{location.path}: {LOOKUP_OPTIONS}"
            options = self._interpolated(data[LOOKUP_OPTIONS], where)
            if not isinstance(options, dict):
                raise DataError(f"{where}: expected a hash of key -> options")
            check_options(location.path, options)
            if module_location is not None and location.path == module_location.path:
                _check_module_options(where, module, options)
            found.append((location.path, options))
        return LookupOptions.merged(found)


def check_options(path, options):
    """One file's lookup_options: each a hash with a valid merge and a boolean sensitive, named by a
    key or a valid '^regex' (checked per file, so the error names the file); `userdata build` checks
    them too, before it decides which values to encrypt."""
    where = f"{path}: {LOOKUP_OPTIONS}"
    for name, value in options.items():
        if not isinstance(name, str):
            raise DataError(f"{where}: {name!r}: expected a key name or a '^regex'")
        if not isinstance(value, dict):
            raise DataError(f"{where}: '{name}': expected a hash (merge, sensitive...)")
        if "merge" in value:
            Merge.parse(value["merge"], f"{path}: {LOOKUP_OPTIONS} for '{name}'")
        if "sensitive" in value and not isinstance(value["sensitive"], bool):  # "true", "yes", 1 ...
            raise DataError(f"{where}: '{name}': sensitive: expected true or false, got {value['sensitive']!r}")
        problem = regex_problem(name)
        if problem:
            raise DataError(f"{where}: '{name}': bad regular expression: {problem}")


def _check_module_options(where, module, options):
    prefix = module + "::"
    for name in options:
        if not (name.startswith(prefix) or name.startswith("^" + prefix)):
            raise DataError(f"{where}: '{name}': module data may only set options for keys starting "
                            f"with '{prefix}'")
