"""Paths walked without following a link that a user controls.

confrt runs as root. A directory that someone else can write to (a home, /tmp, a shared
folder) is theirs to rearrange at any moment: a name that was a file when confrt looked at it
can be a link to /etc/shadow when confrt writes. So a path is opened from / one component at a
time, each relative to the descriptor of the directory above it, with O_NOFOLLOW:

- a link in a directory that only root can write to is root's: it is read and walked the same
  way (/var/run -> /run);
- a link in a directory that someone else can write to is refused (LinkRefused: it names the
  link and who can write there), wherever it points;
- what is then done in the directory goes through its descriptor (Folder): reading a file,
  making a directory (its owner and mode set on its own descriptor, never by path), changing
  the owner or mode of an entry (on a descriptor opened with O_NOFOLLOW, checked to be the entry
  that was examined), removing one, and writing files (atomic.write_into).

Who can write a directory besides root: its owner when that is not root (an owner can always
chmod), its group when the group may write and is not root's (or root's, with an ACL that may
name others), and everyone when others may write.
"""
import errno
import os
import stat

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: a non-blocking open: a FIFO planted in place of a file does not hang the run
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
MAX_LINKS = 40  # as the kernel's path walk


class LinkRefused(OSError):
    """A link in a directory someone besides root can write to; str() is the whole reason."""

    def __init__(self, message, filename=None):
        super().__init__(errno.ELOOP, message, filename)

    def __str__(self):
        return self.strerror


def writers(info, fd=None):
    """Who besides root can write the directory of lstat/fstat result `info` (fd: to look for an
    ACL): a list of ('user', uid), ('group', gid), ('acl', None), ('everyone', None)."""
    found = []
    if info.st_uid != 0:
        found.append(("user", info.st_uid))
    if info.st_mode & 0o020:
        if info.st_gid != 0:
            found.append(("group", info.st_gid))
        elif fd is not None and _has_acl(fd):
            found.append(("acl", None))
    if info.st_mode & 0o002:
        found.append(("everyone", None))
    return found


def _has_acl(fd):
    try:
        os.getxattr(fd, "system.posix_acl_access")
    except OSError:
        return False
    return True


def describe(found):
    """'mallory', 'group staff', 'everyone', 'mallory and group staff' ..."""
    import grp
    import pwd

    names = []
    for kind, number in found:
        try:
            if kind == "user":
                names.append(pwd.getpwuid(number).pw_name)
            elif kind == "group":
                names.append(f"group {grp.getgrgid(number).gr_name}")
            else:
                names.append("everyone" if kind == "everyone" else "the users its ACL names")
        except KeyError:
            names.append(f"uid {number}" if kind == "user" else f"gid {number}")
    return " and ".join(names)


