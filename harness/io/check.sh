#!/bin/sh
# check.sh — tests of the I/O benchmark programs (`make io-check`, part of `make test`),
# from outside: each server is its own process, probed over 127.0.0.1.
#   - HTTP: the keep-alive server of the hub (first port, both loops, fully; every other
#     port x loop, briefly) and the libev one answer well-formed requests, pipelined or
#     not, and refuse malformed ones with 400 and a close, and keep serving; gevent's
#     pywsgi peer answers;
#   - echo: every C server and gevent's echo 100 000-byte messages (larger than their
#     buffers and the socket buffers) byte for byte under the load generator;
#   - the load generator: an echo that differs is a mismatch with its position (exit 3);
#     a server that closes, stays silent, refuses, or lacks descriptors is a point out of
#     reach with that reason (exit 1); a slow server's round trips are counted only inside
#     the window, and its latencies are at least its delay.
# One line per check, then "io-check: N passed, N failed"; exit status 1 on a failure.
set -u
BUILD=${BUILD:-build}
PORTS=${PORTS:?PORTS is empty}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$BUILD/release/bin/io" && pwd) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-io-check.XXXXXX")
spid= server_pin=
trap '[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$here/lib.sh"

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok      %s\n' "$1"; }
bad() { # label detail...
    fail=$((fail + 1))
    printf 'FAIL    %s\n' "$1"
    shift
    printf '%s\n' "$@" | sed 's/^/        | /'
}
# check label glob text: the text (newlines as spaces) matches the shell glob.
check() {
    case $3 in
    $2) ok "$1" ;;
    *) bad "$1" "expected: $2" "got:      $3" ;;
    esac
}
probe() { "$bin/io_probe" send "$sport" "$1" | tr '\n' ' '; }
count() { printf '%s' "$2" | grep -o -- "$1" | wc -l | tr -d ' '; }

first_port=${PORTS%% *}
for p in $PORTS; do [ "$p" = asm_separate ] && first_port=asm_separate; done
H='Host: x\r\n'

