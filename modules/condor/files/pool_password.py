"""Write or check HTCondor's pool password file (SEC_PASSWORD_FILE) from $CONDOR_POOL_PASSWORD.

Usage: pool_password.py write|check FILE
The file holds the password XOR-scrambled with DE AD BE EF, as condor_store_cred
writes it (HTCondor's simple_scramble), owner root, mode 0600. `check` exits 0
when FILE already holds exactly that, so confrt rewrites it only when it differs.
The password comes from the environment, never the command line (ps shows argv).
"""
import os
import sys

SCRAMBLE_KEY = bytes([0xDE, 0xAD, 0xBE, 0xEF])


def scramble(data):
    """HTCondor's simple_scramble: its own inverse."""
    return bytes(byte ^ SCRAMBLE_KEY[i % len(SCRAMBLE_KEY)] for i, byte in enumerate(data))


def wanted():
    password = os.environ.get("CONDOR_POOL_PASSWORD", "")
    if not password:
        sys.exit("pool_password.py: CONDOR_POOL_PASSWORD is empty")
    return scramble(password.encode("utf-8"))


def check(path):
    try:
        info = os.lstat(path)
        with open(path, "rb") as handle:
            current = handle.read()
    except OSError:
        return 1
    ok = current == wanted() and info.st_uid == 0 and (info.st_mode & 0o7777) == 0o600
    return 0 if ok else 1


def write(path):
    from confrt.util.atomic import atomic_write

    atomic_write(path, wanted(), mode=0o600, uid=0, gid=0)
    return 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "check"):
        sys.exit("usage: pool_password.py write|check FILE")
    return write(argv[2]) if argv[1] == "write" else check(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
