"""package: parsing of dpkg/rpm/apt/dnf output, the action table, one transaction per action."""
import shutil

import pytest
from engine_support import catalog_of, res

from confrt.engine.applier import ApplyContext
from confrt.errors import CompileError
from confrt.facts import Facts
from confrt.resources._package import wanted_action
from confrt.resources._package_apt import AptProvider, parse_apt_cache_policy, parse_dpkg_query
from confrt.resources._package_dnf import DnfProvider, parse_dnf_upgrades, parse_rpm_qa
from confrt.util.proc import CommandResult


def test_parse_dpkg_query_status_abbrev():
    text = "bash\t5.2.15-2+b2\tii \nsquid\t5.7-2\trc \nhalf\t1.0\tiU \nlibc6\t2.36-9\tii \n"
    installed, config_only = parse_dpkg_query(text)
    assert installed == {"bash": "5.2.15-2+b2", "half": "1.0", "libc6": "2.36-9"}
    assert config_only == {"squid"}


def test_parse_apt_cache_policy():
    text = ("hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n"
            "gone:\n  Installed: (none)\n  Candidate: (none)\n")
    assert parse_apt_cache_policy(text) == {"hello": "2.10-3"}


def test_parse_rpm_and_dnf():
    assert parse_rpm_qa("bash\t(none)\t5.1.8-6.el9\nsquid\t7\t5.5-6.el9\n") == \
        {"bash": "5.1.8-6.el9", "squid": "7:5.5-6.el9"}
    text = "Available Upgrades\nsquid.x86_64          7:5.5-10.el9          appstream\nbash.x86_64  0:5.1.8-9.el9  baseos\n"
    assert parse_dnf_upgrades(text) == {"squid": "7:5.5-10.el9", "bash": "5.1.8-9.el9"}


@pytest.mark.parametrize("ensure, installed, candidate, action", [
    ("present", None, None, "install"), ("present", "1.0", None, None),
    ("latest", "1.0", "1.1", "upgrade"), ("latest", "1.1", "1.1", None), ("latest", None, "1.1", "install"),
    ("absent", "1.0", None, "remove"), ("absent", None, None, None), ("purged", "1.0", None, "purge"),
    ("2.10-3", "2.10-3", None, None), ("2.10-3", "2.9-1", None, "install"), ("5.5-6.el9", "7:5.5-6.el9", None, None),
])
def test_wanted_action(ensure, installed, candidate, action):
    assert wanted_action(ensure, installed, candidate) == action


def test_bad_ensure_is_a_compile_error():
    with pytest.raises(CompileError, match=r"package\[hello\]: ensure: expected present, latest"):
        catalog_of(res("package", "hello", ensure="newest"))


class RecordingContext(ApplyContext):
    """Runs nothing: records the argv of each command (the transactions under test)."""

    def __init__(self):
        super().__init__(Facts.static({"os": {"family": "Debian"}}), "/nonexistent")
        self.commands = []

    def run(self, argv, **kwargs):
        self.commands.append(list(argv))
        return CommandResult(argv, 0, "", "")


def test_one_transaction_per_action():
    catalog = catalog_of(res("package", "squid"), res("package", "hello", ensure="2.10-3"),
                         res("package", "cowsay", ensure="absent"), res("package", "sl", ensure="absent"),
                         res("package", "bash"))
    prefetched = {"installed": {"cowsay": "1", "sl": "2", "bash": "5"}, "config_only": set(), "candidates": {}}
    ctx = RecordingContext()
    items = [(AptProvider(r, ctx, prefetched), None) for r in catalog.resources.values()]
    assert AptProvider.apply_batch(items, ctx) == [None] * 5
    verbs = [(argv[argv.index("-y") + 5], argv[-2:]) for argv in ctx.commands]
    assert verbs == [("install", ["hello=2.10-3", "squid"]), ("remove", ["cowsay", "sl"])]
    assert "--allow-downgrades" in ctx.commands[0]
    assert DnfProvider.command("install", ["squid-5.5"])[-2:] == ["install", "squid-5.5"]


def test_lists_are_fetched_first_on_a_fresh_image(tmp_path, monkeypatch):
    from confrt.resources import _package_apt

    assert not _package_apt.have_lists(str(tmp_path))
    (tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4").write_bytes(b"")
    assert _package_apt.have_lists(str(tmp_path))
    monkeypatch.setattr(_package_apt, "have_lists", lambda: False)
    catalog = catalog_of(res("package", "squid"))
    ctx = RecordingContext()
    prefetched = {"installed": {}, "config_only": set(), "candidates": {}}
    AptProvider.apply_batch([(AptProvider(catalog.get("package[squid]"), ctx, prefetched), None)], ctx)
    assert [argv[-1] for argv in ctx.commands] == ["update", "squid"]


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg-query (Debian)")
def test_apt_prefetch_reads_this_system_in_one_query():
    from confrt.util.proc import run

    ctx = ApplyContext(Facts.static({"os": {"family": "Debian"}}), "/nonexistent")
    catalog = catalog_of(res("package", "dpkg"))
    prefetched = AptProvider.prefetch(list(catalog.resources.values()), ctx)
    version = run(["dpkg-query", "-W", "-f", "${Version}", "dpkg"]).stdout
    assert prefetched["installed"]["dpkg"] == version
    assert AptProvider(catalog.get("package[dpkg]"), ctx, prefetched).changes() == []


class FailingContext(RecordingContext):
    """apt-get fails every transaction that names one of `bad`, as it does for an unknown package."""

    def __init__(self, bad):
        super().__init__()
        self.bad = bad

    def run(self, argv, **kwargs):
        self.commands.append(list(argv))
        missing = [arg for arg in argv if arg in self.bad]
        if missing:
            return CommandResult(argv, 100, "", f"E: Unable to locate package {missing[0]}\n")
        return CommandResult(argv, 0, "", "")


def test_a_failed_transaction_is_retried_package_by_package():
    catalog = catalog_of(res("package", "squid"), res("package", "no-such-pkg"), res("package", "hello"),
                         res("package", "cowsay", ensure="absent"))
    prefetched = {"installed": {"cowsay": "1"}, "config_only": set(), "candidates": {}}
    ctx = FailingContext({"no-such-pkg"})
    items = [(AptProvider(r, ctx, prefetched), None) for r in catalog.resources.values()]
    errors = AptProvider.apply_batch(items, ctx)
    assert errors[0] is None and errors[2] is None and errors[3] is None
    assert "Unable to locate package no-such-pkg" in errors[1]
    assert [argv[argv.index("-y") + 5:] for argv in ctx.commands] == [
        ["install", "hello", "no-such-pkg", "squid"],  # the transaction, then each package alone
        ["install", "hello"], ["install", "no-such-pkg"], ["install", "squid"], ["remove", "cowsay"]]


def test_a_single_package_that_fails_is_not_tried_twice():
    catalog = catalog_of(res("package", "no-such-pkg"))
    ctx = FailingContext({"no-such-pkg"})
    prefetched = {"installed": {}, "config_only": set(), "candidates": {}}
    errors = AptProvider.apply_batch([(AptProvider(catalog.get("package[no-such-pkg]"), ctx, prefetched), None)], ctx)
    assert "no-such-pkg" in errors[0] and len(ctx.commands) == 1
