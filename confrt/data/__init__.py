"""The data store: Hiera 5 compatible layered data (hiera.yaml, interpolation, merges)."""
from confrt.data.keys import MISSING
from confrt.data.store import DataStore

__all__ = ["DataStore", "MISSING"]
