#!/usr/bin/env bash
# Installs what `make test` needs that a fresh Debian machine lacks, idempotently:
#  - node_exporter (the reference the node family is compared with) and promtool (Prometheus' checker),
#    unpacked from Debian's packages into .cache/test-tools, NOT installed: installing them would start a
#    node_exporter listening on every interface and a Prometheus server on the host.
#  - shellcheck, clang, llvm, libbpf-dev (the eBPF programs), stress and systemd-analyze (the stack's tests),
#    from Debian's packages.
# Needs root (apt) only when something is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.cache/test-tools"
mkdir -p "$tools"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "test-deps: need root to run: $*" >&2
        echo "test-deps: run 'make test-deps' as root once, or install the packages named above" >&2
        exit 1
    fi
}

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        echo "test-deps: apt-get update"
        as_root apt-get update -qq
        apt_updated=1
    fi
}

# Unpack a Debian package into $tools unless $tools/usr/bin/$2 exists.
unpack() {
    local pkg=$1 bin=$2
    if [ -x "$tools/usr/bin/$bin" ]; then
        return 0
    fi
    local dl
    dl=$(mktemp -d)
    echo "test-deps: fetching $pkg (unpacked into .cache/test-tools, not installed)"
    if ! (cd "$dl" && apt-get download "$pkg" >/dev/null 2>&1); then
        apt_update_once
        (cd "$dl" && apt-get download "$pkg" >/dev/null)
    fi
    dpkg-deb -x "$dl"/"${pkg}"_*.deb "$tools"
    rm -rf "$dl"
    [ -x "$tools/usr/bin/$bin" ] || { echo "test-deps: $pkg has no usr/bin/$bin" >&2; exit 1; }
}

unpack prometheus-node-exporter prometheus-node-exporter
unpack prometheus promtool

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v llvm-strip >/dev/null 2>&1 || missing+=(llvm)
[ -e /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v stress >/dev/null 2>&1 || missing+=(stress)                   # the stack's end-to-end test
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)         # verifies deploy/systemd/*.service
if [ "${#missing[@]}" -gt 0 ]; then
    apt_update_once
    echo "test-deps: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for c in rustfmt clippy; do
    if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "test-deps: adding the rustup component $c"
        rustup component add "$c"
    fi
done

echo "test-deps: ok ($("$tools/usr/bin/prometheus-node-exporter" --version 2>&1 | head -1); $("$tools/usr/bin/promtool" --version 2>&1 | head -1))"
