"""squid module with frontier-squid: chosen where an OSG or CERN Frontier repository is enabled;
confrt writes the package's customize.sh (never squid.conf, which the package makes from it at every
start and reload), and what the script makes of the package's default is read by `squid -k parse`.

tests/fixtures/squid/squid.conf.frontierdefault models the package's default file (the package
cannot be had here); its cache_effective_user becomes this host's squid user."""
import os
import pwd
import subprocess

import pytest
from mod_support import FACTS, assert_compile_error, compile_site, content, need_tool, refs
from test_mod_squid import squid_parse

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTIER_DEFAULT = os.path.join(HERE, "..", "fixtures", "squid", "squid.conf.frontierdefault")
OSG = dict(FACTS, yum_repos=["epel", "osg"])
BASE = {"classes": ["squid"], "squid::localnet": ["10.77.0.0/16"]}


def frontier_folder(tmp_path):
    """A folder holding the model squid.conf.frontierdefault, for squid::config_file; the squid user
    is this host's (Debian's squid runs as proxy)."""
    folder = tmp_path / "etc-squid"
    folder.mkdir()
    user = next((name for name in ("squid", "proxy") if _user_exists(name)), None)
    if user is None:
        pytest.skip("no squid or proxy user on this host")
    with open(FRONTIER_DEFAULT) as handle:
        text = handle.read().replace("effective_user squid", f"effective_user {user}")
    (folder / "squid.conf.frontierdefault").write_text(text.replace("effective_group squid", f"effective_group {user}"))
    return folder


def _user_exists(name):
    try:
        return bool(pwd.getpwnam(name))
    except KeyError:
        return False


