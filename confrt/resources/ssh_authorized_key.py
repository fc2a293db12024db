"""ssh_authorized_key: one public key of a user, inside a block of authorized_keys marked as confrt's.

The block holds exactly the keys the catalog declares for that file: a key in it
that the catalog no longer declares (the VM's previous owner) is removed. Keys
written by people or other tools (outside the block) survive; with
`exclusive: true` they are removed too. The key type and the base64 blob are checked (the
blob names its own type, so a truncated or mismatched key is refused before
anything is written). As sshd's StrictModes requires, ~/.ssh is 0700 and the
file 0600, both owned by the user.
"""
import base64
import binascii
import os
import struct

from confrt.resources import _posix
from confrt.resources._posix import absolute_path, declared
from confrt.resources._system import (
    content_change, ensure_param, first_plan, join_lines, plan_text, single_line, split_lines,
)
from confrt.resources.base import Change, Param, Provider, ResourceFailed, ResourceType, format_ref

KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
)
BEGIN = "# BEGIN confrt managed keys (edits inside this block are overwritten)"
END = "# END confrt managed keys"


def key_blob_type(key):
    """The type name inside a base64 public key blob; ValueError when it is not one."""
    try:
        blob = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key: not valid base64") from None
    if len(blob) < 4:
        raise ValueError("key: too short to be a public key")
    (length,) = struct.unpack(">I", blob[:4])
    if length > 64 or len(blob) < 4 + length:
        raise ValueError("key: not an SSH public key blob")
    return blob[4:4 + length].decode("ascii", errors="replace")


def _options(value):
    for option in value:
        if not isinstance(option, str) or not option or "\n" in option or " " in option.split('"')[0]:
            raise ValueError(f"expected options like 'no-pty' or 'from=\"10.0.0.0/8\"', got {option!r}")
    return value


def key_line(resource):
    options = ",".join(resource.get("options") or [])
    return " ".join(filter(None, [options, resource["type"], resource["key"], resource["name"]]))


def line_comment(line):
    """The comment of an authorized_keys line (what names a key), or None."""
    tokens = line.split()
    for index, token in enumerate(tokens):
        if token in KEY_TYPES:
            return " ".join(tokens[index + 2:]) or None
    return None


def edit_keys(text, resource, keep=None):
    """The file's new text; keep(comment) tells whether another block key is still declared for this
    file (None: keep them all)."""
    lines = split_lines(text)
    if BEGIN in lines and END in lines[lines.index(BEGIN):]:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
        before, block, after = lines[:start], lines[start + 1:end], lines[end + 1:]
    else:
        before, block, after = lines, [], []
    name, wanted = resource["name"], key_line(resource)
    new_block, placed = [], False
    for line in block:
        comment = line_comment(line)
        if comment == name:
            if resource["ensure"] == "present" and not placed:
                new_block.append(wanted)
                placed = True
        elif keep is None or keep(comment):
            new_block.append(line)
    if resource["ensure"] == "present" and not placed:
        new_block.append(wanted)
    if resource["exclusive"]:
        before, after = [], []
    middle = [BEGIN] + new_block + [END] if new_block else []
    return join_lines(before + middle + after)


