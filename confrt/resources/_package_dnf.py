"""EL's package provider: rpm reads, dnf (or yum) changes."""
import shutil

from confrt.resources._package import PackageProvider
from confrt.resources._system import run_checked

RPM_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}-%{RELEASE}\\n"


def parse_rpm_qa(text):
    """`rpm -qa --qf RPM_FORMAT` -> {name: 'version-release' or 'epoch:version-release'}."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, epoch, version = fields
        installed[name] = version if epoch in ("(none)", "0", "") else f"{epoch}:{version}"
    return installed


def parse_dnf_upgrades(text):
    """`dnf -q list --upgrades a b` -> {name: newer version} (the arch suffix dropped)."""
    upgrades = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and "." in fields[0] and not line[0].isspace():
            name = fields[0].rsplit(".", 1)[0]
            version = fields[1]
            upgrades[name] = version[2:] if version.startswith("0:") else version
    return upgrades


def package_tool():
    return "dnf" if shutil.which("dnf") else "yum"


class DnfProvider(PackageProvider):
    name = "dnf"
    version_separator = "-"

    @classmethod
    def suitable(cls, facts):
        return facts.get("os.family") == "RedHat" and shutil.which("rpm") is not None and \
            (shutil.which("dnf") or shutil.which("yum")) is not None

    @classmethod
    def prefetch(cls, resources, ctx):
        installed = parse_rpm_qa(run_checked(ctx, ["rpm", "-qa", "--qf", RPM_FORMAT]).stdout)
        latest = sorted({r["name"] for r in resources if r["ensure"] == "latest" and r["name"] in installed})
        candidates = {}
        if latest:
            # exits 1 when nothing can be upgraded: the output is what counts
            upgrades = parse_dnf_upgrades(ctx.run([package_tool(), "-q", "list", "--upgrades", *latest]).stdout)
            candidates = {name: upgrades.get(name, installed[name]) for name in latest}
        return {"installed": installed, "config_only": set(), "candidates": candidates}

    @classmethod
    def command(cls, action, args):
        verb = {"install": "install", "upgrade": "upgrade", "remove": "remove", "purge": "remove"}[action]
        # LC_ALL=C: messages in English whatever the host's locale (apply_batch reads "No match")
        return ["env", "LC_ALL=C", package_tool(), "-y", "-q", verb, *args]
