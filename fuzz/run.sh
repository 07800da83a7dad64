#!/bin/sh
# fuzz/run.sh — runs the fuzzer's programs on every runner (a port in a build variant,
# given as label=command: fuzz_<port>, after an emulator if any, words joined by commas)
# and on Python greenlet (--oracle), and compares the traces byte for byte.
#
#   run.sh [options] --first F --seeds N label=command ...   seeds F..F+N-1
#       --cases DIR          also every DIR/*.prog (programs written by hand)
#       --emulated-seeds M   runners under an emulator run only the first M seeds
#       --known FILE         failures of defects reported and not fixed yet (known.txt)
#       --quiet, --details K less progress; the details of the first K failures
#   run.sh [--oracle] --seed S | --program FILE label=command ...
#       one program: its text, each distinct trace and the runners that printed it, the
#       first line where each differs, why runners failed
#   run.sh [--oracle] --signature --program FILE label=command ...
#       only "label=t1 label=t2 ... label=fail:<kind>": runners with the same tN printed
#       the same trace (what fuzz/minimize.sh compares)
#
# A program passes when every runner ran it to the end (no crash, no sanitizer report,
# no timeout) and every trace is the same (compare.awk). Prints a table per runner, the
# coverage counters, the details of the first K failures (the program, the traces, the
# first differing line, the command that reproduces it) and, last,
# "N programs, N passed, N failed[, N known]". Exit status 1 if a program failed (or a
# known failure passes), 2 if a runner could not run at all.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
JOBS=${FUZZ_JOBS:-2}
here=$(dirname "$0")
dir=$BUILD/fuzz
oracle=0 quiet=0 first=0 seeds=100 seed= program= details= signature=0 cases= emulated= known=
while [ $# -gt 0 ]; do
    case $1 in
    --oracle) oracle=1 ;;
    --quiet) quiet=1 ;;
    --first) first=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --seed) seed=$2; shift ;;
    --program) program=$2; shift ;;
    --details) details=$2; shift ;;
    --signature) signature=1 ;;
    --cases) cases=$2; shift ;;
    --emulated-seeds) emulated=$2; shift ;;
    --known) known=$2; shift ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "usage: run.sh [options] label=binary ..." >&2; exit 2; }
[ -n "$details" ] || details=$([ $quiet = 1 ] && echo 2 || echo 5)
report_lines=$([ $quiet = 1 ] && echo 12 || echo 40)   # of a sanitizer's report, per kind
runners="$*"
# A runner is label=command, the command's words joined by commas (e.g. an emulator
# before the binary): cmd_of SPEC prints it with spaces, to be used unquoted.
cmd_of() { echo "${1#*=}" | tr ',' ' '; }
ref_bin=$(cmd_of "$1")
mkdir -p "$dir"

# Time limit per program: a program takes milliseconds (tens under ASan or qemu on a
# loaded machine), so only a hang trips these.
limit() { case $1 in asan/*|aarch64/*) echo 15 ;; *) echo 5 ;; esac; }

# ---- one program: every runner's trace; identical ones grouped; where they differ ----
one=${FUZZ_SCRATCH:-$dir/one}

# run_program: runs $one.prog on every runner; $one.<i> is runner i's output, and
# $labels the runners in order. The trace is every line not starting with "# " (the
# status line and what the process wrote on stderr: a sanitizer's report, a warning).
# Identical traces form a group: $groups lists the first runner index of each, and
# $names_<index> the runners in it.
run_program() {
    rm -f "$one".[0-9]*
    i=0 labels=""
    for spec in $runners; do
        i=$((i + 1)) label=${spec%%=*}
        $(cmd_of "$spec") -f "$one.prog" -t "$(limit "$label")" >"$one.$i" 2>&1
        labels="$labels $label"
    done
    if [ $oracle = 1 ]; then
        i=$((i + 1))
        "$PYTHON" "$here/oracle.py" --trace <"$one.prog" >"$one.$i" 2>&1
        labels="$labels python"
    fi
    i=0 groups=""
    for label in $labels; do
        i=$((i + 1)) found=""
        grep -v '^# ' "$one.$i" >"$one.$i.trace"
        for g in $groups; do
            if cmp -s "$one.$i.trace" "$one.$g.trace"; then found=$g; break; fi
        done
        if [ -n "$found" ]; then
            eval "names_$found=\"\$names_$found $label\""
        else
            groups="$groups $i"
            eval "names_$i=$label"
        fi
    done
}

# fail_kind FILE: what a failed run's status line says, in a word or two.
fail_kind() {
    sed -n 's/^# fail //p' "$1" | sed -E 's/.*AddressSanitizer: ([a-z-]+).*/\1/;
        s/.*LeakSanitizer.*/leak/; s/.*runtime error.*/ubsan/; s/^timed out.*/timeout/;
        s/^killed by signal ([0-9]+).*/signal-\1/; s/^exit status ([0-9]+).*/exit-\1/' | tr ' ' '-'
}

