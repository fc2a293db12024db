"""The RPM installed with rpm into a scratch copy of this machine: layout, units, config, removal, and
its /usr/bin/confrt run as a user runs it (the distribution's python3, from /, a bare environment)."""
import os
import re
import shutil
import subprocess
import sys

import pytest
from rpm_support import build_repo, install_repo
from scratch import CONFRT_STATE, diff_changes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "installed"))
from installed_support import REPO, fenced_blocks, readme, shell_steps, summary  # noqa: E402

RPM_INSIDE = "/root/confrt.noarch.rpm"
#: The Python modules of the RPM's Requires (EL9) and the Debian packages that give them to /usr/bin/python3.
REQUIRED_MODULES = {"yaml": "python3-yaml", "jinja2": "python3-jinja2", "psutil": "python3-psutil",
                    "pluggy": "python3-pluggy"}
UNITS = ["/usr/lib/systemd/system/confrt-boot.service", "/usr/lib/systemd/system/confrt.service",
         "/usr/lib/systemd/system/confrt.timer"]


@pytest.fixture(scope="module")
def installed(scratch_module, rpm_build):
    """The scratch system with the RPM of this tree installed by rpm (no dependency check on Debian)."""
    _topdir, built = rpm_build
    rpm_file = built.stdout.strip().splitlines()[-1]
    with open(rpm_file, "rb") as handle:
        scratch_module.write_file(RPM_INSIDE, handle.read())
    scratch_module.run(["rpm", "-i", "--nodeps", RPM_INSIDE], check=True)
    return scratch_module


def installed_python(system, *args):
    """This interpreter (it has the Python dependencies) inside, with the RPM's sitelib first on the path."""
    files = system.run(["rpm", "-ql", "confrt"], check=True).stdout.splitlines()
    init = [path for path in files if path.endswith("/site-packages/confrt/__init__.py")]
    assert len(init) == 1
    sitelib = os.path.dirname(os.path.dirname(init[0]))
    return system.run([sys.executable, *args], env={"PYTHONPATH": sitelib})


@pytest.fixture(scope="module")
def launcher_python(installed):
    """The interpreter of /usr/bin/confrt's shebang (the distribution's python3, not this one), once it
    can import the RPM's Requires (deepmerge comes vendored with the RPM)."""
    shebang = installed.read_text("/usr/bin/confrt").splitlines()[0]
    assert shebang == "#!/usr/bin/python3 -s"
    probe = installed.run(["/usr/bin/python3", "-s", "-c", "import " + ", ".join(REQUIRED_MODULES)])
    if probe.returncode != 0:
        pytest.skip(f"/usr/bin/python3 lacks the RPM's Requires (Debian packages "
                    f"{' '.join(REQUIRED_MODULES.values())}): {probe.stderr.strip().splitlines()[-1]}")
    return "/usr/bin/python3"


def launcher(system, *args):
    """/usr/bin/confrt itself, as cron or a unit starts it: from /, with the bare environment of the
    scratch system (no PYTHONPATH), so its shebang's interpreter finds everything on its own."""
    result = system.run(["/usr/bin/confrt", *args], cwd="/")
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, result.stdout + result.stderr
    return result


def test_installed_files_verify_and_modes(installed):
    result = installed.run(["rpm", "-V", "--nodeps", "confrt"])
    assert result.returncode == 0, result.stdout
    assert installed.stat("/var/lib/confrt") == (0o755, "root", "root")
    assert installed.stat("/etc/confrt/data") == (0o750, "root", "root")
    assert installed.stat("/usr/bin/confrt")[0] == 0o755


def test_installed_confrt_uses_the_shared_hierarchy(installed):
    probe = installed_python(installed, "/usr/bin/confrt", "--version")
    assert probe.returncode == 0 and probe.stdout.startswith("confrt "), probe.stderr
    # the RPM ships hiera/ only under /usr/share/confrt, and confrt finds it there
    where = installed_python(installed, "-c", "from confrt import paths; print(paths.__file__, paths.packaged_hiera_config())")
    module_file, hiera_config = where.stdout.split()
    assert module_file.startswith("/usr/lib/") and hiera_config == "/usr/share/confrt/hiera/hiera.yaml"
    installed.write_file("/etc/confrt/data/common.yaml", "confrt_rpm_probe: from the site level\n")
    lookup = installed_python(installed, "/usr/bin/confrt", "lookup", "confrt_rpm_probe")
    assert lookup.returncode == 0, lookup.stderr
    assert "from the site level" in lookup.stdout


