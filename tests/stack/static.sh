#!/usr/bin/env bash
# Static checks of the stack (fast, no container started): the compose file parses with the defaults and with
# every variable overridden (with each Compose found: v2 `docker compose`, v1 `docker-compose`), the defaults
# are the safe ones, Prometheus' config passes promtool, the systemd unit passes systemd-analyze verify.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
PATH="$here/.cache/test-tools/usr/bin:$PATH"
compose_file=deploy/docker-compose.yml
failed=0
t0=$SECONDS

ok() { echo "stack-static: ok: $*"; }
bad() {
    echo "stack-static: FAIL: $*" >&2
    failed=1
}

composes=()
if docker compose version >/dev/null 2>&1; then
    composes+=("docker compose")
elif [ -x "$here/.cache/test-tools/docker-config/cli-plugins/docker-compose" ]; then
    # Compose v2 unpacked by scripts/test-deps.sh (Debian trixie's package), found through DOCKER_CONFIG.
    export DOCKER_CONFIG="$here/.cache/test-tools/docker-config"
    composes+=("docker compose")
fi
command -v docker-compose >/dev/null 2>&1 && composes+=("docker-compose")
[ "${#composes[@]}" -gt 0 ] || {
    echo "stack-static: no docker compose / docker-compose" >&2
    exit 1
}

# Only this test's variables: the caller's environment must not change what "defaults" means.
vars=(HOSTLENS_AGENT_IMAGE PROMETHEUS_IMAGE GRAFANA_IMAGE HOSTLENS_CONTAINER_PREFIX HOSTLENS_BIND_ADDRESS
    PROMETHEUS_PORT GRAFANA_PORT HOSTLENS_SUBNET GRAFANA_MEM_LIMIT PROMETHEUS_MEM_LIMIT HOSTLENS_AGENT_MEM_LIMIT
    PROMETHEUS_RETENTION_TIME PROMETHEUS_RETENTION_SIZE HOSTLENS_CAP_BPF HOSTLENS_CAP_PERFMON
    HOSTLENS_ROOT_PROPAGATION HOSTLENS_DOCKER_SOCKET HOSTLENS_CONFIG_MONITORING)
unset_vars=()
for v in "${vars[@]}"; do unset_vars+=(-u "$v"); done

expect() { # what, output, pattern
    if grep -qE -- "$3" <<<"$2"; then ok "$1"; else bad "$1 (no /$3/ in the rendered config)"; fi
}
refuse() {
    if grep -qE -- "$3" <<<"$2"; then bad "$1 (/$3/ in the rendered config)"; else ok "$1"; fi
}

