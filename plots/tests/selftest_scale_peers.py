"""Self-test of the ring and peers charts, the limit reporting and the peer entries (run by
selftest.py). The fixture is fixture.json plus made-up entries written here, in the layout
the harness writes: ring/ring_shuffled cases with a port that stops at its limit
("port limit: ..."), baseline_fcontext, and the entries of harness/peers.py.

FIXTURES, NOT MEASUREMENTS: every median is a round number the checks can assert.
"""

import contextlib
import functools
import io
import json
import os
import random
import shutil
import subprocess

import make_fixture
import plot
import results
import style

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIZES = [2, 100, 1000, 10000, 30000, 100000]
RING_NS = {"asm_separate": 5.0, "ucontext": 170.0, "stackcopy": 35.0, "threads": 4200.0}
LIMITS = {"asm_separate": (65475, "vm.max_map_count"), "ucontext": (65475, "vm.max_map_count"),
          "threads": (32100, "threads")}
PEERS = {"python": "3.11.2", "greenlet": "2.0.2", "gevent": "22.10.2",
         "gevent_loop": "libev-4.33 (epoll)"}
PEER_NS = {"peer_switch/python-greenlet": 400.0, "peer_hub_sleep0/gevent/libev/1000": 3000.0,
           "peer_hub_timers/gevent/libev": 5000.0}


def ring_ns(port, family, n):
    """Grows with N; shuffled costs twice as much from 1000 on."""
    grow = {2: 1.0, 100: 1.0, 1000: 1.5, 10000: 3.0, 30000: 4.0, 100000: 5.0}[n]
    return RING_NS[port] * grow * (2.0 if family == "ring_shuffled" and n >= 1000 else 1.0)


def fixture_doc():
    with open(os.path.join(HERE, "fixture.json")) as f:
        doc = json.load(f)
    rng = random.Random(12)
    extra = []
    for port in make_fixture.PORTS:
        for family in ("ring", "ring_shuffled"):
            for n in SIZES:
                name = "%s/%s/%d" % (family, port, n)
                held, limit = LIMITS.get(port, (None, None))
                if held and n > held:
                    error = ("port limit: %s after %d greenlets (made up): gl_new: no stack"
                             % (limit, held))
                    extra += make_fixture.entries(rng, 90, name, 0, {}, None, error=error)
                else:
                    extra += make_fixture.entries(rng, 90, name, ring_ns(port, family, n),
                                                  {"greenlets": float(n)}, None)
    extra += make_fixture.entries(rng, 91, "baseline_fcontext", 2.5, {}, None)
    extra += make_fixture.entries(rng, 93, "max_greenlets/asm_separate/canary", 5.0e8,
                                  {"max_greenlets": 1000000.0}, "cap 1000000")
    label = "greenlet 2.0.2, CPython 3.11.2"
    for name, ns in PEER_NS.items():
        extra += make_fixture.entries(rng, 92, name, ns, {}, label)
    doc["benchmarks"] += extra
    doc["context"]["switchyard"]["peers"] = PEERS
    return doc


def _draw(out):
    path = os.path.join(out, "scale_peers.json")
    with open(path, "w") as f:
        json.dump(fixture_doc(), f)
    res = results.load(path)
    _, missing, figs = plot.draw(res, os.path.join(out, "scale_peers"))
    return path, res, missing, figs


def test_ring(out, check):
    _, res, missing, figs = _draw(out)
    case = res.cases["ring/asm_separate/100000"]
    check("a port-limit entry parses as (limit, held)",
          case.limit() == ("vm.max_map_count", 65475), case.limit())
    check("an ordinary failure is no limit",
          res.cases["io_echo_peer/thread_per_conn/16384/10000"].limit() is None)
    check("ring: ratio to the same port's ring of 2 (4x at 30000)",
          abs(results.ratio(res, "ring/asm_separate/30000") - 4.0) < 1e-9,
          results.ratio(res, "ring/asm_separate/30000"))
    ax = figs["ring"].axes[0]
    lines = [c.lines[0] for c in ax.containers if hasattr(c, "has_yerr")]
    check("ring chart: a line per port and order", len(lines) == 8, len(lines))
    colour = style.palette(res.ports())["asm_separate"]
    ordered = [ln for ln in lines if ln.get_color() == colour and ln.get_linestyle() == "-"]
    check("ring chart: asm_separate's line stops at the last N it held (30 000, 20 ns)",
          len(ordered) == 1 and list(ordered[0].get_xdata())[-1] == 30000
          and abs(list(ordered[0].get_ydata())[-1] - 20.0) < 1e-6,
          ordered and list(zip(ordered[0].get_xdata(), ordered[0].get_ydata())))
    texts = [t.get_text() for t in ax.texts]
    check("ring chart: the limit is named where the line stops",
          any("asm_separate: limit at 65.5 k" in t and "vm.max_map_count" in t for t in texts)
          and any("threads: limit at 32.1 k" in t and "(threads)" in t for t in texts), texts)
    check("ring chart: a case beyond the limit is not listed as missing",
          not any("100000" in m for m in missing["ring"]), missing["ring"])