class Folder:
    """An open directory: fd (O_RDONLY|O_DIRECTORY), path (the real one: every link followed on the
    way resolved), info (its fstat). Close it, or use it as a context manager."""

    __slots__ = ("fd", "path", "info", "_writers")

    def __init__(self, fd, path, info=None):
        self.fd = fd
        self.path = path
        self.info = info if info is not None else os.fstat(fd)
        self._writers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def join(self, name):
        return os.path.join(self.path, name)

    # -- who may write here ----------------------------------------------------
    def writers(self):
        if self._writers is None:
            self._writers = writers(self.info, self.fd)
        return self._writers

    def open_to_others(self, uid=None):
        """Those who can write here besides root and the user `uid` (describe() them)."""
        return [(kind, number) for kind, number in self.writers() if not (kind == "user" and number == uid)]

    def refuse_link(self, name):
        """LinkRefused when `name` (a link) is in a directory others can write; else ELOOP."""
        _refuse_link(self.path, name, self.writers())
        raise OSError(errno.ELOOP, f"{self.join(name)} is a link", self.join(name))

    # -- entries ---------------------------------------------------------------
    def entry(self, name):
        """lstat of `name`, or None when there is none."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def readlink(self, name):
        return os.readlink(name, dir_fd=self.fd)

    def open_entry(self, name, expect=None, directory=False):
        """A descriptor of the file (directory: the directory) `name`, never through a link; with
        `expect` (an lstat result), only when it is still that same file. OSError otherwise."""
        flags = DIR_FLAGS if directory else FILE_FLAGS
        try:
            fd = os.open(name, flags, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(getattr(self.entry(name), "st_mode", 0)):
                self.refuse_link(name)
            raise OSError(exc.errno, exc.strerror, self.join(name)) from None
        try:
            info = os.fstat(fd)
            kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
            if not kind_ok:
                raise OSError(errno.EINVAL, f"{self.join(name)} is not a {'directory' if directory else 'regular file'}",
                              self.join(name))
            if expect is not None and (info.st_dev, info.st_ino) != (expect.st_dev, expect.st_ino):
                raise OSError(errno.ESTALE, f"{self.join(name)} was replaced while confrt worked on it",
                              self.join(name))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read(self, name, expect=None):
        """The bytes of the regular file `name` (never through a link)."""
        fd = self.open_entry(name, expect)
        try:
            size = os.fstat(fd).st_size if expect is None else expect.st_size
            chunks = [os.read(fd, size + 1)]
            if len(chunks[0]) <= size:  # a short read of a regular file is its end
                return chunks[0]
            while chunks[-1]:
                chunks.append(os.read(fd, 1 << 20))
            return b"".join(chunks)
        finally:
            os.close(fd)

    def set_metadata(self, name, mode=None, uid=-1, gid=-1, expect=None, directory=False):
        """fchown, then fchmod (a chown clears the set-id bits) the entry `name` (see open_entry)."""
        fd = self.open_entry(name, expect, directory)
        try:
            fix_metadata(fd, mode, uid, gid)
        finally:
            os.close(fd)

    def mkdir(self, name, mode, uid=-1, gid=-1):
        """Make the directory `name` and open it: made 0700 (no one else can use it before it has its
        owner and mode), set on its descriptor. Returns its Folder."""
        os.mkdir(name, 0o700, dir_fd=self.fd)
        try:
            made = Folder(os.open(name, DIR_FLAGS, dir_fd=self.fd), self.join(name))
        except OSError as exc:
            raise OSError(exc.errno, f"{self.join(name)} was replaced while confrt made it", self.join(name)) \
                from None
        if made.info.st_uid != os.geteuid():
            made.close()
            raise OSError(errno.ESTALE, f"{self.join(name)} was replaced while confrt made it", self.join(name))
        try:
            fix_metadata(made.fd, mode, uid, gid)
            made.info = os.fstat(made.fd)
        except BaseException:
            made.close()
            raise
        return made

    def unlink(self, name):
        os.unlink(name, dir_fd=self.fd)

    def rmdir(self, name):
        os.rmdir(name, dir_fd=self.fd)

    def remove_tree(self, name):
        """rm -r `name` through descriptors: a link inside is removed, never followed."""
        with Folder(os.open(name, DIR_FLAGS, dir_fd=self.fd), self.join(name)) as inner:
            for entry in os.scandir(inner.fd):
                if entry.is_dir(follow_symlinks=False):
                    inner.remove_tree(entry.name)
                else:
                    inner.unlink(entry.name)
        self.rmdir(name)

    def sync(self):
        os.fsync(self.fd)


def _refuse_link(where, name, found):
    """LinkRefused for the link `name` in the directory `where` when `found` (writers()) is not empty."""
    if found:
        link = os.path.join(where, name)
        raise LinkRefused(f"{link} is a link in {where}, which {describe(found)} can write to: not following it",
                          link)


def fix_metadata(fd, mode=None, uid=-1, gid=-1):
    """Owner, then mode, of an open file or directory."""
    if uid != -1 or gid != -1:
        os.fchown(fd, uid, gid)
    if mode is not None:
        os.fchmod(fd, mode)


def _parts(path):
    return [part for part in path.split("/") if part and part != "."]


#: folder path -> (st_dev, st_ino, st_uid, st_gid, st_mode, real path) of the directory a walk
#: of this process reached from it (see open_folder)
_walked = {}
_WALKED_MAX = 4096


def open_folder(path):
    """The directory at absolute `path` as a Folder (see the module's docstring for the walk).

    FileNotFoundError or NotADirectoryError (filename: the part of the path that is missing or
    not a directory), LinkRefused, or OSError(ELOOP) after MAX_LINKS links.

    A path walked before is opened at once (one open, one fstat: what a converged run pays per
    folder) when that lands on the very directory the walk reached (device, inode, owner, group
    and mode): whatever way the kernel took to it, that directory is what the walk would give.
    Anything else is walked again."""
    known = _walked.get(path)
    if known is not None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            fd = None
        if fd is not None:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino, info.st_uid, info.st_gid, info.st_mode) == known[:5]:
                return Folder(fd, known[5], info)
            os.close(fd)
    folder = _walk(path)
    if len(_walked) >= _WALKED_MAX:
        _walked.clear()
    info = folder.info
    _walked[path] = (info.st_dev, info.st_ino, info.st_uid, info.st_gid, info.st_mode, folder.path)
    return folder


def _walk(path):
    """open_folder's walk, component by component."""
    fd = os.open("/", DIR_FLAGS)
    where, todo, links = "/", _parts(path), 0
    try:
        while todo:
            name = todo.pop(0)
            if name == "..":
                parent = os.open("..", DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd, where = parent, os.path.dirname(where)
                continue
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                here = os.path.join(where, name)
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise type(exc)(exc.errno, exc.strerror, here) from None
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "Not a directory", here) from None
                _refuse_link(where, name, writers(os.fstat(fd), fd))
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, "Too many levels of symbolic links", here) from None
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    os.close(fd)
                    fd, where = os.open("/", DIR_FLAGS), "/"
                todo[:0] = _parts(target)
                continue
            os.close(fd)
            fd, where = child, os.path.join(where, name)
        return Folder(fd, where)
    except BaseException:
        os.close(fd)
        raise


