"""confrt: a masterless configuration-management runtime."""

__version__ = "0.1.0"
