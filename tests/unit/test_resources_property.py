"""Properties over random catalogs of files, directories and links.

Idempotence: a second apply reports no change and touches nothing (mtimes, inodes).
Noop is exact: a noop run leaves the tree identical, and lists exactly the changes
the real run then makes.
"""
import contextlib
import os
import tempfile

from engine_support import apply_catalog, catalog_of, change_lines, res
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DIRS = ["d1", "d1/e", "d2"]
FILES = ["top", "d1/f", "d1/e/g", "d2/h"]
LINKS = ["ln", "d1/l"]

modes = st.sampled_from([None, "0644", "0600", "0640"])
contents = st.text(alphabet="ab\n\u00e9", max_size=12)
file_decl = st.one_of(st.none(), st.just("absent"), st.fixed_dictionaries({"content": contents, "mode": modes}))
link_decl = st.one_of(st.none(), st.sampled_from(["/x", "top", "d1/f", "../d2"]))
dir_modes = st.sampled_from(["0755", "0700", "0750"])

catalogs = st.fixed_dictionaries({
    "files": st.fixed_dictionaries({name: file_decl for name in FILES}),
    "links": st.fixed_dictionaries({name: link_decl for name in LINKS}),
    "dirs": st.fixed_dictionaries({name: dir_modes for name in DIRS}),
})
# what is already on disk before the run
pre_states = st.fixed_dictionaries({
    "files": st.fixed_dictionaries({name: st.one_of(st.none(), st.tuples(contents, dir_modes)) for name in FILES}),
    "links": st.fixed_dictionaries({name: st.one_of(st.none(), st.sampled_from(["/x", "/y"])) for name in LINKS}),
    "dirs": st.fixed_dictionaries({name: st.one_of(st.none(), dir_modes) for name in DIRS}),
})


def build(root, spec):
    resources = []
    for name, mode in spec["dirs"].items():
        resources.append(res("directory", os.path.join(root, name), mode=mode))
    for name, decl in spec["files"].items():
        path = os.path.join(root, name)
        if decl == "absent":
            resources.append(res("file", path, ensure="absent"))
        elif decl is not None:
            attrs = {k: v for k, v in decl.items() if v is not None}
            resources.append(res("file", path, **attrs))
    for name, target in spec["links"].items():
        if target is not None:
            resources.append(res("link", os.path.join(root, name), target=target))
    return catalog_of(*resources)


def prepare(root, pre):
    """Put the pre-state on disk; entries whose directory is not there are left out."""
    def parent_exists(name):
        return os.path.isdir(os.path.dirname(os.path.join(root, name)))

    for name in DIRS:
        mode = pre["dirs"][name]
        if mode is not None and parent_exists(name):
            os.mkdir(os.path.join(root, name), int(mode, 8))
            os.chmod(os.path.join(root, name), int(mode, 8))
    for name, state in pre["files"].items():
        if state is not None and parent_exists(name):
            path = os.path.join(root, name)
            with open(path, "w") as handle:
                handle.write(state[0])
            os.chmod(path, int(state[1], 8))
    for name, target in pre["links"].items():
        if target is not None and parent_exists(name):
            os.symlink(target, os.path.join(root, name))


def snapshot(root, with_times=False):
    tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            st_ = os.lstat(path)
            if os.path.islink(path):
                value = ("link", os.readlink(path))
            elif os.path.isdir(path):
                value = ("dir", st_.st_mode & 0o7777)
            else:
                with open(path, "rb") as handle:
                    value = ("file", st_.st_mode & 0o7777, handle.read())
            if with_times:
                value += (st_.st_mtime_ns, st_.st_ino)
            tree[os.path.relpath(path, root)] = value
    return tree


@contextlib.contextmanager
def scratch_tree(pre):
    """(root, statedir) in a fresh temp dir, root holding the pre-state."""
    with tempfile.TemporaryDirectory() as scratch:
        root = os.path.join(scratch, "root")
        os.mkdir(root)
        prepare(root, pre)
        yield root, os.path.join(scratch, "state")


common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(spec=catalogs, pre=pre_states)
def test_second_apply_changes_and_writes_nothing(spec, pre):
    with scratch_tree(pre) as (root, state):
        first = apply_catalog(build(root, spec), state)
        assert first.summary()["resources"]["failed"] == 0, first.err.getvalue()
        before = snapshot(root, with_times=True)
        second = apply_catalog(build(root, spec), state)
        assert second.summary()["resources"]["out_of_sync"] == 0, second.out.getvalue()
        assert second.out.getvalue() == "" and second.err.getvalue() == ""
        assert snapshot(root, with_times=True) == before


@common
@given(spec=catalogs, pre=pre_states)
def test_noop_changes_nothing_and_lists_exactly_the_real_changes(spec, pre):
    with scratch_tree(pre) as (root, state):
        before = snapshot(root, with_times=True)
        noop = apply_catalog(build(root, spec), state, noop=True)
        assert snapshot(root, with_times=True) == before
        assert not os.path.exists(os.path.join(state, "backup"))
        real = apply_catalog(build(root, spec), state)
        assert change_lines(noop) == change_lines(real)
        assert noop.summary()["resources"]["out_of_sync"] == real.summary()["resources"]["changed"]
