#!/usr/bin/env bash
# Installs what `make test` needs that a fresh Debian machine lacks, idempotently:
#  - node_exporter (the reference the node family is compared with) and promtool (Prometheus' checker),
#    unpacked from Debian's packages into .cache/test-tools, NOT installed: installing them would start a
#    node_exporter listening on every interface and a Prometheus server on the host.
#  - shellcheck, clang, llvm, libbpf-dev (the eBPF programs), stress and systemd-analyze (the stack's tests),
#    strace (make bench), from Debian's packages.
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
command -v python3 >/dev/null 2>&1 || missing+=(python3)                 # dashboards generator, stack e2e, benches
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)         # the offline test images
command -v stress >/dev/null 2>&1 || missing+=(stress)                   # the stack's end-to-end test
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)         # verifies deploy/systemd/*.service
command -v strace >/dev/null 2>&1 || missing+=(strace)                   # make bench: syscalls per scrape
if [ "${#missing[@]}" -gt 0 ]; then
    apt_update_once
    echo "test-deps: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Compose v2, for the stack tests (users' hosts mostly run v2; Debian bookworm packages only v1). Unless the
# `docker compose` plugin is installed, Debian trixie's docker-compose package (the v2 plugin, a static binary)
# is downloaded with a private apt state and unpacked into .cache/test-tools/docker-config/cli-plugins, which
# the tests use through DOCKER_CONFIG; nothing is installed and the host's apt sources are not touched.
compose_cfg="$tools/docker-config"
if ! docker compose version >/dev/null 2>&1 && [ ! -x "$compose_cfg/cli-plugins/docker-compose" ]; then
    echo "test-deps: fetching Compose v2 (Debian trixie's docker-compose, unpacked into .cache/test-tools/docker-config)"
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/lists/partial"
    echo "deb http://deb.debian.org/debian trixie main" >"$apt_dir/sources.list"
    apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
    if apt-get "${apt_opts[@]}" update >"$apt_dir/log" 2>&1 &&
        (cd "$apt_dir" && apt-get "${apt_opts[@]}" download docker-compose >>"$apt_dir/log" 2>&1); then
        dpkg-deb -x "$apt_dir"/docker-compose_*.deb "$apt_dir/x"
        mkdir -p "$compose_cfg/cli-plugins"
        cp "$apt_dir/x/usr/libexec/docker/cli-plugins/docker-compose" "$compose_cfg/cli-plugins/"
    else
        echo "test-deps: could not fetch Compose v2 from Debian trixie (the stack tests run with v1 only):" >&2
        tail -5 "$apt_dir/log" >&2
    fi
    rm -rf "$apt_dir"
fi

for c in rustfmt clippy; do
    if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "test-deps: adding the rustup component $c"
        rustup component add "$c"
    fi
done

echo "test-deps: ok ($("$tools/usr/bin/prometheus-node-exporter" --version 2>&1 | head -1); $("$tools/usr/bin/promtool" --version 2>&1 | head -1))"
