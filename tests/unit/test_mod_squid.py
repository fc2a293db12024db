"""squid module: the generated squid.conf is read by `squid -k parse`, as the file's validate_cmd does."""
import subprocess

import pytest
from mod_support import assert_compile_error, FACTS, scratch_disk, compile_site, content, need_tool, refs

SQUID = "/usr/sbin/squid"
CONF = "/etc/squid/squid.conf"
BASE = {"classes": ["squid"], "squid::user": "proxy"}


def squid_parse(text, tmp_path):
    """(exit code, the 'Processing: ...' directives squid read) of `squid -k parse -f FILE`."""
    need_tool(SQUID, "squid")
    path = tmp_path / "squid.conf"
    path.write_text(text)
    result = subprocess.run([SQUID, "-k", "parse", "-f", str(path)], capture_output=True, text=True)
    output = result.stdout + result.stderr
    processed = [line.split("Processing: ", 1)[1].strip() for line in output.splitlines() if "Processing: " in line]
    return result.returncode, processed, output


def test_config_parsed_by_squid(tmp_path):
    data = dict(BASE, **{"squid::backends": ["cvmfs-s1.example.org", "188.184.0.0/16"],
                         "squid::localnet": ["10.1.0.0/16"], "squid::cache_dir_size": 20000,
                         "squid::extra_config": ["max_filedescriptors 16384"]})
    catalog = compile_site(tmp_path, data, layers={"local.yaml": {"squid::localnet": ["192.168.7.0/24"]}})
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    for directive in ("http_port 3128", "acl localnet src 192.168.7.0/24", "acl localnet src 10.1.0.0/16",
                      "acl backend dstdomain cvmfs-s1.example.org", "acl backend_net dst 188.184.0.0/16", "http_access allow localnet backend_net",
                      "http_access allow localnet backend", "cache_mem 128 MB", "maximum_object_size 1024 MB",
                      "maximum_object_size_in_memory 128 KB", "cache_dir ufs /var/spool/squid 20000 16 256",
                      "collapsed_forwarding on", "minimum_expiry_time 0", "max_filedescriptors 16384"):
        assert directive in processed, (directive, processed)
    assert processed.index("http_access allow localnet backend") < processed.index("http_access deny all")


def test_resources_validate_initialise_and_reload(tmp_path):
    catalog = compile_site(tmp_path, BASE)
    conf = catalog.get(f"file[{CONF}]")
    assert conf["validate_cmd"] == [SQUID, "-k", "parse", "-f", "%s"]
    init = catalog.get("exec[squid -z /var/spool/squid]")
    assert init["command"] == [SQUID, "-z", "-N", "-f", CONF] and init["creates"] == "/var/spool/squid/00"
    cache = catalog.get("directory[/var/spool/squid]")
    assert (cache["owner"], cache["mode"]) == ("proxy", "0750")
    service = catalog.get("service[squid]")
    assert service["reload"] is True and service["ensure"] == "running" and service["enable"] is True
    assert refs(service, "subscribe") == {f"file[{CONF}]"} and refs(service, "require") == {init.ref}


def test_cache_on_the_ephemeral_disk(tmp_path):
    facts = dict(FACTS, ephemeral_disk=scratch_disk(200000))
    catalog = compile_site(tmp_path, BASE, facts)
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    assert "cache_dir ufs /scratch/squid 160000 16 256" in processed
    assert catalog.get("exec[squid -z /scratch/squid]")["creates"] == "/scratch/squid/00"


@pytest.mark.parametrize("root_gib, size_mb", [(20, 10240), (250, 50000), (0.1, 100)])
def test_without_a_scratch_disk_the_cache_is_sized_from_its_file_system(tmp_path, root_gib, size_mb):
    """It was 50000 MB whatever the root disk held (cloud root disks are often 10-30 GB)."""
    facts = dict(FACTS, mountpoints={"/": {"size_bytes": int(root_gib * 1024 ** 3)},
                                     "/var/spool/squid/other": {"size_bytes": 1}, "/boot": {"size_bytes": 1}})
    catalog = compile_site(tmp_path, BASE, facts)
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    assert f"cache_dir ufs /var/spool/squid {size_mb} 16 256" in processed
    facts["mountpoints"]["/var"] = {"size_bytes": 8 * 1024 ** 3}  # the nearest file system counts
    assert "cache_dir ufs /var/spool/squid 4096 16 256" in content(compile_site(tmp_path / "var", BASE, facts), CONF)


