#!/usr/bin/env python3
"""End-to-end test of the stack, for real and offline: local images, ./start.sh, assertions, down/up, cleanup.

Images: the agent from this repository (local cargo, static, FROM scratch) and Prometheus from Debian's package
on the debootstrap base (scripts/images.sh). Grafana is used when its image is on this host (GRAFANA_IMAGE or
the compose file's pin); otherwise the test runs agent + Prometheus (HOSTLENS_WITHOUT_GRAFANA=1) and says which
checks it skipped. Everything runs under its own compose project, container names, ports, subnet and volumes,
so a user's running stack is not touched; `down -v` at the end.

Assertions: every service healthy and the agent target up; every panel query of the dashboard JSON returns data
or is explained (llcstat not attached, Grafana left out); node_memory_Cached_bytes within 5 % of /proc/meminfo;
under `stress -d 2 --hdd-bytes 256M --timeout 20s` the write-syscall rate and the write-latency histogram counts
rise; the Prometheus-container panels return exactly that container's series; after `./start.sh down` and up
again a sample from before is still there. With Grafana: /api/health, the provisioned datasource and dashboard,
anonymous access refused, and each panel through Grafana's datasource proxy.
"""

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "grafana-dashboards"))
from panel_queries import panel_queries as dashboard_panel_queries  # noqa: E402
COMPOSE_FILE = os.path.join(ROOT, "deploy", "docker-compose.yml")
DASHBOARD_DIR = os.path.join(ROOT, "grafana-dashboards")
PROJECT = "hostlens-e2e"
PREFIX = "hostlens-e2e"
PROM_PORT = int(os.environ.get("E2E_PROMETHEUS_PORT", "19190"))
GRAFANA_PORT = int(os.environ.get("E2E_GRAFANA_PORT", "13100"))
SUBNET = os.environ.get("E2E_SUBNET", "172.30.119.0/24")
AGENT_IMAGE = os.environ.get("AGENT_TEST_IMAGE", "hostlens-test/agent:local")
PROM_IMAGE = os.environ.get("PROMETHEUS_TEST_IMAGE", "hostlens-test/prometheus:2.42")
PROM = f"http://127.0.0.1:{PROM_PORT}"
GRAFANA = f"http://127.0.0.1:{GRAFANA_PORT}"

failures = []
timings = []


def log(msg):
    print(f"e2e: {msg}", flush=True)


def skip(msg):
    """A check this host cannot make: said as SKIPPED (make test counts these), never as a pass."""
    print(f"SKIPPED: {msg}", flush=True)


def fail(msg):
    failures.append(msg)
    print(f"e2e: FAIL: {msg}", flush=True)


def ok(msg):
    print(f"e2e: ok: {msg}", flush=True)


class Phase:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t0 = time.monotonic()
        log(f"--- phase: {self.name}")
        return self

    def __exit__(self, *exc):
        dt = time.monotonic() - self.t0
        timings.append((self.name, dt))
        log(f"--- phase: {self.name}: {dt:.1f} s")
        return False


def run(cmd, env=None, check=True, capture=False):
    r = subprocess.run(cmd, cwd=ROOT, env=env, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}" + (f":\n{r.stdout}" if capture else ""))
    return r


def compose_default(var):
    m = re.search(r"\$\{" + var + r":-([^}]*)\}", open(COMPOSE_FILE).read())
    return m.group(1) if m else ""


