#!/usr/bin/python3
"""The I/O figures of a results file (harness/io/run.sh): the servers, their ratios to the plain
libev callback server and to gevent, the issue's targets, the tables of the Markdown report.

usage: /usr/bin/python3 plots/io_report.py RESULTS.json     the I/O summary, on the terminal
(harness/run.sh prints it after a run; plots/report.py puts sections() in the report).

Case names: io_echo/<port>/<loop>/<bytes>/<conns> (the hub's server on a port),
io_echo_peer/<peer>/<bytes>/<conns>, io_http/<port>/<loop>/<conns>, io_http_peer/<peer>/<conns>.
Each figure is the median over a point's repetitions (echo: the slices of its window; HTTP: wrk
runs). Pure Python: no matplotlib needed.
"""

import math
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import results as R  # noqa: E402

ECHO, ECHO_PEER, HTTP, HTTP_PEER = "io_echo", "io_echo_peer", "io_http", "io_http_peer"
FAMILIES = {ECHO, ECHO_PEER, HTTP, HTTP_PEER}
LOOPS = ["libev", "libuv"]
# Peers in this order, with what they are; a peer not listed (a server of your own) follows.
PEERS = [("libev_callback", "libev callbacks"), ("libuv_poll", "libuv uv_poll + recv"),
         ("libuv_stream", "libuv uv_tcp streams"), ("gevent", "gevent"),
         ("thread_per_conn", "thread per connection")]
PEER_LABEL = dict(PEERS)
GEVENT_LABEL = {ECHO_PEER: "gevent StreamServer", HTTP_PEER: "gevent pywsgi"}
LIBEV, GEVENT, UV_POLL, UV_STREAM = "libev_callback", "gevent", "libuv_poll", "libuv_stream"
# The targets hold for the ports whose switch is cheap (asm_separate, stackcopy).
TARGET_PORTS = ["asm_separate", "stackcopy"]


class Server:
    """One server of a family: the hub's on a port and loop, or a peer."""

    def __init__(self, family, name):
        self.family, self.name = family, name
        parts = name.split("/")
        self.port, self.loop = (parts[0], parts[1]) if family in (ECHO, HTTP) else (None, None)
        self.peer = None if self.port else name

    @property
    def label(self):
        if self.peer:
            return GEVENT_LABEL.get(self.family, "gevent") if self.peer == GEVENT \
                else PEER_LABEL.get(self.peer, self.peer)
        return "hub %s (%s)" % (self.port, self.loop)

    def case(self, results, *point):
        return results.cases.get("/".join([self.family, self.name] + [str(p) for p in point]))


def servers(results, family):
    """The servers a family has in the file: ports (file order) x loops, then peers."""
    found = []
    for case in results.cases.values():
        if case.family != family:
            continue
        keep = 2 if family in (ECHO, HTTP) else 1
        name = "/".join(case.parts[1:1 + keep])
        if name not in found:
            found.append(name)
    if family in (ECHO, HTTP):
        ports = results.ports()
        rank = lambda n: (ports.index(n.split("/")[0]) if n.split("/")[0] in ports  # noqa: E731
                          else len(ports), n.split("/")[0],
                          LOOPS.index(n.split("/")[1]) if n.split("/")[1] in LOOPS else 9)
    else:
        order = [p for p, _ in PEERS]
        rank = lambda n: (order.index(n) if n in order else len(order), n)  # noqa: E731
    return [Server(family, n) for n in sorted(found, key=rank)]


def numbers(results, families, index):
    """The numbers at one position of the case names of some families, sorted."""
    return sorted({int(c.parts[index]) for c in results.cases.values()
                   if c.family in families and len(c.parts) > abs(index)
                   and c.parts[index].isdigit()})


def value(case, metric):
    return case.median(metric) if case is not None and case.has(metric) else None


def peer(results, family, name):
    return Server(family, name) if any(c.family == family and len(c.parts) > 1 and
                                       c.parts[1] == name for c in results.cases.values()) \
        else None


def ratio(a, b):
    return a / b if a is not None and b else None


