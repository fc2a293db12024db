"""Reading data files (yaml_data, json_data): one-line errors with file, line and column."""
from confrt.errors import DataError


def read_mapping(path, backend="yaml_data", content=None):
    """The mapping in a YAML or JSON file ({} when empty), or in `content`, the bytes the file is to
    hold (a candidate not written yet, parsed in its place); anything else is a DataError."""
    from confrt.util.yamlfile import decode_text, load_json_file, load_yaml_file

    text = None if content is None else decode_text(content, path)
    data = load_json_file(path, text) if backend == "json_data" else load_yaml_file(path, text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data
