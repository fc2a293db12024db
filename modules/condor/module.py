"""HTCondor roles (manager, submit, execute) as config.d files owned by confrt.

The admin's condor_config.local is never touched. Changes to the slot layout
(30-confrt-slots.conf) restart the service; every other file only triggers
condor_reconfig. An execute node publishes confrt's last run through a startd
cron job and stops matching jobs while that run is failed.

Every knob confrt writes must be the value HTCondor ends up with after reading all
of config.d: the security metaknob (`use security:...`, which resets ALLOW_WRITE
and the other ALLOW_* knobs) is in 05-confrt-security.conf, read after the
package's 00-htcondor-9.0.config and before the knobs of 10-confrt-roles.conf.
"""
import os
import re
import sys

from confrt.engine.module import CompileError, Param, cache_budget_mb, on_scratch

DOC = "HTCondor manager/submit/execute roles, security, slots and confrt's health as ClassAds"

#: condor::roles value -> the HTCondor role metaknob. `central_manager` is what the
#: amiconfig userdata translation writes for a [condor] section without condor_master.
ROLES = {"manager": "CentralManager", "central_manager": "CentralManager",
         "submit": "Submit", "execute": "Execute"}
SECURITY = ("recommended", "strong", "user_based", "host_based", "none")
KNOB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
ATTR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOKEN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
DEFAULT_PORT = 9618
#: Read before the knobs (10-...): `use security:<x>` sets ALLOW_WRITE and the other ALLOW_* knobs,
#: so after them it would override condor::allow_write. After the package's 00-htcondor-9.0.config.
SECURITY_FILE = "05-confrt-security.conf"
MIB = 1024 * 1024
DEFAULT_RESERVED_MB = 1024
#: security metaknobs under which every daemon-to-daemon connection is authenticated
AUTHENTICATED = ("recommended", "strong", "user_based")

PARAMS = [
    Param("roles", list, [], "any of manager (collector + negotiator), submit (schedd), execute (startd)"),
    Param("collector_host", str, None, "the central manager host[:port]; a manager defaults to itself"),
    Param("collector_port", int, DEFAULT_PORT, "the collector's port when collector_host has none"),
    Param("collector_name", str, None, "COLLECTOR_NAME: the pool's name"),
    Param("uid_domain", str, None, "UID_DOMAIN (users are the same across hosts of this domain)"),
    Param("trust_uid_domain", bool, False, "TRUST_UID_DOMAIN: trust the submitter's UID_DOMAIN"),
    Param("soft_uid_domain", bool, False, "SOFT_UID_DOMAIN: run jobs under the submitter's uid even when "
          "this host has no such account"),
    Param("lowport", int, None, "LOWPORT: first port of the range daemons listen on"),
    Param("highport", int, None, "HIGHPORT: last port of that range"),
    Param("allow_write", str, None, "ALLOW_WRITE: who may join the pool (hosts or identities)"),
    Param("security", str, "recommended", "the security metaknob (`use security:<value>`) or none",
          choices=SECURITY),
    Param("pool_password", str, None, "pool password / POOL signing key, written scrambled to "
          "password_file (0600 root)", sensitive=True),
    Param("password_file", str, "/etc/condor/passwords.d/POOL", "SEC_PASSWORD_FILE"),
    Param("tokens", dict, {}, "IDTOKENS: file name -> token, written to token_dir (0600 root)",
          sensitive=True),
    Param("token_dir", str, "/etc/condor/tokens.d", "SEC_TOKEN_SYSTEM_DIRECTORY"),
    Param("ccb", bool, False, "execute nodes behind NAT: CCB_ADDRESS = $(COLLECTOR_HOST)"),
    Param("private_network_name", str, None, "PRIVATE_NETWORK_NAME: hosts sharing it talk directly"),
    Param("tcp_forwarding_host", str, None, "TCP_FORWARDING_HOST: the public address of a 1:1 NAT"),
    Param("partitionable_slot", bool, True, "one partitionable slot holding the whole machine"),
    Param("num_cpus", int, None, "NUM_CPUS; default: the processors.count fact"),
    Param("memory_mb", int, None, "MEMORY in MB: the machine's memory as HTCondor counts it; default: the "
          "memory fact"),
    Param("reserved_memory_mb", int, None, "RESERVED_MEMORY: MB HTCondor keeps from jobs (subtracted from MEMORY) "
          "for the OS, CVMFS and its own daemons; default: 1024 + 5% of the memory, at most half of it; 0: none"),
    Param("reserved_disk_mb", int, None, "RESERVED_DISK: MB of EXECUTE's file system kept from jobs; default: "
          "the cache budget of the ephemeral disk (its fact's cache_mb: the CVMFS cache) when EXECUTE is on "
          "it; 0: none"),
    Param("execute_dir", str, None, "EXECUTE; default: <ephemeral disk>/condor/execute when the "
          "ephemeral_disk fact (module ephemeral_disk) exists, else /var/lib/condor/execute"),
    Param("startd_attrs", dict, {}, "custom machine attributes: name -> value (site, cloud...)"),
    Param("job_environment", dict, {}, "variables every job gets (STARTER_JOB_ENVIRONMENT): name -> value, "
          "over those other modules publish (facts <module>_job_environment: osg_wn, atlas_wn) (deep merge)"),
    Param("health_check", bool, True, "execute: publish confrt's last run; START false while failed"),
    Param("health_period", str, "5m", "how often the startd cron job reads the last run"),
    Param("summary_file", str, "/var/lib/confrt/last_run_summary.yaml", "confrt's last run summary "
          "(data default: %{confrt.statedir}/last_run_summary.yaml)"),
    Param("health_script", str, "/usr/libexec/confrt/condor-last-run", "where the cron script goes"),
    Param("extra_config", dict, {}, "extra knobs: name -> value (deep merged; '--' knocks one out)"),
    Param("config_dir", str, "/etc/condor/config.d", "the directory of confrt's config files"),
    Param("package", str, "condor", "the package name"),
    Param("manage_package", bool, True, "install the package (false where it cannot be installed)"),
    Param("service", str, "condor", "the service name"),
    Param("manage_service", bool, True, "keep the service enabled and running; reconfig on change"),
]