class AuthorizedKeysProvider(Provider):
    name = "authorized_keys"

    def account(self):
        """(home, uid, gid) of the user; uid and gid are None while the catalog has yet to create it."""
        import pwd

        name = self.resource["user"]
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            user = declared(self.ctx, "user", name)
            if user is None:
                raise ResourceFailed(f"user: no user named {name!r}") from None
            return user.get("home") or f"/home/{name}", None, None
        return entry.pw_dir, entry.pw_uid, entry.pw_gid

    def paths(self, home):
        target = self.resource.get("target")
        if target:
            return os.path.dirname(target), target
        ssh_dir = os.path.join(home, ".ssh")
        return ssh_dir, os.path.join(ssh_dir, "authorized_keys")

    def keep(self, comment):
        """Whether the catalog declares the key named `comment` present in this resource's file."""
        catalog = self.ctx.catalog
        if catalog is None:
            return True
        other = catalog.get(format_ref(self.resource.type, comment)) if comment is not None else None
        return other is not None and other["ensure"] == "present" and \
            (other["user"], other.get("target")) == (self.resource["user"], self.resource.get("target"))

    def plan(self):
        """(changes, new text, (ssh dir, file), (uid, gid), lstat of the file or None)."""
        home, uid, gid = self.account()
        ssh_dir, path = self.paths(home)
        planned = getattr(self.ctx, "planned_files", None)
        if self.ctx.noop and planned and path in planned:
            old, (folder_info, info) = planned[path], self.read_keys(path, uid, gid)[1:]
        else:
            old, folder_info, info = self.read_keys(path, uid, gid)
        if old is None and self.resource["ensure"] == "absent":
            return [], None, (ssh_dir, path), (uid, gid), info
        new = edit_keys(old, self.resource, self.keep)
        changes = [] if new == old else [content_change(path, old, new, shared=True)]
        if changes:
            plan_text(self.ctx, path, new)
        if uid is not None:
            if not self.resource.get("target"):
                changes += _metadata_changes(self.ctx, ssh_dir, 0o700, uid, gid, folder_info)
            if old is not None:
                changes += _metadata_changes(self.ctx, path, 0o600, uid, gid, info)
        return changes, new, (ssh_dir, path), (uid, gid), info

    def read_keys(self, path, uid, gid):
        """(text, fstat of its folder, lstat of the file), None for what is not there.

        The way there follows no link that someone besides root can write next to (a user's
        link to a root file is refused, whatever it points at), and in a folder someone besides
        root can write, the text is read only from a file the user could read: it goes into the
        user's own file."""
        from confrt.util.nofollow import LinkRefused, locate, open_parent

        try:
            folder, name = open_parent(path)
            with folder:
                folder_info = folder.info
                _posix.warn_if_open(self.ctx, folder, uid)
            found, name, info = locate(path)
        except (FileNotFoundError, NotADirectoryError):
            return None, None, None
        except OSError as exc:
            raise ResourceFailed(exc.strerror if isinstance(exc, LinkRefused) else
                                 f"cannot read {path}: {exc.strerror}") from None
        with found:
            if info is None:
                return None, folder_info, None
            if found.writers() and not _may_read(info, self.resource["user"], uid, gid):
                user = self.resource["user"]
                raise ResourceFailed(f"cannot read {path}: it is {_owner(info)}'s (mode {info.st_mode & 0o7777:04o}) "
                                     f"and {user} could not read it; its text would go into {user}'s own file "
                                     f"(give it to {user}, or remove it)")
            try:
                return found.read(name, expect=info).decode("utf-8"), folder_info, info
            except OSError as exc:
                raise ResourceFailed(f"cannot read {path}: {exc.strerror}") from None
            except UnicodeDecodeError as exc:
                raise ResourceFailed(f"cannot read {path}: {exc}") from None

    def changes(self):
        return self.plan()[0]

    def apply(self, changes):
        changes, new, (ssh_dir, path), (uid, gid), info = self.plan()
        if uid is None:
            raise ResourceFailed(f"user {self.resource['user']!r} does not exist")
        try:
            with self.keys_folder(ssh_dir, uid, gid) as folder:
                self.write(folder, path, new, uid, gid, info, changes)
        except OSError as exc:
            raise ResourceFailed(f"cannot write {path}: {exc.strerror}") from None

    def keys_folder(self, ssh_dir, uid, gid):
        """The folder of the keys file, open: made (0700, the user's) when missing; ~/.ssh made
        0700 and the user's, on its descriptor."""
        from confrt.util.nofollow import fix_metadata, make_folders, open_folder

        try:
            folder = open_folder(ssh_dir)
        except FileNotFoundError:
            parent = os.path.dirname(ssh_dir)
            make_folders(parent)
            with open_folder(parent) as above:
                folder = above.mkdir(os.path.basename(ssh_dir), 0o700, uid, gid)
                above.sync()
            return folder
        if not self.resource.get("target"):
            try:
                owner = (uid, gid) if (folder.info.st_uid, folder.info.st_gid) != (uid, gid) else (-1, -1)
                fix_metadata(folder.fd, 0o700 if folder.info.st_mode & 0o7777 != 0o700 else None, *owner)
            except BaseException:
                folder.close()
                raise
        return folder

    def write(self, folder, path, new, uid, gid, info, changes):
        """A new file (0600, the user's) for new text or another owner: never a chown of a file the
        user may not own (it may be another's link); a mode alone is fixed on the file's descriptor."""
        from confrt.util.atomic import write_into
        from confrt.util.nofollow import locate

        if new is None:
            return
        if any(change.property == "content" for change in changes) or \
                (info is not None and (info.st_uid, info.st_gid) != (uid, gid)):
            write_into(folder, os.path.basename(path), new.encode("utf-8"), mode=0o600, uid=uid, gid=gid)
        elif info is not None and info.st_mode & 0o7777 != 0o600:
            found, name, _ = locate(path)
            with found:
                found.set_metadata(name, 0o600, expect=info)


