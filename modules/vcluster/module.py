"""pragma_boot virtual clusters: the node's network and names from /root/vc-out.xml.

The file is read when the catalog is compiled (frontend, compute and the old
attribute-only form, as pragmagrid's vc-out-parser reads them). Interfaces
are matched by MAC through the `networking.interfaces` fact. Unlike the old
SysV script, the cluster key is a managed key of root (added once, not
appended at every boot) and /etc/hosts keeps its other lines.
"""
from confrt.engine.module import CompileError, Param

DOC = "pragma_boot virtual cluster node: hosts, resolv.conf, hostname, machine file, key, interfaces"

PARAMS = [
    Param("vc_out", str, "/root/vc-out.xml", "pragma_boot's description of the cluster"),
    Param("machinefile", str, "/tmp/machinefile", "the frontend's MPI machine file (each node cpus times)"),
    Param("manage_hostname", bool, True, "set the host name (compute: <name>.local, frontend: its fqdn)"),
    Param("manage_resolv_conf", bool, True, "write /etc/resolv.conf from <network><dns>"),
    Param("manage_interfaces", bool, True, "write interface files (ifcfg on EL, interfaces.d on Debian)"),
    Param("key_user", str, "root", "the account that gets the cluster key (empty: none)"),
]


def declare(params, facts, ctx):
    path = params["vc_out"]
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        ctx.warn(f"{path}: not found; this is not a pragma_boot virtual cluster node")
        return []
    except OSError as exc:
        raise CompileError(f"{path}: cannot read: {exc.strerror}") from None
    cluster = parse_vc_out(text, path)
    resources = [ctx.resource("line", f"hosts {ip}", path="/etc/hosts", line=f"{ip}\t{names}",
                              match=rf"^{ip.replace('.', '[.]')}\s")
                 for ip, names in cluster["hosts"]]
    if params["manage_resolv_conf"] and cluster["nameservers"]:
        resources.append(ctx.resource("file", "/etc/resolv.conf", mode="0644",
                                      content=ctx.template("resolv.conf.j2", cluster=cluster)))
    if cluster["role"] == "frontend":
        resources.append(ctx.resource("file", params["machinefile"], mode="0644",
                                      content="".join(f"{name}\n" * cpus for name, cpus in cluster["nodes"])))
    if params["manage_hostname"]:
        resources += ctx.sibling("hostname").hostname_resources(ctx, cluster["hostname"], facts)
    if params["key_user"] and cluster["key"]:
        key = ctx.sibling("sshkeys").parse_key(cluster["key"], f"{path}: <key>")
        resources.append(ctx.resource("ssh_authorized_key", key["comment"] or "pragma_boot cluster key",
                                      user=params["key_user"], type=key["type"], key=key["key"],
                                      options=key["options"]))
    if params["manage_interfaces"]:
        resources += interface_files(ctx, cluster, facts)
    return resources


def interface_files(ctx, cluster, facts):
    by_mac = {}
    for device, info in (facts.get("networking.interfaces") or {}).items():
        if isinstance(info, dict) and info.get("mac"):
            by_mac[str(info["mac"]).lower()] = device
    family = facts.get("os.family")
    resources = []
    for interface in cluster["interfaces"]:
        device = by_mac.get(interface["mac"].lower())
        if device is None:
            ctx.warn(f"no interface has MAC {interface['mac']} (<{interface['tag']}> of {cluster['hostname']})")
            continue
        variables = {"device": device, "interface": interface}
        if family == "RedHat":
            resources += ctx.directories("/etc/sysconfig/network-scripts")
            resources.append(ctx.resource("file", f"/etc/sysconfig/network-scripts/ifcfg-{device}", mode="0644",
                                          content=ctx.template("ifcfg.j2", **variables)))
        elif family == "Debian":
            resources += ctx.directories("/etc/network/interfaces.d")
            resources.append(ctx.resource("file", f"/etc/network/interfaces.d/{device}", mode="0644",
                                          content=ctx.template("interfaces.j2", **variables)))
        else:
            ctx.warn(f"interface files for os.family {family!r} are not supported; {device} left alone")
    return resources


