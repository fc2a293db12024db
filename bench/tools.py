"""The three tools under test: how each gets its workload on disk and the command that applies it.

Everything a tool writes (its state, reports, caches) stays in the case's work
directory: confrt gets a temporary confrt.yaml (statedir, local_data, facts_dir,
hiera_config), puppet gets --vardir/--confdir/... and cf-agent gets its
CFENGINE_TEST_OVERRIDE_WORKDIR, so /etc and /var/lib are never touched.
"""
import os
import shutil
import subprocess
import sys

from bench import workload as workloads

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIERA_YAML = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy: [{name: common, path: common.yaml}]\n"


class Tool:
    """name, package (Debian), prepare(workload) -> site, argv(site, noop), env(site)."""

    name = None
    command = None       # the executable that must be on PATH
    package = None       # the Debian package that provides it

    def __init__(self, workdir):
        self.workdir = workdir

    def missing(self):
        """Why this tool cannot run here, or None."""
        if self.command and shutil.which(self.command) is None:
            return f"{self.command} not found (Debian package {self.package})"
        return None

    def site(self, name):
        path = os.path.join(self.workdir, self.name, name)
        os.makedirs(path, exist_ok=True)
        return path

    def env(self, site):
        return dict(os.environ, LANG="C.UTF-8")

    def converged(self, sample):
        """True when the run's exit code says it changed nothing and failed nothing."""
        return sample.returncode == 0

    def applied(self, sample):
        """True when the run's exit code says it succeeded (changes allowed)."""
        return sample.returncode in (0, 2)


class Confrt(Tool):
    """`confrt apply` (its console script, by sys.executable) from a copy of this checkout, with bytecode
    cached like an installed package.

    The copy (made once per work directory) keeps the code the same through a
    whole benchmark while others edit the checkout.
    """

    name = "confrt"
    SOURCES = ("confrt", "modules", "hiera")
    # the console script pip writes (the RPM's differs only in its vendor path)
    SCRIPT = ("import re\nimport sys\nfrom confrt.cli import main\nif __name__ == '__main__':\n"
              "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n")

    def __init__(self, workdir):
        super().__init__(workdir)
        self.pycache = os.path.join(workdir, "pycache")
        self.source = os.path.join(workdir, "source")
        self.script = os.path.join(workdir, "bin", "confrt")  # its own folder: it is sys.path[0]
        self.parse_cache = os.path.join(workdir, "parse-cache")
        if not os.path.isdir(self.source):
            os.makedirs(os.path.dirname(self.script))
            with open(self.script, "w") as handle:
                handle.write(self.SCRIPT)
            for name in self.SOURCES:
                shutil.copytree(os.path.join(REPO, name), os.path.join(self.source, name),
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    def prepare(self, workload, name):
        import yaml

        site = self.site(name)
        template = os.path.join(site, "file.j2")
        with open(template, "w") as handle:
            handle.write(workloads.JINJA_TEMPLATE)
        os.makedirs(os.path.join(site, "data"), exist_ok=True)
        with open(os.path.join(site, "data", "common.yaml"), "w") as handle:
            yaml.dump(workloads.confrt_data(workload, template), handle,
                      Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
        with open(os.path.join(site, "hiera.yaml"), "w") as handle:
            handle.write(HIERA_YAML)
        os.makedirs(os.path.join(site, "facts.d"), exist_ok=True)
        with open(os.path.join(site, "confrt.yaml"), "w") as handle:
            yaml.safe_dump({"hiera_config": os.path.join(site, "hiera.yaml"),
                            "statedir": os.path.join(site, "state"),
                            "local_data": os.path.join(site, "local.yaml"),
                            "facts_dir": os.path.join(site, "facts.d")}, handle)
        return site

    def argv(self, site, noop=False):
        return [sys.executable, self.script, "apply", "--detailed-exitcodes", *(["--noop"] if noop else []),
                "--config", os.path.join(site, "confrt.yaml")]

    def env(self, site):
        """The copy of this checkout first on the path; .pyc files and the parse cache kept under
        the work directory.

        PYTHONDONTWRITEBYTECODE (set in some shells) would make every run compile
        every module again, which no installed package does.
        """
        env = super().env(site)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("CONFRT_CONFIG", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.source, env.get("PYTHONPATH")]))
        env["PYTHONPYCACHEPREFIX"] = self.pycache
        env["CONFRT_PARSE_CACHE"] = self.parse_cache
        return env

    def phases(self, site):
        """The phase times of the last run (last_run_summary.yaml 'time'), or {}."""
        import yaml

        try:
            with open(os.path.join(site, "state", "last_run_summary.yaml")) as handle:
                times = (yaml.safe_load(handle) or {}).get("time") or {}
        except OSError:
            return {}
        return {name: round(value, 4) for name, value in times.items()
                if isinstance(value, float) and name != "last_run"}


class Puppet(Tool):
    """`puppet apply` (Debian's puppet-agent) of the workload's manifest."""

    name = "puppet"
    command = "puppet"
    package = "puppet-agent"
    DIRS = ("vardir", "confdir", "codedir", "logdir", "rundir", "publicdir")

    def prepare(self, workload, name):
        site = self.site(name)
        with open(os.path.join(site, "site.pp"), "w") as handle:
            handle.write(workloads.puppet_manifest(workload))
        return site

    def argv(self, site, noop=False):
        argv = [self.command, "apply", "--detailed-exitcodes", "--color=false", *(["--noop"] if noop else [])]
        for name in self.DIRS:
            argv.append(f"--{name}={os.path.join(site, name)}")
        return argv + [os.path.join(site, "site.pp")]


class CFEngine(Tool):
    """`cf-agent -K -f policy.cf` (Debian's cfengine3); noop is its --dry-run."""

    name = "cfengine"
    command = "cf-agent"
    package = "cfengine3"

    def prepare(self, workload, name):
        site = self.site(name)
        policy = os.path.join(site, "policy.cf")
        with open(policy, "w") as handle:
            handle.write(workloads.cfengine_policy(workload))
        os.chmod(policy, 0o600)  # cf-agent refuses policy others can write
        bin_dir = os.path.join(site, "workdir", "bin")
        os.makedirs(bin_dir, exist_ok=True)
        promises = os.path.join(bin_dir, "cf-promises")
        if not os.path.lexists(promises):  # cf-agent validates new policy with <workdir>/bin/cf-promises
            os.symlink(shutil.which("cf-promises") or "/usr/bin/cf-promises", promises)
        return site

    def argv(self, site, noop=False):
        return [self.command, "-K", *(["--dry-run"] if noop else []), "-f", os.path.join(site, "policy.cf")]

    def env(self, site):
        return dict(super().env(site), CFENGINE_TEST_OVERRIDE_WORKDIR=os.path.join(site, "workdir"))

    def converged(self, sample):
        return sample.returncode == 0 and "error:" not in sample.stderr + sample.stdout

    def applied(self, sample):
        return self.converged(sample)


TOOLS = (Confrt, Puppet, CFEngine)


def install_missing(tools, log=print):
    """apt-get install the Debian packages of the tools that are missing (as root only)."""
    packages = sorted({tool.package for tool in tools if tool.package and tool.missing()})
    if not packages:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        log(f"not installing {', '.join(packages)}: needs root and apt-get")
        return
    log(f"installing {', '.join(packages)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        log(f"apt-get install failed: {lines[-1] if lines else result.returncode}")
