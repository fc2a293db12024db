#!/usr/bin/env python3
"""Wall time of `confrt facts`, `confrt facts os.family` and `confrt lookup KEY` (issue 2).

Each command runs --runs times (after one warm-up run) against a small
hierarchy written to a temporary directory; the table shows median, min and
max wall milliseconds and the median CPU time (user + system, which a busy
machine disturbs less), and bench/results/cli_latency.json keeps them. The
interpreter's own start-up (`python -c pass`) is measured too, so the part
that is confrt's shows. `facter` and `puppet lookup` (Debian's puppet-agent)
are timed on the same work when installed. Python runs byte-compiled, as an
installed confrt does. A command that fails is reported with its error line
instead of a time, so the script can run before every part of confrt exists.

    python3 bench/cli_latency.py [--runs 15] [--python /usr/bin/python3 ...]

--parts times instead, for each hand-made part that replaces or bypasses a
dependency (PARTS), the commands it serves with it and without it (a copy of the
tree with the part taken out), interleaved in one run, under the distribution's
python3: the rule of issue 19 keeps a part only where one of those commands is at
least RULE times faster with it (bench/results/hand_made.json).

    python3 bench/cli_latency.py --parts [--runs 21]
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import measure  # noqa: E402
from bench.tools import REPO, Confrt  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results", "cli_latency.json")
PARTS_RESULTS = os.path.join(REPO, "bench", "results", "hand_made.json")
TARGET_MS = 100
LOOKUP_KEY = "site::greeting"
# the distribution's interpreter, as the RPM runs confrt (timed too when it has PyYAML)
SYSTEM_PYTHON = tuple(path for path in ("/usr/bin/python3",)
                      if os.path.exists(path) and os.path.realpath(path) != os.path.realpath(sys.executable))

HIERA_YAML = """\
version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: node
    path: "nodes/%{facts.networking.fqdn}.yaml"
  - name: os family
    path: "os/%{facts.os.family}.yaml"
  - name: common
    path: common.yaml
