#!/usr/bin/env python3
"""Converged `confrt apply` of many file resources (issue 3: 10,000 files in ~3 s at most).

Writes a site whose data declares --files files (content and mode) in 100
directories through the `resources` module, applies it once to converge, then
times --runs converged applies: wall and CPU time (user + system of the child,
less disturbed by a busy machine), with the phase times from
last_run_summary.yaml. Results go to bench/results/apply_files.json.

    python3 bench/apply_files.py [--files 10000] [--runs 3]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "results", "apply_files.json")
TARGET_SECONDS = 3.0


def write_site(root, count):
    import yaml

    tree = os.path.join(root, "tree")
    files = {f"{tree}/d{i % 100}/f{i}": {"content": f"line {i}\n", "mode": "0644"} for i in range(count)}
    directories = {tree: {}}
    directories.update({f"{tree}/d{j}": {} for j in range(min(count, 100))})
    os.makedirs(os.path.join(root, "data"))
    with open(os.path.join(root, "data", "common.yaml"), "w") as handle:
        yaml.safe_dump({"classes": ["resources"], "resources::file": files,
                        "resources::directory": directories}, handle)
    with open(os.path.join(root, "hiera.yaml"), "w") as handle:
        yaml.safe_dump({"version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
                        "hierarchy": [{"name": "common", "path": "common.yaml"}]}, handle)
    config = os.path.join(root, "confrt.yaml")
    with open(config, "w") as handle:
        yaml.safe_dump({"hiera_config": os.path.join(root, "hiera.yaml"), "statedir": os.path.join(root, "state"),
                        "local_data": os.path.join(root, "local.yaml"),
                        "facts_dir": os.path.join(root, "facts.d")}, handle)
    return config


def apply(config):
    """(wall seconds, CPU seconds, summary) of one `confrt apply`."""
    import yaml

    env = dict(os.environ, CONFRT_CONFIG=config, PYTHONPATH=REPO)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "confrt", "apply", "--detailed-exitcodes"], env=env,
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 2):
        sys.exit(f"confrt apply failed ({result.returncode}): {result.stderr.strip()}")
    with open(os.path.join(os.path.dirname(config), "state", "last_run_summary.yaml")) as handle:
        summary = yaml.safe_load(handle)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="confrt-bench-") as root:
        config = write_site(root, args.files)
        first_wall, _, _ = apply(config)
        runs = [apply(config) for _ in range(args.runs)]
    changed = [summary["resources"]["changed"] for _, _, summary in runs]
    if any(changed):
        sys.exit(f"converged runs changed resources: {changed}")
    phases = {name: statistics.median(s["time"].get(name, 0.0) for _, _, s in runs)
              for name in ("startup", "facts", "compile", "apply", "file", "total")}
    result = {
        "files": args.files, "runs": args.runs, "first_apply_wall_s": round(first_wall, 3),
        "converged_wall_s": round(statistics.median(w for w, _, _ in runs), 3),
        "converged_cpu_s": round(statistics.median(c for _, c, _ in runs), 3),
        "phases_s": {k: round(v, 3) for k, v in phases.items()},
        "target_s": TARGET_SECONDS, "load_average": os.getloadavg()[0],
    }
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump(result, handle, indent=1)
        handle.write("\n")
    print(json.dumps(result, indent=1))
    verdict = "within" if result["converged_cpu_s"] <= TARGET_SECONDS else "OVER"
    print(f"converged apply of {args.files} files: {result['converged_wall_s']} s wall, "
          f"{result['converged_cpu_s']} s CPU ({verdict} the {TARGET_SECONDS:g} s target)")


if __name__ == "__main__":
    main()
