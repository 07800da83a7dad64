#!/bin/sh
# run.sh — run the benchmark binaries, then the I/O section (harness/io/run.sh: servers as
# processes), merge their JSON into results/, print the summary.
# Called by `make bench` / `make bench-quick` (harness/build.mk), which pass:
#   BUILD     build folder (binaries in $BUILD/release/bin/bench_*)
#   PORTS     the ports to run ("a b")
#   QUICK     1: smoke run (tiny workloads) -> results/quick-latest.json
#   FILTER    a Google Benchmark regex narrowing the cases
#   NARROWED  1: PORTS or FILTER narrowed the run -> results/partial-latest.json
#   BENCH_CC, BENCH_CXX, BENCH_CFLAGS   recorded in the context
#   BENCH_RESULTS_DIR   where the JSON goes (default results)
# A full run writes results/<date>-<host>.json and results/latest.json; the summary tables
# (harness/summary.sh, plots/io_report.py) go to the terminal (plots/ writes the Markdown
# report). Exit status 1 if any binary failed or any case reported an error (an I/O point
# out of a server's reach is a result, not an error: harness/io/run.sh).
set -u
BUILD=${BUILD:-build}
PORTS=${PORTS:?PORTS is empty}
QUICK=${QUICK:-}
FILTER=${FILTER:-}
NARROWED=${NARROWED:-}
RESULTS=${BENCH_RESULTS_DIR:-results}
here=$(dirname "$0")

command -v jq >/dev/null || { echo "run.sh: jq is missing (make deps installs it)" >&2; exit 1; }

if [ -n "$QUICK" ]; then
    reps=2 min_time=0.01 ours=--quick
else
    reps=5 min_time=0.2 ours=
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0

# One invocation of a benchmark binary; progress on the terminal, JSON to $tmp/$2.json.
# The limit probe (max_greenlets) runs in a process of its own, so that a port that dies
# at its limit loses only that figure.
run() { # binary label [our options]
    bin=$1 label=$2
    shift 2
    echo "==> $label"
    # shellcheck disable=SC2086
    "$bin" --benchmark_out="$tmp/$label.json" --benchmark_out_format=json \
        --benchmark_repetitions=$reps --benchmark_enable_random_interleaving=true \
        --benchmark_min_time=$min_time ${FILTER:+--benchmark_filter="$FILTER"} $ours "$@"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "run.sh: $label exited with status $rc" >&2
        status=1
    fi
    if [ -f "$tmp/$label.json" ] && [ ! -s "$tmp/$label.json" ]; then
        rm -f "$tmp/$label.json" # no case matched FILTER
    elif [ -f "$tmp/$label.json" ] && ! jq -e . "$tmp/$label.json" >/dev/null 2>&1; then
        echo "run.sh: $label left no valid JSON (it died mid-run)" >&2
        rm -f "$tmp/$label.json"
        status=1
    fi
    [ -f "$tmp/$label.json" ] && order="$order $tmp/$label.json"
}

started=$(date +%s)
order=""
bindir=$BUILD/release/bin
run "$bindir/bench_baselines" baselines
for port in $PORTS; do
    run "$bindir/bench_$port" "$port" --except=max_greenlets/
    run "$bindir/bench_$port" "$port-limits" --only=max_greenlets/ --benchmark_repetitions=1
done
# The I/O section: servers as processes driven by an external load generator and wrk
# (harness/io/run.sh: its own progress lines, its figures in $tmp/io.json).
"$here/io/run.sh" "$tmp/io.json" || status=1
if [ -s "$tmp/io.json" ] && [ "$(jq '.benchmarks | length' "$tmp/io.json")" != 0 ]; then
    order="$order $tmp/io.json"
fi
if [ -z "$order" ]; then
    echo "run.sh: no results (did FILTER match anything?)" >&2
    exit 1
fi

