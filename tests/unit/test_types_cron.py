"""cron: the /etc/cron.d file a job becomes, its checks, and a real apply into a temp cron dir."""
import os

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError
from confrt.resources import cron


def test_render_fields_environment_and_special():
    catalog = catalog_of(
        res("cron", "fetch-crl", command="/usr/sbin/fetch-crl -q", minute="*/30", hour=2,
            environment={"MAILTO": "", "PATH": "/usr/bin:/bin"}),
        res("cron", "confrt-boot", command="confrt run", special="@reboot", user="nobody"))
    assert cron.render(catalog.get("cron[fetch-crl]")) == (
        "# managed by confrt: cron[fetch-crl]\nMAILTO=\nPATH=/usr/bin:/bin\n"
        "*/30 2 * * * root /usr/sbin/fetch-crl -q\n")
    assert cron.render(catalog.get("cron[confrt-boot]")).endswith("\n@reboot nobody confrt run\n")


@pytest.mark.parametrize("title, attrs, problem", [
    ("has.dot", {"command": "true"}, "cron skips other file names"),
    ("job", {"command": "date +%s"}, r"write '\\%'"),
    ("job", {"command": "true", "minute": "5 * * * * root rm -rf /"}, "expected a cron time field"),
    ("job", {}, "command: required unless ensure is absent"),
    ("job", {"command": "true", "special": "@sometimes"}, "expected one of"),
])
def test_bad_jobs_are_compile_errors(title, attrs, problem):
    with pytest.raises(CompileError, match=problem):
        catalog_of(res("cron", title, **attrs))


def test_apply_writes_once_and_removes(tmp_path, monkeypatch):
    monkeypatch.setattr(cron, "CRON_DIR", str(tmp_path / "cron.d"))
    job = tmp_path / "cron.d" / "backup"

    def run(noop=False, **attrs):
        attrs.setdefault("command", r"tar czf /var/backups/etc-$(date +\%F).tgz /etc")
        return apply_catalog(catalog_of(res("cron", "backup", hour=3, minute=0, **attrs)),
                             tmp_path / "state", noop=noop)

    assert run(noop=True).has_changes and not job.exists()
    assert run().count("changed") == 1
    assert job.read_text().splitlines()[-1] == r"0 3 * * * root tar czf /var/backups/etc-$(date +\%F).tgz /etc"
    assert os.stat(job).st_mode & 0o777 == 0o644
    assert not run().has_changes
    assert run(ensure="absent").count("changed") == 1 and not job.exists()
