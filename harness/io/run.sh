#!/bin/sh
# run.sh OUT.json — the I/O section of `make bench` (harness/run.sh calls it): every
# server of harness/io/servers, each its own process, driven over 127.0.0.1 by the load
# generator (echo) or wrk (HTTP); the results, Google Benchmark-shaped, in OUT.json
# ({"context": {"switchyard_io": ...}, "benchmarks": [...]}).
#
# Environment (from harness/build.mk): BUILD, PORTS, QUICK, FILTER (a regex over the
# case names: a point runs only if its name matches). The matrix can be narrowed:
#   IO_CONNS="1 10 100 1000 10000"  IO_SIZES="64 1024 16384"   echo points
#   IO_WARMUP=0.2 IO_WINDOW=0.4 IO_SLICES=2 IO_INFLIGHT=1      each echo point, each round
#   IO_HTTP_CONNS="100 1000" IO_HTTP_SECONDS=1 IO_HTTP_REPS=3  HTTP points (wrk)
# (an empty list skips that part).
#   IO_ROUNDS=2   echo: at each connection count, every server R times, each round in a
#                 new random order; a point's repetitions are the slices of all its rounds
#                 (median and stddev over them). Ratios between servers then rest on
#                 samples taken minutes apart, interleaved, instead of one visit each.
# QUICK=1: echo at 100 connections x 64 bytes on every server, a short window; HTTP at
# 100 connections on the first port's hub (libev), the libev server and gevent.
#
# Order: connection count by connection count, every server at a count before the next
# count, so the servers compared at a point were measured minutes apart at most; a fresh
# server process per server x count, whose connections carry every message size in turn
# (opening 10 000 connections once, not once per size). With 2+ CPUs each server is
# pinned to CPU 0 (all its threads), the load generator and wrk to CPU 1.
# Exit status 1 if a server did not start or died, the load generator found an echo
# mismatch or failed, or (QUICK) any point failed; a point the server cannot reach in a
# full run is a result (its reason is in OUT.json), not a failure.
set -u
out=${1:?usage: run.sh OUT.json}
BUILD=${BUILD:-build}
PORTS=${PORTS:?PORTS is empty}
QUICK=${QUICK:-}
FILTER=${FILTER:-}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$BUILD/release/bin/io" && pwd) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-io.XXXXXX")
spid=
status=0
cleanup() {
    [ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

if [ -n "$QUICK" ]; then
    conns_list=${IO_CONNS-100} sizes=${IO_SIZES-64}
    warmup=0.1 window=0.2 slices=2
    http_conns=${IO_HTTP_CONNS-100} http_secs=1 http_reps=1
else
    conns_list=${IO_CONNS-"1 10 100 1000 10000"} sizes=${IO_SIZES-"64 1024 16384"}
    warmup=${IO_WARMUP:-0.2} window=${IO_WINDOW:-0.4} slices=${IO_SLICES:-2}
    http_conns=${IO_HTTP_CONNS-"100 1000"} http_secs=${IO_HTTP_SECONDS:-1}
    http_reps=${IO_HTTP_REPS:-3}
fi
inflight=${IO_INFLIGHT:-1}
rounds=${IO_ROUNDS:-2}
case $rounds in '' | *[!0-9]* | 0) echo "run.sh: IO_ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2 ;; esac
[ -n "$QUICK" ] && rounds=1
first_port=${PORTS%% *}
for p in $PORTS; do [ "$p" = asm_separate ] && first_port=asm_separate; done

ncpu=$(getconf _NPROCESSORS_ONLN)
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    server_pin="taskset -c 0" client_pin="taskset -c 1"
    pinning="each server on CPU 0 (all its threads), the load generator and wrk on CPU 1"
else
    server_pin="" client_pin=""
    pinning="none ($ncpu CPU$([ "$ncpu" -gt 1 ] && echo "s, taskset missing")): server and load generator share the machine"
fi
have_wrk=$(command -v wrk >/dev/null && echo 1)

# ---- the servers: harness/io/servers expanded to "echo-prefix http-prefix modes command"
: >"$tmp/servers"
grep -v -e '^#' -e '^[[:space:]]*$' "$here/servers" | while read -r name modes cmd; do
    cmd=$(printf '%s' "$cmd" | sed -e "s|{bin}|$bin|g" -e "s|{here}|$here|g")
    case $name in
    *{port}*)
        for port in $PORTS; do
            for loop in libev libuv; do
                n=$(printf '%s' "$name" | sed -e "s|{port}|$port|g" -e "s|{loop}|$loop|g")
                c=$(printf '%s' "$cmd" | sed -e "s|{port}|$port|g" -e "s|{loop}|$loop|g")
                printf 'io_echo/%s\tio_http/%s\t%s\t%s\n' "$n" "$n" "$modes" "$c"
            done
        done ;;
    *) printf 'io_echo_peer/%s\tio_http_peer/%s\t%s\t%s\n' "$name" "$name" "$modes" "$cmd" ;;
    esac
