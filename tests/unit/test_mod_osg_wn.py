"""osg_wn module: osg.sh run by dash in a clean environment, vomses/lsc files read back field by field."""
import shlex
import shutil

import pytest
from mod_support import assert_compile_error, FACTS, scratch_disk, compile_site, content, sh_values, write_files

DASH = shutil.which("dash")
NAMES = ["OSG_GRID", "OSG_WN_TMP", "OSG_SQUID_LOCATION", "X509_CERT_DIR", "X509_VOMS_DIR"]
ATLAS_VOMS = {"host": "voms-atlas-auth.cern.ch", "port": 443,
              "dn": "/DC=ch/DC=cern/OU=computers/CN=atlas-auth.cern.ch",
              "ca_dn": "/DC=ch/DC=cern/CN=CERN Grid Certification Authority"}
BASE = {"classes": ["osg_wn"]}


def environment(catalog, tmp_path):
    if DASH is None:
        pytest.skip("dash is not installed (the profile scripts must work in POSIX sh)")
    write_files(catalog, tmp_path / "root", "/etc/profile.d")
    return sh_values(tmp_path / "root" / "etc" / "profile.d" / "osg.sh", NAMES, DASH)


def test_osg_environment_from_packages_on_el(tmp_path):
    data = dict(BASE, **{"osg_wn::squid_location": "squid.example.org:3128"})
    catalog = compile_site(tmp_path, data)
    assert environment(catalog, tmp_path) == {
        "OSG_GRID": "/etc/osg/wn-client", "OSG_WN_TMP": "/tmp", "OSG_SQUID_LOCATION": "squid.example.org:3128",
        "X509_CERT_DIR": "/etc/grid-security/certificates", "X509_VOMS_DIR": "/etc/grid-security/vomsdir"}
    assert {"package[osg-wn-client]", "package[osg-ca-certs]"} <= set(catalog.resources)
    cron = catalog.get("cron[confrt-fetch-crl]")
    assert cron["command"] == "/usr/sbin/fetch-crl -q -r 360" and cron["hour"] == "*/6"
    assert cron.relations["require"] == ["package[osg-ca-certs]"]
    userns = catalog.get("sysctl[user.max_user_namespaces]")
    assert userns["value"] == "15000" and userns["only_raise"] is True


def test_certificates_from_cvmfs_and_scratch_tmp(tmp_path):
    data = dict(BASE, **{"osg_wn::ca_source": "cvmfs", "osg_wn::packages": ["fetch-crl", "voms-clients"]})
    facts = dict(FACTS, ephemeral_disk=scratch_disk(1000))
    catalog = compile_site(tmp_path, data, facts)
    values = environment(catalog, tmp_path)
    assert values["X509_CERT_DIR"] == "/cvmfs/grid.cern.ch/etc/grid-security/certificates"
    assert values["OSG_WN_TMP"] == "/scratch/osg_wn_tmp" and values["OSG_SQUID_LOCATION"] == "UNAVAILABLE"
    assert catalog.get("directory[/scratch/osg_wn_tmp]")["mode"] == "1777"
    assert "package[osg-ca-certs]" not in catalog.resources and "cron[confrt-fetch-crl]" not in catalog.resources
    assert {"package[fetch-crl]", "package[voms-clients]"} <= set(catalog.resources)


