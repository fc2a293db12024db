"""YAML (and JSON) reading with one-line errors (file, line, column, problem).

Uses libyaml's C loader when PyYAML was built with it: it is several times
faster on large data files.
"""
import os

from confrt.errors import DataError


def _loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text, source="<string>"):
    """Parse YAML text; a syntax error becomes DataError 'source:line:col: problem'."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise DataError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{source}: invalid YAML: {exc}") from None


def load_yaml_file(path):
    """Read and parse a YAML file (through util.parse_cache); unreadable files become DataError too."""
    from confrt.util import parse_cache

    try:
        text = _read_text(path)
    except DataError:
        parse_cache.forget(os.path.abspath(path))
        raise
    return parse_cache.parsed(os.path.abspath(path), text, lambda: load_yaml(text, path))


def load_json_file(path):
    """Read and parse a JSON file (None when it holds only white space), with the same
    one-line DataErrors: unreadable, not UTF-8, 'path:line:col: invalid JSON: problem'."""
    import json

    text = _read_text(path)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
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
