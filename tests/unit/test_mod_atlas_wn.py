"""atlas_wn module: atlas.sh run by dash and atlas.csh by tcsh, the values and setupATLAS compared."""
import shutil
import subprocess

import pytest
from mod_support import assert_compile_error, compile_site, sh_values, write_files

DASH, TCSH = shutil.which("dash"), shutil.which("tcsh")
FRONTIER = ("(serverurl=http://atlasfrontier-ai.cern.ch:8000/atlr)"
            "(serverurl=http://atlasfrontier1-ai.cern.ch:8000/atlr)(serverurl=http://atlasfrontier2-ai.cern.ch:8000/atlr)"
            "(proxyurl=http://squid.example.org:3128)")
BASE = {"classes": ["atlas_wn"], "atlas_wn::site_name": "BNL-ATLAS",
        "atlas_wn::frontier_proxies": ["http://squid.example.org:3128"]}


def scripts(tmp_path, data):
    catalog = compile_site(tmp_path, data)
    return catalog, write_files(catalog, tmp_path / "root", "/etc/profile.d")


def test_sh_profile_under_dash(tmp_path):
    if DASH is None:
        pytest.skip("dash is not installed (the profile scripts must work in POSIX sh)")
    setup = tmp_path / "alrb" / "user" / "atlasLocalSetup.sh"
    setup.parent.mkdir(parents=True)
    setup.write_text('echo "setupATLAS ran from $ATLAS_LOCAL_ROOT_BASE"\n')
    catalog, profile = scripts(tmp_path, dict(BASE, **{"atlas_wn::local_root_base": str(tmp_path / "alrb")}))
    values = sh_values(f"{profile}/atlas.sh", ["ATLAS_LOCAL_ROOT_BASE", "ATLAS_SITE_NAME", "FRONTIER_SERVER"], DASH)
    assert values == {"ATLAS_LOCAL_ROOT_BASE": str(tmp_path / "alrb"), "ATLAS_SITE_NAME": "BNL-ATLAS",
                      "FRONTIER_SERVER": FRONTIER}
    # the alias works as a login shell uses it: defined by the profile, run as a later command
    ran = subprocess.run(["env", "-i", DASH, "-c", f". {profile}/atlas.sh\nsetupATLAS\n"], capture_output=True,
                         text=True)
    assert ran.returncode == 0 and ran.stdout.strip() == f"setupATLAS ran from {tmp_path / 'alrb'}", ran.stderr
    assert "package[HEP_OSlibs]" in catalog.resources


def test_csh_profile_under_tcsh(tmp_path):
    if TCSH is None:
        pytest.skip("tcsh is not installed (tests/debian-packages.txt): cannot check atlas.csh")
    _, profile = scripts(tmp_path, BASE)
    printed = subprocess.run(["env", "-i", TCSH, "-f", "-c", f"source {profile}/atlas.csh; printenv FRONTIER_SERVER;"
                              " printenv ATLAS_LOCAL_ROOT_BASE; printenv ATLAS_SITE_NAME; alias setupATLAS"],
                             capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == [
        FRONTIER, "/cvmfs/atlas.cern.ch/repo/ATLASLocalRootBase", "BNL-ATLAS",
        "source ${ATLAS_LOCAL_ROOT_BASE}/user/atlasLocalSetup.csh"]


def test_quotes_and_bangs_reach_both_shells_literally(tmp_path):
    """A ' or ! in a value was a compile error; csh takes them as environment's .csh file writes them."""
    if TCSH is None or DASH is None:
        pytest.skip("tcsh or dash is not installed (tests/debian-packages.txt)")
    _, profile = scripts(tmp_path, dict(BASE, **{"atlas_wn::site_name": "it's!now"}))
    printed = subprocess.run(["env", "-i", TCSH, "-f", "-c", f"source {profile}/atlas.csh; printenv ATLAS_SITE_NAME"],
                             capture_output=True, text=True)
    assert printed.returncode == 0 and printed.stdout == "it's!now\n", printed.stderr
    assert sh_values(f"{profile}/atlas.sh", ["ATLAS_SITE_NAME"], DASH) == {"ATLAS_SITE_NAME": "it's!now"}


def test_no_packages_where_they_do_not_exist(tmp_path):
    catalog, _ = scripts(tmp_path, dict(BASE, **{"atlas_wn::manage_package": False}))
    assert not [ref for ref in catalog.resources if ref.startswith("package[")]


@pytest.mark.parametrize("data, problem", [
    ({"atlas_wn::frontier_proxies": ["squid:3128"]}, "atlas_wn::frontier_proxies: 'squid:3128' is not an http"),
    ({"atlas_wn::site_name": "two\nlines"}, "a csh value cannot hold a newline"),
])
def test_bad_data_is_one_line_naming_file_and_key(tmp_path, run_confrt, data, problem):
    assert_compile_error(run_confrt, tmp_path, dict(BASE, **data), problem)
