"""The "as installed" lane: confrt built as a wheel, installed into fresh venvs, run as users run it.

Nothing of the test process reaches a confrt process: the console script of the venv
(`VENV/bin/confrt`) runs as a subprocess from `/` with a bare environment (PATH, LANG and,
for host runs, CONFRT_PARSE_CACHE so the host's /var/cache/confrt is left alone); never
PYTHONPATH. The venvs are made without --system-site-packages from Debian's /usr/bin/python3
and from a Python 3.9, so a module the test interpreter happens to import at start-up (this
machine's pyenv has a .pth hook) cannot hide a crash that every user would see (issue 13).

CONFRT_LANE_TREE=DIR builds the wheel from DIR instead of this checkout (e.g. a git worktree
of an older commit, to show that the lane catches what it is for).
"""
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TREE = os.path.abspath(os.environ.get("CONFRT_LANE_TREE") or REPO)

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: What the test process's environment must not hand to pip (it builds and installs for the venv).
PYTHON_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "CONFRT_CONFIG")

#: Signs of a crash instead of a clean error, in any output of the lane.
CRASH_SIGNS = ("internal error", "Traceback")


def _probe(candidate):
    """The base (non-venv) interpreter behind `candidate` when it is a Python 3.9, else None.

    A pyenv shim is a shell script that may or may not find a 3.9; asking the candidate itself
    for sys.executable resolves it to the real interpreter or rules it out."""
    if not candidate or not os.access(candidate, os.X_OK):
        return None
    code = "import sys; print(sys.executable if sys.version_info[:2] == (3, 9) and sys.prefix == sys.base_prefix else '')"
    try:
        result = subprocess.run([candidate, "-c", code], capture_output=True, text=True, timeout=30,
                                env=pip_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = result.stdout.strip() if result.returncode == 0 else ""
    return found or None


def find_python39():
    """A real Python 3.9 interpreter (not a shim, not a venv), or None."""
    pyenv_root = os.environ.get("PYENV_ROOT") or "/root/.pyenv"
    candidates = ["/usr/bin/python3.9", "/usr/local/bin/python3.9", shutil.which("python3.9"),
                  *sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.9*", "bin", "python3.9")))]
    for candidate in candidates:
        found = _probe(candidate)
        if found:
            return found
    return None


def interpreters():
    """[(id, path or None, why it is missing)] the lane makes venvs from."""
    debian = "/usr/bin/python3"
    python39 = find_python39()
    return [
        ("debian-python3", debian if os.access(debian, os.X_OK) else None, f"{debian} does not exist"),
        ("python3.9", python39, "no Python 3.9 here (/usr/bin/python3.9, python3.9 on PATH, pyenv 3.9.*)"),
    ]


def pip_env():
    """The environment for pip and interpreter probes: this one without Python's path settings."""
    env = {key: value for key, value in os.environ.items() if key not in PYTHON_ENV}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def checked(argv, what, **kwargs):
    """Run a set-up command; fail with its output when it fails."""
    result = subprocess.run([str(arg) for arg in argv], capture_output=True, text=True, env=pip_env(), **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{what} failed ({result.returncode}): {' '.join(map(str, argv))}\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_tree(source, target):
    """Copy the source tree without what a build leaves behind (build/, *.egg-info, bytecode).

    A stale build/lib in a checkout goes into the wheel as is: it still held the removed
    confrt/engine/catalog_cache.py, so `pip wheel .` there shipped deleted code."""
    listed = subprocess.run(["git", "-C", source, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True)
    if listed.returncode != 0:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis"))
        return target
    for rel in filter(None, listed.stdout.decode().split("\0")):
        path = os.path.join(source, rel)
        if os.path.isfile(path):  # a tracked file deleted in the work tree is not there
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            shutil.copy2(path, os.path.join(target, rel), follow_symlinks=False)
    return target


def built_tree(wheel):
    """The copy of TREE that `wheel` was built from (the checkout may have changed since)."""
    return os.path.join(os.path.dirname(os.path.dirname(wheel)), "tree")


def build_wheel(workdir):
    """The wheel of TREE (copied first, so the checkout gets no build/): its path."""
    tree = copy_tree(TREE, os.path.join(workdir, "tree"))
    wheels = os.path.join(workdir, "wheels")
    checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, tree], "building the wheel",
            timeout=300)
    (wheel,) = glob.glob(os.path.join(wheels, "confrt-*.whl"))
    return wheel


class Installed:
    """confrt installed into a venv; run() runs its console script as a user would."""

    def __init__(self, name, venv, parse_cache):
        self.name = name
        self.venv = venv
        self.bin = os.path.join(venv, "bin")
        self.confrt = os.path.join(self.bin, "confrt")
        self.parse_cache = parse_cache

    def env(self, **extra):
        """The bare environment of `env -i PATH=VENV/bin:... LANG=C.UTF-8` (+ extra)."""
        env = {"PATH": f"{self.bin}:{SYSTEM_PATH}", "LANG": "C.UTF-8"}
        env.update(extra)
        return env

    def run(self, *args, cwd="/", input=None, timeout=120, **extra_env):
        """`confrt ARGS` from `cwd`, its output checked for crash signs."""
        env = self.env(CONFRT_PARSE_CACHE=self.parse_cache, **extra_env)
        result = subprocess.run([self.confrt, *map(str, args)], cwd=cwd, env=env, input=input,
                                capture_output=True, text=True, timeout=timeout)
        assert_clean(result)
        return result


def make_venv(python, venv, wheel, name, parse_cache):
    """A fresh venv of `python` (no system site packages) with the wheel and its PyPI dependencies."""
    made = subprocess.run([python, "-m", "venv", venv], capture_output=True, text=True, env=pip_env())
    if made.returncode != 0 and "ensurepip" in made.stdout + made.stderr:
        import pytest

        pytest.skip(f"{python} cannot make a venv (Debian: install python3-venv): {made.stdout.strip()}")
    assert made.returncode == 0, made.stdout + made.stderr
    with open(os.path.join(venv, "pyvenv.cfg")) as handle:
        assert re.search(r"^include-system-site-packages\s*=\s*false$", handle.read(), re.M)
    checked([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", wheel], f"pip install into {name}",
            timeout=300)
    return Installed(name, venv, parse_cache)


def assert_clean(result):
    """No crash sign in the output, outside the body of a diff (a noop's diff of squid.conf quotes
    squid's own "An internal error occurred"; a traceback's first line starts at the margin)."""
    output = result.stdout + result.stderr
    own = "\n".join(line for line in output.splitlines() if not re.match(r"[-+ @]", line))
    for sign in CRASH_SIGNS:
        assert sign not in own, f"{sign!r} in the output of {' '.join(result.args)}:\n{output}"


def summary(output):
    """(resources, changed, failed) of the `confrt: N resources, ...` line of a run."""
    match = re.search(r"^confrt: (\d+) resources, (\d+) (?:changed|would change), (\d+) failed", output, re.M)
    assert match, f"no summary line in:\n{output}"
    return tuple(int(group) for group in match.groups())


def write_yaml(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def make_site(root, data, levels=("common.yaml",), **config):
    """A temp site under root: confrt.yaml (returned path) naming its own hiera.yaml, data,
    statedir, local_data, facts_dir and log dir, so a run changes nothing outside root.

    data (a dict or YAML text) is data/common.yaml; levels are hiera.yaml paths, highest first
    (`%{confrt.local_data}` is the userdata layer); config overrides confrt.yaml keys."""
    root = str(root)
    write_yaml(os.path.join(root, "hiera.yaml"), {
        "version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
        "hierarchy": [{"name": path, "path": path} for path in levels]})
    write_yaml(os.path.join(root, "data", "common.yaml"), data)
    settings = {"hiera_config": os.path.join(root, "hiera.yaml"), "statedir": os.path.join(root, "state"),
                "local_data": os.path.join(root, "local.yaml"), "facts_dir": os.path.join(root, "facts.d"),
                "run": {"log_dir": os.path.join(root, "log")}, "userdata": {"sources": []}}
    settings.update(config)
    return write_yaml(os.path.join(root, "confrt.yaml"), settings)


# -- the README, executed -------------------------------------------------------------------

def doc_pages():
    """[(name, text)] of README.md and the docs/ pages it links (names relative to the tree)."""
    pages = []
    for path in [os.path.join(TREE, "README.md")] + sorted(glob.glob(os.path.join(TREE, "docs", "*.md"))):
        with open(path) as handle:
            pages.append((os.path.relpath(path, TREE), handle.read()))
    return pages


def readme():
    """README.md and the docs/ pages, as one text: the sessions the tests run are in both."""
    return "\n".join(text for _, text in doc_pages())


#: What makes a command span a synopsis, not an example: an optional `[part]`, `a|b` choices, or an
#: all-caps placeholder word (NAME, KEY, F, TARGET=SOURCE).
SYNOPSIS = re.compile(r"[\[\]|]|(?:^|[\s=])[A-Z][A-Z0-9_]*(?=$|[\s=])")


def inline_commands(text):
    """[(heading, command)] of the inline code spans of a Markdown text that are confrt command lines
    (`confrt ...`), in order, each once: fenced blocks left out, a span broken across lines joined
    by one space; heading is the title of the nearest heading above its first place."""
    lines, fenced = [], False
    for line in text.splitlines():
        fence = line.startswith("```")
        lines.append("" if fenced or fence else line)
        fenced = fenced != fence
    prose = "\n".join(lines)
    found = []
    for span in re.finditer(r"`([^`]*)`", prose):  # backticks pair up in order, as Markdown reads them
        command = " ".join(span.group(1).split())
        if command.startswith("confrt ") and command not in [known for _, known in found]:
            headings = re.findall(r"^#+ (.*)$", prose[:span.start()], re.M)
            found.append((headings[-1] if headings else "", command))
    return found


def fenced_blocks(text, after):
    """[(language, body)] of the fenced blocks after the first line containing `after`, up to
    the next heading of the same or a higher level than the one `after` sits under."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if after in line), None)
    assert start is not None, f"README.md has no line with {after!r}"
    level = next((len(line) - len(line.lstrip("#")) for line in reversed(lines[:start + 1])
                  if line.startswith("#")), 1)
    blocks, language, body = [], None, []
    for line in lines[start + 1:]:
        if language is None and re.match(f"#{{1,{level}}} ", line):
            break
        fence = re.match(r"```(\S*)", line)
        if fence and language is None:
            language, body = fence.group(1) or "text", []
        elif fence:
            blocks.append((language, "\n".join(body) + "\n"))
            language = None
        elif language is not None:
            body.append(line)
    return blocks


def shell_steps(script):
    """A shell block as its commands: a here-document stays with its command, `\\` lines are
    joined, comment-only and blank lines go. Each step keeps its trailing comment."""
    steps, lines = [], script.splitlines()
    while lines:
        line = lines.pop(0)
        while line.endswith("\\") and lines:
            line = line[:-1] + lines.pop(0).strip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        heredoc = re.search(r"<<-?\s*'?\"?(\w+)", line)
        if heredoc:
            end = lines.index(heredoc.group(1))
            line = "\n".join([line, *lines[:end + 1]])
            del lines[:end + 1]
        steps.append(line)
    return steps


def heredoc_files(steps):
    """{path: text} that `cat > PATH <<'WORD'` steps write."""
    files = {}
    for step in steps:
        match = re.match(r"cat\s+>\s*(\S+)\s*<<-?\s*'?\"?(\w+)'?\"?\n(.*)\n\2$", step, re.S)
        if match:
            files[match.group(1)] = match.group(3) + "\n"
    return files


def setup_command():
    """The confrt part of the README's set-up line (`    pip install . && confrt ...` under "## Set-up")."""
    lines = readme().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Set-up"))
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        for part in line.split("&&") if line.startswith("    ") else []:
            if part.strip().startswith("confrt "):
                return part.strip()
    raise AssertionError("README.md: no indented line under '## Set-up' runs confrt")
