#!/usr/bin/env bash
# hostlens: the agent, Prometheus and Grafana on this host, in one command.
#
#   ./start.sh           check the host, build the agent image, start the stack, wait until every service is
#                        healthy, the agent is scraped and every dashboard panel has data; print where to go
#   ./start.sh status    the same table and URLs, without starting anything
#   ./start.sh down      stop and remove the containers; the data (volumes) is kept
#   ./start.sh build     only build the agent image
#
# Variables (deploy/README.md has the full table): PROMETHEUS_PORT, GRAFANA_PORT, HOSTLENS_BIND_ADDRESS,
# HOSTLENS_SUBNET, HOSTLENS_AGENT_IMAGE, PROMETHEUS_IMAGE, GRAFANA_IMAGE, GRAFANA_MEM_LIMIT,
# HOSTLENS_WITHOUT_GRAFANA=1, HOSTLENS_AGENT_BUILD=auto|docker|cargo, HOSTLENS_COMPOSE, HOSTLENS_WAIT_SECONDS, ...
#
# Exit status: 0 ready; 1 a check or a service failed (the message says what and how to fix it); 3 the stack
# is up and scraped, but some dashboard panels still have no data (listed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
compose_file="$here/deploy/docker-compose.yml"
dashboards="$here/grafana-dashboards"

say() { printf 'start.sh: %s\n' "$*"; }
warn() { printf 'start.sh: WARNING: %s\n' "$*" >&2; }
die() {
    printf 'start.sh: ERROR: %s\n' "$1" >&2
    shift
    local line
    for line in "$@"; do printf '          %s\n' "$line" >&2; done
    exit 1
}

# The default of ${NAME:-default} in the compose file: one place for the pinned versions.
compose_default() {
    sed -n "s/.*\${$1:-\([^}]*\)}.*/\1/p" "$compose_file" | head -1
}

export HOSTLENS_PROJECT=${HOSTLENS_PROJECT:-hostlens}
export HOSTLENS_CONTAINER_PREFIX=${HOSTLENS_CONTAINER_PREFIX:-hostlens}
export HOSTLENS_BIND_ADDRESS=${HOSTLENS_BIND_ADDRESS:-127.0.0.1}
# The agent container's hostname is the host's, so that node_uname_info{nodename} is the host's name.
HOSTLENS_AGENT_HOSTNAME=${HOSTLENS_AGENT_HOSTNAME:-$(cat /proc/sys/kernel/hostname 2>/dev/null || echo hostlens-agent)}
export HOSTLENS_AGENT_HOSTNAME
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
export GRAFANA_PORT=${GRAFANA_PORT:-3000}
export HOSTLENS_SUBNET=${HOSTLENS_SUBNET:-$(compose_default HOSTLENS_SUBNET)}
export HOSTLENS_CONFIG_MONITORING=${HOSTLENS_CONFIG_MONITORING:-$here/config.monitoring}
agent_image_given=${HOSTLENS_AGENT_IMAGE:+1}
export HOSTLENS_AGENT_IMAGE=${HOSTLENS_AGENT_IMAGE:-$(compose_default HOSTLENS_AGENT_IMAGE)}
export PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-$(compose_default PROMETHEUS_IMAGE)}
export GRAFANA_IMAGE=${GRAFANA_IMAGE:-$(compose_default GRAFANA_IMAGE)}
without_grafana=${HOSTLENS_WITHOUT_GRAFANA:-0}
[ "$without_grafana" = 1 ] || without_grafana=0
agent_build=${HOSTLENS_AGENT_BUILD:-auto}
wait_seconds=${HOSTLENS_WAIT_SECONDS:-180}
panel_wait_seconds=${HOSTLENS_PANEL_WAIT_SECONDS:-120}
rust_image=$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' "$here/deploy/agent/Dockerfile")

prefix=$HOSTLENS_CONTAINER_PREFIX
c_agent="$prefix-agent"
c_prom="$prefix-prometheus"
c_graf="$prefix-grafana"
services=(agent prometheus grafana)
[ "$without_grafana" = 0 ] || services=(agent prometheus)

phase=checks
compose_cmd=()

# ---------------------------------------------------------------------------------------------------------
# Checks