# ---- HTTP -----------------------------------------------------------------------------------
http_full() { # label
    l=$1
    r=$(probe "GET / HTTP/1.1\r\n$H\r\nGET /b HTTP/1.1\r\n$H\r\nHEAD / HTTP/1.1\r\n$H\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    check "$l: pipelined keep-alive requests each get 200 + the 13-byte body, the connection stays open" \
        '*HTTP/1.1 200 OK*Content-Length: 13*Hello, World!*<open> ' "$r"
    n=$(count 'HTTP/1.1 200 OK' "$r") b=$(count 'Hello, World!' "$r")
    if [ "$n" = 4 ] && [ "$b" = 3 ]; then ok "$l: four requests, four responses, HEAD without the body"
    else bad "$l: four requests, four responses, HEAD without the body" "200s: $n, bodies: $b" "$r"; fi
    check "$l: Connection: close gets the response, then a close" \
        '*HTTP/1.1 200 OK*Connection: close*Hello, World!*<closed> ' \
        "$(probe "GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n")"
    check "$l: HTTP/1.0 without keep-alive is answered, then closed" \
        '*HTTP/1.1 200 OK*Hello, World!*<closed> ' "$(probe 'GET / HTTP/1.0\r\n\r\n')"
    check "$l: empty lines before a request line are skipped" \
        '*HTTP/1.1 200 OK*<closed> ' "$(probe "\r\n\r\nGET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n")"
    for bad_request in 'GARBAGE\r\n\r\n' 'GET / HTTP/1.1\r\n\r\n' "GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n" \
        'GET / HTTP/1.1\r\nHost : x\r\n\r\n' "GET / HTTP/2.0\r\n$H\r\n" "GET  / HTTP/1.1\r\n$H\r\n" \
        "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello" \
        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" \
        "GET / HTTP/1.1\r\n${H}X: a\\x00b\r\n\r\n" "GET / HTTP/1.1\r\n${H}${H}\r\n"; do
        check "$l: malformed, 400 and a close: $bad_request" '*HTTP/1.1 400 Bad Request*<closed> ' \
            "$(probe "$bad_request")"
    done
    long=$(head -c 9000 /dev/zero | tr '\0' a)
    check "$l: a request not ended within 8 KiB gets 400 and a close" \
        '*HTTP/1.1 400 Bad Request*<closed> ' "$(probe "GET / HTTP/1.1\r\nX-Long: $long")"
    r=$(probe "GET / HTTP/1.1\r\n$H\r\nBAD\r\n\r\nGET / HTTP/1.1\r\n$H\r\n")
    check "$l: a good request, then a malformed one: 200, 400, close; nothing after" \
        '*HTTP/1.1 200 OK*HTTP/1.1 400 Bad Request*<closed> ' "$r"
    [ "$(count 'HTTP/1.1' "$r")" = 2 ] || bad "$l: nothing is answered after the 400" "$r"
}

http_server() { # label command full
    if ! start_server "$2"; then
        bad "$1: starts" "$start_error"
        return
    fi
    if [ "$3" = full ]; then
        http_full "$1"
    else
        check "$1: keep-alive request: 200, open" '*HTTP/1.1 200 OK*Hello, World!*<open> ' \
            "$(probe "GET / HTTP/1.1\r\n$H\r\n")"
        check "$1: malformed: 400, close" '*HTTP/1.1 400 Bad Request*<closed> ' \
            "$(probe 'GARBAGE\r\n\r\n')"
    fi
    if alive "$spid"; then
        check "$1: still serving after the malformed requests" '*HTTP/1.1 200 OK*<closed> ' \
            "$(probe "GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n")"
    else
        bad "$1: still serving after the malformed requests" "the server died: $(tail -n 3 "$tmp/log")"
    fi
    stop_server
}

http_server "libev callback server" "$bin/io_server_ev http" full
for port in $PORTS; do
    for loop in libev libuv; do
        http_server "hub server $port/$loop" "$bin/io_server_hub_$port http --loop $loop" \
            "$([ "$port" = "$first_port" ] && echo full)"
    done
done
if start_server "/usr/bin/python3 $here/server_gevent.py http"; then
    check "gevent pywsgi: keep-alive request: 200 and the body" '*HTTP/1.1 200 OK*Hello, World!*<open> ' \
        "$(probe "GET / HTTP/1.1\r\n$H\r\n")"
    stop_server
else
    bad "gevent pywsgi: starts" "$start_error"
fi

# ---- echo: large messages, byte for byte ------------------------------------------------------
lg_nofile=
loadgen() { # options: one point; JSON in $tmp/out.json (with $lg_nofile: under that limit)
    (
        [ -n "$lg_nofile" ] && ulimit -n "$lg_nofile"
        exec "$bin/io_loadgen" --port "$sport" --server-pid "${spid:-0}" --server-log "$tmp/log" "$@"
    ) >"$tmp/out.json" 2>"$tmp/err"
}
for server in "libev_callback $bin/io_server_ev" "libuv_poll $bin/io_server_uv_poll" \
    "libuv_stream $bin/io_server_uv_tcp" "thread_per_conn $bin/io_server_threads" \
    "hub/$first_port/libev $bin/io_server_hub_$first_port" \
    "hub/$first_port/libuv $bin/io_server_hub_$first_port --loop libuv" \
    "gevent /usr/bin/python3 $here/server_gevent.py"; do
    label=${server%% *} cmd=${server#* }
    case $cmd in *--loop*) cmd="${cmd% --loop *} echo --loop ${cmd##* }" ;; *) cmd="$cmd echo" ;; esac
    if ! start_server "$cmd"; then
        bad "$label: echo server starts" "$start_error"
        continue
    fi
    loadgen --name "t/$label/{size}" --conns 3 --size 1,100000 --inflight 2 --warmup 0 \
        --window 0.2 --slices 1
    rc=$?
    if [ $rc -eq 0 ] && jq -e '[.[] | select(.run_type == "iteration")] | map([.name, .message_bytes, .iterations > 0])
            == [["t/'"$label"'/1", 1, true], ["t/'"$label"'/100000", 100000, true]]' "$tmp/out.json" >/dev/null; then
        ok "$label: 1-byte, then 100 000-byte messages over the same connections, two in flight, echoed byte for byte"
    else
        bad "$label: 1-byte, then 100 000-byte messages over the same connections, two in flight, echoed byte for byte" \
            "exit status $rc" "$(cat "$tmp/err")" "$(jq -c '[.[] | [.name, .message_bytes, .iterations]]' "$tmp/out.json" 2>&1)"
    fi
    stop_server
