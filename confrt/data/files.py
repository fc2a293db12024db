"""Reading data files (yaml_data, json_data): one-line errors with file, line and column."""
from confrt.errors import DataError


def read_mapping(path, backend="yaml_data", content=None):
    """The mapping in a YAML or JSON file ({} when empty), or in `content`, the bytes the file will
    hold (a candidate not written yet: parsed in memory, past the parse cache); anything else is a
    DataError."""
    from confrt.util.yamlfile import decode_text, load_json, load_json_file, load_yaml, load_yaml_file

    if content is not None:
        text = decode_text(content, path)
        data = load_json(text, path) if backend == "json_data" else load_yaml(text, path)
    else:
        data = load_json_file(path) if backend == "json_data" else load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data
