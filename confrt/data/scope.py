"""Variables that %{...} interpolation reads: facts and extra top-scope variables.

Facts are top-scope variables (%{os.family}, %{::os.family}) and also the hash
%{facts.os.family}. Extra variables (e.g. {"confrt": {"local_data": ...}}) win
over facts of the same name.
"""
from confrt.data.keys import MISSING, dig, split_key


class Scope:
    def __init__(self, facts, variables=None):
        self._facts = facts
        self._variables = dict(variables or {})

    def resolve(self, name, local=None):
        """The value of variable `name` (dotted), or None when undefined."""
        name = name.strip()
        if name.startswith("::"):
            name = name[2:]
        segments = split_key(name)
        root, rest = segments[0], segments[1:]
        if local and root in local:
            value = local[root]
        elif root in self._variables:
            value = self._variables[root]
        elif root == "facts":
            if not rest:
                return self._facts.to_dict()
            # the whole dotted name: facts answer a leaf (networking.fqdn) without
            # computing the whole fact (every interface)
            return self._facts.get(name[len("facts."):].strip())
        else:
            return self._facts.get(name)
        if value is None:
            return None
        value = dig(value, rest)
        return None if value is MISSING else value
