#!/bin/sh
# check.sh BINDIR LOGDIR PORT... — the gdb checks (tools/gdb/check_gdb.py, run inside
# `gdb -batch`) on examples/greenlet_states built for each port: the extension loads by
# itself, `info greenlets` and `greenlet bt` say what they should, backtraces are clean
# inside a greenlet and at every instruction of the switch. One line per check, then
# "gdb: N passed, N failed"; exit status 1 on any failure. A run's whole gdb session is
# in LOGDIR/gdb_<port>.log.
bindir=$(cd "$1" && pwd) || exit 1
logdir=$2
shift 2
mkdir -p "$logdir"
command -v gdb >/dev/null || { echo "check-gdb: gdb is not installed (make deps)"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
for port in "$@"; do
    bin=$bindir/greenlet_states_$port
    log=$logdir/gdb_$port.log
    # -nx: no ~/.gdbinit; the extension must come from the program's own section.
    timeout 300 gdb -batch -nx -iex "add-auto-load-safe-path $bindir" \
        -x "$here/check_gdb.py" --args "$bin" >"$log" 2>&1
    awk -v port="$port" '/^(ok|FAIL|skip) / {
        st = $1; sub(/^[A-Za-z]+ +/, ""); printf "%-8sgdb %s: %s\n", st, port, $0 }' "$log"
    grep -A12 '^FAIL ' "$log" | grep -v '^FAIL ' | grep -v '^ok ' | sed 's/^/        | /' | head -40
    last=$(grep -E '^gdb checks: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$last" ]; then
        echo "FAIL    gdb $port: the checker did not finish (see $log)"
        tail -5 "$log" | sed 's/^/        | /'
        fail=$((fail + 1))
        continue
    fi
    p=$(echo "$last" | sed -E 's/^gdb checks: ([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    pass=$((pass + p)) fail=$((fail + f))
done
echo "gdb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
