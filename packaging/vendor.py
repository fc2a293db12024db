"""Copy installed pure-Python distributions into a directory for the RPM to vendor.

usage: python3 vendor.py DEST NAME...   (prints "NAME VERSION" for each)

Takes the files a distribution installed (its RECORD), minus tests, bytecode and
installer bookkeeping (the dist-info keeps METADATA and the license, so the copy is
still a valid distribution), so the RPM carries exactly the code the build machine
runs. Fails on a distribution that is not installed, has compiled code, or says
(Requires-Python >=) that it no longer runs on TARGET_PYTHON, EL9's python3.
"""
import os
import shutil
import sys
from importlib import metadata

TARGET_PYTHON = (3, 9)


def _runs_on_target(requires_python):
    """False when a `>=X.Y` clause of Requires-Python excludes TARGET_PYTHON."""
    for clause in (requires_python or "").split(","):
        clause = clause.strip()
        if clause.startswith(">=") and clause[2:].replace(".", "").isdigit():
            wanted = tuple(int(part) for part in clause[2:].split(".")[:2])
            if wanted > TARGET_PYTHON:
                return False
    return True


def _wanted(relpath):
    parts = relpath.split("/")
    if "__pycache__" in parts or "tests" in parts or relpath.endswith((".pyc", ".so")):
        return False
    if parts[0].endswith(".dist-info"):
        return parts[-1] == "METADATA" or "licenses" in parts or parts[-1].startswith(("LICENSE", "COPYING"))
    return not parts[0].startswith("..")  # scripts installed outside site-packages


def vendor(dest, name):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        sys.exit(f"vendor.py: {name} is not installed for {sys.executable}: pip install {name}")
    requires_python = dist.metadata["Requires-Python"]
    if not _runs_on_target(requires_python):
        target = ".".join(map(str, TARGET_PYTHON))
        sys.exit(f"vendor.py: {name} {dist.version} requires Python {requires_python}, not {target}: "
                 f"install a version for {target} (pip install '{name}<{dist.version}')")
    for path in dist.files or ():
        rel = path.as_posix()
        if rel.endswith(".so"):
            sys.exit(f"vendor.py: {name} has compiled code ({rel}): cannot vendor it into a noarch RPM")
        if not _wanted(rel):
            continue
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path.locate(), target)
    return dist.version


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__.strip().splitlines()[2])
    dest = argv[0]
    os.makedirs(dest, exist_ok=True)
    for name in argv[1:]:
        print(name, vendor(dest, name))


if __name__ == "__main__":
    main(sys.argv[1:])
