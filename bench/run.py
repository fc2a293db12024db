#!/usr/bin/env python3
"""confrt against `puppet apply` and `cf-agent` on the same work; `confrt facts/lookup` against facter.

For each case (the issue's reference work of 221 resources, then --sizes with
links) the same workload is written as confrt data, a Puppet manifest and a
CFEngine policy, each applied into its own empty root: a first apply, then
converged applies and noop runs, interleaved tool by tool so that a busy
machine slows all of them alike. Every run is timed alone (wall and CPU through
wait4, peak RSS through GNU time). The trees the tools made are compared byte for byte and mode
for mode, and a converged run that touches any file is reported. The table is
printed and bench/results/bench.json written; --check compares with the
targets (bench/README.md) and exits 1 when one is missed.

    python3 bench/run.py [--quick] [--sizes 100,1000,10000] [--runs 5] [--check]
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import measure, targets, tree  # noqa: E402
from bench import tools as bench_tools  # noqa: E402
from bench.markdown import VERDICTS  # noqa: E402
from bench.workload import Workload  # noqa: E402

RESULTS = os.path.join(bench_tools.REPO, "bench", "results", "bench.json")
REFERENCE_SIZE = 221
RUN_FOLDER = "/"  # the working folder of every run, as under cron or systemd (`python -m` lists it)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[100, 1000, 10000],
                        help="workload sizes with links, besides the 221 reference (default 100,1000,10000)")
    parser.add_argument("--runs", type=int, default=5, help="converged and noop runs per tool (default 5)")
    parser.add_argument("--budget", type=float, default=40.0,
                        help="seconds per series of runs: slower tools do fewer runs (default 40)")
    parser.add_argument("--quick", action="store_true", help="only the 221-resource reference case")
    parser.add_argument("--tools", type=lambda text: text.split(","), default=[t.name for t in bench_tools.TOOLS],
                        help="comma list of confrt,puppet,cfengine (default all)")
    parser.add_argument("--no-latency", action="store_true", help="skip confrt facts/lookup against facter")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install missing tools")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--output", default=RESULTS, help=f"JSON results (default {os.path.relpath(RESULTS)})")
    return parser.parse_args(argv)


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 100,1000, got {text!r}") from None
    if not sizes or min(sizes) < 3:
        raise argparse.ArgumentTypeError("sizes must be at least 3")
    return sizes


def cases(args):
    """[(name, size, links)]: the reference work first."""
    found = [(f"N={REFERENCE_SIZE}", REFERENCE_SIZE, False)]
    if not args.quick:
        found += [(f"N={size}+links", size, True) for size in args.sizes]
    return found


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": host_info(),
              "runs": args.runs, "cases": [], "skipped_tools": {}, "latency": []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="confrt-bench-") as workdir:
        tools = choose_tools(args, workdir, report["skipped_tools"])
        for name, size, links in cases(args):
            print(f"== {name}", flush=True)
            report["cases"].append(run_case(tools, name, size, links, args))
        if not args.no_latency:
            report["latency"] = run_latency(tools[0], args.runs)
    report["host"]["load_average_end"] = round(os.getloadavg()[0], 2)
    report["duration_s"] = round(time.perf_counter() - started, 1)
    report["targets"] = targets.check(report)
    print_report(report)
    save(report, args.output)
    missed = [t for t in report["targets"] if t["ok"] is False]
    return 1 if args.check and missed else 0


def host_info():
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
            "python": sys.version.split()[0], "load_average_start": round(os.getloadavg()[0], 2),
            "os": _os_name()}


def _os_name():
    try:
        with open("/etc/os-release") as handle:
            fields = dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)
        return fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        return ""


def choose_tools(args, workdir, skipped):
    """Tool instances to run (confrt first); the others go in `skipped` with the reason, printed."""
    wanted = [cls(workdir) for cls in bench_tools.TOOLS if cls.name in args.tools]
    if not args.no_install:
        bench_tools.install_missing(wanted)
    tools = []
    for tool in wanted:
        reason = tool.missing()
        if reason:
            print(f"skipping {tool.name}: {reason}")
            skipped[tool.name] = reason
        else:
            tools.append(tool)
    if not tools or tools[0].name != "confrt":
        sys.exit("bench: confrt must be one of --tools")
    return tools


def run_case(tools, name, size, links, args):
    """First apply, converged and noop series of every tool on one workload; its result dict."""
    sites, results = {}, {}
    for tool in tools:
        workload = Workload(os.path.join(tool.workdir, tool.name, name, "root"), size, links)
        site = tool.prepare(workload, name)
        sites[tool.name] = site
        if isinstance(tool, bench_tools.Confrt):
            warm_up(tool, site)
    for tool in tools:
        first = measure.run(tool.argv(sites[tool.name]), env=tool.env(sites[tool.name]), cwd=RUN_FOLDER)
        results[tool.name] = {"first": measure.summary([first]), "ok": tool.applied(first), "problems": []}
        if not tool.applied(first):
            results[tool.name]["problems"].append(f"first apply failed (exit {first.returncode}): "
                                                  f"{first.last_error_line()}")
        _progress(tool.name, "first apply", first)
    compare_trees(tools, sites, results)
    for mode in ("converged", "noop"):
        series = run_series(tools, sites, results, mode, args)
        for tool_name, samples in series.items():
            results[tool_name][mode] = measure.summary(samples)
    for tool in tools:
        if isinstance(tool, bench_tools.Confrt):
            results[tool.name]["phases_s"] = tool.phases(sites[tool.name])
    return {"name": name, "size": size, "links": links, "resources": workload.counts(), "tools": results}


def warm_up(tool, site):
    """One noop run of confrt: its bytecode is cached as an installed package's would be."""
    sample = measure.run(tool.argv(site, noop=True), env=tool.env(site), cwd=RUN_FOLDER)
    if not tool.applied(sample):
        sys.exit(f"bench: confrt noop failed (exit {sample.returncode}): {sample.last_error_line()}")