check_docker() {
    command -v docker >/dev/null 2>&1 ||
        die "docker is not installed." "Install Docker Engine: https://docs.docker.com/engine/install/"
    local out
    if ! out=$(docker version --format '{{.Server.Version}}' 2>&1); then
        if grep -qi 'permission denied' <<<"$out"; then
            die "user $(id -un) may not use the Docker socket ($(grep -io 'unix://[^:]*' <<<"$out" | head -1))." \
                "Either run: sudo ./start.sh" \
                "or add yourself to the docker group: sudo usermod -aG docker $(id -un)  (then log out and in)." \
                "Both are root-equivalent on this host: the Docker API can start privileged containers."
        fi
        die "the Docker daemon is not reachable: $(grep -m1 . <<<"$out" || true)" \
            "Start it (e.g. sudo systemctl start docker) or check DOCKER_HOST."
    fi
    docker_version=$out
}

check_compose() {
    if [ -n "${HOSTLENS_COMPOSE:-}" ]; then
        read -r -a compose_cmd <<<"$HOSTLENS_COMPOSE"
        "${compose_cmd[@]}" version >/dev/null 2>&1 ||
            die "HOSTLENS_COMPOSE='$HOSTLENS_COMPOSE' does not run ('$HOSTLENS_COMPOSE version' failed)." \
                "Set it to 'docker compose' (v2) or 'docker-compose' (v1), or unset it to let start.sh pick."
        return 0
    fi
    if docker compose version >/dev/null 2>&1; then
        compose_cmd=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        compose_cmd=(docker-compose)
    else
        die "neither 'docker compose' (Compose v2) nor 'docker-compose' (v1) is installed." \
            "Install the Compose plugin: sudo apt-get install docker-compose-plugin (Docker's repository)," \
            "or Debian's docker-compose package."
    fi
}

compose() {
    "${compose_cmd[@]}" -p "$HOSTLENS_PROJECT" -f "$compose_file" "$@"
}

check_btf() {
    [ -e /sys/kernel/btf/vmlinux ] && return 0
    if [ "${HOSTLENS_ALLOW_NO_BTF:-0}" = 1 ]; then
        warn "no /sys/kernel/btf/vmlinux: the agent's eBPF family (ebpf_exporter_* metrics) will be off (HOSTLENS_ALLOW_NO_BTF=1)."
        return 0
    fi
    die "this kernel ($(uname -r)) has no BTF (/sys/kernel/btf/vmlinux): the eBPF metrics cannot load." \
        "Use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distributions' kernels since 2021)," \
        "or start without the eBPF panels: HOSTLENS_ALLOW_NO_BTF=1 ./start.sh"
}

# Our own running container holding the port is fine (a second run).
port_is_ours() {
    local container=$1 port=$2
    docker ps --filter "name=^/${container}\$" --format '{{.Ports}}' 2>/dev/null | grep -q ":${port}->"
}

port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
    else
        local addr=$HOSTLENS_BIND_ADDRESS
        [ "$addr" != 0.0.0.0 ] || addr=127.0.0.1
        (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null
    fi
}

check_port() {
    local port=$1 var=$2 container=$3
    port_is_ours "$container" "$port" && return 0
    port_in_use "$port" || return 0
    local who=""
    command -v ss >/dev/null 2>&1 && who=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -1 || true)
    die "port $port is already in use${who:+ ($who)}." \
        "Stop that program, or pick another port: $var=$((port + 1)) ./start.sh"
}

ip2int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# Two CIDRs overlap when they agree on the shorter prefix.
cidr_overlap() {
    local n1=${1%/*} l1=${1#*/} n2=${2%/*} l2=${2#*/}
    [ "$l1" != "$1" ] || l1=32
    [ "$l2" != "$2" ] || l2=32
    local l=$((l1 < l2 ? l1 : l2))
    [ "$l" -gt 0 ] || return 0
    local i1 i2
    i1=$(ip2int "$n1")
    i2=$(ip2int "$n2")
    [ $((i1 >> (32 - l))) -eq $((i2 >> (32 - l))) ]
}

