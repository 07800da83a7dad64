#!/bin/sh
# write_pc.sh FILE PREFIX NAME VERSION DESCRIPTION LIB LIBS_PRIVATE [REQUIRES_PRIVATE]
# — one pkg-config file for a static library of the install.
file=$1 prefix=$2 name=$3 version=$4 description=$5 lib=$6 private=$7 requires=$8
{
    printf 'prefix=%s\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\nincludedir=${prefix}/include\n\n' "$prefix"
    printf 'Name: %s\nDescription: %s\nVersion: %s\n' "$name" "$description" "$version"
    printf 'Cflags: -I${includedir}\nLibs: -L${libdir} -l%s\n' "$lib"
    [ -n "$requires" ] && printf 'Requires.private: %s\n' "$requires"
    printf 'Libs.private: %s\n' "$private"
} >"$file"
