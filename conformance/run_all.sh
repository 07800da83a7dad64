#!/bin/sh
# run_all.sh variant:port ... — runs the conformance runner of each port and build
# variant: the greenlet section once, the hub section (when the runner has one) once per
# loop backend. Prints a table of port × cases passed / failed, then one closing line
# over everything. Exit status 1 if any case failed or any runner could not run.
#   RUN_<variant>        runs that variant's binaries (e.g. qemu-aarch64); empty: directly
#   CONF_ARGS_<variant>  extra runner options (e.g. a longer per-case time limit)
#   CONF_NOTES           lines printed under the table, separated by | (what was left
#                        out of it, and why)
LOOPS=${SWITCHYARD_LOOPS:-"libev libuv"}
total_pass=0 total_fail=0 total_skip=0 broken=0
table=""
BUILD=${BUILD:-build}
logdir=$BUILD/conformance-logs
mkdir -p "$logdir"

run() { # label binary section [loop]   (uses $wrap and $args of the variant)
    label=$1 bin=$2 section=$3 loop=$4
    log="$logdir/$(echo "$label" | tr ' /:' '___').log"
    # shellcheck disable=SC2086 # $wrap and $args are word lists
    if [ -n "$loop" ]; then
        SWITCHYARD_LOOP=$loop $wrap "$bin" -s "$section" $args >"$log" 2>&1
    else
        $wrap "$bin" -s "$section" $args >"$log" 2>&1
    fi
    status=$?
    cat "$log"
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$last" ]; then
        echo "run_all: $label: the runner ended without a result line (status $status)"
        broken=$((broken + 1))
        table="$table$(printf '%-34s %8s %8s %8s' "$label" '-' 'BROKEN' '-')\n"
        return
    fi
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    s=${s:-0}
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
    table="$table$(printf '%-34s %8d %8d %8d' "$label" "$p" "$f" "$s")\n"
}

for spec in "$@"; do
    variant=${spec%%:*} port=${spec#*:}
    bin=$BUILD/$variant/bin/conformance_$port
    if [ ! -x "$bin" ]; then
        echo "run_all: $bin is missing"
        broken=$((broken + 1))
        continue
    fi
    case $variant in *[!A-Za-z0-9_]*) echo "run_all: bad variant name $variant"; exit 2;; esac
    eval "wrap=\${RUN_$variant:-} args=\${CONF_ARGS_$variant:-}"
    run "$port $variant greenlet" "$bin" greenlet
    # shellcheck disable=SC2086
    if $wrap "$bin" -l -s hub 2>/dev/null | grep -q .; then
        for loop in $LOOPS; do
            run "$port $variant hub/$loop" "$bin" hub "$loop"
        done
    fi
done

echo
printf '%-34s %8s %8s %8s\n' "port variant section" passed failed skipped
printf "$table"
[ -n "$CONF_NOTES" ] && printf '%s\n' "$CONF_NOTES" | tr '|' '\n' | sed -e 's/^ *//' -e '/^$/d'
echo
if [ "$total_skip" -gt 0 ]; then
    echo "$total_pass passed, $((total_fail + broken)) failed, $total_skip skipped"
else
    echo "$total_pass passed, $((total_fail + broken)) failed"
fi
[ "$total_fail" -eq 0 ] && [ "$broken" -eq 0 ]
