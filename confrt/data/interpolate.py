"""%{...} interpolation in data values and in hiera.yaml paths (Hiera 5 rules).

In data values: %{var} / %{scope('var')} read variables (facts, extra
variables), %{lookup('k')} / %{hiera('k')} insert another key's value,
%{alias('k')} (the whole string, nothing else) returns that value keeping its
type, %{literal('%')} a literal text. Undefined variables and missing keys
become ''. In hiera.yaml paths only variables are allowed; the undefined ones
are reported so the caller can skip that path.

Interpolation is bounded as YAML parsing is (util/yamlfile): a string it makes
holds at most MAX_TEXT characters (each %{lookup()} may repeat a long value), and
`aliases` counts the %{alias()} that gave a list or hash, so that the data store
measures the values those made (shared, like YAML aliases, and as explosive).
"""
import re

from confrt.data.keys import MISSING
from confrt.errors import DataError

_EXPRESSION = re.compile(r"%\{([^}]*)\}")
_FUNCTION = re.compile(r"""^(\w+)\((?:"([^"]+)"|'([^']+)')\)$""")
_EMPTY = {"", "::", '""', "''", '"::"', "'::'"}
FUNCTIONS = ("lookup", "hiera", "alias", "literal", "scope")


class Interpolator:
    """Expands %{...}; `lookup(key, where)` returns another key's value or MISSING."""

    def __init__(self, scope, lookup):
        self._scope = scope
        self._lookup = lookup
        self.aliases = 0   # %{alias()} that gave a list or hash, so far

    def value(self, value, where):
        """Interpolate every string inside value (hash keys too); `where` names it in errors."""
        if isinstance(value, str):
            return self._string(value, where, True, None, None) if "%{" in value else value
        if isinstance(value, list):
            return [self.value(item, where) for item in value]
        if isinstance(value, dict):
            return {self._key(k, where): self.value(v, where) for k, v in value.items()}
        return value

    def _key(self, key, where):
        expanded = self.value(key, where)
        if isinstance(expanded, (list, dict)):  # %{alias('k')} of an array or a hash
            raise DataError(f"{where}: hash key {key!r} becomes a {type(expanded).__name__}: a key must be a scalar")
        return expanded

    def path(self, text, where, local=None):
        """(expanded text, [undefined variable names]) for a hiera.yaml path."""
        undefined = []
        return self._string(text, where, False, local, undefined), undefined

    def variable(self, name, local=None):
        """A variable's value (any type), or None when undefined."""
        return self._scope.resolve(name, local)

    def _string(self, text, where, allow_functions, local, undefined):
        from confrt.util.yamlfile import MAX_TEXT

        parts = []
        pos = length = 0
        for match in _EXPRESSION.finditer(text):
            parts.append(text[pos:match.start()])
            pos = match.end()
            expression = match.group(1).strip()
            if expression in _EMPTY:
                continue
            function, argument = _parse(expression, allow_functions, where)
            if function == "alias":
                if match.group(0) != text:
                    raise DataError(f"{where}: %{{alias('{argument}')}} must be the whole string (no text around it)")
                value = self._lookup(argument, where)
                if isinstance(value, (list, dict)):
                    self.aliases += 1
                return "" if value is MISSING else value
            if function == "literal":
                value = argument
            elif function in ("lookup", "hiera"):
                value = self._lookup(argument, where)
                value = None if value is MISSING else value
            else:
                value = self._scope.resolve(argument, local)
                if value is None and undefined is not None:
                    undefined.append(argument)
            parts.append(as_text(value))
            length += len(parts[-1])
            if length > MAX_TEXT:  # what it inserts: the rest is the text's own
                raise DataError(f"{where}: interpolation makes a text of more than {MAX_TEXT:,} characters")
        parts.append(text[pos:])
        return "".join(parts)


def _parse(expression, allow_functions, where):
    match = _FUNCTION.match(expression)
    if not match:
        return "scope", expression
    function = match.group(1)
    if not allow_functions:
        raise DataError(f"{where}: interpolation function {function}() is not allowed here, only variables")
    if function not in FUNCTIONS:
        raise DataError(f"{where}: unknown interpolation function {function}() "
                        f"(known: {', '.join(FUNCTIONS)})")
    return function, match.group(2) or match.group(3)


def as_text(value):
    """A value as Puppet puts it into a string: undef -> '', true -> 'true', arrays Ruby-style."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_inspect(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inspect(k)}=>{_inspect(v)}" for k, v in value.items()) + "}"
    return str(value)


def _inspect(value):
    if isinstance(value, str):
        import json

        return json.dumps(value)
    if value is None:
        return "nil"
    return as_text(value)
