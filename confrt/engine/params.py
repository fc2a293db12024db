"""Param: one typed, documented setting of a module or an attribute of a resource type.

The same class serves both (one concept, one name): a module's PARAMS and a
resource type's `params` are lists of Param. Values come from YAML data or
from module code; Param.convert() checks them and returns the value to use,
or raises ValueError with a short problem ("expected an integer, got 'abc'")
that the caller prefixes with the file, key or resource attribute.
"""

_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a mapping", object: "any value",
}


def type_name(types):
    """'an integer', 'a string or a list': the expected type for error messages."""
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def is_instance(value, types):
    """isinstance() that keeps bool apart from int and accepts int where float is asked."""
    types = types if isinstance(types, tuple) else (types,)
    if object in types:
        return True
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def redact_problem(problem):
    """'expected an integer, got 'pw'' -> 'expected an integer, got [redacted]'."""
    from confrt.util.redaction import REDACTED

    return problem.split(", got ")[0] + ", got " + REDACTED


class Param:
    """One setting: name, type, default, one-line doc, sensitivity.

    type      a Python type or a tuple of them: str, int, float, bool, list, dict,
              object (anything). bool is never accepted for int.
    default   used when the data has no value; None with required=False means
              "optional, may be None".
    doc       one line, shown by `confrt modules show` and in errors.
    sensitive the value is a secret: never logged, diffed or reported.
    required  a value must be given (the default is ignored).
    choices   allowed values, e.g. ("present", "absent").
    check     optional callable(value) -> normalised value; raises ValueError
              with the problem (e.g. octal_mode in confrt.resources.base).
    """

    __slots__ = ("name", "type", "default", "doc", "sensitive", "required", "choices", "check")

    def __init__(self, name, type=str, default=None, doc="", sensitive=False, required=False,
                 choices=None, check=None):
        self.name = name
        self.type = type
        self.default = default
        self.doc = doc
        self.sensitive = sensitive
        self.required = required
        self.choices = tuple(choices) if choices else None
        self.check = check

    def convert(self, value):
        """Return the checked value; raise ValueError('expected ..., got ...')."""
        if value is None and not self.required and self.default is None:
            return None
        if not is_instance(value, self.type):
            raise ValueError(f"expected {type_name(self.type)}, got {self.shown(value)}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"expected one of {allowed}, got {self.shown(value)}")
        if self.check is not None:
            value = self.check(value)
        return value

    def shown(self, value):
        """The value as errors and reports may show it: sensitive ones are redacted."""
        if self.sensitive:
            return f"[redacted {type(value).__name__}]"
        return repr(value)

    def describe_type(self):
        if self.choices:
            return "|".join(str(c) for c in self.choices)
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        return "|".join(t.__name__ for t in types)

    def __repr__(self):
        return f"Param({self.name!r}, {self.describe_type()}, default={self.default!r})"
