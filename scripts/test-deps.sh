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

# Unpack a Debian package of the host's release into $tools unless $tools/$2 (a path inside the package,
# e.g. usr/sbin/chronyd) exists.
unpack_path() {
    local pkg=$1 file=$2
    if [ -e "$tools/$file" ]; then
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
    [ -e "$tools/$file" ] || { echo "test-deps: $pkg has no $file" >&2; exit 1; }
}

# unpack_path for a package's usr/bin/$2.
unpack() {
    unpack_path "$1" "usr/bin/$2"
}

# shellcheck source=scripts/debian-mirror.sh
. "$here/scripts/debian-mirror.sh"

# A private apt state for another Debian suite (trixie, sid, ...) in directory $1, with `deb` and `deb-src`
# lines for suite $2 on the host's own mirror ($DEBIAN_MIRROR overrides it): the host's sources, lists and
# caches are not touched and nothing is installed. Then `papt DIR <apt-get args>` runs apt-get in that state.
papt() {
    local dir=$1
    shift
    apt-get -q -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o APT::Sandbox::User=root "$@"
}
private_apt() {
    local dir=$1 suite=$2 mirror
    mirror=${DEBIAN_MIRROR:-$(debian_mirror)} || return 1
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    printf 'deb %s %s main\ndeb-src %s %s main\n' "$mirror" "$suite" "$mirror" "$suite" >"$dir/sources.list"
    if ! papt "$dir" update --error-on=any >"$dir/log" 2>&1; then
        echo "test-deps: apt-get update for Debian $suite from $mirror failed (network, or a mirror without" \
            "$suite: set DEBIAN_MIRROR):" >&2
        tail -5 "$dir/log" >&2
        return 1
    fi
}

unpack prometheus promtool

# The servers of the ntp, supervisord and runit side-by-sides (agent/tests/node_daemons.rs), unpacked from
# bookworm's packages, NOT installed: installing chrony would start a daemon steering the host's clock,
# supervisor and runit would start their own supervisors. The tests run them on temporary configs: chronyd
# on 127.0.0.1 and a spare port without touching the clock (-x), supervisord on a socket in a temporary
# directory (its Python modules from .cache/test-tools/usr/lib/python3/dist-packages, run by the host's
# /usr/bin/python3 with python3-pkg-resources, installed below), runsv on a temporary service directory.
unpack_path chrony usr/sbin/chronyd
unpack_path supervisor usr/lib/python3/dist-packages/supervisor/supervisord.py
unpack runit runsv

# The reference node_exporter: Debian sid's prometheus-node-exporter 1.11.x (a Go binary, runs on bookworm),
# unpacked into .cache/test-tools/usr/bin (bookworm's 1.5 is retired as the reference), and the upstream
# source tree of the same package (the orig tarball) in .cache/node-exporter-src: collector/fixtures
# (sys.ttar, udev.ttar, e2e-output.txt, ...) and end-to-end-test.sh, for the fixture side-by-side.
ne_series=1.11.
ne_bin="$tools/usr/bin/prometheus-node-exporter"
ne_src="$here/.cache/node-exporter-src"
ne_version() { "$1" --version 2>&1 | awk 'NR == 1 { print $3 }'; }
sid_apt=""
trap '[ -z "$sid_apt" ] || rm -rf "$sid_apt"' EXIT
sid_apt_once() {
    if [ -z "$sid_apt" ]; then
        sid_apt=$(mktemp -d)
        echo "test-deps: private apt state for Debian sid in $sid_apt"
        private_apt "$sid_apt" sid || { rm -rf "$sid_apt"; exit 1; }
    fi
}
if [ ! -x "$ne_bin" ] || [[ "$(ne_version "$ne_bin")" != "$ne_series"* ]]; then
    sid_apt_once
    echo "test-deps: fetching Debian sid's prometheus-node-exporter (unpacked into .cache/test-tools, not installed)"
    if ! (cd "$sid_apt" && papt "$sid_apt" download prometheus-node-exporter >>"$sid_apt/log" 2>&1); then
        echo "test-deps: could not download prometheus-node-exporter from Debian sid:" >&2
        tail -5 "$sid_apt/log" >&2
        exit 1
    fi
    dpkg-deb -x "$sid_apt"/prometheus-node-exporter_*.deb "$sid_apt/x"
    mkdir -p "$tools/usr/bin"
    cp "$sid_apt/x/usr/bin/prometheus-node-exporter" "$ne_bin"
    if [[ "$(ne_version "$ne_bin")" != "$ne_series"* ]]; then
        echo "test-deps: Debian sid's prometheus-node-exporter is $(ne_version "$ne_bin"), not $ne_series*:" \
            "update ne_series in scripts/test-deps.sh and the baselines in agent/tests" >&2
        exit 1
    fi
