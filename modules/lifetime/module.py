"""VM lifetime: at max_lifetime seconds after boot, drain HTCondor, run the hooks, wait, shut down.

A small daemon (files/confrt-lifetime, run as the service confrt-lifetime)
waits for the deadline; the deadline is in its JSON config, written here. A bad
value is a compile error, so a typo never shuts a VM down at once. On an
image that needs userdata (a glidein VM), missing userdata ends the VM only
`grace` seconds after boot (the old pilot shut down at once: fail closed,
made safe). daemon_service() is also used by the glidein module.
"""
import json
import os
import shlex

from confrt.engine.module import CompileError, Param

DOC = "VM lifetime: deadline from boot, HTCondor drain, hooks, shutdown"

PARAMS = [
    Param("max_lifetime", int, None, "seconds from boot until the VM ends; unset: no deadline"),
    Param("disable_shutdown", bool, False, "at the deadline do everything but the shutdown"),
    Param("shutdown_command", (list, str), ["shutdown", "-h", "now"], "what shuts the VM down (argv)"),
    Param("shutdown_delay", int, 600, "seconds from the end's hooks to the shutdown (the glideinWMS pilot's "
          "ten minutes to collect the logs)"),
    Param("drain", str, "auto", "drain HTCondor first: auto (when a root condor_startd runs), always, never",
          choices=("auto", "always", "never")),
    Param("drain_command", (list, str), ["condor_off", "-peaceful", "-startd"], "starts the drain (argv)"),
    Param("drain_timeout", int, 3600, "seconds to wait for the startd to go away"),
    Param("hooks_dir", str, "/etc/confrt/lifetime.d", "executables run in name order before the shutdown"),
    Param("hook_timeout", int, 60, "seconds each hook may take (then its process group is killed)"),
    Param("require_userdata", bool, False, "this image needs userdata: without it, end after `grace`"),
    Param("userdata_source", str, "", "the datasource that gave userdata (from confrt::userdata_source)"),
    Param("grace", int, 3600, "seconds after boot a VM without needed userdata stays up"),
    Param("python", str, "/usr/bin/python3", "interpreter of the daemon"),
    Param("libexec_dir", str, "/usr/libexec/confrt", "where the daemon is installed"),
    Param("config_file", str, "/etc/confrt/lifetime.json", "the daemon's settings"),
    Param("state_dir", str, "/run/confrt-lifetime", "run-time state (cleared at boot: the end runs once per boot)"),
]

SCRIPT = "confrt-lifetime"
SERVICE = "confrt-lifetime"
FACT = "lifetime"


def lifetime_fact(facts, params):
    """The `lifetime` fact: where the daemon, its settings and its hooks are, for the modules
    that work with it (glidein). It exists only when this module is included."""
    return {"script": os.path.join(params["libexec_dir"], SCRIPT), "config_file": params["config_file"],
            "hooks_dir": params["hooks_dir"]}


FACTS = {FACT: lifetime_fact}


def declare(params, facts, ctx):
    config = daemon_config(params, ctx)
    script = os.path.join(params["libexec_dir"], SCRIPT)
    config_file = params["config_file"]
    resources = ctx.directories(params["libexec_dir"], params["hooks_dir"], os.path.dirname(config_file))
    resources += [
        ctx.resource("file", script, source=f"{ctx.name}/{SCRIPT}", mode="0755"),
        ctx.resource("file", config_file, mode="0644",
                     content=json.dumps(config, indent=2, sort_keys=True) + "\n"),
    ]
    resources += daemon_service(ctx, SERVICE, "confrt: end the VM at its deadline",
                                [params["python"], script, "watch", config_file],
                                watched=[f"file[{script}]", f"file[{config_file}]"])
    return resources


def daemon_config(params, ctx):
    """The daemon's JSON settings; every value checked here (a bad one is a compile error)."""
    for key in ("max_lifetime", "grace", "hook_timeout"):
        if params[key] is not None and params[key] <= 0:
            raise CompileError(f"{ctx.origin(key)}: lifetime::{key}: expected a number of seconds > 0, "
                               f"got {params[key]}")
    for key in ("drain_timeout", "shutdown_delay"):
        if params[key] < 0:
            raise CompileError(f"{ctx.origin(key)}: lifetime::{key}: expected seconds >= 0, got {params[key]}")
    deadline, reason = params["max_lifetime"], "max_lifetime reached"
    if params["require_userdata"] and not params["userdata_source"]:
        if deadline is None or params["grace"] < deadline:
            deadline, reason = params["grace"], "no userdata (grace reached)"
        later = f", shut down {params['shutdown_delay']} s later" if params["shutdown_delay"] else ""
        ctx.warn(f"no userdata on an image that needs it: the VM ends {deadline} s after boot{later}")
    return {
        "deadline": deadline, "reason": reason, "disable_shutdown": params["disable_shutdown"],
        "shutdown_command": argv_of(params, "shutdown_command", ctx), "shutdown_delay": params["shutdown_delay"],
        "drain": params["drain"], "drain_command": argv_of(params, "drain_command", ctx),
        "drain_timeout": params["drain_timeout"], "hooks_dir": params["hooks_dir"],
        "hook_timeout": params["hook_timeout"], "state_dir": params["state_dir"],
    }


def argv_of(params, key, ctx):
    """A command given as a list or as one string (split as a shell would)."""
    value = params[key]
    try:
        argv = shlex.split(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise CompileError(f"{ctx.origin(key)}: lifetime::{key}: {exc}") from None
    if not argv or not all(isinstance(arg, str) and arg for arg in argv):
        raise CompileError(f"{ctx.origin(key)}: lifetime::{key}: expected a command (a list of words)")
    return argv


def daemon_service(ctx, name, description, argv, watched=(), stop_timeout=90, require=()):
    """A long-running service for systemd and SysV init alike, restarted when `watched` change,
    started after `require` (more references).

    Both the unit and the init script are written; the service type uses the
    one of the running init system. The unit change reloads systemd first.
    """
    unit = f"/etc/systemd/system/{name}.service"
    variables = {"name": name, "description": description, "command": shlex.join(argv),
                 "stop_timeout": stop_timeout}
    return [
        ctx.resource("file", unit, mode="0644", template="lifetime/daemon.service.j2", template_vars=variables),
        ctx.resource("file", f"/etc/init.d/{name}", mode="0755", template="lifetime/daemon.init.j2",
                     template_vars=variables),
        ctx.resource("exec", f"systemd daemon-reload for {name}", command=["systemctl", "daemon-reload"],
                     onlyif=["test", "-d", "/run/systemd/system"], refreshonly=True, subscribe=f"file[{unit}]"),
        ctx.resource("service", name, ensure="running", enable=True,
                     require=[f"exec[systemd daemon-reload for {name}]", f"file[/etc/init.d/{name}]",
                              *require],
                     subscribe=list(watched) or None),
    ]
