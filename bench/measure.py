"""Timing one command: wall time, CPU time and peak RSS of that run alone.

getrusage(RUSAGE_CHILDREN) sums the CPU of every child so far and keeps the
largest RSS of all of them; os.wait4 gives the CPU of exactly the process it
reaps. Its peak RSS is no good either: a child's maxrss counts the memory it
shared with its parent between fork and exec, so every command would weigh at
least as much as this Python process. GNU time forks from a process of ~1 MiB,
so the command runs under /usr/bin/time -f %M (Debian package `time`) when it is
installed; without it the RSS is wait4's, an upper bound.
"""
import collections
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time


class Sample(collections.namedtuple("Sample", "wall cpu rss_mib returncode stdout stderr")):
    """One run: wall and CPU seconds, peak RSS in MiB, exit code, and its output."""

    __slots__ = ()

    def last_error_line(self):
        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return lines[-1] if lines else ""


TIME = "/usr/bin/time"


def run(argv, env=None, cwd=None, timeout=3600):
    """Run argv once and measure it; output goes to temp files (no pipe can fill up).

    A run that outlives `timeout` seconds is killed with its process group (exit code -9).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        prefix = [TIME, "-f", "%M", "-o", peak.name] if os.access(TIME, os.X_OK) else []
        start = time.perf_counter()
        process = subprocess.Popen(prefix + list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
        killer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        rss_kib = usage.ru_maxrss
        if prefix:
            lines = peak.read().split()
            rss_kib = int(lines[-1]) if lines and lines[-1].isdigit() else rss_kib
            if lines[:3] == ["Command", "terminated", "by"]:  # GNU time exits 1 and says which signal
                process.returncode = -int(lines[4])
        out.seek(0)
        err.seek(0)
        return Sample(wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024.0, process.returncode,
                      out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def summary(samples):
    """Medians (and the spread) of a series of samples, rounded for the report."""
    walls = [s.wall for s in samples]
    return {
        "runs": len(samples),
        "wall_s": round(statistics.median(walls), 4),
        "wall_min_s": round(min(walls), 4),
        "wall_max_s": round(max(walls), 4),
        "cpu_s": round(statistics.median(s.cpu for s in samples), 4),
        "rss_mib": round(max(s.rss_mib for s in samples), 1),
        "walls_s": [round(wall, 4) for wall in walls],   # in run order: runs of tools interleave
    }
