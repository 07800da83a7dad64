#!/usr/bin/python3
"""Peers: what Switchyard re-creates in C, measured the same way, in the same run.

usage: /usr/bin/python3 harness/peers.py --out FILE.json [--quick] [--repetitions N]
                                         [--min-time S] [--filter REGEX]

Writes Google Benchmark's JSON shape (one entry per repetition, then mean / median /
stddev / cv aggregates), so harness/run.sh merges these entries with the C ones and
plots/ reads them like any other case. A peer entry is named like the port case it
stands beside, with "peer_" before the family and the peer's name where a port's is:

  peer_switch/python-greenlet          ns per switch: two greenlets (neither the main
                                       one) ping-pong; main starts each batch, as
                                       harness/case_switch.c does
  peer_hub_sleep0/gevent/libev/<N>     ns per gevent.sleep(0) in a round robin of N
                                       greenlets (main + N-1 spawned), as hub_sleep0
  peer_hub_timers/gevent/libev         ns per gevent.sleep(1e-9): a timer armed, fired
                                       and the greenlet resumed, as hub_timers

Each entry's label names the versions measured (Debian's python3-greenlet,
python3-gevent, the CPython running them); the context has them too ("peers"). The
loop is timed in Python, as a Python program would run it: the figure includes the
interpreter's loop around each switch, which is the cost a Python user pays.

A peer that cannot be imported gives entries with error_occurred, so the charts and the
report name what is missing. Exit status 0 unless the output cannot be written.
"""

import argparse
import json
import platform
import random
import re
import statistics
import sys
import time

MIN_TIME = 0.2
REPETITIONS = 5
SLEEP0_SIZES = (10, 1000)


def now():
    return time.perf_counter_ns()


def timed(body, min_time):
    """Run body(n) with growing n until it takes min_time; (iterations, ns)."""
    n = 100
    while True:
        t0 = now()
        done = body(n)
        elapsed = now() - t0
        if elapsed >= min_time * 1e9 or n >= 1 << 30:
            return done, elapsed
        n = min(n * 10, max(n + 1, int(n * min_time * 1.4e9 / max(elapsed, 1))))


# ---- Python greenlet ------------------------------------------------------------------

def greenlet_switch(min_time):
    import greenlet

    state = {"left": 0, "stop": False}
    main = greenlet.getcurrent()

    def play(other_name):
        main.switch()                       # set up: wait for the first batch
        while not state["stop"]:
            state["left"] -= 1
            (players[other_name] if state["left"] > 0 else main).switch()

    players = {}
    players["a"] = greenlet.greenlet(lambda: play("b"))
    players["b"] = greenlet.greenlet(lambda: play("a"))
    players["a"].switch()
    players["b"].switch()

    def batch(n):
        state["left"] = n - 1               # main -> A is the first switch of the batch
        players["a"].switch()
        return n

    result = timed(batch, min_time)
    state["stop"] = True
    players["a"].switch()
    players["b"].switch()
    return result


# ---- gevent ----------------------------------------------------------------------------

def gevent_sleep0(n, min_time):
    import gevent

    state = {"stop": False}

    def sleeper():
        while not state["stop"]:
            gevent.sleep(0)

    workers = [gevent.spawn(sleeper) for _ in range(n - 1)]
    gevent.sleep(0)                         # every worker starts and queues up once

    def batch(rounds):
        for _ in range(rounds):
            gevent.sleep(0)                 # each round: every greenlet yields once
        return rounds * n

    result = timed(batch, min_time)
    state["stop"] = True
    gevent.joinall(workers, timeout=30)
    return result


def gevent_timers(min_time):
    import gevent

    def batch(k):
        for _ in range(k):
            gevent.sleep(1e-9)
        return k

    return timed(batch, min_time)


# ---- the cases -------------------------------------------------------------------------