def test_installed_units_verify_with_the_installed_binary(installed):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    result = installed.run(["systemd-analyze", "verify", *UNITS], env={"SYSTEMD_LOG_COLOR": "0"})
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "confrt" in line] == []


def test_image_builder_preview_uses_the_shipped_modules(installed):
    # README "For image builders": drop build-time defaults in /etc/confrt/data/, run `confrt apply --noop`
    installed.write_file("/etc/confrt/data/common.yaml", "classes: [tcpbuffers]\n")
    result = installed_python(installed, "/usr/bin/confrt", "apply", "--noop")
    assert result.returncode == 0, result.stderr
    assert "/etc/sysctl.d/60-confrt-tcpbuffers.conf" in result.stdout
    assert not installed.exists("/etc/sysctl.d/60-confrt-tcpbuffers.conf")


def test_launcher_previews_with_the_distribution_python(installed, launcher_python):
    # issue 13: every compile crashed under an interpreter that had not imported importlib.util at
    # start-up (Debian's and EL9's python3), while the tests ran confrt in this interpreter only
    installed.write_file("/etc/confrt/data/common.yaml",
                         "classes: [resources]\nresources::file:\n  /etc/confrt-rpm-noop: {content: \"x\\n\"}\n")
    try:
        result = launcher(installed, "apply", "--noop")
    finally:
        installed.run(["rm", "-f", "/etc/confrt/data/common.yaml"], check=True)
    assert result.returncode == 0, result.stderr
    assert "/etc/confrt-rpm-noop" in result.stdout and "1 would change" in result.stdout, result.stdout
    assert not installed.exists("/etc/confrt-rpm-noop")


def test_launcher_boot_run_converges_from_file_userdata(installed, launcher_python):
    installed.run(["rm", "-f", "/etc/confrt/data/common.yaml"], check=True)  # only the userdata's classes
    config = installed.read_text("/etc/confrt/confrt.yaml")
    installed.write_file("/etc/confrt/confrt.yaml", config + "userdata: {sources: ['file:/root/ud']}\n")
    installed.write_file("/root/ud", "classes: [resources]\nresources::file:\n"
                                     "  /etc/confrt-rpm-boot: {content: \"booted\\n\", mode: \"0640\"}\n")
    try:
        first = launcher(installed, "run", "--boot", "--no-splay")
        assert first.returncode == 2, first.stdout + first.stderr
        assert installed.read_text("/etc/confrt-rpm-boot") == "booted\n"
        assert installed.stat("/etc/confrt-rpm-boot") == (0o640, "root", "root")
        assert "confrt::userdata_source: file:/root/ud" in installed.read_text("/etc/confrt/data/local.yaml")
        again = launcher(installed, "run", "--boot", "--no-splay")
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        installed.write_file("/etc/confrt/confrt.yaml", config)
        installed.run(["rm", "-f", "/root/ud", "/etc/confrt/data/local.yaml"], check=True)


def test_launcher_previews_with_pluggy_as_pip_installs_it(installed, launcher_python):
    # Debian's pluggy 1.0 imports importlib.metadata (and with it importlib.util) when it is imported,
    # which hid issue 13 from the test above; pluggy from PyPI (>= 1.1, what `pip install` puts in
    # /usr/local on EL9 or Debian) does not, so there the first compile imported importlib.util itself
    import pluggy

    site = installed.run(["/usr/bin/python3", "-s", "-c", "import site; print(site.getsitepackages()[0])"],
                         check=True).stdout.strip()
    assert site.startswith("/usr/local/")
    installed.run(["cp", "-r", os.path.dirname(pluggy.__file__), site], check=True)
    installed.write_file("/etc/confrt/data/common.yaml",
                         "classes: [resources]\nresources::file:\n  /etc/confrt-rpm-pip: {content: \"x\\n\"}\n")
    try:
        probe = installed.run(["/usr/bin/python3", "-s", "-c",
                               "import sys, pluggy; print(pluggy.__file__, 'importlib.util' in sys.modules)"])
        if probe.stdout.split()[-1:] != ["False"]:
            pytest.skip(f"this interpreter's pluggy {pluggy.__version__} imports importlib.util: {probe.stdout}")
        assert probe.stdout.startswith(site), probe.stdout + probe.stderr
        result = launcher(installed, "apply", "--noop")
    finally:
        installed.run(["rm", "-rf", os.path.join(site, "pluggy"), "/etc/confrt/data/common.yaml"], check=True)
    assert result.returncode == 0, result.stderr
    assert "/etc/confrt-rpm-pip" in result.stdout and "1 would change" in result.stdout, result.stdout


