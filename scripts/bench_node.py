#!/usr/bin/env python3
"""Benchmark: the hostlens agent side by side with node_exporter on this machine.

Both run with the same collectors (the node_exporter defaults that hostlens also has), on loopback ports.
Each run scrapes each exporter N times, alternating, and records per scrape the wall latency, and per run the
CPU seconds the exporter process burned (utime+stime from /proc/<pid>/stat) and its peak RSS (VmHWM).
The table reports medians over the runs and the ratio ours/theirs. Usage: bench_node.py [runs] [scrapes]
"""
import os
import platform
import statistics
import subprocess
import sys
import time

import benchlib
from benchlib import cpu_seconds, get, start_listening

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
SCRAPES = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    agent = benchlib.agent_binary(ROOT)
    ne = os.environ.get("NODE_EXPORTER") or "prometheus-node-exporter"
    collectors = benchlib.common_node_collectors(agent, ne)
    flags = ["--collector.disable-defaults"] + [f"--collector.{c}" for c in collectors]
    tf = os.path.join(ROOT, ".cache/bench-textfile")
    os.makedirs(tf, exist_ok=True)
    flags.append(f"--collector.textfile.directory={tf}")
    results = {"node_exporter": [], "hostlens": []}
    for run in range(RUNS):
        procs = {}
        for name, binary in (("node_exporter", ne), ("hostlens", agent)):
            procs[name] = start_listening([binary] + flags)
        for _ in range(5):  # warm-up
            for p, port in procs.values():
                get(port)
        lat = {n: [] for n in procs}
        cpu0 = {n: cpu_seconds(p.pid) for n, (p, _) in procs.items()}
        for _ in range(SCRAPES):
            for n, (p, port) in procs.items():
                t = time.perf_counter()
                get(port)
                lat[n].append(time.perf_counter() - t)
        for n, (p, _) in procs.items():
            results[n].append({
                "latency": statistics.median(lat[n]),
                "cpu": (cpu_seconds(p.pid) - cpu0[n]) * 100 / SCRAPES,
                "rss": peak_rss(p.pid),
            })
            p.terminate()
            p.wait()
        print(f"run {run + 1}/{RUNS}: " + ", ".join(
            f"{n} {statistics.median(lat[n]) * 1000:.2f} ms" for n in lat), file=sys.stderr)

    def med(n, k):
        return statistics.median(r[k] for r in results[n])

    cpu_model = benchlib.cpu_model()
    nev = subprocess.run([ne, "--version"], capture_output=True, text=True).stderr.splitlines()
    nev = (nev or subprocess.run([ne, "--version"], capture_output=True, text=True).stdout.splitlines() or ["?"])[0]
    print(f"Machine: {cpu_model}, {os.cpu_count()} CPUs, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
          f"Linux {platform.release()}; {nev}; {len(collectors)} collectors each; "
          f"median of {RUNS} runs of {SCRAPES} scrapes.")
    print()
    print("| figure | node_exporter | hostlens | hostlens / node_exporter |")
    print("|---|---:|---:|---:|")
    rows = [
        ("median scrape latency", "latency", lambda v: f"{v * 1000:.2f} ms"),
        ("CPU seconds per 100 scrapes", "cpu", lambda v: f"{v:.3f} s"),
        ("peak RSS", "rss", lambda v: f"{v / 2**20:.1f} MiB"),
    ]
    for label, k, fmt in rows:
        a, b = med("node_exporter", k), med("hostlens", k)
        ratio = f"{b / a:.2f}" if a else "n/a"
        print(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} |")


if __name__ == "__main__":
    main()
