#!/usr/bin/env bash
# The node-only build (`hostlens-agent` without its cargo features `ebpf` and `container`): it must build,
# pass clippy and its CLI tests with no clang on PATH, and compile neither hostlens-bpf, aya nor bollard.
# Run by `make build-node-only` (part of `make lint`).
set -euo pipefail
cd "$(dirname "$0")/.."

farm=$(mktemp -d)
trap 'rm -rf "$farm"' EXIT

# PATH without clang: every PATH directory that holds a clang is replaced by a directory of links to its
# other programs.
path=""
i=0
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    if compgen -G "$d/clang*" >/dev/null; then
        i=$((i + 1))
        mkdir "$farm/$i"
        for f in "$d"/*; do
            case "${f##*/}" in
                clang* | llc | llc-* | llvm-*) ;;
                *) ln -s "$f" "$farm/$i/${f##*/}" ;;
            esac
        done
        d="$farm/$i"
    fi
    path="${path:+$path:}$d"
done
if PATH=$path command -v clang >/dev/null; then
    echo "node-only: could not take clang off PATH" >&2
    exit 1
fi

deps=$(cargo tree --locked -p hostlens-agent --no-default-features -e normal,build --prefix none)
if bad=$(grep -E '^(hostlens-bpf|aya|bollard) ' <<<"$deps"); then
    echo "node-only: the build still depends on:" >&2
    echo "$bad" >&2
    exit 1
fi

# CLANG points nowhere too: if hostlens-bpf's build script ran at all, it would fail.
export PATH=$path CLANG=/nonexistent/clang
cargo clippy --locked -p hostlens-agent --no-default-features --all-targets -- -D warnings
cargo test --locked -p hostlens-agent --no-default-features --bin hostlens-agent cli::
echo "node-only: builds, passes clippy and its CLI tests without clang; no hostlens-bpf, aya or bollard"
