"""Where the packaged build-time data and built-in modules live.

Installed, they ship inside the package as confrt/_hiera and confrt/_modules
(see setup.py); a distribution package (RPM) puts them under /usr/share/confrt.
Running from a source checkout falls back to the top-level hiera/ and modules/.
"""
import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SHARE_DIR = "/usr/share/confrt"


def packaged_dir(name):
    """Return the directory of packaged `name` ('hiera' or 'modules')."""
    candidates = [
        os.path.join(_PACKAGE_DIR, "_" + name),
        os.path.join(SHARE_DIR, name),
        os.path.join(os.path.dirname(_PACKAGE_DIR), name),
    ]
    for path in candidates:
        if os.path.isdir(path):
            return path
    return candidates[0]


def packaged_hiera_config():
    return os.path.join(packaged_dir("hiera"), "hiera.yaml")


def packaged_modules():
    return packaged_dir("modules")
