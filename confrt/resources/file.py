"""file: a regular file's presence, content and metadata.

Content comes from `content`, `source` (a file: absolute, or '<module>/<name>'
in that module's files/) or `template` (rendered at compile time with `facts`
and `template_vars`). A replacement is atomic and durable; the replaced content
is kept in statedir/backup/<sha256>, unless it is sensitive. Unchanged content is never rewritten (the
bytes are compared).
"""
import os

from confrt.engine.params import Param
from confrt.resources import _posix
from confrt.resources.base import REDACTED, Change, Provider, ResourceFailed, ResourceType


def _kept(resource):
    """Whether replaced content goes to statedir/backup: not when it is sensitive (it held the
    secret that replaces it, or an older one: a secret is kept only where the data sends it)."""
    return resource["backup"] and "content" not in resource.sensitive


def checksum(data):
    import hashlib  # only when content changes: its OpenSSL start-up costs ~5 ms

    return "{sha256}" + hashlib.sha256(data).hexdigest()


def unified_diff(old, new, path):
    """A unified diff of two byte strings, or None when either is not text."""
    import difflib

    try:
        old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                 fromfile=path, tofile=path + " (new)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


class PosixFileProvider(Provider):
    name = "posix"

    def desired_content(self):
        resource = self.resource
        if resource.get("content") is not None:
            return resource["content"].encode("utf-8")
        if resource.get("source") is not None:
            try:
                return self.ctx.read_file(resource["source"])
            except OSError as exc:
                raise ResourceFailed(f"source {resource['source']}: {exc.strerror}") from None
        return None

    def content_change(self, old, new):
        path = self.resource["path"]
        sensitive = "content" in self.resource.sensitive
        if old is None:
            verb, shown = "defined content as", checksum(new)
        else:
            verb, shown = "content changed", f"{checksum(old)} to {checksum(new)}"
        if sensitive:
            message = f"{verb} {REDACTED} {shown}"
            return Change("content", None, None, message, sensitive=True)
        diff = None
        if self.resource.get("show_diff"):
            diff = unified_diff(old or b"", new, path)
        return Change("content", None if old is None else checksum(old), checksum(new), f"{verb} {shown}",
                      diff=diff)

    def changes(self):
        with _posix.examined(self.resource, self.ctx) as (folder, name, stat):
            return self.examine(folder, name, stat)

    def examine(self, folder, name, stat):
        resource, path = self.resource, self.resource["path"]
        self.stat = stat
        is_file = stat is not None and (stat.st_mode & 0o170000) == 0o100000
        if stat is not None and (stat.st_mode & 0o170000) == 0o040000:
            raise ResourceFailed(f"{path} is a directory (manage it with the directory type)")
        if resource["ensure"] == "absent":
            return [Change("ensure", "file" if is_file else "link", "absent", "removed")] if stat else []
        self.content = self.desired_content()
        if stat is None:
            _posix.check_creatable(resource, self.ctx)
        if not is_file:
            new = self.content if self.content is not None else b""
            created = self.content_change(None, new)
            before = "absent" if stat is None else "link"
            return [Change("ensure", before, "file", created.message, diff=created.diff,
                           sensitive=created.sensitive)]
        changes = []
        if self.content is not None:
            current = _read(folder, name, path, stat)
            if current != self.content:
                changes.append(self.content_change(current, self.content))
        changes += _posix.metadata_changes(resource, stat, self.ctx)
        _posix.check_links(folder, path, stat, changes)
        return changes

    def apply(self, changes):
        path = self.resource["path"]
        folder, name = _posix.open_parent(path)
        if folder is None:
            raise ResourceFailed(f"cannot write {path}: {os.path.dirname(path)} does not exist")
        with folder:
            self.change(folder, name, changes)

    def change(self, folder, name, changes):
        resource, path = self.resource, self.resource["path"]
        properties = {change.property for change in changes}
        if resource["ensure"] == "absent":
            if (self.stat.st_mode & 0o170000) == 0o100000 and _kept(resource):
                self.ctx.backup(_read(folder, name, path, self.stat))
            folder.unlink(name)
            folder.sync()
            return
        if "ensure" in properties or "content" in properties:
            self.write(folder, name, self.content if self.content is not None else b"")
            return
        _posix.apply_metadata(folder, name, resource, self.ctx, changes, self.stat)

    def write(self, folder, name, data):
        from confrt.util.atomic import write_into

        resource, path, stat = self.resource, self.resource["path"], self.stat
        is_file = stat is not None and (stat.st_mode & 0o170000) == 0o100000
        uid, gid = _posix.wanted_ids(resource, self.ctx, stat if is_file else None)
        if resource.get("mode") is not None:
            mode = int(resource["mode"], 8)
        else:
            mode = (stat.st_mode & 0o7777) if is_file else 0o644
        if resource.get("validate_cmd"):
            self.validate(folder, data)
        if is_file and _kept(resource):
            self.ctx.backup(_read(folder, name, path, stat))
        try:
            write_into(folder, name, data, mode=mode, uid=uid, gid=gid)
        except OSError as exc:
            raise ResourceFailed(f"cannot write {path}: {exc.strerror}") from None

    def validate(self, folder, data):
        """Run validate_cmd on the new content in a temp file beside the target (in a folder
        someone besides root can write, in a private temp folder instead)."""
        import tempfile

        from confrt.util.atomic import TEMP_PREFIX

        private = tempfile.mkdtemp(prefix=TEMP_PREFIX + "validate-") if folder.writers() else None
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX + "validate-", dir=private or folder.path)
        try:
            os.write(fd, data)
            os.close(fd)
            argv = [temp if arg == "%s" else arg.replace("%s", temp) for arg in self.resource["validate_cmd"]]
            result = self.ctx.run(argv)
            if not result.ok:
                detail = result.describe().replace(temp, "<new content>")
                if "content" in self.resource.sensitive:
                    detail = f"{argv[0]} exited {result.returncode}"
                raise ResourceFailed(f"validate_cmd rejected the new content: {detail}")
        finally:
            os.unlink(temp)
            if private:
                os.rmdir(private)


