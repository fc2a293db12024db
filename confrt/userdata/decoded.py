"""What userdata decodes to, before anything is written."""
from confrt.errors import UserdataError


class WriteFile:
    """A file the userdata asks for (write_files entry or glidein proxy)."""

    def __init__(self, path, content, mode=0o644, owner="root:root", append=False, sensitive=False):
        self.path = path
        self.content = content
        self.mode = mode
        self.owner = owner
        self.append = append
        self.sensitive = sensitive


class Script:
    """A `#!` script to run once per instance after the apply."""

    def __init__(self, name, content):
        self.name = name
        self.content = content


class Decoded:
    """Local data keys, files to write, scripts to run, and warnings for the operator.

    amiconfig_plugins: the amiconfig plugins enabled for this userdata (a set), or None when no
    part of it is amiconfig's: with rootsshkeys enabled, the metadata's root key selects sshkeys.
    """

    def __init__(self, data=None, what="userdata"):
        self.data = {}
        self.files = []
        self.scripts = []
        self.warnings = []
        self.amiconfig_plugins = None
        if data:
            merge_data(self.data, data, what)

    def extend(self, other, what="userdata"):
        merge_data(self.data, other.data, what)
        self.files.extend(other.files)
        self.scripts.extend(other.scripts)
        self.warnings.extend(other.warnings)
        if other.amiconfig_plugins is not None:
            self.amiconfig_plugins = (self.amiconfig_plugins or set()) | other.amiconfig_plugins
        return self


def merge_data(into, new, what):
    """Later parts win per top-level key, except `classes`, which are unioned in order."""
    for key, value in new.items():
        if not isinstance(key, str):
            raise UserdataError(f"{what}: data key {key!r} is not a string")
        if key == "classes":
            if not isinstance(value, list):
                raise UserdataError(f"{what}: classes: expected a list, got {type(value).__name__}")
            merged = list(into.get("classes", []))
            merged.extend(item for item in value if item not in merged)
            into["classes"] = merged
        else:
            into[key] = value