fi
if [ ! -f "$ne_src/end-to-end-test.sh" ] || [[ "$(cat "$ne_src/VERSION" 2>/dev/null)" != "$ne_series"* ]]; then
    sid_apt_once
    echo "test-deps: fetching the source of Debian sid's prometheus-node-exporter (into .cache/node-exporter-src)"
    # On 2026-12-01 the .dsc answered 404 while the orig tarball downloaded and apt exited non-zero: what
    # counts is the tarball, not apt's exit code.
    (cd "$sid_apt" && papt "$sid_apt" source --download-only prometheus-node-exporter >>"$sid_apt/log" 2>&1) || true
    orig=$(find "$sid_apt" -maxdepth 1 -name 'prometheus-node-exporter_*.orig.tar.*' | head -1)
    if [ -z "$orig" ]; then
        echo "test-deps: no orig tarball of prometheus-node-exporter from Debian sid (apt-get source said:)" >&2
        tail -5 "$sid_apt/log" >&2
        echo "test-deps: check the network and the mirror's deb-src for sid, or set DEBIAN_MIRROR" >&2
        exit 1
    fi
    # Unpacked beside and moved into place, so an interrupted run never leaves a tree that looks complete.
    rm -rf "$ne_src" "$ne_src.new"
    mkdir -p "$ne_src.new"
    tar -xf "$orig" -C "$ne_src.new" --strip-components=1
    for f in VERSION end-to-end-test.sh collector/fixtures/sys.ttar collector/fixtures/udev.ttar \
        collector/fixtures/e2e-output.txt; do
        [ -f "$ne_src.new/$f" ] || { echo "test-deps: $(basename "$orig") has no $f" >&2; exit 1; }
    done
    mv "$ne_src.new" "$ne_src"
fi

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
[ -x /usr/sbin/mkfs.btrfs ] || [ -x /sbin/mkfs.btrfs ] || missing+=(btrfs-progs) # btrfs ioctls on a loop btrfs
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pkg_resources' >/dev/null 2>&1 ||
    missing+=(python3 python3-pkg-resources)                             # supervisord (node_daemons test)
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
    if private_apt "$apt_dir" trixie &&
        (cd "$apt_dir" && papt "$apt_dir" download docker-compose >>"$apt_dir/log" 2>&1); then
        dpkg-deb -x "$apt_dir"/docker-compose_*.deb "$apt_dir/x"
        mkdir -p "$compose_cfg/cli-plugins"
        cp "$apt_dir/x/usr/libexec/docker/cli-plugins/docker-compose" "$compose_cfg/cli-plugins/"
    else
        echo "test-deps: could not fetch Compose v2 from Debian trixie (the stack tests run with v1 only):" >&2
        [ ! -f "$apt_dir/log" ] || tail -5 "$apt_dir/log" >&2
    fi
    rm -rf "$apt_dir"
fi

for c in rustfmt clippy; do
    if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "test-deps: adding the rustup component $c"
        rustup component add "$c"
    fi
done

echo "test-deps: ok ($("$ne_bin" --version 2>&1 | head -1); node_exporter source $(cat "$ne_src/VERSION")" \
    "in .cache/node-exporter-src; $("$tools/usr/bin/promtool" --version 2>&1 | head -1))"