for c in "${composes[@]}"; do
    read -r -a cmd <<<"$c"
    # The default env_file (../config.monitoring) is made by start.sh; the example stands in for it.
    if ! out=$(env "${unset_vars[@]}" HOSTLENS_CONFIG_MONITORING=../config.monitoring.example \
        "${cmd[@]}" -p hostlens -f "$compose_file" config 2>&1); then
        bad "$c config (defaults): $out"
        continue
    fi
    ok "$c config parses with the defaults"
    expect "$c: Prometheus published on 127.0.0.1 only" "$out" 'published: "?9090"?|127\.0\.0\.1:9090:9090'
    expect "$c: Grafana published on 127.0.0.1" "$out" '127\.0\.0\.1(:3000:3000|$)|host_ip: 127\.0\.0\.1'
    refuse "$c: nothing bound to all interfaces" "$out" '0\.0\.0\.0:(9090|3000)|host_ip: 0\.0\.0\.0'
    refuse "$c: no privileged service" "$out" 'privileged: true'
    expect "$c: pinned Prometheus image" "$out" 'image: prom/prometheus:v[0-9]+\.[0-9]+\.[0-9]+$'
    expect "$c: pinned Grafana image" "$out" 'image: grafana/grafana:[0-9]+\.[0-9]+\.[0-9]+$'
    expect "$c: fixed container name hostlens-agent" "$out" 'container_name: hostlens-agent$'
    expect "$c: fixed container name hostlens-prometheus" "$out" 'container_name: hostlens-prometheus$'
    expect "$c: fixed container name hostlens-grafana" "$out" 'container_name: hostlens-grafana$'
    expect "$c: Grafana memory limit" "$out" 'mem_limit: "?(512m|536870912|512M)"?$'
    agent=$(awk '/^  agent:/{a=1;next} /^  [a-z]+:$/{a=0} a' <<<"$out")
    refuse "$c: the agent publishes no port" "$agent" '^    ports:'
    expect "$c: the agent drops every capability" "$agent" '^ {4,6}- ALL$'
    expect "$c: the agent's root filesystem is read-only" "$agent" 'read_only: true'
    expect "$c: the agent has no-new-privileges" "$agent" 'no-new-privileges:true'
    expect "$c: the agent's host / mount with rslave by default" "$agent" '/host/root:ro,rslave|propagation: rslave'

    if ! out=$(env "${unset_vars[@]}" HOSTLENS_CONFIG_MONITORING=../config.monitoring.example \
        HOSTLENS_AGENT_IMAGE=example/agent:1 PROMETHEUS_IMAGE=example/prom:2 GRAFANA_IMAGE=example/graf:3 \
        HOSTLENS_CONTAINER_PREFIX=hlx HOSTLENS_BIND_ADDRESS=0.0.0.0 PROMETHEUS_PORT=19999 GRAFANA_PORT=13999 \
        HOSTLENS_SUBNET=10.99.0.0/24 GRAFANA_MEM_LIMIT=300m PROMETHEUS_RETENTION_TIME=3d \
        PROMETHEUS_RETENTION_SIZE=1GB HOSTLENS_CAP_BPF=SYS_ADMIN HOSTLENS_CAP_PERFMON=CAP_SYS_ADMIN \
        HOSTLENS_ROOT_PROPAGATION= \
        "${cmd[@]}" -p hostlens -f "$compose_file" config 2>&1); then
        bad "$c config (variables overridden): $out"
        continue
    fi
    ok "$c config parses with every variable overridden"
    for pat in 'image: example/agent:1' 'image: example/prom:2' 'image: example/graf:3' 'container_name: hlx-agent' \
        '19999' '13999' 'subnet: 10\.99\.0\.0/24' 'mem_limit: "?(300m|314572800)"?$' 'retention\.time=3d' \
        'retention\.size=1GB' 'SYS_ADMIN' '/host/root:ro$|/host/root$'; do
        expect "$c: override $pat" "$out" "$pat"
    done
done

if out=$(promtool check config deploy/prometheus/prometheus.yml 2>&1); then
    ok "promtool check config deploy/prometheus/prometheus.yml ($(promtool --version 2>&1 | head -1 | cut -d' ' -f1-3))"
else
    bad "promtool check config: $out"
fi

# One binary name everywhere: what cargo builds is what the images copy, run and health-check.
bin=$(sed -n '/^\[\[bin\]\]/,/^\[/s/^name = "\(.*\)"$/\1/p' agent/Cargo.toml)
if [ -z "$bin" ]; then
    bad "no [[bin]] name in agent/Cargo.toml"
else
    for f in deploy/agent/Dockerfile deploy/agent/Dockerfile.prebuilt; do
        expect "$f runs /$bin" "$(cat "$f")" "^ENTRYPOINT \[\"/$bin\"\]"
        expect "$f copies $bin" "$(cat "$f")" "^COPY .*$bin /$bin\$"
    done
    expect "the compose healthcheck runs /$bin" "$(cat "$compose_file")" "\"CMD\", \"/$bin\", \"--health-check\""
    expect "start.sh copies release/$bin" "$(cat start.sh)" "release/$bin\" "
fi

# verify needs the ExecStart binary to exist: the unit is checked with the path swapped for an existing one.
# It works without systemd as PID 1 (it loads the unit, it does not start it). Any message is a failure.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/hostlens-agent#/bin/true#" deploy/systemd/hostlens-agent.service >"$tmp/hostlens-agent.service"
if out=$(systemd-analyze verify "$tmp/hostlens-agent.service" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify deploy/systemd/hostlens-agent.service ($(systemd-analyze --version | head -1))"
else
    bad "systemd-analyze verify: $out"
fi

echo "stack-static: done in $((SECONDS - t0)) s"
exit "$failed"