signature() {
    i=0 out=""
    for label in $labels; do
        i=$((i + 1))
        if grep -q '^# fail' "$one.$i"; then
            out="$out $label=fail:$(fail_kind "$one.$i")"
            continue
        fi
        n=0
        for g in $groups; do
            n=$((n + 1))
            eval "case \" \$names_$g \" in *\" $label \"*) out=\"\$out $label=t$n\";; esac"
        done
    done
    echo "${out# }"
}

# show_one TITLE: the program, every distinct trace with the runners that printed it,
# the first line where each differs from the first one, and why runners failed.
# Status 0 if every runner printed the same trace and ran to the end.
show_one() {
    echo "---- $1"
    cat "$one.prog"
    run_program
    set -- $groups
    status=0
    [ $# -eq 1 ] || status=1
    ref=$1
    eval "ref_name=\$names_$ref"
    for g in $groups; do
        eval "names=\$names_$g"
        echo "---- trace on: $names"
        cat "$one.$g.trace"
        [ "$g" = "$ref" ] && continue
        awk -v a="${ref_name%% *}" -v b="${names%% *}" '
            NR == FNR { ref[FNR] = $0; nref = FNR; next }
            !found && ref[FNR] != $0 { found = FNR; mine = $0 }
            { nmine = FNR }
            END {
                if (!found && nmine < nref) { found = nmine + 1; mine = "(the trace ends)" }
                if (!found && nmine > nref) { found = nref + 1; ref[found] = "(the trace ends)" }
                printf "---- first difference, line %d:\n  %-22s %s\n  %-22s %s\n", found,
                       a ":", ref[found], b ":", mine
            }' "$one.$ref.trace" "$one.$g.trace"
    done
    # Runners that did not run the program to the end: why; and the report (sanitizer,
    # glibc) of the first runner of each kind of failure.
    i=0 kinds=" "
    for label in $labels; do
        i=$((i + 1))
        grep -q '^# fail' "$one.$i" || continue
        status=1
        echo "---- $label: $(sed -n 's/^# fail //p' "$one.$i")"
        kind=$(fail_kind "$one.$i")
        case $kinds in *" $kind "*) continue ;; esac
        kinds="$kinds$kind "
        grep '^# ' "$one.$i" | grep -v -e '^# fail' -e '^# ok' \
            -e 'WARNING: ASan doesn.t fully support makecontext' -e '^# *$' | head -"$report_lines"
    done
    return $status
}

if [ -n "$seed" ] || [ -n "$program" ]; then
    if [ -n "$seed" ]; then
        $ref_bin -p "$seed" >"$one.prog" || exit 2
        title="program of seed $seed"
    else
        cp "$program" "$one.prog" || exit 2
        title="program $program"
    fi
    if [ $signature = 1 ]; then
        run_program
        signature
        exit 0
    fi
    if show_one "$title"; then
        echo "---- the same trace on every runner"
        echo "1 programs, 1 passed, 0 failed"
        exit 0
    fi
    echo "1 programs, 0 passed, 1 failed"
    exit 1
fi

