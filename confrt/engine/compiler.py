"""Compile: data selects modules (classes), modules get their parameters, resources form a catalog.

Any error here is a CompileError (one line naming the file, key and problem)
and happens before anything on the system is touched.
"""
import difflib
import os

from confrt.engine.catalog import Catalog
from confrt.engine.module import ModuleContext, render_template, template_facts
from confrt.engine.params import redact_problem
from confrt.errors import CompileError, LookupNotFound
from confrt.resources.base import METAPARAMS

CLASSES_KEY = "classes"
#: 'prefix::' keys that belong to no module: confrt's own (the metadata `confrt userdata` writes)
RESERVED_PREFIXES = ("confrt",)
CLASSES_MERGE = {"strategy": "unique", "knockout_prefix": "--"}


class CompileEnv:
    """What ResourceType.prepare() may use at compile time: facts, module templates and files;
    written_before: {path: content} of the files a step before the apply writes (confrt run's
    userdata, written once this compile has succeeded)."""

    def __init__(self, facts, modules, written_before=None):
        self.facts = facts
        self.modules = modules
        self.written_before = written_before or {}

    def is_file(self, path):
        """True when `path` is a file, or is one a step before the apply writes."""
        return path in self.written_before or os.path.isfile(path)

    def _module_path(self, spec, folder):
        if os.path.isabs(spec):
            return spec
        name, _, rest = spec.partition("/")
        module = self.modules.get(name)
        if module is None or not module.path or not rest:
            raise ValueError(f"{spec!r}: expected an absolute path or '<module>/<name>'")
        return os.path.join(module.path, folder, rest)

    def module_file(self, spec):
        """'/abs/path' or '<module>/<name>' (the module's files/<name>) -> a path."""
        return self._module_path(spec, "files")

    def render(self, spec, variables):
        """Render '/abs/template.j2' or '<module>/<name>' (its templates/<name>)."""
        path = self._module_path(spec, "templates")
        return render_template(os.path.dirname(path), os.path.basename(path),
                               dict({"facts": template_facts(self.facts)}, **variables), label=spec)


