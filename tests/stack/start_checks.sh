#!/usr/bin/env bash
# start.sh's refusals, for real and without starting anything: each bad situation must stop start.sh with
# exit 1, a message naming the fix, and no container of the stack created.
#   - the compose subnet overlaps a host route (as a VPN's would)
#   - a published port is taken by another program
#   - HOSTLENS_COMPOSE names a Compose that does not run
#   - a user who may not use the Docker socket (uid 65534)
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
failed=0
project=hostlens-checks
prefix=hostlens-checks

ok() { echo "start-checks: ok: $*"; }
bad() {
    echo "start-checks: FAIL: $*" >&2
    failed=1
}

# Run start.sh under this test's project; succeed when it exits 1 and its output matches every pattern.
expect_refusal() {
    local what=$1
    shift
    local out rc=0
    out=$(env HOSTLENS_PROJECT=$project HOSTLENS_CONTAINER_PREFIX=$prefix HOSTLENS_WITHOUT_GRAFANA=1 \
        HOSTLENS_CONFIG_MONITORING="$tmp/config.monitoring" "${envs[@]}" "${cmd[@]}" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ]; then
        bad "$what: start.sh exited $rc, expected 1. Output:"$'\n'"$out"
        return
    fi
    local p
    for p in "$@"; do
        if ! grep -qE -- "$p" <<<"$out"; then
            bad "$what: no /$p/ in start.sh's message:"$'\n'"$out"
            return
        fi
    done
    if [ -n "$(docker ps -aq --filter "name=^${prefix}-")" ]; then
        bad "$what: start.sh left containers behind"
        return
    fi
    ok "$what: refused with the fix named ($(grep -m1 'ERROR' <<<"$out" | cut -c1-110)…)"
}

tmp=$(mktemp -d)
listener=
cleanup() {
    [ -z "$listener" ] || kill "$listener" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

cmd=(./start.sh)

# 1. A subnet inside an existing host route (docker0's, or whatever route the host has).
route=$(ip -4 route show table all | awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/(8|1[0-9]|2[0-4])$/ {print $1; exit}')
if [ -n "$route" ]; then
    inside=${route%/*}/24
    envs=(HOSTLENS_SUBNET="$inside" PROMETHEUS_PORT=19391)
    expect_refusal "subnet $inside overlapping the host route $route" 'overlaps' 'HOSTLENS_SUBNET='
else
    bad "no IPv4 network route on this host to overlap (ip -4 route show table all)"
fi

# 2. The Prometheus port held by another program.
# The holder binds port 0 and prints the port once it listens: no port guessed free, no polling.
exec {holder}< <(exec python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(120)")
listener=$!
read -r -t 20 -u "$holder" port || { bad "the port holder did not start"; port=0; }
envs=("PROMETHEUS_PORT=$port" HOSTLENS_SUBNET=172.30.121.0/24)
expect_refusal "port $port in use" "port $port is already in use" "PROMETHEUS_PORT="
kill "$listener" 2>/dev/null || true
listener=
exec {holder}<&-

# 3. A Compose that does not run.
envs=(HOSTLENS_COMPOSE="no-such-compose" PROMETHEUS_PORT=19393 HOSTLENS_SUBNET=172.30.121.0/24)
expect_refusal "HOSTLENS_COMPOSE pointing at nothing" "HOSTLENS_COMPOSE=" "docker compose"

# 4. A user without access to the Docker socket.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    cp -r start.sh deploy grafana-dashboards "$tmp/"
    chmod -R a+rX "$tmp"
    envs=(HOME="$tmp" PROMETHEUS_PORT=19394 HOSTLENS_SUBNET=172.30.121.0/24)
    cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/start.sh")
    expect_refusal "a user without access to the Docker socket" "may not use the Docker socket" "docker group"
    cmd=(./start.sh)
else
    echo "SKIPPED: start-checks: the no-socket-access case needs root (to switch to uid 65534) and setpriv"
fi

[ "$failed" -eq 0 ] || exit 1
echo "start-checks: all refusals named their fix"
