"""Applier: refresh, persisted refresh, failure isolation, tags, batches, exit codes."""
import json
import os

from engine_support import apply_catalog, catalog_of, change_lines, res

from confrt.engine.catalog import Catalog
from confrt.engine.params import Param
from confrt.engine.plugins import TypeRegistry
from confrt.resources.base import Change, Provider, ResourceType


def appender(path, text="x"):
    return ["/bin/sh", "-c", f"printf {text} >> {path}"]


def read(path):
    with open(path) as handle:
        return handle.read()


def test_refresh_only_when_the_source_changed(tmp_path):
    marker = tmp_path / "refreshed"

    def catalog(content):
        return catalog_of(res("file", str(tmp_path / "conf"), content=content, notify="exec[reload]"),
                          res("exec", "reload", command=appender(marker), refreshonly=True))

    first = apply_catalog(catalog("a"), tmp_path / "state")
    assert read(marker) == "x"
    assert "exec[reload]/refresh: triggered refresh from file[" in first.out.getvalue()
    apply_catalog(catalog("a"), tmp_path / "state")
    assert read(marker) == "x"
    apply_catalog(catalog("b"), tmp_path / "state")
    assert read(marker) == "xx"


def test_subscribe_refreshes_like_notify(tmp_path):
    marker = tmp_path / "refreshed"
    catalog = catalog_of(res("exec", "reload", command=appender(marker), refreshonly=True,
                             subscribe=f"file[{tmp_path}/conf]"),
                         res("file", str(tmp_path / "conf"), content="a"))
    assert [r.ref for r in catalog.order][0] == f"file[{tmp_path}/conf]"
    apply_catalog(catalog, tmp_path / "state")
    assert read(marker) == "x"


def test_failure_skips_only_dependents(tmp_path):
    catalog = catalog_of(
        res("exec", "broken", command=["/bin/sh", "-c", "echo disk full >&2; exit 3"]),
        res("file", str(tmp_path / "dependent"), content="x", require="exec[broken]"),
        res("file", str(tmp_path / "indirect"), content="x", require=f"file[{tmp_path}/dependent]"),
        res("file", str(tmp_path / "unrelated"), content="x"),
    )
    report = apply_catalog(catalog, tmp_path / "state")
    assert not (tmp_path / "dependent").exists() and not (tmp_path / "indirect").exists()
    assert read(tmp_path / "unrelated") == "x"
    errors = report.err.getvalue()
    assert "exec[broken]: failed: /bin/sh -c echo disk full >&2; exit 3 exited 3: disk full" in errors
    assert f"file[{tmp_path}/dependent]: skipped: dependency exec[broken] failed" in errors
    assert f"file[{tmp_path}/indirect]: skipped: dependency file[{tmp_path}/dependent] skipped" in errors
    summary = report.summary()["resources"]
    assert (summary["failed"], summary["skipped"], summary["changed"], summary["total"]) == (1, 2, 1, 4)
    assert report.exit_code(detailed=True) == 6
    assert report.exit_code(detailed=False) == 1


def test_undelivered_refresh_is_kept_and_delivered_next_run(tmp_path):
    marker, gate = tmp_path / "refreshed", tmp_path / "gate"
    state = tmp_path / "state"
    catalog = catalog_of(
        res("file", str(tmp_path / "conf"), content="a", notify="exec[reload]"),
        res("exec", "check", command=["test", "-e", str(gate)]),
        res("exec", "reload", command=appender(marker), refreshonly=True, require="exec[check]"),
    )
    first = apply_catalog(catalog, state)
    assert not marker.exists()
    assert "exec[reload]: skipped: dependency exec[check] failed" in first.err.getvalue()
    assert json.loads(read(state / "pending_refresh.json")) == {"exec[reload]": [f"file[{tmp_path}/conf]"]}

    noop = apply_catalog(catalog, state, noop=True)  # shows the pending refresh, keeps it
    assert "exec[reload]/refresh: triggered refresh from file[" in noop.out.getvalue()
    gate.write_text("")
    noop = apply_catalog(catalog, state, noop=True)
    assert not marker.exists() and (state / "pending_refresh.json").exists()

    second = apply_catalog(catalog, state)
    assert read(marker) == "x"
    assert f"exec[reload]/refresh: triggered refresh from file[{tmp_path}/conf]" in second.out.getvalue()
    assert not (state / "pending_refresh.json").exists()
    apply_catalog(catalog, state)
    assert read(marker) == "x"


def test_failed_refresh_stays_pending(tmp_path):
    gate, state = tmp_path / "gate", tmp_path / "state"
    catalog = catalog_of(res("file", str(tmp_path / "conf"), content="a", notify="exec[reload]"),
                         res("exec", "reload", command=["test", "-e", str(gate)], refreshonly=True))
    report = apply_catalog(catalog, state)
    assert report.summary()["resources"]["failed"] == 1
    assert os.path.exists(state / "pending_refresh.json")
    gate.write_text("")
    report = apply_catalog(catalog, state)
    assert report.summary()["resources"]["changed"] == 1
    assert not os.path.exists(state / "pending_refresh.json")