check_subnet() {
    [[ $HOSTLENS_SUBNET =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] ||
        die "HOSTLENS_SUBNET=$HOSTLENS_SUBNET is not an IPv4 CIDR (e.g. 172.30.110.0/24)."
    if ! command -v ip >/dev/null 2>&1; then
        warn "no 'ip' command: cannot check $HOSTLENS_SUBNET against the host's routes (iproute2)."
        return 0
    fi
    # Our own network, when it exists, has a route of its own: not a conflict.
    local own_dev="" net_id
    if net_id=$(docker network inspect -f '{{.Id}}' "${HOSTLENS_PROJECT}_hostlens" 2>/dev/null); then
        own_dev="br-${net_id:0:12}"
    fi
    local line dst dev words
    while read -r line; do
        read -r -a words <<<"$line"
        case "${words[0]}" in
            local | broadcast | multicast | anycast) continue ;;
            unicast | unreachable | blackhole | prohibit | throw) dst=${words[1]} ;;
            *) dst=${words[0]} ;;
        esac
        [ "$dst" != default ] || continue
        [ "$dst" != 0.0.0.0/0 ] || continue
        dev=$(sed -n 's/.* dev \([^ ]*\).*/\1/p' <<<"$line")
        [ -z "$own_dev" ] || [ "$dev" != "$own_dev" ] || continue
        if cidr_overlap "$HOSTLENS_SUBNET" "$dst"; then
            die "the stack's subnet $HOSTLENS_SUBNET overlaps the host route '$line' (a VPN, or another Docker network)." \
                "Pick a free one, e.g.: HOSTLENS_SUBNET=172.31.$((RANDOM % 200 + 20)).0/24 ./start.sh" \
                "(the host's routes: ip -4 route show table all)"
        fi
    done < <(ip -4 route show table all 2>/dev/null)
}

registry_of() {
    local first=${1%%/*}
    if [[ $1 == */* && ($first == *.* || $first == *:* || $first == localhost) ]]; then
        echo "$first"
    else
        echo registry-1.docker.io
    fi
}

# A quick probe (5 s), instead of waiting for a pull to time out.
declare -A reachable=()
registry_reachable() {
    local reg=$1
    if [ -z "${reachable[$reg]:-}" ]; then
        reachable[$reg]=no
        if command -v curl >/dev/null 2>&1; then
            local code
            code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "https://$reg/v2/" 2>/dev/null || true)
            [ "${code:-000}" = 000 ] || reachable[$reg]=yes
        else
            reachable[$reg]=unknown
        fi
    fi
    [ "${reachable[$reg]}" != no ]
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Present, or pulled. Returns 1 (and sets why) when it cannot be had.
why=""
ensure_image() {
    local img=$1 reg
    have_image "$img" && return 0
    reg=$(registry_of "$img")
    if ! registry_reachable "$reg"; then
        why="$img is not on this host and its registry $reg does not answer (probed https://$reg/v2/ for 5 s)"
        return 1
    fi
    say "pulling $img"
    if ! timeout 600 docker pull -q "$img" >/dev/null; then
        why="pulling $img from $reg failed"
        return 1
    fi
}

check_images() {
    ensure_image "$PROMETHEUS_IMAGE" ||
        die "$why." "Load it (docker load -i prometheus.tar) or point PROMETHEUS_IMAGE at a Prometheus image you have."
    if [ "$without_grafana" = 1 ]; then
        say "HOSTLENS_WITHOUT_GRAFANA=1: Grafana left out; skipped: its image, port $GRAFANA_PORT, /api/health."
        return 0
    fi
    ensure_image "$GRAFANA_IMAGE" ||
        die "$why." \
            "Load it (docker load -i grafana.tar), point GRAFANA_IMAGE at a Grafana image you have," \
            "or start without Grafana (agent + Prometheus): HOSTLENS_WITHOUT_GRAFANA=1 ./start.sh"
}

# rslave needs / to be a shared mount (Docker: "path / is mounted on / but it is not a shared or slave mount").
choose_root_propagation() {
    [ -z "${HOSTLENS_ROOT_PROPAGATION+set}" ] || return 0
    local prop
    prop=$(findmnt -no PROPAGATION / 2>/dev/null || true)
    case "$prop" in
        shared* | *slave*) ;;
        *)
            export HOSTLENS_ROOT_PROPAGATION=""
            say "/ is a ${prop:-non-shared} mount here: the host's / is mounted into the agent without rslave" \
                "(filesystems mounted later are seen after ./start.sh down && ./start.sh)."
            ;;
    esac
}

