"""squid as a CVMFS/Frontier cache: squid.conf checked by `squid -k parse`, cache dirs, service.

The new squid.conf replaces the old one only when `squid -k parse` accepts it
(the file's validate_cmd): a bad acl fails that resource, the running squid
keeps its configuration and is not reloaded. squid -k parse does not check
units, so the sizes are checked here.

frontier-squid (installed where an OSG or CERN Frontier repository is enabled)
makes squid.conf itself at every start and reload, from its squid.conf.frontierdefault
piped through customize.sh: there confrt writes customize.sh, which keeps the
package's lines confrt does not set (its log rotation, its tuning) and appends
confrt's squid.conf; the same `squid -k parse` checks what it makes.
"""
import ipaddress
import os
import re
import shlex

from confrt.engine.module import CompileError, Param, absolute_path, cache_location, read_text, selinux_labelling

DOC = "squid cache for CVMFS and Frontier: squid.conf validated by squid -k parse, cache dirs, service"

SIZE = re.compile(r"^\d+ ?(bytes|KB|MB|GB)$")
DURATION = re.compile(r"^\d+( ?(seconds|second|minutes|minute|hours|hour|days|day))?$")
HOST = re.compile(r"^\.?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
#: link-local (169.254.169.254: EC2, OpenStack, GCE, Azure, Oracle), EC2's IPv6 metadata address and
#: Alibaba Cloud's metadata service
METADATA_DESTINATIONS = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"]
DEFAULT_CACHE_MB = 50000
#: the cache directories the squid packages make and label themselves
PACKAGED_CACHE_DIRS = {"squid": "/var/spool/squid", "frontier-squid": "/var/cache/squid"}
FRONTIER = "frontier-squid"
#: frontier-squid's start and reload run CUSTOMIZE with FRONTIER_DEFAULT on stdin: squid.conf is its output
CUSTOMIZE = "customize.sh"
FRONTIER_DEFAULT = "squid.conf.frontierdefault"
#: directives of the package's default that confrt replaces even when its squid.conf has none of
#: them: access rules are confrt's alone, and no SNMP without snmp_clients
ALWAYS_REPLACED = ("http_access", "snmp_port", "snmp_access")
#: ends the here-document of confrt's squid.conf in customize.sh
END_OF_CONFIG = "CONFRT_SQUID_CONF"
#: a line of frontier-squid's settings file (sourced by bash) turning customize.sh off
CUSTOMIZE_OFF = re.compile(r"""^[ \t]*(export[ \t]+)?SQUID_CUSTOMIZE=["']?false["']?[ \t]*(#.*)?$""", re.M)
#: runs `squid ARGS -f CONF` on the squid.conf that customize.sh $1 makes from the package's default
#: $2, as the package's start script would make it; CONF is made beside $2 (in squid's own folder,
#: which SELinux lets squid read, unlike /tmp)
FROM_CUSTOMIZE = ('conf=$(mktemp "${2%/*}/.confrt-squid-conf.XXXXXX") || exit 1; '
                  '/bin/bash "$1" < "$2" > "$conf" && shift 2 && "$@" -f "$conf"; rc=$?; rm -f "$conf"; exit $rc')


def cache_dir_path(value):
    """Param check: an absolute path squid.conf can hold (no white space: it ends the directive)."""
    if any(character.isspace() for character in value):
        raise ValueError(f"expected a path without spaces or line breaks, got {value!r}")
    return absolute_path(value)


PARAMS = [
    Param("http_port", int, 3128, "the port clients use"),
    Param("localnet", list, [], "client networks allowed to use the cache (acl localnet src; unique merge); "
          "default: the networks of this host's interfaces (a warning names them)"),
    Param("backends", list, [], "if given, only these origins (host names, IPs or networks) may be "
          "fetched (amiconfig [squid] backends; unique merge)"),
    Param("cache_dir", str, None, "the ufs cache directory; default: <ephemeral disk>/squid when the "
          "ephemeral_disk fact (module ephemeral_disk) exists, else the package's own: /var/spool/squid "
          "(frontier-squid: /var/cache/squid)", check=cache_dir_path),
    Param("cache_dir_size", int, None, "cache size in MB; default: 80% of the ephemeral disk when the "
          "cache is on it, else half the file system it lands on, at most 50000"),
    Param("cache_mem", str, "128 MB", "memory cache size"),
    Param("maximum_object_size_in_memory", str, "128 KB", "largest object kept in memory"),
    Param("maximum_object_size", str, "1024 MB", "largest object cached"),
    Param("collapsed_forwarding", bool, True, "one origin request for concurrent misses of a URL"),
    Param("minimum_expiry_time", str, "0", "minimum_expiry_time (0: cache even short-lived objects)"),
    Param("denied_destinations", list, METADATA_DESTINATIONS, "destinations never fetched (acl to_metadata "
          "dst): link-local and the clouds' metadata services, so clients cannot read this host's userdata "
          "(unique merge; loopback is denied too, squid's to_localhost)"),
    Param("snmp_clients", list, [], "networks allowed to query squid's SNMP agent on port 3401 (WLCG "
          "monitoring); empty: no SNMP"),
    Param("extra_config", list, [], "more squid.conf lines, appended (checked by squid -k parse)"),
    Param("config_file", str, "/etc/squid/squid.conf", "the configuration file"),
    Param("user", str, "squid", "the user squid runs as (owns the cache): squid on EL, proxy on Debian"),
    Param("binary", str, "/usr/sbin/squid", "the squid program"),
    Param("package", str, None, "squid or frontier-squid; default: frontier-squid where one of "
          "frontier_repositories is enabled (the yum_repos fact), else squid"),
    Param("frontier_repositories", list, ["osg", "cern-frontier"], "ids of the dnf repositories that carry "
          "frontier-squid (OSG's, CERN's; unique merge)"),
    Param("frontier_settings", str, "/etc/sysconfig/frontier-squid", "frontier-squid's settings file: a "
          "SQUID_CUSTOMIZE=false there makes its start script skip customize.sh (a warning says so)",
          check=absolute_path),
    Param("manage_package", bool, True, "install the package"),
    Param("service", str, None, "the service name, kept enabled and running, reloaded on change; default: "
          "the package's (squid, frontier-squid)"),
]


def declare(params, facts, ctx):
    package = params["package"] or _package(params, facts)
    values = dict(params)
    values.update(_checked(params, ctx))
    values["cache_dir"], values["cache_dir_size"] = _cache(params, facts, PACKAGED_CACHE_DIRS.get(package))
    values["backends"] = sorted(_backend(b, ctx) for b in params["backends"])
    for name in ("denied_destinations", "snmp_clients"):
        values[name] = [_network(item, ctx, name) for item in params[name]]
    values["localnet"] = _clients(params, facts, ctx)
    config = ctx.template("squid.conf.j2", **values)
    installed = f"package[{package}]" if params["manage_package"] else None
    squid, path, cache_dir = params["binary"], params["config_file"], values["cache_dir"]
    folder = os.path.dirname(path)
    if package == FRONTIER:  # squid.conf is the package's: confrt writes what makes it
        written = ctx.resource("file", os.path.join(folder, CUSTOMIZE), content=customize_script(config, ctx),
                               mode="0755", require=installed,
                               validate_cmd=_from_customize("%s", folder, [squid, "-k", "parse"]))
        initialise = _from_customize(written.title, folder, [squid, "-z", "-N"])
        _warn_if_customize_is_off(params, ctx)
    else:
        written = ctx.resource("file", path, content=config, mode="0644", require=installed,
                               validate_cmd=[squid, "-k", "parse", "-f", "%s"])
        initialise = [squid, "-z", "-N", "-f", path]
    labels = _selinux_labels(facts, ctx, cache_dir, package)
    resources = [ctx.resource("package", package)] if installed else []
    resources += [
        ctx.resource("directory", folder, mode="0755", require=installed),
        written,
        ctx.resource("directory", cache_dir, mode="0750", owner=params["user"], group=params["user"],
                     require=installed),
        *labels,
        ctx.resource("exec", f"squid -z {cache_dir}", command=initialise, creates=os.path.join(cache_dir, "00"),
                     require=[written.ref, f"directory[{cache_dir}]"] + [r.ref for r in labels]),
        ctx.resource("service", params["service"] or (FRONTIER if package == FRONTIER else "squid"),
                     ensure="running", enable=True, reload=True, require=f"exec[squid -z {cache_dir}]",
                     subscribe=written.ref),
    ]
    return resources


def _warn_if_customize_is_off(params, ctx):
    """frontier-squid's start script ignores customize.sh, and so confrt's settings, when its settings
    file says SQUID_CUSTOMIZE=false."""
    text = read_text(params["frontier_settings"]) or ""
    if CUSTOMIZE_OFF.search(text):
        ctx.warn(f"{ctx.origin('frontier_settings')}: squid: {params['frontier_settings']} sets "
                 f"SQUID_CUSTOMIZE=false: frontier-squid ignores {CUSTOMIZE}, so none of confrt's squid settings "
                 f"(clients, denied destinations, cache) are used; remove that line")


def _package(params, facts):
    """frontier-squid where a repository that carries it is enabled (OSG's advice), else squid."""
    enabled = facts.get("yum_repos") or []
    return FRONTIER if set(enabled) & set(params["frontier_repositories"]) else "squid"


def customize_script(config, ctx):
    """frontier-squid's customize.sh: the package's default squid.conf on stdin, without the lines
    for what confrt's `config` sets (directives by name, acls by name, each with the lines it
    continues on), then `config`."""
    words = [line.split() for line in config.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if END_OF_CONFIG in config.splitlines():
        raise CompileError(f"{ctx.origin('extra_config')}: squid::extra_config: a line may not be {END_OF_CONFIG}")
    if any(w[0] == "logfile_rotate" for w in words):  # frontier-squid's start script refuses squid.conf without its two
        raise CompileError(f"{ctx.origin('extra_config')}: squid::extra_config: logfile_rotate is frontier-squid's own "
                           f"(its start script needs the package's two lines, which this would replace)")
    replaced = sorted({w[0] for w in words if w[0] != "acl"} | set(ALWAYS_REPLACED))
    acls = sorted({w[1] for w in words if w[0] == "acl" and len(w) > 1})
    program = (f'BEGIN {{ split("{_awk_string(" ".join(replaced))}", d, " "); for (i in d) replaced[d[i]] = 1\n'
               f'        split("{_awk_string(" ".join(acls))}", a, " "); for (i in a) acl[a[i]] = 1 }}\n'
               # squid skips comments and empty lines, also between the lines of a continued directive
               'NF == 0 || $1 ~ /^#/ { print; next }\n'
               # a line ending in a backslash continues on the next: it goes (or stays) with its directive
               '!continued { dropped = ($1 in replaced) || ($1 == "acl" && ($2 in acl)) }\n'
               '{ continued = /\\\\$/ }\n'
               '!dropped { print }')
    return ctx.template("customize.sh.j2", program=shlex.quote(program), config=config, end=END_OF_CONFIG)


def _awk_string(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _from_customize(script, folder, argv):
    """`argv -f CONF` where CONF is what customize.sh `script` makes of the package's default."""
    return ["/bin/sh", "-c", FROM_CUSTOMIZE, CUSTOMIZE, script, os.path.join(folder, FRONTIER_DEFAULT), *argv]


def _selinux_labels(facts, ctx, cache_dir, package):
    """On an EL host with SELinux enabled, a cache_dir other than the package's labelled squid_cache_t
    (squid cannot use it otherwise)."""
    if not selinux_labelling(facts) or cache_dir.rstrip("/") == PACKAGED_CACHE_DIRS.get(package):
        return []
    return [ctx.resource("selinux_fcontext", cache_dir, seltype="squid_cache_t")]


def _checked(params, ctx):
    """The sizes and times squid -k parse would accept with the wrong meaning."""
    for name in ("cache_mem", "maximum_object_size_in_memory", "maximum_object_size"):
        if not SIZE.match(params[name].strip()):
            raise CompileError(f"{ctx.origin(name)}: squid::{name}: expected a size like '128 MB' "
                               f"(bytes, KB, MB or GB), got {params[name]!r}")
    if not DURATION.match(params["minimum_expiry_time"].strip()):
        raise CompileError(f"{ctx.origin('minimum_expiry_time')}: squid::minimum_expiry_time: expected a "
                           f"time like '60 seconds', got {params['minimum_expiry_time']!r}")
    for name in ("localnet", "extra_config"):
        for item in params[name]:
            if not isinstance(item, str) or "\n" in item or not item.strip():
                raise CompileError(f"{ctx.origin(name)}: squid::{name}: expected one-line strings, got {item!r}")
    return {name: params[name].strip() for name in ("cache_mem", "maximum_object_size_in_memory",
                                                    "maximum_object_size", "minimum_expiry_time")}


def _network(item, ctx, name):
    try:
        return str(ipaddress.ip_network(str(item), strict=False))
    except ValueError:
        raise CompileError(f"{ctx.origin(name)}: squid::{name}: {item!r} is not an address or network") from None


def _clients(params, facts, ctx):
    """The client networks: squid::localnet, else this host's own networks (a warning names them)."""
    if params["localnet"]:
        return list(params["localnet"])
    networks = host_networks(facts)
    ctx.warn(f"{ctx.origin('localnet')}: squid::localnet not set: only this host's networks may use the cache "
             f"({', '.join(networks) or 'none: localhost only'}); list the workers' networks there")
    return networks


def host_networks(facts):
    """The networks of this host's interfaces (networking fact), loopback and link-local left out."""
    found = []
    for interface in sorted((facts.get("networking.interfaces") or {}).values(), key=str):
        if not isinstance(interface, dict):
            continue
        for binding in (interface.get("bindings") or []) + (interface.get("bindings6") or []):
            try:  # facter's netmask6 is an address (ffff:ffff::), which ip_network takes for IPv4 only
                prefix = bin(int(ipaddress.ip_address(binding["netmask"]))).count("1")
                network = ipaddress.ip_network(f"{binding['address']}/{prefix}", strict=False)
            except (KeyError, TypeError, ValueError):
                continue
            if not (network.is_loopback or network.is_link_local) and str(network) not in found:
                found.append(str(network))
    return found


def _backend(backend, ctx):
    """(acl, type, value): networks by dst (acl backend_net), names by dstdomain (acl backend: no
    DNS lookup when squid parses); squid refuses one acl name with two types."""
    try:
        return "backend_net", "dst", str(ipaddress.ip_network(str(backend), strict=False))
    except ValueError:
        pass
    if not isinstance(backend, str) or not HOST.match(backend):
        raise CompileError(f"{ctx.origin('backends')}: squid::backends: {backend!r} is not a host name, "
                           f"address or network")
    return "backend", "dstdomain", backend


def _cache(params, facts, packaged):
    """(cache_dir, its size in MB): on the ephemeral disk when there is one, else the package's own."""
    cache_dir, disk_mb = cache_location(facts, params["cache_dir"], "squid", packaged or PACKAGED_CACHE_DIRS["squid"])
    size = params["cache_dir_size"]
    if size is None and disk_mb:  # a disk of its own: 80%, leaving squid's swap state and logs room
        size = max(disk_mb * 8 // 10, 100)
    elif size is None:  # shared with the system (a cloud root disk is often 10-30 GB): half, at most 50000
        file_system_mb = file_system_size_mb(facts, cache_dir)
        size = max(min(file_system_mb // 2, DEFAULT_CACHE_MB), 100) if file_system_mb else DEFAULT_CACHE_MB
    return cache_dir, size


def file_system_size_mb(facts, path):
    """Size in MB of the file system `path` lands on (the longest mount point above it in the
    `mountpoints` fact), or 0 when unknown."""
    best, size = "", 0
    for mountpoint, entry in (facts.get("mountpoints") or {}).items():
        prefix = mountpoint.rstrip("/") + "/"
        if (path.rstrip("/") + "/").startswith(prefix) and len(prefix) > len(best) and isinstance(entry, dict):
            best, size = prefix, int(entry.get("size_bytes") or 0) // (1024 * 1024)
    return size
