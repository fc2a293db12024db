"""packaging/: the RPM built by rpmbuild, the wheel built by pip, the packaged confrt.yaml."""
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from confrt import __version__
from confrt.config import load_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARE = "/usr/share/confrt"
FIXED_RPM_FILES = [
    "/usr/bin/confrt",
    "/etc/confrt/confrt.yaml",
    "/etc/logrotate.d/confrt",
    f"{SHARE}/confrt.cron",
    f"{SHARE}/hiera/hiera.yaml",
    f"{SHARE}/vendor/deepmerge/__init__.py",
    "/usr/lib/systemd/system/confrt-boot.service",
    "/usr/lib/systemd/system/confrt.service",
    "/usr/lib/systemd/system/confrt.timer",
]
RPM_REQUIRES = ["python3-pyyaml", "python3-jinja2", "python3-psutil", "python3-pluggy", "openssl"]


def tree_files(top):
    """Files under REPO/top, relative to REPO/top, as the packages ship them (no bytecode)."""
    found = set()
    for root, dirs, files in os.walk(os.path.join(REPO, top)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                found.add(os.path.relpath(os.path.join(root, name), os.path.join(REPO, top)))
    return found


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def rpm_file(rpm_build):
    topdir, _result = rpm_build
    built = os.listdir(topdir / "RPMS" / "noarch")
    assert built == [f"confrt-{__version__}-1.noarch.rpm"]
    assert os.listdir(topdir / "SRPMS") == [f"confrt-{__version__}-1.src.rpm"]
    return str(topdir / "RPMS" / "noarch" / built[0])


def rpm_query(rpm_file, *options):
    result = run(["rpm", "-qp", *options, rpm_file])
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_rpm_lists_runtime_data_units_and_config(rpm_file):
    files = set(rpm_query(rpm_file, "-l"))
    missing = [path for path in FIXED_RPM_FILES if path not in files]
    assert missing == []
    for top in ("hiera", "modules"):
        expected = {f"{SHARE}/{top}/{rel}" for rel in tree_files(top)}
        assert expected - files == set(), f"{top}/ files missing from the RPM"
    sitelibs = {path.split("/site-packages/")[0] for path in files if "/site-packages/confrt/" in path}
    assert len(sitelibs) == 1, "one python3_sitelib"
    sitelib = sitelibs.pop() + "/site-packages"
    expected = {f"{sitelib}/confrt/{rel}" for rel in tree_files("confrt")}
    assert expected - files == set(), "runtime files missing from the RPM"
    assert not [path for path in files if path.startswith((f"{sitelib}/confrt/_hiera", f"{sitelib}/confrt/_modules"))], \
        "hiera and modules ship once, under /usr/share/confrt"


def test_rpm_requires_el_packages_and_is_noarch(rpm_file):
    requires = [line.split()[0] for line in rpm_query(rpm_file, "--requires")]
    for name in RPM_REQUIRES:
        assert name in requires
    assert "python3-deepmerge" not in requires, "deepmerge is vendored"
    provides = rpm_query(rpm_file, "--provides")
    assert any(line.startswith("bundled(python3dist(deepmerge)) = ") and not line.endswith("= 0")
               for line in provides)
    assert rpm_query(rpm_file, "--qf", "%{ARCH} %{VERSION}\n") == [f"noarch {__version__}"]


def test_rpm_config_files_are_noreplace(rpm_file):
    flags = dict(line.split(" ", 1) for line in rpm_query(rpm_file, "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]"))
    for path in ("/etc/confrt/confrt.yaml", "/etc/logrotate.d/confrt"):
        assert "c" in flags[path] and "n" in flags[path], f"{path} is not %config(noreplace)"
    assert "c" not in flags["/usr/bin/confrt"]


def test_rpm_modes_keep_secrets_private(rpm_file):
    modes = dict(line.split(" ", 1)[::-1] for line in rpm_query(rpm_file, "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]"))
    assert modes["/var/lib/confrt"] == "drwxr-xr-x"  # the run summary is for monitoring; secrets inside are 0600
    assert modes["/etc/confrt/data"] == "drwxr-x---"
    assert modes["/etc/confrt/keys"] == "drwx------"  # the image's eyaml private key
    assert modes["/var/cache/confrt"] == "drwx------"  # the parse cache: parsed data files
    assert modes["/usr/bin/confrt"] == "-rwxr-xr-x"


def extract(rpm_file, dest):
    archive = os.path.join(dest, "payload.tgz")
    with open(rpm_file, "rb") as source, open(archive, "wb") as target:
        done = subprocess.run(["rpm2archive", "-"], stdin=source, stdout=target, timeout=120)
    assert done.returncode == 0
    with tarfile.open(archive) as payload:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        payload.extractall(dest, **safe)
    return dest


def test_rpm_payload_runs(rpm_file, tmp_path):
    if not shutil.which("rpm2archive"):
        pytest.skip("rpm2archive not installed (Debian package rpm)")
    root = extract(rpm_file, str(tmp_path))
    sitelib = [os.path.join(d, "site-packages") for d, dirs, _ in os.walk(os.path.join(root, "usr", "lib"))
               if "site-packages" in dirs]
    assert len(sitelib) == 1
    launcher = os.path.join(root, "usr", "bin", "confrt")
    with open(launcher) as handle:
        text = handle.read()
    assert text.startswith("#!/usr/bin/python3 -s\n")
    assert f'sys.path.append("{SHARE}/vendor")' in text
    env = dict(os.environ, PYTHONPATH=sitelib[0])
    result = run([sys.executable, launcher, "--version"], env=env, cwd=str(tmp_path))
    assert result.stdout.strip() == f"confrt {__version__}", result.stderr
    # The vendored deepmerge imports on its own: no site-packages, only the vendor dir.
    vendor = os.path.join(root, SHARE.lstrip("/"), "vendor")
    probe = ("import sys; sys.path.append(sys.argv[1]); import deepmerge; "
             "print(deepmerge.always_merger.merge({'a': [1]}, {'a': [2]}), deepmerge.__file__)")
    result = run([sys.executable, "-S", "-c", probe, vendor], cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    merged, where = result.stdout.split(" /", 1)
    assert merged == "{'a': [1, 2]}" and ("/" + where).startswith(vendor)


def test_spec_version_matches_the_code():
    with open(os.path.join(REPO, "packaging", "confrt.spec")) as handle:
        versions = [line.split(":", 1)[1].strip() for line in handle if line.startswith("Version:")]
    assert versions == [__version__]


def test_build_rpm_refuses_unknown_arguments():
    result = run(["bash", os.path.join(REPO, "packaging", "build-rpm.sh"), "--nope"])
    assert result.returncode == 2 and "unknown argument: --nope" in result.stderr


def test_wheel_carries_hiera_and_modules(tmp_path):
    try:
        import setuptools  # noqa: F401
        import wheel  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"building a wheel offline needs setuptools and wheel installed: {exc}")
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".pytest_cache", ".hypothesis"))
    stale = ["confrt/engine/catalog_cache.py", "confrt/_modules/gone/module.py"]  # built once, since deleted
    for name in stale:
        os.makedirs(os.path.dirname(source / "build" / "lib" / name), exist_ok=True)
        (source / "build" / "lib" / name).write_text("raise SystemExit('stale')\n")
    result = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(tmp_path / "dist"), str(source)])
    assert result.returncode == 0, result.stderr[-3000:]
    wheels = os.listdir(tmp_path / "dist")
    assert wheels == [f"confrt-{__version__}-py3-none-any.whl"]
    names = set(zipfile.ZipFile(tmp_path / "dist" / wheels[0]).namelist())
    assert "confrt/_hiera/hiera.yaml" in names
    assert names & set(stale) == set()  # a checkout's old build/ never ships deleted code
    for top in ("hiera", "modules"):
        expected = {f"confrt/_{top}/{rel}" for rel in tree_files(top)}
        assert expected - names == set(), f"{top}/ files missing from the wheel"
    assert {f"confrt/{rel}" for rel in tree_files("confrt")} - names == set()
    entry_points = zipfile.ZipFile(tmp_path / "dist" / wheels[0]).read(
        f"confrt-{__version__}.dist-info/entry_points.txt").decode()
    assert "confrt = confrt.cli:main" in entry_points


