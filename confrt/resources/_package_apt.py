"""Debian's package provider: dpkg-query reads, apt-get changes."""
import glob
import shutil

from confrt.resources._package import PackageProvider
from confrt.resources._system import run_checked
from confrt.resources.base import ResourceFailed

DPKG_FORMAT = "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"
# LC_ALL=C: messages in English whatever the host's locale (apply_batch reads "Unable to locate")
NONINTERACTIVE = ["env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "apt-get", "-q", "-y",
                  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]


def parse_dpkg_query(text):
    """`dpkg-query -W -f DPKG_FORMAT` -> ({name: version} installed, {names} with config files only)."""
    installed, config_only = {}, set()
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or len(fields[2]) < 2:
            continue
        name, version, status = fields[0], fields[1], fields[2][1]
        if status in "iUFWt":  # installed, or half-done (apt completes it)
            installed[name] = version
        elif status == "c":
            config_only.add(name)
    return installed, config_only


def parse_apt_cache_policy(text):
    """`apt-cache policy a b` -> {name: candidate version} (packages without one are left out)."""
    candidates, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = line[:-1].split(":", 1)[0]
        elif current and line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                candidates[current] = version
    return candidates


def have_lists(lists_dir="/var/lib/apt/lists"):
    """True when `apt-get update` has fetched package lists."""
    return bool(glob.glob(f"{lists_dir}/*_Packages*"))


class AptProvider(PackageProvider):
    name = "apt"

    @classmethod
    def suitable(cls, facts):
        return facts.get("os.family") == "Debian" and shutil.which("dpkg-query") is not None

    @classmethod
    def prefetch(cls, resources, ctx):
        result = run_checked(ctx, ["dpkg-query", "-W", "-f", DPKG_FORMAT])
        installed, config_only = parse_dpkg_query(result.stdout)
        latest = sorted({r["name"] for r in resources if r["ensure"] == "latest"})
        candidates = {}
        if latest:
            candidates = parse_apt_cache_policy(run_checked(ctx, ["apt-cache", "policy", *latest]).stdout)
        return {"installed": installed, "config_only": config_only, "candidates": candidates}

    @classmethod
    def apply_batch(cls, items, ctx):
        """A fresh image often has no package lists yet: fetch them once before installing."""
        if any(provider.action() in ("install", "upgrade") for provider, _ in items) and not have_lists():
            try:
                run_checked(ctx, NONINTERACTIVE + ["update"])
            except ResourceFailed as exc:
                return [str(exc)] * len(items)
        return super().apply_batch(items, ctx)

    @classmethod
    def command(cls, action, args):
        verb = {"install": "install", "upgrade": "install", "remove": "remove", "purge": "purge"}[action]
        extra = ["--allow-downgrades"] if action == "install" and any("=" in a for a in args) else []
        return NONINTERACTIVE + [verb, *extra, *args]
