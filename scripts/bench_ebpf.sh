#!/usr/bin/env bash
# make bench, eBPF part: the cost of the syscalls programs per syscall (getpid loop pinned to one CPU, no
# program / empty programs on the same hooks / ours) and of biolatency per block request. Needs root.
# See agent-bpf/src/bin/ebpf-bench/main.rs for the method.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ "$(id -u)" -ne 0 ]; then
    echo "bench_ebpf: loading eBPF programs needs root; skipped" >&2
    exit 0
fi
cargo build --release --locked -p hostlens-bpf --bin ebpf-bench
# The last CPU: usually the least busy with interrupts.
cpu=$(( $(nproc) - 1 ))
# A directory on the disk (not tmpfs) for the direct-I/O writes.
taskset -c "$cpu" target/release/ebpf-bench --runs "${RUNS:-21}" --dio-dir "$here/target/ebpf-bench" "$@"
