"""Entry points of installed distributions, with a cheap look first.

importlib.metadata costs ~20 ms per run to import (email, zipfile, pathlib, csv)
and reads every distribution's metadata, and confrt asks it for two groups that
usually no distribution declares. declared_groups() lists the sys.path folders
and reads only their entry_points.txt files (where importlib.metadata finds
entry points), so importlib.metadata is loaded only when a group is declared.
"""
import os
import sys

DISTRIBUTION_SUFFIXES = (".dist-info", ".egg-info")


def declared_groups(paths=None):
    """The groups named in the entry_points.txt files of the distributions on `paths` (sys.path).

    None when a path entry is a zip file or an egg, which only importlib.metadata reads.
    """
    groups = set()
    for entry in sys.path if paths is None else paths:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except NotADirectoryError:
            return None
        except OSError:
            continue
        for name in names:
            if name.endswith(DISTRIBUTION_SUFFIXES) or name == "EGG-INFO":
                groups.update(_groups(os.path.join(directory, name, "entry_points.txt")))
    return groups


def _groups(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    return [line.strip()[1:-1].strip() for line in text.splitlines() if line.strip().startswith("[")]


def declared(group):
    """True when some distribution may declare entry points in `group`."""
    groups = declared_groups()
    return groups is None or group in groups


def entry_points(group):
    """The EntryPoint objects of `group` ([] at once when no distribution declares it)."""
    if not declared(group):
        return []
    from importlib.metadata import entry_points as all_entry_points

    found = all_entry_points()
    return list(found.select(group=group) if hasattr(found, "select") else found.get(group, []))