def test_peers(out, check):
    _, res, missing, figs = _draw(out)
    fig = figs["peers"]
    switch_ax, sleep_ax, timer_ax = fig.axes[:3]
    labels = [t.get_text() for t in switch_ax.get_xticklabels()]
    check("peers chart: ports, then the raw switches, then Python greenlet",
          len(switch_ax.patches) == 7 and labels[-1] == "Python\ngreenlet"
          and labels[4].startswith("Boost"), labels)
    peer_bar = switch_ax.patches[-1]
    check("peers chart: a peer is hatched, pale, at its median (400 ns)",
          peer_bar.get_hatch() == style.PEER_HATCH and abs(peer_bar.get_height() - 400.0) < 1e-6,
          (peer_bar.get_hatch(), peer_bar.get_height()))
    line_x = [ln.get_xdata()[0] for ln in switch_ax.get_lines()
              if ln.get_linestyle() == "--"]
    check("peers chart: a dashed line sets the peers apart, left of them",
          len(line_x) == 1 and line_x[0] < peer_bar.get_x(), line_x)
    check("peers chart: gevent beside the hub's sleep(0) and timers",
          len(sleep_ax.patches) == 5 and abs(sleep_ax.patches[-1].get_height() - 3000.0) < 1e-6
          and len(timer_ax.patches) == 5, (len(sleep_ax.patches), len(timer_ax.patches)))
    check("peers chart: the versions measured are on it",
          any("greenlet 2.0.2" in t.get_text() and "gevent 22.10.2" in t.get_text()
              for t in fig.texts), [t.get_text() for t in fig.texts])
    check("peers chart: nothing missing from a full fixture", not missing["peers"],
          missing["peers"])
    right = figs["memory"].axes[1]
    bars = dict(zip([t.get_text() for t in right.get_xticklabels()], right.patches))
    canary = bars.get("asm_\nseparate\n(canary)")
    check("memory chart: canary stacks hatched beside the port's guarded stacks",
          canary is not None and canary.get_hatch() == "//"
          and abs(canary.get_height() - 1e6) < 1e-3 and len(bars) == 5, list(bars))
    check("switch chart: the raw fcontext is one of the baselines",
          "baseline:\nBoost fcontext" in [t.get_text() for t in figs["switch"].axes[0].get_xticklabels()])


def test_report_and_summary(out, check):
    path, _, _, _ = _draw(out)
    md = os.path.join(out, "scale_peers.md")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        status = plot.main([path, "--out", os.path.join(out, "scale_peers"), "--report", md])
    with open(md) as f:
        text = f.read()
    check("report: drawn (exit 0)", status == 0)
    check("report: the ring table names a limit as such, not as a failure",
          "limit: vm.max_map_count after 65475 greenlets" in text
          and "failed: port limit" not in text)
    check("report: a table per peer family, and the versions under Machine",
          "### Peer: Python greenlet's switch" in text and "| python-greenlet | 400 |" in text
          and "| peers (harness/peers.py) | python 3.11.2, greenlet 2.0.2" in text)
    if not shutil.which("jq"):
        check("summary.sh: jq is installed (make deps)", False)
        return
    summary = subprocess.run(["sh", os.path.join(ROOT, "harness", "summary.sh"), path],
                             capture_output=True, text=True)
    rows = {ln.split(" | ")[0].lstrip("| "): ln for ln in summary.stdout.splitlines()}
    check("summary.sh: runs on it", summary.returncode == 0, summary.stderr)
    check("summary.sh: a cell beyond the limit says so",
          "limit: vm.max_map_count" in rows.get("ring/100000", ""), rows.get("ring/100000"))
    check("summary.sh: the peer column shows the peer by name",
          "400 ns (python-greenlet)" in rows.get("switch", ""), rows.get("switch"))
    check("summary.sh: the targets of issue 12 are listed",
          "ring/asm_separate/30000 ÷ ring/asm_separate/2 | 4×" in summary.stdout
          and "switch/asm_separate ÷ switch/boost_fcontext | not measured" in summary.stdout,
          summary.stdout[-1500:])


TESTS = [test_ring, test_peers, test_report_and_summary]


def bound(check):
    """The tests with selftest.py's check bound in, named as the functions are."""
    return tuple(functools.wraps(t)(lambda out, t=t: t(out, check)) for t in TESTS)


if __name__ == "__main__":
    raise SystemExit("run plots/tests/selftest.py (it runs these tests too)")