done

# ---- the load generator ----------------------------------------------------------------------
expect_fail() { # label exit-status message-glob server-command loadgen-options...
    label=$1 want=$2 glob=$3 cmd=$4
    shift 4
    if [ -n "$cmd" ] && ! start_server "$cmd"; then
        bad "$label" "$start_error"
        return
    fi
    loadgen --name t/fault --warmup 0 --window 0.2 --slices 1 "$@"
    rc=$?
    msg=$(jq -r '.[0].error_message // "no error entry"' "$tmp/out.json" 2>&1)
    case $rc:$msg in
    $want:$glob) ok "$label" ;;
    *) bad "$label" "expected: exit $want, $glob" "got:      exit $rc, $msg" ;;
    esac
    stop_server
}
expect_fail "load generator: a corrupted echo is a mismatch naming its position (exit 3)" 3 \
    'echo mismatch: connection 1, byte 100 of its stream (message 2, byte 36 of 64)*' \
    "$bin/io_probe corrupt-server" --conns 1 --size 64
expect_fail "load generator: a server that closes is a point out of reach, with the reason" 1 \
    '*the server closed it*' "$bin/io_probe close-server" --conns 2
expect_fail "load generator: a server that stops answering is out of reach after --stall" 1 \
    'opening the connections: no round trip completed for 0.5 s*' "$bin/io_probe silent-server" \
    --conns 2 --stall 0.5
# Nothing listens on the port of a server that was stopped.
start_server "$bin/io_probe slow-server" && stop_server
expect_fail "load generator: a refused connection is out of reach, with the reason" 1 \
    'connection 1: connect: Connection refused*' "" --conns 1
lg_nofile=64
expect_fail "load generator: its own open-file limit below the connections is said up front" 1 \
    "the load generator's open-file limit (64) is below 100 connections + 16*" \
    "$bin/io_probe slow-server" --conns 100
lg_nofile=
# The server's limit, lowered (never raised) in the running server with prlimit.
if start_server "$bin/io_probe slow-server" && prlimit --nofile=64 --pid "$spid"; then
    expect_fail "load generator: the server's open-file limit below the connections is said up front" 1 \
        "the server's open-file limit (64) is below 100 connections + 16*" "" --conns 100
fi
stop_server

