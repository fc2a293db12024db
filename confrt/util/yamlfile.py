"""YAML (and JSON) reading with one-line errors (file, line, column, problem).

Uses libyaml's C loader when PyYAML was built with it: it is several times
faster on large data files.

What PyYAML parses is bounded first (README, "Limits"): a document of at most
MAX_TEXT characters, nested at most MAX_DEPTH levels, holding at most MAX_VALUES
values once every alias is expanded (an alias bomb: a few hundred bytes that
expand to hundreds of millions), and no alias inside the collection it names (a
structure that holds itself). One pass over the parser's events checks them
before anything is built: libyaml's composer recurses in C and crashes the
process on a document nested some 100,000 deep. A key given twice in one
mapping is an error naming both lines (PyYAML keeps the last silently). Only a
text PyYAML really parses pays for this: the parse cache (util/parse_cache)
keeps the data of texts that passed.
"""
import os

from confrt.errors import DataError

MAX_TEXT = 16 << 20         # characters of one YAML or JSON text
MAX_DEPTH = 50              # nested lists and hashes
MAX_VALUES = 1000000        # scalars, lists and hashes, each alias counted as what it names
_OPEN = -1                  # an anchored collection still being read
_strict_loader = None


def _loader():
    """PyYAML's safe loader (libyaml's when there) that refuses a key given twice in a mapping."""
    global _strict_loader
    if _strict_loader is None:
        import yaml

        class ConfrtLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            def construct_mapping(self, node, deep=False):
                # the mapping's own keys: merged ones (`<<: *defaults`) may be set again
                own = [key for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"] \
                    if isinstance(node, yaml.MappingNode) else []
                mapping = super().construct_mapping(node, deep=deep)
                if len(own) > 1 and _repeated(self, own):
                    _raise_repeated(self, own)
                return mapping

        _strict_loader = ConfrtLoader
    return _strict_loader


def _repeated(loader, key_nodes):
    """True when two of a mapping's own keys (merge keys `<<` aside) are the same value."""
    keys = [loader.constructed_objects.get(node) for node in key_nodes]
    try:
        return len(set(keys)) < len(keys)
    except TypeError:  # an unhashable key: the constructor has refused it already
        return False


def _raise_repeated(loader, key_nodes):
    import yaml

    seen = {}
    for node in key_nodes:
        key = loader.constructed_objects.get(node)
        first = seen.setdefault(key, node)
        if first is not node:
            shown = key if isinstance(key, str) else repr(key)
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{shown}' (first at line {first.start_mark.line + 1}; "
                            f"the first would be dropped)", node.start_mark)


def check_limits(text, source, loader=None):
    """Refuse (DataError) a YAML text over MAX_TEXT, nested deeper than MAX_DEPTH, over MAX_VALUES
    values with its aliases expanded, or with an alias inside the collection it names; syntax
    errors are left to the loader (they raise yaml.YAMLError here too)."""
    if len(text) > MAX_TEXT:
        raise DataError(f"{source}: {len(text):,} characters of YAML, over confrt's limit of {MAX_TEXT:,}")
    from yaml import events

    scalar, alias = events.ScalarEvent, events.AliasEvent
    sequence, mapping = events.SequenceStartEvent, events.MappingStartEvent
    ends = (events.SequenceEndEvent, events.MappingEndEvent)
    parser = (loader or _loader())(text)
    sizes = {}    # anchor -> values it stands for (_OPEN while its collection is read)
    stack = []    # (anchor, count before it) of each open collection
    count = 0
    try:
        check, get = parser.check_event, parser.get_event
        while check():
            event = get()
            kind = type(event)
            if kind is scalar:
                count += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif kind is alias:
                size = sizes.get(event.anchor, 0)  # undefined: the composer says so
                if size == _OPEN:
                    _over(source, event, f"alias '*{event.anchor}' inside the collection it names "
                                         f"(a structure that holds itself)")
                count += size
                if count > MAX_VALUES:
                    _over(source, event, f"more than {MAX_VALUES:,} values once aliases are expanded "
                                         f"(alias '*{event.anchor}')")
                continue
            elif kind is sequence or kind is mapping:
                if len(stack) >= MAX_DEPTH:
                    _over(source, event, f"nested more than {MAX_DEPTH} levels deep")
                if event.anchor is not None:
                    sizes[event.anchor] = _OPEN
                stack.append((event.anchor, count))
                count += 1
            elif kind in ends:
                anchor, before = stack.pop()
                if anchor is not None:
                    sizes[anchor] = count - before
                continue
            else:
                continue
            if count > MAX_VALUES:
                _over(source, event, f"more than {MAX_VALUES:,} values")
    finally:
        parser.dispose()


