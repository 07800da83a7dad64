#!/bin/sh
# fuzz/minimize.sh — shrinks a failing program to a small one that fails the same way.
#
#   minimize.sh [--oracle] SEED|FILE label=binary ...     (make fuzz-minimize SEED=...)
#
# "The same way" is run.sh's signature: which runners print which trace, and how those
# that fail end (fail:heap-use-after-free, fail:timeout, ...). Greedy, to a fixed point:
# drop an op line; drop an op's "@depth" or "!"; drop the last greenlet when nothing
# names it. Prints the smallest program found (also left in $BUILD/fuzz/minimized.prog).
# Pass only the runners that matter (e.g. one asan runner and --oracle): each attempt
# runs all of them.
BUILD=${BUILD:-build}
here=$(dirname "$0")
dir=$BUILD/fuzz
oracle=
[ "$1" = --oracle ] && { oracle=--oracle; shift; }
[ $# -ge 2 ] || { echo "usage: minimize.sh [--oracle] SEED|FILE label=binary ..." >&2; exit 2; }
what=$1; shift
mkdir -p "$dir"
best=$dir/minimized.prog
try=$dir/minimize-try.prog
case $what in
*[!0-9]*) cp "$what" "$best" || exit 2 ;;
*) $(echo "${1#*=}" | tr ',' ' ') -p "$what" >"$best" || exit 2 ;;
esac

signature_of() { prog=$1; FUZZ_SCRATCH=$dir/minimize BUILD=$BUILD "$here/run.sh" $oracle --signature --program "$prog" $runners; }
runners="$*"

target=$(signature_of "$best")
echo "signature: $target" >&2
case " $target " in
*"=fail:"*) ;;
*" "*"=t2 "*) ;;
*) echo "minimize.sh: the program does not fail (every runner printed the same trace)" >&2; exit 1 ;;
esac

# keeps the candidate in $try if it fails the same way
attempt() {
    if [ "$(signature_of "$try")" = "$target" ]; then
        cp "$try" "$best"
        changed=1
        return 0
    fi
    return 1
}

changed=1
while [ $changed = 1 ]; do
    changed=0
    n=$(wc -l <"$best")
    i=1
    while [ $i -le "$n" ]; do
        line=$(sed -n "${i}p" "$best")
        case $line in
        program*|greenlet*|end) i=$((i + 1)); continue ;;
        esac
        sed "${i}d" "$best" >"$try"
        if attempt; then
            n=$((n - 1))
            continue
        fi
        for opt in ' @[0-9]*' ' !'; do
            if echo "$line" | grep -q -- "$opt"; then
                sed "${i}s/$opt//" "$best" >"$try"
                attempt
            fi
        done
        i=$((i + 1))
    done
    # the last greenlet, when no line names it any more
    last=$(grep -c '^greenlet ' "$best")
    if [ "$last" -gt 1 ] && ! grep -v '^greenlet ' "$best" | grep -qw "g$last"; then
        grep -v "^greenlet g$last " "$best" >"$try"
        attempt
    fi
done
cat "$best"
