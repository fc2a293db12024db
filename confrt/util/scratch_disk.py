"""Caches that live on the instance's ephemeral disk when there is one.

The ephemeral_disk module publishes the fact `ephemeral_disk` ({mountpoint,
size_bytes, cache_mb, jobs_mb, ...}); cvmfs and squid put their caches there and size them from it.
On a worker the disk is shared: cache_mb is the caches' budget (the CVMFS cache), the rest the
jobs' (condor's EXECUTE, OSG_WN_TMP), and condor keeps cache_mb from the disk it advertises.
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


def on_scratch(facts, path):
    """True when `path` is on the ephemeral disk (below its mount point)."""
    scratch = facts.get("ephemeral_disk.mountpoint")
    return bool(scratch) and (path.rstrip("/") + "/").startswith(scratch.rstrip("/") + "/")


def cache_budget_mb(facts):
    """MB of the ephemeral disk kept for caches: the fact's cache_mb, else (a fact given without it)
    ephemeral_disk's default budget, 20% of the disk at most 50000 MB; 0 without a disk."""
    budget = facts.get("ephemeral_disk.cache_mb")
    if budget is not None:
        return int(budget)
    size = int(facts.get("ephemeral_disk.size_bytes", 0) or 0) // MIB
    return min(size // 5, 50000)
