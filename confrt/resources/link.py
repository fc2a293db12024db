"""link: a symbolic link pointing at `target`."""
import os

from confrt.engine.params import Param
from confrt.resources import _posix
from confrt.resources.base import Change, Provider, ResourceFailed, ResourceType
from confrt.util.atomic import sweep_folder, temp_name


class PosixLinkProvider(Provider):
    name = "posix"

    def changes(self):
        resource, path = self.resource, self.resource["path"]
        with _posix.examined(resource, self.ctx, uid=0) as (folder, name, stat):
            is_link = stat is not None and (stat.st_mode & 0o170000) == 0o120000
            current = folder.readlink(name) if is_link else None
        if resource["ensure"] == "absent":
            if stat is not None and not is_link:
                raise ResourceFailed(f"{path} is not a link; not removing it")
            return [Change("ensure", "link", "absent", "removed")] if stat else []
        if stat is None:
            _posix.check_creatable(resource, self.ctx)
            return [Change("ensure", "absent", "link", f"created pointing to '{resource['target']}'")]
        if not is_link:
            kind = "directory" if (stat.st_mode & 0o170000) == 0o040000 else "file"
            if not resource["force"] or kind == "directory":
                raise ResourceFailed(f"{path} is a {kind}, not a link (force: true replaces a file)")
            return [Change("ensure", kind, "link", f"replaced {kind} by a link to '{resource['target']}'")]
        if current != resource["target"]:
            return [Change("target", current, resource["target"])]
        return []

    def apply(self, changes):
        resource, path = self.resource, self.resource["path"]
        folder, name = _posix.open_parent(path)
        if folder is None:
            raise ResourceFailed(f"cannot create link {path}: {os.path.dirname(path)} does not exist")
        with folder:
            if resource["ensure"] == "absent":
                folder.unlink(name)
                folder.sync()
                return
            # a new link under a temp name renamed over the old path: never a moment without one
            sweep_folder(folder)
            temp = temp_name()
            try:
                os.symlink(resource["target"], temp, dir_fd=folder.fd)
                os.rename(temp, name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
                folder.sync()
            except OSError as exc:
                try:
                    folder.unlink(temp)
                except OSError:
                    pass
                raise ResourceFailed(f"cannot create link {path}: {exc.strerror}") from None


class LinkType(ResourceType):
    name = "link"
    namevar = "path"
    params = [
        *_posix.path_params("link"),
        Param("target", str, None, "what the link points to (required unless absent)"),
        Param("force", bool, False, "replace a regular file standing at path"),
    ]
    providers = [PosixLinkProvider]

    @classmethod
    def validate(cls, attrs):
        if attrs["ensure"] == "present" and not attrs.get("target"):
            raise ValueError("target: required with ensure present")

    @classmethod
    def autorequires(cls, resource):
        return _posix.path_autorequires(resource)


TYPE = LinkType
