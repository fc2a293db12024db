"""Timing one command: wall time, CPU time and peak RSS of that child alone (os.wait4).

getrusage(RUSAGE_CHILDREN) sums the CPU of every child so far and keeps the
largest RSS of all of them, so it cannot tell one run's peak; wait4 returns the
rusage of exactly the process it reaps (including the children it waited for).
"""
import os
import statistics
import subprocess
import tempfile
import time


class Sample:
    """One run: wall and CPU seconds, peak RSS in MiB, exit code, and its output."""

    __slots__ = ("wall", "cpu", "rss_mib", "returncode", "stdout", "stderr")

    def __init__(self, wall, cpu, rss_mib, returncode, stdout, stderr):
        self.wall = wall
        self.cpu = cpu
        self.rss_mib = rss_mib
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def last_error_line(self):
        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return lines[-1] if lines else ""


def run(argv, env=None, cwd=None, timeout=3600):
    """Run argv once and measure it; output goes to temp files (no pipe can fill up).

    A run that outlives `timeout` seconds is killed (its exit code is then -9).
    """
    import threading

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, process.returncode,
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
    }