# ---- formatting ---------------------------------------------------------------------------
def num(v, unit=""):
    if v is None:
        return "–"
    for div, suffix in ((1e6, " M"), (1e3, " k")):
        if abs(v) >= div * 10:
            return "%.0f%s%s" % (v / div, suffix, unit)
        if abs(v) >= div:
            return "%.1f%s%s" % (v / div, suffix, unit)
    return ("%.0f" if abs(v) >= 100 else "%.1f" if abs(v) >= 10 else "%.2f") % v + \
        (" " + unit if unit else "")


def us(v):
    """Microseconds readably: 850 µs, 12.3 ms, 1.20 s."""
    if v is None:
        return "–"
    if v >= 1e6:
        return "%.2f s" % (v / 1e6)
    if v >= 1e3:
        return "%.3g ms" % (v / 1e3)
    return "%.3g µs" % v


def times(r):
    return "%.2f×" % r if r is not None else "–"


def table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


# ---- the sections -------------------------------------------------------------------------
def _headline_point(results):
    """The message size and connection counts the ratio table uses: 64 B (or the smallest)
    at 100 and 1 000 connections (or those present)."""
    sizes = numbers(results, [ECHO, ECHO_PEER], -2)
    conns = numbers(results, [ECHO, ECHO_PEER], -1)
    wanted = [n for n in (100, 1000) if n in conns] or conns[:2]
    return (sizes[0] if sizes else None), wanted


def ratio_rows(results):
    """Each port server's ratio to the libev callback server and to gevent (and, on libuv, to
    the uv_poll server) at the headline points: [(server, conns, dict)]."""
    size, conns = _headline_point(results)
    libev, gevent = peer(results, ECHO_PEER, LIBEV), peer(results, ECHO_PEER, GEVENT)
    uv_poll, uv_stream = peer(results, ECHO_PEER, UV_POLL), peer(results, ECHO_PEER, UV_STREAM)
    rows = []
    for server in servers(results, ECHO):
        for n in conns:
            c = server.case(results, size, n)
            rate, cpu = value(c, "round_trips_per_s"), value(c, "server_cpu_us_per_rt")
            ref = lambda s, m: value(s.case(results, size, n), m) if s else None  # noqa: E731
            rows.append((server, n, {
                "rate": rate, "cpu": cpu, "p99": value(c, "p99_us"),
                "loadgen": value(c, "client_cpu_util"),
                "rate_libev": ratio(rate, ref(libev, "round_trips_per_s")),
                "cpu_libev": ratio(cpu, ref(libev, "server_cpu_us_per_rt")),
                "rate_gevent": ratio(rate, ref(gevent, "round_trips_per_s")),
                "cpu_gevent": ratio(ref(gevent, "server_cpu_us_per_rt"), cpu),
                "rate_uv_poll": ratio(rate, ref(uv_poll, "round_trips_per_s"))
                if server.loop == "libuv" else None,
                "rate_uv_stream": ratio(rate, ref(uv_stream, "round_trips_per_s"))
                if server.loop == "libuv" else None,
                "error": c.error if c is not None else None}))
    return size, rows


def targets(results):
    """The issue's targets: [(what, measured ratio or None, op, goal)]."""
    size, rows = ratio_rows(results)
    out = []
    by = {(s.name, n): r for s, n, r in rows}
    all_conns = numbers(results, [ECHO, ECHO_PEER], -1)
    for port in TARGET_PORTS:
        for n in (100, 1000):
            r = by.get(("%s/libev" % port, n))
            if r:
                out.append(("hub %s/libev, %d conns: round trips/s ÷ libev callbacks" % (port, n),
                            r["rate_libev"], ">=", 0.95))
                out.append(("hub %s/libev, %d conns: server CPU/rt ÷ libev callbacks" % (port, n),
                            r["cpu_libev"], "<=", 1.05))
        server = Server(ECHO, "%s/libev" % port)
        gevent = peer(results, ECHO_PEER, GEVENT)
        for n in all_conns:
            c = server.case(results, size, n)
            if c is None or gevent is None:
                continue
            g = gevent.case(results, size, n)
            out.append(("hub %s/libev, %d conns: round trips/s ÷ gevent" % (port, n),
                        ratio(value(c, "round_trips_per_s"), value(g, "round_trips_per_s")),
                        ">=", 2.0))
            out.append(("hub %s/libev, %d conns: gevent's CPU/rt ÷ the hub's" % (port, n),
                        ratio(value(g, "server_cpu_us_per_rt"), value(c, "server_cpu_us_per_rt")),
                        ">=", 2.0))
        for n in (100, 1000):
            r = by.get(("%s/libuv" % port, n))
            if r:
                out.append(("hub %s/libuv, %d conns: round trips/s ÷ uv_poll callbacks" % (port, n),
                            r["rate_uv_poll"], ">=", 0.9))
    pywsgi = peer(results, HTTP_PEER, GEVENT)
    for port in TARGET_PORTS:
        hub = Server(HTTP, "%s/libev" % port)
        if pywsgi and hub.case(results, 100) is not None:
            out.append(("HTTP hub %s/libev, 100 conns: requests/s ÷ gevent pywsgi" % port,
                        ratio(value(hub.case(results, 100), "requests_per_s"),
                              value(pywsgi.case(results, 100), "requests_per_s")), ">=", 3.0))
    return size, out


