"""The RPM installed with rpm into a scratch copy of this machine: layout, units, config, removal."""
import os
import shutil
import sys

import pytest

RPM_INSIDE = "/root/confrt.noarch.rpm"
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


def test_changed_config_survives_reinstall_and_removal_keeps_it(installed):
    # last in this module: it removes the package
    installed.write_file("/etc/confrt/confrt.yaml", "statedir: /var/lib/confrt-site\n")
    installed.run(["rpm", "-U", "--replacepkgs", "--nodeps", RPM_INSIDE], check=True)
    assert installed.read_text("/etc/confrt/confrt.yaml") == "statedir: /var/lib/confrt-site\n"
    installed.run(["rpm", "-e", "--nodeps", "confrt"], check=True)
    assert not installed.exists("/usr/bin/confrt")
    assert not installed.exists("/usr/share/confrt/hiera/hiera.yaml")
    assert installed.read_text("/etc/confrt/confrt.yaml.rpmsave") == "statedir: /var/lib/confrt-site\n"
