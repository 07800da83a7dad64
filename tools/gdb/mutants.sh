#!/bin/sh
# mutants.sh LOGDIR BUILDDIR "ASSEMBLE" "LINK" "RUN" SWITCH.S — proves that the CFI checks
# can fail: each mutant is the switch file with one unwind directive removed or moved
# (the errors a hand edit makes), assembled as the build BUILDDIR assembles it, put into
# copies of that build's asm_separate and stackcopy libraries (ar r) and linked into
# examples/greenlet_states. tools/gdb/check.sh then runs on both programs (under RUN, an
# emulator, if not ""), tools/check_asm.sh on the object. A mutant must make one of them
# fail: "ok ... caught by <which checks>"; one that passes everything is "FAIL ... not
# caught". Closing line "mutants: N caught, N missed"; exit status 1 if any is missed.
#   ASSEMBLE  the build's command for a .S, up to -c ("cc -O2 -g -Imechanism -c")
#   LINK      its link command, up to -o ("cc", "cross/static_link.sh gcc -static")
logdir=$1 build=$2 assemble=$3 link=$4 emulator=$5 src=$6
here=$(cd "$(dirname "$0")" && pwd)
file=$(basename "$src" .S)
mkdir -p "$logdir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-mutants.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cp "$(dirname "$src")"/*.h "$tmp/"

# label|sed script. PUSH_FRAME / POP_FRAME are macros: a change there is in both switches.
# The registers' own mutants per file; then those of the frame's shape, written once:
# @FRAME@ is the frame's size, @RA@ the return-address register.
case $file in
*x86_64*) frame=0x38 ra=rip mutants='
r14 not described as saved|/cfi_rel_offset r14/d
rbp not described as saved|/cfi_rel_offset rbp/d
rbx described at the slot of r15|s/cfi_rel_offset rbx, 0x28/cfi_rel_offset rbx, 0x20/
r13 described before it is stored|/movq    %r13, 0x10(%rsp)/{N;s/\(.*\)\n\(.*\)/\2\n\1/;}
r12 still described in the popped frame|/cfi_restore r12/d
rbp still described in the popped frame|/cfi_restore rbp/d' ;;
*aarch64*) frame=0xb0 ra=x30 mutants='
d9 not described as saved|/cfi_rel_offset d9,/d
x22 not described as saved|/cfi_rel_offset x22,/d
x29 (fp) not described as saved|/cfi_rel_offset x29,/d
x30 (lr) not described as saved|/cfi_rel_offset x30,/d
x21 described at the slot of x22|s/cfi_rel_offset x21, 0x50/cfi_rel_offset x21, 0x58/
d12, d13 described before they are stored|/stp     d12, d13/{N;N;s/\(.*\)\n\(.*\)\n\(.*\)/\2\n\3\n\1/;}
x19 still described in the popped frame|/cfi_restore x19/d
d8 still described in the popped frame|/cfi_restore d8/d' ;;
*) echo "mutants.sh: no mutants for $src"; exit 1 ;;
esac
mutants="$mutants
$(printf '%s\n' '
the push does not move the CFA|/cfi_adjust_cfa_offset @FRAME@$/d
the pop does not move the CFA back|/cfi_adjust_cfa_offset -@FRAME@/d
trampoline: return address not undefined|/cfi_undefined @RA@.*outermost/d
trampoline: no nop before its entry|/return address - 1 lands here/d
copy: return address defined while no frame is whole|/cfi_undefined @RA@.*no whole frame/d
copy: no frame restored after the last load|/cfi_restore_state/d
make: no unwind information|/^gl__ctx_make:/,/\.size   gl__ctx_make/{/cfi_startproc/d;/cfi_endproc/d;}
copy_switch not hidden|/\.hidden gl__ctx_switch_copy/d' | sed "s/@FRAME@/$frame/g; s/@RA@/$ra/g")"

n=0
printf '%s\n' "$mutants" | while IFS='|' read -r label script; do
    [ -n "$label" ] || continue
    case $label in *"$MUTANT"*) ;; *) continue ;; esac   # MUTANT=words: only those
    n=$((n + 1))
    dir=$tmp/$n
    mkdir -p "$dir"
    sed "$script" "$src" >"$dir/$file.S"
    cp "$tmp"/*.h "$dir/"
    if cmp -s "$src" "$dir/$file.S"; then
        echo "FAIL    mutant $file: $label: the edit changed nothing (update mutants.sh)"
        echo missed >>"$tmp/verdicts"
        continue
    fi
    # shellcheck disable=SC2086 # the build's own command words
    if ! $assemble "$dir/$file.S" -o "$dir/$file.o" 2>"$dir/assemble.log"; then
        echo "FAIL    mutant $file: $label: does not assemble: $(head -1 "$dir/assemble.log")"
        echo missed >>"$tmp/verdicts"
        continue
    fi
    by=""
    tools_out=$("$here/../check_asm.sh" "$dir/$file.o")
    echo "$tools_out" | grep -q '^FAIL' && by="check_asm.sh"
    progs=""
    for port in asm_separate stackcopy; do
        cp "$build/lib/libswitchyard_$port.a" "$dir/lib_$port.a"
        ar r "$dir/lib_$port.a" "$dir/$file.o" 2>/dev/null
        # shellcheck disable=SC2086
        $link "$build/obj/examples/greenlet_states.o" "$dir/lib_$port.a" -lpthread \
            -o "$dir/greenlet_states_$port" 2>>"$dir/link.log" &&
            progs="$progs $port=$dir/greenlet_states_$port"
    done
    # shellcheck disable=SC2086
    out=$("$here/check.sh" "$logdir/mutant_$n" --run "$emulator" $progs)
    # "port what failed", short: a stepped routine as "<switch direction> (<routine>)"
    failed=$(echo "$out" | sed -nE 's/^FAIL    gdb ([a-z_]+): (.*)/\1: \2/p' |
        sed -E 's/^([a-z_]+): ([^:]*): (gl__ctx_[a-z_]+) stepped.*/\1 \2 (\3)/;
                s/^([a-z_]+): ([^:]{1,40})[^:]*(:.*)?$/\1 \2/' | sort -u |
        awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 }')
    [ -n "$failed" ] && by="${by:+$by; }$failed"
    if [ -n "$by" ]; then
        echo "ok      mutant $file: $label: caught by $by"
        echo caught >>"$tmp/verdicts"
    else
        echo "FAIL    mutant $file: $label: not caught (logs: $logdir/mutant_$n)"
        echo missed >>"$tmp/verdicts"
    fi
done
caught=$(grep -c '^caught' "$tmp/verdicts" 2>/dev/null)
missed=$(grep -c '^missed' "$tmp/verdicts" 2>/dev/null)
echo "mutants: ${caught:-0} caught, ${missed:-0} missed"
[ "${missed:-0}" -eq 0 ]
