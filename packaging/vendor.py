"""Copy installed pure-Python distributions into a directory for the RPM to vendor.

usage: python3 vendor.py DEST NAME...   (prints "NAME VERSION" for each)

Takes the files a distribution installed (its RECORD), minus tests, bytecode and
installer bookkeeping (the dist-info keeps METADATA and the license, so the copy is
still a valid distribution), so the RPM carries exactly the code the build machine runs. Fails on a distribution that is not installed or has compiled code.
"""
import os
import shutil
import sys
from importlib import metadata


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