def _read(folder, name, path, stat):
    """The bytes of the file `name` in `folder` while it is the one lstat'ed as `stat`."""
    try:
        return folder.read(name, expect=stat)
    except OSError as exc:
        raise ResourceFailed(f"cannot read {path}: {exc.strerror}") from None


def _check_validate_cmd(value):
    if not value or not all(isinstance(arg, str) for arg in value) or not any("%s" in a for a in value):
        raise ValueError(f"expected an argv list with '%s' for the file to check, got {value!r}")
    return value


class FileType(ResourceType):
    name = "file"
    namevar = "path"
    params = [
        *_posix.path_params("file"),
        Param("content", str, None, "the whole content, as text"),
        Param("source", str, None, "copy content from a file: absolute path or '<module>/<name>'"),
        Param("template", str, None, "Jinja2 template: absolute path or '<module>/<name>'"),
        Param("template_vars", dict, {}, "variables for `template` (besides `facts`)"),
        *_posix.ownership_params(),
        Param("validate_cmd", list, None, "argv run on the new content before it replaces the old; "
                                          "'%s' is the temp file", check=_check_validate_cmd),
        Param("backup", bool, True, "keep replaced content in statedir/backup/<sha256> (never sensitive content)"),
        Param("show_diff", bool, True, "show a diff of content changes (never for sensitive content)"),
    ]
    providers = [PosixFileProvider]

    @classmethod
    def validate(cls, attrs):
        given = [name for name in ("content", "source", "template") if attrs.get(name) is not None]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: give only one of content, source and template")
        if attrs["ensure"] == "absent" and given:
            raise ValueError(f"{given[0]}: not allowed with ensure absent")

    @classmethod
    def prepare(cls, resource, env):
        if resource.get("source") is not None:
            source = env.module_file(resource["source"])
            if not env.is_file(source):
                raise ValueError(f"source: {source}: no such file")
            resource.attrs["source"] = source
        if resource.get("template") is not None:
            resource.attrs["content"] = env.render(resource["template"], resource["template_vars"])
            if "template_vars" in resource.sensitive:
                resource.sensitive.add("content")

    @classmethod
    def autorequires(cls, resource):
        return _posix.path_autorequires(resource)


TYPE = FileType