def test_packaged_confrt_yaml_documents_every_setting_with_its_default(tmp_path):
    """Uncommenting every setting of packaging/confrt.yaml gives a valid config equal to the defaults."""
    with open(os.path.join(REPO, "packaging", "confrt.yaml")) as handle:
        text = handle.read()
    defaults = load_config(str(_write(tmp_path / "empty.yaml", ""))).as_dict()
    assert load_config(os.path.join(REPO, "packaging", "confrt.yaml")).as_dict() == defaults, \
        "as shipped: all defaults"
    uncommented = "\n".join(line[2:] if line.startswith("# ") else line for line in text.splitlines())
    config = load_config(str(_write(tmp_path / "uncommented.yaml", uncommented))).as_dict()
    assert config.pop("modulepath") == ["/etc/confrt/modules", f"{SHARE}/modules"]
    defaults.pop("modulepath")
    assert config == defaults

    import yaml

    documented = yaml.safe_load(uncommented)
    assert set(documented) == set(defaults) | {"modulepath"}, "a setting is missing from packaging/confrt.yaml"
    for section, values in defaults.items():
        if isinstance(values, dict):
            assert set(documented[section]) == set(values), f"{section}: a setting is undocumented"


def _write(path, text):
    path.write_text(text)
    return path


def fake_distribution(site, name, requires_python):
    """An installed distribution `name` 1.0 in `site`: a module, its tests, a license, RECORD."""
    info = site / f"{name}-1.0.dist-info"
    (site / name / "tests").mkdir(parents=True)
    info.mkdir()
    files = {f"{name}/__init__.py": "VALUE = 1\n", f"{name}/tests/test_it.py": "",
             f"{info.name}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                      f"Requires-Python: {requires_python}\n",
             f"{info.name}/licenses/LICENSE": "MIT\n", f"{info.name}/INSTALLER": "pip\n"}
    files[f"{info.name}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info.name}/RECORD"])
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)