def test_no_client_reaches_this_hosts_services_or_the_metadata_service(tmp_path):
    """`http_access allow localnet` with no `deny to_localhost` and nothing against 169.254.0.0/16: any
    client on a private network could read the squid VM's metadata and userdata through it."""
    catalog = compile_site(tmp_path, dict(BASE, **{"squid::localnet": ["10.1.0.0/16"],
                                                   "squid::backends": ["cvmfs-s1.example.org"]}))
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"):
        assert f"acl to_metadata dst {net}" in processed
    allows = [i for i, line in enumerate(processed) if line.startswith("http_access allow") and "manager" not in line]
    for deny in ("http_access deny to_localhost", "http_access deny to_metadata", "http_access deny TRACE"):
        assert processed.index(deny) < min(allows), processed


def test_clients_default_to_this_hosts_networks(tmp_path, capsys):
    """The default was every RFC 1918 network (and fc00::/7, fe80::/10): now the host's own networks, said
    in a warning, unless squid::localnet lists the workers'."""
    networking = {"interfaces": {
        "eth0": {"bindings": [{"address": "10.20.3.4", "netmask": "255.255.255.0"}],
                 "bindings6": [{"address": "fe80::1", "netmask": "ffff:ffff:ffff:ffff::"},
                               {"address": "2001:db8:1::4", "netmask": "ffff:ffff:ffff:ffff::"}]},
        "lo": {"bindings": [{"address": "127.0.0.1", "netmask": "255.0.0.0"}]}}}
    catalog = compile_site(tmp_path, BASE, dict(FACTS, networking=dict(FACTS["networking"], **networking)))
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    assert [line for line in processed if line.startswith("acl localnet")] == [
        "acl localnet src 10.20.3.0/24", "acl localnet src 2001:db8:1::/64"]
    assert "squid::localnet not set: only this host's networks may use the cache (10.20.3.0/24, " \
           "2001:db8:1::/64)" in capsys.readouterr().err
    lonely = compile_site(tmp_path / "lo", BASE, FACTS)  # no network known: localhost only, still valid
    code, processed, output = squid_parse(content(lonely, CONF), tmp_path)
    assert code == 0 and "http_access allow localnet" not in processed, output


def test_snmp_for_monitoring_is_an_option(tmp_path):
    assert "snmp_port" not in content(compile_site(tmp_path, BASE), CONF)
    catalog = compile_site(tmp_path / "snmp", dict(BASE, **{"squid::snmp_clients": ["128.142.0.0/16"]}))
    code, processed, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code == 0, output
    assert {"snmp_port 3401", "acl snmp_clients src 128.142.0.0/16", "snmp_access allow snmp_clients",
            "snmp_access deny all"} <= set(processed)


def test_an_invalid_acl_is_refused_by_squid(tmp_path):
    catalog = compile_site(tmp_path, dict(BASE, **{"squid::localnet": ["10.0.0.0/33"]}))
    code, _, output = squid_parse(content(catalog, CONF), tmp_path)
    assert code != 0 and "10.0.0.0/33" in output


@pytest.mark.parametrize("data, problem", [
    ({"squid::cache_mem": "128 MiB"}, "squid::cache_mem: expected a size like '128 MB'"),
    ({"squid::maximum_object_size": "lots"}, "squid::maximum_object_size: expected a size"),
    ({"squid::minimum_expiry_time": "soon"}, "squid::minimum_expiry_time: expected a time"),
    ({"squid::backends": ["bad host!"]}, "squid::backends: 'bad host!' is not a host name"),
    ({"squid::extra_config": ["a\nb"]}, "squid::extra_config: expected one-line strings"),
    ({"squid::http_port": "3128"}, "squid::http_port: expected an integer"),
    ({"squid::snmp_clients": ["cern"]}, "squid::snmp_clients: 'cern' is not an address or network"),
    ({"squid::cache_dir": "/scratch/squid\nhttp_access allow all"}, "expected a path without spaces or line breaks"),
    ({"squid::cache_dir": "squid"}, "expected an absolute path"),
])
def test_bad_data_is_one_line_naming_file_and_key(tmp_path, run_confrt, data, problem):
    assert_compile_error(run_confrt, tmp_path, dict(BASE, **data), problem)
