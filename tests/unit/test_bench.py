"""The benchmark measures the same work in every tool: its generators, trees, timing helper and targets.

No timed assertions: the benchmark reports times, `bench/run.py --check` judges them.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from bench import measure, targets, tree
from bench.tools import CFEngine, Confrt, Puppet
from bench.workload import Workload, cfengine_policy, confrt_data, puppet_manifest


def test_the_reference_work_is_the_root_20_directories_and_200_files():
    work = Workload("/r", 221, links=False)
    assert work.counts() == {"directories": 21, "files": 200, "links": 0} and len(work) == 221
    assert work.directories[0] == ("/r", "0755")


@pytest.mark.parametrize("size", [3, 100, 1000, 10000])
def test_a_workload_has_exactly_n_resources_and_links_point_at_its_files(size):
    work = Workload("/r", size)
    assert len(work) == size
    assert len(work.links) == size // 20
    files = {path for path, _, _ in work.files}
    for path, target in work.links:
        assert "/" not in target and os.path.join(os.path.dirname(path), target) in files
    assert {path for path, _ in work.directories} >= {os.path.dirname(path) for path in files}


def test_the_three_renderings_declare_the_same_paths_and_modes():
    work = Workload("/srv/bench", 60)
    data = confrt_data(work, "/t.j2")
    declared = {**{p: ("directory", a["mode"]) for p, a in data["resources::directory"].items()},
                **{p: ("file", a["mode"]) for p, a in data["resources::file"].items()},
                **{p: ("link", a["target"]) for p, a in data["resources::link"].items()}}
    manifest = {m[1]: (m[2], m[3] or m[4]) for m in re.finditer(
        r"file \{ '([^']+)': ensure => (\w+), (?:mode => '(\d+)'|target => '([^']+)')", puppet_manifest(work))}
    assert manifest == declared
    policy = {}
    for match in re.finditer(r'^    "([^"]+)" (.*);$', cfengine_policy(work), re.MULTILINE):
        path, body = match.groups()
        mode = re.search(r'perms => m\("(\d+)"\)', body)
        if path.endswith("/."):
            policy[path[:-2]] = ("directory", mode.group(1))
        elif "link_from" in body:
            policy[path] = ("link", re.search(r'ln_s\("([^"]+)"\)', body).group(1))
        else:
            policy[path] = ("file", mode.group(1))
    assert policy == declared


def applied_tree(tool, work_size, links=True):
    """The tree `tool` makes from nothing, after checking that a second run touches nothing."""
    site = tool.prepare(Workload(os.path.join(tool.workdir, tool.name, "case", "root"), work_size, links), "case")
    first = measure.run(tool.argv(site), env=tool.env(site), timeout=600)
    assert tool.applied(first), first.stderr[-2000:]
    root = os.path.join(site, "root")
    before = tree.stamps(root)
    second = measure.run(tool.argv(site), env=tool.env(site), timeout=600)
    assert tool.converged(second), second.stderr[-2000:]
    assert tree.touched(before, tree.stamps(root)) == []
    return tree.snapshot(root)


@pytest.mark.skipif(shutil.which("puppet") is None, reason="puppet (Debian's puppet-agent) not installed")
def test_puppet_apply_makes_the_same_tree_as_confrt(tmp_path):
    ours = applied_tree(Confrt(str(tmp_path)), 45)
    theirs = applied_tree(Puppet(str(tmp_path)), 45)
    assert len(ours) == 45
    assert tree.differences(ours, theirs) == []


@pytest.mark.skipif(shutil.which("cf-agent") is None, reason="cf-agent (Debian's cfengine3) not installed")
def test_cf_agent_makes_the_same_tree_as_confrt(tmp_path):
    ours = applied_tree(Confrt(str(tmp_path)), 45)
    theirs = applied_tree(CFEngine(str(tmp_path)), 45)
    assert tree.differences(ours, theirs) == []


def test_snapshots_see_content_mode_and_link_differences(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "d").mkdir(parents=True)
        (tmp_path / name / "d" / "f").write_text("x\n")
        os.symlink("f", tmp_path / name / "d" / "l")
    assert tree.differences(tree.snapshot(tmp_path / "a"), tree.snapshot(tmp_path / "b")) == []
    (tmp_path / "b" / "d" / "f").write_text("y\n")
    os.chmod(tmp_path / "b" / "d", 0o700)
    os.unlink(tmp_path / "b" / "d" / "l")
    os.symlink("g", tmp_path / "b" / "d" / "l")
    lines = tree.differences(tree.snapshot(tmp_path / "a"), tree.snapshot(tmp_path / "b"))
    assert [line.split(":")[0] for line in lines] == ["d", "d/f", "d/l"]


def test_stamps_catch_a_rewrite_with_the_same_content(tmp_path):
    (tmp_path / "f").write_text("same\n")
    before = tree.stamps(tmp_path)
    (tmp_path / "new").write_text("same\n")
    os.replace(tmp_path / "new", tmp_path / "f")
    assert tree.touched(before, tree.stamps(tmp_path)) == [".", "f"]


@pytest.mark.skipif(not os.access(measure.TIME, os.X_OK), reason="/usr/bin/time (Debian package time) not installed")
def test_peak_rss_is_that_of_each_run_alone():
    big = measure.run([sys.executable, "-c", "x = bytearray(96 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"])
    small = measure.run([sys.executable, "-S", "-c", "pass"])
    assert big.returncode == 0 and big.rss_mib >= 96
    assert small.rss_mib < 40  # RUSAGE_CHILDREN would still say 96+, wait4 this test process's size
    assert measure.run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"]).stdout == "out\n"


def report(confrt_221=0.1, puppet_221=3.0, cfengine_221=0.2, rss=30.0, at_1000=0.2, at_10000=1.0, problems=()):
    def case(size, links, tools):
        return {"size": size, "links": links, "name": f"N={size}",
                "tools": {name: {"converged": {"wall_s": wall, "rss_mib": rss}, "problems": list(problems)}
                          for name, wall in tools.items()}}

    return {"cases": [case(221, False, {"confrt": confrt_221, "puppet": puppet_221, "cfengine": cfengine_221}),
                      case(1000, True, {"confrt": at_1000}), case(10000, True, {"confrt": at_10000})]}


def verdicts(found):
    return [t["ok"] for t in found]


def test_targets_pass_miss_and_not_measured():
    assert verdicts(targets.check(report())) == [True, True, True, True, True, True]
    missed = targets.check(report(confrt_221=0.25, rss=41, at_10000=3.5, problems=["tree differs"]))
    assert verdicts(missed) == [False, False, False, False, False, False]
    quadratic = targets.check(report(at_1000=0.15, at_10000=2.9))
    assert verdicts(quadratic)[3:5] == [True, False]
    only_confrt = report()
    for case in only_confrt["cases"]:
        case["tools"] = {"confrt": case["tools"]["confrt"]}
    assert verdicts(targets.check(only_confrt))[:2] == [None, None]


def test_tools_are_compared_run_for_run_when_the_runs_are_known():
    confrt = {"wall_s": 0.15, "walls_s": [0.10, 0.30, 0.15]}
    cfengine = {"wall_s": 0.14, "walls_s": [0.12, 0.33, 0.14]}  # a busy moment slowed both in run 2
    assert targets.slower(confrt, cfengine) == pytest.approx(1.1)
    assert targets.slower({"wall_s": 0.2}, {"wall_s": 3.0}) == pytest.approx(15)
    assert targets.slower(confrt, None) is None


@pytest.mark.parametrize("part, code, module", [
    ("ifaddrs", "from confrt.facts import Host, networking; networking.links(Host())", "psutil"),
    ("meminfo", "from confrt.facts import Host; from confrt.facts.hardware import memory; memory(Host())", "psutil"),
    ("yamlemit", "from confrt.util.yamlfile import dump_yaml; dump_yaml({'a': [1, 'b']})", "yaml"),
    ("parse-cache", "from confrt.util.yamlfile import load_yaml_file; load_yaml_file('data.yaml')", "yaml"),
])
def test_the_parts_bench_takes_each_hand_made_part_out_of_its_copy(tmp_path, part, code, module):
    """cli_latency --parts times each part against a copy of the tree without it: that copy
    imports the dependency the part stands in for, the tree as it is does not."""
    from bench import cli_latency

    confrt = Confrt(str(tmp_path / "work"))
    source, environment = cli_latency.without(confrt, part, str(tmp_path))
    (tmp_path / "data.yaml").write_text("a: [1, b]\n")
    script = f"import sys\n{code}\nprint({module!r} in sys.modules)\n"
    imported = {}
    for variant, path, extra in (("with", confrt.source, {}), ("without", source, environment)):
        env = dict(os.environ, PYTHONPATH=path, CONFRT_PARSE_CACHE=str(tmp_path / f"cache-{variant}"))
        env.update(extra)
        runs = [subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                               text=True) for _ in range(2)]  # the second finds the parse cache written
        assert runs[1].returncode == 0, runs[1].stderr
        imported[variant] = runs[1].stdout.strip()
    assert imported == {"with": "False", "without": "True"}