def open_parent(path):
    """(Folder of the directory holding `path`, the entry's name): the entry itself is not
    followed (it is what is made, replaced or removed)."""
    if not path.startswith("/") or "/." in path or "//" in path:
        path = os.path.abspath(path)
    folder, _, name = path.rpartition("/")
    return open_folder(folder or "/"), name


def locate(path):
    """(Folder, name, lstat or None) of the file `path` names, following a last link the way
    open_folder follows links on the way (root's: followed; one someone else can write next
    to: LinkRefused). FileNotFoundError when a folder on the way is missing."""
    path = os.path.abspath(path)
    for _ in range(MAX_LINKS):
        folder, name = open_parent(path)
        try:
            info = folder.entry(name)
            if info is None or not stat.S_ISLNK(info.st_mode):
                return folder, name, info
            if folder.writers():
                folder.refuse_link(name)
            path = os.path.normpath(os.path.join(folder.path, folder.readlink(name)))
        except BaseException:
            folder.close()
            raise
        folder.close()
    raise OSError(errno.ELOOP, "Too many levels of symbolic links", path)


def make_folders(path, mode=0o755):
    """os.makedirs(path, mode, exist_ok=True) through open_folder: the folders missing are made
    root's with `mode` (exactly, not less the umask), never through a link someone else owns."""
    try:
        open_folder(path).close()
        return
    except FileNotFoundError as exc:
        missing = exc.filename
    parent = os.path.dirname(missing)
    make_folders(parent, mode)
    with open_folder(parent) as folder:
        try:
            folder.mkdir(os.path.basename(missing), mode).close()
        except FileExistsError:
            pass
        folder.sync()
    if missing != os.path.normpath(path):
        make_folders(path, mode)
