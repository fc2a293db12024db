"""The run lock: flock on statedir/lock, the holder's pid written inside.

flock is released by the kernel when the holder dies, so a crashed run never
leaves a stale lock; the pid is only there to name the holder in the message.
"""
import fcntl
import os
import time

from confrt.errors import LockError

POLL_SECONDS = 0.1


class RunLock:
    def __init__(self, statedir):
        self.path = os.path.join(statedir, "lock")
        self.fd = None

    def acquire(self, wait_seconds=0):
        """Take the lock, waiting up to wait_seconds; LockError names the holder's pid."""
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LockError(f"{self.path}: cannot open the run lock: {exc.strerror}") from None
        deadline = time.monotonic() + max(0, wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    waited = f" after waiting {wait_seconds:g}s" if wait_seconds else ""
                    raise LockError(f"another confrt run (pid {holder}) holds {self.path}{waited}; "
                                    f"use --wait-lock SECONDS to wait for it") from None
                time.sleep(POLL_SECONDS)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only the holder goes unnamed
        self.fd = fd
        return self

    def release(self):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _read_pid(fd, patience=1.0):
    """The holder's pid. The holder writes it just after taking the flock, so an empty file
    is given a moment to fill; "unknown" only when the holder could not write it (a full disk)."""
    deadline = time.monotonic() + patience
    while True:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text or time.monotonic() >= deadline:
            return text or "unknown"
        time.sleep(0.01)