# Docker < 23 does not know CAP_BPF / CAP_PERFMON (moby#42601, "invalid CapAdd: unknown capability"), and
# kernels < 5.8 have neither: then CAP_SYS_ADMIN is the only way to bpf(2) through the default seccomp profile.
choose_capabilities() {
    [ -z "${HOSTLENS_CAP_BPF:-}${HOSTLENS_CAP_PERFMON:-}" ] || return 0
    local major=${docker_version%%.*} kernel
    kernel=$(uname -r)
    local kmaj=${kernel%%.*} kmin
    kmin=${kernel#*.}
    kmin=${kmin%%[!0-9]*}
    local reason=""
    if [ "$major" -lt 23 ] 2>/dev/null; then
        reason="Docker $docker_version does not know CAP_BPF/CAP_PERFMON (they arrived in Docker 23)"
    elif [ "$kmaj" -lt 5 ] || { [ "$kmaj" -eq 5 ] && [ "$kmin" -lt 8 ]; }; then
        reason="kernel $kernel has no CAP_BPF/CAP_PERFMON (5.8+)"
    fi
    if [ -n "$reason" ]; then
        # The same capability under its two spellings: Compose refuses a list with equal items.
        export HOSTLENS_CAP_BPF=SYS_ADMIN HOSTLENS_CAP_PERFMON=CAP_SYS_ADMIN
        warn "$reason: the agent gets CAP_SYS_ADMIN instead (broader) for its eBPF programs. Upgrade to drop it."
    fi
}

write_config_monitoring() {
    local f=$HOSTLENS_CONFIG_MONITORING
    if [ -e "$f" ]; then
        if [ -O "$f" ] && [ -n "$(find "$f" -perm /077 2>/dev/null)" ]; then
            chmod 600 "$f"
            warn "$f was readable by others; now mode 0600."
        fi
        return 0
    fi
    local pw key
    pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
    key=$(head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
    (
        umask 077
        cat >"$f" <<EOF
# hostlens: Grafana's admin account and secret key, written by start.sh on $(date -u +%Y-%m-%d). Private (0600),
# ignored by git. The password applies only when Grafana's database is first created (volume
# ${HOSTLENS_PROJECT}_grafana-data); change it later in Grafana. Keep the secret key: it encrypts stored secrets.
GF_SECURITY_ADMIN_USER=admin
GF_SECURITY_ADMIN_PASSWORD=$pw
GF_SECURITY_SECRET_KEY=$key
EOF
    )
    say "wrote $f (Grafana user admin, a random password; mode 0600)"
}

# ---------------------------------------------------------------------------------------------------------
# The agent image

source_hash() {
    (
        cd "$here"
        find Cargo.toml Cargo.lock agent agent-bpf collectors deploy/agent -type f \
            \( -path '*/src/*' -o -name Cargo.toml -o -name Cargo.lock -o -name build.rs -o -name 'Dockerfile*' \) \
            -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
    )
}

build_agent_cargo() {
    local hash=$1 target
    target="$(uname -m)-unknown-linux-gnu"
    command -v cargo >/dev/null 2>&1 ||
        die "cannot build the agent: $rust_image cannot be pulled and there is no cargo here." \
            "Install Rust (https://rustup.rs; as the user running start.sh), or load the agent image." \
            "With sudo, root's PATH may lack ~/.cargo/bin: sudo env PATH=\"\$PATH\" ./start.sh"
    if ! command -v clang >/dev/null 2>&1 || [ ! -e /usr/include/bpf/bpf_helpers.h ]; then
        die "cannot build the agent's eBPF programs: clang and libbpf's headers are missing." \
            "Install them: sudo apt-get install clang llvm libbpf-dev   (or: sudo scripts/test-deps.sh)"
    fi
    say "building the agent with the local cargo (static, $target)"
    (cd "$here" && RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --locked --target "$target" -p hostlens-agent) ||
        die "cargo build failed (output above)."
    local ctx
    ctx=$(mktemp -d)
    mkdir "$ctx/in"
    cp "$here/target/$target/release/hostlens-agent" "$ctx/in/hostlens-agent"
    docker build -q --label "org.hostlens.source-hash=$hash" -t "$HOSTLENS_AGENT_IMAGE" \
        -f "$here/deploy/agent/Dockerfile.prebuilt" "$ctx/in" >/dev/null 2>"$ctx/build.log" || {
        cat "$ctx/build.log" >&2
        rm -rf "$ctx"
        die "docker build of $HOSTLENS_AGENT_IMAGE (prebuilt binary) failed (output above)."
    }
    rm -rf "$ctx"
}

build_agent_docker() {
    local hash=$1
    say "building $HOSTLENS_AGENT_IMAGE with deploy/agent/Dockerfile ($rust_image; a few minutes the first time)"
    docker build --label "org.hostlens.source-hash=$hash" -t "$HOSTLENS_AGENT_IMAGE" \
        -f "$here/deploy/agent/Dockerfile" "$here" || die "docker build of $HOSTLENS_AGENT_IMAGE failed (output above)."
}

build_agent() {
    local hash current
    hash=$(source_hash)
    current=$(docker image inspect -f '{{index .Config.Labels "org.hostlens.source-hash"}}' "$HOSTLENS_AGENT_IMAGE" 2>/dev/null || true)
    if [ "$current" = "$hash" ] && [ "${HOSTLENS_REBUILD:-0}" != 1 ]; then
        say "agent image $HOSTLENS_AGENT_IMAGE is up to date with the sources"
        return 0
    fi
    local how=$agent_build
    if [ "$how" = auto ]; then
        if have_image "$rust_image" || registry_reachable "$(registry_of "$rust_image")"; then
            how=docker
        else
            how=cargo
            say "$rust_image is not here and $(registry_of "$rust_image") does not answer: building with the local cargo instead"
        fi
    fi
    local t0=$SECONDS
    case "$how" in
        docker) build_agent_docker "$hash" ;;
        cargo) build_agent_cargo "$hash" ;;
        *) die "HOSTLENS_AGENT_BUILD=$how: expected auto, docker or cargo." ;;
    esac
    say "agent image $HOSTLENS_AGENT_IMAGE built in $((SECONDS - t0)) s"
}