# ---- merge ----------------------------------------------------------------------------
stamp=$(date -u +%Y-%m-%dT%H%MZ)
host=$(uname -n)
pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ports_json=$(printf '%s\n' $PORTS | jq -R . | jq -s -c .)
switchyard=$(jq -n -c \
    --arg date "$stamp" --arg host "$host" --arg machine "$(uname -m)" --arg cpu "$cpu" \
    --arg kernel "$(uname -sr) $(uname -v)" \
    --arg compiler "$(${BENCH_CC:-cc} --version | head -1); $(${BENCH_CXX:-c++} --version | head -1)" \
    --arg cflags "${BENCH_CFLAGS:-}" \
    --arg libev "libev $(pkg libev-dev)" --arg libuv "libuv $(pkg libuv1-dev)" \
    --arg gbench "Google Benchmark $(pkg libbenchmark-dev) (Debian libbenchmark-dev)" \
    --arg filter "$FILTER" --argjson ports "$ports_json" \
    --argjson quick "$([ -n "$QUICK" ] && echo true || echo false)" \
    --argjson reps "$reps" --arg min_time "$min_time" \
    '{date: $date, host: $host, machine: $machine, cpu: $cpu, kernel: $kernel,
      compiler: $compiler, cflags: $cflags, libev: $libev, libuv: $libuv,
      benchmark_library: $gbench, ports: $ports, quick: $quick, filter: $filter,
      repetitions: $reps, min_time_s: $min_time,
      notes: ["Google Benchmark suffixes /real_time and /iterations:N are removed from names: every case is timed in real time (wall clock)",
              "max_greenlets runs once (repetitions 1, iterations 1): it has no aggregate entries",
              "Debian builds libbenchmark as DEBUG (it prints \"Library was built as DEBUG\"); the timed loops run on the C side, so this touches only the bookkeeping between batches"]}')

# The I/O section's context (gevent, wrk, pinning, its matrix) joins the run's.
if [ -s "$tmp/io.json" ]; then
    switchyard=$(printf '%s' "$switchyard" |
        jq -c --slurpfile io "$tmp/io.json" '. + {io: $io[0].context.switchyard_io}')
fi

# shellcheck disable=SC2086
merged=$(jq -s --argjson sy "$switchyard" '
    def clean: sub("/iterations:[0-9]+"; "") | sub("/repeats:[0-9]+"; "") | sub("/real_time"; "");
    {context: (.[0].context + {switchyard: ($sy + {benchmark_library_build_type:
                                                     .[0].context.library_build_type})}),
     benchmarks: [.[].benchmarks[] | .name |= clean | .run_name |= clean]}' $order) || {
    echo "run.sh: merging the JSON failed" >&2
    exit 1
}

mkdir -p "$RESULTS"
if [ -n "$QUICK" ]; then
    out=$RESULTS/quick-latest
elif [ -n "$NARROWED" ]; then
    out=$RESULTS/partial-latest
else
    out=$RESULTS/$stamp-$host
fi
printf '%s\n' "$merged" >"$out.json"
if [ -z "$QUICK" ] && [ -z "$NARROWED" ]; then
    cp "$out.json" "$RESULTS/latest.json"
fi
echo
"$here/summary.sh" "$out.json" || status=1
/usr/bin/python3 "$here/../plots/io_report.py" "$out.json" || status=1
# A point an I/O server cannot reach is a result (its reason is shown above), not an error.
errors=$(printf '%s\n' "$merged" | jq '[.benchmarks[] | select(.error_occurred and (.io_unreachable | not))] | length')
if [ "$errors" != 0 ]; then
    echo "run.sh: $errors runs reported an error:" >&2
    printf '%s\n' "$merged" | jq -r '.benchmarks[] | select(.error_occurred and (.io_unreachable | not)) | "  \(.name): \(.error_message)"' >&2
    status=1
fi
echo "bench: wrote $out.json$([ -z "$QUICK$NARROWED" ] && echo " and $RESULTS/latest.json") in $(( $(date +%s) - started )) s$([ $status -ne 0 ] && echo ' (WITH FAILURES)')"
exit $status
