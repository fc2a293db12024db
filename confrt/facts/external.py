"""Facts from files: `--facts FILE` and the facts_dir (like facter's facts.d)."""
import os

from confrt.errors import ConfrtError, FactError

EXTENSIONS = (".yaml", ".yml", ".json")


def load_facts_file(path):
    """A YAML or JSON mapping of fact names; any problem is one FactError line naming the file."""
    from confrt.util.yamlfile import load_json_file, load_yaml_file

    path = str(path)
    try:
        data = (load_json_file if path.endswith(".json") else load_yaml_file)(path)
    except ConfrtError as exc:  # a DataError from the reader: unreadable, not UTF-8, bad syntax
        raise FactError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FactError(f"{path}: expected a mapping of fact names, got {_kind(data)}")
    for key in data:
        if not isinstance(key, str) or not key:
            raise FactError(f"{path}: {key!r}: fact names must be non-empty strings")
    return data


def load_facts_dir(directory):
    """The mapping of every *.yaml, *.yml, *.json file in `directory`, in file-name order.

    A missing directory holds no facts; a bad file is a FactError naming it.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise FactError(f"{directory}: cannot list facts directory: {exc.strerror}") from None
    return [load_facts_file(os.path.join(directory, name))
            for name in names if name.endswith(EXTENSIONS) and not name.startswith(".")]


def _kind(value):
    return {list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "true/false"}.get(type(value), type(value).__name__)