agent_image() {
    if [ -n "$agent_image_given" ]; then
        ensure_image "$HOSTLENS_AGENT_IMAGE" ||
            die "$why." "Unset HOSTLENS_AGENT_IMAGE to build the agent from this repository."
        say "agent image: $HOSTLENS_AGENT_IMAGE (HOSTLENS_AGENT_IMAGE, not rebuilt)"
    else
        build_agent
    fi
}

# ---------------------------------------------------------------------------------------------------------
# State

# healthy, starting, unhealthy, restarting, exited, ... or "absent".
container_state() {
    docker inspect -f '{{if .State.Health}}{{if eq .State.Status "running"}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null | grep . || echo absent
}

# "id started-at" of each service's container: unchanged by `compose up` means nothing was (re)started.
containers_fingerprint() {
    local s
    for s in "${services[@]}"; do
        docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$(service_container "$s")" 2>/dev/null || echo absent
    done
}

all_healthy() {
    local s
    for s in "${services[@]}"; do
        [ "$(container_state "$(service_container "$s")")" = healthy ] || return 1
    done
}

service_container() {
    case "$1" in
        agent) echo "$c_agent" ;;
        prometheus) echo "$c_prom" ;;
        grafana) echo "$c_graf" ;;
    esac
}

prom_query() {
    docker exec "$c_prom" promtool query instant http://127.0.0.1:9090 "$1" 2>/dev/null
}

report_state() {
    local running
    running=$(docker ps -a --filter "label=com.docker.compose.project=$HOSTLENS_PROJECT" \
        --format '{{.Names}} ({{.Status}})' 2>/dev/null | paste -sd, - | sed 's/,/, /g')
    if [ -n "$running" ]; then
        printf 'start.sh: the stack is partly up: %s\n' "$running" >&2
        printf '          ./start.sh status shows it; ./start.sh down stops it (data kept); after a fix, ./start.sh again.\n' >&2
    else
        printf 'start.sh: no container of the stack exists (project %s).\n' "$HOSTLENS_PROJECT" >&2
    fi
}

on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$phase" = starting ]; then
        report_state
    fi
}

show_logs() {
    local c=$1
    printf '\n--- last 40 log lines of %s ---\n' "$c" >&2
    docker logs --tail 40 "$c" 2>&1 | sed 's/^/  /' >&2 || true
    local h
    h=$(docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}' "$c" 2>/dev/null | tail -3)
    [ -z "$h" ] || printf -- '--- its last healthcheck output ---\n%s\n' "$h" >&2
}

