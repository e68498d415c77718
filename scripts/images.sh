#!/usr/bin/env bash
# Local images for the tests, built offline (no registry is reachable on the test machines):
#   base   hostlens-test/base:bookworm  Debian bookworm minbase from debootstrap + `docker import`, with busybox
#          (sh, nc, httpd, wget) for the test workloads.
# Idempotent: an image that exists is kept (FORCE=1 rebuilds).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache/images"
BASE_IMAGE=${BASE_IMAGE:-hostlens-test/base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

build_base() {
    if have_image "$BASE_IMAGE"; then
        echo "images: $BASE_IMAGE present"
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        echo "images: installing debootstrap"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    local root="$cache/base-rootfs"
    as_root rm -rf "$root"
    mkdir -p "$cache"
    echo "images: debootstrap bookworm (minbase + busybox) from $MIRROR"
    local t0=$SECONDS
    as_root debootstrap --variant=minbase --include=busybox bookworm "$root" "$MIRROR" >"$cache/debootstrap.log" 2>&1 || {
        echo "images: debootstrap failed; last lines of $cache/debootstrap.log:" >&2
        tail -20 "$cache/debootstrap.log" >&2
        exit 1
    }
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    as_root tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$root"
    echo "images: $BASE_IMAGE built in $((SECONDS - t0)) s"
}

usage() {
    echo "usage: $0 base" >&2
    exit 2
}

[ $# -ge 1 ] || usage
for what in "$@"; do
    case "$what" in
        base) build_base ;;
        *) usage ;;
    esac
done
