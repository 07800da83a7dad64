"""Read a Switchyard results file (Google Benchmark 1.7 JSON, merged by the harness).

The format is fixed in the project's conventions: {"context": {..., "switchyard": {...}},
"benchmarks": [Google Benchmark entries]}. Each benchmark has per-repetition entries
(run_type "iteration") and aggregates (run_type "aggregate", aggregate_name "median",
"stddev", ...). This module turns that into one Case per benchmark name with the median and
stddev of every metric, so the charts, the report and compare.py read the same numbers.

Time metric: real_time, converted to ns. The threads port only makes sense in wall time
(cpu_time covers only the calling thread), so every port is read the same way.
"""

import json
import math
import re
import statistics

TIME = "time_ns"  # the metric name under which a case's real_time (in ns) is stored
TIME_FIELD = "real_time"
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# Keys Google Benchmark writes that are not user counters.
GB_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "label", "aggregate_name", "aggregate_unit", "error_occurred",
    "error_message", "big_o", "rms", "complexity", "complexity_n",
}

# Name components Google Benchmark appends to a registered name (UseRealTime(),
# Iterations(n), Repetitions(n), MinTime(t), Threads(n), ...): not part of the case name.
GB_SUFFIX = re.compile(r"^(real_time|manual_time|process_time|[a-z_]+:.*)$")


# Case families named <family>/<port>/...: where ports are found when the context lists none.
PORT_FAMILIES = {"switch", "switch_depth", "lifecycle", "memory", "max_greenlets", "hub_sleep0",
                 "hub_timers", "io_echo", "io_http"}


class ResultsError(Exception):
    """The file cannot be read as a Switchyard results file."""


class Case:
    """One benchmark (e.g. "hub_sleep0/asm_separate/libev/1000") with its summary statistics."""

    def __init__(self, name):
        self.name = name
        self.parts = name.split("/")
        self.family = self.parts[0]
        self.samples = {}   # metric -> [value per repetition]
        self.agg = {}       # aggregate_name -> {metric: value}
        self.label = None
        self.error = None
        self.repetitions = 0

    def median(self, metric=TIME):
        if metric in self.agg.get("median", {}):
            return self.agg["median"][metric]
        values = self.samples.get(metric)
        return statistics.median(values) if values else None

    def stddev(self, metric=TIME):
        """Spread over repetitions; None when there is only one."""
        if metric in self.agg.get("stddev", {}):
            return self.agg["stddev"][metric]
        values = self.samples.get(metric)
        return statistics.stdev(values) if values and len(values) > 1 else None

    def reps(self):
        n = max((len(v) for v in self.samples.values()), default=0)
        return max(n, self.repetitions if self.ok() else 0)

    def ok(self):
        return self.error is None and self.median() is not None

    def has(self, metric):
        return self.error is None and self.median(metric) is not None

    def __repr__(self):
        return "Case(%s, median=%r)" % (self.name, self.median())


class Results:
    def __init__(self, path, context, cases):
        self.path = path
        self.context = context
        self.sy = context.get("switchyard") if isinstance(context.get("switchyard"), dict) else {}
        self.cases = cases  # name -> Case, in file order

    def get(self, *parts):
        return self.cases.get("/".join(str(p) for p in parts))

    def family(self, family):
        return [c for c in self.cases.values() if c.family == family]

    def ports(self):
        """Ports in the order the harness lists them, then any others seen in case names."""
        listed = [p for p in self.sy.get("ports", []) if isinstance(p, str)]
        seen = []
        for c in self.cases.values():
            if c.family in PORT_FAMILIES and len(c.parts) > 1:
                if c.parts[1] not in seen:
                    seen.append(c.parts[1])
        return listed + sorted(p for p in seen if p not in listed)

    def machine_line(self):
        """One line naming the machine and the date of the run, for every chart."""
        sy, gb = self.sy, self.context
        host = sy.get("host") or gb.get("host_name") or "unknown host"
        kernel = " ".join(str(sy.get("kernel", "")).split()[:2])
        cpus = "%s CPUs" % gb["num_cpus"] if "num_cpus" in gb else ""
        what = [str(sy[k]) for k in ("cpu", "machine") if sy.get(k)] + [cpus, kernel]
        what = [w for w in what if w] or ["machine not recorded"]
        date = sy.get("date") or gb.get("date") or "date not recorded"
        line = "%s · %s · %s" % (host, ", ".join(what), date)
        if sy.get("quick"):
            line += " · QUICK run (short, indicative only)"
        if not sy:
            line += " · no switchyard context in this file"
        return line


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def case_name(entry):
    """The case name of an entry, without Google Benchmark's suffixes and aggregate name."""
    name = entry.get("run_name")
    if not isinstance(name, str) or not name:
        name = entry["name"]
        agg = entry.get("aggregate_name")
        if entry.get("run_type") == "aggregate" and isinstance(agg, str) and name.endswith("_" + agg):
            name = name[: -len(agg) - 1]
    parts = [p for p in name.split("/") if not GB_SUFFIX.match(p)]
    return "/".join(parts)


