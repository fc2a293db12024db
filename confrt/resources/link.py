"""link: a symbolic link pointing at `target`."""
import os

from confrt.engine.params import Param
from confrt.resources import _posix
from confrt.resources.base import Change, Provider, ResourceFailed, ResourceType
from confrt.util.atomic import fsync_dir, sweep_stale_temps


class PosixLinkProvider(Provider):
    name = "posix"

    def changes(self):
        resource, path = self.resource, self.resource["path"]
        stat = _posix.lstat(path, self.ctx)
        is_link = stat is not None and (stat.st_mode & 0o170000) == 0o120000
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
        current = os.readlink(path)
        if current != resource["target"]:
            return [Change("target", current, resource["target"])]
        return []

    def apply(self, changes):
        resource, path = self.resource, self.resource["path"]
        if resource["ensure"] == "absent":
            os.unlink(path)
            return
        # a new link under a temp name renamed over the old path: never a moment without one
        sweep_stale_temps(os.path.dirname(path))
        temp = os.path.join(os.path.dirname(path), f".confrt-link-{os.getpid()}-{os.path.basename(path)}")
        try:
            os.symlink(resource["target"], temp)
            os.rename(temp, path)
            fsync_dir(os.path.dirname(path))
        except OSError as exc:
            if os.path.lexists(temp):
                os.unlink(temp)
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
