#!/usr/bin/python3
"""Self-test of plots/: plot.py draws the charts from the fixtures with the fixtures' values,
degrades on partial files, refuses malformed ones; compare.py computes the right ratios.

usage: /usr/bin/python3 plots/tests/selftest.py OUT_DIR      (make test runs it: plots-selftest)
The fixtures (fixture.json, fixture_b.json) are made-up numbers; see make_fixture.py.
"""

import contextlib
import copy
import io
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from matplotlib.colors import to_hex  # noqa: E402

import compare  # noqa: E402
import io_report  # noqa: E402
import plot  # noqa: E402
import results  # noqa: E402
import style  # noqa: E402

FIXTURE = os.path.join(HERE, "fixture.json")
FIXTURE_B = os.path.join(HERE, "fixture_b.json")
STEMS = ["switch", "switch_depth", "memory", "rates", "io_echo_throughput", "io_echo_p99",
         "io_echo_cpu", "io_http"]
passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def close(a, b, rel=1e-9):
    return a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b))


def run_plot(args):
    """plot.main with its stdout/stderr captured: (exit status, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = plot.main(args)
    return status, err.getvalue()


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def bars_by_label(ax):
    labels = [t.get_text() for t in ax.get_xticklabels()]
    return dict(zip(labels, ax.patches))


def errorbar_lines(ax):
    """The data line of every errorbar series on an axis."""
    return [c.lines[0] for c in ax.containers if hasattr(c, "has_yerr")]


def test_full(out):
    status, err = run_plot([FIXTURE, "--out", out + "/charts", "--report", out + "/report.md"])
    check("plot.py exits 0 on the fixture", status == 0, err)
    for stem in STEMS:
        png, svg = "%s/charts/%s.png" % (out, stem), "%s/charts/%s.svg" % (out, stem)
        with open(png, "rb") as f:
            head = f.read(8)
        check("%s.png is a PNG image of some size" % stem,
              head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 20000)
        with open(svg) as f:
            check("%s.svg is an SVG image" % stem, "<svg" in f.read(2000))

    res = results.load(FIXTURE)
    _, missing, figs = plot.draw(res, out + "/charts")
    colours = style.palette(res.ports())

    ax = figs["switch"].axes[0]
    bars = bars_by_label(ax)
    check("switch chart: a bar per port and per baseline", len(ax.patches) == 7, len(ax.patches))
    check("switch chart: bar height is the median (asm_separate 4 ns)",
          close(bars["asm_separate"].get_height(), 4.0))
    check("switch chart: the threads port is found behind its /real_time suffix",
          "threads" in bars and close(bars["threads"].get_height(), 4000.0))
    check("switch chart: log scale", ax.get_yscale() == "log")
    check("switch chart: the machine and date are on the chart",
          any("fixture-host" in t.get_text() and "2026-11-23" in t.get_text()
              for t in figs["switch"].texts))

    ax = figs["switch_depth"].axes[0]
    lines = errorbar_lines(ax)
    stackcopy = [ln for ln in lines if to_hex(ln.get_color()) == colours["stackcopy"]]
    check("switch_depth chart: a line per port", len(lines) == 4, len(lines))
    check("switch_depth chart: stackcopy at 64 KiB is 4510 ns",
          len(stackcopy) == 1 and close(list(stackcopy[0].get_ydata())[-1], 4510.0))

    left, right = figs["memory"].axes[:2]
    check("memory chart: stackcopy 640 bytes drawn in KiB",
          close(bars_by_label(left)["stackcopy"].get_height(), 640 / 1024))
    notes = [t.get_text() for t in right.texts]
    check("memory chart: the limit hit is named from the label",
          any("vm.max_map_count" in n for n in notes) and any("cap 1000000" in n for n in notes))

    fig = figs["io_echo_throughput"]
    panels = [a for a in fig.axes if a.get_title().endswith("messages")]
    check("io echo chart: a panel per message size",
          [a.get_title() for a in panels] == ["64-byte messages", "16 KiB messages"],
          [a.get_title() for a in panels])
    lines = errorbar_lines(panels[0])
    check("io echo chart: a line per port x loop and per peer", len(lines) == 12, len(lines))
    asm_uv = [ln for ln in lines if to_hex(ln.get_color()) == colours["asm_separate"]
              and ln.get_linestyle() == "--"]
    check("io echo chart: a port's server in its colour, libuv dashed, median at 100 conns",
          len(asm_uv) == 1 and list(asm_uv[0].get_xdata()) == [1, 100, 10000]
          and close(list(asm_uv[0].get_ydata())[1], 90000.0), asm_uv and asm_uv[0].get_ydata())
    peers = [ln for ln in lines if ln.get_linewidth() > 3]
    check("io echo chart: the four peers drawn apart (thick, grey/black, not a port colour)",
          len(peers) == 4 and not {to_hex(ln.get_color()) for ln in peers}
          & set(style.PORT_COLOURS.values()), len(peers))
    big = [ln for ln in errorbar_lines(panels[1]) if ln.get_marker() == "v"]
    check("io echo chart: a point out of reach is left out of its line",
          len(big) == 1 and list(big[0].get_xdata()) == [1, 100], big and big[0].get_xdata())
    check("io echo chart: the point out of reach is named with its reason",
          any("io_echo_peer/thread_per_conn/16384/10000 (connection 9001" in m
              for m in missing["io_echo_throughput"]), missing["io_echo_throughput"])
    check("io echo chart: log x", panels[0].get_xscale() == "log")
    cpu = errorbar_lines([a for a in figs["io_echo_cpu"].axes if a.get_title()][0])
    check("io cpu chart: server µs per round trip (gevent 20 at 64 B)",
          any(close(list(ln.get_ydata())[1], 20.0) and ln.get_marker() == "^" for ln in cpu))
    ax = figs["io_http"].axes[0]
    heights = sorted(round(p.get_height()) for p in ax.patches)
    check("io http chart: bars per server and connection count, pywsgi the lowest",
          len(ax.patches) == 20 and heights[0] == 5400 and heights[-1] == 80000,
          (len(ax.patches), heights[:2], heights[-1:]))

    colour_of = {}
    for a in figs["rates"].axes:
        for c in a.containers:
            if c.get_label() in colours and hasattr(c, "patches"):
                colour_of.setdefault(c.get_label(), set()).update(
                    to_hex(p.get_facecolor()) for p in c.patches)
    check("rates chart: bars per port in the port's colour",
          colour_of.get("asm_separate") == {colours["asm_separate"]}, colour_of)
    a_bar = bars_by_label(figs["switch"].axes[0])["asm_separate"]
    check("same colour for a port in every chart",
          to_hex(a_bar.get_facecolor()) == colours["asm_separate"]
          and to_hex(errorbar_lines(figs["switch_depth"].axes[0])[0].get_color())
          == colours["asm_separate"])
    p1 = style.palette(["newport", "other"])
    p2 = style.palette(["zzz", "newport"])
    check("an unknown port gets a colour of its own, the same whatever else is in the file",
          p1["newport"] == p2["newport"] and p1["newport"] not in style.PORT_COLOURS.values()
          and p1["newport"] != p1["other"])

    with open(out + "/report.md") as f:
        text = f.read()
    check("report: switch row with median, and ratio to its baseline",
          "| asm_separate | 4.00 | 0.133 | 3 | 2.00× baseline_regswap |" in text)
    check("report: io ratio table: the hub on asm_separate over libev callbacks and gevent",
          "| hub asm_separate (libev) | 100 | 100 k | 0.83× | 2.00× | 8.00 | 1.14× | 2.50× |"
          in text)
    check("report: io targets with their verdicts",
          "| hub asm_separate/libev, 100 conns: round trips/s ÷ libev callbacks | 0.83× | ≥ 0.95× "
          "| MISSED |" in text and "| HTTP hub asm_separate/libev, 100 conns: requests/s ÷ gevent "
          "pywsgi | 10.00× | ≥ 3.00× | met |" in text)
    check("report: the limit hit is in the table", "| threads | 9,800 |" in text
          and "| threads |" in text and "threads |" in text.split("Largest number")[1])
    check("report: HTTP runs that completed no request are counted beside the median",
          "| hub threads (libuv) | 1000 | 12 k (1 of 4 wrk runs completed nothing) |" in text)
    check("report: a point out of reach, with its reason",
          "| io_echo_peer/thread_per_conn/16384/10000 | connection 9001: the server closed it"
          in text and "pthread_create: Resource temporarily unavailable" in text)
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines()
             if line.startswith("![")]
    check("report: the charts are embedded by relative links that resolve",
          len(links) == len(STEMS) and all(not os.path.isabs(ln) and os.path.exists(
              os.path.join(out, ln)) for ln in links), links)
    check("report: machine description", "| CPU | Example CPU @ 2.10GHz (2 cores) |" in text)
    out_text = io.StringIO()
    with contextlib.redirect_stdout(out_text):
        status = io_report.main(["io_report.py", FIXTURE])
    summary = out_text.getvalue()
    check("io_report.py prints the I/O targets and ratios for the terminal",
          status == 0 and "## I/O" in summary and "÷ gevent" in summary
          and "| hub stackcopy/libev, 10000 conns: round trips/s ÷ gevent | 1.90× | ≥ 2.00× | MISSED |"
          in summary, summary[:400])


def test_partial(out):
    with open(FIXTURE) as f:
        doc = json.load(f)
    quick = copy.deepcopy(doc)
    quick["context"]["switchyard"]["quick"] = True
    quick["benchmarks"] = [b for b in doc["benchmarks"]
                           if not b["name"].startswith(("hub_", "io_"))
                           and results.case_name(b) != "switch_depth/stackcopy/64"]
    path = write_json(out + "/quick.json", quick)
    status, err = run_plot([path, "--out", out + "/quick", "--report", out + "/quick.md"])
    check("a QUICK file without hub and I/O cases still draws (exit 0)", status == 0, err)
    check("...all the charts", all(os.path.exists("%s/quick/%s.png" % (out, s)) for s in STEMS))
    check("...and says what is missing",
          "all hub_sleep0 cases" in err and "all io_echo cases" in err
          and "switch_depth/stackcopy/64" in err, err)
    with open(out + "/quick.md") as f:
        text = f.read()
    check("...the report too", "_No hub_sleep0 cases in this results file._" in text
          and "QUICK run" in text)

    zero = copy.deepcopy(doc)
    for b in zero["benchmarks"]:
        if results.case_name(b) == "io_echo/asm_separate/libev/64/1":
            b["round_trips_per_s"] = b["p99_us"] = 0.0
    path = write_json(out + "/zero.json", zero)
    status, err = run_plot([path, "--out", out + "/zero", "--no-report"])
    check("a zero where a log axis needs a positive value is named, not drawn",
          status == 0 and "io_echo/asm_separate/libev/64/1 (p99_us = 0)" in err, err)

    bare = {"benchmarks": [b for b in doc["benchmarks"] if b["name"].startswith("switch/")]}
    path = write_json(out + "/bare.json", bare)
    status, err = run_plot([path, "--out", out + "/bare", "--no-report"])
    check("a file with no context and only switch cases draws (exit 0)", status == 0, err)

    aggs_only = {"context": doc["context"],
                 "benchmarks": [b for b in doc["benchmarks"] if b["run_type"] == "aggregate"]}
    res = results.parse(aggs_only)
    check("aggregates only (report_aggregates_only): medians read",
          close(res.cases["switch/asm_separate"].median(), 4.0))
    single = {"benchmarks": [dict(b, repetitions=1) for b in doc["benchmarks"]
                             if b.get("repetition_index") == 1
                             and results.case_name(b) == "lifecycle/threads"]}
    res = results.parse(single)
    check("no repetitions: the single value is the median, no stddev",
          res.cases["lifecycle/threads"].median() is not None
          and res.cases["lifecycle/threads"].stddev() is None)


def test_malformed(out):
    cases = [
        ("not JSON", "{ this is not json", "not valid JSON"),
        ("no benchmarks list", '{"context": {}, "benchmarks": 3}', "no \"benchmarks\" list"),
        ("an entry without a name", '{"benchmarks": [{"real_time": 1}]}', "not a benchmark entry"),
        ("a time that is not a number", '{"benchmarks": [{"name": "switch/x", '
         '"run_type": "iteration", "real_time": "fast", "time_unit": "ns"}]}', "not a number"),
        ("an unknown time unit", '{"benchmarks": [{"name": "switch/x", "real_time": 1, '
         '"time_unit": "fortnights"}]}', "unknown time_unit"),
    ]
    for what, text, message in cases:
        path = out + "/bad.json"
        with open(path, "w") as f:
            f.write(text)
        status, err = run_plot([path, "--out", out + "/bad", "--no-report"])
        check("malformed file (%s): exit 1 with a clear message" % what,
              status == 1 and message in err, (status, err))
    status, err = run_plot([out + "/no-such-file.json", "--out", out + "/bad"])
    check("absent file: exit 1 naming make bench", status == 1 and "make bench" in err, err)


def test_compare(_out):
    a, b = results.load(FIXTURE), results.load(FIXTURE_B)
    rows, only_a, only_b, failed_cases = compare.compare(a, b)
    by = {(r.name, r.metric): r for r in rows}
    r = by[("switch/asm_separate", results.TIME)]
    check("compare: switch/asm_separate 4 ns -> 6 ns is B/A 1.5, worse",
          close(r.ratio, 1.5) and r.verdict == "worse", (r.ratio, r.verdict))
    r = by[("lifecycle/stackcopy", results.TIME)]
    check("compare: lifecycle/stackcopy 300 ns -> 0.15 us is B/A 0.5, better (units converted)",
          close(r.ratio, 0.5) and r.verdict == "better", (r.ratio, r.verdict))
    r = by[("io_echo/asm_separate/libev/64/100", "round_trips_per_s")]
    check("compare: echo round trips 100000 -> 80000 is B/A 0.8, worse",
          close(r.ratio, 0.8) and r.verdict == "worse", (r.ratio, r.verdict))
    r = by[("switch/ucontext", results.TIME)]
    check("compare: an unchanged case is B/A 1, within noise",
          close(r.ratio, 1.0) and r.verdict == "~", (r.ratio, r.verdict))
    check("compare: cases only in one file are listed",
          only_a == ["hub_timers/threads/libuv"] and only_b == ["switch/newport"],
          (only_a, only_b))
    check("compare: failed cases are listed, not compared",
          any(f.startswith("io_echo_peer/thread_per_conn/16384/10000") for f in failed_cases)
          and ("io_echo_peer/thread_per_conn/16384/10000", "round_trips_per_s") not in by)
    means = compare.geomeans(rows)
    check("compare: geometric mean of B/A over the switch cases (1.5 and three 1s)",
          close(means["switch"][0], 1.5 ** 0.25) and means["switch"][1] == 4, means.get("switch"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = compare.main([FIXTURE, FIXTURE_B])
    line = [ln for ln in out.getvalue().splitlines() if ln.startswith("switch/asm_separate ")]
    check("compare.py prints the ratio per case",
          status == 0 and len(line) == 1 and "1.500" in line[0] and "worse" in line[0], line)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = compare.main([FIXTURE, FIXTURE + ".absent"])
    check("compare.py: an unreadable file is exit 1", status == 1 and "cannot read" in
          err.getvalue(), err.getvalue())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: selftest.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for test in (test_full, test_partial, test_malformed, test_compare):
        try:
            test(out)
        except Exception:  # a crash is a failure of that group, the others still run
            check("%s ran to the end" % test.__name__, False, traceback.format_exc())
    print("%d passed, %d failed (plots selftest)" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
