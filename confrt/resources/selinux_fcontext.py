"""selinux_fcontext: an SELinux file context rule for a path (and what is below it), and its labels.

The rule is a local customisation of the policy (`semanage fcontext -a -t TYPE 'PATH(/.*)?'`, kept
across relabels and policy updates, what `semanage fcontext -l -C` lists); the labels of what is
there are then restored from the policy (`restorecon -R PATH`). The CVMFS client needs its cache
labelled `cvmfs_cache_t`, squid its cache_dir `squid_cache_t`: the packages label only their default
paths, a cache on the ephemeral disk is the site's to label.

Read-only checks: `semanage fcontext -l -C` (the rule) and `restorecon -n -v -R PATH` (labels that
differ). A path not there yet is left to the rule: a noop that plans to make it counts it relabelled,
as the real run then finds it labelled after its parent.
"""
import os
import re

from confrt.resources._posix import absolute_path
from confrt.resources._system import matching, run_checked
from confrt.resources.base import Change, Param, Provider, ResourceFailed, ResourceType

SELINUX_TYPE = re.compile(r"^[a-z][a-z0-9_]*_t$")
REGEX_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


def file_spec(path, recurse):
    """The rule's file specification: the path itself, or it and everything below (`PATH(/.*)?`)."""
    escaped = REGEX_SPECIAL.sub(r"\\\1", path.rstrip("/") or "/")
    return f"{escaped}(/.*)?" if recurse else escaped


def local_rules(text):
    """{file spec: SELinux type} of `semanage fcontext -l -C -n` output (local customisations)."""
    rules = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[-1].count(":") >= 2:
            rules[fields[0]] = fields[-1].split(":")[2]
    return rules


class SemanageProvider(Provider):
    """policycoreutils: semanage (policycoreutils-python-utils on EL) and restorecon."""

    name = "semanage"

    def _state(self):
        path = self.resource["path"]
        spec = file_spec(path, self.resource["recurse"])
        listed = run_checked(self.ctx, ["semanage", "fcontext", "-l", "-C", "-n"])
        current = local_rules(listed.stdout).get(spec)
        return spec, current, os.path.lexists(path)

    def changes(self):
        path, wanted = self.resource["path"], self.resource["seltype"]
        spec, current, exists = self._state()
        if current != wanted:
            return [Change("seltype", current, wanted,
                           message=f"file context {spec} {current or 'none'} -> {wanted}; {path} relabelled")]
        if not exists:
            if self.ctx.will_exist(path):  # made by this run: labelled after its parent until restored
                return [Change("labels", None, None, message=f"{path} relabelled to {wanted}")]
            return []
        check = run_checked(self.ctx, ["restorecon", "-n", "-v", "-R", path])
        if not check.stdout.strip():
            return []
        return [Change("labels", None, None, message=f"{path} relabelled to {wanted}")]

    def apply(self, changes):
        path, wanted = self.resource["path"], self.resource["seltype"]
        spec, current, exists = self._state()
        if current != wanted:
            run_checked(self.ctx, ["semanage", "fcontext", "-m" if current else "-a", "-t", wanted, spec])
        if not exists:
            raise ResourceFailed(f"{path} does not exist: nothing to label")
        run_checked(self.ctx, ["restorecon", "-R", path])


class SelinuxFcontextType(ResourceType):
    name = "selinux_fcontext"
    namevar = "path"
    params = [
        Param("path", str, required=True, check=absolute_path, doc="the path to label"),
        Param("seltype", str, required=True, check=matching(SELINUX_TYPE, "an SELinux type like cvmfs_cache_t"),
              doc="the SELinux type of the path (and of what is below it)"),
        Param("recurse", bool, True, doc="the rule covers everything below the path too: PATH(/.*)?"),
    ]
    providers = [SemanageProvider]

    @classmethod
    def autorequires(cls, resource):
        from confrt.resources.base import Creates

        return [Creates(resource["path"])]


TYPE = SelinuxFcontextType