def have_image(img):
    return subprocess.run(["docker", "image", "inspect", img], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def works(cmd, env=None):
    try:
        return subprocess.run(cmd + ["version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env).returncode == 0
    except OSError:
        return False


def compose_flavors():
    """(label, command, extra environment) for each Compose this machine has: v2 (the `docker compose` plugin,
    or the one scripts/test-deps.sh unpacked from Debian trixie into .cache/test-tools/docker-config, used
    through DOCKER_CONFIG) and v1 (`docker-compose`). E2E_COMPOSE=v1|v2 picks one; default: all."""
    out = []
    local_cfg = os.path.join(ROOT, ".cache", "test-tools", "docker-config")
    if works(["docker", "compose"]):
        out.append(("Compose v2", ["docker", "compose"], {}))
    elif os.path.exists(os.path.join(local_cfg, "cli-plugins", "docker-compose")):
        env = {"DOCKER_CONFIG": local_cfg}
        if works(["docker", "compose"], dict(os.environ, **env)):
            out.append(("Compose v2", ["docker", "compose"], env))
    if works(["docker-compose"]):
        out.append(("Compose v1", ["docker-compose"], {}))
    want = os.environ.get("E2E_COMPOSE", "all")
    if want != "all":
        out = [f for f in out if f[0].endswith(want)]
    return out


def http_json(url, auth=None, timeout=10):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read().decode())


def query(expr, at=None, base=PROM, auth=None):
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    path = "/api/v1/query?" if base == PROM else "/api/datasources/proxy/uid/hostlens-prometheus/api/v1/query?"
    _, body = http_json(base + path + urllib.parse.urlencode(params), auth=auth)
    if body.get("status") != "success":
        raise RuntimeError(f"query {expr!r}: {body}")
    return body["data"]["result"]


def scalar(expr, at=None):
    res = query(expr, at)
    return float(res[0]["value"][1]) if res else None


def panel_queries():
    """(dashboard, panel title, expression) for every Prometheus target, read as start.sh reads them, with the
    container names adapted to this test's prefix."""
    return dashboard_panel_queries(DASHBOARD_DIR, PREFIX)


def container_id(name):
    r = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True)
    return r.stdout.strip()


def dump_logs():
    for c in ("agent", "prometheus", "grafana"):
        name = f"{PREFIX}-{c}"
        r = subprocess.run(["docker", "logs", "--tail", "40", name], capture_output=True, text=True)
        if r.returncode == 0:
            print(f"--- last 40 log lines of {name} ---\n{r.stdout}{r.stderr}", flush=True)


def wait_fresh_sample(expr, after, limit=60):
    """The value of expr from a scrape that happened after `after` (unix time)."""
    deadline = time.time() + limit
    while time.time() < deadline:
        res = query(f"timestamp({expr})")
        if res and float(res[0]["value"][1]) > after:
            return scalar(expr)
        time.sleep(2)
    raise RuntimeError(f"no sample of {expr} newer than {after} within {limit} s")


def host_namespace_check():
    """The agent runs in its own network and UTS namespaces (deploy/docker-compose.yml): what it serves must be
    the host's. node_uname_info's nodename is the host's name (start.sh sets the container's hostname);
    node_nf_conntrack_entries is the host's connection count (/proc/sys/net/netfilter shows the reader's own
    namespace: the agent reads /proc/1/net/stat/nf_conntrack), compared with the host's own file."""
    host = open("/proc/sys/kernel/hostname").read().strip()
    res = query("node_uname_info")
    names = sorted({r["metric"].get("nodename", "") for r in res})
    (ok if names == [host] else fail)(f"node_uname_info nodename {names} (the host's: {host!r})")
    count_file = "/proc/sys/net/netfilter/nf_conntrack_count"
    if not os.path.exists(count_file):
        skip(f"node_nf_conntrack_entries: {count_file} absent (nf_conntrack not loaded on this host)")
        return
    t = time.time()
    ours = wait_fresh_sample("node_nf_conntrack_entries", t)
    theirs = int(open(count_file).read())
    # The count in the agent container's own namespace: what the agent would serve if it read it.
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", f"{PREFIX}-agent"],
                         capture_output=True, text=True).stdout.strip()
    with open(f"/proc/{pid}/net/stat/nf_conntrack") as f:
        own = int(f.readlines()[1].split()[0], 16)
    # Connections come and go between the scrape and the read: a bound, not equality.
    bound = max(8, theirs * 0.1)
    msg = (f"node_nf_conntrack_entries {ours:.0f} vs the host's {count_file} {theirs} (the agent container's own "
           f"namespace: {own})")
    if abs(theirs - own) <= 2 * bound:
        skip(f"{msg}: the two namespaces' counts are too close here to tell which one is served")
    else:
        (ok if abs(ours - theirs) <= bound else fail)(msg)


# One run at a time per host: every run uses the same project, container names, ports, subnet and image tags,
# so a second run (another checkout's `make test`) would take the first one's stack down under it.
LOCK = "/tmp/hostlens-e2e.lock"


