"""Report: log lines, colour on a terminal, Puppet-shaped summary, files written."""
import io
import json
import os

import yaml

from confrt.engine.report import Report
from confrt.resources.base import Change, Resource

PUPPET_RESOURCE_KEYS = {"changed", "corrective_change", "failed", "failed_to_restart", "out_of_sync",
                        "restarted", "scheduled", "skipped", "total"}


def resource(title):
    item = Resource("file", title, {}, module="m")
    item.tags = {"file", "m"}
    return item


def test_noop_lines_diff_colour_and_summary(tmp_path):
    out = io.StringIO()
    report = Report(noop=True, out=out, err=io.StringIO(), color=True, started=0.0)
    diff = "--- a\n+++ a (new)\n@@ -1 +1 @@\n-old\n+new\n"
    report.changed(resource("/a"), [Change("content", "x", "y", "content changed", diff=diff)], 0.01)
    report.in_sync_resource(resource("/b"), 0.001)
    text = out.getvalue()
    assert "\033[36mfile[/a]/content: content changed (noop)\033[0m\n" in text
    assert "\033[31m-old\033[0m\n\033[32m+new\033[0m\n" in text and "--- a\n" in text
    summary = report.summary()
    assert set(summary["resources"]) == PUPPET_RESOURCE_KEYS
    assert summary["resources"]["out_of_sync"] == 1 and summary["resources"]["changed"] == 0
    assert summary["events"] == {"failure": 0, "success": 0, "noop": 1, "total": 1}
    assert summary["noop_pending"] is True and summary["changes"]["total"] == 0
    assert report.exit_code(detailed=True) == 2 and report.exit_code(detailed=False) == 0


def test_real_run_files_and_statuses(tmp_path):
    report = Report(noop=False, out=io.StringIO(), err=io.StringIO(), color=False)
    report.changed(resource("/a"), [Change("mode", "0600", "0644")], 0.01)
    report.failed(resource("/b"), "cannot write /b: No space left on device")
    report.skipped(resource("/c"), "dependency file[/b] failed")
    report.in_sync_resource(resource("/d"), 0.002)
    assert report.out.getvalue() == "file[/a]/mode: mode changed '0600' to '0644'\n"
    assert report.err.getvalue() == ("confrt: file[/b]: failed: cannot write /b: No space left on device\n"
                                     "confrt: file[/c]: skipped: dependency file[/b] failed\n")
    data = report.write(str(tmp_path))
    assert (os.stat(tmp_path / "last_run_report.json").st_mode & 0o777) == 0o640
    assert json.loads((tmp_path / "last_run_report.json").read_text()) == json.loads(json.dumps(data))
    summary = yaml.safe_load((tmp_path / "last_run_summary.yaml").read_text())
    assert summary["resources"] == {"changed": 1, "corrective_change": 0, "failed": 1, "failed_to_restart": 0,
                                    "out_of_sync": 1, "restarted": 0, "scheduled": 0, "skipped": 1, "total": 4}
    assert summary["time"]["total"] >= summary["time"]["startup"] >= 0
    # monitoring running as another user (condor's startd cron) reads the summary's status
    assert summary["status"] == "failed"
    assert (os.stat(tmp_path / "last_run_summary.yaml").st_mode & 0o777) == 0o644
    statuses = data["resource_statuses"]
    assert [statuses[f"file[/{n}]"]["status"] for n in "abcd"] == ["changed", "failed", "skipped", "unchanged"]
    assert data["status"] == "failed" and report.exit_code(detailed=True) == 6
    assert report.headline().startswith("confrt: 4 resources, 1 changed, 1 failed, 1 skipped in ")


def test_a_fatal_error_fails_the_run():
    report = Report(noop=False, out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    assert report.status() == "unchanged" and report.exit_code(detailed=True) == 0
    report.fatal = "data/common.yaml: classes: unknown class 'mtod'"
    assert report.status() == "failed" and report.to_dict()["status"] == "failed"
    assert report.exit_code(detailed=True) == 4 and report.exit_code(detailed=False) == 1
