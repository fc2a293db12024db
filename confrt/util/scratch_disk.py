"""Caches that live on the instance's ephemeral disk when there is one.

The ephemeral_disk module publishes the fact `ephemeral_disk` ({mountpoint,
size_bytes, ...}); cvmfs and squid put their caches there and size them from it.
"""
import os

MIB = 1024 * 1024


def cache_location(facts, configured, subdir, default):
    """(cache directory, size in MiB of the scratch disk it is on, or 0 when not on it).

    `configured` wins when set; else `<mountpoint>/<subdir>` when the disk is mounted, else
    `default`.
    """
    scratch = facts.get("ephemeral_disk.mountpoint")
    directory = configured or (os.path.join(scratch, subdir) if scratch else default)
    size = int(facts.get("ephemeral_disk.size_bytes", 0) or 0) // MIB
    on_scratch = bool(scratch) and (directory + "/").startswith(scratch.rstrip("/") + "/")
    return directory, size if on_scratch else 0
