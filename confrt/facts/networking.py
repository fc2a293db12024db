"""The `networking` fact: names, interfaces (getifaddrs + /sys) and the primary interface.

The primary interface is the one holding the IPv4 default route
(/proc/net/route), else the first non-loopback interface with an address;
its ip, ip6, mac, netmask, network and mtu are copied to the top, as facter
does.
"""
import socket

PRIMARY_KEYS = ("ip", "ip6", "mac", "mtu", "netmask", "netmask6", "network", "network6", "scope6")


def networking(host):
    interfaces = interfaces_fact(host) if host.is_live else {}
    fact = names_fact(host)
    fact["interfaces"] = interfaces
    primary = default_route_interface(host.read_text("/proc/net/route") or "")
    if primary not in interfaces:
        primary = next((name for name, info in sorted(interfaces.items())
                        if name != "lo" and "ip" in info), None)
    if primary:
        fact["primary"] = primary
        fact.update({key: interfaces[primary][key] for key in PRIMARY_KEYS
                     if key in interfaces[primary]})
    return fact


def names_fact(host):
    """hostname, fqdn and (when known) domain: the cheap part of the networking fact."""
    hostname, fqdn, domain = names(host)
    fact = {"hostname": hostname, "fqdn": fqdn}
    if domain:
        fact["domain"] = domain
    return fact


def names(host):
    """(hostname, fqdn, domain or None): the fqdn from the resolver's canonical name."""
    node = socket.gethostname()
    hostname = node.split(".")[0]
    fqdn = node if "." in node else _canonical_name(node)
    domain = fqdn.partition(".")[2] if "." in fqdn else resolv_conf_domain(
        host.read_text("/etc/resolv.conf") or "")
    if domain and "." not in fqdn:
        fqdn = f"{hostname}.{domain}"
    return hostname, fqdn, domain or None


def _canonical_name(node):
    # an ASCII name goes as bytes: a str is IDNA-encoded, which imports ~2 ms of codecs
    query = node.encode("ascii") if node.isascii() else node
    try:
        for *_, canonical, _address in socket.getaddrinfo(query, None, flags=socket.AI_CANONNAME):
            if canonical:
                return canonical
    except (OSError, UnicodeError):
        pass
    return node


def resolv_conf_domain(text):
    """The `domain` line of resolv.conf, else the first `search` entry (facter's rule)."""
    search = None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "domain":
            return words[1]
        if len(words) >= 2 and words[0] == "search" and search is None:
            search = words[1]
    return search


def default_route_interface(text):
    """The interface of the IPv4 default route in /proc/net/route text, or None."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            return fields[0]
    return None


def interfaces_fact(host):
    """name -> bindings, bindings6, ip, ip6, mac, mtu, netmask(6), network(6), scope6."""
    result = {}
    for name, (mac, mtu, addresses) in sorted(links(host).items()):
        info = {}
        if mac and mac != "00:00:00:00:00:00":
            info["mac"] = mac
        for family, address, netmask in addresses:
            if netmask:
                suffix = "6" if family == socket.AF_INET6 else ""
                info.setdefault("bindings" + suffix, []).append(binding(address, netmask))
        for suffix in ("", "6"):
            bindings = info.get("bindings" + suffix)
            if bindings:
                first = _preferred(bindings)
                info["ip" + suffix] = first["address"]
                info["netmask" + suffix] = first["netmask"]
                info["network" + suffix] = first["network"]
                if suffix:
                    info["scope6"] = first["scope6"]
        if mtu:
            info["mtu"] = mtu
        result[name] = dict(sorted(info.items()))
    return result


def links(host):
    """name -> (mac, mtu, [(family, address, netmask)]): getifaddrs + /sys, else psutil.

    ctypes' getifaddrs avoids importing psutil (~15 ms); psutil stays the
    fallback where ctypes or getifaddrs is missing. mac and mtu may be None.
    """
    try:
        from confrt.facts._ifaddrs import InterfacesUnavailable, interface_addresses
    except ImportError:  # no ctypes
        return psutil_links()
    try:
        addresses = interface_addresses()
    except InterfacesUnavailable:
        return psutil_links()
    return {name: (_sysfs_value(host, name, "address"), _sysfs_mtu(host, name), found)
            for name, found in addresses.items()}


def _sysfs_value(host, interface, attribute):
    """/sys/class/net/<interface>/<attribute>, stripped; None when unreadable or empty."""
    text = host.read_text(f"/sys/class/net/{interface}/{attribute}")
    return (text.strip() or None) if text else None


def _sysfs_mtu(host, interface):
    text = _sysfs_value(host, interface, "mtu")
    return int(text) if text and text.isdigit() else None


def psutil_links():
    """links() read through psutil: the fallback, and the reference in tests."""
    import psutil

    stats = psutil.net_if_stats()
    result = {}
    for name, entries in psutil.net_if_addrs().items():
        mac = next((entry.address for entry in entries if entry.family == psutil.AF_LINK), None)
        addresses = [(entry.family, entry.address.split("%")[0], entry.netmask) for entry in entries
                     if entry.family in (socket.AF_INET, socket.AF_INET6)]
        result[name] = (mac, stats[name].mtu if name in stats else None, addresses)
    return result


def binding(address, netmask):
    """{address, netmask, network} (+ scope6 for IPv6) of one interface address."""
    import ipaddress

    address = address.split("%")[0]
    prefix = netmask
    if ":" in netmask:  # ipaddress takes IPv6 masks only as a prefix length
        prefix = bin(int(ipaddress.IPv6Address(netmask))).count("1")
    interface = ipaddress.ip_interface(f"{address}/{prefix}")
    entry = {"address": address, "netmask": netmask, "network": str(interface.network.network_address)}
    if interface.version == 6:
        ip = interface.ip
        entry["scope6"] = "host" if ip.is_loopback else "link" if ip.is_link_local else "global"
    return entry


def _preferred(bindings):
    """The first global address, as facter picks ip6 (link-local only when nothing else)."""
    for entry in bindings:
        if entry.get("scope6", "global") == "global":
            return entry
    return bindings[0]