def compare_trees(tools, sites, results):
    """Each tool's tree against confrt's: byte for byte, mode and owner."""
    roots = {tool.name: os.path.join(sites[tool.name], "root") for tool in tools}
    reference = tree.snapshot(roots["confrt"])
    for tool in tools[1:]:
        other = tree.snapshot(roots[tool.name]) if os.path.isdir(roots[tool.name]) else {}
        lines = tree.differences(reference, other)
        results[tool.name]["same_tree_as_confrt"] = not lines
        if lines:
            results[tool.name]["problems"].append("tree differs from confrt's: " + "; ".join(lines))


def run_series(tools, sites, results, mode, args):
    """{tool: [Sample]} of `mode` runs, interleaved; a tool whose run is slow does fewer (--budget)."""
    samples = {tool.name: [] for tool in tools}
    planned = {tool.name: args.runs for tool in tools}
    for index in range(args.runs):
        for tool in tools:
            if index >= planned[tool.name]:
                continue
            site = sites[tool.name]
            root = os.path.join(site, "root")
            before = tree.stamps(root)
            sample = measure.run(tool.argv(site, noop=mode == "noop"), env=tool.env(site), cwd=RUN_FOLDER)
            touched = tree.touched(before, tree.stamps(root))
            samples[tool.name].append(sample)
            problems = results[tool.name]["problems"]
            if not tool.converged(sample):
                problems.append(f"{mode} run {index + 1}: exit {sample.returncode}: {sample.last_error_line()}")
            if touched:
                problems.append(f"{mode} run {index + 1} touched {len(touched)} paths, e.g. {touched[0]}")
            if index == 0:
                planned[tool.name] = max(1, min(args.runs, int(args.budget // max(sample.wall, 1e-3))))
                _progress(tool.name, f"{mode} ({planned[tool.name]} runs)", sample)
    return samples


def _progress(tool, what, sample):
    print(f"   {tool:15} {what:22} {sample.wall:8.3f} s wall {sample.cpu:7.3f} s cpu "
          f"{sample.rss_mib:6.1f} MiB  exit {sample.returncode}", flush=True)


def run_latency(confrt, runs):
    """`confrt facts`/`confrt lookup` against facter/`puppet lookup` (bench/cli_latency.py's cases)."""
    from bench import cli_latency

    print("== confrt facts / lookup against facter / puppet lookup", flush=True)
    return cli_latency.measure_all(confrt, runs=max(3, runs))


def print_report(report):
    print()
    print(f"{'case':14} {'tool':15} {'first s':>9} {'converged s':>12} {'cpu s':>7} {'noop s':>8} "
          f"{'RSS MiB':>8} {'x confrt':>9}")
    for case in report["cases"]:
        confrt = case["tools"]["confrt"].get("converged", {}).get("wall_s")
        for tool, result in case["tools"].items():
            converged = result.get("converged", {})
            ratio = f"{converged['wall_s'] / confrt:8.1f}x" if confrt and converged else ""
            print(f"{case['name']:14} {tool:15} {result['first']['wall_s']:9.3f} "
                  f"{converged.get('wall_s', float('nan')):12.3f} {converged.get('cpu_s', float('nan')):7.3f} "
                  f"{result.get('noop', {}).get('wall_s', float('nan')):8.3f} "
                  f"{converged.get('rss_mib', float('nan')):8.1f} {ratio:>9}")
            for problem in result["problems"]:
                print(f"{'':31}! {problem}")
    if report["latency"]:
        print()
        print(f"{'command':58} {'median':>9} {'cpu':>9}")
    for row in report["latency"]:
        shown = f"{row['median_ms']:6.1f} ms {row['cpu_ms']:6.1f} ms" if "median_ms" in row else \
            f"failed: {row['error']}"
        print(f"{row['name']:58} {shown}")
    print()
    for target in report["targets"]:
        print(f"target {VERDICTS[target['ok']]:6} {target['text']}: {target['measured']}")
    host = report["host"]
    print(f"{host['os']}, {host['cpus']} CPUs, Python {host['python']}, load average "
          f"{host['load_average_start']} -> {host['load_average_end']}, {report['duration_s']} s")


def save(report, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = path + ".tmp"
    with open(temp, "w") as handle:
        json.dump(report, handle, indent=1)
        handle.write("\n")
    os.replace(temp, path)
    print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    sys.exit(main())