# ---- a range of seeds ------------------------------------------------------------------
files=""
for spec in $runners; do
    label=${spec%%=*} n=$seeds
    case ${spec#*=} in *,*) [ -n "$emulated" ] && [ "$emulated" -lt "$seeds" ] && n=$emulated ;; esac
    out="$dir/$(echo "$label" | tr '/' '_').txt"
    t0=$(date +%s)
    $(cmd_of "$spec") -s "$first" -n "$n" -j "$JOBS" -t "$(limit "$label")" -L "$label" \
        -c "$out.cov" >"$out" || { echo "fuzz: the runner $label could not run" >&2; exit 2; }
    [ "$(wc -l <"$out")" -eq "$n" ] || { echo "fuzz: the runner $label gave no result for some programs" >&2; exit 2; }
    [ $quiet = 1 ] || printf '  %-24s %s programs, %d s\n' "$label" "$n" $(($(date +%s) - t0))
    files="$files $label=$out"
done
if [ $oracle = 1 ]; then
    out="$dir/python.txt"
    t0=$(date +%s)
    $ref_bin -P "$first" "$seeds" | "$PYTHON" "$here/oracle.py" -j "$JOBS" >"$out" ||
        { echo "fuzz: the Python oracle could not run" >&2; exit 2; }
    [ $quiet = 1 ] || printf '  %-24s %s programs, %d s\n' python "$seeds" $(($(date +%s) - t0))
    files="$files python=$out"
fi

verdicts=$dir/verdicts.txt
awk -v first="$first" -v seeds="$seeds" -f "$here/compare.awk" $files >"$verdicts" || exit 2
echo
sed -n 's/^TABLE //p' "$verdicts"
# Coverage: how often each kind of event happened (the first runner's count).
first_out="$dir/$(echo "${1%%=*}" | tr '/' '_').txt.cov"
echo
echo "events over $seeds programs ($(echo "${1%%=*}")):"
awk '{ printf "  %-26s %8d%s", $1, $2, (NR % 3 == 0 ? "\n" : "") } END { if (NR % 3) print "" }' \
    "$first_out"
# Known failures (--known FILE): "<seed or case file> <why>" per line, each a defect
# reported and not fixed yet. Such a program failing is counted apart ("known"), not
# hidden: it is listed with its reason. One that passes fails the run, so that the
# line is removed once the defect is fixed.
known_why() { [ -n "$known" ] && awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$known"; }
nknown=0 nfail=0 stale=""
for s in $(sed -n 's/^FAIL \([0-9]*\) .*/\1/p' "$verdicts"); do
    if [ -n "$(known_why "$s")" ]; then nknown=$((nknown + 1)); else nfail=$((nfail + 1)); fi
done
if [ -n "$known" ]; then
    for k in $(awk '!/^#/ && NF { print $1 }' "$known"); do
        case $k in
        *[!0-9]*) ;;
        *) [ "$k" -ge "$first" ] && [ "$k" -lt $((first + seeds)) ] &&
               ! grep -q "^FAIL $k " "$verdicts" && stale="$stale $k" ;;
        esac
    done
fi
if [ "$nfail" -gt 0 ] || [ "$nknown" -gt 0 ]; then
    echo
    echo "programs that failed (seed: reason):"
    sed -n 's/^FAIL \([0-9]*\) /\1 /p' "$verdicts" | head -50 | while read -r s why; do
        k=$(known_why "$s")
        if [ -n "$k" ]; then echo "  $s: known: $k"; else echo "  $s: $why"; fi
    done
    [ $((nfail + nknown)) -gt 50 ] && echo "  ... and more (all in $verdicts)"
    for s in $(sed -n 's/^FAIL \([0-9]*\) .*/\1/p' "$verdicts"); do
        [ -n "$(known_why "$s")" ] && continue
        [ "$details" -gt 0 ] || break
        details=$((details - 1))
        echo
        $ref_bin -p "$s" >"$one.prog"
        show_one "program of seed $s"
        echo "---- reproduce: make fuzz SEED=$s"
    done
fi

# The hand-written programs (minimal reproducers of what the fuzzer found): each one
# on every runner, a line each; the details of those that fail.
total=$seeds
if [ -n "$cases" ]; then
    echo
    for f in "$cases"/*.prog; do
        total=$((total + 1))
        cp "$f" "$one.prog"
        k=$(known_why "$f")
        if show_one "program $f" >"$one.out"; then
            echo "ok      $f"
            [ -n "$k" ] && stale="$stale $f"
        elif [ -n "$k" ]; then
            nknown=$((nknown + 1))
            echo "known   $f: $k"
        else
            nfail=$((nfail + 1))
            echo "FAIL    $f"
            sed 's/^/        | /' "$one.out" | head -"$((report_lines * 4 + 60))"
            echo "        | reproduce: make fuzz PROGRAM=$f"
        fi
    done
fi
nstale=0
for k in $stale; do
    nstale=$((nstale + 1))
    echo "FAIL    $k is listed in $known as a known failure but passes: remove it from there"
done
echo
echo "$total programs, $((total - nfail - nknown)) passed, $nfail failed$([ "$nknown" -gt 0 ] &&
    echo ", $nknown known ($known)")$([ "$nstale" -gt 0 ] && echo ", $nstale known now passing")"
[ "$nfail" -eq 0 ] && [ "$nstale" -eq 0 ]
