"""Shared pieces of the benchmark scripts: loopback HTTP, readiness, a process's CPU time, the machine's CPU."""
import http.client
import os
import queue
import re
import subprocess
import threading

TICKS = os.sysconf("SC_CLK_TCK")


def listen_address(line):
    """The port a log line of the agent (`listening on http://127.0.0.1:PORT/metrics`) or of node_exporter
    (exporter-toolkit: `msg="Listening on" address=127.0.0.1:PORT`, 1.5 and 1.11) says it is bound to."""
    m = re.search(r"listening on http://[^\s/]*:(\d+)/", line) or \
        re.search(r'msg="Listening on" address=\S*:(\d+)', line)
    return int(m.group(1)) if m else None


def start_listening(argv, path="/metrics", timeout=20):
    """Start an exporter on 127.0.0.1:0 (the kernel picks the port, never one found free earlier that another
    process may take first), read the bound port from its log, check that `path` answers; (Popen, port).
    Its stderr keeps being drained by a thread, so the pipe never fills."""
    p = subprocess.Popen(argv + ["--web.listen-address=127.0.0.1:0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, errors="replace")
    found = queue.Queue()

    def drain():
        port = None
        for line in p.stderr:
            if port is None:
                port = listen_address(line)
                if port is not None:
                    found.put(port)
        found.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        port = found.get(timeout=timeout)
    except queue.Empty:
        p.kill()
        raise RuntimeError(f"{argv[0]} did not log its listen address within {timeout} s")
    if port is None:
        raise RuntimeError(f"{argv[0]} exited ({p.wait()}) before it logged its listen address")
    get(port, path)
    return p, port


def get(port, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"port {port}: HTTP {r.status}")
    return body


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
