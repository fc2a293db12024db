"""When modules label their paths for SELinux."""


def labelling(facts):
    """True on a RedHat-family host with SELinux enabled (the `os.selinux.enabled` fact, from
    /sys/fs/selinux): there a path other than a package's default needs its file context."""
    return facts.get("os.family") == "RedHat" and bool(facts.get("os.selinux.enabled"))
