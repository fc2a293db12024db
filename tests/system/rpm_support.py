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
