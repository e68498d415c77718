"""Shared pieces of the benchmark scripts: loopback HTTP, readiness, a process's CPU time, the machine's CPU."""
import http.client
import os
import socket
import time

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"port {port}: HTTP {r.status}")
    return body


def wait_ready(proc, port, path="/metrics"):
    """Wait (at most 20 s) until `proc` answers 200 on `path`; raise if it exits first."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exporter exited: {proc.returncode}")
        try:
            get(port, path)
            return
        except (OSError, RuntimeError):
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not ready")


def cpu_seconds(pid):
    """utime + stime of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""
