"""The host name, persistently: /etc/hostname, and the running name (hostnamectl under systemd).

Which command sets the running name is decided when the catalog is applied
(systemd is PID 1 when /run/systemd/system exists): each exec checks that in
its onlyif, which runs in --noop too, so the preview names the one that runs.
vcluster declares the same resources for the name pragma_boot gives
(hostname_resources), so both modules may be included when they agree.
"""
import re

from confrt.engine.module import CompileError, Param

DOC = "Host name: /etc/hostname and the running name"

PARAMS = [
    Param("name", str, None, "the host name (short or fully qualified); unset: not managed"),
    Param("hosts_entry", bool, False, "also map the name to 127.0.1.1 in /etc/hosts (Debian's convention)"),
]

LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
SYSTEMD_RUNS = "[ -d /run/systemd/system ]"


def declare(params, facts, ctx):
    name = params["name"]
    if name is None:
        return []
    problem = hostname_problem(name)
    if problem:
        raise CompileError(f"{ctx.origin('name')}: hostname::name: {problem}")
    resources = hostname_resources(ctx, name, facts)
    if params["hosts_entry"]:
        short = name.split(".")[0]
        names = name if short == name else f"{name} {short}"
        resources.append(ctx.resource("line", "hosts entry of the host name", path="/etc/hosts",
                                      line=f"127.0.1.1\t{names}", match=r"^127\.0\.1\.1\s"))
    return resources


def hostname_problem(name):
    """Why `name` is not a valid host name (RFC 1123), or None."""
    if len(name) > 253 or not all(LABEL.match(label) for label in name.rstrip(".").split(".")):
        return f"{name!r} is not a host name (labels of letters, digits and '-', at most 63 each)"
    return None


def hostname_resources(ctx, name, facts):
    """/etc/hostname and the execs that set the running name when it differs."""
    differs = '[ "$(hostname)" != "$1" ]'
    resources = [
        ctx.resource("file", "/etc/hostname", content=name + "\n", mode="0644"),
        ctx.resource("exec", "hostnamectl set-hostname", command=["hostnamectl", "set-hostname", name],
                     onlyif=["sh", "-c", f"{SYSTEMD_RUNS} && {differs}", "sh", name],
                     require="file[/etc/hostname]"),
        ctx.resource("exec", "hostname", command=["hostname", name],
                     onlyif=["sh", "-c", f"! {SYSTEMD_RUNS} && {differs}", "sh", name],
                     require="file[/etc/hostname]"),
    ]
    if facts.get("os.family") == "RedHat" and str(facts.get("os.release.major", "")) in ("5", "6"):
        resources.append(ctx.resource("line", "HOSTNAME in /etc/sysconfig/network", path="/etc/sysconfig/network",
                                      line=f"HOSTNAME={name}", match=r"^HOSTNAME="))
    return resources