def made_by(script, folder, tmp_path, awk=None):
    """The squid.conf the package's start script makes: customize.sh < squid.conf.frontierdefault
    (with `awk` the awk program it runs: EL's is gawk, Debian's mawk)."""
    path = tmp_path / "customize.sh"
    path.write_text(script)
    env = None
    if awk:
        bin_dir = tmp_path / f"bin-{os.path.basename(awk)}"
        bin_dir.mkdir(exist_ok=True)
        if not (bin_dir / "awk").exists():
            (bin_dir / "awk").symlink_to(awk)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    with open(folder / "squid.conf.frontierdefault") as stdin:
        result = subprocess.run(["/bin/bash", str(path)], stdin=stdin, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("repos, data, package", [
    (["epel", "osg"], {}, "frontier-squid"),
    (["cern-frontier"], {}, "frontier-squid"),
    (["epel", "osg-upcoming"], {}, "squid"),
    ([], {}, "squid"),
    (["osg"], {"squid::package": "squid"}, "squid"),
    (["site-frontier"], {"squid::frontier_repositories": ["site-frontier"]}, "frontier-squid"),
])
def test_frontier_squid_where_a_repository_carries_it(tmp_path, repos, data, package):
    catalog = compile_site(tmp_path, dict(BASE, **data), dict(FACTS, yum_repos=repos))
    assert catalog.get(f"package[{package}]") is not None
    assert catalog.get(f"service[{package}]") is not None
    written = "/etc/squid/customize.sh" if package == "frontier-squid" else "/etc/squid/squid.conf"
    assert {ref for ref in catalog.resources if ref.startswith("file[")} == {f"file[{written}]"}
    cache = "/var/cache/squid" if package == "frontier-squid" else "/var/spool/squid"
    assert catalog.get(f"exec[squid -z {cache}]")["creates"] == f"{cache}/00"


def test_customize_keeps_the_packages_lines_and_replaces_what_confrt_sets(tmp_path):
    folder = frontier_folder(tmp_path)
    catalog = compile_site(tmp_path, dict(BASE, **{"squid::config_file": str(folder / "squid.conf"),
                                                   "squid::cache_dir_size": 300}), OSG)
    script = content(catalog, str(folder / "customize.sh"))
    code, processed, output = squid_parse(made_by(script, folder, tmp_path), tmp_path)
    assert code == 0, output
    # the package's own: its log rotation pair, tuning and acls confrt does not define
    assert [line for line in processed if line.startswith("logfile_rotate")] == ["logfile_rotate 1", "logfile_rotate 0"]
    assert {"uri_whitespace deny", "strip_query_terms off"} <= set(processed)
    assert any(line.startswith("acl NET_LOCAL src") for line in processed)
    # confrt's: one cache_dir, one port, its clients only (the package's wide localnet is gone), its rules only
    assert [line for line in processed if line.split()[0] in ("cache_dir", "http_port")] == [
        "http_port 3128", "cache_dir ufs /var/cache/squid 300 16 256"]
    assert [line for line in processed if line.startswith("acl localnet")] == ["acl localnet src 10.77.0.0/16"]
    rules = [line for line in processed if line.startswith("http_access")]
    assert "http_access allow NET_LOCAL" not in rules and rules[-1] == "http_access deny all"
    assert rules.index("http_access deny to_metadata") < rules.index("http_access allow localnet")
    assert not any(line.startswith("snmp_") for line in processed)  # no SNMP without snmp_clients


def test_snmp_clients_replace_the_packages_snmp_access(tmp_path):
    folder = frontier_folder(tmp_path)
    data = dict(BASE, **{"squid::config_file": str(folder / "squid.conf"), "squid::snmp_clients": ["192.0.2.0/24"]})
    script = content(compile_site(tmp_path, data, OSG), str(folder / "customize.sh"))
    code, processed, output = squid_parse(made_by(script, folder, tmp_path), tmp_path)
    assert code == 0, output
    assert [line for line in processed if line.startswith("snmp_")] == [
        "snmp_port 3401", "snmp_access allow snmp_clients", "snmp_access deny all"]


def test_validate_and_initialise_read_what_the_script_makes(tmp_path):
    """The file's validate_cmd and the `squid -z` exec run the new script over the installed default."""
    need_tool("/usr/sbin/squid", "squid")
    folder = frontier_folder(tmp_path)
    config = str(folder / "squid.conf")
    good = compile_site(tmp_path / "good", dict(BASE, **{"squid::config_file": config}), OSG)
    bad = compile_site(tmp_path / "bad", dict(BASE, **{"squid::config_file": config,
                                                      "squid::extra_config": ["cache_peer nowhere"]}), OSG)
    script = good.get(f"file[{folder}/customize.sh]")
    assert refs(good.get("service[frontier-squid]"), "subscribe") == {script.ref}
    assert script["mode"] == "0755"
    for catalog, expected in ((good, 0), (bad, 1)):
        resource = catalog.get(f"file[{folder}/customize.sh]")
        candidate = tmp_path / f"candidate-{expected}"
        candidate.write_text(resource["content"])
        argv = [str(candidate) if arg == "%s" else arg for arg in resource["validate_cmd"]]
        result = subprocess.run(argv, capture_output=True, text=True)
        assert (result.returncode != 0) == bool(expected), result.stdout + result.stderr
    initialise = good.get("exec[squid -z /var/cache/squid]")["command"]
    assert initialise[:4] == ["/bin/sh", "-c", initialise[2], "customize.sh"]
    assert initialise[4:] == [f"{folder}/customize.sh", f"{folder}/squid.conf.frontierdefault",
                              "/usr/sbin/squid", "-z", "-N"]
    assert not os.path.exists(config)  # squid.conf is the package's to make


AWKS = [path for path in ("/usr/bin/gawk", "/usr/bin/mawk", "/usr/bin/original-awk") if os.path.exists(path)]


@pytest.mark.parametrize("awk", AWKS)
def test_a_continued_directive_is_dropped_or_kept_whole(tmp_path, awk):
    """squid joins a line ending in a backslash to the next one that is neither a comment nor
    empty: a directive confrt replaces goes with its continuation lines, one it keeps keeps them."""
    folder = frontier_folder(tmp_path)
    default = (folder / "squid.conf.frontierdefault").read_text()
    (folder / "squid.conf.frontierdefault").write_text(default.replace(
        "acl localnet src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7 fe80::/10",
        "acl localnet src 10.0.0.0/8 \\\n# RFC 1918\n  172.16.0.0/12 192.168.0.0/16 \\\n\n  fc00::/7 fe80::/10").replace(
        "cache_mem 128 MB", "cache_mem \\\n  128 MB").replace(
        "strip_query_terms off", "strip_query_terms \\\n  off"))
    catalog = compile_site(tmp_path, dict(BASE, **{"squid::config_file": str(folder / "squid.conf")}), OSG)
    made = made_by(content(catalog, str(folder / "customize.sh")), folder, tmp_path, awk)
    code, processed, output = squid_parse(made, tmp_path)
    assert code == 0, output
    assert [line for line in processed if line.startswith(("acl localnet", "cache_mem"))] == [
        "acl localnet src 10.77.0.0/16", "cache_mem 128 MB"]
    assert "strip_query_terms off" in processed


def test_a_config_line_ending_the_scripts_here_document_is_refused(tmp_path, run_confrt):
    data = dict(BASE, **{"squid::extra_config": ["CONFRT_SQUID_CONF"]})
    assert_compile_error(run_confrt, tmp_path, data, "squid::extra_config: a line may not be CONFRT_SQUID_CONF",
                         facts={"yum_repos": ["osg"]})


def test_logfile_rotate_in_extra_config_is_refused_with_frontier_squid(tmp_path, run_confrt):
    """It would replace the package's two logfile_rotate lines, which squid -k parse does not miss but
    frontier-squid's start script does: the next start or reload would fail. Plain squid takes it."""
    data = dict(BASE, **{"squid::extra_config": ["logfile_rotate 7"]})
    assert_compile_error(run_confrt, tmp_path, data, "squid::extra_config: logfile_rotate is frontier-squid's own",
                         facts={"yum_repos": ["osg"]})
    catalog = compile_site(tmp_path / "plain", data, FACTS)
    assert "logfile_rotate 7" in content(catalog, "/etc/squid/squid.conf").splitlines()


@pytest.mark.parametrize("settings, warned", [
    ("# SQUID_CUSTOMIZE=false\nSQUID_START_ARGS=--foreground\n", False),
    ("export SQUID_CUSTOMIZE=false\n", True),
    ("SQUID_CUSTOMIZE='false'  # by hand\n", True),
])
def test_a_settings_file_turning_customize_off_is_said(tmp_path, capsys, settings, warned):
    """With SQUID_CUSTOMIZE=false frontier-squid's start script skips customize.sh: confrt's settings would
    be ignored without a word."""
    path = tmp_path / "frontier-squid"
    path.write_text(settings)
    compile_site(tmp_path, dict(BASE, **{"squid::frontier_settings": str(path)}), OSG)
    said = [line for line in capsys.readouterr().err.splitlines() if "SQUID_CUSTOMIZE=false" in line]
    assert bool(said) == warned, said
    if warned:
        assert f"squid: {path} sets SQUID_CUSTOMIZE=false: frontier-squid ignores customize.sh" in said[0]
