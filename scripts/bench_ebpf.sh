#!/usr/bin/env bash
# make bench, eBPF part: the cost of the syscalls programs per syscall (getpid loop pinned to one CPU, no
# program / empty programs on the same hooks / ours) and of biolatency per block request. Needs root.
# See agent-bpf/src/bin/ebpf-bench/main.rs for the method. Then the agent's memory (release build, every
# default family) with the ebpf family on and off: peak (VmHWM) and steady (VmRSS, RssAnon) after two
# scrapes; the issue's target is a peak of at most 15 MiB with eBPF on.
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

# Memory: the release agent (make bench builds it), every default family, eBPF on and off.
agent=target/release/hostlens-agent
[ -x "$agent" ] || cargo build --release --locked -p hostlens-agent
memory() {
    local port=$1; shift
    "$agent" --web.listen-address="127.0.0.1:$port" "$@" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$port/metrics" >/dev/null
    curl -sf "http://127.0.0.1:$port/metrics" >/dev/null
    awk '/^(VmHWM|VmRSS|RssAnon):/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$pid/status"
    echo
    kill "$pid"
    wait "$pid" || true
}
echo "agent memory, eBPF on:  $(memory 19291)"
echo "agent memory, eBPF off: $(memory 19292 --no-collector.ebpf)"
