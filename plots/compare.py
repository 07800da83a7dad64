#!/usr/bin/python3
"""Per-case ratios between two Switchyard results files: did a change help, or how does a new
port compare.

usage: /usr/bin/python3 plots/compare.py A.json B.json      (or: make compare A=... B=...)

For every case in both files, on the metric that case is judged by (ns for timed cases,
bytes_per_greenlet, max_greenlets; round_trips_per_s, server_cpu_us_per_rt and p99_us for the
I/O echo servers, requests_per_s and p99_us for HTTP): the median in A,
the median in B, B/A, and a verdict: "better"/"worse" when the medians differ by more than the
two stddevs together, "~" (within noise) otherwise. Then a geometric mean of B/A per family,
and the cases only one file has or that failed. Exit status 1 if a file cannot be read.
"""

import math
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import results as R  # noqa: E402

# family -> [(metric, higher is better)]
METRICS = {
    "memory": [("bytes_per_greenlet", False)],
    "max_greenlets": [("max_greenlets", True)],
    "io_echo": [("round_trips_per_s", True), ("server_cpu_us_per_rt", False), ("p99_us", False)],
    "io_echo_peer": [("round_trips_per_s", True), ("server_cpu_us_per_rt", False),
                     ("p99_us", False)],
    "io_http": [("requests_per_s", True), ("p99_us", False)],
    "io_http_peer": [("requests_per_s", True), ("p99_us", False)],
}
UNITS = {R.TIME: "ns", "bytes_per_greenlet": "bytes", "max_greenlets": "greenlets",
         "round_trips_per_s": "round trips/s", "p99_us": "µs p99",
         "server_cpu_us_per_rt": "server µs/rt", "requests_per_s": "requests/s"}


class Row:
    def __init__(self, name, metric, a, b, sd_a, sd_b, higher_better):
        self.name, self.metric, self.a, self.b = name, metric, a, b
        self.ratio = b / a if a else None
        noise = (sd_a or 0.0) + (sd_b or 0.0)
        if abs(b - a) <= noise:
            self.verdict = "~"
        else:
            self.verdict = "better" if (b > a) == higher_better else "worse"


def compare(a, b):
    """Rows for the cases both Results have, then names only in A, only in B, and failed."""
    rows, failed = [], []
    for name, ca in a.cases.items():
        cb = b.cases.get(name)
        if cb is None:
            continue
        if ca.error or cb.error:
            failed.append("%s (%s)" % (name, "; ".join(
                "%s: %s" % (w, c.error) for w, c in (("A", ca), ("B", cb)) if c.error)))
            continue
        for metric, higher in METRICS.get(ca.family, [(R.TIME, False)]):
            if ca.has(metric) and cb.has(metric):
                rows.append(Row(name, metric, ca.median(metric), cb.median(metric),
                                ca.stddev(metric), cb.stddev(metric), higher))
    key = lambda name: R.sort_key(a, name)  # noqa: E731
    rows.sort(key=lambda r: key(r.name))
    failed.sort(key=lambda f: key(f.split(" ")[0]))
    only_a = sorted((n for n in a.cases if n not in b.cases), key=key)
    only_b = sorted((n for n in b.cases if n not in a.cases), key=lambda n: R.sort_key(b, n))
    return rows, only_a, only_b, failed


def geomeans(rows):
    """family -> (geometric mean of B/A on the family's first metric, number of cases)."""
    logs = {}  # insertion order = the rows' order
    for row in rows:
        family = row.name.split("/")[0]
        first = METRICS.get(family, [(R.TIME, False)])[0][0]
        if row.metric == first and row.ratio:
            logs.setdefault(family, []).append(math.log(row.ratio))
    return {f: (math.exp(sum(v) / len(v)), len(v)) for f, v in logs.items()}


def _describe(res):
    sy = res.sy
    return "%s (%s, %s%s)" % (res.path, sy.get("host") or res.context.get("host_name", "?"),
                              sy.get("date") or res.context.get("date", "?"),
                              ", QUICK" if sy.get("quick") else "")


def _num(v):
    return "{:,.0f}".format(v) if abs(v) >= 1000 else "%.4g" % v


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends quietly
    if len(argv) != 2:
        print("usage: compare.py A.json B.json  (make compare A=<file> B=<file>)", file=sys.stderr)
        return 2
    try:
        a, b = R.load(argv[0]), R.load(argv[1])
    except R.ResultsError as e:
        print("compare.py: %s" % e, file=sys.stderr)
        return 1
    rows, only_a, only_b, failed = compare(a, b)
    print("A: " + _describe(a))
    print("B: " + _describe(b))
    print("B/A < 1 means B is smaller (faster, for ns); verdict '~' = within the two stddevs.\n")
    width = max([len(r.name) for r in rows] + [4])
    print("%-*s  %-14s %14s %14s %8s  %s" % (width, "case", "metric", "A", "B", "B/A", "verdict"))
    for r in rows:
        print("%-*s  %-14s %14s %14s %8s  %s" % (
            width, r.name, UNITS.get(r.metric, r.metric), _num(r.a), _num(r.b),
            "%.3f" % r.ratio if r.ratio is not None else "-", r.verdict))
    means = geomeans(rows)
    if means:
        print("\ngeometric mean of B/A per family:")
        for family, (mean, n) in means.items():
            print("  %-24s %.3f  (%d cases)" % (family, mean, n))
    for title, names in (("only in A", only_a), ("only in B", only_b), ("failed", failed)):
        if names:
            print("\n%s (%d): %s" % (title, len(names), ", ".join(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
