"""The RPM installed with rpm into a scratch copy of this machine: layout, units, config, removal, and
its /usr/bin/confrt run as a user runs it (the distribution's python3, from /, a bare environment)."""
import os
import shutil
import sys

import pytest

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