wait_healthy() {
    local deadline=$((SECONDS + wait_seconds)) s c st pending
    while :; do
        pending=()
        for s in "${services[@]}"; do
            c=$(service_container "$s")
            st=$(container_state "$c")
            case "$st" in
                healthy) ;;
                starting | created) pending+=("$s") ;;
                *)
                    show_logs "$c"
                    die "$s ($c) is $st (logs above)."
                    ;;
            esac
        done
        [ "${#pending[@]}" -gt 0 ] || return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            for s in "${pending[@]}"; do show_logs "$(service_container "$s")"; done
            die "still not healthy after ${wait_seconds} s: ${pending[*]} (logs above; HOSTLENS_WAIT_SECONDS waits longer)."
        fi
        sleep 2
    done
}

target_up() {
    prom_query 'up{job="hostlens-agent"}' | grep -q '=> 1 @'
}

wait_target() {
    local deadline=$((SECONDS + wait_seconds))
    until target_up; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            show_logs "$c_agent"
            die "Prometheus does not scrape the agent (up{job=\"hostlens-agent\"} is not 1 after ${wait_seconds} s)." \
                "See Prometheus' targets page: http://$HOSTLENS_BIND_ADDRESS:$PROMETHEUS_PORT/targets"
        fi
        sleep 3
    done
}

# The dashboard's panel queries, one "title<TAB>expr" a line, with Grafana's variables replaced as a 15 s
# scrape interval sets them and the container names adapted to HOSTLENS_CONTAINER_PREFIX
# (grafana-dashboards/panel_queries.py; jq where there is no python3).
panel_queries() {
    if command -v python3 >/dev/null 2>&1; then
        python3 "$dashboards/panel_queries.py" --prefix "$prefix" "$dashboards"
        return
    fi
    command -v jq >/dev/null 2>&1 || return 0
    local f
    # shellcheck disable=SC2016 # the sed expressions name Grafana's variables literally
    for f in "$dashboards"/*.json; do
        [ -e "$f" ] || continue
        jq -r '.. | objects | select(has("targets")) | .title as $t | .targets[] | select(.expr) | "\($t)\t\(.expr | gsub("\\s+"; " "))"' "$f"
    done | sed -e 's/\$__rate_interval/1m/g; s/\$__interval/15s/g; s/\$__range/1h/g' \
        -e "s/name=\"hostlens-/name=\"$prefix-/g"
}

# Sets panel_lines (title | state) and panel_missing.
check_panels() {
    panel_lines=()
    panel_missing=0
    local title expr state llc_reason=""
    while IFS=$'\t' read -r title expr; do
        if [ -n "$(prom_query "$expr")" ]; then
            state=ok
        elif [[ $expr == *"name=\"$c_graf\""* ]] && [ "$without_grafana" = 1 ]; then
            state="no data: explained (Grafana left out, HOSTLENS_WITHOUT_GRAFANA=1)"
        elif [[ $expr == *ebpf_exporter_llc_* ]] &&
            llc_reason=$(prom_query 'hostlens_ebpf_program_attached{program="llcstat"} == 0') && [ -n "$llc_reason" ]; then
            llc_reason=$(sed -n 's/.*reason="\([^"]*\)".*/\1/p' <<<"$llc_reason" | head -1)
            [ "${#llc_reason}" -le 70 ] || llc_reason="${llc_reason:0:67}..."
            state="no data: explained (llcstat not attached: ${llc_reason:-no reason given})"
        else
            state="NO DATA"
            panel_missing=$((panel_missing + 1))
        fi
        panel_lines+=("$(printf '%-28s %s' "${title:0:28}" "$state")")
    done < <(panel_queries)
    if [ "${#panel_lines[@]}" -eq 0 ]; then
        panel_lines=("no panel queries found in $dashboards/*.json (or no python3/jq to read them)")
    fi
}

wait_panels() {
    local deadline=$((SECONDS + panel_wait_seconds))
    while :; do
        check_panels
        [ "$panel_missing" -gt 0 ] || return 0
        [ "$SECONDS" -lt "$deadline" ] || return 0
        sleep 5
    done
}

