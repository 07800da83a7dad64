#!/bin/sh
# static_link.sh CC ARGS... — a static link, without glibc's notes that a function the
# program references (libuv's getpwuid_r, dlopen) would need glibc's shared libraries
# at run time: the conformance runners never call them. Everything else the linker
# says is shown; the exit status is the linker's.
out=$("$@" 2>&1)
status=$?
[ -n "$out" ] && printf '%s\n' "$out" | awk '
    /in function `/ { held = $0; next }
    /statically linked applications requires at runtime/ { held = ""; next }
    { if (held != "") print held; held = ""; print }
    END { if (held != "") print held }' >&2
exit $status