def declare(params, facts, ctx):
    roles = _roles(params, ctx)
    execute = "Execute" in roles
    config = _config_values(params, facts, ctx, roles)
    _warn_without_credentials(params, ctx, roles)
    package_ref = f"package[{params['package']}]" if params["manage_package"] else None
    resources = []
    if package_ref:
        resources.append(ctx.resource("package", params["package"]))
    resources += ctx.directories("/etc/condor", params["config_dir"], require=package_ref)

    def config_file(name, template, wanted=True):
        path = os.path.join(params["config_dir"], name)
        if not wanted:
            return ctx.resource("file", path, ensure="absent")
        content = ctx.template(template, **config)
        return ctx.resource("file", path, content=content, mode="0644", require=package_ref)

    reconfigured = [config_file(SECURITY_FILE, "security.conf.j2"),
                    config_file("10-confrt-roles.conf", "roles.conf.j2"),
                    config_file("40-confrt-execute.conf", "execute.conf.j2", execute),
                    config_file("90-confrt-extra.conf", "extra.conf.j2", bool(config["extra"])),
                    # where earlier versions had the security metaknob: after the roles file, so it reset
                    # their ALLOW_WRITE
                    config_file("20-confrt-security.conf", None, wanted=False)]
    slots = config_file("30-confrt-slots.conf", "slots.conf.j2", execute)
    resources += reconfigured + [slots]
    resources += _secrets(params, ctx, package_ref)
    if execute:
        resources += _execute_resources(params, ctx, facts, package_ref)
    if params["manage_service"]:
        service_ref = f"service[{params['service']}]"
        resources.append(ctx.resource("service", params["service"], ensure="running", enable=True,
                                      require=[r.ref for r in reconfigured], subscribe=slots.ref))
        resources.append(ctx.resource("exec", "condor_reconfig", command=["/usr/sbin/condor_reconfig"],
                                      refreshonly=True, require=service_ref,
                                      subscribe=[r.ref for r in reconfigured]))
    return resources


