#!/bin/sh
# check_cet.sh OBJECT... — each OBJECT is examples/greenlet_states linked (ld -r) with one
# port's library, all built with control-flow protection on. The linker ANDs the GNU
# property notes of its inputs, so a single object without the marking (an assembly
# file, say) would drop it from the program. Checks:
#   x86-64:  IBT kept in every one; SHSTK kept exactly where mechanism/arch's switch is
#            not linked in (the switch does not claim shadow-stack compatibility: see the
#            README, "Intel CET");
#   AArch64: BTI and PAC kept in every one.
pass=0 fail=0
for obj in "$@"; do
    name=$(basename "$(dirname "$(dirname "$obj")")")/$(basename "$obj" .o)
    arch=$(readelf -h "$obj" | sed -n 's/^ *Machine: *//p')
    notes=$(readelf -n "$obj" 2>/dev/null | sed -n 's/^ *Properties: *//p')
    case $arch in
    *X86-64*)
        if nm "$obj" | grep -q ' [Tt] gl__ctx_switch'; then want_shstk=0; else want_shstk=1; fi
        has_ibt=0 has_shstk=0
        case $notes in *IBT*) has_ibt=1;; esac
        case $notes in *SHSTK*) has_shstk=1;; esac
        what="IBT$( [ $want_shstk = 1 ] && echo ", SHSTK" || echo ", no SHSTK (links the register switch)")"
        ok=$([ $has_ibt = 1 ] && [ $has_shstk = $want_shstk ] && echo 1 || echo 0) ;;
    *AArch64*)
        what="BTI, PAC"
        ok=0
        case $notes in *"BTI, PAC"*) ok=1;; esac ;;
    *)
        what="a known architecture"
        ok=0 ;;
    esac
    if [ "$ok" = 1 ]; then
        pass=$((pass + 1)); printf 'ok      cet %s: %s\n' "$name" "$what"
    else
        fail=$((fail + 1)); printf 'FAIL    cet %s: expected %s, the note says: %s\n' "$name" "$what" "${notes:-nothing}"
    fi
done
echo "cet: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