def _over(source, event, problem):
    mark = event.start_mark
    raise DataError(f"{source}:{mark.line + 1}:{mark.column + 1}: YAML over confrt's limits: {problem}")


def load_yaml(text, source="<string>"):
    """Parse YAML text within the limits above; a syntax error becomes DataError
    'source:line:col: problem'."""
    import yaml

    try:
        loader = _loader()
        check_limits(text, source, loader)
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise DataError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{source}: invalid YAML: {exc}") from None


def load_yaml_file(path, text=None):
    """Read and parse a YAML file (through util.parse_cache); unreadable files become DataError too.
    `text`: the content the file is to hold (not written yet), parsed in place of reading it."""
    from confrt.util import parse_cache

    if text is None:
        try:
            text = _read_text(path)
        except DataError:
            parse_cache.forget(os.path.abspath(path))
            raise
    return parse_cache.parsed(os.path.abspath(path), text, lambda: load_yaml(text, path))


def load_json_file(path, text=None):
    """Read and parse a JSON file (None when it holds only white space), with the same
    one-line DataErrors: unreadable, not UTF-8, 'path:line:col: invalid JSON: problem'.
    `text`: the content the file is to hold, parsed in place of reading it."""
    import json

    if text is None:
        text = _read_text(path)
    if not text.strip():
        return None
    if len(text) > MAX_TEXT:
        raise DataError(f"{path}: {len(text):,} characters of JSON, over confrt's limit of {MAX_TEXT:,}")
    too_deep = f"{path}: JSON over confrt's limits: nested more than {MAX_DEPTH} levels deep"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:  # deeper than Python itself follows
        raise DataError(too_deep) from None
    if measure(data)[0] > MAX_DEPTH:
        raise DataError(too_deep)
    return data


def measure(value):
    """(depth, values) of `value`: how many lists and hashes deep it is (0 for a scalar) and how
    many scalars, lists and hashes (and keys) it holds, a collection held in several places counted
    in each, as printing it would. Without recursion, each collection visited once however often it
    is shared (an alias bomb costs what its text does); it stops early, with a result over a limit,
    past MAX_DEPTH or MAX_VALUES, and a structure that holds itself is MAX_DEPTH + 1 deep."""
    if not isinstance(value, (dict, list)):
        return 0, 1
    done = {}          # id -> (depth, values) of each collection measured
    path = set()       # ids of the collections around the one being visited
    stack = [(value, False)]
    while stack:
        item, finished = stack.pop()
        key = id(item)
        children = item.values() if isinstance(item, dict) else item
        if finished:
            path.discard(key)
            deepest, count = 0, 1 + (len(item) if isinstance(item, dict) else 0)
            for child in children:
                if isinstance(child, (dict, list)):
                    child_depth, child_count = done[id(child)]
                    deepest = child_depth if child_depth > deepest else deepest
                    count += child_count
                else:
                    count += 1
            done[key] = result = (deepest + 1, count)
            if deepest + 1 > MAX_DEPTH or count > MAX_VALUES:
                return result
        elif key not in done:
            if key in path or len(path) >= MAX_DEPTH:
                return MAX_DEPTH + 1, 0
            path.add(key)
            stack.append((item, True))
            stack.extend((child, False) for child in children if isinstance(child, (dict, list)))
    return done[id(value)]


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    return decode_text(raw, path)


def decode_text(raw, path):
    """The UTF-8 text of the bytes `raw` of the file at `path`, else a DataError naming it."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def dump_yaml(data):
    """YAML text of `data` in block style; plain data is written without importing PyYAML."""
    from confrt.util.yamlemit import emit

    text = emit(data)
    if text is not None:
        return text
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=False)
