"""The CernVM-FS client: packages, /etc/cvmfs/default.local, extra repositories, autofs or fstab.

Every value in the files is shell-quoted: the client sources them with /bin/sh,
and an unquoted `;` in CVMFS_HTTP_PROXY passes `sh -n` but ends the assignment.
"""
import os
import re
import shlex

from confrt.engine.module import CompileError, Param, cache_budget_mb, cache_location, selinux_labelling

DOC = "CernVM-FS client: default.local, extra repositories, autofs or fstab mounts"

REPOSITORY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PROXY = re.compile(r"^(DIRECT|auto|https?://[^\s|;'\"]+)$")
SETTING = re.compile(r"^CVMFS_[A-Z0-9_]+$")
DEFAULT_DOMAIN = "cern.ch"
DEFAULT_QUOTA_MB = 4000
DEFAULT_CACHE_BASE = "/var/lib/cvmfs"
MOUNTS = ("autofs", "fstab", "none")

PARAMS = [
    Param("repositories", list, [], "repositories to mount (unique merge over all data levels)"),
    Param("organisations", list, [], "CernVM organisations: each adds <name lower case>.cern.ch"),
    Param("http_proxy", (str, list), "DIRECT", "CVMFS_HTTP_PROXY: a string 'p1|p2;DIRECT' or a list of "
          "groups (failover order), each a proxy or a list of load-balanced proxies"),
    Param("fallback_proxy", (str, list), None, "CVMFS_FALLBACK_PROXY: proxies tried after those of http_proxy "
          "(same forms), instead of a trailing DIRECT: with it the client drops DIRECT from both lists"),
    Param("allow_direct", bool, True, "DIRECT in http_proxy without a warning (a handful of clients may; "
          "the worker role sets false: a fleet's workers should use proxies)"),
    Param("quota_limit_mb", int, None, "CVMFS_QUOTA_LIMIT; default: when the cache is on the ephemeral disk "
          "(shared with the jobs), the most whose footprint (+20% + 1 GB) fits the disk's cache budget "
          "(ephemeral_disk::cache_percent, cache_max_mb), else 4000"),
    Param("cache_base", str, None, "CVMFS_CACHE_BASE; default: <ephemeral disk>/cvmfs when the "
          "ephemeral_disk fact (module ephemeral_disk) exists, else /var/lib/cvmfs"),
    Param("client_profile", str, "single", "CVMFS_CLIENT_PROFILE (empty: not set)"),
    Param("use_geoapi", bool, None, "CVMFS_USE_GEOAPI (unset: the client's default)"),
    Param("extra_repositories", dict, {}, "name -> {server, public_key}: config.d/<name>.conf and "
          "keys/<name>.pub, as amiconfig's extra_repositories"),
    Param("extra_config", dict, {}, "more CVMFS_* settings for default.local (deep merge)"),
    Param("mount", str, "autofs", "autofs (/etc/auto.master.d/cvmfs.autofs), fstab or none",
          choices=MOUNTS),
    Param("config_dir", str, "/etc/cvmfs", "the client's configuration directory"),
    Param("packages", list, ["cvmfs", "cvmfs-config-default"], "the client and one cvmfs-config-* package"),
    Param("manage_package", bool, True, "install the packages and reload the client on change"),
    Param("manage_autofs", bool, True, "install autofs and keep it running (with mount: autofs)"),
]


def sh(value):
    """A value as /bin/sh reads it back unchanged: shlex.quote, and one line only (the client's own
    parser, options.cc, reads the files a KEY=VALUE line at a time)."""
    text = str(value)
    if "\n" in text or "\0" in text:
        raise ValueError("a value must be one line")
    return shlex.quote(text)


def declare(params, facts, ctx):
    repositories = _repositories(params, ctx)
    cache_base, quota = _cache(params, facts, ctx)
    proxies = http_proxy(params["http_proxy"], ctx)
    settings = [("CVMFS_REPOSITORIES", ",".join(repositories)),
                ("CVMFS_HTTP_PROXY", proxies),
                ("CVMFS_QUOTA_LIMIT", quota),
                ("CVMFS_CACHE_BASE", cache_base)]
    fallback = http_proxy(params["fallback_proxy"], ctx, "fallback_proxy") if params["fallback_proxy"] else None
    if fallback:
        settings.append(("CVMFS_FALLBACK_PROXY", fallback))
    if params["client_profile"]:
        settings.append(("CVMFS_CLIENT_PROFILE", params["client_profile"]))
    if params["use_geoapi"] is not None:
        settings.append(("CVMFS_USE_GEOAPI", "yes" if params["use_geoapi"] else "no"))
    settings += _extra_settings(params["extra_config"], ctx)

    managed = params["manage_package"]
    requires = [f"package[{name}]" for name in params["packages"]] if managed else []
    resources = [ctx.resource("package", name) for name in params["packages"]] if managed else []
    config_dir = params["config_dir"]
    resources += ctx.directories(config_dir, require=requires)
    files = [_settings_file(ctx, os.path.join(config_dir, "default.local"), "site settings", settings)]
    if params["extra_repositories"]:
        for sub in ("config.d", "keys"):
            resources.append(ctx.resource("directory", os.path.join(config_dir, sub), mode="0755"))
        files += _extra_repository_files(params, ctx)
    resources += files
    resources += _mounts(params, ctx, repositories)
    labels = _selinux_labels(facts, ctx, cache_base)
    resources += labels
    if managed:
        resources.append(ctx.resource("exec", "cvmfs_config reload", command=["/usr/bin/cvmfs_config", "reload"],
                                      refreshonly=True, require=requires + [r.ref for r in labels],
                                      subscribe=[f.ref for f in files]))
    _warn_direct(params, ctx, proxies, fallback)  # after every check: a bad value is one error line
    return resources


