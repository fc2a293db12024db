"""Reading data files (yaml_data, json_data): one-line errors with file, line and column."""
from confrt.errors import DataError


def read_mapping(path, backend="yaml_data"):
    """The mapping in a YAML or JSON file ({} when empty); anything else is a DataError."""
    if backend == "json_data":
        data = _read_json(path)
    else:
        from confrt.util.yamlfile import load_yaml_file

        data = load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data


def _read_json(path):
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read: {error}") from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from None