def test_fetch_crl_at_first_boot_through_the_sites_squid(tmp_path):
    """On EL only the timer was enabled: a fresh worker took jobs with no CRL until its first run, and every
    worker fetched the CRLs straight from the CAs. Now: fetch-crl's http_proxy is the site's squid, and a
    host without any CRL yet runs fetch-crl once in the run (a failure fails the run: START stays false)."""
    import subprocess

    catalog = compile_site(tmp_path, dict(BASE, **{"osg_wn::squid_location": "squid.example.org:3128",
                                                   "osg_wn::fetch_crl": "timer"}))
    proxy = catalog.get("line[fetch-crl http_proxy]")
    assert (proxy["path"], proxy["line"]) == ("/etc/fetch-crl.conf", "http_proxy = http://squid.example.org:3128")
    from confrt.resources.line import edit_lines
    assert edit_lines(["# http_proxy = x", "http_proxy = http://old:3128", "infodir = /x"], proxy["line"],
                      proxy["match"]) == ["# http_proxy = x", proxy["line"], "infodir = /x"]
    boot = catalog.get("exec[fetch-crl at first boot]")
    assert boot["command"] == ["/usr/sbin/fetch-crl", "-q"] and "line[fetch-crl http_proxy]" in boot.relations["require"]
    assert "package[osg-ca-certs]" in boot.relations["require"]
    unless = list(boot["unless"])
    assert unless[-1] == "/etc/grid-security/certificates"
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    (certificates / "1234abcd.0").write_text("a CA")
    assert subprocess.run(unless[:-1] + [str(certificates)]).returncode == 1  # no CRL: fetch-crl runs
    (certificates / "1234abcd.r0").write_text("a CRL")
    assert subprocess.run(unless[:-1] + [str(certificates)]).returncode == 0  # the timer keeps them fresh
    # without a squid fetch-crl goes direct; no CA package, no fetch-crl
    assert catalog.get("service[fetch-crl.timer]") is not None
    plain = compile_site(tmp_path / "plain", BASE)
    assert plain.get("line[fetch-crl http_proxy]") is None and plain.get("exec[fetch-crl at first boot]")
    cvmfs = compile_site(tmp_path / "cvmfs", dict(BASE, **{"osg_wn::ca_source": "cvmfs"}))
    assert cvmfs.get("exec[fetch-crl at first boot]") is None


def test_fetch_crl_timer(tmp_path):
    catalog = compile_site(tmp_path, dict(BASE, **{"osg_wn::fetch_crl": "timer"}))
    timer = catalog.get("service[fetch-crl.timer]")
    assert timer["ensure"] == "running" and timer["enable"] is True


def test_vomses_and_lsc_files(tmp_path):
    backup = dict(ATLAS_VOMS, host="lcg-voms2.cern.ch", dn="/DC=ch/DC=cern/OU=computers/CN=lcg-voms2.cern.ch")
    data = dict(BASE, **{"osg_wn::vos": {"atlas": [ATLAS_VOMS, backup]}, "osg_wn::vomses": "directory"})
    local = {"osg_wn::vos": {"cms": [dict(ATLAS_VOMS, host="voms-cms-auth.cern.ch", port=8443)]}}
    catalog = compile_site(tmp_path, data, layers={"local.yaml": local})
    lines = content(catalog, "/etc/vomses/atlas").splitlines()
    assert [shlex.split(line) for line in lines] == [
        ["atlas", "voms-atlas-auth.cern.ch", "443", ATLAS_VOMS["dn"], "atlas"],
        ["atlas", "lcg-voms2.cern.ch", "443", backup["dn"], "atlas"]]
    assert shlex.split(content(catalog, "/etc/vomses/cms"))[1:3] == ["voms-cms-auth.cern.ch", "8443"]
    lsc = content(catalog, "/etc/grid-security/vomsdir/atlas/voms-atlas-auth.cern.ch.lsc")
    assert lsc.splitlines() == [ATLAS_VOMS["dn"], ATLAS_VOMS["ca_dn"]]
    assert catalog.get("directory[/etc/grid-security/vomsdir/cms]") is not None


#: What OSG's vo-client RPM (143) installs as /etc/vomses, a %config(noreplace) file: ATLAS's line.
VO_CLIENT_VOMSES = ('"atlas" "voms-atlas-auth.cern.ch" "443" "/DC=ch/DC=cern/OU=computers/CN=atlas-auth.cern.ch" '
                    '"atlas"\n"cms" "voms-cms-auth.cern.ch" "443" "/DC=ch/DC=cern/OU=computers/CN=cms-auth.cern.ch" '
                    '"cms"\n')


