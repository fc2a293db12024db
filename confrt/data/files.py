"""Reading data files (yaml_data, json_data): one-line errors with file, line and column."""
from confrt.errors import DataError


def read_mapping(path, backend="yaml_data"):
    """The mapping in a YAML or JSON file ({} when empty); anything else is a DataError."""
    from confrt.util.yamlfile import load_json_file, load_yaml_file

    data = load_json_file(path) if backend == "json_data" else load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data