def _warn_without_credentials(params, ctx, roles):
    """A startd or schedd that must authenticate to a remote collector and has nothing to do it with
    compiles cleanly and never joins the pool: say so, loudly. Authentication the site sets up itself
    (SEC_* or AUTH_SSL_* knobs in extra_config: SSL host certificates, Kerberos, an unauthenticated
    pool's SEC_DEFAULT_AUTHENTICATION) silences it."""
    joining = [role.lower() for role in roles if role in ("Execute", "Submit")]
    if not joining or "CentralManager" in roles:
        return
    if params["tokens"] or params["pool_password"]:
        return
    if any(str(name).upper().startswith(("SEC_", "AUTH_SSL_")) for name in params["extra_config"]):
        return
    metaknob = (f"`use security:{params['security']}`" if params["security"] in AUTHENTICATED else
                f"condor::security {params['security']} (the EL package's 00-htcondor-9.0.config still requires "
                f"authentication)")
    ctx.warn(f"{ctx.origin('roles')}: condor::roles {', '.join(joining)} under {metaknob} "
             f"with neither condor::tokens nor condor::pool_password: this host cannot authenticate to the "
             f"collector {params['collector_host']} and will never join the pool (give it an IDTOKEN from the "
             f"pool or the pool password, or SEC_*/AUTH_SSL_* knobs in condor::extra_config for SSL or Kerberos)")


def _roles(params, ctx):
    roles = []
    for role in params["roles"]:
        if role not in ROLES:
            raise CompileError(f"{ctx.origin('roles')}: condor::roles: unknown role {role!r} "
                               f"(expected manager, submit or execute)")
        if ROLES[role] not in roles:
            roles.append(ROLES[role])
    return roles


def _config_values(params, facts, ctx, roles):
    """Everything the templates need, checked: {name: value}."""
    host = params["collector_host"]
    manager = "CentralManager" in roles
    if not host and not manager and roles:
        raise CompileError(f"{ctx.origin('collector_host')}: condor::collector_host: required for "
                           f"roles other than manager")
    port = params["collector_port"]
    # a port in collector_host wins over collector_port
    collector = f"$(CONDOR_HOST):{port}" if port != DEFAULT_PORT and ":" not in (host or "") else None
    values = dict(params)
    values.update(
        roles=roles,
        condor_host=host or "$(FULL_HOSTNAME)",
        collector=collector,
        ccb=params["ccb"] and not manager and "Execute" in roles,
        extra=_named_values(ctx, "extra_config", KNOB_NAME, "a configuration knob name", knob_value),
        attrs=_named_values(ctx, "startd_attrs", ATTR_NAME, "a ClassAd attribute name", classad_literal),
        slots=_slot_values(params, facts),
        job_environment=starter_environment(job_environment(params, facts, ctx)),
    )
    return values


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def job_environment(params, facts, ctx):
    """{name: value} every job gets: the facts named <module>_job_environment (the environment osg_wn and
    atlas_wn write to profile.d, which jobs never read), then condor::job_environment."""
    variables = {}
    for name in facts.names():  # sorted
        published = facts.get(name) if name.endswith("_job_environment") else None
        if isinstance(published, dict):
            variables.update(published)
    variables.update(params["job_environment"])
    for name, value in variables.items():
        if not isinstance(name, str) or not ENV_NAME.match(name) or not isinstance(value, (str, int, float)) \
                or "\n" in str(value) or "$(" in str(value):
            raise CompileError(f"{ctx.origin('job_environment')}: condor::job_environment: {name!r}: expected "
                               f"a variable name and a one-line value, got {value!r}")
    return variables


def starter_environment(variables):
    """STARTER_JOB_ENVIRONMENT's value in condor_submit's environment syntax: the whole in double
    quotes, entries separated by spaces, each value in single quotes (a ' written '', a " written "")."""
    if not variables:
        return None
    entries = []
    for name, value in sorted(variables.items()):
        text = str(value).replace("'", "''").replace('"', '""')
        entries.append(f"{name}='{text}'")
    return '"' + " ".join(entries) + '"'


def knob_value(value):
    """A configuration value: one line, no trailing backslash (it would continue the line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a string or number, got {value!r}")
    text = str(value)
    if "\n" in text or text.rstrip().endswith("\\"):
        raise ValueError("a value must be one line without a trailing backslash")
    return text


def classad_literal(value):
    """A Python scalar as a ClassAd literal: strings quoted and escaped, true/false, numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, number or boolean, got {value!r}")
    if "\n" in value:
        raise ValueError("a value must be one line")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _named_values(ctx, param, name_pattern, what, convert):
    """condor::<param> (a mapping) as sorted (name, text) pairs, each name and value checked."""
    pairs = []
    for name, value in sorted(ctx.params[param].items()):
        where = f"{ctx.origin(param)}: condor::{param}: {name}"
        if not isinstance(name, str) or not name_pattern.match(name):
            raise CompileError(f"{where}: not {what}")
        try:
            pairs.append((name, convert(value)))
        except ValueError as exc:
            raise CompileError(f"{where}: {exc}") from None
    return pairs


