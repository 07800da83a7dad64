"""Write the test fixtures fixture.json and fixture_b.json (run: /usr/bin/python3 make_fixture.py).

FIXTURES, NOT MEASUREMENTS: made-up numbers of a plausible size, in the exact JSON layout
Google Benchmark 1.7 writes with --benchmark_repetitions=3 (per-repetition entries, then
mean/median/stddev/cv aggregates; counters as extra numeric keys; label; error entries), merged
as the harness does. They exist so plots/ can be tested before and without a real run.

Every median is a round number the self-test can assert: the three repetitions are
median * (1 - d), median, median * (1 + d') in a fixed shuffled order.
fixture_b.json is fixture.json with a few cases changed by known factors (see B_CHANGES).
"""

import json
import os
import random
import statistics

PORTS = ["asm_separate", "ucontext", "stackcopy", "threads"]
LOOPS = ["libev", "libuv"]
CONNS = [1, 100, 10000]
SIZES = [64, 16384]
HTTP_CONNS = [100, 1000]
DEPTHS = [0, 1, 4, 16, 64]
REPS = 3

SWITCH_NS = {"asm_separate": 4.0, "ucontext": 160.0, "stackcopy": 30.0, "threads": 4000.0}
DEPTH_EXTRA_NS_PER_KIB = {"asm_separate": 0.0, "ucontext": 0.0, "stackcopy": 70.0, "threads": 0.0}
LIFECYCLE_NS = {"asm_separate": 150.0, "ucontext": 1500.0, "stackcopy": 300.0, "threads": 25000.0}
BYTES = {"asm_separate": 8192.0, "ucontext": 8192.0, "stackcopy": 640.0, "threads": 16384.0}
MAX = {"asm_separate": (32000, "vm.max_map_count"), "ucontext": (32700, "vm.max_map_count"),
       "stackcopy": (1000000, "cap 1000000"), "threads": (9800, "threads")}
SLEEP0_NS = {"asm_separate": 60.0, "ucontext": 220.0, "stackcopy": 90.0, "threads": 5000.0}
TIMERS_NS = {"asm_separate": 300.0, "ucontext": 450.0, "stackcopy": 320.0, "threads": 9000.0}
# I/O echo servers: round trips/s at 64 B and 100 connections, server CPU µs per round trip
ECHO_PEAK = {"asm_separate": 100000.0, "ucontext": 90000.0, "stackcopy": 95000.0, "threads": 40000.0}
ECHO_CPU = {"asm_separate": 8.0, "ucontext": 9.0, "stackcopy": 8.5, "threads": 20.0}
PEER_PEAK = {"libev_callback": (120000.0, 7.0), "libuv_poll": (110000.0, 7.5),
             "gevent": (50000.0, 20.0), "thread_per_conn": (30000.0, 25.0)}
ECHO_SHAPE = {1: 0.3, 100: 1.0, 10000: 0.75}
SIZE_FACTOR = {64: 1.0, 16384: 0.5}
HTTP_PEAK = {"asm_separate": 60000.0, "ucontext": 50000.0, "stackcopy": 58000.0,
             "threads": 15000.0, "libev_callback": 80000.0, "gevent": 6000.0}
LOOP_FACTOR = {"libev": 1.0, "libuv": 0.9}
# HTTP points where some wrk runs completed no request (the others are the repetitions)
HTTP_EMPTY = {"io_http/threads/libuv/1000": 1.0}
FAILS = {"io_echo_peer/thread_per_conn/16384/10000":
         "connection 9001: the server closed it after 0 of 16384 bytes echoed; server's last "
         "words: pthread_create: Resource temporarily unavailable (with 9000 connection threads "
         "running)"}

# name -> factor applied to the median of the case's main metric in fixture_b.json
B_CHANGES = {
    "switch/asm_separate": 1.5,           # ns per switch 4 -> 6
    "lifecycle/stackcopy": 0.5,           # 300 ns -> 150 ns, written in "us" to test units
    "io_echo/asm_separate/libev/64/100": 0.8,  # round_trips_per_s 100000 -> 80000
}
B_ONLY = "switch/newport"                 # a case only B has
A_ONLY = "hub_timers/threads/libuv"       # a case only A has


