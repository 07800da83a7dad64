"""The Markdown report: machine, headline ratios, the charts, and a table per case family."""

import math
import os

import io_report
from results import HEADLINE_RATIOS, TIME, baseline_of, ratio, sort_key

# family -> (heading, names of the name parts after the family, [(metric, column header)],
#            per-second rate column header or None, families whose rows join the table)
TABLES = [
    ("switch", "Switch: ns per switch", ["port"], [(TIME, "ns per switch")], None,
     ["baseline_regswap", "baseline_swapcontext", "baseline_thread_handoff"]),
    ("switch_depth", "Switch at a live stack depth: ns per switch", ["port", "KiB"],
     [(TIME, "ns per switch")], None, []),
    ("lifecycle", "Lifecycle: ns per greenlet created, run to completion and destroyed",
     ["port"], [(TIME, "ns per greenlet")], "greenlets/s", []),
    ("memory", "Memory: RSS growth per suspended greenlet", ["port"],
     [("bytes_per_greenlet", "bytes per greenlet")], None, []),
    ("max_greenlets", "Largest number of greenlets held at once", ["port"],
     [("max_greenlets", "greenlets")], None, []),
    ("hub_sleep0", "Hub sleep(0) round robin: ns per switch", ["port", "loop", "greenlets"],
     [(TIME, "ns per switch")], "switches/s", []),
    ("hub_timers", "Hub timers: ns per timer armed, fired, greenlet resumed", ["port", "loop"],
     [(TIME, "ns per timer")], "timers/s", []),
]
MACHINE_FIELDS = [("host", "host"), ("date", "date"), ("machine", "machine"), ("cpu", "CPU"),
                  ("kernel", "kernel"), ("compiler", "compiler"), ("cflags", "CFLAGS"),
                  ("libev", "libev"), ("libuv", "libuv"),
                  ("benchmark_library", "Google Benchmark"),
                  ("benchmark_library_build_type", "Google Benchmark build type"),
                  ("ports", "ports"), ("quick", "QUICK run")]


def num(v):
    """Readable number: 3 significant figures, thousands separated, no exponent."""
    if v is None:
        return "–"
    if abs(v) >= 1e4:
        return "{:,.0f}".format(v)
    if v == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    return "{:,.{}f}".format(v, digits)


def _row_parts(case, family, nparts):
    """The name parts of a case under its table's columns (a baseline fills the first)."""
    if case.family != family:
        label = "baseline: " + case.family.replace("baseline_", "")
        return [label] + case.parts[1:] + [""] * (nparts - 1 - len(case.parts[1:]))
    parts = case.parts[1:]
    return (parts + [""] * nparts)[:nparts] if len(parts) <= nparts else \
        parts[: nparts - 1] + ["/".join(parts[nparts - 1:])]


def _table(results, family, heading, part_names, metrics, rate, joined):
    cases = sorted((c for c in results.cases.values() if c.family in [family] + joined),
                   key=lambda c: sort_key(results, c.name))
    if not cases:
        return ["### %s" % heading, "", "_No %s cases in this results file._" % family, ""]
    with_ratio = any(ratio(results, c.name) is not None for c in cases)
    header = part_names + [h for m, h in metrics for h in (h + " (median)", "stddev")]
    if rate:
        header.append(rate)
    header.append("reps")
    align = ["---"] * len(part_names) + ["---:"] * (len(header) - len(part_names))
    if with_ratio:
        header.append("ratio to baseline")
        align.append("---")
    if family == "max_greenlets":
        header.append("limit hit")
        align.append("---")
    lines = ["### %s" % heading, "", "| " + " | ".join(header) + " |",
             "|" + "|".join(align) + "|"]
    for case in cases:
        row = _row_parts(case, family, len(part_names))
        if case.error:
            row += ["failed: " + case.error.replace("|", "\\|")] + [""] * (len(header) - len(row) - 1)
            lines.append("| " + " | ".join(row) + " |")
            continue
        for metric, _ in metrics:
            row += [num(case.median(metric)), num(case.stddev(metric))]
        if rate:
            m = case.median(TIME)
            row.append(num(1e9 / m) if m else "–")
        row.append(str(case.reps()))
        r = ratio(results, case.name)
        if with_ratio:
            row.append("%.2f× %s" % (r, baseline_of(case.name)[0]) if r is not None else "")
        if family == "max_greenlets":
            row.append(case.label or "not named")
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def _headlines(results):
    lines = ["| case | median | baseline | baseline median | ratio |", "|---|---:|---|---:|---:|"]
    for case, base, metric in HEADLINE_RATIOS:
        names = [case] if "*" not in case else \
            [case.replace("*", p) for p in results.ports()]
        for name in names:
            c, b = results.cases.get(name), results.cases.get(base)
            r = ratio(results, name)
            unit = "ns" if metric == TIME else metric
            lines.append("| %s | %s | %s | %s | %s |" % (
                name, num(c.median(metric)) + " " + unit if c and c.has(metric) else "missing",
                base, num(b.median(metric)) + " " + unit if b and b.has(metric) else "missing",
                "%.2f×" % r if r is not None else "–"))
    return lines + [""]


