"""lookup_options as Hiera 5 reads them, for whoever asks which options a key has.

The files' lookup_options are hash-merged (a name set higher wins, the hash keeps the lowest
file's order of names); a key's options are then those of its exact name, else those of the
first '^regex' in that order that matches it. The data store, `userdata build` (which keys to
encrypt) and `userdata show` (which values to hide) all read them here. Build and show see only
some of the node's files (not the levels below local_data), whose order of names the node's
merge takes: they may mark more than the store, never less of what they see marked. Each caller
checks the entries first, with its own messages.
"""
import re

LOOKUP_OPTIONS = "lookup_options"


class LookupOptions:
    """Merged lookup_options: {key name or '^regex': options hash}, the regexes compiled once."""

    def __init__(self, merged):
        self._exact = {}
        self._patterns = []
        for name, options in merged.items():
            if name.startswith("^"):
                self._patterns.append((re.compile(name), options))
            else:
                self._exact[name] = options

    @classmethod
    def merged(cls, found):
        """The lookup_options of several files, `found` [(path, options hash)] highest first."""
        from confrt.data.merge import Merge

        return cls(Merge("hash").merge(found, LOOKUP_OPTIONS) if found else {})

    def of(self, key):
        """The options of a root key: its exact name's, else the first matching regex's, else {}."""
        if key in self._exact:
            return self._exact[key]
        for pattern, options in self._patterns:
            if pattern.search(key):
                return options
        return {}

    def sensitive(self, key):
        return self.of(key).get("sensitive") is True


def regex_problem(name):
    """Why the name, a '^regex', does not compile (None when it does, or is a plain key name)."""
    if not name.startswith("^"):
        return None
    try:
        re.compile(name)
    except re.error as error:
        return str(error)
    return None
