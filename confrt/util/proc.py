"""Running commands: argv lists, never a shell unless asked, always a timeout."""
import subprocess

DEFAULT_TIMEOUT = 300


class CommandResult:
    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self):
        return self.returncode == 0

    def describe(self):
        """One line for logs: the command, its exit code and its last output line."""
        tail = (self.stderr or self.stdout or "").strip().splitlines()
        last = tail[-1] if tail else ""
        return f"{' '.join(self.argv)} exited {self.returncode}" + (f": {last}" if last else "")


def run(argv, timeout=DEFAULT_TIMEOUT, env=None, cwd=None, input=None, user=None):
    """Run argv; return a CommandResult. A timeout or a missing program gives returncode 127/124."""
    kwargs = {}
    if user is not None:
        kwargs["user"] = user
    try:
        completed = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
            input=input, errors="replace", **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return CommandResult(argv, 124, out, f"timed out after {timeout}s")
    except (FileNotFoundError, PermissionError) as exc:
        return CommandResult(argv, 127, "", f"cannot run {argv[0]}: {exc.strerror}")
    return CommandResult(argv, completed.returncode, completed.stdout, completed.stderr)
