"""Caches that live on the instance's ephemeral disk when there is one.

The ephemeral_disk module publishes the fact `ephemeral_disk` ({mountpoint,
size_bytes, cache_mb, jobs_mb, ...}); cvmfs and squid put their caches there and size them from it.
On a worker the disk is shared: cache_mb is the caches' budget (the CVMFS cache), the rest the
jobs' (condor's EXECUTE, OSG_WN_TMP), and condor keeps cache_mb from the disk it advertises.
"""
import os

MIB = 1024 * 1024
#: the caches' share of the disk by default: ephemeral_disk's cache_percent and cache_max_mb
DEFAULT_CACHE_PERCENT = 20
DEFAULT_CACHE_MAX_MB = 50000


def cache_location(facts, configured, subdir, default):
    """(cache directory, size in MiB of the scratch disk it is on, or 0 when not on it).

    `configured` wins when set; else `<mountpoint>/<subdir>` when the disk is mounted, else
    `default`.
    """
    scratch = facts.get("ephemeral_disk.mountpoint")
    directory = configured or (os.path.join(scratch, subdir) if scratch else default)
    size = int(facts.get("ephemeral_disk.size_bytes", 0) or 0) // MIB
    return directory, size if on_scratch(facts, directory) else 0


def on_scratch(facts, path):
    """True when `path` is on the ephemeral disk (below its mount point)."""
    scratch = facts.get("ephemeral_disk.mountpoint")
    return bool(scratch) and (path.rstrip("/") + "/").startswith(scratch.rstrip("/") + "/")


def cache_budget_mb(facts):
    """MB of the ephemeral disk kept for caches: the fact's cache_mb, else (a fact given without it)
    ephemeral_disk's default budget (cache_budget()); 0 without a disk."""
    budget = facts.get("ephemeral_disk.cache_mb")
    if budget is not None:
        return int(budget)
    return cache_budget(int(facts.get("ephemeral_disk.size_bytes", 0) or 0) // MIB)


def cache_budget(size_mb, percent=DEFAULT_CACHE_PERCENT, max_mb=DEFAULT_CACHE_MAX_MB):
    """MB of the disk kept for caches (the CVMFS cache, its quota and margin) where jobs share the disk:
    `percent` of it, at most `max_mb`. The rest is the jobs' (condor's EXECUTE, OSG_WN_TMP)."""
    return max(min(size_mb * percent // 100, max_mb), 0)
