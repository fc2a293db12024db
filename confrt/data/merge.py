"""Merge strategies first, unique, hash and deep, with knockout done right.

`found` is always a list of (source, value), highest priority first.

Knockout (option knockout_prefix, e.g. "--"), where confrt differs from Puppet:
  - unique and deep merges: an array element "--x" removes x contributed by ANY
    lower level (Puppet: only the next lower level that has the key, and a
    unique merge keeps "--x" literally). An element equal to the prefix alone
    removes every lower element. Markers never appear in the result, even when
    only one level holds the key.
  - hash and deep merges: a hash value equal to the prefix removes that key
    (Puppet leaves the key with the value '').
Deep merges fold from the lowest level up, so a knockout always sees
everything below it; otherwise they give what Puppet's deep merge (the
deep_merge gem) gives: a null never replaces a lower value, a value that meets
no other is returned as written (repeats kept), array order is lower levels
first. Unique merges list higher levels first and always give an array (as
Puppet).
"""
import copy

from confrt.errors import DataError

STRATEGIES = ("first", "unique", "hash", "deep")
_OPTIONS = {"knockout_prefix": str, "sort_merged_arrays": bool, "merge_hash_arrays": bool}


class Merge:
    """A merge strategy with its options."""

    def __init__(self, strategy="first", knockout_prefix=None, sort_merged_arrays=False,
                 merge_hash_arrays=False):
        self.strategy = strategy
        self.knockout_prefix = knockout_prefix
        self.sort_merged_arrays = sort_merged_arrays
        self.merge_hash_arrays = merge_hash_arrays

    @classmethod
    def parse(cls, merge, where):
        """From None, a strategy name, a Merge, or {"strategy": ..., options...}."""
        if merge is None:
            return cls()
        if isinstance(merge, Merge):
            return merge
        if isinstance(merge, str):
            merge = {"strategy": merge}
        if not isinstance(merge, dict):
            raise DataError(f"{where}: merge must be a strategy name or a hash, got {merge!r}")
        options = dict(merge)
        strategy = options.pop("strategy", None)
        if strategy not in STRATEGIES:
            raise DataError(f"{where}: unknown merge strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
        for name, value in options.items():
            if name not in _OPTIONS:
                raise DataError(f"{where}: unknown merge option {name!r} (known: {', '.join(_OPTIONS)})")
            if not isinstance(value, _OPTIONS[name]) or value == "":
                raise DataError(f"{where}: merge option {name}: bad value {value!r}")
        return cls(strategy, **options)

    def describe(self):
        options = [f"{name}={getattr(self, name)!r}" for name in _OPTIONS if getattr(self, name)]
        return self.strategy + (f" ({', '.join(options)})" if options else "")

    def merge(self, found, key):
        """Merge the found values of `key`; a value of the wrong type is a DataError."""
        if self.strategy == "first":
            return found[0][1]
        if self.strategy == "unique":
            return self._unique(found, key)
        if self.strategy == "hash":
            return self._hash(found, key)
        return self._deep(found)

    def _is_marker(self, item):
        return bool(self.knockout_prefix) and isinstance(item, str) and item.startswith(self.knockout_prefix)

    def _unique(self, found, key):
        for source, value in found:
            if isinstance(value, dict):
                raise DataError(f"{source}: key '{key}': a unique merge needs arrays or scalars, found a hash")
        result = []
        knocked = []
        for _, value in found:
            items = _flatten(value)
            for item in items:
                if not self._is_marker(item) and not _contains(knocked, item) and not _contains(result, item):
                    result.append(item)
            markers = [item for item in items if self._is_marker(item)]
            if self.knockout_prefix in markers:
                break  # the bare prefix removes everything lower
            knocked.extend(item[len(self.knockout_prefix):] for item in markers)
        return self._sorted(result, key)

    def _hash(self, found, key):
        if len(found) > 1:
            for source, value in found:
                if not isinstance(value, dict):
                    raise DataError(f"{source}: key '{key}': a hash merge needs hashes, "
                                    f"found {_kind(value)}")
        if not isinstance(found[0][1], dict):
            return found[0][1]
        result = {}
        for _, value in reversed(found):
            for name, item in value.items():
                if self.knockout_prefix is not None and item == self.knockout_prefix:
                    result.pop(name, None)
                else:
                    result[name] = item
        return result

    def _deep(self, found):
        merger = _DeepMerger(self)
        result = merger.as_written(copy.deepcopy(found[-1][1]))
        for _, value in reversed(found[:-1]):
            result = merger.merge(result, copy.deepcopy(value))
        return result

    def _sorted(self, items, key):
        if not self.sort_merged_arrays:
            return items
        try:
            return sorted(items)
        except TypeError:
            raise DataError(f"key '{key}': sort_merged_arrays cannot sort values of mixed types") from None


class _DeepMerger:
    """Puppet's deep merge (the deep_merge gem's deep_merge! with preserve_unmergeables off),
    with confrt's knockout: deepmerge.Merger with its list, hash and overwrite strategies.

    `merge(base, nxt)` merges a higher level's value (nxt) into a lower one's (base):
      - a null higher value keeps the lower one; a null or false lower value gives the
        higher one as written;
      - hashes: each key of the higher one merged into the lower one's value, or, where
        the lower one has none (or null, or false), merged with itself;
      - arrays: the lower one's elements, then the higher one's, each once;
      - anything else: the higher value as written (a hash over a non-hash: deep_merge
        merges its keys after the first with themselves; an empty one keeps the lower value).
    A value merged with itself has the elements of its arrays once (its hashes' arrays
    too); a value that meets no other is returned as written. With a knockout prefix,
    markers never reach the result.
    """

    def __init__(self, spec):
        from deepmerge import Merger

        self._spec = spec
        self._merger = Merger([(list, self._lists), (dict, self._dicts)],
                              [self._override], [self._override])

    def merge(self, base, nxt):
        return self._merger.merge(base, nxt)

    def as_written(self, value):
        """value with its knockout markers (and the hash keys they knock out) removed."""
        prefix = self._spec.knockout_prefix
        if prefix is None:
            return value
        if isinstance(value, dict):
            return {name: self.as_written(item) for name, item in value.items() if item != prefix}
        if isinstance(value, list):
            return [self.as_written(item) for item in value if not self._spec._is_marker(item)]
        return value

    def itself(self, value, path):
        """value merged with a copy of itself, as deep_merge does where the lower level has no value."""
        value = self.as_written(value)
        if isinstance(value, dict):
            return {name: self.itself(item, path + [name]) for name, item in value.items()}
        if isinstance(value, list):
            if self._spec.merge_hash_arrays and all(isinstance(item, dict) for item in value):
                return self._spec._sorted([self.itself(item, path + [i]) for i, item in enumerate(value)],
                                          _where(path))
            return self._spec._sorted(_without_repeats(value), _where(path))
        return value

    def _override(self, config, path, base, nxt):
        if nxt is None:
            return base
        if base is None or base is False:
            return self.as_written(nxt)
        if isinstance(nxt, dict):
            if not nxt:
                return base
            names = list(nxt)
            for name in names[1:]:
                nxt[name] = self.itself(nxt[name], path + [name])
        return self.as_written(nxt)

    def _dicts(self, config, path, base, nxt):
        prefix = self._spec.knockout_prefix
        for name, item in nxt.items():
            held = base.get(name)
            if prefix is not None and item == prefix:
                base.pop(name, None)
            elif held is None or held is False:
                base[name] = self.itself(item, path + [name])
            else:
                base[name] = config.value_strategy(path + [name], held, item)
        return base

    def _lists(self, config, path, base, nxt):
        spec = self._spec
        prefix = spec.knockout_prefix
        if prefix is not None:
            markers = [item for item in nxt if spec._is_marker(item)]
            if prefix in markers:
                base = []
            knocked = [item[len(prefix):] for item in markers]
            base = [item for item in base if not _contains(knocked, item)]
        nxt = self.as_written(nxt)
        if spec.merge_hash_arrays and all(isinstance(i, dict) for i in base + nxt):
            merged = [config.value_strategy(path + [i], item, nxt[i]) if i < len(nxt) else item
                      for i, item in enumerate(base)]
            result = merged + nxt[len(base):]
        else:
            result = _without_repeats(base + nxt)
        return spec._sorted(result, _where(path))


def _where(path):
    return ".".join(map(str, path)) or "(top)"


def _without_repeats(items):
    """items without repeats (Ruby's equality), first occurrences kept in order."""
    result = []
    for item in items:
        if not _contains(result, item):
            result.append(item)
    return result


def _flatten(value):
    if not isinstance(value, list):
        return [value]
    flat = []
    for item in value:
        flat.extend(_flatten(item))
    return flat


def _same(a, b):
    """Equality that keeps 1, 1.0 and true apart, as Ruby does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _contains(items, value):
    return any(_same(item, value) for item in items)


def _kind(value):
    """The type of a value in words; never the value itself (it may be sensitive)."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a " + type(value).__name__