def write(results, charts, path, missing):
    """charts: [(stem, title, png path)]; missing: {stem: [what the chart lacks]}."""
    sy, gb = results.sy, results.context
    here = os.path.dirname(os.path.abspath(path))
    source = os.path.abspath(results.path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if source.startswith(root + os.sep):
        source = os.path.relpath(source, root)
    out = ["# Switchyard benchmark results", "",
           "From `%s`. Figures are the median over the repetitions of each case, with the "
           "standard deviation; times are wall-clock (`real_time`). Charts and this report are "
           "drawn by `make plots` (plots/plot.py)." % source, ""]
    if sy.get("quick"):
        out += ["**QUICK run**: short and few repetitions; the figures are indicative only.", ""]
    out += ["## Machine", "", "| | |", "|---|---|"]
    labels = dict(MACHINE_FIELDS)
    keys = [k for k, _ in MACHINE_FIELDS if k in sy] + \
        [k for k in sy if k not in labels and k != "notes"]  # whatever else the harness records
    for key in keys:
        value = sy[key]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out.append("| %s | %s |" % (labels.get(key, key.replace("_", " ")),
                                    str(value).replace("|", "\\|")))
    for key in ("num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "load_avg"):
        if key in gb:
            out.append("| %s | %s |" % (key.replace("_", " "), gb[key]))
    if not sy:
        out.append("| note | no `context.switchyard` in this file |")
    notes = sy.get("notes")
    if isinstance(notes, list) and notes:
        out += [""] + ["- %s" % n for n in notes]
    out += ["", "## Ratios to the baselines", "", "Each figure over the reference it is "
            "measured against (switch cost over the raw switch of the same kind; the I/O "
            "servers' ratios are in the I/O section).", ""]
    out += _headlines(results)
    out += ["## Charts", ""]
    for stem, title, png in charts:
        rel = os.path.relpath(png, here)
        out += ["### %s" % title, "", "![%s](%s)" % (title, rel), ""]
        if missing.get(stem):
            out += ["Not in this results file: " + "; ".join(missing[stem]) + ".", ""]
    out += ["## Figures", ""]
    for spec in TABLES:
        out += _table(results, *spec)
    out += io_report.sections(results)
    known = {t[0] for t in TABLES} | {f for t in TABLES for f in t[5]} | io_report.FAMILIES
    others = [c for c in results.cases.values() if c.family not in known]
    if others:
        out += ["### Other cases", "", "| case | ns (median) | stddev | counters (median) |",
                "|---|---:|---:|---|"]
        for c in others:
            counters = ", ".join("%s=%s" % (k, num(c.median(k))) for k in sorted(set(c.samples) | set(c.agg.get("median", {})))
                                 if k != TIME)
            out.append("| %s | %s | %s | %s |" % (c.name, "failed: " + c.error if c.error
                                                  else num(c.median()), num(c.stddev()), counters))
        out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
