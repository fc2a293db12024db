#!/usr/bin/env python3
"""The Markdown tables of a bench result (for README.md): python3 bench/markdown.py [bench/results/bench.json]."""
import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "bench.json")
VERDICTS = {True: "ok", False: "MISSED", None: "n/a"}


def tables(report):
    host = report["host"]
    lines = [f"{report['date']}, {host['os']}, {host['cpus']} CPUs ({host['machine']}, kernel {host['kernel']}), "
             f"Python {host['python']}, load average {host['load_average_start']} -> {host['load_average_end']}, "
             f"{report['runs']} runs, {report['duration_s']:.0f} s in all. Medians; `x` is the tool's converged "
             f"wall time over confrt's.",
             "", "| case | tool | first s | converged s | CPU s | noop s | RSS MiB | x |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case in report["cases"]:
        base = case["tools"]["confrt"]["converged"]["wall_s"]
        for tool, result in case["tools"].items():
            converged = result["converged"]
            lines.append(f"| {case['name']} | {tool} | {result['first']['wall_s']:.3f} | {converged['wall_s']:.3f} | "
                         f"{converged['cpu_s']:.3f} | {result['noop']['wall_s']:.3f} | {converged['rss_mib']:.1f} | "
                         f"{converged['wall_s'] / base:.1f} |")
    if report["latency"]:
        lines += ["", "| command | wall ms | CPU ms |", "| --- | ---: | ---: |"]
        lines += [f"| {row['name']} | {row['median_ms']:.1f} | {row['cpu_ms']:.1f} |" if "median_ms" in row
                  else f"| {row['name']} | failed: {row['error']} | |" for row in report["latency"]]
    lines += ["", "| target | measured | |", "| --- | --- | --- |"]
    lines += [f"| {t['text']} | {t['measured']} | {VERDICTS[t['ok']]} |" for t in report["targets"]]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else RESULTS) as handle:
        print(tables(json.load(handle)))