def _verdict(x, op, goal):
    if x is None:
        return "not measured"
    return "met" if (x >= goal if op == ">=" else x <= goal) else "MISSED"


def ratios_section(results):
    size, rows = ratio_rows(results)
    if not rows:
        return []
    lines = ["### Echo: each port's server against the peers (%s B messages)" % size, "",
             "Round trips/s and the server's CPU time per round trip, over the plain libev "
             "callback server and gevent's StreamServer at the same point (and, for the libuv "
             "hub, over the libuv `uv_poll` + `recv` server and the `uv_tcp` streams one). "
             "CPU per round trip is the figure that says what a server costs: with two CPUs the "
             "load generator has one, and when it is near 100 % (last column) it, not the "
             "server, bound the round trips/s.", ""]
    body = []
    for s, n, r in rows:
        if r["error"]:
            body.append([s.label, n, "out of reach: " + r["error"].replace("|", "\\|")[:120]]
                        + [""] * 8)
            continue
        body.append([s.label, n, num(r["rate"]), times(r["rate_libev"]), times(r["rate_gevent"]),
                     "%.2f" % r["cpu"] if r["cpu"] is not None else "–", times(r["cpu_libev"]),
                     times(r["cpu_gevent"]),
                     "%s / %s" % (times(r["rate_uv_poll"]), times(r["rate_uv_stream"]))
                     if s.loop == "libuv" else "",
                     us(r["p99"]), "%.0f %%" % (r["loadgen"] * 100) if r["loadgen"] is not None
                     else "–"])
    lines += table(["server", "conns", "round trips/s", "÷ libev cb", "÷ gevent", "server µs/rt",
                    "÷ libev cb", "gevent ÷ it", "÷ uv_poll / uv_tcp", "p99", "loadgen CPU"],
                   body)
    return lines + [""]


def targets_section(results):
    _, rows = targets(results)
    if not rows:
        return []
    lines = ["### Targets of the I/O benchmarks (ratios in this run)", ""]
    lines += table(["ratio", "measured", "target", ""],
                   [[what, times(x), "%s %.2f×" % ("≥" if op == ">=" else "≤", goal),
                     _verdict(x, op, goal)] for what, x, op, goal in rows],
                   ["---", "---:", "---", "---"])
    return lines + [""]