class Compiler:
    """compile() -> a finalized Catalog; warnings go to warn(message)."""

    def __init__(self, store, facts, modules, types, warn=print, written_before=None):
        self.store = store
        self.written_before = written_before
        self.facts = facts
        self.modules = modules
        self.types = types
        self.warn = warn
        self.classes = []
        self.knocked_out = []     # classes removed with '--name' whose modules undo themselves
        self.params = {}          # module name -> {param: value}

    def compile(self):
        self.classes = self.select_classes()
        self.knocked_out = self.select_knocked_out()
        catalog = Catalog(self.types)
        env = CompileEnv(self.facts, self.modules, self.written_before)
        included = [self.modules[name] for name in self.classes]
        undone = [self.modules[name] for name in self.knocked_out]
        sensitive, secrets = {}, {}
        for module in included + undone:
            self.params[module.name], sensitive[module.name], secrets[module.name] = self.module_params(module)
        self.publish_facts(included)
        declared = [(module, "declare") for module in included] + [(module, "declare_absent") for module in undone]
        for module, function_name in declared:
            params = self.params[module.name]
            ctx = ModuleContext(module, params, self.facts, warn=self.warn, sensitive=sensitive[module.name],
                                origin=self._origin)
            for resource in module.declare(params, self.facts, ctx, function_name):
                _mark_secrets(resource, secrets[module.name])
                try:
                    added = catalog.add(resource)
                except CompileError as exc:
                    raise CompileError(self._blame(module, sensitive[module.name], resource, str(exc))) from None
                type_class = self.types.get(added.type)
                try:
                    type_class.prepare(added, env)
                except (ValueError, CompileError) as exc:  # e.g. a template: name the data that asked
                    raise CompileError(f"{added.declared_by}: {added.ref}: {exc}") from None
        self.warn_unknown_keys()
        return catalog.finalize()

    def publish_facts(self, modules):
        """Register every included module's FACTS before any declare() runs: then a module fact
        reads the same whatever the order of the classes."""
        publishers = {}
        for module in modules:
            for name in module.facts:
                if name in publishers:
                    raise CompileError(f"{module.code_file}: FACTS: fact '{name}' is published by module "
                                       f"{publishers[name]} too")
                publishers[name] = module.name
            module.publish_facts(self.facts, self.params[module.name])

    def select_classes(self):
        """lookup('classes', unique merge, knockout '--'), each checked to be a known module.

        The unique merge always gives a list, without repeats and without knockout markers
        (confrt/data/merge.py): what is left to check is that each item names a module.
        """
        try:
            classes = self.store.lookup(CLASSES_KEY, merge=CLASSES_MERGE)
        except LookupNotFound:
            return []
        for name in classes:
            if not isinstance(name, str):
                raise CompileError(f"{self._origin(CLASSES_KEY)}: {CLASSES_KEY}: expected module names, "
                                   f"got {name!r}")
            if name not in self.modules:
                close = difflib.get_close_matches(name, list(self.modules), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise CompileError(f"{self._origin(CLASSES_KEY, name)}: {CLASSES_KEY}: unknown class "
                                   f"'{name}' (no module of that name{hint})")
        return classes

    def select_knocked_out(self):
        """Modules with declare_absent() whose class a level knocks out ('--name') and none keeps."""
        try:
            raw = self.store.lookup(CLASSES_KEY, merge={"strategy": "unique"})
        except LookupNotFound:
            return []
        prefix = CLASSES_MERGE["knockout_prefix"]
        markers = [item[len(prefix):] for item in raw if isinstance(item, str) and item.startswith(prefix)]
        return [name for name in dict.fromkeys(markers)
                if name not in self.classes and name in self.modules and self.modules[name].undoes_itself]

    def module_params(self, module):
        """({param: value} from the keys '<module>::<param>', the names of the sensitive
        parameters, the strings their values hold)."""
        values, sensitive, secrets = {}, set(), []
        for param in module.params:
            key = f"{module.name}::{param.name}"
            try:
                value = self.store.lookup(key)
            except LookupNotFound:
                if param.required:
                    raise CompileError(f"{key}: required parameter of module {module.name} has no "
                                       f"value in the data") from None
                value = param.default
            secret = param.sensitive or self.store.is_sensitive(key)
            try:
                values[param.name] = param.convert(value)
            except ValueError as exc:
                problem = redact_problem(str(exc)) if secret else str(exc)
                raise CompileError(f"{self._origin(key)}: {key}: {problem}") from None
            if secret:
                sensitive.add(param.name)
                secrets.extend(_strings(values[param.name]))
        return values, sensitive, secrets

    def _blame(self, module, sensitive, resource, problem):
        """`problem` of a resource a module made, led by the file and key of the parameter whose
        value it holds (a path parameter that is not absolute...), when one given in the data does."""
        values = [resource.title] + list(resource.attrs.values())
        for param in module.params:
            value = self.params[module.name].get(param.name)
            if param.name in sensitive or value == param.default or not isinstance(value, (str, int)) \
                    or isinstance(value, bool) or value == "":
                continue
            if any(value == held or (isinstance(held, list) and value in held) for held in values):
                key = f"{module.name}::{param.name}"
                return f"{self._origin(key)}: {key}: {problem}"
        return problem

    def warn_unknown_keys(self):
        """A key 'm::x' whose m is no module on the modulepath (confrt's own 'confrt::' keys aside),
        or whose m is an included module without a parameter x; each with a did-you-mean."""
        from confrt.engine.catalog import did_you_mean

        included = set(self.classes)
        for key in sorted(k for k in self.store.keys() if "::" in k):
            name, _, param = key.partition("::")
            if name in RESERVED_PREFIXES:
                continue
            if name not in self.modules:
                hint = did_you_mean(name, list(self.modules))
                self.warn(f"{self._origin(key)}: {key}: no module named '{name}'{hint}")
                continue
            if name not in included or "::" in param:
                continue
            module = self.modules[name]
            if module.param(param) is None:
                close = difflib.get_close_matches(param, [p.name for p in module.params], n=1)
                hint = f" (did you mean '{name}::{close[0]}'?)" if close else ""
                self.warn(f"{self._origin(key)}: {key}: not a parameter of module {name}{hint}")

    def _origin(self, key, containing=None):
        """The data file that gave `key` (the one whose value holds `containing`)."""
        origins = self.store.origins(key)
        for path, raw in origins:
            if containing is None or (isinstance(raw, list) and containing in raw):
                return path
        return origins[0][0] if origins else "<data>"


def _strings(value):
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _mark_secrets(resource, secrets):
    """Any attribute whose text holds a sensitive parameter's value is sensitive itself."""
    if not secrets:
        return
    for name, value in list(resource.attrs.items()):
        if name in METAPARAMS:  # relations, tags: never shown as values, and no attribute to mark
            continue
        texts = _strings(value)
        if any(secret in text for text in texts for secret in secrets):
            resource.attrs.setdefault("sensitive", [])
            marked = resource.attrs["sensitive"]
            if marked is not True:
                names = marked if isinstance(marked, list) else [] if marked is None or marked is False else [marked]
                resource.attrs["sensitive"] = list(names) + [name]