done >"$tmp/servers"

matches() { [ -z "$FILTER" ] || printf '%s\n' "$1" | grep -Eq -- "$FILTER"; }

# ---- one server process: start_server, stop_server, alive --------------------------------
. "$here/lib.sh"

# An entry for a point that could not be measured at all: a failure of the run, or with
# unreachable=1 a point out of the server's reach (reported, not failed, in a full run).
unreachable=
error_entry() { # name message [key value]...
    name=$1 msg=$2
    shift 2
    extra='{}'
    while [ $# -ge 2 ]; do
        extra=$(printf '%s' "$extra" | jq -c --arg k "$1" --argjson v "$2" '. + {($k): $v}')
        shift 2
    done
    jq -n -c --arg n "$name" --arg m "$msg" --argjson x "$extra" \
        '{name: $n, run_name: $n, run_type: "iteration", repetitions: 1, repetition_index: 0,
          threads: 1, iterations: 0, real_time: 0, cpu_time: 0, time_unit: "ns",
          error_occurred: true, error_message: $m, io_unreachable: ($u == "1")} + $x' \
        --arg u "$unreachable" >>"$tmp/entries"
    if [ -n "$unreachable" ] && [ -z "$QUICK" ]; then
        printf '%-40s out of reach: %s\n' "$name" "$msg"
    else
        printf '%-40s FAILED: %s\n' "$name" "$msg"
        status=1
    fi
}

# The server must outlive the point: one that died (at the reset of its clients, say)
# has a bug even when the figures were taken.
check_survived() { # name
    if ! alive "$spid"; then
        printf '%-40s FAILED: the server died during the point: %s\n' "$1" \
            "$(tail -n 2 "$tmp/log" | tr '\n' ' ')"
        status=1
    fi
}

# ---- echo: one server at one connection count, every message size ---------------------------
echo_point() { # name-prefix command conns sizes (comma-separated)
    name=$1/{size}/$3 cmd=$2 conns=$3 size_list=$4
    if ! start_server "$cmd"; then
        for size in $(echo "$size_list" | tr , ' '); do
            error_entry "$1/$size/$conns" "$start_error" connections "$conns" message_bytes "$size"
        done
        return
    fi
    # shellcheck disable=SC2086
    $client_pin "$bin/io_loadgen" --port "$sport" --name "$name" --conns "$conns" \
        --size "$size_list" --inflight "$inflight" --warmup "$warmup" --window "$window" \
        --slices "$slices" --setup-timeout $((30 + conns / 200)) --server-pid "$spid" \
        --server-log "$tmp/log" </dev/null >"$tmp/point.json"
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 1 ] || [ $rc -eq 3 ]; then
        jq -c '.[]' "$tmp/point.json" >>"$tmp/entries" || status=1
    fi
    case $rc in
    0) check_survived "$1/$size_list/$conns" ;;
    1) [ -n "$QUICK" ] && status=1 ;; # out of reach: a result, except in the smoke run
    *) status=1 ;;                    # 3: echo mismatch (reported); 2 or a crash: a bug
    esac
    [ $rc -ne 0 ] && [ $rc -ne 1 ] && [ $rc -ne 3 ] && echo "$1/$conns: io_loadgen exited with status $rc" >&2
    stop_server
}

# ---- HTTP: one point, wrk -------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# wrk --latency output -> one JSON entry (microseconds; counters as Google Benchmark's).
wrk_entry() { # name conns rep reps ticks file
    awk -v name="$1" -v conns="$2" -v rep="$3" -v reps="$4" -v ticks="$5" -v hz="$clk_tck" \
        -v secs="$http_secs" '
    function us(v) {
        if (v ~ /us$/) return v + 0
        if (v ~ /ms$/) return v * 1000
        if (v ~ /m$/) return v * 60e6
        if (v ~ /s$/) return v * 1e6
        return v + 0
    }
    /^ +Latency +[0-9]/ { avg = us($2) }
    /^ +50%/ { p50 = us($2) } /^ +75%/ { p75 = us($2) }
    /^ +90%/ { p90 = us($2) } /^ +99%/ { p99 = us($2) }
    / requests in / { reqs = $1 }
    /^ +Socket errors:/ { gsub(",", ""); econnect = $4; eread = $6; ewrite = $8; etimeout = $10 }
    /^ +Non-2xx or 3xx responses:/ { non2xx = $5 }
    /^Requests\/sec:/ { rps = $2 }
    END {
        if (rps == "" || reqs + 0 == 0) exit 1
        cpu = ticks * 1e6 / hz / reqs
        printf "{\"name\": \"%s\", \"run_name\": \"%s\", \"run_type\": \"iteration\", ", name, name
        printf "\"repetitions\": %d, \"repetition_index\": %d, \"threads\": 1, ", reps, rep
        printf "\"iterations\": %d, \"real_time\": %.9g, \"cpu_time\": %.9g, \"time_unit\": \"ns\", ", reqs, 1e9 / rps, cpu * 1e3
        printf "\"connections\": %d, \"duration_s\": %g, \"requests_per_s\": %.9g, ", conns, secs, rps
        printf "\"mean_us\": %.9g, \"p50_us\": %.9g, \"p75_us\": %.9g, \"p90_us\": %.9g, \"p99_us\": %.9g, ", avg, p50, p75, p90, p99
        printf "\"server_cpu_us_per_req\": %.9g, \"server_cpu_util\": %.9g, ", cpu, ticks / hz / secs
        printf "\"socket_errors\": %d, \"timeouts\": %d, \"non_2xx\": %d}\n", econnect + eread + ewrite, etimeout, non2xx
    }' "$6"
}

