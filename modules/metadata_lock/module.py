"""Lock the instance metadata service (userdata, and the secrets in it) away from everyone but root.

Any process on a VM can read http://169.254.169.254/: the userdata, and in it the pool
password, tokens and the site's local data. After the boot run has read it, this module
makes the kernel refuse connections to the metadata addresses from every uid but root's
(and allowed_users'): an nftables table of confrt's own (inet family, output hook,
`meta skuid`), or on hosts without nft an iptables/ip6tables chain with the `owner`
match. The rules are written to rules_dir (so --noop shows them), loaded by a helper
whose `check` runs in --noop too, and loaded again at every boot before the network is up
by a systemd unit (without systemd: by the boot run). Root is never locked out, so the
boot run still reads the userdata. Knocking the class out (`--metadata_lock` in classes)
removes the table, the unit and the files, and nothing else.
"""
import ipaddress
import os
import re
import sys

from confrt.engine.module import CompileError, Param

DOC = "Refuse the metadata service (169.254.169.254) to every user but root"

PARAMS = [
    Param("addresses", list, ["169.254.169.254", "fd00:ec2::254"],
          "metadata service addresses to lock (IPv4 and IPv6; EC2's by default)"),
    Param("allowed_users", list, [], "users besides root that may still reach them (names or uids)"),
    Param("rules_dir", str, "/etc/confrt/metadata_lock", "where the rules are written"),
    Param("unit", str, "/etc/systemd/system/confrt-metadata-lock.service",
          "the systemd unit that loads the rules at boot"),
    Param("python", str, None, "interpreter of the helper; default: the one running confrt"),
]

TABLE = "confrt_metadata_lock"
CHAIN = "confrt-metadata-lock"
USER = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$|^[0-9]+$")
SYSTEMD_RUNS = ["test", "-d", "/run/systemd/system"]


def declare(params, facts, ctx):
    v4, v6 = addresses(params, ctx)
    users = ["0"] + [str(user) for user in allowed_users(params, ctx)]
    rules_dir, unit = params["rules_dir"], params["unit"]
    helper = helper_argv(params, ctx)
    files = {"ruleset.nft": nft_ruleset(v4, v6, users), "rules.v4": iptables_rules(v4, users),
             "rules.v6": iptables_rules(v6, users)}
    resources = ctx.directories(rules_dir)
    resources += [ctx.resource("file", os.path.join(rules_dir, name), content=text, mode="0644")
                  for name, text in files.items()]
    rule_files = [f"file[{os.path.join(rules_dir, name)}]" for name in files]
    resources += [
        ctx.resource("exec", "load the metadata lock", command=helper + ["load", rules_dir],
                     unless=helper + ["check", rules_dir], require=rule_files),
        ctx.resource("file", unit, mode="0644", content=ctx.template(
            "metadata-lock.service.j2", command=" ".join(helper + ["load", rules_dir]))),
        ctx.resource("exec", "enable the metadata lock at boot",
                     command=["systemctl", "enable", os.path.basename(unit)],
                     onlyif=SYSTEMD_RUNS, unless=["systemctl", "is-enabled", "--quiet", os.path.basename(unit)],
                     require=f"file[{unit}]"),
    ]
    return resources


def declare_absent(params, facts, ctx):
    """The class is knocked out: the table (or chain), the unit and the rule files go."""
    rules_dir, unit = params["rules_dir"], params["unit"]
    helper = helper_argv(params, ctx)
    name = os.path.basename(unit)
    return [
        ctx.resource("exec", "remove the metadata lock", command=helper + ["remove", rules_dir],
                     onlyif=helper + ["present", rules_dir]),
        ctx.resource("exec", "disable the metadata lock at boot", command=["systemctl", "disable", name],
                     onlyif=["systemctl", "is-enabled", "--quiet", name], before=f"file[{unit}]"),
        ctx.resource("file", unit, ensure="absent"),
        ctx.resource("directory", rules_dir, ensure="absent", force=True),
    ]


def helper_argv(params, ctx):
    return [params["python"] or sys.executable, ctx.file("metadata_lock.py")]


def addresses(params, ctx):
    """(IPv4 addresses, IPv6 addresses), each checked."""
    v4, v6 = [], []
    for item in params["addresses"]:
        try:
            address = ipaddress.ip_address(str(item))
        except ValueError:
            raise CompileError(f"{ctx.origin('addresses')}: metadata_lock::addresses: {item!r} is not an "
                               f"IP address") from None
        (v4 if address.version == 4 else v6).append(str(address))
    if not v4 and not v6:
        raise CompileError(f"{ctx.origin('addresses')}: metadata_lock::addresses: expected at least one address")
    return v4, v6


def allowed_users(params, ctx):
    for user in params["allowed_users"]:
        if isinstance(user, bool) or not isinstance(user, (str, int)) or not USER.match(str(user)):
            raise CompileError(f"{ctx.origin('allowed_users')}: metadata_lock::allowed_users: {user!r} is not "
                               f"a user name or uid")
    return params["allowed_users"]


def nft_ruleset(v4, v6, users):
    """The table, replaced atomically (nft -f runs the file as one transaction). A packet without a
    socket (the kernel's ICMP errors, a TIME_WAIT ack) has no skuid: the rules let it pass."""
    allowed = f"meta skuid != {{ {', '.join(users)} }}"
    rules = [f"ip daddr {address} {allowed} reject" for address in v4]
    rules += [f"ip6 daddr {address} {allowed} reject" for address in v6]
    body = "".join(f"\t\t{rule}\n" for rule in rules)
    return (f"# confrt metadata_lock: only these uids reach the metadata service\n"
            f"table inet {TABLE}\ndelete table inet {TABLE}\n"
            f"table inet {TABLE} {{\n\tchain output {{\n"
            f"\t\ttype filter hook output priority filter; policy accept;\n{body}\t}}\n}}\n")


def iptables_rules(addresses, users):
    """An iptables-restore file for one family: our chain, reset and filled (the jump from OUTPUT
    is added by the helper, once)."""
    lines = ["*filter", f":{CHAIN} - [0:0]", f"-A {CHAIN} -m owner ! --socket-exists -j RETURN"]
    lines += [f"-A {CHAIN} -m owner --uid-owner {user} -j RETURN" for user in users]
    lines += [f"-A {CHAIN} -d {address} -j REJECT" for address in addresses]
    return "# confrt metadata_lock\n" + "\n".join(lines + ["COMMIT"]) + "\n"