def test_vomses_on_el_is_vo_clients_file_with_a_line_per_server(tmp_path):
    """EL's vo-client ships /etc/vomses as a file: a directory[/etc/vomses] failed every run there. Each
    server is a line edited into that file, after the packages; a line the package has already is kept."""
    from confrt.resources.line import edit_lines

    other = dict(ATLAS_VOMS, host="voms.example.org", dn="/DC=org/DC=example/CN=voms.example.org")
    legacy = dict(ATLAS_VOMS, host="voms-atlas-auth.app.cern.ch", vomses=False,
                  dn="/DC=ch/DC=cern/OU=computers/CN=atlas-auth.web.cern.ch")
    data = dict(BASE, **{"osg_wn::vos": {"atlas": [ATLAS_VOMS, legacy], "myvo": [other]}})
    catalog = compile_site(tmp_path, data)
    assert not [ref for ref in catalog.resources if ref.startswith(("directory[/etc/vomses", "file[/etc/vomses"))]
    lines = {ref: resource for ref, resource in catalog.resources.items() if ref.startswith("line[")}
    assert sorted(lines) == ["line[vomses atlas voms-atlas-auth.cern.ch]", "line[vomses myvo voms.example.org]"]
    text = VO_CLIENT_VOMSES.splitlines()
    for resource in lines.values():
        assert resource["path"] == "/etc/vomses"
        assert {"package[osg-wn-client]", "package[osg-ca-certs]"} <= set(resource.relations["require"])
        text = edit_lines(text, resource["line"], resource["match"])
    assert text[:2] == VO_CLIENT_VOMSES.splitlines()  # the package's lines untouched
    assert [shlex.split(line) for line in text[2:]] == [["myvo", "voms.example.org", "443", other["dn"], "myvo"]]
    # a changed DN replaces that host's line only
    moved = edit_lines(text, lines["line[vomses atlas voms-atlas-auth.cern.ch]"]["line"].replace("auth.cern", "new.cern"),
                       lines["line[vomses atlas voms-atlas-auth.cern.ch]"]["match"])
    assert len(moved) == 3 and "atlas-new.cern.ch" in moved[0] and moved[1:] == text[1:]
    # the IAM endpoint's legacy .lsc, as vo-client ships it, without a vomses line
    lsc = content(catalog, "/etc/grid-security/vomsdir/atlas/voms-atlas-auth.app.cern.ch.lsc")
    assert lsc.splitlines() == [legacy["dn"], ATLAS_VOMS["ca_dn"]]


def test_worker_role_has_atlas_iam_lsc_files_as_vo_client(tmp_path):
    from confrt.paths import packaged_hiera_config

    catalog = compile_site(tmp_path, {"condor::collector_host": "cm.example.org", "condor::tokens": {"pool": "eyJ.x.y"}},
                           dict(FACTS, role="worker"), hiera_config=packaged_hiera_config())
    for host, dn in (("voms-atlas-auth.cern.ch", "atlas-auth.cern.ch"), ("voms-atlas-auth.app.cern.ch",
                                                                          "atlas-auth.web.cern.ch")):
        lsc = content(catalog, f"/etc/grid-security/vomsdir/atlas/{host}.lsc").splitlines()
        assert lsc == [f"/DC=ch/DC=cern/OU=computers/CN={dn}", "/DC=ch/DC=cern/CN=CERN Grid Certification Authority"]
    assert catalog.get("line[vomses atlas voms-atlas-auth.cern.ch]") is not None
    assert catalog.get("line[vomses atlas voms-atlas-auth.app.cern.ch]") is None


@pytest.mark.parametrize("data, problem", [
    ({"osg_wn::vos": {"atlas": [{"host": "voms.example.org", "port": 443}]}}, "atlas: a server lacks dn, ca_dn"),
    ({"osg_wn::vos": {"atlas": [dict(ATLAS_VOMS, port="443")]}}, "port: expected a port number"),
    ({"osg_wn::vos": {"atlas": [dict(ATLAS_VOMS, dn='CN="x"')]}}, "dn: expected a DN"),
    ({"osg_wn::ca_source": "web"}, "osg_wn::ca_source: expected one of"),
    ({"osg_wn::vos": {"atlas": [dict(ATLAS_VOMS, vomses="no")]}}, "vomses: expected true or false"),
    ({"osg_wn::vos": {"atlas": [dict(ATLAS_VOMS, cadn="x")]}}, "unknown key 'cadn'"),
])
def test_bad_data_is_one_line_naming_file_and_key(tmp_path, run_confrt, data, problem):
    assert_compile_error(run_confrt, tmp_path, dict(BASE, **data), problem)
