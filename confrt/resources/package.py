"""package: a software package installed, at its latest version, at one version, or absent.

The provider reads every installed package in ONE query per run (prefetch:
`dpkg-query -W` or `rpm -qa`) and installs or removes all pending packages in
one transaction per action (apply_batch: one `apt-get install a b c`); packages
the tool says it does not know fail alone, and the others go in again together.
"""
import re

from confrt.resources._package import ABSENT
from confrt.resources._package_apt import AptProvider
from confrt.resources._package_dnf import DnfProvider
from confrt.resources._system import matching
from confrt.resources.base import Param, ResourceType

KEYWORDS = ("present", "installed", "latest") + ABSENT
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._@-]*$")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9.+~:_-]+$")


_name = matching(NAME_PATTERN, "a package name")


def _ensure(value):
    if value in KEYWORDS:
        return "present" if value == "installed" else value
    if not VERSION_PATTERN.match(value) or not value[0].isdigit():
        raise ValueError(f"expected present, latest, absent, purged or a version like '1.2-3', got {value!r}")
    return value


class PackageType(ResourceType):
    name = "package"
    params = [
        Param("name", str, check=_name, doc="the package name (the title)"),
        Param("ensure", str, "present", check=_ensure,
              doc="present, latest, absent, purged (Debian: also the config files) or a version"),
    ]
    providers = [AptProvider, DnfProvider]
    batch = True


TYPE = PackageType
