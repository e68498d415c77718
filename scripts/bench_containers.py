#!/usr/bin/env python3
"""Benchmark: how the container family's cost grows with the number of running containers.

For 1, 10, 50 and 100 running containers (`sleep infinity` in the local test image, started here), the agent
runs with the container family only; each run scrapes it S times and records the median wall latency and the
CPU seconds the agent burned per scrape (utime+stime from /proc/<pid>/stat); then it leaves the agent alone
for IDLE seconds and records the CPU it burned meanwhile (no housekeeping loop: it should be ~0). The table
reports medians over R runs. cAdvisor cannot be obtained on this machine (no registry, not packaged), so it is
not in the table. Usage: bench_containers.py [runs] [scrapes] [idle seconds]
"""
import os
import platform
import statistics
import subprocess
import sys
import time

import benchlib
from benchlib import container_names, cpu_seconds, docker, get, start_exporter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
SCRAPES = int(sys.argv[2]) if len(sys.argv) > 2 else 50
IDLE = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
COUNTS = [1, 10, 50, 100]
IMAGE = "hostlens-test/base:bookworm"
PREFIX = "hostlens-bench-"


def cleanup():
    benchlib.remove_containers(PREFIX)


def start_agent(agent):
    return start_exporter(agent, ["--collector.disable-defaults", "--collector.container", "--no-collector.ebpf"],
                          "/healthz")


def main():
    agent = benchlib.agent_binary(ROOT)
    subprocess.run(["bash", os.path.join(ROOT, "scripts/images.sh"), "base"], check=True)
    cleanup()
    rows = []
    running = 0
    try:
        for n in COUNTS:
            while running < n:
                docker("run", "-d", "--name", f"{PREFIX}{running}", "--memory", "32m", IMAGE,
                       "sleep", "infinity")
                running += 1
            runs = []
            for run in range(RUNS):
                p, port = start_agent(agent)
                want = {f"{PREFIX}{i}" for i in range(n)}
                deadline = time.time() + 30
                while not want <= container_names(get(port)):
                    if time.time() > deadline:
                        raise RuntimeError(f"the agent does not show all {n} containers")
                    time.sleep(0.2)
                body = get(port)
                series = sum(1 for l in body.decode().splitlines() if l.startswith("container_"))
                for _ in range(3):
                    get(port)
                lat = []
                c0 = cpu_seconds(p.pid)
                for _ in range(SCRAPES):
                    t = time.perf_counter()
                    get(port)
                    lat.append(time.perf_counter() - t)
                cpu = (cpu_seconds(p.pid) - c0) / SCRAPES
                i0 = cpu_seconds(p.pid)
                time.sleep(IDLE)
                idle = (cpu_seconds(p.pid) - i0) / IDLE * 60
                p.terminate()
                p.wait()
                runs.append({"latency": statistics.median(lat), "cpu": cpu, "idle": idle, "series": series})
                print(f"{n} containers, run {run + 1}/{RUNS}: {statistics.median(lat) * 1000:.2f} ms, "
                      f"{cpu * 1000:.2f} ms CPU/scrape, idle {idle * 1000:.1f} ms CPU/min", file=sys.stderr)
            rows.append((n, {k: statistics.median(r[k] for r in runs) for k in runs[0]}))
    finally:
        cleanup()

    cpu_model = benchlib.cpu_model()
    dv = docker("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").strip()
    cg = "cgroup v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "cgroup v1 (hybrid)"
    print(f"Machine: {cpu_model}, {os.cpu_count()} CPUs, Linux {platform.release()}, Docker {dv}, {cg}; "
          f"agent with the container family only; median of {RUNS} runs of {SCRAPES} scrapes, "
          f"idle CPU over {IDLE:.0f} s without scrapes.")
    print()
    print("| running containers | container_* series | median scrape latency | agent CPU per scrape | agent CPU idle |")
    print("|---:|---:|---:|---:|---:|")
    for n, r in rows:
        print(f"| {n} | {r['series']:.0f} | {r['latency'] * 1000:.2f} ms | {r['cpu'] * 1000:.2f} ms | "
              f"{r['idle'] * 1000:.1f} ms/min |")


if __name__ == "__main__":
    main()
