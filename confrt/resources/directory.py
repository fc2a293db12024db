"""directory: a directory's presence and metadata (its contents are other resources)."""
import os

from confrt.engine.params import Param
from confrt.resources import _posix
from confrt.resources.base import Change, Provider, ResourceFailed, ResourceType


class PosixDirectoryProvider(Provider):
    name = "posix"

    def changes(self):
        resource, path = self.resource, self.resource["path"]
        with _posix.examined(resource, self.ctx) as (_, _, stat):
            self.stat = stat
        is_dir = stat is not None and (stat.st_mode & 0o170000) == 0o040000
        if stat is not None and not is_dir:
            raise ResourceFailed(f"{path} exists and is not a directory")
        if resource["ensure"] == "absent":
            return [Change("ensure", "directory", "absent", "removed")] if stat else []
        if stat is None:
            _posix.check_creatable(resource, self.ctx)
            return [Change("ensure", "absent", "directory", "created")]
        return _posix.metadata_changes(resource, stat, self.ctx)

    def apply(self, changes):
        resource, path = self.resource, self.resource["path"]
        folder, name = _posix.open_parent(path)
        if folder is None:
            raise ResourceFailed(f"cannot create {path}: {os.path.dirname(path)} does not exist")
        with folder:
            if resource["ensure"] == "absent":
                self.remove(folder, name)
            elif changes[0].property == "ensure":
                self.make(folder, name)
            else:
                _posix.apply_metadata(folder, name, resource, self.ctx, changes, self.stat, directory=True)

    def make(self, folder, name):
        """mkdir, owner and mode set on the new directory's descriptor (never by path: a user who
        can write the parent could have swapped a link in by then)."""
        resource, path = self.resource, self.resource["path"]
        mode = int(resource["mode"], 8) if resource.get("mode") else 0o755
        uid, gid = _posix.wanted_ids(resource, self.ctx)
        try:
            folder.mkdir(name, mode, uid, gid).close()
        except OSError as exc:
            raise ResourceFailed(f"cannot create {path}: {exc.strerror}") from None
        folder.sync()

    def remove(self, folder, name):
        path = self.resource["path"]
        try:
            if self.resource["force"]:
                folder.remove_tree(name)
            else:
                folder.rmdir(name)
        except OSError as exc:
            hint = "" if self.resource["force"] else " (force: true removes its contents)"
            raise ResourceFailed(f"cannot remove {path}: {exc.strerror}{hint}") from None
        folder.sync()


class DirectoryType(ResourceType):
    name = "directory"
    namevar = "path"
    params = [
        *_posix.path_params("directory"),
        *_posix.ownership_params(),
        Param("force", bool, False, "with ensure absent: remove it even when it is not empty"),
    ]
    providers = [PosixDirectoryProvider]

    @classmethod
    def autorequires(cls, resource):
        return _posix.path_autorequires(resource)

    @classmethod
    def creates(cls, resource):
        return [resource["path"]] if resource["ensure"] == "present" else []


TYPE = DirectoryType
