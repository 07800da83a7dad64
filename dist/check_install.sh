#!/bin/sh
# check_install.sh DIR VERSION PORT... — DIR/prefix holds a `make install`: build the
# examples against it as a user would, with nothing but pkg-config (no -I or -L of the
# source tree), run them, check what they print. One line per check, then
# "install: N passed, N failed".
dir=$1 version=$2
shift 2
prefix=$dir/prefix
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
CC=${CC:-cc}
pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok      install: %s\n' "$1"; }
no() { fail=$((fail + 1)); printf 'FAIL    install: %s\n' "$1"; [ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/        | /'; }

# Namespaced headers only: nothing called greenlet.h at the top of include/.
if [ -f "$prefix/include/switchyard/greenlet.h" ] && [ -f "$prefix/include/switchyard/hub.h" ] &&
   [ ! -e "$prefix/include/greenlet.h" ] && [ ! -e "$prefix/include/hub.h" ]; then
    ok "headers under include/switchyard/ only"
else
    no "headers under include/switchyard/ only" "$(find "$prefix/include")"
fi

# The examples as a user writes them against the installed headers.
mkdir -p "$dir/src"
for ex in greenlet_order sleep_order; do
    sed -e 's|#include "greenlet.h"|#include <switchyard/greenlet.h>|' \
        -e 's|#include "hub.h"|#include <switchyard/hub.h>|' "examples/$ex.c" >"$dir/src/$ex.c"
done
cat >"$dir/src/version.c" <<'C'
#include <stdio.h>
#include <switchyard/greenlet.h>
#if SWITCHYARD_VERSION != SWITCHYARD_VERSION_MAJOR * 10000 + SWITCHYARD_VERSION_MINOR * 100 + SWITCHYARD_VERSION_PATCH
#error "SWITCHYARD_VERSION does not match its parts"
#endif
int main(void) { printf("%s %s\n", SWITCHYARD_VERSION_STRING, gl_port()->name); return 0; }
C

build() { # name src pkgs...
    name=$1 src=$2
    shift 2
    flags=$(pkg-config --static --cflags --libs "$@" 2>&1) || { no "pkg-config $*" "$flags"; return 1; }
    # shellcheck disable=SC2086 # flags is a word list
    out=$($CC -std=gnu11 -Wall -Werror "$dir/src/$src.c" -o "$dir/$name" $flags 2>&1) ||
        { no "$name builds with pkg-config --static --cflags --libs $*" "$out"; return 1; }
}

for port in "$@"; do
    [ "$(pkg-config --modversion "switchyard-$port" 2>&1)" = "$version" ] &&
        ok "switchyard-$port.pc is version $version" ||
        no "switchyard-$port.pc is version $version" "$(pkg-config --modversion "switchyard-$port" 2>&1)"
    if build "version_$port" version "switchyard-$port"; then
        out=$("$dir/version_$port" 2>&1)
        [ "$out" = "$version $port" ] && ok "version_$port: the header's version, port $port" ||
            no "version_$port prints '$version $port'" "$out"
    fi
    if build "greenlet_order_$port" greenlet_order "switchyard-$port"; then
        out=$(timeout 60 "$dir/greenlet_order_$port" 2>&1 | tr '\n' ' ')
        [ "$out" = "12 56 34 " ] && ok "greenlet_order_$port built from the installed tree prints 12 56 34" ||
            no "greenlet_order_$port prints 12 56 34" "$out"
    fi
    if build "sleep_order_$port" sleep_order switchyard-hub "switchyard-$port"; then
        out=$(timeout 60 "$dir/sleep_order_$port" 0.05 2>&1 | tr '\n' ' ')
        case "$out" in
        "1 begins 2 begins 3 begins 3 ends 2 ends 1 ends "*)
            ok "sleep_order_$port (hub + port) built from the installed tree runs in order" ;;
        *) no "sleep_order_$port runs in order" "$out" ;;
        esac
    fi
done
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