http_point() { # name command conns
    name=$1 cmd=$2 conns=$3
    if [ -z "$have_wrk" ]; then
        error_entry "$name" "wrk is not installed (make deps installs it)" connections "$conns"
        return
    fi
    if ! start_server "$cmd"; then
        error_entry "$name" "$start_error" connections "$conns"
        return
    fi
    # A run in which the server completed no request (a thread per connection still
    # tearing down the previous run's threads, say) is counted, not averaged in; the point
    # is out of reach when every run is empty.
    rep=0 empty=0 wrk_failed=
    : >"$tmp/point_entries"
    while [ $rep -lt "$http_reps" ]; do
        t0=$(cpu_ticks "$spid")
        # shellcheck disable=SC2086
        $client_pin wrk -t1 -c"$conns" -d"${http_secs}s" --timeout 5s --latency \
            "http://127.0.0.1:$sport/" </dev/null >"$tmp/wrk.txt" 2>&1
        rc=$?
        t1=$(cpu_ticks "$spid" 2>/dev/null || echo "$t0")
        rep=$((rep + 1))
        if [ $rc -ne 0 ]; then
            wrk_failed=1
            error_entry "$name" "wrk (status $rc): $(tail -n 3 "$tmp/wrk.txt" | tr '\n' ' ')" \
                connections "$conns"
            break
        fi
        if ! wrk_entry "$name" "$conns" $((rep - 1)) "$http_reps" $((t1 - t0)) "$tmp/wrk.txt" \
            >"$tmp/entry.json"; then
            empty=$((empty + 1))
            wrk_said=$(grep -e 'requests in' -e 'Socket errors' "$tmp/wrk.txt" | tr -s ' \n' ' ' |
                sed 's/^ //; s/ $//')
            printf '%-40s run %d of %d: no request completed (wrk: %s)\n' "$name" $rep \
                "$http_reps" "$wrk_said"
            continue
        fi
        cat "$tmp/entry.json" >>"$tmp/point_entries"
        jq -r '"\(.name | .[0:40] | . + " " * (40 - length)) \(.requests_per_s | floor) req/s  p50 \(.p50_us) p99 \(.p99_us) us  server \(.server_cpu_us_per_req * 100 | round / 100) us/req (\(.server_cpu_util * 100 | round)% CPU)\(if .non_2xx > 0 or .socket_errors > 0 or .timeouts > 0 then "  non-2xx \(.non_2xx), socket errors \(.socket_errors), timeouts \(.timeouts)" else "" end)"' "$tmp/entry.json"
        if [ "$(jq '.non_2xx' "$tmp/entry.json")" != 0 ]; then
            echo "$name: the server answered wrk's requests with errors" >&2
            status=1
        fi
    done
    if [ -s "$tmp/point_entries" ]; then
        jq -c --argjson e "$empty" '. + {wrk_runs_without_requests: $e}' "$tmp/point_entries" \
            >>"$tmp/entries"
    elif [ -z "$wrk_failed" ]; then
        said=$(tail -n 1 "$tmp/log")
        unreachable=1 error_entry "$name" "no request completed in any of the $http_reps runs of ${http_secs} s (wrk: $wrk_said)${said:+; server's last words: $said}" \
            connections "$conns"
    fi
    check_survived "$name"
    stop_server
}

