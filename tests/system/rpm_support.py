"""Local dnf repositories for the EL tests in the scratch system: RPMs built here with rpmbuild from a
spec, indexed with createrepo_c, copied into the scratch system and named by a .repo file there."""
import os
import shutil
import subprocess

import pytest

TOOLS = ("rpm", "rpmbuild", "createrepo_c", "dnf")


def build_repo(top, spec):
    """{relative path: bytes} of a dnf repository (made under the folder `top`) holding the noarch
    packages `spec` (text) builds; skips the test when the tools are missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages rpm, createrepo-c, dnf)")
    (top / "package.spec").write_text(spec)
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}/build", str(top / "package.spec")],
                   check=True, capture_output=True)
    repo = top / "repo"
    repo.mkdir()
    for built in (top / "build" / "RPMS" / "noarch").iterdir():
        shutil.copy(built, repo)
    subprocess.run(["createrepo_c", "-q", str(repo)], check=True, capture_output=True)
    return {os.path.relpath(os.path.join(folder, name), repo): open(os.path.join(folder, name), "rb").read()
            for folder, _dirs, names in os.walk(repo) for name in names}


def install_repo(system, files, name, inside):
    """The repository `files` (from build_repo) at `inside` in the scratch system, as dnf repo `name`."""
    for relative, content in files.items():
        system.write_file(f"{inside}/{relative}", content)
    system.write_file(f"/etc/yum.repos.d/{name}.repo",
                      f"[{name}]\nname={name}\nbaseurl=file://{inside}\ngpgcheck=0\n")


#: The facts file of an EL9 host in the scratch system (the host is Debian: give it with --facts)
EL_FACTS = "/etc/confrt-test/el9.yaml"


def el_host(system, files, name, inside, package=None, paths=()):
    """The scratch system as an EL9 host: the repository `files` (from build_repo) at `inside` as dnf
    repo `name`, and EL_FACTS saying os.family RedHat. Skips the test when the machine has `package`
    in its rpm database, or one of `paths`, already (the test would not start from a host without)."""
    install_repo(system, files, name, inside)
    system.write_file(EL_FACTS, "os:\n  family: RedHat\n  name: Rocky\n")
    if package and (system.run(["rpm", "-q", package]).returncode == 0 or any(map(system.exists, paths))):
        pytest.skip(f"this machine has {' or '.join([package, *paths])} already")
    return system