def versions():
    out = {"python": platform.python_version()}
    try:
        import greenlet
        out["greenlet"] = greenlet.__version__
    except ImportError:
        pass
    try:
        import gevent
        out["gevent"] = gevent.__version__
        try:
            import gevent.libev.corecext as core
            out["gevent_loop"] = "%s (%s)" % (core.get_version(), gevent.get_hub().loop.backend)
        except (ImportError, AttributeError):
            out["gevent_loop"] = str(gevent.config.loop)
    except ImportError:
        pass
    return out


def cases(v):
    py = "CPython %s" % v["python"]
    greenlet_label = "greenlet %s, %s" % (v.get("greenlet", "?"), py)
    gevent_label = "gevent %s, %s, greenlet %s, %s" % (
        v.get("gevent", "?"), v.get("gevent_loop", "?"), v.get("greenlet", "?"), py)
    out = [("peer_switch/python-greenlet", "greenlet", greenlet_label, greenlet_switch)]
    for n in SLEEP0_SIZES:
        out.append(("peer_hub_sleep0/gevent/libev/%d" % n, "gevent", gevent_label,
                    lambda t, n=n: gevent_sleep0(n, t)))
    out.append(("peer_hub_timers/gevent/libev", "gevent", gevent_label, gevent_timers))
    return out


def entry(name, label, rep, reps, iterations, ns):
    per = ns / iterations
    return {"name": name, "family_index": 0, "per_family_instance_index": 0,
            "run_name": name, "run_type": "iteration", "repetitions": reps,
            "repetition_index": rep, "threads": 1, "iterations": iterations,
            "real_time": per, "cpu_time": per, "time_unit": "ns", "label": label}


def aggregates(name, label, samples, reps):
    values = [s["real_time"] for s in samples]
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    out = []
    for agg, value in (("mean", mean), ("median", statistics.median(values)),
                       ("stddev", sd), ("cv", sd / mean if mean else 0.0)):
        e = {"name": "%s_%s" % (name, agg), "family_index": 0, "per_family_instance_index": 0,
             "run_name": name, "run_type": "aggregate", "repetitions": reps, "threads": 1,
             "aggregate_name": agg, "iterations": len(values), "real_time": value,
             "cpu_time": value, "time_unit": "ns", "label": label}
        if agg == "cv":
            e["aggregate_unit"] = "percentage"
        out.append(e)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 repetitions, 0.01 s")
    ap.add_argument("--repetitions", type=int)
    ap.add_argument("--min-time", type=float)
    ap.add_argument("--filter", default="", help="a regex: only the cases it finds")
    args = ap.parse_args(argv)
    reps = args.repetitions or (2 if args.quick else REPETITIONS)
    min_time = args.min_time or (0.01 if args.quick else MIN_TIME)

    v = versions()
    todo = [c for c in cases(v) if re.search(args.filter, c[0])]
    samples = {name: [] for name, *_ in todo}
    errors = {}
    rng = random.Random()
    for rep in range(reps):                 # repetitions interleaved in a random order
        order = list(todo)
        rng.shuffle(order)
        for name, module, label, run in order:
            if name in errors:
                continue
            if module not in v:
                errors[name] = "python3-%s is not installed (make deps installs it)" % module
                continue
            try:
                iterations, ns = run(min_time)
            except Exception as e:          # a peer that breaks is reported, not fatal
                errors[name] = "%s: %s" % (type(e).__name__, e)
                continue
            samples[name].append(entry(name, label, rep, reps, iterations, ns))
            print("%-40s %10.1f ns  (%s)" % (name, ns / iterations, label), file=sys.stderr)

    benchmarks = []
    for name, _module, label, _run in todo:
        if name in errors:
            print("peers.py: %s: %s" % (name, errors[name]), file=sys.stderr)
            benchmarks.append({"name": name, "run_name": name, "run_type": "iteration",
                               "repetitions": reps, "error_occurred": True,
                               "error_message": errors[name], "label": label})
            continue
        benchmarks += samples[name] + aggregates(name, label, samples[name], reps)
    doc = {"context": {"peers": v, "repetitions": reps, "min_time_s": min_time},
           "benchmarks": benchmarks}
    try:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
    except OSError as e:
        print("peers.py: cannot write %s: %s" % (args.out, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
