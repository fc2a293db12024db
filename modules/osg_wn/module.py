"""An OSG worker node: client tools, CA certificates, VOMS configuration, environment, namespaces.

CA certificates come from a package (kept fresh by fetch-crl) or straight from
CVMFS (X509_CERT_DIR points there; CVMFS keeps the CRLs current). The VOMS
servers of `osg_wn::vos` go into /etc/vomses in the layout the host's packages
use: on EL, vo-client (required by osg-wn-client) ships /etc/vomses as one file
(%config(noreplace)), so each server is a line in it; elsewhere /etc/vomses is a
directory of one file per VO. Their .lsc files go into the vomsdir either way.
"""
import os
import re
import shlex

from confrt.engine.module import CompileError, Param

DOC = "OSG worker node: wn-client, CA certificates, fetch-crl, vomses/vomsdir, osg.sh, user namespaces"

CVMFS_GRID_SECURITY = "/cvmfs/grid.cern.ch/etc/grid-security"
VO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
VOMS_DIR = "/etc/grid-security/vomsdir"
FETCH_CRL = "/usr/sbin/fetch-crl"
FETCH_CRL_CONF = "/etc/fetch-crl.conf"
#: ca_source -> X509_CERT_DIR. `system`: the distribution's CA directory (Debian's ca-certificates),
#: where no IGTF bundle package exists and no CVMFS client mounts grid.cern.ch
CERT_DIRS = {"package": "/etc/grid-security/certificates", "none": "/etc/grid-security/certificates",
             "cvmfs": os.path.join(CVMFS_GRID_SECURITY, "certificates"), "system": "/etc/ssl/certs"}

PARAMS = [
    Param("packages", list, ["osg-wn-client"], "client tools: osg-wn-client (EL), fetch-crl and "
          "voms-clients (Debian)"),
    Param("manage_package", bool, True, "install packages (false: only the configuration)"),
    Param("ca_source", str, "package", "CA certificates from a package, from CVMFS (grid.cern.ch), the "
          "system's CA directory (/etc/ssl/certs), or none", choices=("package", "cvmfs", "system", "none")),
    Param("ca_package", str, "osg-ca-certs", "the CA certificates package (ca_source: package)"),
    Param("fetch_crl", str, "cron", "keep CRLs fresh (ca_source: package): cron (a confrt cron job), "
          "timer (fetch-crl.timer) or none", choices=("cron", "timer", "none")),
    Param("crl_proxy", str, None, "the HTTP proxy fetch-crl uses (http_proxy in /etc/fetch-crl.conf); default: "
          "http://<squid_location> when squid_location is set"),
    Param("fetch_crl_at_boot", bool, True, "run fetch-crl once when the host has no CRL yet (a fresh VM), "
          "before it takes jobs (ca_source: package)"),
    Param("vos", dict, {}, "VO name -> list of {host, port, dn, ca_dn[, vomses: false]}: a vomses "
          "entry and vomsdir/<vo>/<host>.lsc (vomses: false: the .lsc only) (deep merge)"),
    Param("vomses", str, "file", "the layout of /etc/vomses: file (vo-client's file on EL: one line per "
          "server in it) or directory (/etc/vomses/<vo>)", choices=("file", "directory")),
    Param("osg_grid", str, "/etc/osg/wn-client", "OSG_GRID: where the worker node client lives"),
    Param("wn_tmp", str, None, "OSG_WN_TMP; default: <ephemeral disk>/osg_wn_tmp when the "
          "ephemeral_disk fact (module ephemeral_disk) exists, else /tmp"),
    Param("squid_location", str, None, "OSG_SQUID_LOCATION host:port (unset: UNAVAILABLE)"),
    Param("user_namespaces", int, 15000, "user.max_user_namespaces for unprivileged apptainer "
          "(raised only; 0: leave alone)"),
    Param("profile_script", str, "/etc/profile.d/osg.sh", "the environment script"),
]


def declare(params, facts, ctx):
    resources = []
    managed = params["manage_package"]
    packages = list(params["packages"])
    if params["ca_source"] == "package":
        packages.append(params["ca_package"])
    if managed:
        resources += [ctx.resource("package", name) for name in packages]
    package_refs = [f"package[{name}]" for name in packages] if managed else []
    resources += _fetch_crl(params, ctx, managed, package_refs)
    resources += _vo_files(params, ctx, package_refs)
    variables = environment(facts, params)
    if not params["wn_tmp"] and facts.get("ephemeral_disk.mountpoint"):
        resources.append(ctx.resource("directory", variables["OSG_WN_TMP"], mode="1777"))
    script = ctx.template("osg.sh.j2", variables=[(name, shlex.quote(value)) for name, value in variables.items()])
    resources.append(ctx.resource("file", params["profile_script"], content=script, mode="0644"))
    if params["user_namespaces"]:
        resources.append(ctx.resource("sysctl", "user.max_user_namespaces", value=params["user_namespaces"],
                                      only_raise=True, file="/etc/sysctl.d/90-confrt-apptainer.conf"))
    return resources


def environment(facts, params):
    """The OSG worker node environment, {name: value}: osg.sh's and every job's (the module fact
    osg_wn_job_environment: condor puts it in STARTER_JOB_ENVIRONMENT, jobs never read profile.d)."""
    wn_tmp = params["wn_tmp"]
    scratch = facts.get("ephemeral_disk.mountpoint")
    if not wn_tmp:
        wn_tmp = os.path.join(scratch, "osg_wn_tmp") if scratch else "/tmp"
    return {"OSG_GRID": params["osg_grid"], "OSG_WN_TMP": wn_tmp,
            "OSG_SQUID_LOCATION": params["squid_location"] or "UNAVAILABLE",
            "X509_CERT_DIR": CERT_DIRS[params["ca_source"]], "X509_VOMS_DIR": VOMS_DIR}