def test_tags_limit_the_run(tmp_path):
    catalog = catalog_of(res("file", str(tmp_path / "a"), content="a", tags="web"),
                         res("file", str(tmp_path / "b"), content="b"))
    report = apply_catalog(catalog, tmp_path / "state", tags=["web"])
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert report.total == 1
    apply_catalog(catalog, tmp_path / "state", tags=["test"])  # the module name is a tag
    assert (tmp_path / "b").exists()


def test_noop_exit_code_is_2_with_pending_changes(tmp_path):
    catalog = catalog_of(res("file", str(tmp_path / "a"), content="a"))
    report = apply_catalog(catalog, tmp_path / "state", noop=True)
    assert report.exit_code(detailed=True) == 2 and report.summary()["noop_pending"] is True
    assert report.summary()["events"] == {"failure": 0, "success": 0, "noop": 1, "total": 1}
    assert not (tmp_path / "a").exists()
    apply_catalog(catalog, tmp_path / "state")
    report = apply_catalog(catalog, tmp_path / "state", noop=True)
    assert report.exit_code(detailed=True) == 0 and report.summary()["noop_pending"] is False


# -- batches and prefetch: a type whose provider records what it is asked -------------

CALLS = []


class RecordingProvider(Provider):
    @classmethod
    def prefetch(cls, resources, ctx):
        CALLS.append(("prefetch", sorted(r.title for r in resources)))
        return {"installed": {"present-already"}}

    def changes(self):
        if self.resource.title in self.prefetched["installed"]:
            return []
        return [Change("ensure", "absent", "present")]

    @classmethod
    def apply_batch(cls, items, ctx):
        CALLS.append(("batch", [provider.resource.title for provider, _ in items]))
        return [None if provider.resource.title != "bad" else "no such package" for provider, _ in items]


class RecordingType(ResourceType):
    name = "pkg"
    params = [Param("name", str, required=True)]
    providers = [RecordingProvider]
    batch = True


def test_prefetch_once_and_ready_resources_batched(tmp_path):
    CALLS.clear()
    catalog = Catalog(TypeRegistry({"pkg": RecordingType, "exec": "confrt.resources.exec:TYPE"}))
    for resource in (res("pkg", "a"), res("exec", "between", command=["true"]),
                     res("pkg", "late", require="exec[between]"), res("pkg", "b"), res("pkg", "bad"),
                     res("pkg", "present-already"), res("exec", "after-bad", command=["true"], require="pkg[bad]")):
        catalog.add(resource)
    report = apply_catalog(catalog.finalize(), tmp_path / "state")
    assert CALLS == [("prefetch", ["a", "b", "bad", "late", "present-already"]),
                     ("batch", ["a", "b", "bad"]), ("batch", ["late"])]
    assert "pkg[bad]: failed: no such package" in report.err.getvalue()
    assert "exec[after-bad]: skipped: dependency pkg[bad] failed" in report.err.getvalue()
    assert report.summary()["resources"]["changed"] == 4  # a, b, late and exec[between]


def test_an_exec_that_just_ran_is_not_run_again_by_its_refresh(tmp_path):
    marker = tmp_path / "ran"
    catalog = catalog_of(res("file", str(tmp_path / "conf"), content="a", notify="exec[setup]"),
                         res("exec", "setup", command=appender(marker), creates=str(tmp_path / "nothing")))
    apply_catalog(catalog, tmp_path / "state")
    assert read(marker) == "x"


def test_a_corrupt_pending_refresh_file_is_ignored_with_a_warning(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "pending_refresh.json").write_text("[1, 2")
    report = apply_catalog(catalog_of(res("file", str(tmp_path / "a"), content="a")), state)
    assert "warning: ignoring" in report.err.getvalue() and (tmp_path / "a").exists()
    assert not (state / "pending_refresh.json").exists()


def test_noop_skips_what_cannot_be_read_before_pending_changes(tmp_path):
    """A read failure after a prerequisite with noop changes is a skip naming it (the real run may differ)."""
    blocker = tmp_path / "blocker"
    catalog = catalog_of(res("file", str(blocker), ensure="absent"),
                         res("directory", str(tmp_path / "tree"), require=f"file[{blocker}]"),
                         res("file", str(tmp_path / "tree" / "f"), content="x"))
    (tmp_path / "tree").write_text("a file where a directory should be")
    report = apply_catalog(catalog, tmp_path / "state", noop=True)
    assert report.summary()["resources"]["failed"] == 1  # directory[tree]: nothing pending before it
    blocker.write_text("")
    report = apply_catalog(catalog, tmp_path / "state", noop=True)
    err = report.err.getvalue()
    assert f"directory[{tmp_path}/tree]: skipped: cannot be read before the changes of file[{blocker}] are made" in err
    assert report.exit_code(detailed=True) == 2