def _selinux_labels(facts, ctx, cache_base):
    """On an EL host with SELinux enabled, a cache other than the package's /var/lib/cvmfs made and
    labelled cvmfs_cache_t (the CVMFS docs: the RPMs label only the default cache directory)."""
    if not selinux_labelling(facts) or cache_base.rstrip("/") == DEFAULT_CACHE_BASE:
        return []
    return [ctx.resource("directory", cache_base),
            ctx.resource("selinux_fcontext", cache_base, seltype="cvmfs_cache_t")]


def _settings_file(ctx, path, what, settings):
    where = f"{ctx.origin('extra_config')}: cvmfs"
    try:
        quoted = [(name, sh(value)) for name, value in settings]
    except ValueError as exc:
        raise CompileError(f"{where}: {path}: {exc}") from None
    content = ctx.template("settings.conf.j2", what=what, settings=quoted)
    return ctx.resource("file", path, content=content, mode="0644")


def _repositories(params, ctx):
    names = list(params["repositories"])
    names += [org.lower() for org in params["organisations"] if isinstance(org, str)]
    names += list(params["extra_repositories"])
    result = []
    for name in names:
        if not isinstance(name, str) or not REPOSITORY.match(name.lower()):
            raise CompileError(f"{ctx.origin('repositories')}: cvmfs::repositories: {name!r} is not a "
                               f"repository name")
        full = name if "." in name else f"{name}.{DEFAULT_DOMAIN}"
        if full not in result:
            result.append(full)
    return result


def _warn_direct(params, ctx, proxies, fallback):
    """DIRECT sends every client of the fleet straight to the Stratum 1s when the squids fail (or
    always): the CVMFS docs keep it for a handful of clients. Said, unless allow_direct."""
    groups = [group.split("|") for group in proxies.split(";")]
    if not any("DIRECT" in group for group in groups) or params["allow_direct"]:
        return
    where = f"{ctx.origin('http_proxy')}: cvmfs::http_proxy"
    if fallback:
        ctx.warn(f"{where}: DIRECT is ignored: with CVMFS_FALLBACK_PROXY set the client drops it from both lists")
    elif groups == [["DIRECT"]]:
        ctx.warn(f"{where}: DIRECT: no proxy, every client fetches from the Stratum 1 servers; give the site's "
                 f"squids (cvmfs::allow_direct: true for a lone client)")
    else:
        trailing = groups[-1] == ["DIRECT"] and not any("DIRECT" in group for group in groups[:-1])
        what = "a trailing DIRECT sends the whole fleet" if trailing else \
            "DIRECT beside the squids (in a '|' group) sends part of the fleet's requests"
        ctx.warn(f"{where}: {what} to the Stratum 1 servers{' when the squids fail' if trailing else ''}; list "
                 f"other proxies in cvmfs::fallback_proxy instead (cvmfs::allow_direct: true keeps it quiet)")


def http_proxy(value, ctx, param="http_proxy"):
    """CVMFS_HTTP_PROXY (or _FALLBACK_PROXY) from a string or a list of groups: '|' within a group, ';'
    between."""
    where = f"{ctx.origin(param)}: cvmfs::{param}"
    groups = value.split(";") if isinstance(value, str) else value
    texts = []
    for group in groups:
        members = group.split("|") if isinstance(group, str) else group
        if not isinstance(members, list) or not members:
            raise CompileError(f"{where}: expected proxies or lists of proxies, got {group!r}")
        for proxy in members:
            if not isinstance(proxy, str) or not PROXY.match(proxy.strip()):
                raise CompileError(f"{where}: {proxy!r} is not a proxy URL (http://host:port), DIRECT or auto")
        texts.append("|".join(proxy.strip() for proxy in members))
    if not texts:
        raise CompileError(f"{where}: no proxy given (use DIRECT for none)")
    return ";".join(texts)


