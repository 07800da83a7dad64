#!/bin/sh
# check.sh LOGDIR [--run EMULATOR] LABEL=PROGRAM... — the gdb checks
# (tools/gdb/check_gdb.py) on examples/greenlet_states built for one port and build each:
# the extension loads by itself, `info greenlets` and `greenlet bt` say what they should,
# backtraces are clean inside a greenlet, and the CFI of mechanism/arch's switch is right
# at every instruction (stepped). One line per check, "gdb LABEL: ..."; then
# "gdb: N passed, N failed"; exit status 1 on any failure. Each program's whole gdb
# session is in LOGDIR/gdb_<label>.log.
#
# --run EMULATOR (e.g. "qemu-aarch64"; "" for none) applies to the programs after it: such
# a program runs under the emulator's gdb stub, on a Unix socket in a fresh private
# directory (no network port: qemu-user's TCP stub would listen on every interface),
# and gdb-multiarch attaches to it. Every wait is bounded: gdb and the emulator are
# stopped after 300 s, the socket is awaited 10 s at most.
logdir=$1
shift
mkdir -p "$logdir"
here=$(cd "$(dirname "$0")" && pwd)
run=""
pass=0 fail=0
failed() { # label, why, log
    echo "FAIL    gdb $1: $2 (see $3)"
    tail -5 "$3" | sed 's/^/        | /'
    fail=$((fail + 1))
}
for arg in "$@"; do
    case $arg in
    --run) run=next; continue ;;
    esac
    if [ "$run" = next ]; then run=$arg; continue; fi
    label=${arg%%=*}
    bin=$(cd "$(dirname "${arg#*=}")" && pwd)/$(basename "${arg#*=}")
    bindir=$(dirname "$bin")
    log=$logdir/gdb_$(echo "$label" | tr ' /' '__').log
    if [ -z "$run" ]; then
        command -v gdb >/dev/null || { failed "$label" "gdb is not installed (make deps)" /dev/null; continue; }
        # -nx: no ~/.gdbinit; the extension must come from the program's own section.
        timeout 300 gdb -batch -nx -iex "add-auto-load-safe-path $bindir" \
            -x "$here/check_gdb.py" --args "$bin" >"$log" 2>&1
    else
        command -v gdb-multiarch >/dev/null ||
            { failed "$label" "gdb-multiarch is not installed (make deps)" /dev/null; continue; }
        dir=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-gdb.XXXXXX") || exit 1
        # shellcheck disable=SC2086 # the emulator's own words
        timeout 300 $run -g "$dir/gdb.sock" "$bin" >"$log.program" 2>&1 &
        emulator=$!
        i=0
        while [ ! -S "$dir/gdb.sock" ] && [ $i -lt 100 ] && kill -0 $emulator 2>/dev/null; do
            sleep 0.1
            i=$((i + 1))
        done
        if [ -S "$dir/gdb.sock" ]; then
            timeout 300 gdb-multiarch -batch -nx -iex "add-auto-load-safe-path $bindir" \
                -ex "file $bin" -ex "target remote $dir/gdb.sock" \
                -x "$here/check_gdb.py" >"$log" 2>&1
        else
            echo "$run did not open its gdb socket within 10 s" >"$log"
        fi
        kill $emulator 2>/dev/null
        wait $emulator 2>/dev/null
        rm -rf "$dir"
    fi
    awk -v label="$label" '/^(ok|FAIL|skip) / {
        st = $1; sub(/^[A-Za-z]+ +/, ""); printf "%-8sgdb %s: %s\n", st, label, $0 }' "$log"
    grep -A12 '^FAIL ' "$log" | grep -v '^FAIL ' | grep -v '^ok ' | sed 's/^/        | /' | head -40
    last=$(grep -E '^gdb checks: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$last" ]; then
        failed "$label" "the checker did not finish" "$log"
        continue
    fi
    p=$(echo "$last" | sed -E 's/^gdb checks: ([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    pass=$((pass + p)) fail=$((fail + f))
done
echo "gdb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
