#!/bin/sh
# check_examples.sh BINDIR PORT... — runs every example program of every port on both
# loops and checks what it prints: the seed scenarios' orders, and a clean echo run.
# Prints one line per run and a closing "N passed, N failed"; exit status 1 on failure.
bindir=$1
shift
pass=0 fail=0
check() { # label pattern command...   (pattern: a shell glob over the output's words)
    label=$1 expected=$2
    shift 2
    out=$(timeout 60 "$@" 2>&1 | tr '\n' ' ')
    case "$out" in
    $expected) pass=$((pass + 1)); printf 'ok      %s\n' "$label" ;;
    *) fail=$((fail + 1)); printf 'FAIL    %s\n        | expected: %s\n        | got:      %s\n' "$label" "$expected" "$out" ;;
    esac
}
for port in "$@"; do
    for loop in libev libuv; do
        export SWITCHYARD_LOOP=$loop
        check "greenlet_order_$port $loop" "12 56 34 " "$bindir/greenlet_order_$port"
        check "sleep_order_$port $loop" "1 begins 2 begins 3 begins 3 ends 2 ends 1 ends (*) " \
            "$bindir/sleep_order_$port" 0.05
        check "echo_$port $loop" "10 clients x 3 messages echoed (540 bytes) *" "$bindir/echo_$port" 10 3
    done
done
echo "examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
