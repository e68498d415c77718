#!/usr/bin/env python3
"""Benchmark: syscalls per scrape, counted with `strace -c -f` attached to the running exporter.

- Node family: the agent with every node collector of ours (`--collector.disable-defaults` plus each one,
  an empty textfile directory), and node_exporter with the same flags, each warmed up and then scraped S
  times while strace counts; figures per scrape.
- Container family: the agent with the container family only, counted once with the containers already on
  the host and once more after K `sleep infinity` containers from the local test image were started; the
  difference over the number of containers the scrape gained is the cost of one container per scrape.

The floor is 3 syscalls per file read (open, read, close): the files are the successful `openat`s. HTTP,
threads and the runtime are in the totals too; the "file I/O" rows are the calls on files.
Usage: bench_syscalls.py [scrapes] [containers]
"""
import os
import platform
import subprocess
import sys
import time

import benchlib
from benchlib import count_syscalls, docker, get, start_exporter, stop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRAPES = int(sys.argv[1]) if len(sys.argv) > 1 else 10
CONTAINERS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
IMAGE = "hostlens-test/base:bookworm"
PREFIX = "hostlens-syscalls-"
# Calls on files by path or descriptor; `statfs` is the filesystem collector's job, not reading.
METADATA = ("statx", "newfstatat", "fstat", "lstat", "stat", "lseek")
FILE_IO = ("openat", "read", "close") + METADATA + ("getdents64", "readlinkat", "statfs")


def cleanup():
    benchlib.remove_containers(PREFIX)


def containers_seen(port):
    return benchlib.container_names(get(port))


def per_scrape(counts, n):
    return {k: (c / n, e / n) for k, (c, e) in counts.items()}


def measure(proc, port, scrapes):
    for _ in range(3):  # warm-up: first-scrape caches, lazily opened files
        get(port)
    return per_scrape(count_syscalls(proc.pid, lambda: [get(port) for _ in range(scrapes)]), scrapes)


def summary(c):
    """The rows of one column: files read, failed opens, read/close/metadata calls, other, total, floor."""
    opens, failed = c.get("openat", (0, 0))
    files = opens - failed
    file_io = sum(c.get(k, (0, 0))[0] for k in FILE_IO)
    total = sum(v[0] for v in c.values())
    return {
        "files read (successful openat)": files,
        "openat that failed": failed,
        "read": c.get("read", (0, 0))[0],
        "close": c.get("close", (0, 0))[0],
        "statx / fstat / newfstatat / lseek": sum(c.get(k, (0, 0))[0] for k in METADATA),
        "other file calls (getdents64, readlinkat, statfs)":
            sum(c.get(k, (0, 0))[0] for k in ("getdents64", "readlinkat", "statfs")),
        "file I/O calls": file_io,
        "floor: files read × 3": files * 3,
        "file I/O / floor": file_io / (files * 3) if files else 0.0,
        "all syscalls (HTTP, threads, runtime too)": total,
    }


def node_family(agent, ne):
    collectors = benchlib.common_node_collectors(agent, ne)
    tf = os.path.join(ROOT, ".cache/bench-textfile")
    os.makedirs(tf, exist_ok=True)
    flags = ["--collector.disable-defaults"] + [f"--collector.{c}" for c in collectors]
    flags.append(f"--collector.textfile.directory={tf}")
    cols = {}
    for name, binary in (("hostlens", agent), ("node_exporter", ne)):
        p, port = start_exporter(binary, flags)
        try:
            cols[name] = measure(p, port, SCRAPES)
        finally:
            stop(p)
    return collectors, cols


def container_family(agent):
    flags = ["--collector.disable-defaults", "--collector.container", "--no-collector.ebpf"]

    def run(want):
        """Counts per scrape with `want` among the containers seen; retried while other containers on this
        shared host come or go during the window."""
        for _ in range(5):
            p, port = start_exporter(agent, flags, "/healthz")
            try:
                deadline = time.time() + 30
                while not want <= containers_seen(port):
                    if time.time() > deadline:
                        raise RuntimeError(f"the agent does not show all {len(want)} containers")
                    time.sleep(0.2)
                before = containers_seen(port)
                c = measure(p, port, SCRAPES)
                if containers_seen(port) == before:
                    return len(before), c
            finally:
                stop(p)
        raise RuntimeError("the set of running containers kept changing during the measurement")

    subprocess.run(["bash", os.path.join(ROOT, "scripts/images.sh"), "base"], check=True,
                   stdout=subprocess.DEVNULL)
    cleanup()
    try:
        n0, c0 = run(set())
        for i in range(CONTAINERS):
            docker("run", "-d", "--name", f"{PREFIX}{i}", "--memory", "32m", IMAGE, "sleep", "infinity")
        n1, c1 = run({f"{PREFIX}{i}" for i in range(CONTAINERS)})
    finally:
        cleanup()
    k = n1 - n0
    if k <= 0:
        raise RuntimeError(f"the scrape shows {n0} containers before and {n1} after starting {CONTAINERS}")
    per = {}
    for name in set(c0) | set(c1):
        a, b = c0.get(name, (0, 0)), c1.get(name, (0, 0))
        per[name] = ((b[0] - a[0]) / k, (b[1] - a[1]) / k)
    return n0, n1, per


def fmt(v):
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def main():
    agent = benchlib.agent_binary(ROOT)
    ne = os.environ.get("NODE_EXPORTER") or os.path.join(ROOT, ".cache/test-tools/usr/bin/prometheus-node-exporter")
    if not os.access(ne, os.X_OK):
        raise SystemExit(f"bench_syscalls: no node_exporter at {ne} (run `make test-deps`, or set NODE_EXPORTER)")
    out = subprocess.run([ne, "--version"], capture_output=True, text=True)
    nev = ((out.stderr or out.stdout).splitlines() or ["node_exporter"])[0]
    dv = docker("version", "--format", "{{.Server.Version}}").strip()
    cg = "cgroup v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "cgroup v1 (hybrid)"

    collectors, node = node_family(agent, ne)
    n0, n1, per = container_family(agent)

    print(f"Machine: {benchlib.cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}, {cg}, "
          f"Docker {dv}; {nev}; the node family with {len(collectors)} collectors each; containers: "
          f"{n0} → {n1} seen; strace -c -f over {SCRAPES} scrapes after 3 warm-up scrapes.")
    print()
    print("| syscalls | node family, per scrape: hostlens | node_exporter | container family, per container per scrape |")
    print("|---|---:|---:|---:|")
    a, b, c = summary(node["hostlens"]), summary(node["node_exporter"]), summary(per)
    for row in a:
        print(f"| {row} | {fmt(a[row])} | {fmt(b[row])} | {fmt(c[row])} |")
    print()
    print("Per container per scrape, by syscall: " + ", ".join(
        f"{name} {calls:.1f}" + (f" ({errors:.1f} failed)" if errors >= 0.05 else "")
        for name, (calls, errors) in sorted(per.items(), key=lambda kv: (-kv[1][0], kv[0]))
        if abs(calls) >= 0.05))

if __name__ == "__main__":
    main()