# -- vc-out.xml ------------------------------------------------------------------------------

def parse_vc_out(text, path):
    """{role, hostname, hosts [(ip, names)], nameservers, search, nodes [(name, cpus)], key, interfaces}."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise CompileError(f"{path}: line {exc.position[0]}: not well-formed XML") from None
    frontend = root.find("frontend")
    if root.tag != "vc" or frontend is None:
        raise CompileError(f"{path}: expected <vc> with a <frontend>")
    dns = root.find("network/dns")
    cluster = {"nameservers": [], "search": "local", "nodes": [], "key": (root.findtext("key") or "").strip()}
    if dns is not None:
        cluster["nameservers"] = [ip.strip() for ip in dns.get("ip", "").split(",") if ip.strip()]
        cluster["search"] = dns.get("search") or "local"
    if root.find("compute/private") is not None:
        compute = root.find("compute")
        private = compute.find("private")
        name = required(compute, private, "name", "fqdn", path)
        gateway = required(compute, private, "gw", "gw", path)
        fe_fqdn = required(frontend, frontend.find("public"), "fqdn", "fqdn", path)
        interfaces = node_interfaces(compute, gateway, "private", path)
        hosts = [(i["ip"], host_names(i["tag"], name, None)) for i in interfaces]
        hosts.append((gateway, f"{fe_fqdn} {fe_fqdn.split('.')[0]}"))
        cluster.update(role="compute", hostname=f"{name}.local", hosts=hosts, interfaces=interfaces)
        return cluster
    public = frontend.find("public")
    fqdn = required(frontend, public, "fqdn", "fqdn", path)
    # pragma_boot's README names the frontend only by <public fqdn=...>: the first vc-out-parser
    # took the fqdn's first label as its name
    name = frontend.get("name") or (public.get("name") if public is not None else None) or fqdn.split(".")[0]
    gateway = required(frontend, public, "gw", "gw", path)
    interfaces = node_interfaces(frontend, gateway, "public", path)
    hosts = [(i["ip"], host_names(i["tag"], name, fqdn)) for i in interfaces]
    for node in root.findall("compute/node"):
        node_name = node.get("name")
        if not node_name:
            raise CompileError(f"{path}: <compute><node> without a name")
        children = list(node)
        if children:
            hosts += [(attribute(child, "ip", path), host_names(child.tag, node_name, None)) for child in children]
        else:
            hosts.append((attribute(node, "ip", path), host_names("private", node_name, None)))
        cpus = node.get("cpus", "1")
        if not cpus.isdigit() or int(cpus) < 1:
            raise CompileError(f"{path}: <node name={node_name!r}> cpus: expected a positive integer, got {cpus!r}")
        cluster["nodes"].append((node_name, int(cpus)))
    cluster.update(role="frontend", hostname=fqdn, hosts=hosts, interfaces=interfaces)
    return cluster


def required(element, fallback, name, fallback_name, path):
    """An attribute of element, else (the old form) of its child `fallback`."""
    value = element.get(name)
    if not value and fallback is not None:
        value = fallback.get(fallback_name)
    if not value:
        raise CompileError(f"{path}: <{element.tag}> has no {name}")
    return value


def attribute(element, name, path):
    value = element.get(name)
    if not value:
        raise CompileError(f"{path}: <{element.tag}> has no {name}")
    return value


def node_interfaces(node, gateway, gateway_tag, path):
    """The interfaces of a node element; the gateway goes only on the `gateway_tag` one."""
    interfaces = []
    for child in node:
        interfaces.append({"tag": child.tag, "ip": attribute(child, "ip", path),
                           "netmask": attribute(child, "netmask", path), "mac": attribute(child, "mac", path),
                           "mtu": child.get("mtu") or "1500",
                           "gateway": gateway if child.tag == gateway_tag else None})
    return interfaces


def host_names(tag, name, fqdn):
    """vc-out-parser's /etc/hosts names: private 'name.local name', public the fqdn, others name.tag."""
    if tag == "private":
        return f"{name}.local {name}"
    if tag == "public" and fqdn:
        return fqdn
    return f"{name}.{tag}"