# A connection of the slow server completes at most one round trip per 10 ms: 4
# connections, 5 slices of 0.1 s, at most 4 x 11 round trips a slice, whatever the load.
if start_server "$bin/io_probe slow-server"; then
    loadgen --name t/slow --conns 4 --warmup 0.05 --window 0.5 --slices 5
    rc=$?
    if [ $rc -eq 0 ] && jq -e '[.[] | select(.run_type == "iteration")] | length == 5 and
            all(.iterations <= 44 and .round_trips_per_s <= 440 and .round_trips_per_s == .iterations * 10)' \
            "$tmp/out.json" >/dev/null; then
        ok "load generator: only round trips completed inside a slice count in it"
    else
        bad "load generator: only round trips completed inside a slice count in it" "exit $rc" \
            "$(jq -c '[.[] | select(.run_type == "iteration") | .iterations]' "$tmp/out.json" 2>&1)"
    fi
    if [ $rc -eq 0 ] && jq -e '[.[] | select(.run_type == "iteration")] | all(.p50_us >= 9700 and .p99_us >= .p50_us and .p999_us >= .p99_us)' \
            "$tmp/out.json" >/dev/null; then
        ok "load generator: latency percentiles are at least the server's 10 ms delay, in order"
    else
        bad "load generator: latency percentiles are at least the server's 10 ms delay, in order" \
            "$(jq -c '[.[] | select(.run_type == "iteration") | [.p50_us, .p99_us, .p999_us]]' "$tmp/out.json" 2>&1)"
    fi
    if [ $rc -eq 0 ] && jq -e '(map(select(.run_type == "aggregate") | .aggregate_name) | sort == ["mean", "median", "stddev"])
            and all(.server_cpu_us_per_rt >= 0 and .client_cpu_util >= 0 and .connections == 4)' \
            "$tmp/out.json" >/dev/null; then
        ok "load generator: slices, mean/median/stddev aggregates and CPU figures in the JSON"
    else
        bad "load generator: slices, mean/median/stddev aggregates and CPU figures in the JSON" "$(cat "$tmp/out.json")"
    fi
    stop_server
fi
"$bin/io_loadgen" --port 1 --name x --conns 0 >/dev/null 2>&1
check "load generator: a bad option is a usage error (exit 2)" 2 "$?"
"$bin/io_loadgen" --port 1 --name x --size 64,1024 >/dev/null 2>&1
check "load generator: several sizes need {size} in the name (exit 2)" 2 "$?"

# Rounds (run.sh, IO_ROUNDS): two rounds of one point become one point of four
# repetitions with its statistics over all four; a point that failed in one round and was
# measured in the other keeps its measurement; one that never was keeps one error.
it() { # name index rate cpu
    printf '{"name":"%s","run_name":"%s","run_type":"iteration","repetitions":2,"repetition_index":%s,"connections":4,"round_trips_per_s":%s,"server_cpu_us_per_rt":%s,"real_time":1,"cpu_time":1}\n' "$1" "$1" "$2" "$3" "$4"
}
agg() { # name aggregate rate
    printf '{"name":"%s_%s","run_name":"%s","run_type":"aggregate","aggregate_name":"%s","repetitions":2,"repetition_index":0,"round_trips_per_s":%s}\n' "$1" "$2" "$1" "$2" "$3"
}
err() { printf '{"name":"%s","run_name":"%s","run_type":"iteration","error_occurred":true,"error_message":"%s"}\n' "$1" "$1" "$2"; }
{
    it a 0 100 10; it a 1 300 30; agg a median 200; agg a mean 200; agg a stddev 141
    err b "refused"; it c 0 50 5; it c 1 70 7
    it a 0 500 50; it a 1 1100 110; agg a median 800; agg a mean 800; agg a stddev 424
    err b "refused again"; err c "timed out"
} >"$tmp/rounds.json"
if jq -s -c -f "$here/merge_rounds.jq" "$tmp/rounds.json" >"$tmp/merged.json" 2>&1 && jq -e '
        ([.[] | select(.run_name == "a" and .run_type == "iteration") | .repetition_index] == [0, 1, 2, 3])
        and all(.[] | select(.run_name == "a"); .repetitions == 4)
        and ([.[] | select(.name == "a_median")][0] | .round_trips_per_s == 400
             and .server_cpu_us_per_rt == 40 and .real_time == 2500000 and .cpu_time == 40000)
        and ([.[] | select(.name == "a_mean")][0].round_trips_per_s == 500)
        and ([.[] | select(.run_name == "b")] | length == 1 and .[0].error_message == "refused")
        and ([.[] | select(.run_name == "c")] | length == 5 and all(.error_occurred | not))' \
        "$tmp/merged.json" >/dev/null; then
    ok "rounds: one point's slices from two rounds are its four repetitions, its median over all"
else
    bad "rounds: one point's slices from two rounds are its four repetitions, its median over all" "$(cat "$tmp/merged.json")"
fi

echo "io-check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