def _may_read(info, user, uid, gid):
    """Whether the user could read the file of lstat `info` (its owner could chmod it)."""
    if uid is not None and info.st_uid == uid:
        return True
    groups = os.getgrouplist(user, gid) if uid is not None else []
    return bool(info.st_mode & (0o040 if info.st_gid in groups else 0o004))


def _owner(info):
    import pwd

    try:
        return pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        return f"uid {info.st_uid}"


def _metadata_changes(ctx, path, mode, uid, gid, info):
    """Mode and owner changes sshd's StrictModes wants for path, whose stat is `info` (None: not
    there) (reported once per noop)."""
    if info is None or (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (mode, uid, gid) or \
            not first_plan(ctx, ("metadata", path)):
        return []
    changes = []
    if info.st_mode & 0o7777 != mode:
        changes.append(Change("mode", f"{info.st_mode & 0o7777:04o}", f"{mode:04o}",
                              message=f"mode of {path} changed to {mode:04o}"))
    if (info.st_uid, info.st_gid) != (uid, gid):
        changes.append(Change("owner", f"{info.st_uid}:{info.st_gid}", f"{uid}:{gid}",
                              message=f"owner of {path} changed to {uid}:{gid}"))
    return changes


class SshAuthorizedKeyType(ResourceType):
    name = "ssh_authorized_key"
    params = [
        Param("name", str, check=single_line, doc="the key's comment, which identifies it (the title)"),
        Param("user", str, required=True, doc="whose key it is"),
        Param("type", str, "ssh-ed25519", choices=KEY_TYPES, doc="key type"),
        Param("key", str, None, doc="the base64 public key (without type and comment)"),
        Param("options", list, [], check=_options, doc="options like no-pty, from=\"10.0.0.0/8\""),
        ensure_param(),
        Param("target", str, None, check=absolute_path, doc="another file (default ~user/.ssh/authorized_keys)"),
        Param("exclusive", bool, False,
              doc="the file holds only keys the catalog declares: hand-added lines are removed"),
    ]
    providers = [AuthorizedKeysProvider]

    @classmethod
    def validate(cls, attrs):
        key = attrs.get("key")
        if attrs.get("ensure") == "present" and not key:
            raise ValueError("key: required unless ensure is absent")
        if key:
            if " " in key.strip():
                raise ValueError("key: give only the base64 part (type and comment are separate attributes)")
            embedded = key_blob_type(key)
            if embedded != attrs["type"]:
                raise ValueError(f"key: the key is of type {embedded!r}, not {attrs['type']!r}")

    @classmethod
    def autorequires(cls, resource):
        return [format_ref("user", resource["user"])]


TYPE = SshAuthorizedKeyType