def run_vendor(site, dest, name):
    return run([sys.executable, os.path.join(REPO, "packaging", "vendor.py"), str(dest), name],
               env=dict(os.environ, PYTHONPATH=str(site)))


def test_vendor_copies_code_metadata_and_license_only(tmp_path):
    fake_distribution(tmp_path / "site", "confrtfake", ">=3.8")
    result = run_vendor(tmp_path / "site", tmp_path / "vendor", "confrtfake")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "confrtfake 1.0\n"
    copied = {os.path.relpath(os.path.join(root, name), tmp_path / "vendor")
              for root, _, names in os.walk(tmp_path / "vendor") for name in names}
    assert copied == {"confrtfake/__init__.py", "confrtfake-1.0.dist-info/METADATA",
                      "confrtfake-1.0.dist-info/licenses/LICENSE"}


def test_vendor_refuses_a_distribution_too_new_for_el9_python(tmp_path):
    fake_distribution(tmp_path / "site", "confrtfake", ">=3.10")
    result = run_vendor(tmp_path / "site", tmp_path / "vendor", "confrtfake")
    assert result.returncode == 1
    assert "confrtfake 1.0 requires Python >=3.10, not 3.9" in result.stderr
    missing = run_vendor(tmp_path / "site", tmp_path / "vendor", "confrt-not-installed")
    assert missing.returncode == 1 and "confrt-not-installed is not installed" in missing.stderr