"""
DATA = {
    "common.yaml": "site::greeting: \"hello from %{facts.os.family}\"\n"
                   "ntp::servers: [0.pool.ntp.org, 1.pool.ntp.org]\n"
                   "classes: [base, ntp]\n",
    "os/Debian.yaml": "packages::manager: apt\nclasses: [apt_repos]\n",
    "os/RedHat.yaml": "packages::manager: dnf\nclasses: [epel]\n",
}


# Hand-made parts that replace or bypass a dependency to save milliseconds (issue 19). Each
# stays only where a command it serves is at least RULE times faster with it (wall time
# without / with, medians, both in one run) under the distribution's python3.
# name -> (what it stands in for, the commands it serves, the edits that take it out of a
# copy of the tree: (path, text, replacement), a replacement of None removing the file,
# and the environment of the runs without it).
RULE = 1.25
PARTS = {
    "ifaddrs": ("psutil.net_if_addrs: getifaddrs(3) through ctypes (confrt/facts/_ifaddrs.py)",
                ("facts",), [("confrt/facts/_ifaddrs.py", None, None)], {}),  # networking falls back to psutil
    "meminfo": ("psutil.virtual_memory: /proc/meminfo read by confrt/facts/hardware.py", ("facts",),
                [("confrt/facts/hardware.py", 'meminfo_sizes(host.read_text("/proc/meminfo") or "") or ', "")],
                {}),
    "yamlemit": ("PyYAML's CSafeDumper: confrt/util/yamlemit.py", ("facts", "lookup", "apply"),
                 [("confrt/util/yamlfile.py", "    text = emit(data)\n", "    text = None\n")], {}),
    "parse-cache": ("PyYAML's import and parse of unchanged files: confrt/util/parse_cache.py",
                    ("facts", "facts os.family", "lookup", "apply"), [], {"CONFRT_PARSE_CACHE": "off"}),
}
APPLY_SIZE = 21  # the converged apply of the parts' runs: the bench's work, a small site


def write_hierarchy(directory):
    """hiera.yaml + data/ + a confrt.yaml using them; returns the confrt.yaml path."""
    with open(os.path.join(directory, "hiera.yaml"), "w") as handle:
        handle.write(HIERA_YAML)
    for relative, text in DATA.items():
        path = os.path.join(directory, "data", relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    os.makedirs(os.path.join(directory, "facts.d"), exist_ok=True)
    config = os.path.join(directory, "confrt.yaml")
    with open(config, "w") as handle:
        handle.write(f"hiera_config: {directory}/hiera.yaml\n"
                     f"facts_dir: {directory}/facts.d\n"
                     f"local_data: {directory}/local.yaml\n")
    return config


def cases(python, config, script, no_site=False):
    """(label, argv, runs divisor) of what to time with this interpreter.

    script: confrt's console script (bench.tools.Confrt.script), run as the installed
    `confrt` runs. no_site runs it with -S: site-packages then come from PYTHONPATH, and
    the .pth hooks an environment may install (they can cost tens of ms) are not run.
    """
    python = [python, "-S"] if no_site else [python]
    confrt = python + [script]
    suffix = " [python -S]" if no_site else "" if python[0] == sys.executable else f" [{python[0]}]"
    return [
        (f"python -c pass (interpreter start){suffix}", python + ["-c", "pass"], 1),
        (f"confrt facts{suffix}", confrt + ["facts", "--config", config], 1),
        (f"confrt facts os.family{suffix}", confrt + ["facts", "os.family", "--config", config], 1),
        (f"confrt lookup {LOOKUP_KEY}{suffix}", confrt + ["lookup", LOOKUP_KEY, "--config", config], 1),
    ]


def reference_cases(hierarchy_dir):
    result = []
    if shutil.which("facter"):
        result.append(("facter (all facts)", ["facter"], 1))
        result.append(("facter os.family", ["facter", "os.family"], 1))
    if shutil.which("puppet"):
        result.append((f"puppet lookup {LOOKUP_KEY}",
                       ["puppet", "lookup", "--hiera_config", f"{hierarchy_dir}/hiera.yaml", LOOKUP_KEY],
                       3))  # seconds per run: fewer runs
    return result


def time_command(argv, runs, env, cwd):
    """{runs, median_ms, min_ms, max_ms, cpu_ms, rss_mib, output} or {error} when the command prints
    nothing but fails.

    (facter exits 1 in containers where /proc/1/environ is unreadable, yet prints every fact.)
    """
    first = measure.run(argv, env=env, cwd=cwd)
    if first.returncode != 0 and not first.stdout.strip():
        return {"error": f"exit {first.returncode}: {first.last_error_line()}"}
    stats = measure.summary([measure.run(argv, env=env, cwd=cwd) for _ in range(runs)])
    return {"runs": runs, "median_ms": round(stats["wall_s"] * 1000, 1),
            "min_ms": round(stats["wall_min_s"] * 1000, 1), "max_ms": round(stats["wall_max_s"] * 1000, 1),
            "cpu_ms": round(stats["cpu_s"] * 1000, 1), "rss_mib": stats["rss_mib"],
            "output": first.stdout.strip().splitlines()[0][:60] if first.stdout.strip() else ""}


def interpreters(requested, env):
    """sys.executable, plus the requested ones that can import PyYAML (confrt's config needs it)."""
    found = [sys.executable]
    for python in requested:
        ok = subprocess.run([python, "-c", "import yaml"], capture_output=True, env=env).returncode == 0
        if ok and python not in found:
            found.append(python)
        elif not ok:
            print(f"skipping {python}: it cannot import yaml", file=sys.stderr)
    return found


def measure_all(confrt, runs, pythons=SYSTEM_PYTHON, reference=True):
    """Time every case (confrt under each interpreter and under -S, then facter and puppet); the rows.

    confrt: a bench.tools.Confrt (its copy of this checkout, bytecode and parse cache kept in
    its work folder). Each interpreter finds its own site-packages (the distribution's
    python3 its Debian packages); under -S, this interpreter's are put on PYTHONPATH.
    """
    import sysconfig

    env = confrt.env(None)  # without CONFRT_CONFIG and PYTHONDONTWRITEBYTECODE: the warm-up run writes the .pyc files
    site_packages = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    no_site_env = dict(env, PYTHONPATH=os.pathsep.join([env["PYTHONPATH"], *site_packages]))
    rows = []
    with tempfile.TemporaryDirectory(prefix="confrt-bench-") as directory:
        config = write_hierarchy(directory)
        todo = []
        for python in interpreters(pythons, env):
            todo.extend((*case, env) for case in cases(python, config, confrt.script))
        todo.extend((*case, no_site_env) for case in cases(sys.executable, config, confrt.script, no_site=True))
        if reference:
            todo.extend((*case, env) for case in reference_cases(directory))
        for name, argv, factor, case_env in todo:
            result = time_command(argv, max(3, runs // factor), case_env, directory)
            rows.append(dict(result, name=name, argv=argv))
            print_row(rows[-1])
    return rows


def without(confrt, part, workdir):
    """(PYTHONPATH entry, environment) of a copy of confrt's tree with `part` taken out."""
    _, _, edits, environment = PARTS[part]
    source = os.path.join(workdir, f"without-{part}")
    if not os.path.isdir(source):
        shutil.copytree(confrt.source, source)
    for relative, old, new in edits:
        path = os.path.join(source, relative)
        if old is None:
            if os.path.exists(path):
                os.unlink(path)
            continue
        with open(path) as handle:
            text = handle.read()
        if old not in text and new not in text:
            raise SystemExit(f"bench: cannot take {part} out: {relative} no longer holds {old!r} (update PARTS)")
        with open(path, "w") as handle:
            handle.write(text.replace(old, new))
    return source, environment


def measure_parts(confrt, runs, python, log=print):
    """Each part's commands with and without it, every (command, variant) once per round in a
    shuffled order; the rows (command, part, medians and run-for-run ratio) and each part's verdict."""
    from bench import workload
    from bench.targets import slower

    base_env = confrt.env(None)
    with tempfile.TemporaryDirectory(prefix="confrt-bench-") as directory:
        config = write_hierarchy(directory)
        site = confrt.prepare(workload.Workload(os.path.join(directory, "root"), APPLY_SIZE, links=False), "parts")
        commands = {
            "facts": ["facts", "--config", config],
            "facts os.family": ["facts", "os.family", "--config", config],
            "lookup": ["lookup", LOOKUP_KEY, "--config", config],
            "apply": ["apply", "--detailed-exitcodes", "--config", os.path.join(site, "confrt.yaml")],
        }
        envs = {"with": base_env}
        for part in PARTS:
            source, environment = without(confrt, part, directory)
            envs[part] = dict(base_env, PYTHONPATH=os.pathsep.join([source, *base_env["PYTHONPATH"].split(
                os.pathsep)[1:]]), PYTHONPYCACHEPREFIX=os.path.join(directory, f"pycache-{part}"),
                CONFRT_PARSE_CACHE=os.path.join(directory, f"parse-cache-{part}"))
            envs[part].update(environment)
        jobs = [(command, variant) for command in commands
                for variant in ["with"] + [part for part in PARTS if command in PARTS[part][1]]]
        for command, variant in jobs:  # warm-up: bytecode, parse cache, the first apply's changes
            for _ in range(2):
                sample = measure.run([python, confrt.script, *commands[command]], env=envs[variant], cwd="/")
            if sample.returncode != 0:
                raise SystemExit(f"bench: confrt {command} without {variant}: {sample.last_error_line()}")
        samples = {job: [] for job in jobs}
        loads = [os.getloadavg()[0]]
        for _ in range(runs):
            order = list(jobs)
            random.shuffle(order)
            for command, variant in order:
                sample = measure.run([python, confrt.script, *commands[command]], env=envs[variant], cwd="/")
                if sample.returncode != 0:
                    raise SystemExit(f"bench: confrt {command} ({variant}): {sample.last_error_line()}")
                samples[(command, variant)].append(sample)
            loads.append(os.getloadavg()[0])
    stats = {job: measure.summary(found) for job, found in samples.items()}
    rows = []
    for command, variant in jobs:
        if variant == "with":
            continue
        with_it, without_it = stats[(command, "with")], stats[(command, variant)]
        rows.append({"command": f"confrt {command}", "part": variant,
                     "with_ms": round(with_it["wall_s"] * 1000, 1), "without_ms": round(without_it["wall_s"] * 1000, 1),
                     "x": round(without_it["wall_s"] / with_it["wall_s"], 2),
                     "x_run_for_run": round(slower(with_it, without_it), 2),
                     "cpu_with_ms": round(with_it["cpu_s"] * 1000, 1),
                     "cpu_without_ms": round(without_it["cpu_s"] * 1000, 1)})
    verdicts = {part: any(row["x"] >= RULE for row in rows if row["part"] == part) for part in PARTS}
    log(f"{'command':24} {'without':12} {'with':>8} {'without':>8} {'x':>6} {'x r4r':>6} {'cpu with':>9} {'cpu w/o':>8}")
    for row in rows:
        log(f"{row['command']:24} {row['part']:12} {row['with_ms']:>6.1f}ms {row['without_ms']:>6.1f}ms "
            f"{row['x']:>6.2f} {row['x_run_for_run']:>6.2f} {row['cpu_with_ms']:>7.1f}ms {row['cpu_without_ms']:>6.1f}ms")
    for part, keeps in verdicts.items():
        log(f"{part}: {'stays' if keeps else 'FAILS the rule'} (a command {RULE:g}x faster with it: "
            f"{'yes' if keeps else 'none'}); stands in for {PARTS[part][0]}")
    load = {"min": round(min(loads), 2), "median": round(statistics.median(loads), 2), "max": round(max(loads), 2)}
    return rows, verdicts, load


def save_parts(rows, verdicts, load, runs, python):
    os.makedirs(os.path.dirname(PARTS_RESULTS), exist_ok=True)
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
                 "python": python, "python_version": version, "load_average_1m": load},
        "runs": runs, "rule": RULE, "apply_size": APPLY_SIZE,
        "parts": {part: {"stands_in_for": PARTS[part][0], "stays": verdicts[part]} for part in PARTS},
        "results": rows,
    }
    with open(PARTS_RESULTS, "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    print(f"wrote {os.path.relpath(PARTS_RESULTS)} (load average {load['min']}-{load['max']} on "
          f"{os.cpu_count()} CPUs)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--python", action="append", default=list(SYSTEM_PYTHON),
                        help="also time confrt under this interpreter (repeatable; default: "
                             f"{', '.join(SYSTEM_PYTHON) or 'none'})")
    parser.add_argument("--no-reference", action="store_true", help="skip facter and puppet")
    parser.add_argument("--parts", action="store_true",
                        help=f"time each hand-made part's commands with and without it (rule: {RULE:g}x), "
                             "under the first --python")
    args = parser.parse_args()

    if args.parts:
        python = args.python[0] if args.python else sys.executable
        with tempfile.TemporaryDirectory(prefix="confrt-bench-") as workdir:
            rows, verdicts, load = measure_parts(Confrt(workdir), args.runs, python)
        save_parts(rows, verdicts, load, args.runs, python)
        return 0
    with tempfile.TemporaryDirectory(prefix="confrt-bench-") as workdir:
        rows = measure_all(Confrt(workdir), args.runs, args.python, reference=not args.no_reference)
    save(rows, args.runs)
    return 0 if all("error" not in row for row in rows if row["name"].startswith("confrt")) else 1


def print_row(row):
    if not hasattr(print_row, "header"):
        print(f"{'command':58} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8}  target (wall median)")
        print_row.header = True
    if "error" in row:
        print(f"{row['name']:58} {'failed':>8}  {row['error']}")
        return
    verdict = ""
    if row["name"].startswith("confrt"):
        verdict = "ok" if row["median_ms"] < TARGET_MS else f"OVER {TARGET_MS} ms"
    print(f"{row['name']:58} {row['median_ms']:>6.1f}ms {row['min_ms']:>6.1f}ms {row['max_ms']:>6.1f}ms "
          f"{row['cpu_ms']:>6.1f}ms  {verdict}")


def save(rows, runs):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
                 "python": sys.version.split()[0],
                 "load_average_1m": round(os.getloadavg()[0], 2)},
        "runs": runs, "target_ms": TARGET_MS,
        "results": [{key: row[key] for key in ("name", "argv", "runs", "median_ms", "min_ms", "max_ms",
                                               "cpu_ms", "error") if key in row} for row in rows],
    }
    with open(RESULTS, "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    print(f"wrote {os.path.relpath(RESULTS)} (load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs: above that, wall times include waiting for a CPU)")


if __name__ == "__main__":
    sys.exit(main())