def test_changed_config_survives_reinstall_and_removal_keeps_it(installed):
    # last in this module: it removes the package
    installed.write_file("/etc/confrt/confrt.yaml", "statedir: /var/lib/confrt-site\n")
    installed.run(["rpm", "-U", "--replacepkgs", "--nodeps", RPM_INSIDE], check=True)
    assert installed.read_text("/etc/confrt/confrt.yaml") == "statedir: /var/lib/confrt-site\n"
    installed.run(["rpm", "-e", "--nodeps", "confrt"], check=True)
    assert not installed.exists("/usr/bin/confrt")
    assert not installed.exists("/usr/share/confrt/hiera/hiera.yaml")
    assert installed.read_text("/etc/confrt/confrt.yaml.rpmsave") == "statedir: /var/lib/confrt-site\n"


#: A stand-in for the EL9 packages the RPM requires (it provides what `rpm -qpR` lists): on this Debian
#: host its own python3 (with python3-yaml, -jinja2, -psutil, -pluggy) and openssl do their work.
DEPS_SPEC = """\
Name: confrt-el9-requires
Version: 1.0
Release: 1
Summary: what confrt's RPM requires, provided by the host's Debian packages
License: MIT
BuildArch: noarch
AutoReqProv: no
{provides}
%description
Stands in for EL9's python3, python3-pyyaml, python3-jinja2, python3-psutil, python3-pluggy, openssl.
%files
"""
IMAGE_DIR = "/root/image"


def test_image_builders_block_as_written(scratch, rpm_build, tmp_path):
    """docs/packaging.md "For image builders", its steps as written (only the RPM's file name is this
    build's) in a fresh scratch system, from a folder holding the RPM and the site files it installs
    (common.yaml: a managed file; worker.yaml: examples/worker.yaml): each exits 0, the noop changes
    nothing. There is no systemd as PID 1 in the scratch: `systemctl enable` works offline there (it
    makes the [Install] links), and the units themselves are verified by
    test_installed_units_verify_with_the_installed_binary (systemd-analyze verify)."""
    (block,) = [body for language, body in fenced_blocks(readme(), "### For image builders") if language == "sh"]
    steps = shell_steps(block)
    rpm_file = rpm_build[1].stdout.strip().splitlines()[-1]
    (named,) = re.findall(r"\./(confrt-\S+\.rpm)", block)
    requires = subprocess.run(["rpm", "-qpR", rpm_file], check=True, capture_output=True, text=True).stdout.split("\n")
    provides = [re.sub(" >= ", " = ", line) for line in dict.fromkeys(requires)
                if line and not line.startswith(("rpmlib(", "config("))]
    install_repo(scratch, build_repo(tmp_path, DEPS_SPEC.format(provides="\n".join(f"Provides: {line}" for line in provides))),
                 "confrt-el9-requires", "/srv/confrt-el9-requires")
    probe = scratch.run(["/usr/bin/python3", "-s", "-c", "import " + ", ".join(REQUIRED_MODULES)])
    if probe.returncode != 0:
        pytest.skip(f"/usr/bin/python3 lacks the RPM's Requires (Debian packages {' '.join(REQUIRED_MODULES.values())})")
    with open(rpm_file, "rb") as handle:
        scratch.write_file(f"{IMAGE_DIR}/{os.path.basename(rpm_file)}", handle.read())
    with open(os.path.join(REPO, "examples", "worker.yaml")) as handle:
        sources = {"common.yaml": 'classes: [resources]\nresources::file:\n  /etc/motd: {content: "image\\n"}\n',
                   "worker.yaml": handle.read()}
    installs = [step.split("#")[0].split() for step in steps if step.startswith("install ")]
    assert installs, block
    for words in installs:
        scratch.write_file(f"{IMAGE_DIR}/{words[-2]}", sources[words[-2]])
    assert [step.split()[0] for step in steps] == ["dnf", "install", "install", "confrt", "systemctl"], steps
    for step in steps:
        command = step.replace(named, os.path.basename(rpm_file))
        before = scratch.changes()
        result = scratch.run(["sh", "-c", command], cwd=IMAGE_DIR)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
        if step.startswith("confrt apply --noop"):
            assert summary(result.stdout)[1:] == (1, 0) and "/etc/motd" in result.stdout, result.stdout
            assert diff_changes(before, scratch.changes(), ignore=(*CONFRT_STATE, "/var/log/confrt")) == []
    assert scratch.run(["rpm", "-q", "confrt"]).returncode == 0
    for unit in re.findall(r"systemctl enable (.*)", block)[0].split():
        assert scratch.run(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled", unit