FACTS = {"osg_wn_job_environment": environment}


def _fetch_crl(params, ctx, managed, packages):
    if params["ca_source"] != "package" or params["fetch_crl"] == "none":
        return []
    requires = f"package[{params['ca_package']}]" if managed else None
    resources = []
    proxy = params["crl_proxy"] or (f"http://{params['squid_location']}" if params["squid_location"] else None)
    if proxy:  # many workers fetch the same CRLs: through the site's squid, as OSG's CA docs advise
        resources.append(ctx.resource("line", "fetch-crl http_proxy", path=FETCH_CRL_CONF,
                                      line=f"http_proxy = {proxy}", match=r"^\s*http_proxy\s*=",
                                      require=packages or None))
    if params["fetch_crl_at_boot"]:
        # once, while the host has no CRL (a fresh VM): a run that cannot fetch them fails, and condor's
        # START guard keeps the node closed until one can
        resources.append(ctx.resource(
            "exec", "fetch-crl at first boot", command=[FETCH_CRL, "-q"],
            unless=["sh", "-c", 'for crl in "$1"/*.r0; do [ -e "$crl" ] && exit 0; done; exit 1', "sh",
                    CERT_DIRS["package"]],
            require=packages + [r.ref for r in resources], timeout=600))
    if params["fetch_crl"] == "timer":
        return resources + [ctx.resource("service", "fetch-crl.timer", ensure="running", enable=True,
                                         require=requires)]
    # as the package's own cron file: every 6 hours, quiet, with a random delay of up to 6 minutes
    return resources + [ctx.resource("cron", "confrt-fetch-crl", command=f"{FETCH_CRL} -q -r 360", minute=42,
                                     hour="*/6", require=requires)]


def _vo_files(params, ctx, packages):
    """vomses entries and .lsc files. In the `file` layout /etc/vomses is a package's file (vo-client):
    a server is one line in it, replacing that VO's line for the same host, after the packages."""
    vos = params["vos"]
    if not vos:
        return []
    where = f"{ctx.origin('vos')}: osg_wn::vos"
    in_file = params["vomses"] == "file"
    resources = [] if in_file else [ctx.resource("directory", "/etc/vomses", mode="0755")]
    resources += [ctx.resource("directory", "/etc/grid-security", mode="0755"),
                  ctx.resource("directory", VOMS_DIR, mode="0755")]
    for vo, servers in sorted(vos.items()):
        if not isinstance(vo, str) or not VO_NAME.match(vo):
            raise CompileError(f"{where}: {vo!r} is not a VO name")
        servers = [_server(vo, server, where) for server in (servers or [])]
        if not servers:
            continue
        listed = [server for server in servers if server["vomses"]]
        if listed and in_file:
            for server in listed:
                line = ctx.template("vomses.j2", vo=vo, servers=[server]).rstrip("\n")
                resources.append(ctx.resource(
                    "line", f"vomses {vo} {server['host']}", path="/etc/vomses", line=line,
                    match="^" + re.escape(f'"{vo}" "{server["host"]}" '), require=packages or None))
        elif listed:
            text = ctx.template("vomses.j2", vo=vo, servers=listed)
            resources.append(ctx.resource("file", f"/etc/vomses/{vo}", content=text, mode="0644"))
        resources.append(ctx.resource("directory", f"{VOMS_DIR}/{vo}", mode="0755"))
        for server in servers:
            lsc = ctx.template("lsc.j2", server=server)
            resources.append(ctx.resource("file", f"{VOMS_DIR}/{vo}/{server['host']}.lsc", content=lsc,
                                          mode="0644"))
    return resources


def _server(vo, server, where):
    """One VOMS server, checked: {host, port, dn, ca_dn, vomses}."""
    if not isinstance(server, dict):
        raise CompileError(f"{where}: {vo}: expected a list of {{host, port, dn, ca_dn}}, got {server!r}")
    missing = [key for key in ("host", "port", "dn", "ca_dn") if server.get(key) in (None, "")]
    if missing:
        raise CompileError(f"{where}: {vo}: a server lacks {', '.join(missing)}")
    host, port = str(server["host"]), server["port"]
    if not HOST.match(host):
        raise CompileError(f"{where}: {vo}: {host!r} is not a host name")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise CompileError(f"{where}: {vo}: {host}: port: expected a port number, got {port!r}")
    for key in ("dn", "ca_dn"):
        value = str(server[key])
        if not value.startswith("/") or '"' in value or "\n" in value:
            raise CompileError(f"{where}: {vo}: {host}: {key}: expected a DN like /DC=ch/DC=cern/CN=..., "
                               f"got {value!r}")
    listed = server.get("vomses", True)
    if not isinstance(listed, bool):
        raise CompileError(f"{where}: {vo}: {host}: vomses: expected true or false, got {listed!r}")
    unknown = sorted(set(server) - {"host", "port", "dn", "ca_dn", "vomses"})
    if unknown:
        raise CompileError(f"{where}: {vo}: {host}: unknown key {unknown[0]!r} (expected host, port, dn, ca_dn, "
                           f"vomses)")
    return {"host": host, "port": port, "dn": str(server["dn"]), "ca_dn": str(server["ca_dn"]), "vomses": listed}
