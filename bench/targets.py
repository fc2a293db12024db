"""The issue's targets, checked against a bench report (ratios from the same run only).

Each check gives {"text", "measured", "ok"}: ok is None when the report lacks
what the target needs (a tool was skipped, a size was not run).
"""
PUPPET_RATIO = 15            # converged N=221: at most 1/15 of puppet apply's wall time
RSS_LIMIT_MIB = 40.0         # converged N=221: peak RSS
LARGE_SIZE, LARGE_LIMIT_S = 10000, 3.0
LINEAR_FROM = 1000           # per-resource cost at LARGE_SIZE vs at this size
LINEAR_SLACK = 1.5           # allowed growth of the per-resource cost (quadratic would be ~10x)


def _converged(report, size, tool, links=None):
    for case in report["cases"]:
        if case["size"] == size and (links is None or case["links"] == links):
            return case["tools"].get(tool, {}).get("converged")
    return None


def _linear(report, tool):
    """Per-resource converged time at LARGE_SIZE within LINEAR_SLACK of that at LINEAR_FROM."""
    large, small = _converged(report, LARGE_SIZE, tool), _converged(report, LINEAR_FROM, tool)
    text = (f"{tool} cost linear in N: per-resource converged time at N={LARGE_SIZE} <= {LINEAR_SLACK:g}x "
            f"that at N={LINEAR_FROM}")
    if not (large and small):
        return _result(text, "not measured", None)
    per_large, per_small = large["wall_s"] / LARGE_SIZE, small["wall_s"] / LINEAR_FROM
    return _result(text, f"{per_large * 1e6:.0f} us vs {per_small * 1e6:.0f} us per resource",
                   per_large <= LINEAR_SLACK * per_small)


def slower(confrt, other):
    """How many times slower `other` was than confrt: the median of the ratios of runs made side by
    side (run i of each tool, interleaved, so a busy moment slows both), or of the medians."""
    if not (confrt and other):
        return None
    pairs = list(zip(confrt.get("walls_s", []), other.get("walls_s", [])))
    if pairs:
        import statistics

        return statistics.median(theirs / ours for ours, theirs in pairs)
    return other["wall_s"] / confrt["wall_s"]


def _versus(confrt, other, ratio):
    if ratio is None:
        return "not measured"
    return f"{confrt['wall_s']:.3f} s vs {other['wall_s']:.3f} s (medians); {ratio:.2f}x run for run"


def _result(text, measured, ok):
    return {"text": text, "measured": measured, "ok": ok}


def check(report):
    reference = 221
    confrt = _converged(report, reference, "confrt", links=False)
    puppet = _converged(report, reference, "puppet", links=False)
    cfengine = _converged(report, reference, "cfengine", links=False)
    found = []
    text = f"N={reference} converged: confrt <= 1/{PUPPET_RATIO} of puppet apply's wall time"
    ratio = slower(confrt, puppet)
    found.append(_result(text, _versus(confrt, puppet, ratio), ratio >= PUPPET_RATIO if ratio else None))
    text = f"N={reference} converged: confrt faster than cf-agent"
    ratio = slower(confrt, cfengine)
    found.append(_result(text, _versus(confrt, cfengine, ratio), ratio > 1 if ratio else None))
    text = f"N={reference} converged: confrt peak RSS <= {RSS_LIMIT_MIB:g} MiB"
    found.append(_result(text, f"{confrt['rss_mib']:.1f} MiB" if confrt else "not measured",
                         confrt["rss_mib"] <= RSS_LIMIT_MIB if confrt else None))
    large = _converged(report, LARGE_SIZE, "confrt")
    text = f"N={LARGE_SIZE} converged: confrt within {LARGE_LIMIT_S:g} s"
    found.append(_result(text, f"{large['wall_s']:.3f} s" if large else "not measured",
                         large["wall_s"] <= LARGE_LIMIT_S if large else None))
    found.append(_linear(report, "confrt"))
    problems = [f"{case['name']} {tool}: {problem}" for case in report["cases"]
                for tool, result in case["tools"].items() for problem in result["problems"]]
    found.append(_result("same work: every tool's tree equals confrt's, converged and noop runs change "
                         "nothing, no run fails", "; ".join(problems[:3]) or "yes", not problems))
    return found
