#!/bin/sh
# fetch_sysroot.sh DIR PACKAGE... — unpacks Debian's arm64 builds of the packages into
# DIR (DIR/usr/include, DIR/usr/lib/aarch64-linux-gnu), for the static AArch64 cross
# build: the hub's loops (libev.a, libuv_a.a) for the conformance runners under qemu.
#
# apt-get fetches them with a private state under DIR (its own arm64 package lists,
# checked against the host's Debian archive keyring as any apt download is), so nothing
# is installed on the host: no foreign architecture is added to dpkg, no multiarch
# package has to stay in version lock-step with the host's, and root is not needed.
set -e
mkdir -p "$1"
dir=$(cd "$1" && pwd)
shift
state=$dir/.apt
rm -rf "$state"
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/debs"
apt() { # apt-get with the private arm64 state
    apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
        -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state" \
        -o Dir::Cache::archives="$state/archives" -o Dir::State::status=/dev/null \
        -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" "$@" 2>"$state/log" || {
        cat "$state/log" >&2
        echo "cross/fetch_sysroot.sh: apt-get $1 failed: Debian's arm64 packages ($*)" \
             "could not be fetched; the AArch64 rows of make test need them" >&2
        exit 1
    }
}
apt update
(cd "$state/debs" && apt download "$@")
for deb in "$state"/debs/*.deb; do
    dpkg-deb -x "$deb" "$dir"
done
ls "$state"/debs >"$dir/packages.txt"
rm -rf "$state"