def _cache(params, facts, ctx):
    """(CVMFS_CACHE_BASE, CVMFS_QUOTA_LIMIT): on the ephemeral disk when there is one, within the cache
    budget ephemeral_disk keeps on it from the jobs (the fact's cache_mb)."""
    cache_base, disk_mb = cache_location(facts, params["cache_base"], "cvmfs", DEFAULT_CACHE_BASE)
    budget = cache_budget_mb(facts) if disk_mb else 0
    quota = params["quota_limit_mb"]
    if quota is None:
        quota = quota_within(budget) if disk_mb else DEFAULT_QUOTA_MB
    elif disk_mb and cache_footprint(quota) > budget:
        ctx.warn(f"{ctx.origin('quota_limit_mb')}: cvmfs::quota_limit_mb {quota} MB: with its margin (20% + "
                 f"1 GB) the cache takes {cache_footprint(quota)} MB of the ephemeral disk, beyond the "
                 f"{budget} MB kept from the jobs (ephemeral_disk::cache_percent, cache_max_mb): jobs may "
                 f"run out of space")
    return cache_base, quota


def cache_footprint(quota_mb):
    """MB the cache may take on its disk: the soft quota plus the CVMFS documentation's margin (20% + 1 GB)."""
    return quota_mb + quota_mb // 5 + 1024


def quota_within(budget_mb):
    """The largest CVMFS_QUOTA_LIMIT whose footprint fits the budget (at least 1000 MB)."""
    return max((budget_mb - 1024) * 5 // 6, 1000)


def _extra_settings(extra, ctx):
    settings = []
    for name, value in sorted(extra.items()):
        if not isinstance(name, str) or not SETTING.match(name):
            raise CompileError(f"{ctx.origin('extra_config')}: cvmfs::extra_config: {name!r}: expected a "
                               f"CVMFS_* setting name")
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if not isinstance(value, (str, int, float)):
            raise CompileError(f"{ctx.origin('extra_config')}: cvmfs::extra_config: {name}: expected a "
                               f"string or number, got {value!r}")
        settings.append((name, value))
    return settings


def public_key_pem(key):
    """A PEM public key from PEM text or a bare base64 body (what CernVM userdata carries)."""
    key = key.strip()
    if key.startswith("-----BEGIN"):
        return key + "\n"
    body = "".join(key.split())
    if not body or not re.match(r"^[A-Za-z0-9+/]+=*$", body):
        raise ValueError("public_key: expected a PEM public key or its base64 body")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def _extra_repository_files(params, ctx):
    config_dir = params["config_dir"]
    resources = []
    for name, spec in sorted(params["extra_repositories"].items()):
        where = f"{ctx.origin('extra_repositories')}: cvmfs::extra_repositories: {name}"
        if not isinstance(spec, dict) or not spec.get("server") or not spec.get("public_key"):
            raise CompileError(f"{where}: expected {{server: URL, public_key: PEM}}")
        try:
            pem = public_key_pem(str(spec["public_key"]))
        except ValueError as exc:
            raise CompileError(f"{where}: {exc}") from None
        server = str(spec["server"])
        if "://" not in server:  # amiconfig gives a host: the usual Stratum 1 URL layout
            server = f"http://{server}/cvmfs/@fqrn@"
        key_path = os.path.join(config_dir, "keys", f"{name}.pub")
        resources.append(ctx.resource("file", key_path, content=pem, mode="0644"))
        resources.append(_settings_file(ctx, os.path.join(config_dir, "config.d", f"{name}.conf"),
                                        f"repository {name} (cvmfs::extra_repositories)",
                                        [("CVMFS_SERVER_URL", server), ("CVMFS_PUBLIC_KEY", key_path)]))
    return resources


def _mounts(params, ctx, repositories):
    if params["mount"] == "autofs":
        master = ctx.resource("file", "/etc/auto.master.d/cvmfs.autofs", content="/cvmfs /etc/auto.cvmfs\n",
                              mode="0644")
        resources = [ctx.resource("directory", "/etc/auto.master.d", mode="0755"), master]
        if params["manage_autofs"]:
            resources.append(ctx.resource("package", "autofs"))
            resources.append(ctx.resource("service", "autofs", ensure="running", enable=True, reload=True,
                                          subscribe=master.ref))
        return resources
    if params["mount"] == "fstab":
        ensure = "mounted" if params["manage_package"] else "present"
        resources = [ctx.resource("directory", "/cvmfs", mode="0755")]
        for name in repositories:
            resources.append(ctx.resource("directory", f"/cvmfs/{name}", mode="0755"))
            resources.append(ctx.resource("mount", f"/cvmfs/{name}", device=name, fstype="cvmfs",
                                          options="defaults,_netdev,nodev", ensure=ensure))
        return resources
    return []