# ---- the run ------------------------------------------------------------------------------
started=$(date +%s)
: >"$tmp/entries"
echo "==> io: servers as processes, $pinning"
npoints=0
for conns in $conns_list; do
    round=1
    while [ $round -le "$rounds" ]; do
        if [ "$rounds" -gt 1 ]; then
            echo "==> io: $conns connections, round $round of $rounds (servers in a new random order)"
            shuf "$tmp/servers" >"$tmp/order"
        else
            cp "$tmp/servers" "$tmp/order"
        fi
        while IFS="$(printf '\t')" read -r echo_name http_name modes cmd; do
            case ,$modes, in *,echo,*) ;; *) continue ;; esac
            wanted=""
            for size in $sizes; do
                matches "$echo_name/$size/$conns" && wanted="$wanted${wanted:+,}$size"
            done
            [ -n "$wanted" ] || continue
            echo_point "$echo_name" "$(printf '%s' "$cmd" | sed 's|{mode}|echo|g')" "$conns" "$wanted"
            [ $round -eq 1 ] && npoints=$((npoints + $(echo "$wanted" | tr , '\n' | wc -l)))
        done <"$tmp/order"
        round=$((round + 1))
    done
done
# Rounds: one point's slices from every round become its repetitions, renumbered, and its
# median / mean / stddev are computed over all of them (each round's own go); a point
# that failed in one round but was measured in another keeps its measurements.
if [ "$rounds" -gt 1 ]; then
    jq -s -c -f "$here/merge_rounds.jq" "$tmp/entries" >"$tmp/merged" &&
        jq -c '.[]' "$tmp/merged" >"$tmp/entries" || status=1
fi
for conns in $http_conns; do
    while IFS="$(printf '\t')" read -r echo_name http_name modes cmd; do
        case ,$modes, in *,http,*) ;; *) continue ;; esac
        if [ -n "$QUICK" ]; then
            case $http_name in io_http/*) [ "$http_name" = "io_http/$first_port/libev" ] || continue ;; esac
        fi
        name=$http_name/$conns
        matches "$name" || continue
        http_point "$name" "$(printf '%s' "$cmd" | sed 's|{mode}|http|g')" "$conns"
        npoints=$((npoints + 1))
    done <"$tmp/servers"
done

# ---- the results --------------------------------------------------------------------------
pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
gevent_version=$(/usr/bin/python3 -c 'import gevent, greenlet; print("gevent %s, greenlet %s" % (gevent.__version__, greenlet.__version__))' 2>/dev/null || echo "not installed")
context=$(jq -n -c \
    --arg host "$(uname -n)" --argjson ncpu "$ncpu" --arg date "$(date -u +%Y-%m-%dT%H%MZ)" \
    --arg pinning "$pinning" --arg gevent "$gevent_version (Debian python3-gevent $(pkg python3-gevent))" \
    --arg python "$(/usr/bin/python3 --version 2>&1)" \
    --arg wrk "$(if [ -n "$have_wrk" ]; then wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2; else echo "not installed"; fi) (Debian wrk $(pkg wrk))" \
    --arg nofile "$(ulimit -n)" --arg conns "$conns_list" --arg sizes "$sizes" \
    --arg http_conns "$http_conns" --argjson warmup "$warmup" --argjson window "$window" \
    --argjson slices "$slices" --argjson rounds "$rounds" --argjson inflight "$inflight" --argjson http_secs "$http_secs" \
    --argjson http_reps "$http_reps" --argjson seconds "$(( $(date +%s) - started ))" \
    '{host_name: $host, num_cpus: $ncpu, date: $date,
      switchyard_io: {pinning: $pinning, gevent: $gevent, python: $python, wrk: $wrk,
        open_file_limit: $nofile, echo_connections: $conns, echo_message_bytes: $sizes,
        echo_in_flight: $inflight, echo_warmup_s: $warmup, echo_window_s: $window,
        echo_slices: $slices, echo_rounds: $rounds, http_connections: $http_conns, http_seconds: $http_secs,
        http_repetitions: $http_reps, seconds: $seconds,
        notes: ["io_echo: each point is a fresh server process; io_loadgen opens the connections (one round trip each), warms up, then measures a window cut into slices: each slice is one repetition (its own round trips/s, latency percentiles and CPU figures); round trips count only in the slice their echo completes in, inside the window",
                "io_echo: real_time = wall time per round trip; cpu_time = the server process'"'"'s CPU time (user + system, all threads) per round trip; server_cpu_util, client_cpu_util = share of one CPU used by the server and by the load generator (near 1: that side bound the point)",
                "io_echo: latency is measured closed-loop (each connection sends its next message when the echo of the last one is back): percentiles of service time at that concurrency, not of an open arrival rate",
                "io_http: wrk -t1 -c<conns> --latency, one wrk run per repetition; server CPU from /proc/<pid>/stat (10 ms ticks) over the run",
                "a point a server cannot reach is an entry with error_occurred and the reason (io_unreachable: true); an echo mismatch fails the run"]}}')
jq -s -c --argjson ctx "$context" '{context: $ctx, benchmarks: .}' "$tmp/entries" >"$out" || status=1
echo "io: $npoints points in $(( $(date +%s) - started )) s$([ $status -ne 0 ] && echo ' (WITH FAILURES)')"
exit $status
