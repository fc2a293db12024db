"""The site data directory: the bare repository, one checkout per commit, the `current` link, state.json.

Everything here runs under the run lock, so whatever a killed run left (a half-made checkout, a
link not yet renamed, git's own *.lock files) is a leftover and is swept before the next fetch.
A checkout gets its final name only once complete (rename), and `current` only ever moves by
renaming a new link over it: a kill at any point leaves `current` naming a whole checkout.
"""
import json
import os
import shutil
import time

from confrt.site_data import CHECKOUTS, CURRENT, SiteDataError, current_checkout, site_dir
from confrt.util.atomic import atomic_write, fsync_dir

REPOSITORY = "repo.git"
STATE = "state.json"
#: present only while repo.git holds nothing a killed git left: removed before each fetch, made
#: again once git fetch has succeeded (absent: the next run sweeps the whole repository)
CLEAN = "repo.clean"
_PARTIAL = ".new-"  # checkouts/.new-<commit>-<pid>: being written
_LINK = ".current-"  # .current-<pid>: the next `current`, before its rename
_INDEX = ".index-"  # .index-<pid>: the private index of a checkout
_GONE = ".gone-"  # checkouts/.gone-<commit>-<pid>: being removed (renamed first: never half a checkout by name)
#: more packs than this after a fetch, and the repository is repacked into one: each fetch keeps a
#: pack of its own (transfer.fsckObjects), gc.auto is off, and git slows with every pack it reads
MAX_PACKS = 20


class Checkouts:
    def __init__(self, config):
        self.config = config
        self.base = site_dir(config)
        self.repository = os.path.join(self.base, REPOSITORY)
        self.checkouts = os.path.join(self.base, CHECKOUTS)
        self.repack_problem = None  # why the last fetch's repack failed (the fetch stands)

    # -- state ------------------------------------------------------------

    def read_state(self):
        return read_state(self.base)

    def write_state(self, state):
        atomic_write(os.path.join(self.base, STATE), json.dumps(state, indent=1, sort_keys=True) + "\n", 0o600)

    # -- before a fetch ---------------------------------------------------

    def prepare(self, make_git):
        """Make the directories, sweep a killed run's leftovers; -> Git on the bare repository
        (made when missing: in a temp name, then renamed)."""
        try:
            os.makedirs(self.base, mode=0o700, exist_ok=True)
            os.makedirs(self.checkouts, mode=0o700, exist_ok=True)
            self._sweep()
            if not os.path.exists(os.path.join(self.base, CLEAN)):
                self._sweep_repository()
        except OSError as exc:
            raise SiteDataError(f"{self.base}: {exc.strerror}") from None
        if not os.path.isdir(self.repository):
            partial = os.path.join(self.base, f"{_PARTIAL}repo-{os.getpid()}")
            make_git(partial).init()
            os.rename(partial, self.repository)
        return make_git(self.repository)

    def _sweep(self):
        for directory, prefixes in ((self.base, (_PARTIAL, _LINK, _INDEX)), (self.checkouts, (_PARTIAL, _GONE))):
            for entry in os.scandir(directory):
                if entry.name.startswith(prefixes):
                    _remove(entry.path)

    def _sweep_repository(self):
        """Remove git's lock files and temp files from the whole repository (a walk whose cost grows
        with every fetch: done only when the last fetch did not succeed, see CLEAN)."""
        for directory, folders, names in os.walk(self.repository):
            for name in names:  # git's lock files and the temp packs of a killed fetch or repack
                if name.endswith(".lock") or name.startswith(("tmp_", "tmp-", ".tmp-")):
                    _remove(os.path.join(directory, name))
            for name in [name for name in folders if name.startswith(("incoming-", "tmp_objdir"))]:
                _remove(os.path.join(directory, name))
                folders.remove(name)

    def fetch(self, git, ref):
        """git.fetch(ref) -> the commit (the repository repacked when it holds more than MAX_PACKS
        packs). The CLEAN mark is off while git may write: a run killed
        meanwhile, or a fetch that failed or timed out (its helpers killed), leaves the repository
        to be swept. No fsync: kill -9 loses nothing, and a journaling file system keeps the
        removal ahead of the files git makes after it. A repack that fails or times out is only
        housekeeping: the fetch stands, `repack_problem` says why, and the mark stays off (the
        next run sweeps what the repack left, and repacks again)."""
        clean = os.path.join(self.base, CLEAN)
        _remove(clean)
        commit = git.fetch(ref)
        self.repack_problem = None
        if self._packs() > MAX_PACKS:
            try:
                git.repack()
            except SiteDataError as exc:
                self.repack_problem = str(exc)
                return commit
        os.close(os.open(clean, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        return commit

    def _packs(self):
        with os.scandir(os.path.join(self.repository, "objects", "pack")) as entries:
            return sum(1 for entry in entries if entry.name.endswith(".pack"))

    # -- a commit's checkout ----------------------------------------------

    def check_out(self, git, commit):
        """checkouts/<commit>, written whole under a temp name first (an existing one is reused)."""
        final = os.path.join(self.checkouts, commit)
        if os.path.isdir(final):
            os.utime(final)
            return final
        partial = os.path.join(self.checkouts, f"{_PARTIAL}{commit}-{os.getpid()}")
        index = os.path.join(self.base, f"{_INDEX}{os.getpid()}")
        os.mkdir(partial, 0o755)
        try:
            git.check_out(commit, partial, index)
            os.rename(partial, final)
        finally:
            _remove(partial)
            _remove(index)
        fsync_dir(self.checkouts)
        return final

    def discard(self, directory):
        """Remove a refused checkout (never the one in use)."""
        in_use = current_checkout(self.config)
        if not in_use or in_use[0] != directory:
            self._remove_checkout(directory)

    def _remove_checkout(self, directory):
        """Rename, then remove: a kill halfway leaves a `.gone-` leftover, never a checkout's name on
        half its files (which a later run would take as whole)."""
        gone = os.path.join(self.checkouts, f"{_GONE}{os.path.basename(directory)}-{os.getpid()}")
        try:
            os.rename(directory, gone)
        except FileNotFoundError:
            return
        _remove(gone)

    def switch(self, commit):
        """Point `current` at checkouts/<commit>: a new link renamed over the old one."""
        link = os.path.join(self.base, f"{_LINK}{os.getpid()}")
        _remove(link)
        os.symlink(os.path.join(CHECKOUTS, commit), link)
        os.replace(link, os.path.join(self.base, CURRENT))
        fsync_dir(self.base)

    def prune(self, keep):
        """Keep the checkout in use and the `keep - 1` used last before it; -> the commits removed."""
        in_use = current_checkout(self.config)
        entries = [entry for entry in os.scandir(self.checkouts)
                   if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")]
        entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime, reverse=True)
        kept = [entry for entry in entries if in_use and entry.path == in_use[0]]
        removed = []
        for entry in entries:
            if entry in kept:
                continue
            if len(kept) < keep:
                kept.append(entry)
            else:
                self._remove_checkout(entry.path)
                removed.append(entry.name)
        return removed


def read_state(base):
    """state.json of the site data directory ({} when missing or unreadable)."""
    try:
        with open(os.path.join(base, STATE)) as handle:
            state = json.load(handle)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def now():
    return round(time.time(), 3)


def _remove(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
