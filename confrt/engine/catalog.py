"""The catalog: checked resources identified by (type, title), and the DAG between them.

Catalog.add() checks a resource against its type (unknown attribute, wrong type,
missing required value, duplicates); finalize() turns relationships and
autorequires (a type's autorequires(resource): refs, tuples of alternative refs
of which the first managed one counts, predicates over the other resources, or
Creates(path): the resource whose type's creates() names that path) into edges, rejects cycles (printing one) and fixes a
deterministic topological order (declaration order among independent resources).
"""
import difflib
import heapq

from confrt.engine.params import redact_problem
from confrt.errors import CompileError
from confrt.resources.base import METAPARAMS, REDACTED, RELATIONSHIPS, Creates, format_ref, parse_ref


#: attributes whose text may hold any character (a file's bytes, what a template is given)
FREE_TEXT = frozenset({"content", "template_vars"})


def _holds_nul(value):
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, str) and "\0" in item for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


class Catalog:
    """Resources and their edges. After finalize(): order, requires, dependents, notifies."""

    def __init__(self, types):
        self.types = types
        self.resources = {}          # ref -> Resource, in declaration order
        self._by_namevar = {}        # (type, namevar value) -> ref
        self._param_names = {}       # type class -> its attribute names
        self.order = []              # Resources in apply order
        self.requires = {}           # ref -> [refs applied before it]
        self.dependents = {}         # ref -> [refs applied after it]
        self.notifies = {}           # ref -> [refs refreshed when it changes]
        self._creators = None        # path -> ref of the resource that creates it (see creator())

    def __len__(self):
        return len(self.resources)

    def has(self, ref):
        return ref in self.resources

    def get(self, ref):
        return self.resources.get(ref)

    def type_of(self, resource):
        return self.types.get(resource.type)

    def creator(self, path):
        """The ref of the managed resource that makes the directory `path` exist (its type's
        creates(): a directory resource, a user's home), or None."""
        if self._creators is None:
            creators = {}
            for ref, resource in self.resources.items():
                for created in self.types.get(resource.type).creates(resource):
                    creators.setdefault(created, ref)
            self._creators = creators
        return self._creators.get(path)

    # -- adding -----------------------------------------------------------

    def add(self, resource):
        """Check `resource` against its type and add it; a same-attribute duplicate is dropped."""
        resource.type = resource.type.lower()
        resource.ref = format_ref(resource.type, resource.title)
        type_class = self.types.get(resource.type)
        where = f"{resource.declared_by}: {resource.ref}"
        if type_class is None:
            raise CompileError(f"{where}: unknown resource type '{resource.type}'"
                               f"{did_you_mean(resource.type, self.types.names())}")
        self._check(resource, type_class, where)
        existing = self.resources.get(resource.ref)
        if existing is not None:
            if existing.attrs == resource.attrs and existing.relations == resource.relations:
                return existing
            raise CompileError(f"{resource.ref} is declared twice with different attributes: "
                               f"by {existing.declared_by} and by {resource.declared_by}")
        identity = (resource.type, resource.attrs.get(type_class.namevar))
        other = self._by_namevar.get(identity)
        if other is not None:
            raise CompileError(f"{resource.ref} and {other} manage the same {type_class.namevar} "
                               f"{identity[1]!r}: by {resource.declared_by} and by "
                               f"{self.resources[other].declared_by}")
        self._by_namevar[identity] = resource.ref
        self.resources[resource.ref] = resource
        self._creators = None
        return resource

    def _check(self, resource, type_class, where):
        given = resource.attrs
        meta = {name: given.pop(name) for name in METAPARAMS if name in given}
        known = self._param_names.get(type_class)
        if known is None:
            known = self._param_names[type_class] = frozenset(param.name for param in type_class.params)
        for name in given:
            if name not in known:
                hint = did_you_mean(name, list(known) + list(METAPARAMS)) if isinstance(name, str) else ""
                raise CompileError(f"{where}: unknown attribute {name!r}{hint}")
        sensitive = meta.get("sensitive")
        if sensitive is True:
            resource.sensitive = set(known)
        elif sensitive is None or sensitive is False:
            resource.sensitive = set()
        else:  # attribute names: anything else ("true", 1, a typo) would leave the values shown
            resource.sensitive = set()
            for name in _as_list(sensitive):
                if not isinstance(name, str) or name not in known:
                    hint = did_you_mean(name, list(known)) if isinstance(name, str) else ""
                    raise CompileError(f"{where}: sensitive: expected true, false or names of attributes of "
                                       f"{resource.type}, got {name!r}{hint}")
                resource.sensitive.add(name)
        resource.sensitive.update(param.name for param in type_class.params if param.sensitive)
        attrs = {}
        for param in type_class.params:
            value = given.get(param.name)
            if value is None and param.name == type_class.namevar:
                value = resource.title
            if value is None:
                if param.required:
                    raise CompileError(f"{where}: missing required attribute '{param.name}'")
                attrs[param.name] = _fresh(param.default)  # defaults are the type's own: trusted
                continue
            try:
                attrs[param.name] = param.convert(value)
            except ValueError as exc:
                problem = redact_problem(str(exc)) if param.name in resource.sensitive else str(exc)
                raise CompileError(f"{where}: {param.name}: {problem}") from None
            if param.name not in FREE_TEXT and _holds_nul(attrs[param.name]):
                raise CompileError(f"{where}: {param.name}: holds a NUL character (no path, name, command or "
                                   f"setting can)")
        try:
            type_class.validate(attrs)
        except ValueError as exc:
            problem = str(exc)
            if any(v is not None and str(v) in problem for k, v in attrs.items() if k in resource.sensitive):
                problem = problem.split(":")[0] + ": invalid value " + REDACTED
            raise CompileError(f"{where}: {problem}") from None
        resource.attrs = attrs
        resource.tags = {resource.type} | ({resource.module} if resource.module else set())
        resource.tags |= {str(tag).lower() for tag in _as_list(meta.get("tags"))}
        relations = {}
        for kind in RELATIONSHIPS:
            refs = []
            for ref in _as_list(meta.get(kind)):
                try:
                    refs.append(format_ref(*parse_ref(ref)))
                except ValueError as exc:
                    raise CompileError(f"{where}: {kind}: {exc}") from None
            if refs:
                relations[kind] = refs
        resource.relations = relations

    # -- the graph --------------------------------------------------------

    def finalize(self):
        """Build the edges, check for cycles, compute the order. Raises CompileError."""
        requires = {ref: [] for ref in self.resources}
        notifies = {}

        def edge(first, then):
            if first != then and first not in requires[then]:
                requires[then].append(first)

        for ref, resource in self.resources.items():
            for kind, targets in resource.relations.items():
                for target in targets:
                    if target not in self.resources:
                        raise CompileError(f"{resource.declared_by}: {ref}: {kind}: {target} is not "
                                           f"in the catalog")
                    if target == ref:
                        raise CompileError(f"{resource.declared_by}: {ref}: {kind}: dependency cycle: "
                                           f"{ref} -> {ref} (a resource cannot {kind} itself)")
                    if kind in ("require", "subscribe"):
                        edge(target, ref)
                    else:
                        edge(ref, target)
                    if kind == "notify":
                        notifies.setdefault(ref, []).append(target)
                    elif kind == "subscribe":
                        notifies.setdefault(target, []).append(ref)
            for needed in self.types.get(resource.type).autorequires(resource):
                if isinstance(needed, str):
                    if needed in self.resources:
                        edge(needed, ref)
                else:
                    for first in self._autorequired(needed):
                        edge(first, ref)
        self.requires = requires
        self.notifies = notifies
        self.dependents = {ref: [] for ref in self.resources}
        for ref, firsts in requires.items():
            for first in firsts:
                self.dependents[first].append(ref)
        self.order = self._topological_order()
        return self

    def _autorequired(self, needed):
        """The managed refs an autorequire that is not a plain ref names: of a tuple of refs the
        first managed one (the nearest enclosing mount); of a function(resource) -> bool every
        resource it accepts; of a Creates(path) the resource that creates path."""
        if isinstance(needed, Creates):
            creator = self.creator(needed.path)
            return [creator] if creator is not None else []
        if callable(needed):
            return [other.ref for other in self.resources.values() if needed(other)]
        for ref in needed:
            if ref in self.resources:
                return [ref]
        return []

    def _topological_order(self):
        index = {ref: i for i, ref in enumerate(self.resources)}
        missing = {ref: len(firsts) for ref, firsts in self.requires.items()}
        ready = [index[ref] for ref, count in missing.items() if count == 0]
        heapq.heapify(ready)
        refs = list(self.resources)
        order = []
        while ready:
            ref = refs[heapq.heappop(ready)]
            order.append(self.resources[ref])
            for dependent in self.dependents[ref]:
                missing[dependent] -= 1
                if missing[dependent] == 0:
                    heapq.heappush(ready, index[dependent])
        if len(order) != len(refs):
            cycle = self._find_cycle({ref for ref, count in missing.items() if count > 0})
            raise CompileError("dependency cycle: " + " -> ".join(cycle))
        return order

    def _find_cycle(self, stuck):
        """One cycle among the resources left over by the topological sort."""
        start = min(stuck, key=list(self.resources).index)
        path, seen = [start], {start: 0}
        ref = start
        while True:
            ref = next(first for first in self.requires[ref] if first in stuck)
            if ref in seen:
                cycle = path[seen[ref]:] + [ref]
                return list(reversed(cycle))
            seen[ref] = len(path)
            path.append(ref)


def _fresh(default):
    if isinstance(default, (list, dict)):
        return type(default)(default)
    return default


def did_you_mean(word, candidates):
    """The hint " (did you mean 'x'?)" naming the candidate closest to `word`, or an empty string."""
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
