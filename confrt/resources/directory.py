"""directory: a directory's presence and metadata (its contents are other resources)."""
import os

from confrt.engine.params import Param
from confrt.resources import _posix
from confrt.resources.base import Change, Provider, ResourceFailed, ResourceType
from confrt.util.atomic import fsync_dir


class PosixDirectoryProvider(Provider):
    name = "posix"

    def changes(self):
        resource, path = self.resource, self.resource["path"]
        stat = _posix.lstat(path, self.ctx)
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
        if resource["ensure"] == "absent":
            self.remove(path)
            return
        if changes[0].property == "ensure":
            mode = int(resource["mode"], 8) if resource.get("mode") else 0o755
            try:
                os.mkdir(path, mode)
            except OSError as exc:
                raise ResourceFailed(f"cannot create {path}: {exc.strerror}") from None
            os.chmod(path, mode)  # mkdir's mode passes through the umask
            uid, gid = _posix.wanted_ids(resource, self.ctx)
            if (uid, gid) != (-1, -1):
                os.lchown(path, uid, gid)
            fsync_dir(os.path.dirname(path))
            return
        _posix.apply_metadata(path, resource, self.ctx, changes)

    def remove(self, path):
        if self.resource["force"]:
            import shutil

            shutil.rmtree(path)
            return
        try:
            os.rmdir(path)
        except OSError as exc:
            raise ResourceFailed(f"cannot remove {path}: {exc.strerror} (force: true removes its contents)") \
                from None


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
