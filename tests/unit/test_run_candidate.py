"""`confrt run` compiles new userdata in memory (a Candidate) and writes it only once the compile has
succeeded: userdata that does not compile writes nothing and restores nothing, and noop and real
runs compile the same candidate."""
import ctypes
import io
import os
import struct

import pytest
import yaml
from run_site import make_run_site, read, summary, write_yaml

from confrt.config import load_config

#: the inotify events of a change: modify, attrib, close_write, moved_from/to, create, delete, *_self
CHANGES = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800


class Watch:
    """The changes made in some directories, as the kernel saw them (inotify): nothing escapes it,
    not even a temporary file created and removed again."""

    def __init__(self, *directories):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        self.names = {}
        for directory in directories:
            wd = self.libc.inotify_add_watch(self.fd, str(directory).encode(), CHANGES)
            assert wd >= 0, os.strerror(ctypes.get_errno())
            self.names[wd] = str(directory)

    def changes(self):
        """[(directory, name)] of every change since the last call."""
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                wd, _, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16:offset + 16 + length].rstrip(b"\0").decode()
                found.append((self.names[wd], name))
                offset += 16 + length

    def close(self):
        os.close(self.fd)


@pytest.fixture
def site(tmp_path):
    """A site whose local_data lives in a folder of its own and whose userdata (a file source) is
    cloud-config: data plus a write_files entry the data copies with a file resource."""
    env, paths = make_run_site(tmp_path / "site", sources=[f"file:{tmp_path}/user-data"])
    paths["local.yaml"] = str(tmp_path / "etc" / "local.yaml")
    os.makedirs(tmp_path / "etc")
    config = yaml.safe_load(read(paths["confrt.yaml"]))
    config["local_data"] = paths["local.yaml"]
    write_yaml(paths["confrt.yaml"], config)
    paths.update(root=str(tmp_path), userdata=str(tmp_path / "user-data"), files=str(tmp_path / "files"),
                 tmp=str(tmp_path / "tmp"))
    os.makedirs(paths["files"])
    os.makedirs(paths["tmp"])
    return env, paths


def cloud_config(paths, data, motd="hello\n"):
    """Userdata writing `motd` into files/motd.src, with `data` as local data."""
    text = "#cloud-config\n" + yaml.safe_dump({
        "write_files": [{"path": os.path.join(paths["files"], "motd.src"), "content": motd}],
        "confrt": data})
    with open(paths["userdata"], "w") as handle:
        handle.write(text)


def copies_motd(paths, *extra_classes):
    return {"classes": ["resources", *extra_classes],
            "resources::file": {os.path.join(paths["root"], "motd"): {
                "source": os.path.join(paths["files"], "motd.src")}}}


def test_userdata_that_does_not_compile_writes_nothing_and_restores_nothing(site, run_confrt):
    env, paths = site
    cloud_config(paths, copies_motd(paths))
    assert run_confrt("run", "--boot", env=dict(env, TMPDIR=paths["tmp"])).returncode == 2
    assert read(os.path.join(paths["root"], "motd")) == "hello\n"
    before = os.stat(paths["local.yaml"])
    good = read(paths["local.yaml"])
    cloud_config(paths, copies_motd(paths, "no_such_module"), motd="changed\n")
    watch = Watch(os.path.dirname(paths["local.yaml"]), paths["files"], paths["tmp"],
                  os.path.join(paths["state"], "userdata"))
    try:
        for noop in (["--noop"], []):
            result = run_confrt("run", "--boot", *noop, env=dict(env, TMPDIR=paths["tmp"]))
            assert result.returncode == 4, result.stdout + result.stderr
            assert "the new local_data does not compile" in result.stderr
            assert "unknown class 'no_such_module'" in result.stderr
            assert "wrote" not in result.stdout and "would write" not in result.stdout
            assert watch.changes() == []  # no temp settings file, no local_data written or put back
    finally:
        watch.close()
    after = os.stat(paths["local.yaml"])
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (before.st_ino, before.st_mtime_ns,
                                                                    before.st_ctime_ns)
    assert read(paths["local.yaml"]) == good and read(os.path.join(paths["files"], "motd.src")) == "hello\n"
    step = summary(paths)["steps"]["userdata"]
    assert step["status"] == "failed" and step["kept_local_data"] == paths["local.yaml"]
    assert summary(paths)["resources"]["total"] == 1  # the run applied the data in use


def _compiles(monkeypatch):
    """[(files, site_data, data_version or the error)] of each compile of the run, recorded."""
    from confrt.engine import run as engine_run
    from confrt.errors import ConfrtError

    compile_phases, seen = engine_run.compile_phases, []

    def recorded(config, report, *args, candidate=engine_run.IN_USE, **kwargs):
        try:
            result = compile_phases(config, report, *args, candidate=candidate, **kwargs)
        except ConfrtError as exc:
            seen.append((dict(candidate.files), candidate.site_data, str(exc)))
            raise
        seen.append((dict(candidate.files), candidate.site_data, report.data_version))
        return result

    monkeypatch.setattr(engine_run, "compile_phases", recorded)
    return seen


def _run(config, noop):
    from confrt.runner import run

    out, err = io.StringIO(), io.StringIO()
    code = run(config, boot=True, noop=noop, out=out, err=err, syslog_socket=None)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("compiles", [True, False])
def test_noop_and_real_runs_compile_the_same_candidate(site, monkeypatch, compiles):
    env, paths = site
    cloud_config(paths, copies_motd(paths, *([] if compiles else ["no_such_module"])))
    config = load_config(env["CONFRT_CONFIG"])
    seen = _compiles(monkeypatch)
    noop = _run(config, noop=True)
    noop_compiles = list(seen)
    del seen[:]
    real = _run(config, noop=False)
    assert noop_compiles == seen, (noop, real)
    candidate = seen[0][0]
    assert candidate[paths["local.yaml"]].startswith(b"# Written by `confrt userdata fetch`")
    assert candidate[os.path.join(paths["files"], "motd.src")] == b"hello\n"
    if compiles:
        assert len(seen) == 1 and noop[0] == real[0] == 2, (noop, real)
        planned = [line[:-len(" (noop)")] for line in noop[1].splitlines() if line.endswith("(noop)") and "]/" in line]
        assert planned == [line for line in real[1].splitlines() if "]/" in line]
        assert planned == [f"file[{paths['root']}/motd]/ensure: defined content as "
                           "{sha256}5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"]
        assert read(os.path.join(paths["root"], "motd")) == "hello\n"
    else:
        assert [files for files, _, _ in seen] == [candidate, {}] and noop[0] == real[0] == 4, (noop, real)
        assert not os.path.exists(paths["local.yaml"]) and not os.listdir(paths["files"])