def _failed(report):
    return sorted(ref for ref, entry in report.statuses.items() if entry["status"] == "failed")


def test_a_failed_resource_logs_no_change_as_made(tmp_path):
    """A change that failed is not printed as a change line: the error line names what was attempted."""
    path = tmp_path / "conf"
    report = apply_catalog(catalog_of(res("file", str(path), content="x", validate_cmd=["false", "%s"])),
                           tmp_path / "state")
    assert not path.exists() and _failed(report) == [f"file[{path}]"]
    assert report.out.getvalue() == ""
    err = report.err.getvalue()
    assert f"confrt: file[{path}]: failed: validate_cmd rejected the new content: " in err
    assert "(attempted ensure: defined content as {sha256}" in err


def test_noop_fails_what_the_real_run_fails_on_before_any_change(tmp_path):
    """A parent directory that is missing and that no resource creates, an owner or a group that
    neither exists nor is declared: the noop fails them as the real run does; a parent made by a
    directory resource of the catalog is fine."""
    missing, made = tmp_path / "missing", tmp_path / "made"
    catalog = catalog_of(
        res("file", str(missing / "f"), content="x"),
        res("directory", str(missing / "d")),
        res("link", str(missing / "l"), target="/"),
        res("file", str(tmp_path / "owned"), content="x", owner="no-such-user-x"),
        res("directory", str(tmp_path / "grouped"), group="no-such-group-x"),
        res("file", str(made / "sub" / "f"), content="x"),
        res("directory", str(made / "sub")),
        res("directory", str(made)),
    )
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    real = apply_catalog(catalog, tmp_path / "state")
    expected = sorted([f"file[{missing}/f]", f"directory[{missing}/d]", f"link[{missing}/l]",
                       f"file[{tmp_path}/owned]", f"directory[{tmp_path}/grouped]"])
    assert _failed(noop) == _failed(real) == expected
    assert change_lines(noop) == change_lines(real) == [
        f"directory[{made}]/ensure: created", f"directory[{made}/sub]/ensure: created",
        f"file[{made}/sub/f]/ensure: defined content as {{sha256}}"
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"]
    assert noop.err.getvalue() == real.err.getvalue()
    err = noop.err.getvalue()
    assert f"file[{missing}/f]: failed: cannot create {missing}/f: {missing} does not exist" in err
    assert f"file[{tmp_path}/owned]: failed: owner: no user named 'no-such-user-x'" in err
    assert f"directory[{tmp_path}/grouped]: failed: group: no group named 'no-such-group-x'" in err
    assert not missing.exists() and not (tmp_path / "owned").exists()


def test_a_path_in_the_home_of_a_new_user_waits_for_it(tmp_path):
    """useradd -m makes the home: a file in it autorequires the user, and a noop counts the home as
    there once it plans the user."""
    home = tmp_path / "home" / "newbie"
    catalog = catalog_of(res("file", str(home / ".profile"), content="x"),
                         res("user", "confrt-test-newbie", home=str(home)))
    assert catalog.requires[f"file[{home}/.profile]"] == ["user[confrt-test-newbie]"]
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    assert _failed(noop) == [] and f"file[{home}/.profile]/ensure: defined content as" in noop.out.getvalue()
    unmanaged = apply_catalog(catalog_of(res("file", str(home / ".profile"), content="x"),
                                         res("user", "confrt-test-newbie", home=str(home), managehome=False)),
                              tmp_path / "state", noop=True)
    assert _failed(unmanaged) == [f"file[{home}/.profile]"]


def test_folders_made_are_what_makedirs_makes(tmp_path):
    from confrt.util.atomic import folders_made

    leaf = tmp_path / "a" / "b" / "c"
    planned = folders_made(str(leaf), 0o700)
    assert sorted(planned) == [str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(leaf)]
    os.makedirs(leaf, mode=0o700)
    assert planned == {path: os.stat(path).st_mode & 0o7777 for path in planned}
    assert folders_made(str(leaf)) == {}


def test_noop_sees_the_folders_a_step_before_the_apply_makes(tmp_path):
    """confrt run --noop: the userdata refresh it does not make would make /etc/confrt/data (and
    /etc/confrt): the noop plans the catalog against them, as the real run finds them."""
    site, data = tmp_path / "site", tmp_path / "site" / "data"
    catalog = catalog_of(res("directory", str(site), mode="0755"), res("directory", str(data), mode="0700"),
                         res("file", str(data / "f"), content="x"))
    made = {str(site): 0o755, str(data): 0o755}
    noop = apply_catalog(catalog, tmp_path / "state", noop=True, made_before=made)
    assert change_lines(noop) == [f"directory[{data}]/mode: mode changed '0755' to '0700'",
                                  f"file[{data}/f]/ensure: defined content as {{sha256}}"
                                  "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"]
    assert _failed(noop) == [] and not site.exists()
