"""cvmfs module: the files are sourced by /bin/sh (and dash) in a clean environment and the values compared."""
import shutil
import subprocess

import pytest
from mod_support import assert_compile_error, FACTS, scratch_disk, compile_site, content, file_resource, refs, sh_values, write_files

SHELLS = ["/bin/sh"] + ([shutil.which("dash")] if shutil.which("dash") else [])
NAMES = ["CVMFS_REPOSITORIES", "CVMFS_HTTP_PROXY", "CVMFS_QUOTA_LIMIT", "CVMFS_CACHE_BASE",
         "CVMFS_CLIENT_PROFILE", "CVMFS_USE_GEOAPI", "CVMFS_KCACHE_TIMEOUT", "CVMFS_DNS_SERVER"]
BASE = {"classes": ["cvmfs"], "cvmfs::repositories": ["atlas.cern.ch", "grid.cern.ch"],
        "cvmfs::http_proxy": "http://squid1.example.org:3128|http://squid2.example.org:3128;DIRECT"}


def sourced(catalog, tmp_path, path, names=NAMES):
    write_files(catalog, tmp_path / "root", "/etc/cvmfs")
    values = [sh_values(tmp_path / "root" / path.lstrip("/"), names, shell) for shell in SHELLS]
    assert all(v == values[0] for v in values), f"sh and dash disagree: {values}"
    return values[0]


@pytest.mark.parametrize("shell", SHELLS)
def test_an_unquoted_semicolon_passes_sh_n_but_breaks_sourcing(tmp_path, shell):
    """Why the tests source the file: the naive form is 'valid' shell yet sets the wrong value."""
    naive = tmp_path / "naive.local"
    naive.write_text("CVMFS_HTTP_PROXY=http://a:3128|http://b:3128;DIRECT\n")
    assert subprocess.run([shell, "-n", str(naive)]).returncode == 0
    value = subprocess.run(["env", "-i", shell, "-c", f'. {naive} 2>/dev/null; printf %s "$CVMFS_HTTP_PROXY"'],
                           capture_output=True, text=True).stdout
    assert value != "http://a:3128|http://b:3128;DIRECT"


def test_default_local_values_read_back_by_the_shell(tmp_path):
    data = dict(BASE, **{"cvmfs::use_geoapi": True,
                         "cvmfs::extra_config": {"CVMFS_KCACHE_TIMEOUT": 10, "CVMFS_DNS_SERVER": "it's $(odd)"}})
    catalog = compile_site(tmp_path, data, layers={"local.yaml": {"cvmfs::repositories": ["sft.cern.ch"]}})
    values = sourced(catalog, tmp_path, "/etc/cvmfs/default.local")
    assert values == {
        "CVMFS_REPOSITORIES": "sft.cern.ch,atlas.cern.ch,grid.cern.ch",  # unique merge, higher level first
        "CVMFS_HTTP_PROXY": "http://squid1.example.org:3128|http://squid2.example.org:3128;DIRECT",
        "CVMFS_QUOTA_LIMIT": "4000", "CVMFS_CACHE_BASE": "/var/lib/cvmfs", "CVMFS_CLIENT_PROFILE": "single",
        "CVMFS_USE_GEOAPI": "yes", "CVMFS_KCACHE_TIMEOUT": "10", "CVMFS_DNS_SERVER": "it's $(odd)"}
    reload = catalog.get("exec[cvmfs_config reload]")
    assert refs(reload, "subscribe") == {"file[/etc/cvmfs/default.local]"} and reload["refreshonly"]
    assert {"package[cvmfs]", "package[cvmfs-config-default]"} <= set(catalog.resources)


def test_proxy_groups_as_lists_and_organisations(tmp_path):
    data = dict(BASE, **{"cvmfs::http_proxy": [["http://a.example:3128", "http://b.example:3128"],
                                               "http://c.example:3128", "DIRECT"],
                         "cvmfs::organisations": ["ATLAS", "LHCb"], "cvmfs::repositories": ["cms"]})
    values = sourced(compile_site(tmp_path, data), tmp_path, "/etc/cvmfs/default.local")
    assert values["CVMFS_HTTP_PROXY"] == "http://a.example:3128|http://b.example:3128;http://c.example:3128;DIRECT"
    assert values["CVMFS_REPOSITORIES"] == "cms.cern.ch,atlas.cern.ch,lhcb.cern.ch"