def _metrics(entry, where):
    """Every numeric metric of an entry: the time in ns and each user counter."""
    out = {}
    if TIME_FIELD in entry:
        unit = entry.get("time_unit", "ns")
        if unit not in NS_PER_UNIT:
            raise ResultsError("%s: unknown time_unit %r" % (where, unit))
        if not _number(entry[TIME_FIELD]):
            raise ResultsError("%s: %s is not a number" % (where, TIME_FIELD))
        out[TIME] = entry[TIME_FIELD] * NS_PER_UNIT[unit]
    for key, value in entry.items():
        if key not in GB_KEYS and _number(value):
            out[key] = float(value)
    return out


def load(path):
    """Read and check a results file; raises ResultsError with a readable reason."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ResultsError("%s: cannot read: %s" % (path, e.strerror or e))
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ResultsError("%s: not valid JSON: %s" % (path, e))
    return parse(doc, path)


def parse(doc, path="<results>"):
    if not isinstance(doc, dict):
        raise ResultsError("%s: expected a JSON object with \"context\" and \"benchmarks\"" % path)
    benchmarks = doc.get("benchmarks")
    if not isinstance(benchmarks, list):
        raise ResultsError("%s: no \"benchmarks\" list: not a Google Benchmark results file" % path)
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise ResultsError("%s: \"context\" is not an object" % path)

    cases = {}
    for i, entry in enumerate(benchmarks):
        where = "%s: benchmarks[%d]" % (path, i)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ResultsError("%s: not a benchmark entry (an object with a \"name\")" % where)
        where += " (%s)" % entry["name"]
        name = case_name(entry)
        case = cases.get(name) or cases.setdefault(name, Case(name))
        if isinstance(entry.get("label"), str) and entry["label"]:
            case.label = entry["label"]
        if _number(entry.get("repetitions")):
            case.repetitions = max(case.repetitions, int(entry["repetitions"]))
        if entry.get("error_occurred"):
            case.error = str(entry.get("error_message") or "error (no message)")
            continue
        metrics = _metrics(entry, where)
        run_type = entry.get("run_type", "iteration")
        if run_type == "aggregate":
            agg = entry.get("aggregate_name")
            if not isinstance(agg, str):
                raise ResultsError("%s: aggregate without an aggregate_name" % where)
            case.agg[agg] = metrics
        elif run_type == "iteration":
            for metric, value in metrics.items():
                case.samples.setdefault(metric, []).append(value)
        else:
            raise ResultsError("%s: unknown run_type %r" % (where, run_type))
    return Results(path, context, cases)


# ---- what each figure is compared with (fixed in the project's conventions) ------------
# (case, baseline case, metric). The I/O servers' ratios (to the libev callback server, to
# gevent) are io_report.py's.
HEADLINE_RATIOS = [
    ("switch/asm_separate", "baseline_regswap", TIME),
    ("switch/ucontext", "baseline_swapcontext", TIME),
    ("switch/threads", "baseline_thread_handoff", TIME),
    ("switch_depth/stackcopy/0", "switch/asm_separate", TIME),
]


def baseline_of(name):
    """(baseline case name, metric) that a case is compared with, or None."""
    for case, base, metric in HEADLINE_RATIOS:
        if name == case:
            return base, metric
    return None


def ratio(results, name):
    """median(case) / median(its baseline) on the metric they are compared by, or None."""
    pair = baseline_of(name)
    if not pair:
        return None
    case, base = results.cases.get(name), results.cases.get(pair[0])
    if not case or not base or not case.has(pair[1]) or not base.has(pair[1]):
        return None
    b = base.median(pair[1])
    return case.median(pair[1]) / b if b else None


# ---- a stable order for tables and listings (the file's order is shuffled by interleaving)
FAMILY_ORDER = ["baseline_regswap", "baseline_swapcontext", "baseline_thread_handoff", "switch",
                "switch_depth", "lifecycle", "memory", "max_greenlets", "hub_sleep0",
                "hub_timers", "io_echo", "io_echo_peer", "io_http", "io_http_peer"]


def sort_key(results, name):
    """Family in FAMILY_ORDER (others after, by name), then port in the file's port order,
    then the remaining name parts: numbers numerically, words alphabetically."""
    parts = name.split("/")
    family = parts[0]
    rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
    ports = results.ports()
    rest = parts[1:]
    port = (0, "")
    if family in PORT_FAMILIES and rest:
        port = (ports.index(rest[0]) if rest[0] in ports else len(ports), rest[0])
        rest = rest[1:]
    return (rank, family, port) + tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                                        for p in rest)