def http_section(results):
    servers_ = servers(results, HTTP) + servers(results, HTTP_PEER)
    conns = numbers(results, [HTTP, HTTP_PEER], -1)
    if not servers_:
        return []
    pywsgi, libev = peer(results, HTTP_PEER, GEVENT), peer(results, HTTP_PEER, LIBEV)
    lines = ["### HTTP/1.1 keep-alive, measured with wrk", "",
             "Requests/s (median of the wrk runs), wrk's p99 latency, the server's CPU per request, "
             "and the ratio of requests/s to gevent's pywsgi and to the libev callback server.", ""]
    body = []
    for s in servers_:
        for n in conns:
            c = s.case(results, n)
            if c is None:
                continue
            if c.error:
                body.append([s.label, n, "out of reach: " + c.error.replace("|", "\\|")[:120],
                             "", "", "", ""])
                continue
            rate = value(c, "requests_per_s")
            ref = lambda p: value(p.case(results, n), "requests_per_s") if p else None  # noqa: E731
            empty = value(c, "wrk_runs_without_requests")
            runs = " (%d of %d wrk runs completed nothing)" % (empty, empty + c.reps()) \
                if empty else ""
            body.append([s.label, n, num(rate) + runs, us(value(c, "p99_us")),
                         "%.2f" % value(c, "server_cpu_us_per_req")
                         if value(c, "server_cpu_us_per_req") is not None else "–",
                         times(ratio(rate, ref(pywsgi))), times(ratio(rate, ref(libev)))])
    lines += table(["server", "conns", "requests/s", "p99", "server µs/request", "÷ pywsgi",
                    "÷ libev cb"], body)
    return lines + [""]


def matrix_section(results):
    """Per message size: every server x connection count."""
    sizes = numbers(results, [ECHO, ECHO_PEER], -2)
    conns = numbers(results, [ECHO, ECHO_PEER], -1)
    lines = []
    for size in sizes:
        body = []
        for s in servers(results, ECHO) + servers(results, ECHO_PEER):
            row = [s.label]
            for n in conns:
                c = s.case(results, size, n)
                if c is None:
                    row.append("")
                elif c.error:
                    row.append("out of reach")
                else:
                    row.append("%s/s · p99 %s · %s µs" % (
                        num(value(c, "round_trips_per_s")), us(value(c, "p99_us")),
                        "%.1f" % value(c, "server_cpu_us_per_rt")
                        if value(c, "server_cpu_us_per_rt") is not None else "–"))
            body.append(row)
        if body:
            lines += ["### Echo, %s B messages: round trips/s · p99 · server CPU per round trip"
                      % size, ""]
            lines += table(["server"] + ["%d conns" % n for n in conns], body)
            lines.append("")
    return lines


def unreachable_section(results):
    rows = [(c.name, c.error) for c in results.cases.values()
            if c.family in FAMILIES and c.error]
    if not rows:
        return []
    lines = ["### Points out of reach", "", "A server that could not reach a point, and why "
             "(the load generator's or wrk's finding, with the server's last words).", ""]
    lines += table(["point", "reason"], [[n, e.replace("|", "\\|")] for n, e in
                                          sorted(rows, key=lambda r: R.sort_key(results, r[0]))],
                   ["---", "---"])
    return lines + [""]


def context_lines(results):
    io = results.sy.get("io") or results.context.get("switchyard_io") or {}
    if not io:
        return []
    keys = [("pinning", "pinning"), ("gevent", "gevent"), ("python", "Python"), ("wrk", "wrk"),
            ("open_file_limit", "open-file limit"), ("echo_connections", "echo connections"),
            ("echo_message_bytes", "echo message bytes"), ("echo_in_flight", "messages in flight"),
            ("echo_window_s", "echo window (s)"), ("echo_slices", "slices (repetitions)"),
            ("http_connections", "HTTP connections"), ("http_seconds", "wrk run (s)"),
            ("http_repetitions", "wrk runs"), ("seconds", "I/O section took (s)")]
    lines = table(["", ""], [[label, str(io[k])] for k, label in keys if k in io], ["---", "---"])
    return lines + [""] + ["- " + n for n in io.get("notes", [])] + [""]


def sections(results):
    """The I/O part of the Markdown report ([] when the file has no I/O cases)."""
    if not any(c.family in FAMILIES for c in results.cases.values()):
        return []
    return (["## I/O: servers as processes, an external load generator", ""]
            + context_lines(results) + targets_section(results) + ratios_section(results)
            + http_section(results) + matrix_section(results) + unreachable_section(results))


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        res = R.load(argv[1])
    except R.ResultsError as e:
        print("io_report.py: %s" % e, file=sys.stderr)
        return 1
    if not any(c.family in FAMILIES for c in res.cases.values()):
        return 0
    print("\n".join(["", "## I/O (servers as processes; details in the report)", ""]
                    + targets_section(res) + ratios_section(res) + http_section(res)
                    + unreachable_section(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
