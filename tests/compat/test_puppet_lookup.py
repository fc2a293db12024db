"""confrt lookup against Debian's `puppet lookup` on the same hiera.yaml, data and facts.

Each fixture set under tests/fixtures/data/ has a cases.yaml: runs of keys with
merge options. Every key must give the same value (or both: not found), except
the documented differences listed in the set (`differences`), and the keys both
must refuse (`errors`), which must give exactly the listed value (or an error
holding the listed text) from each tool. `cwd` (relative to the set) is the
working directory of both; `needs: hiera-eyaml` skips the set when Puppet's Ruby
cannot load hiera-eyaml. confrt runs with --show-sensitive: secrets are compared.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest
import yaml
from confrt_testing import confrt_env

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures", "data")
SETS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(FIXTURES, "*", "cases.yaml")))
PUPPET = next((p for p in ("/opt/puppetlabs/bin/puppet", "/usr/bin/puppet") if os.path.exists(p)), None)
NOT_FOUND = "<not found>"

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(PUPPET is None, reason="puppet lookup not installed (Debian package puppet-agent)"),
]


def puppet_ruby():
    """The Ruby that runs PUPPET (AIO packages bundle their own)."""
    if PUPPET.startswith("/opt/puppetlabs/"):
        return "/opt/puppetlabs/puppet/bin/ruby"
    with open(PUPPET) as handle:
        first = handle.readline()
    return first[2:].strip().split()[0] if first.startswith("#!") else shutil.which("ruby")


def confrt_flags(run):
    """The merge of a run as `confrt lookup` options."""
    args = ["--merge", run["merge"]] if run.get("merge") else []
    if run.get("knockout_prefix"):
        args.append("--knockout-prefix=" + run["knockout_prefix"])
    for option in ("sort_merged_arrays", "merge_hash_arrays"):
        if run.get(option):
            args.append("--" + option.replace("_", "-"))
    return args


def puppet_merge(run):
    """The merge of a run as Puppet's lookup takes it: None or {"strategy": ..., options}."""
    if not run.get("merge"):
        return None
    options = {name: run[name] for name in ("knockout_prefix", "sort_merged_arrays", "merge_hash_arrays")
               if run.get(name)}
    return dict(options, strategy=run["merge"])


@cache
def ruby_loads(library):
    """True when Puppet's Ruby can require `library` (hiera-eyaml: Debian package hiera-eyaml)."""
    result = subprocess.run([puppet_ruby(), "-e", f"require '{library}'"], capture_output=True, timeout=60)
    return result.returncode == 0


def puppet_lookup(tmp_path, fixture, runs, cwd=None):
    """[{key: value}] per run, from one `puppet lookup` process (see batch_lookup.rb)."""
    state = tmp_path / "puppet"
    argv = [puppet_ruby(), os.path.join(HERE, "batch_lookup.rb"),
            "--codedir", str(state / "code"), "--confdir", str(state / "conf"), "--vardir", str(state / "var"),
            "--logdir", str(state / "log"), "--rundir", str(state / "run"),
            "--hiera_config", os.path.join(fixture, "hiera.yaml"), "--facts", os.path.join(fixture, "facts.json"),
            "--render-as", "json", "any_key"]
    env = dict(os.environ, CONFRT_LOOKUP_RUNS=json.dumps(
        [{"merge": puppet_merge(run), "keys": run["keys"]} for run in runs]))
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=cwd)
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert result.returncode == 0 and lines, f"puppet lookup failed: {result.stdout}{result.stderr}"
    return [{key: normalise_puppet(value) for key, value in values.items()} for values in json.loads(lines[-1])]


def normalise_puppet(value):
    if isinstance(value, dict) and set(value) == {"__error__"}:
        message = value["__error__"]
        return NOT_FOUND if "did not find a value" in message else {"error": message}
    return value


def confrt_lookup(tmp_path, fixture, runs, cwd=None):
    """[{key: value}] per run, each key a `confrt lookup` of its own, all in one process
    (see batch_confrt.py)."""
    commands = [["lookup", "--config", str(tmp_path / "confrt.yaml"), "--hiera-config",
                 os.path.join(fixture, "hiera.yaml"), "--facts", os.path.join(fixture, "facts.json"),
                 "--render-as", "json", "--show-sensitive", *confrt_flags(run), key]
                for run in runs for key in run["keys"]]
    result = subprocess.run([sys.executable, os.path.join(HERE, "batch_confrt.py")], input=json.dumps(commands),
                            capture_output=True, text=True, env=confrt_env(), cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    answers = iter(json.loads(result.stdout))
    return [{key: confrt_answer(next(answers)) for key in run["keys"]} for run in runs]


def confrt_answer(result):
    if result["rc"] == 0:
        return json.loads(result["out"])
    if "no value found for key" in result["err"]:
        return NOT_FOUND
    return {"error": result["err"].strip()}


def matches(expected, actual):
    """A documented value; {error: text} matches an error containing text."""
    if isinstance(expected, dict) and set(expected) == {"error"}:
        return isinstance(actual, dict) and expected["error"] in actual.get("error", "")
    return expected == actual


def load_cases(name):
    with open(os.path.join(FIXTURES, name, "cases.yaml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """{set: (future of Puppet's answers, future of confrt's)}: every set's lookups start at
    once, two processes each (most of the time is Puppet's start-up, which overlaps)."""
    pool = ThreadPoolExecutor(max_workers=2 * len(SETS))
    started = {}
    for name in SETS:
        cases = load_cases(name)
        if cases.get("needs") == "hiera-eyaml" and not ruby_loads("hiera/backend/eyaml"):
            continue
        fixture = os.path.join(FIXTURES, name)
        cwd = os.path.join(fixture, cases.get("cwd", "."))
        tmp_path = tmp_path_factory.mktemp(name)
        (tmp_path / "facts.d").mkdir()
        (tmp_path / "confrt.yaml").write_text(yaml.safe_dump({"facts_dir": str(tmp_path / "facts.d"),
                                                              "modulepath": []}))
        started[name] = (pool.submit(puppet_lookup, tmp_path, fixture, cases["runs"], cwd),
                         pool.submit(confrt_lookup, tmp_path, fixture, cases["runs"], cwd))
    yield started
    pool.shutdown(wait=True)


@pytest.mark.parametrize("name", SETS)
def test_confrt_agrees_with_puppet_lookup(answers, name):
    cases = load_cases(name)
    if name not in answers:
        pytest.skip("Puppet's Ruby cannot load hiera-eyaml (Debian package hiera-eyaml)")
    puppet_runs, confrt_runs = (future.result() for future in answers[name])
    differences = {(d["run"], d["key"]): d for d in cases.get("differences", []) + cases.get("errors", [])}
    problems = []
    for index, run in enumerate(cases["runs"]):
        puppet = puppet_runs[index]
        for key, confrt in confrt_runs[index].items():
            documented = differences.pop((index, key), None)
            if documented is None:
                ok = confrt == puppet[key] and not (isinstance(confrt, dict) and "error" in confrt)
            else:
                ok = matches(documented["puppet"], puppet[key]) and matches(documented["confrt"], confrt)
            if not ok:
                problems.append(f"run {index} {confrt_flags(run)} {key}: "
                                f"confrt={confrt!r} puppet={puppet[key]!r}"
                                + (" (listed)" if documented else ""))
    assert not differences, f"documented differences never looked up: {sorted(differences)}"
    assert not problems, "\n".join(problems)
