#!/bin/sh
# check_asm.sh OBJECT... — each OBJECT is an assembled mechanism/arch switch file.
# What the gdb check (tools/gdb/check_gdb.py), which sees the linked program, cannot:
#   - every global symbol it defines is hidden (internal to the library: a shared
#     library built from it exports none of them, a program cannot collide with them);
#   - every function has unwind information: an FDE covers it whole (gdb could fall back
#     on its own prologue analysis and still walk it; libgcc's unwinder, perf and the
#     sanitizers could not).
# One line per object, then "asm: N passed, N failed"; exit status 1 on any failure.
pass=0 fail=0
for obj in "$@"; do
    # build/<variant>/obj/mechanism/arch/<file>.o -> <variant>/<file>.o
    name=$(echo "$obj" | sed -E 's,.*/([^/]+)/obj/mechanism/arch/([^/]+)$,\1/\2,')
    # readelf -sW: Num Value Size Type Bind Vis Ndx Name
    syms=$(readelf -sW "$obj")
    globals=$(echo "$syms" | awk '$5 == "GLOBAL" && $7 != "UND" { print $6, $8 }')
    exported=$(echo "$globals" | awk '$1 != "HIDDEN" && NF { printf " %s (%s)", $2, $1 }')
    # FDE ranges and functions as decimal "lo hi" / "lo hi name" lines (awk here may be
    # mawk, which reads no hexadecimal)
    fdes=$(readelf --debug-dump=frames "$obj" |
        sed -nE 's/.* FDE .* pc=([0-9a-f]+)\.\.([0-9a-f]+).*/\1 \2/p' |
        while read -r lo hi; do echo "$((0x$lo)) $((0x$hi))"; done)
    uncovered=$(echo "$syms" | awk '$4 == "FUNC" && $7 != "UND" { print $2, $3, $8 }' |
        while read -r value size fn; do
            lo=$((0x$value))
            echo "$fdes" | awk -v lo=$lo -v hi=$((lo + size)) -v fn="$fn" '
                $1 <= lo && hi <= $2 { ok = 1 } END { if (!ok) printf " %s", fn }'
        done)
    nfunc=$(echo "$syms" | awk '$4 == "FUNC" && $7 != "UND"' | grep -c .)
    nglobal=$(echo "$globals" | grep -c .)
    if [ "$nglobal" = 0 ] || [ -n "$exported" ] || [ -n "$uncovered" ]; then
        fail=$((fail + 1))
        printf 'FAIL    asm %s:%s%s%s\n' "$name" \
            "$([ "$nglobal" = 0 ] && echo " no global symbol (not a switch file?)")" \
            "${exported:+ not hidden:$exported}" "${uncovered:+; no unwind information for:$uncovered}"
    else
        pass=$((pass + 1))
        printf 'ok      asm %s: %d global symbols, all hidden; %d functions, each covered by an FDE\n' \
            "$name" "$nglobal" "$nfunc"
    fi
done
echo "asm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