def one_run_at_a_time():
    f = open(LOCK, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another e2e run holds {LOCK} (same project, ports and images): waiting until it ends")
        fcntl.flock(f, fcntl.LOCK_EX)
        log("the other e2e run ended; starting")
    return f  # held until this process exits


def main():
    _lock = one_run_at_a_time()  # noqa: F841 - held for the whole run
    flavors = compose_flavors()
    if not flavors:
        print("e2e: FAIL: no Compose (docker compose v2 or docker-compose v1) found; scripts/test-deps.sh "
              "unpacks v2 from Debian trixie")
        return 1
    log("Compose flavors to run the whole test with: " + ", ".join(f[0] for f in flavors))
    results = []
    for label, cmd, extra_env in flavors:
        log(f"===== with {label} ({' '.join(cmd)}) =====")
        results.append((label, run_flavor(label, cmd, extra_env)))
    print()
    for label, rc in results:
        print(f"e2e: {label}: {'passed' if rc == 0 else 'FAILED'}")
    return 1 if any(rc for _, rc in results) else 0


def run_flavor(label, compose_base, extra_env):
    failures.clear()
    timings.clear()
    t_all = time.monotonic()
    grafana_image = os.environ.get("GRAFANA_IMAGE") or compose_default("GRAFANA_IMAGE")
    with_grafana = have_image(grafana_image)
    cm = tempfile.NamedTemporaryFile(prefix="hostlens-e2e-config.", delete=False)
    cm.close()
    os.unlink(cm.name)  # start.sh writes it, as on a first run
    env = dict(os.environ,
               HOSTLENS_PROJECT=PROJECT, HOSTLENS_CONTAINER_PREFIX=PREFIX,
               PROMETHEUS_PORT=str(PROM_PORT), GRAFANA_PORT=str(GRAFANA_PORT), HOSTLENS_SUBNET=SUBNET,
               HOSTLENS_AGENT_IMAGE=AGENT_IMAGE, PROMETHEUS_IMAGE=PROM_IMAGE, GRAFANA_IMAGE=grafana_image,
               HOSTLENS_CONFIG_MONITORING=cm.name, HOSTLENS_BIND_ADDRESS="127.0.0.1",
               # The panels are asserted below; start.sh waits for them only as long as rate() needs 2 scrapes.
               HOSTLENS_PANEL_WAIT_SECONDS="60",
               HOSTLENS_COMPOSE=" ".join(compose_base), **extra_env)
    skipped = []
    if with_grafana:
        log(f"Grafana image {grafana_image} is here: testing agent + Prometheus + Grafana")
    else:
        env["HOSTLENS_WITHOUT_GRAFANA"] = "1"
        skipped = [
            "Grafana's /api/health",
            "the provisioned datasource (uid hostlens-prometheus) through Grafana's HTTP API",
            "the provisioned dashboard (uid hostlens-host-overview) through Grafana's HTTP API",
            "anonymous access refused",
            "each panel query through Grafana's datasource proxy",
            "the Grafana-container panels (hostlens-grafana: explained, not asserted)",
        ]
        log(f"Grafana image {grafana_image} is not on this host and cannot be pulled here: running agent + "
            f"Prometheus only (HOSTLENS_WITHOUT_GRAFANA=1). SKIPPED because of that:")
        for s in skipped:
            skip(f"{s} (no Grafana image on this host)")
        log("On a machine with the official images the same test runs all three services and those checks.")
    compose = compose_base + ["-p", PROJECT, "-f", COMPOSE_FILE]
    started = False
    try:
        with Phase("build the local images (base, Prometheus 2.42 from Debian, agent via local cargo)"):
            run(["bash", "scripts/images.sh", "base", "prometheus", "agent"])

        with Phase("./start.sh (first start)"):
            started = True
            r = run(["./start.sh"], env=env, check=False)
            if r.returncode not in (0, 3):
                raise RuntimeError(f"./start.sh exited {r.returncode} (its messages and logs above)")
            if r.returncode == 3:
                log("start.sh: the stack is up, some panels have no data (asserted below)")

        with Phase("target and panels"):
            up = query('up{job="hostlens-agent"}')
            if up and all(s["value"][1] == "1" for s in up):
                ok("target hostlens-agent:9110 is up")
            else:
                fail(f"target hostlens-agent is not up: {up}")
            llc_off = query('hostlens_ebpf_program_attached{program="llcstat"} == 0')
            if not panel_queries():
                fail(f"no panel query found in {DASHBOARD_DIR}/*.json (host-overview.json missing?)")
            for uid, title, expr in panel_queries():
                res = query(expr)
                if res:
                    ok(f"panel {title!r}: {len(res)} series  [{expr}]")
                elif "ebpf_exporter_llc_" in expr and llc_off:
                    skip(f"panel {title!r}: no data, explained: llcstat not attached "
                         f"({llc_off[0]['metric'].get('reason', '?')})")
                elif not with_grafana and f'name="{PREFIX}-grafana"' in expr:
                    skip(f"panel {title!r}: no data, explained: Grafana left out  [{expr}]")
                else:
                    fail(f"panel {title!r} of {uid}: no data  [{expr}]")

        with Phase("node_memory_Cached_bytes vs /proc/meminfo"):
            t = time.time()
            ours = wait_fresh_sample("node_memory_Cached_bytes", t)
            cached = None
            for line in open("/proc/meminfo"):
                if line.startswith("Cached:"):
                    cached = int(line.split()[1]) * 1024
            diff = abs(ours - cached) / cached
            (ok if diff <= 0.05 else fail)(
                f"node_memory_Cached_bytes {ours:.0f} vs /proc/meminfo Cached {cached} ({diff * 100:.2f} % apart, "
                f"limit 5 %)")

        with Phase("the host's namespaces, not the agent container's"):
            host_namespace_check()

        with Phase("stress -d 2 --hdd-bytes 256M --timeout 20s"):
            stress_check()

        with Phase("the Prometheus container's panels return exactly its series"):
            container_series_check()

        if with_grafana:
            with Phase("Grafana: health, provisioning, panels through the datasource proxy"):
                grafana_checks(cm.name)

        with Phase("./start.sh down, then up again: the data is kept"):
            before = time.time() - 20
            ref = query('up{job="prometheus"}', at=before)
            if not ref:
                fail("no sample of up{job=\"prometheus\"} 20 s ago to compare with")
            run(["./start.sh", "down"], env=env)
            vols = run(["docker", "volume", "ls", "-q", "--filter", f"name={PROJECT}_prometheus-data"],
                       capture=True).stdout.split()
            (ok if vols else fail)(f"volume {PROJECT}_prometheus-data kept after down: {vols}")
            r = run(["./start.sh"], env=dict(env, HOSTLENS_PANEL_WAIT_SECONDS="0"), check=False)
            if r.returncode not in (0, 3):
                raise RuntimeError(f"./start.sh (second start) exited {r.returncode}")
            again = query('up{job="prometheus"}', at=before)
            if ref and again and again[0]["value"] == ref[0]["value"]:
                ok(f"the sample of up{{job=\"prometheus\"}} at {before:.0f} is still there after down/up")
            else:
                fail(f"sample from before down/up lost: before {ref}, after {again}")

        with Phase("./start.sh with the stack up (second run: quick and harmless)"):
            t0 = time.monotonic()
            r = run(["./start.sh"], env=env, check=False)
            dt = time.monotonic() - t0
            if r.returncode not in (0, 3):
                fail(f"second ./start.sh exited {r.returncode}")
            (ok if dt < 20 else fail)(f"second ./start.sh took {dt:.1f} s (limit 20 s)")
    except Exception as e:  # noqa: BLE001 - a broken phase is a failure with the logs printed
        fail(f"{type(e).__name__}: {e}")
    finally:
        if failures and started:
            dump_logs()
        with Phase("cleanup (down -v)"):
            subprocess.run(compose + ["down", "-v", "--remove-orphans"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            if os.path.exists(cm.name):
                os.unlink(cm.name)
            shutil.rmtree(os.path.join(ROOT, ".cache", "e2e-stress"), ignore_errors=True)
    print(f"\ne2e: phase timings ({label}):")
    for name, dt in timings:
        print(f"  {dt:7.1f} s  {name}")
    print(f"  {time.monotonic() - t_all:7.1f} s  total")
    if skipped:
        print("e2e: skipped because the Grafana image cannot be had here: " + "; ".join(skipped))
    if failures:
        print(f"\ne2e: {label}: {len(failures)} FAILED:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(f"e2e: {label}: all assertions passed")
    return 0


def stress_check():
    if not shutil.which("stress"):
        raise RuntimeError("stress is not installed (scripts/test-deps.sh installs Debian's stress)")
    writes = 'sum(ebpf_exporter_syscalls_total{syscall="write"})'
    bio = 'sum(ebpf_exporter_bio_latency_seconds_count{operation="write"})'
    rate_expr = 'sum(rate(ebpf_exporter_syscalls_total{syscall="write"}[1m]))'
    t0 = time.time()
    w0, b0 = wait_fresh_sample(writes, t0), wait_fresh_sample(bio, t0)
    rate0 = scalar(rate_expr)
    t_start = time.time()
    d = os.path.join(ROOT, ".cache", "e2e-stress")
    os.makedirs(d, exist_ok=True)
    # stress unlinks its files right after creating them: without writeback they might never reach the disk,
    # so a sync loop pushes the dirty pages out while they are written (what the histogram must see).
    p = subprocess.Popen(["stress", "-d", "2", "--hdd-bytes", "256M", "--timeout", "20s"], cwd=d,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None:
        subprocess.run(["sync", "-f", d], check=False)
        time.sleep(1)
    t_end = time.time()
    w1, b1 = wait_fresh_sample(writes, t_end), wait_fresh_sample(bio, t_end)
    # stress writes 1 MiB chunks: 2 workers x 256 chunks per file at the very least.
    (ok if w1 - w0 >= 512 else fail)(f"write syscalls rose by {w1 - w0:.0f} during stress (at least 512)")
    # The panel's rate over the last minute holds at least stress's own writes. The counter is host-wide: other
    # processes' writes only add to it, so the floor is the test's own work; "higher than before" is not
    # asserted, as a busy host's own writes can outnumber stress's.
    rate_end = scalar(rate_expr) or 0
    floor = 512 / 60
    (ok if rate_end >= floor else fail)(
        f"write-syscall rate panel {rate_end:.0f}/s at the end of stress >= {floor:.1f}/s (stress's own writes "
        f"over the 1 m window; {(w1 - w0) / (t_end - t_start):.0f}/s during stress, {rate0 or 0:.0f}/s before, "
        f"host-wide)")
    (ok if b1 > b0 else fail)(f"write-latency histogram count rose by {b1 - b0:.0f} block writes")
    heat = query('sum(increase(ebpf_exporter_bio_latency_seconds_bucket{operation="write"}[1m])) by (le)')
    (ok if heat and any(float(s["value"][1]) > 0 for s in heat) else fail)(
        f"the write-latency heatmap query has non-zero buckets ({len(heat)} buckets)")


def container_series_check():
    name = f"{PREFIX}-prometheus"
    cid = container_id(name)
    selectors = set()
    for _, title, expr in panel_queries():
        if f'name="{name}"' in expr:
            for m in re.finditer(r"(container_[a-z_]+)\{([^}]*)\}", expr):
                selectors.add(m.group(0))
    if not selectors:
        fail(f"no dashboard panel selects name=\"{name}\"")
    for sel in sorted(selectors):
        res = query(sel)
        if not res:
            fail(f"{sel}: no series (the container family must report the Prometheus container)")
            continue
        wrong = [s["metric"] for s in res if s["metric"].get("name") != name
                 or ("id" in s["metric"] and cid not in s["metric"]["id"])]
        (ok if not wrong else fail)(
            f"{sel}: {len(res)} series, all of container {name} ({cid[:12]})" if not wrong
            else f"{sel}: series of other containers: {wrong[:3]}")


def grafana_checks(cm_path):
    creds = {}
    for line in open(cm_path):
        if "=" in line and not line.startswith("#"):
            k, v = line.strip().split("=", 1)
            creds[k] = v
    auth = f"{creds['GF_SECURITY_ADMIN_USER']}:{creds['GF_SECURITY_ADMIN_PASSWORD']}"
    _, health = http_json(GRAFANA + "/api/health")
    (ok if health.get("database") == "ok" else fail)(f"Grafana /api/health: {health}")
    try:
        http_json(GRAFANA + "/api/dashboards/uid/hostlens-host-overview")
        fail("Grafana answers the dashboard API without a login")
    except urllib.error.HTTPError as e:
        (ok if e.code == 401 else fail)(f"anonymous dashboard API request refused ({e.code})")
    _, ds = http_json(GRAFANA + "/api/datasources/uid/hostlens-prometheus", auth=auth)
    (ok if ds.get("url") == "http://hostlens-prometheus:9090" and ds.get("type") == "prometheus" else fail)(
        f"provisioned datasource: {ds.get('name')} {ds.get('type')} {ds.get('url')}")
    for uid in {u for u, _, _ in panel_queries()}:
        _, db = http_json(GRAFANA + f"/api/dashboards/uid/{uid}", auth=auth)
        (ok if db.get("dashboard", {}).get("uid") == uid else fail)(f"provisioned dashboard {uid}")
    llc_off = query('hostlens_ebpf_program_attached{program="llcstat"} == 0')
    for uid, title, expr in panel_queries():
        res = query(expr, base=GRAFANA, auth=auth)
        if res:
            ok(f"panel {title!r} through Grafana's datasource proxy ({len(res)} series)")
        elif "ebpf_exporter_llc_" in expr and llc_off:
            skip(f"panel {title!r} through Grafana's datasource proxy: no data, explained: llcstat not attached")
        else:
            fail(f"panel {title!r} through Grafana's datasource proxy: no data  [{expr}]")


if __name__ == "__main__":
    sys.exit(main())
