"""Load, check or remove confrt's metadata-service lock in the kernel's packet filter.

Usage: metadata_lock.py check|load|present|remove DIR

DIR holds the rules the metadata_lock module writes: ruleset.nft (an nftables table of
confrt's own) and rules.v4 / rules.v6 (an iptables chain of the same name, for hosts
without nft). With nft the table is used; else iptables and ip6tables; neither is an
error. Nothing outside that table (or that chain and the one jump to it from OUTPUT) is
ever touched.

check    exit 0 when the live rules are exactly the ones in DIR, 1 when not
load     make them so (the nft table is replaced atomically)
present  exit 0 when the table (or chain) exists at all, 1 when not
remove   delete the table (or the chain and its jump)

`check` compares like with like: the wanted rules are loaded into an empty network
namespace (`unshare --net`) and listed there by the same nft or iptables that lists the
live ones, so formatting that differs between versions never counts as a change.
"""
import functools
import os
import shutil
import subprocess
import sys

TABLE = "confrt_metadata_lock"            # nft: table inet confrt_metadata_lock
CHAIN = "confrt-metadata-lock"            # iptables / ip6tables: chain in the filter table
IPTABLES = (("iptables", "rules.v4"), ("ip6tables", "rules.v6"))


def run(argv, stdin=None):
    return subprocess.run(argv, stdin=stdin, capture_output=True, text=True, timeout=60)


def must(argv, stdin=None):
    result = run(argv, stdin=stdin)
    if result.returncode != 0:
        problem = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["failed"]
        sys.exit(f"metadata_lock: {' '.join(argv)}: {problem[0]}")
    return result.stdout


@functools.cache
def backend():
    """'nft', else 'iptables' (both iptables and ip6tables), found once per process."""
    if shutil.which("nft"):
        return "nft"
    if all(shutil.which(tool) for tool, _ in IPTABLES):
        return "iptables"
    sys.exit("metadata_lock: neither nft nor iptables/ip6tables found: install nftables")


def listing():
    """The live rules as nft or iptables lists them; None when they are not there."""
    if backend() == "nft":
        result = run(["nft", "list", "table", "inet", TABLE])
        return result.stdout if result.returncode == 0 else None
    parts = []
    for tool, _ in IPTABLES:
        chain = run([tool, "-w", "-S", CHAIN])
        if chain.returncode != 0:
            return None
        jumps = [line for line in must([tool, "-w", "-S", "OUTPUT"]).splitlines() if line.split()[-1:] == [CHAIN]]
        parts.append(chain.stdout + "\n".join(jumps) + "\n")
    return "".join(parts)


def load(directory):
    if backend() == "nft":
        must(["nft", "-f", os.path.join(directory, "ruleset.nft")])
        return
    for tool, name in IPTABLES:
        with open(os.path.join(directory, name)) as rules:
            must([f"{tool}-restore", "-w", "--noflush"], stdin=rules)  # (re)sets our chain only
        if run([tool, "-w", "-C", "OUTPUT", "-j", CHAIN]).returncode != 0:
            must([tool, "-w", "-I", "OUTPUT", "1", "-j", CHAIN])


def wanted(directory):
    """The rules of DIR as listed after loading them into an empty network namespace."""
    if backend() == "nft":
        fresh = ["sh", "-c", 'nft -f "$1" && exec nft list table inet "$2"', "sh",
                 os.path.join(directory, "ruleset.nft"), TABLE]
    else:
        fresh = [sys.executable, os.path.abspath(__file__), "listing-fresh", directory]
    result = run(["unshare", "--net", "--"] + fresh)
    if result.returncode != 0:
        problem = (result.stderr.strip() or "failed").splitlines()[-1]
        sys.exit(f"metadata_lock: cannot list the wanted rules in an empty network namespace: {problem}")
    return result.stdout


def remove():
    if backend() == "nft":
        if run(["nft", "list", "table", "inet", TABLE]).returncode == 0:
            must(["nft", "delete", "table", "inet", TABLE])
        return
    for tool, _ in IPTABLES:
        while run([tool, "-w", "-D", "OUTPUT", "-j", CHAIN]).returncode == 0:
            pass
        if run([tool, "-w", "-S", CHAIN]).returncode == 0:
            must([tool, "-w", "-F", CHAIN])
            must([tool, "-w", "-X", CHAIN])


def present():
    if backend() == "nft":
        return run(["nft", "list", "table", "inet", TABLE]).returncode == 0
    return any(run([tool, "-w", "-S", CHAIN]).returncode == 0 for tool, _ in IPTABLES)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("check", "load", "present", "remove", "listing-fresh"):
        sys.exit(__doc__.split("\n\n")[1])
    command, directory = argv[1], argv[2]
    if command == "check":
        return 0 if listing() == wanted(directory) else 1
    if command == "load":
        load(directory)
        return 0
    if command == "present":
        return 0 if present() else 1
    if command == "remove":
        remove()
        return 0
    load(directory)  # listing-fresh: only ever run inside `unshare --net`, by wanted()
    sys.stdout.write(listing() or "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
