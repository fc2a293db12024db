"""Interface addresses from libc getifaddrs(3) through ctypes.

Importing psutil costs ~15 ms of every `confrt facts`; this reads the same
addresses with ctypes (~3 ms). Raises InterfacesUnavailable when ctypes or
getifaddrs is missing, so the caller can fall back to psutil.
"""
import ctypes
import socket


class InterfacesUnavailable(Exception):
    """getifaddrs cannot be called here (no libc, no symbol, or it failed)."""


class _Sockaddr(ctypes.Structure):
    _fields_ = [("sa_family", ctypes.c_ushort)]


class _SockaddrIn(ctypes.Structure):
    _fields_ = [("sin_family", ctypes.c_ushort), ("sin_port", ctypes.c_uint16),
                ("sin_addr", ctypes.c_ubyte * 4)]


class _SockaddrIn6(ctypes.Structure):
    _fields_ = [("sin6_family", ctypes.c_ushort), ("sin6_port", ctypes.c_uint16),
                ("sin6_flowinfo", ctypes.c_uint32), ("sin6_addr", ctypes.c_ubyte * 16),
                ("sin6_scope_id", ctypes.c_uint32)]


class _Ifaddrs(ctypes.Structure):
    pass


_Ifaddrs._fields_ = [
    ("ifa_next", ctypes.POINTER(_Ifaddrs)),
    ("ifa_name", ctypes.c_char_p),
    ("ifa_flags", ctypes.c_uint),
    ("ifa_addr", ctypes.POINTER(_Sockaddr)),
    ("ifa_netmask", ctypes.POINTER(_Sockaddr)),
    ("ifa_ifu", ctypes.POINTER(_Sockaddr)),  # broadcast or point-to-point peer (unused)
    ("ifa_data", ctypes.c_void_p),
]

# family -> (sockaddr layout, name of its address field)
_LAYOUTS = {
    socket.AF_INET: (_SockaddrIn, "sin_addr"),
    socket.AF_INET6: (_SockaddrIn6, "sin6_addr"),
}


def interface_addresses():
    """name -> [(family, address, netmask or None)] for every interface, in getifaddrs order.

    Only AF_INET and AF_INET6 addresses are listed; an interface with only a
    link-layer (AF_PACKET) entry maps to an empty list.
    """
    libc = _libc()
    head = ctypes.POINTER(_Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        raise InterfacesUnavailable(f"getifaddrs: {_errno_text()}")
    result = {}
    try:
        entry = head
        while entry:
            item = entry.contents
            addresses = result.setdefault(item.ifa_name.decode("utf-8", "replace"), [])
            family = item.ifa_addr.contents.sa_family if item.ifa_addr else None
            if family in _LAYOUTS:
                addresses.append((family, _text(item.ifa_addr, family), _text(item.ifa_netmask, family)))
            entry = item.ifa_next
    finally:
        libc.freeifaddrs(head)
    return result


def _text(pointer, family):
    """The address a sockaddr pointer holds, as inet_ntop writes it; None for NULL."""
    if not pointer:
        return None
    layout, field = _LAYOUTS[family]
    raw = getattr(ctypes.cast(pointer, ctypes.POINTER(layout)).contents, field)
    return socket.inet_ntop(family, bytes(raw))


def _libc():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.getifaddrs.argtypes = [ctypes.POINTER(ctypes.POINTER(_Ifaddrs))]
        libc.getifaddrs.restype = ctypes.c_int
        libc.freeifaddrs.argtypes = [ctypes.POINTER(_Ifaddrs)]
        libc.freeifaddrs.restype = None
    except (OSError, AttributeError) as error:
        raise InterfacesUnavailable(f"libc getifaddrs: {error}") from None
    return libc


def _errno_text():
    import os

    return os.strerror(ctypes.get_errno())
