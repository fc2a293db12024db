"""Sensitivity follows the value to every text a run writes (issue 14 §3): a failure, a skip reason
or a change message that quotes a sensitive attribute's value shows [redacted], a change of a
sensitive attribute is redacted whoever built it, and replaced sensitive content is not backed up."""
import io
import json
import os

from engine_support import apply_catalog, catalog_of, res

from confrt.engine.report import Report
from confrt.resources.base import Change, Resource

SECRET = "S3cretUser-77ab"


def resource(sensitive, **attrs):
    item = Resource("file", "/srv/app.conf", dict({"path": "/srv/app.conf", "mode": "0644"}, **attrs), module="m")
    item.sensitive = set(sensitive)
    item.tags = {"file", "m"}
    return item


def written(report, tmp_path):
    report.write(str(tmp_path))
    return report.out.getvalue() + report.err.getvalue() + (tmp_path / "last_run_report.json").read_text()


def test_a_failure_quoting_a_sensitive_value_is_redacted(tmp_path):
    report = Report(out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    report.failed(resource({"owner"}, owner=SECRET), f"owner: no user named '{SECRET}'")
    report.changed(resource({"owner"}, owner=SECRET), [Change("mode", "0600", "0644")], 0.0,
                   failure=f"chown {SECRET}: Operation not permitted")
    report.skipped(resource({"owner"}, owner=SECRET), f"cannot be read before {SECRET} exists")
    text = written(report, tmp_path)
    assert SECRET not in text
    assert "confrt: file[/srv/app.conf]: failed: owner: no user named '[redacted]'\n" in report.err.getvalue()


def test_a_change_of_a_sensitive_attribute_is_redacted_whoever_built_it(tmp_path):
    """The metadata changes of file and directory are built without knowing the attribute's secret."""
    report = Report(out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    report.changed(resource({"owner", "mode"}, owner=SECRET), [Change("owner", "OldS3cret-1", SECRET),
                                                               Change("mode", "0600", "0644")], 0.0)
    text = written(report, tmp_path)
    assert SECRET not in text and "OldS3cret-1" not in text
    assert report.out.getvalue() == ("file[/srv/app.conf]/owner: owner changed [redacted]\n"
                                     "file[/srv/app.conf]/mode: mode changed [redacted]\n")
    changes = json.loads((tmp_path / "last_run_report.json").read_text())["resource_statuses"][
        "file[/srv/app.conf]"]["changes"]
    assert changes[0] == {"property": "owner", "old": "[redacted]", "new": "[redacted]",
                          "message": "owner changed [redacted]"}


def test_a_message_quoting_a_sensitive_value_is_redacted_and_the_rest_kept(tmp_path):
    report = Report(noop=True, out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    link = Resource("link", "/srv/current", {"path": "/srv/current", "target": f"/srv/{SECRET}",
                                             "ensure": "present"}, module="m")
    link.sensitive, link.tags = {"target", "ensure"}, {"link"}
    report.changed(link, [Change("ensure", "absent", "present", f"created pointing to '/srv/{SECRET}'")], 0.0)
    assert report.out.getvalue() == "link[/srv/current]/ensure: created pointing to '[redacted]' (noop)\n"


def test_a_resource_without_secrets_is_shown_as_it_is(tmp_path):
    report = Report(out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    report.changed(resource(set(), owner="root"), [Change("owner", "nobody", "root")], 0.0)
    assert report.out.getvalue() == "file[/srv/app.conf]/owner: owner changed 'nobody' to 'root'\n"


def test_replaced_sensitive_content_is_not_backed_up(tmp_path):
    """A rotated secret's file kept the old secret in statedir/backup (0600, but a copy all the same)."""
    secret, plain = tmp_path / "secret.conf", tmp_path / "plain.conf"
    secret.write_text("token=OldS3cret\n")
    plain.write_text("old\n")
    catalog = catalog_of(res("file", str(secret), content="token=NewS3cret\n", sensitive=["content"]),
                         res("file", str(plain), content="new\n"))
    report = apply_catalog(catalog, tmp_path / "state")
    assert secret.read_text() == "token=NewS3cret\n" and plain.read_text() == "new\n"
    backups = tmp_path / "state" / "backup"
    assert [path.read_text() for path in backups.iterdir()] == ["old\n"]
    assert "S3cret" not in report.out.getvalue() + report.err.getvalue()
    secret.write_text("token=OldS3cret\n")
    catalog = catalog_of(res("file", str(secret), ensure="absent", sensitive=True))
    apply_catalog(catalog, tmp_path / "state")
    assert not os.path.exists(secret) and len(list(backups.iterdir())) == 1


def test_userdata_show_redacts_the_keys_its_own_lookup_options_mark_sensitive(run_confrt, tmp_path):
    """It redacted keys named like password/secret/token only: `site::dsn_key` was shown in clear."""
    from run_site import make_run_site

    env, paths = make_run_site(tmp_path / "site", sources=[f"file:{tmp_path}/user-data"])
    (tmp_path / "user-data").write_text(
        "lookup_options:\n  site::dsn_key: {sensitive: true}\n  '^vault::': {sensitive: true}\n"
        f"site::dsn_key: {SECRET}\nvault::anything: {SECRET}-2\nsite::dsn: \"%{{lookup('site::dsn_key')}}\"\n"
        "site::plain: shown\n")
    result = run_confrt("userdata", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "site::dsn_key: '[redacted]'" in result.stdout and "vault::anything: '[redacted]'" in result.stdout
    assert "site::plain: shown" in result.stdout
