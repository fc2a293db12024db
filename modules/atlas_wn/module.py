"""An ATLAS worker node: HEP_OSlibs (EL) and the ATLAS login environment for sh and csh.

The ATLAS CVMFS repositories come through data (cvmfs::repositories in the
worker role), not from here: a module only declares its own resources.
"""
import os
import re
import shlex

from confrt.engine.module import CompileError, Param, csh_quote

DOC = "ATLAS worker node: HEP_OSlibs, /etc/profile.d/atlas.sh and .csh (setupATLAS, FRONTIER_SERVER)"

URL = re.compile(r"^https?://[^\s()'\"!]+$")

PARAMS = [
    Param("packages", list, ["HEP_OSlibs"], "the ATLAS/HEP compatibility meta-package (EL)"),
    Param("manage_package", bool, True, "install packages (false where they do not exist: Debian)"),
    Param("local_root_base", str, "/cvmfs/atlas.cern.ch/repo/ATLASLocalRootBase", "ATLAS_LOCAL_ROOT_BASE"),
    Param("site_name", str, None, "ATLAS_SITE_NAME (the site's name in CRIC)"),
    Param("frontier_servers", list, ["http://atlasfrontier-ai.cern.ch:8000/atlr",
                                     "http://atlasfrontier1-ai.cern.ch:8000/atlr",
                                     "http://atlasfrontier2-ai.cern.ch:8000/atlr"],
          "Frontier server URLs, in order (unique merge)"),
    Param("frontier_proxies", list, [], "the site squids for Frontier, e.g. http://squid.example.org:3128"),
    Param("profile_dir", str, "/etc/profile.d", "where atlas.sh and atlas.csh go"),
]


def frontier_server(servers, proxies):
    """FRONTIER_SERVER: (serverurl=...)... then (proxyurl=...)..."""
    return "".join(f"(serverurl={url})" for url in servers) + "".join(f"(proxyurl={url})" for url in proxies)


def environment(facts, params):
    """The ATLAS environment, {name: value}: atlas.sh's and every job's (the module fact
    atlas_wn_job_environment: condor puts it in STARTER_JOB_ENVIRONMENT; pilots and jobs read
    FRONTIER_SERVER and ATLAS_SITE_NAME from their environment, never from profile.d)."""
    variables = {"ATLAS_LOCAL_ROOT_BASE": params["local_root_base"]}
    if params["site_name"]:
        variables["ATLAS_SITE_NAME"] = params["site_name"]
    if params["frontier_servers"]:
        variables["FRONTIER_SERVER"] = frontier_server(params["frontier_servers"], params["frontier_proxies"])
    return variables


FACTS = {"atlas_wn_job_environment": environment}


def declare(params, facts, ctx):
    for name in ("frontier_servers", "frontier_proxies"):
        for url in params[name]:
            if not isinstance(url, str) or not URL.match(url):
                raise CompileError(f"{ctx.origin(name)}: atlas_wn::{name}: {url!r} is not an http(s) URL")
    variables = list(environment(facts, params).items())
    try:
        csh = [(name, csh_quote(value)) for name, value in variables]
    except ValueError as exc:
        raise CompileError(f"{ctx.origin('site_name')}: atlas_wn: {exc}") from None
    sh_text = ctx.template("atlas.sh.j2", variables=[(name, shlex.quote(value)) for name, value in variables])
    csh_text = ctx.template("atlas.csh.j2", variables=csh)
    resources = [ctx.resource("package", name) for name in params["packages"]] if params["manage_package"] else []
    resources += [
        ctx.resource("file", os.path.join(params["profile_dir"], "atlas.sh"), content=sh_text, mode="0644"),
        ctx.resource("file", os.path.join(params["profile_dir"], "atlas.csh"), content=csh_text, mode="0644"),
    ]
    return resources
