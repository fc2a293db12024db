"""The glideinWMS VM pilot: glidein_pilot user, its proxy, and the pilot service.

The service (files/confrt-glidein-pilot) downloads <webbase>/glidein_startup.sh
at start and runs it with `args` as the pilot user, X509_USER_PROXY set, in a
process group of its own; PRE and POST script directories run around it. The
VM's deadline belongs to the lifetime module (include both, as the glidein
userdata does): its hook stops this service at the deadline, which kills the
pilot's process group and runs the POST scripts before the shutdown.
"""
import json
import os
import shlex

from confrt.engine.module import CompileError, Param

DOC = "glideinWMS VM pilot: user, proxy, the pilot service"

PARAMS = [
    Param("webbase", str, None, "the factory's web area: <webbase>/glidein_startup.sh is run", required=True),
    Param("args", str, "", "arguments of glidein_startup.sh, quoted as in a shell"),
    Param("proxy_file", str, None, "the proxy delivered by the userdata (confrt userdata writes it)"),
    Param("proxy_file_name", str, None, "its name in the pilot's home (default: the proxy_file's name)"),
    Param("user", str, "glidein_pilot", "the account the pilot runs as"),
    Param("home", str, None, "its home (default /home/<user>)"),
    Param("environment", dict, {}, "extra environment of the pilot (names upper-cased, as CUSTOM_ENVIRONMENT)"),
    Param("scratch_dir", str, None, "SCRATCH for the pilot (default: its home)"),
    Param("pre_script_dir", str, "/etc/confrt/glidein/pre.d", "scripts run before the pilot, in name order"),
    Param("post_script_dir", str, "/etc/confrt/glidein/post.d", "scripts run after it ends or is killed"),
    Param("script_timeout", int, 60, "seconds each PRE/POST script may take (max_script_runtime)"),
    Param("fetch_timeout", int, 60, "seconds for downloading glidein_startup.sh"),
    Param("stop_grace", int, 10, "seconds between SIGTERM and SIGKILL of the pilot's process group"),
    Param("shutdown_when_done", bool, True, "when the pilot ends by itself, end the VM (lifetime's end)"),
    Param("python", str, "/usr/bin/python3", "interpreter of the service"),
    Param("libexec_dir", str, "/usr/libexec/confrt", "where the service script is (with confrt-lifetime)"),
    Param("config_file", str, "/etc/confrt/glidein/pilot.json", "the service's settings (0600)"),
    Param("state_dir", str, "/run/confrt-glidein", "run-time state: the pilot runs once per boot"),
]

SCRIPT = "confrt-glidein-pilot"
SERVICE = "confrt-glidein-pilot"
HOOK = "10-glidein-pilot"


def declare(params, facts, ctx):
    user = params["user"]
    home = params["home"] or f"/home/{user}"
    try:
        args = shlex.split(params["args"])
    except ValueError as exc:
        raise CompileError(f"{ctx.origin('args')}: glidein::args: {exc}") from None
    proxy = None
    resources = [ctx.resource("group", user, system=True),
                 ctx.resource("user", user, gid=user, home=home, shell="/bin/bash", system=True, managehome=True)]
    if params["proxy_file"]:
        name = params["proxy_file_name"] or os.path.basename(params["proxy_file"])
        if "/" in name or name in ("", ".", ".."):
            raise CompileError(f"{ctx.origin('proxy_file_name')}: glidein::proxy_file_name: {name!r}: expected "
                               f"a plain file name")
        proxy = os.path.join(home, name)
        resources.append(ctx.resource("file", proxy, source=params["proxy_file"], owner=user, group=user,
                                      mode="0600", sensitive=True, require=f"user[{user}]"))
    script = os.path.join(params["libexec_dir"], SCRIPT)
    lifetime_paths = facts.get("lifetime")
    if lifetime_paths is None:
        raise CompileError("module glidein needs the lifetime module (classes: [glidein, lifetime]): its "
                           "confrt-lifetime is loaded by the pilot, and its hook stops the pilot at the deadline")
    if not (isinstance(lifetime_paths, dict) and {"script", "config_file", "hooks_dir"} <= set(lifetime_paths)):
        raise CompileError(f"module glidein: the fact 'lifetime' is {lifetime_paths!r}, not the lifetime module's "
                           f"paths: a fact of that name in facts.d or --facts hides them")
    lifetime = ctx.sibling("lifetime")
    lifetime_script = lifetime_paths["script"]
    config = {
        "webbase": params["webbase"], "args": args, "user": user, "home": home, "proxy": proxy,
        "scratch": params["scratch_dir"] or home,
        "environment": {str(k).upper(): str(v) for k, v in params["environment"].items()},
        "pre_script_dir": params["pre_script_dir"], "post_script_dir": params["post_script_dir"],
        "script_timeout": params["script_timeout"], "fetch_timeout": params["fetch_timeout"],
        "stop_grace": params["stop_grace"], "shutdown_when_done": params["shutdown_when_done"],
        "state_dir": params["state_dir"], "lifetime_config": lifetime_paths["config_file"],
        "lifetime_script": lifetime_script,
    }
    config_dir = os.path.dirname(params["config_file"])
    resources += ctx.directories(*sorted({config_dir, params["pre_script_dir"], params["post_script_dir"],
                                          params["libexec_dir"], lifetime_paths["hooks_dir"]}))
    resources += [
        ctx.resource("file", script, source=f"{ctx.name}/{SCRIPT}", mode="0755"),
        ctx.resource("file", params["config_file"], mode="0600",
                     content=json.dumps(config, indent=2, sort_keys=True) + "\n"),
        ctx.resource("file", os.path.join(lifetime_paths["hooks_dir"], HOOK), mode="0755",
                     content=ctx.template("lifetime-hook.j2", service=SERVICE, state_dir=params["state_dir"])),
    ]
    resources += lifetime.daemon_service(ctx, SERVICE, "confrt: the glideinWMS VM pilot",
                                         [params["python"], script, params["config_file"]],
                                         stop_timeout=params["stop_grace"] + 4 * params["script_timeout"],
                                         # the pilot loads the lifetime script: both in place before it starts
                                         require=[f"user[{user}]", f"file[{params['config_file']}]",
                                                  f"file[{script}]", f"file[{lifetime_script}]"] +
                                         ([f"file[{proxy}]"] if proxy else []))
    return resources
