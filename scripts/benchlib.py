"""Shared pieces of the benchmark scripts: loopback HTTP, readiness, a process's CPU time, the machine's CPU,
starting an exporter, counting a process's syscalls with strace."""
import http.client
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

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


def agent_binary(root, profile="release"):
    """The agent binary of `root`'s target/<profile> (`$AGENT` overrides): `hostlens-agent`, else `agent`."""
    if os.environ.get("AGENT"):
        return os.environ["AGENT"]
    for name in ("hostlens-agent", "agent"):
        path = os.path.join(root, "target", profile, name)
        if os.path.exists(path):
            return path
    raise RuntimeError(f"no agent binary in {root}/target/{profile} (cargo build --release -p hostlens-agent)")


def start_exporter(binary, flags, ready_path="/metrics"):
    """Start an exporter on 127.0.0.1:0; return (process, port) once `ready_path` answers."""
    return start_listening([binary, *flags], ready_path)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def parse_strace_summary(text):
    """`strace -c` summary → {syscall: (calls, errors)}, without the total line."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) not in (5, 6) or not f[0][0].isdigit() or f[-1] == "total":
            continue
        try:
            calls = int(f[3])
            errors = int(f[4]) if len(f) == 6 else 0
        except ValueError:
            continue
        out[f[-1]] = (calls, errors)
    return out


def count_syscalls(pid, action, timeout=30):
    """Attach `strace -c -f` to every thread of `pid` (and the threads it starts), run `action()`, detach;
    return {syscall: (calls, errors)} for what the process did meanwhile. Waits for strace's own "attached"
    line of every thread before running `action`, and for its summary after detaching."""
    if not shutil.which("strace"):
        raise RuntimeError("strace not found: `make test-deps` installs it")
    threads = len(os.listdir(f"/proc/{pid}/task"))
    fd, out = tempfile.mkstemp(prefix="strace-", suffix=".txt")
    os.close(fd)
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        attached = 0
        deadline = time.time() + timeout
        while attached < threads:
            line = st.stderr.readline()
            if not line:
                raise RuntimeError(f"strace exited before attaching to {pid} (rc {st.wait()})")
            m = re.search(r" attached(?: with (\d+) threads)?$", line.rstrip())
            if m:  # "Process N attached with K threads", or one line per thread
                attached += int(m.group(1) or 1)
            if time.time() > deadline:
                raise RuntimeError(f"strace attached to {attached} of {threads} threads of {pid}")
        action()
    finally:
        st.send_signal(signal.SIGINT)
        st.communicate(timeout=timeout)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    counts = parse_strace_summary(text)
    if not counts:
        raise RuntimeError(f"strace gave no summary for {pid}:\n{text}")
    return counts


def node_collectors(agent):
    """The node collectors the agent runs by default (`agent --list-collectors`)."""
    out = subprocess.run([agent, "--list-collectors"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()[1:3] == ["node", "enabled"]]


def reference_collectors(node_exporter):
    """The collectors a node_exporter binary has (`--collector.<name>  Enable the <name> collector` in its
    --help): 1.11.1 lacks 1.12's dmmultipath and nvmesubsystem, and refuses a flag it does not know."""
    out = subprocess.run([node_exporter, "--help"], capture_output=True, text=True, check=False)
    names = set()
    lines = (out.stdout + out.stderr).splitlines()
    for i, line in enumerate(lines):
        parts = line.split(None, 1)
        if not parts or not parts[0].startswith("--collector."):
            continue
        # kingpin wraps a long flag's help onto the next line.
        rest = parts[1] if len(parts) == 2 else (lines[i + 1].strip() if i + 1 < len(lines) else "")
        name = parts[0][len("--collector."):]
        if "." not in name and rest.startswith("Enable the"):
            names.add(name)
    return names


def common_node_collectors(agent, node_exporter):
    """The node collectors both run in a side-by-side: ours that are on by default and that node_exporter has
    (printed: the ones it lacks)."""
    theirs = reference_collectors(node_exporter)
    ours = node_collectors(agent)
    only_ours = [c for c in ours if c not in theirs]
    if only_ours:
        print(f"not compared (node_exporter {node_exporter} lacks them): {', '.join(only_ours)}")
    return [c for c in ours if c in theirs]


def docker(*args, check=True):
    """`docker ARGS…`'s standard output."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout


def remove_containers(prefix):
    """Remove (forcefully) every container whose name starts with `prefix`."""
    ids = docker("ps", "-aq", "--filter", f"name=^{prefix}").split()
    if ids:
        docker("rm", "-f", *ids, check=False)


def container_names(body):
    """The container names in one scrape of the container family (the root cgroup has none)."""
    names = set()
    for line in body.decode().splitlines():
        if line.startswith("container_last_seen{"):
            i = line.find('name="')
            if i >= 0 and line[i + 6] != '"':
                names.add(line[i + 6:line.index('"', i + 6)])
    return names