def test_cache_and_quota_on_the_ephemeral_disk(tmp_path):
    facts = dict(FACTS, ephemeral_disk=scratch_disk(100000))
    values = sourced(compile_site(tmp_path, BASE, facts), tmp_path, "/etc/cvmfs/default.local")
    assert values["CVMFS_CACHE_BASE"] == "/scratch/cvmfs"
    # the disk's cache budget (20% of 100000 MB), less the cache's margin: quota + 20% + 1 GB fits in it
    assert values["CVMFS_QUOTA_LIMIT"] == str((20000 - 1024) * 5 // 6)
    # a cache placed elsewhere keeps the default quota
    data = dict(BASE, **{"cvmfs::cache_base": "/var/cache/cvmfs"})
    values = sourced(compile_site(tmp_path / "b", data, facts), tmp_path / "b", "/etc/cvmfs/default.local")
    assert (values["CVMFS_CACHE_BASE"], values["CVMFS_QUOTA_LIMIT"]) == ("/var/cache/cvmfs", "4000")


def test_the_cache_leaves_the_scratch_disk_to_the_jobs(tmp_path):
    """A 600 GB scratch RAID0 (572,204 MB) shared by the CVMFS cache, condor's EXECUTE and OSG_WN_TMP:
    CVMFS_QUOTA_LIMIT was 80% of it minus 1 GB (456,739 MB), so once the cache filled, 16 slots shared
    ~75 GB while the startd advertised the whole free space. Now the cache stays within the disk's cache
    budget (ephemeral_disk's fact: 50,000 MB) with its margin, condor keeps that budget from what it
    advertises (RESERVED_DISK) and the jobs get the rest."""
    disk = dict(scratch_disk(572204), cache_mb=50000, jobs_mb=572204 - 50000)
    facts = dict(FACTS, ephemeral_disk=disk)
    catalog = compile_site(tmp_path, dict(BASE, **{"classes": ["cvmfs", "condor"], "condor::roles": ["execute"],
                                                   "condor::collector_host": "cm.example.org",
                                                   "condor::tokens": {"pool": "eyJ.x.y"}}), facts)
    quota = int(sourced(catalog, tmp_path, "/etc/cvmfs/default.local")["CVMFS_QUOTA_LIMIT"])
    assert quota == 40813
    slots = content(catalog, "/etc/condor/config.d/30-confrt-slots.conf")
    assert "EXECUTE = /scratch/condor/execute\n" in slots and "RESERVED_DISK = 50000\n" in slots
    # the arithmetic of the split: a full cache with its margin plus the jobs' share fit the disk
    footprint = quota + quota // 5 + 1024
    assert footprint <= 50000 and footprint + disk["jobs_mb"] <= 572204


def cvmfs_warnings(tmp_path, data):
    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts
    from engine_support import make_site

    warnings = []
    config = load_config(make_site(tmp_path / "site", data)["CONFRT_CONFIG"])
    catalog = compile_catalog(config, Facts.static(FACTS), warn=warnings.append)[0]
    return catalog, [w for w in warnings if "DIRECT" in w]


@pytest.mark.parametrize("proxy, fallback, warned", [
    ("DIRECT", None, "DIRECT: no proxy, every client fetches from the Stratum 1 servers"),
    ("http://a.example:3128;DIRECT", None, "a trailing DIRECT sends the whole fleet to the Stratum 1 servers"),
    ("http://a.example:3128|DIRECT", None, "DIRECT beside the squids (in a '|' group) sends part of the fleet"),
    ("http://a.example:3128|DIRECT;http://b.example:3128", None, "DIRECT beside the squids"),
    ("http://a.example:3128;DIRECT", "http://b.example:3128", "DIRECT is ignored"),
    ("http://a.example:3128", "http://b.example:3128;http://c.example:3128", None),
])
def test_direct_is_said_and_a_fallback_proxy_offered(tmp_path, proxy, fallback, warned):
    """A worker with no proxy got CVMFS_HTTP_PROXY=DIRECT silently, and '...;DIRECT' sends the fleet to the
    Stratum 1s when the squids fail: a warning; CVMFS_FALLBACK_PROXY is the way to list other proxies."""
    data = dict(BASE, **{"cvmfs::http_proxy": proxy, "cvmfs::allow_direct": False})  # as the worker role
    if fallback:
        data["cvmfs::fallback_proxy"] = fallback
    catalog, warnings = cvmfs_warnings(tmp_path, data)
    if warned:
        assert len(warnings) == 1 and warned in warnings[0], warnings
    else:
        assert warnings == []
    values = sourced(catalog, tmp_path, "/etc/cvmfs/default.local", ["CVMFS_HTTP_PROXY", "CVMFS_FALLBACK_PROXY"])
    assert values == {"CVMFS_HTTP_PROXY": proxy, "CVMFS_FALLBACK_PROXY": fallback or "<unset>"}
    quiet = cvmfs_warnings(tmp_path / "quiet", dict(data, **{"cvmfs::allow_direct": True}))[1]
    assert quiet == []


def test_extra_repositories_as_amiconfig_gives_them(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make and check a real public key)")
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                    str(key)], check=True, capture_output=True)
    pem = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"], check=True, capture_output=True,
                         text=True).stdout
    body = "".join(pem.strip().splitlines()[1:-1])  # CernVM userdata carries the bare base64 body
    data = dict(BASE, **{"cvmfs::extra_repositories": {
        "west-life.egi.eu": {"server": "cvmfs-stratum-one.example.org", "public_key": body},
        "pem.example.org": {"server": "http://s1.example.org/cvmfs/pem.example.org", "public_key": pem}}})
    catalog = compile_site(tmp_path, data)
    values = sourced(catalog, tmp_path, "/etc/cvmfs/config.d/west-life.egi.eu.conf",
                     ["CVMFS_SERVER_URL", "CVMFS_PUBLIC_KEY"])
    assert values == {"CVMFS_SERVER_URL": "http://cvmfs-stratum-one.example.org/cvmfs/@fqrn@",
                      "CVMFS_PUBLIC_KEY": "/etc/cvmfs/keys/west-life.egi.eu.pub"}
    for name in ("west-life.egi.eu", "pem.example.org"):
        written = tmp_path / "root" / "etc" / "cvmfs" / "keys" / f"{name}.pub"
        check = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(written), "-pubout"],
                               capture_output=True, text=True)
        assert check.returncode == 0 and check.stdout == pem, check.stderr
    values = sourced(catalog, tmp_path, "/etc/cvmfs/default.local")
    assert values["CVMFS_REPOSITORIES"].split(",")[2:] == ["pem.example.org", "west-life.egi.eu"]
    assert "file[/etc/cvmfs/config.d/west-life.egi.eu.conf]" in refs(catalog.get("exec[cvmfs_config reload]"),
                                                                     "subscribe")