def echo_counters(peak, cpu_us, size, conns):
    rtps = round(peak * ECHO_SHAPE[conns] * SIZE_FACTOR[size])
    p50 = round(conns / rtps * 1e6, 1) + 20.0      # µs: queueing behind the other connections
    return {"round_trips_per_s": float(rtps), "p50_us": p50, "p99_us": round(p50 * 2.5, 1),
            "server_cpu_us_per_rt": cpu_us / SIZE_FACTOR[size], "client_cpu_util": 0.9,
            "connections": float(conns), "message_bytes": float(size)}


def http_counters(peak, cpu_us, conns):
    rps = peak * (1.0 if conns == 100 else 0.9)
    return {"requests_per_s": rps, "p50_us": conns / rps * 1e6, "p99_us": conns / rps * 3e6,
            "server_cpu_us_per_req": cpu_us * 1.5, "connections": float(conns)}


def io_cases():
    """The I/O servers' points: io_echo(_peer) and io_http(_peer), as harness/io/run.sh names
    them (the load generator's slices are repetitions, like Google Benchmark's)."""
    out = []
    servers = [("io_echo/%s/%s" % (p, lp), ECHO_PEAK[p] * LOOP_FACTOR[lp], ECHO_CPU[p], p)
               for p in PORTS for lp in LOOPS]
    servers += [("io_echo_peer/" + n, peak, cpu, n) for n, (peak, cpu) in PEER_PEAK.items()]
    for prefix, peak, cpu, _ in servers:
        for size in SIZES:
            for c in CONNS:
                counters = echo_counters(peak, cpu, size, c)
                out.append(("io", "%s/%d/%d" % (prefix, size, c), "",
                            1e9 / counters["round_trips_per_s"], counters, None))
    for prefix, _, cpu, key in servers:
        http = "io_http" + prefix[len("io_echo"):]
        if key in HTTP_PEAK and "libuv_" not in prefix:
            for c in HTTP_CONNS:
                counters = http_counters(HTTP_PEAK[key] * LOOP_FACTOR.get(prefix.split("/")[-1], 1.0),
                                         cpu, c)
                name = "%s/%d" % (http, c)
                if name in HTTP_EMPTY:
                    counters["wrk_runs_without_requests"] = HTTP_EMPTY[name]
                out.append(("io", name, "", 1e9 / counters["requests_per_s"], counters, None))
    return out


def cases():
    """(binary, name, suffix, time_ns, counters, label) for every case in the fixture."""
    out = []
    out.append(("baselines", "baseline_regswap", "", 2.0, {}, None))
    out.append(("baselines", "baseline_swapcontext", "", 150.0, {}, None))
    out.append(("baselines", "baseline_thread_handoff", "/real_time", 3500.0, {}, None))
    for p in PORTS:
        suffix = "/real_time" if p == "threads" else ""
        out.append((p, "switch/" + p, suffix, SWITCH_NS[p], {}, None))
        for kib in DEPTHS:
            out.append((p, "switch_depth/%s/%d" % (p, kib), suffix,
                        SWITCH_NS[p] + DEPTH_EXTRA_NS_PER_KIB[p] * kib, {}, None))
        out.append((p, "lifecycle/" + p, suffix, LIFECYCLE_NS[p], {}, None))
        out.append((p, "memory/" + p, "", 2.0e6, {"bytes_per_greenlet": BYTES[p]}, None))
        out.append((p, "max_greenlets/" + p, "", 5.0e8, {"max_greenlets": float(MAX[p][0])}, MAX[p][1]))
        for loop in LOOPS:
            for n in (10, 1000):
                out.append((p, "hub_sleep0/%s/%s/%d" % (p, loop, n), suffix,
                            SLEEP0_NS[p] * LOOP_FACTOR[loop] ** -1 * (1.2 if n == 1000 else 1.0), {}, None))
            out.append((p, "hub_timers/%s/%s" % (p, loop), suffix, TIMERS_NS[p], {}, None))
    return out + io_cases()