def _slot_values(params, facts):
    """NUM_CPUS, MEMORY, RESERVED_MEMORY, EXECUTE: from data, else from the facts (None: HTCondor
    detects it). HTCondor gives jobs MEMORY - RESERVED_MEMORY."""
    cpus = params["num_cpus"] or facts.get("processors.count")
    memory = params["memory_mb"]
    total = facts.get("memory.system.total_bytes")
    if memory is None and total:
        memory = int(total) // MIB
    execute = execute_dir(params, facts)
    return {"num_cpus": cpus, "memory_mb": memory, "reserved_memory_mb": reserved_memory(params, memory),
            "execute_dir": execute, "reserved_disk_mb": reserved_disk(params, facts, execute)}


def reserved_disk(params, facts, execute):
    """RESERVED_DISK in MB: the data's, else, with EXECUTE on the ephemeral disk, the budget it keeps for
    the caches there (the CVMFS cache fills it while jobs run: the startd advertises the rest)."""
    if params["reserved_disk_mb"] is not None:
        return params["reserved_disk_mb"]
    return cache_budget_mb(facts) if on_scratch(facts, execute) else None


def reserved_memory(params, memory_mb):
    """RESERVED_MEMORY in MB: the data's, else 1024 MB (the OS, the condor daemons, the CVMFS client)
    plus 5% of the memory (page cache, starters), never more than half of it."""
    if params["reserved_memory_mb"] is not None:
        return params["reserved_memory_mb"]
    if not memory_mb:
        return None
    return min(DEFAULT_RESERVED_MB + memory_mb // 20, memory_mb // 2)


def execute_dir(params, facts):
    if params["execute_dir"]:
        return params["execute_dir"]
    scratch = facts.get("ephemeral_disk.mountpoint")
    return os.path.join(scratch, "condor", "execute") if scratch else "/var/lib/condor/execute"


def _secrets(params, ctx, package_ref):
    """Token files and the pool password: root-only, never shown."""
    resources = []
    tokens = params["tokens"]
    if tokens:
        resources.append(ctx.resource("directory", params["token_dir"], mode="0700", owner="root",
                                      group="root", require=package_ref))
        for name, token in sorted(tokens.items()):
            if not isinstance(name, str) or not TOKEN_NAME.match(name) or not isinstance(token, str):
                raise CompileError(f"{ctx.origin('tokens')}: condor::tokens: expected file name -> "
                                   f"token string, got an entry named {name!r}")
            resources.append(ctx.resource("file", os.path.join(params["token_dir"], name),
                                          content=token.strip() + "\n", mode="0600", owner="root",
                                          group="root", sensitive=["content"]))
    password = params["pool_password"]
    if password:
        path = params["password_file"]
        tool = [sys.executable, ctx.file("pool_password.py")]
        env = {"CONDOR_POOL_PASSWORD": password}
        resources.append(ctx.resource("directory", os.path.dirname(path), mode="0700", owner="root",
                                      group="root", require=package_ref))
        resources.append(ctx.resource("exec", f"condor pool password {path}", command=tool + ["write", path],
                                      unless=tool + ["check", path], environment=env,
                                      require=f"directory[{os.path.dirname(path)}]",
                                      sensitive=["environment"]))
    return resources


def _execute_directories(params, ctx, facts, package_ref):
    """EXECUTE (owned by condor when the package made that user) and, on the ephemeral disk, its
    parent. The default /var/lib/condor/execute is left to the package where it is not installed."""
    owner = "condor" if params["manage_package"] else None
    path = execute_dir(params, facts)
    scratch = facts.get("ephemeral_disk.mountpoint")
    if not params["execute_dir"] and not scratch and not params["manage_package"]:
        return []
    parents = [os.path.dirname(path)] if not params["execute_dir"] and scratch else []
    return [ctx.resource("directory", parent, mode="0755") for parent in parents] + [
        ctx.resource("directory", path, mode="0755", owner=owner, group=owner, require=package_ref)]


def _execute_resources(params, ctx, facts, package_ref):
    resources = _execute_directories(params, ctx, facts, package_ref)
    if params["health_check"]:
        script = params["health_script"]
        resources += ctx.directories(os.path.dirname(script))
        content = ctx.template("last_run.py.j2", python=sys.executable, summary_file=params["summary_file"])
        resources.append(ctx.resource("file", script, content=content, mode="0755"))
    return resources
