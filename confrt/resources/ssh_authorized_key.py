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

from confrt.resources._posix import absolute_path, declared
from confrt.resources._system import (
    content_change, ensure_param, first_plan, join_lines, plan_text, read_planned, single_line, split_lines,
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
        """(changes, new text, (ssh dir, file), (uid, gid))."""
        home, uid, gid = self.account()
        ssh_dir, path = self.paths(home)
        old = read_planned(self.ctx, path)
        if old is None and self.resource["ensure"] == "absent":
            return [], None, (ssh_dir, path), (uid, gid)
        new = edit_keys(old, self.resource, self.keep)
        changes = [] if new == old else [content_change(path, old, new)]
        if changes:
            plan_text(self.ctx, path, new)
        if uid is not None:
            if not self.resource.get("target"):
                changes += _metadata_changes(self.ctx, ssh_dir, 0o700, uid, gid)
            if old is not None:
                changes += _metadata_changes(self.ctx, path, 0o600, uid, gid)
        return changes, new, (ssh_dir, path), (uid, gid)

    def changes(self):
        return self.plan()[0]

    def apply(self, changes):
        from confrt.util.atomic import atomic_write

        changes, new, (ssh_dir, path), (uid, gid) = self.plan()
        if uid is None:
            raise ResourceFailed(f"user {self.resource['user']!r} does not exist")
        if not os.path.isdir(ssh_dir):
            os.makedirs(ssh_dir, mode=0o700)
            os.chown(ssh_dir, uid, gid)
        elif not self.resource.get("target"):
            _fix_metadata(ssh_dir, 0o700, uid, gid)
        if any(change.property == "content" for change in changes):
            atomic_write(path, new.encode("utf-8"), mode=0o600, uid=uid, gid=gid)
        else:
            _fix_metadata(path, 0o600, uid, gid)


def _metadata_changes(ctx, path, mode, uid, gid):
    """Mode and owner changes sshd's StrictModes wants for path (reported once per noop)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return []
    if (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (mode, uid, gid) or \
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


def _fix_metadata(path, mode, uid, gid):
    info = os.stat(path)
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if info.st_mode & 0o7777 != mode:
        os.chmod(path, mode)


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