print_status() {
    local s c st
    printf '\n  %-11s %-26s %s\n' SERVICE CONTAINER STATE
    for s in agent prometheus grafana; do
        c=$(service_container "$s")
        st=$(container_state "$c")
        if [ "$s" = grafana ] && [ "$without_grafana" = 1 ] && [ "$st" = absent ]; then
            st="left out (HOSTLENS_WITHOUT_GRAFANA=1)"
        fi
        printf '  %-11s %-26s %s\n' "$s" "$c" "$st"
    done
    if [ "$(container_state "$c_prom")" = healthy ]; then
        if target_up; then st=up; else st=DOWN; fi
        printf '  %-11s %-26s %s\n' target hostlens-agent:9110 "$st"
        if [ "${#panel_lines[@]}" -eq 0 ]; then check_panels; fi
        local l
        printf '\n  %-28s %s\n' PANEL DATA
        for l in "${panel_lines[@]}"; do printf '  %s\n' "$l"; done
    fi
    local host=$HOSTLENS_BIND_ADDRESS
    [ "$host" != 0.0.0.0 ] || host=$(hostname -f 2>/dev/null || echo localhost)
    printf '\n'
    if [ "$(container_state "$c_graf")" != absent ]; then
        local user
        user=$(sed -n 's/^GF_SECURITY_ADMIN_USER=//p' "$HOSTLENS_CONFIG_MONITORING" 2>/dev/null | head -1)
        printf '  Grafana     http://%s:%s/d/hostlens-host-overview   user %s, password in %s\n' \
            "$host" "$GRAFANA_PORT" "${user:-admin}" "$HOSTLENS_CONFIG_MONITORING"
    fi
    printf '  Prometheus  http://%s:%s\n' "$host" "$PROMETHEUS_PORT"
    printf '  Stop: ./start.sh down (the data is kept)   Status: ./start.sh status\n\n'
}

# ---------------------------------------------------------------------------------------------------------

cmd_up() {
    local t0=$SECONDS
    check_docker
    check_compose
    check_btf
    check_port "$PROMETHEUS_PORT" PROMETHEUS_PORT "$c_prom"
    [ "$without_grafana" = 1 ] || check_port "$GRAFANA_PORT" GRAFANA_PORT "$c_graf"
    check_subnet
    check_images
    choose_root_propagation
    choose_capabilities
    write_config_monitoring
    agent_image
    say "checks done in $((SECONDS - t0)) s; starting ${services[*]} (project $HOSTLENS_PROJECT, ${compose_cmd[*]})"
    local before="" already_up=0
    if all_healthy; then before=$(containers_fingerprint); fi
    phase=starting
    compose up -d "${services[@]}" || die "compose up failed (output above)."
    if [ -n "$before" ] && [ "$before" = "$(containers_fingerprint)" ]; then
        already_up=1
        panel_wait_seconds=0
        say "the stack was already up and nothing changed"
    fi
    say "waiting for the services to be healthy (at most ${wait_seconds} s)"
    wait_healthy
    say "waiting for Prometheus to scrape the agent"
    wait_target
    [ "$already_up" = 1 ] || say "waiting for every dashboard panel to have data (at most ${panel_wait_seconds} s)"
    wait_panels
    phase=ready
    say "ready in $((SECONDS - t0)) s"
    print_status
    if [ "$panel_missing" -gt 0 ]; then
        warn "$panel_missing dashboard panel queries have no data (NO DATA above); the stack runs."
        exit 3
    fi
}

cmd_down() {
    check_docker
    check_compose
    # Compose reads env_file even to stop; the example does when config.monitoring is gone.
    [ -e "$HOSTLENS_CONFIG_MONITORING" ] || export HOSTLENS_CONFIG_MONITORING="$here/config.monitoring.example"
    compose down
    say "stopped. The data is kept in the volumes ${HOSTLENS_PROJECT}_prometheus-data and ${HOSTLENS_PROJECT}_grafana-data" \
        "(docker volume rm them to delete it)."
}

cmd_status() {
    check_docker
    check_compose
    panel_lines=()
    print_status
    all_healthy || exit 1
}

cmd_build() {
    check_docker
    build_agent
}

trap on_exit EXIT
trap 'printf "\n"; say "interrupted"; exit 130' INT TERM

case "${1:-up}" in
    up | start) cmd_up ;;
    down | stop) cmd_down ;;
    status) cmd_status ;;
    build) cmd_build ;;
    -h | --help | help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1'; expected up, down, status or build (./start.sh help)." ;;
esac