def test_autofs_map_and_fstab_mounts(tmp_path):
    catalog = compile_site(tmp_path, BASE)
    assert content(catalog, "/etc/auto.master.d/cvmfs.autofs") == "/cvmfs /etc/auto.cvmfs\n"
    autofs = catalog.get("service[autofs]")
    assert autofs["ensure"] == "running" and refs(autofs, "subscribe") == {"file[/etc/auto.master.d/cvmfs.autofs]"}
    catalog = compile_site(tmp_path / "fstab", dict(BASE, **{"cvmfs::mount": "fstab"}))
    mount = catalog.get("mount[/cvmfs/atlas.cern.ch]")
    assert (mount["device"], mount["fstype"], mount["ensure"]) == ("atlas.cern.ch", "cvmfs", "mounted")
    assert catalog.get("file[/etc/auto.master.d/cvmfs.autofs]") is None


def test_without_packages_only_the_config(tmp_path):
    data = dict(BASE, **{"cvmfs::manage_package": False, "cvmfs::manage_autofs": False})
    catalog = compile_site(tmp_path, data)
    assert not [ref for ref in catalog.resources if ref.startswith(("package[", "exec[", "service["))]
    assert file_resource(catalog, "/etc/cvmfs/default.local")["mode"] == "0644"


@pytest.mark.parametrize("data, problem", [
    ({"cvmfs::http_proxy": "http://a:3128 http://b:3128"}, "cvmfs::http_proxy: 'http://a:3128 http://b:3128' is "
                                                           "not a proxy URL"),
    ({"cvmfs::http_proxy": []}, "cvmfs::http_proxy: no proxy given"),
    ({"cvmfs::repositories": ["Bad Repo"]}, "cvmfs::repositories: 'Bad Repo' is not a repository name"),
    ({"cvmfs::extra_config": {"HTTP_PROXY": "x"}}, "cvmfs::extra_config: 'HTTP_PROXY': expected a CVMFS_* setting"),
    ({"cvmfs::extra_repositories": {"x.org": {"server": "s", "public_key": "not a key!"}}},
     "cvmfs::extra_repositories: x.org: public_key: expected a PEM public key"),
    ({"cvmfs::mount": "nfs"}, "cvmfs::mount: expected one of"),
])
def test_bad_data_is_one_line_naming_file_and_key(tmp_path, run_confrt, data, problem):
    assert_compile_error(run_confrt, tmp_path, dict(BASE, **data), problem)
