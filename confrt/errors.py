"""Errors that end a command with one clear line and a non-zero exit.

Every error confrt expects (bad config, bad data, bad userdata, a compile
error) is a ConfrtError; its message is the single line the user sees, naming
the file, the key and the problem. Anything else is a bug and shows a traceback
only with --debug.
"""


class ConfrtError(Exception):
    """An expected failure: str(error) is the one line shown to the user."""

    exit_code = 1


class ConfigError(ConfrtError):
    """/etc/confrt/confrt.yaml is unreadable or wrong."""


class DataError(ConfrtError):
    """A data file or hiera.yaml is unreadable or wrong, or a lookup cannot be done."""


class LookupNotFound(DataError):
    """A key has no value at any level of the hierarchy."""


class FactError(ConfrtError):
    """A facts file given with --facts or in facts.d is wrong."""


class CompileError(ConfrtError):
    """The catalog cannot be compiled: nothing is changed."""


class UserdataError(ConfrtError):
    """Userdata could not be fetched or decoded: local_data stays as it was."""


class LockError(ConfrtError):
    """Another confrt run holds the run lock."""


class StateError(ConfrtError):
    """confrt's own state (statedir: the run report) cannot be written."""