def entries(rng, family_index, name, time_ns, counters, label, unit="ns", error=None):
    base = {"name": name, "family_index": family_index, "per_family_instance_index": 0,
            "run_name": name}
    scale = {"ns": 1.0, "us": 1e-3}[unit]
    if error:
        return [dict(base, run_type="iteration", repetitions=REPS, repetition_index=i, threads=1,
                     error_occurred=True, error_message=error, iterations=1,
                     real_time=0.0, cpu_time=0.0, time_unit=unit) for i in range(REPS)]
    # three repetitions whose median is exactly the given value
    spreads = [1.0 - rng.uniform(0.005, 0.04), 1.0, 1.0 + rng.uniform(0.005, 0.06)]
    rng.shuffle(spreads)
    metrics = [{"real_time": time_ns * s * scale, "cpu_time": time_ns * s * scale * 0.98,
                **{k: v * s for k, v in counters.items()}} for s in spreads]
    iterations = max(1, int(5e8 / time_ns)) if time_ns < 1e8 else 1
    out = []
    for i, m in enumerate(metrics):
        e = dict(base, run_type="iteration", repetitions=REPS, repetition_index=i, threads=1,
                 iterations=iterations, real_time=m["real_time"], cpu_time=m["cpu_time"],
                 time_unit=unit)
        e.update({k: m[k] for k in counters})
        if label:
            e["label"] = label
        out.append(e)
    keys = ["real_time", "cpu_time"] + list(counters)
    aggs = {
        "mean": {k: statistics.mean(m[k] for m in metrics) for k in keys},
        "median": {k: statistics.median(m[k] for m in metrics) for k in keys},
        "stddev": {k: statistics.stdev(m[k] for m in metrics) for k in keys},
    }
    aggs["cv"] = {k: aggs["stddev"][k] / aggs["mean"][k] for k in keys}
    for agg, values in aggs.items():
        e = dict(base, name=name + "_" + agg, run_type="aggregate", repetitions=REPS, threads=1,
                 aggregate_name=agg, aggregate_unit="percentage" if agg == "cv" else "time",
                 iterations=REPS, real_time=values["real_time"], cpu_time=values["cpu_time"],
                 time_unit=unit)
        e.update({k: values[k] for k in counters})
        if label:
            e["label"] = label
        out.append(e)
    return out


def context(host, date):
    return {
        "date": date, "host_name": host, "executable": "build/release/bin/bench_asm_separate",
        "num_cpus": 2, "mhz_per_cpu": 2096, "cpu_scaling_enabled": False,
        "caches": [{"type": "Data", "level": 1, "size": 32768, "num_sharing": 1},
                   {"type": "Unified", "level": 2, "size": 1048576, "num_sharing": 1}],
        "load_avg": [0.42, 0.31, 0.2], "library_build_type": "debug",
        "switchyard": {
            "date": date, "host": host,
            "machine": "FIXTURE - made-up numbers for testing plots/, not a measurement",
            "cpu": "Example CPU @ 2.10GHz (2 cores)", "kernel": "Linux 6.1.0-fixture x86_64",
            "compiler": "gcc 12.2.0", "cflags": "-O2 -g", "libev": "4.33", "libuv": "1.44.2",
            "benchmark_library": "1.7.1", "benchmark_library_build_type": "debug",
            "ports": PORTS, "quick": False,
        },
    }


def build(variant):
    rng = random.Random(6)
    benchmarks = []
    family = {}
    for binary, name, suffix, time_ns, counters, label in cases():
        if variant == "b" and name == A_ONLY:
            continue
        unit = "ns"
        factor = B_CHANGES.get(name, 1.0) if variant == "b" else 1.0
        if variant == "b" and name.startswith("lifecycle/stackcopy"):
            unit = "us"
        if counters and factor != 1.0:
            counters = dict(counters, round_trips_per_s=counters["round_trips_per_s"] * factor)
            time_ns = time_ns / factor
        else:
            time_ns = time_ns * factor
        fi = family.setdefault((binary, name.split("/")[0]), len(family))
        benchmarks += entries(rng, fi, name + suffix, time_ns, counters, label, unit,
                              FAILS.get(name))
    if variant == "b":
        benchmarks += entries(rng, 99, B_ONLY, 7.0, {}, None)
    date = "2026-11-23T09:00:00+00:00" if variant == "a" else "2026-11-24T09:00:00+00:00"
    return {"context": context("fixture-host", date), "benchmarks": benchmarks}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for variant, fname in (("a", "fixture.json"), ("b", "fixture_b.json")):
        with open(os.path.join(here, fname), "w") as f:
            json.dump(build(variant), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
