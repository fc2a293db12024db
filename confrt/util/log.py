"""The run log of `confrt run`: a file under run.log_dir and syslog.

The file (<log_dir>/run.log, 0640) gets every line the run prints, time-stamped;
it is rotated by the logrotate file confrt ships (cron/confrt.logrotate), and
each run opens it afresh, so a rotation between runs needs no signal.

Syslog (/dev/log, facility daemon, tag confrt) gets the same lines unless the
run's output already reaches a log: systemd sets JOURNAL_STREAM for a unit's
journal stream, and a pipe means the caller collects it (the cron file pipes
into logger). So no line lands twice in the journal.

Only what the run prints reaches the log: the report's lines are already
redacted, so secrets do not reach it either.
"""
import logging
import os
import re
import stat
import sys

LOGGER_NAME = "confrt.run"
LOG_FILE = "run.log"
SYSLOG_SOCKET = "/dev/log"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def open_run_log(log_dir, syslog_socket=SYSLOG_SOCKET, stream=None):
    """A logger writing to <log_dir>/run.log and, when wanted, to syslog; never to the console.

    A log directory that cannot be written is a warning on stderr, not a failed run.
    """
    logger = logging.getLogger(LOGGER_NAME)
    close_run_log(logger)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.addHandler(_file_handler(log_dir))
    except OSError as exc:
        print(f"confrt: warning: {log_dir}: cannot write the run log: {exc.strerror or exc}", file=sys.stderr)
    if syslog_socket and os.path.exists(syslog_socket) and not output_is_collected(stream or sys.stdout):
        from logging.handlers import SysLogHandler

        try:
            handler = SysLogHandler(address=syslog_socket, facility=SysLogHandler.LOG_DAEMON)
        except OSError:
            pass  # no syslog daemon listening: the file log still has everything
        else:
            handler.setFormatter(logging.Formatter("confrt[%(process)d]: %(message)s"))
            logger.addHandler(handler)
    return logger


def close_run_log(logger):
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def _file_handler(log_dir):
    os.makedirs(log_dir, mode=0o750, exist_ok=True)
    path = os.path.join(log_dir, LOG_FILE)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640))
    handler = FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s confrt[%(process)d] %(levelname)s %(message)s",
                                           datefmt="%Y-%m-%dT%H:%M:%S%z"))
    return handler


class FileHandler(logging.FileHandler):
    """logging's FileHandler for the run log. A write that fails (a full disk) is one warning line
    on stderr, and the file is left alone for the rest of the run (logging would print a
    traceback per line)."""

    failed = False

    def emit(self, record):
        if not self.failed:
            super().emit(record)

    def handleError(self, record):
        if not self.failed:
            self.failed = True
            error = sys.exc_info()[1]
            print(f"confrt: warning: {self.baseFilename}: cannot write the run log: "
                  f"{getattr(error, 'strerror', None) or error}", file=sys.stderr)

    def close(self):
        try:
            super().close()
        except OSError:
            pass  # the unwritten lines were already warned about


def output_is_collected(stream):
    """True when `stream` already goes to a log: the systemd journal or a pipe (`| logger`)."""
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    if os.environ.get("JOURNAL_STREAM") == f"{st.st_dev}:{st.st_ino}":
        return True
    return stat.S_ISFIFO(st.st_mode)


class LoggedStream:
    """A text stream that also logs each complete line (colour codes removed) at `level`."""

    def __init__(self, stream, logger, level):
        self.stream = stream
        self.logger = logger
        self.level = level
        self._partial = ""

    def write(self, text):
        self.stream.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self.logger.log(self.level, _ANSI_ESCAPE.sub("", line))
        return len(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return self.stream.isatty()
