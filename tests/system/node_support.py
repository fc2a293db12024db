"""Helpers for the node modules' system tests (tests/system/test_mod_*.py)."""
import os
import subprocess
import sys
import time

import pytest
from scratch import REPO


#: Debian packages a module or role manages in the scratch system (its data installs them; the
#: scratch systems that test it have no network): the EL-only ones are skipped by os/Debian.yaml.
DEBIAN_NEEDS = {"worker": ["fetch-crl", "voms-clients"], "osg_wn": ["fetch-crl", "voms-clients"],
                "squid": ["squid"]}


def skip_unless_debian_with_packages_of(system, name):
    """Skip a test of module or role `name` where the packaged data's os/Debian.yaml does not
    apply, or where the Debian packages it installs are not installed (DEBIAN_NEEDS)."""
    if not system.exists("/etc/debian_version"):
        pytest.skip("the packaged modules and roles are proven on Debian here (os/Debian.yaml)")
    missing = system.missing_packages(DEBIAN_NEEDS.get(name, []))
    if missing:
        pytest.skip(f"Debian packages {missing} are not installed (tests/debian-packages.txt); the scratch "
                    f"system has no network to install them")


def converge(scratch, data):
    """noop (exact: changes nothing), apply (changes), apply again (nothing to do); returns the real run."""
    result = scratch.noop_then_apply(data)
    second = scratch.apply()
    assert second.returncode == 0, second.stdout + second.stderr
    return result


def public_key(tmp_path, comment):
    """(type, base64) of a fresh key from ssh-keygen."""
    if subprocess.run(["which", "ssh-keygen"], capture_output=True).returncode != 0:
        pytest.skip("ssh-keygen (Debian openssh-client) is not installed")
    path = os.path.join(str(tmp_path), comment.replace("@", "-"))
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], check=True)
    with open(path + ".pub") as handle:
        fields = handle.read().split()
    return fields[0], fields[1]


def host_uptime():
    with open("/proc/uptime") as handle:
        return float(handle.read().split()[0])


def apply_just_booted(scratch, *args, env=None):
    """`confrt apply` inside a time namespace whose boot was about a second ago (CLOCK_BOOTTIME),
    so deadlines counted from boot start now; daemons it starts inherit the namespace."""
    offset = str(1 - int(host_uptime()))
    probe = scratch.run(["unshare", "--time", "--boottime", offset, "true"])
    if probe.returncode != 0:
        pytest.skip(f"no time namespaces here (unshare --time, Linux 5.6+): {probe.stderr.strip()}")
    return scratch.run(["unshare", "--time", "--boottime", offset, sys.executable, "-m", "confrt", "apply",
                        "--detailed-exitcodes", *args], env=dict({"PYTHONPATH": REPO}, **(env or {})))


def wait_inside(scratch, path, text="", limit=120, logs=()):
    """The text of a file inside once it holds `text` (polled; fails after `limit` seconds,
    showing the `logs` files inside)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if scratch.exists(path):
            content = scratch.read_text(path)
            if text in content:
                return content
        time.sleep(0.2)
    shown = scratch.run(["sh", "-c", 'for f in "$@"; do echo "== $f"; cat "$f"; done', "sh", path, *logs])
    raise AssertionError(f"scratch:{path} never held {text!r}\n{shown.stdout}{shown.stderr}")
