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


@pytest.fixture
def apt_lists_fetched(monkeypatch):
    """Package lists are there whatever this host's /var/lib/apt/lists holds: no `apt-get update` first."""
    from confrt.resources import _package_apt

    monkeypatch.setattr(_package_apt, "have_lists", lambda: True)


@pytest.mark.usefixtures("apt_lists_fetched")
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
    assert "LC_ALL=C" in ctx.commands[0] and DnfProvider.command("remove", ["x"])[:2] == ["env", "LC_ALL=C"]


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
    """apt-get fails every transaction that names one of `bad` as it does for an unknown package,
    or every transaction with `error` (a lock, a conflict) when given."""

    def __init__(self, bad=(), error=None):
        super().__init__()
        self.bad, self.error = bad, error

    def run(self, argv, **kwargs):
        self.commands.append(list(argv))
        if self.error:
            return CommandResult(argv, 100, "", self.error)
        missing = [arg for arg in argv if arg in self.bad]
        if missing:
            return CommandResult(argv, 100, "Reading package lists...\n",
                                 "".join(f"E: Unable to locate package {name}\n" for name in missing))
        return CommandResult(argv, 0, "", "")


def transactions(ctx):
    return [argv[argv.index("-y") + 5:] for argv in ctx.commands]


def apply_all(ctx, *resources, installed=None):
    catalog = catalog_of(*resources)
    prefetched = {"installed": installed or {}, "config_only": set(), "candidates": {}}
    items = [(AptProvider(r, ctx, prefetched), None) for r in catalog.resources.values()]
    return AptProvider.apply_batch(items, ctx)


@pytest.mark.usefixtures("apt_lists_fetched")
def test_unknown_packages_fail_alone_and_the_rest_go_in_one_transaction():
    ctx = FailingContext({"no-such-pkg", "nor-this"})
    errors = apply_all(ctx, res("package", "squid"), res("package", "no-such-pkg"), res("package", "hello"),
                       res("package", "nor-this"), res("package", "cowsay", ensure="absent"),
                       installed={"cowsay": "1"})
    assert [error is None for error in errors] == [True, False, True, False, True]
    assert errors[1].endswith("exited 100: E: Unable to locate package no-such-pkg")
    assert errors[3].endswith("exited 100: E: Unable to locate package nor-this")
    assert transactions(ctx) == [["install", "hello", "no-such-pkg", "nor-this", "squid"],
                                 ["install", "hello", "squid"], ["remove", "cowsay"]]


@pytest.mark.parametrize("error", [
    "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n",
    "The following packages have unmet dependencies:\n chrony : Conflicts: time-daemon\n"
    "E: Unable to correct problems, you have held broken packages.\n",
])
@pytest.mark.usefixtures("apt_lists_fetched")
def test_any_other_failure_is_every_package_s_without_a_retry(error):
    ctx = FailingContext(error=error)
    errors = apply_all(ctx, res("package", "chrony"), res("package", "ntpsec"), res("package", "hello"))
    assert len(ctx.commands) == 1  # conflicting packages tried one by one would each succeed
    assert len(set(errors)) == 1 and errors[0].endswith(error.strip().splitlines()[-1])


@pytest.mark.usefixtures("apt_lists_fetched")
def test_a_single_unknown_package_is_tried_once():
    ctx = FailingContext({"no-such-pkg"})
    errors = apply_all(ctx, res("package", "no-such-pkg"))
    assert "no-such-pkg" in errors[0] and len(ctx.commands) == 1


@pytest.mark.parametrize("output, arg, name, found", [
    ("Error: Unable to find a match: confrt-probe-9 nope\n", "nope", "nope", True),
    ("No match for argument: hello-2.0\nError: Unable to find a match: hello-2.0\n", "hello-2.0", "hello", True),
    ("E: Version '9.9' for 'hello' was not found\n", "hello=9.9", "hello", True),
    ("E: Package 'squid' has no installation candidate\n", "squid", "squid", True),
    ("E: Unable to locate package hello-extra\n", "hello", "hello", False),
    ("E: Unable to locate package xhello\n", "hello", "hello", False),
    ("E: Version '9.9' for 'bash' was not found\n", "bash:amd64=9.9", "bash:amd64", True),
    ("E: Could not get lock /var/lib/dpkg/lock\n", "hello", "hello", False),
])
def test_unknown_line(output, arg, name, found):
    from confrt.resources._package import unknown_line

    line = unknown_line(CommandResult(["apt-get"], 100, "", output), arg, name)
    assert (line is not None) == found
