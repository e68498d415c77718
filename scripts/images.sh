#!/usr/bin/env bash
# Local images for the tests, built offline (no registry is reachable on the test machines):
#   base   hostlens-test/base:bookworm  Debian bookworm minbase from debootstrap + `docker import`, with busybox
#          (sh, nc, httpd, wget) for the test workloads.
#   prometheus  hostlens-test/prometheus:2.42  Debian bookworm's `prometheus` package (2.42) on that base, laid
#          out like the official prom/prometheus image (ENTRYPOINT /bin/prometheus, promtool in PATH, user
#          nobody, data in /prometheus), so deploy/docker-compose.yml's `command:` and healthcheck fit both.
#   systemd  hostlens-test/systemd:bookworm  Debian bookworm minbase with systemd (as /sbin/init), dbus,
#          libpam-systemd (a `su -l` is a logind session) and busybox from debootstrap + `docker import`, for
#          the systemd/logind collectors' side-by-side test (agent/tests/systemd.rs): run with systemd as PID 1,
#          its /run bind-mounted so that the host reaches /run/systemd/private and the system bus. A few test
#          units give every unit type and state a sample.
#   agent  hostlens-test/agent:local  the agent from this repository, built by the local cargo (static) and
#          packed FROM scratch: start.sh's offline path (HOSTLENS_AGENT_BUILD=cargo ./start.sh build).
# Idempotent: an image that exists is kept (FORCE=1 rebuilds).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache/images"
BASE_IMAGE=${BASE_IMAGE:-hostlens-test/base:bookworm}
# shellcheck source=scripts/debian-mirror.sh
. "$here/scripts/debian-mirror.sh"
MIRROR=${DEBIAN_MIRROR:-$(debian_mirror)}

have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

build_base() {
    if have_image "$BASE_IMAGE"; then
        echo "images: $BASE_IMAGE present"
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        echo "images: installing debootstrap"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    local root="$cache/base-rootfs"
    as_root rm -rf "$root"
    mkdir -p "$cache"
    echo "images: debootstrap bookworm (minbase + busybox) from $MIRROR"
    local t0=$SECONDS
    as_root debootstrap --variant=minbase --include=busybox bookworm "$root" "$MIRROR" >"$cache/debootstrap.log" 2>&1 || {
        echo "images: debootstrap failed; last lines of $cache/debootstrap.log:" >&2
        tail -20 "$cache/debootstrap.log" >&2
        exit 1
    }
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    as_root tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$root"
    echo "images: $BASE_IMAGE built in $((SECONDS - t0)) s"
}

SYSTEMD_TEST_IMAGE=${SYSTEMD_TEST_IMAGE:-hostlens-test/systemd:bookworm}

build_systemd() {
    if have_image "$SYSTEMD_TEST_IMAGE"; then
        echo "images: $SYSTEMD_TEST_IMAGE present"
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        echo "images: installing debootstrap"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    local root="$cache/systemd-rootfs"
    as_root rm -rf "$root"
    mkdir -p "$cache"
    echo "images: debootstrap bookworm (minbase + systemd, dbus, libpam-systemd, busybox) from $MIRROR"
    local t0=$SECONDS
    as_root debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libpam-systemd,busybox bookworm "$root" "$MIRROR" \
        >"$cache/debootstrap-systemd.log" 2>&1 || {
        echo "images: debootstrap failed; last lines of $cache/debootstrap-systemd.log:" >&2
        tail -20 "$cache/debootstrap-systemd.log" >&2
        exit 1
    }
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    # Units that make no sense in a container (consoles, udev, the clock) are masked; test units give the
    # collector a failed service, a service restarted 3 times (then stable: the side-by-side needs steady
    # values), a timer, a socket and a simple running service. `$$` is systemd's literal `$`.
    local u
    for u in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
        systemd-timesyncd.service systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
        sys-kernel-tracing.mount systemd-remount-fs.service; do
        as_root ln -sf /dev/null "$root/etc/systemd/system/$u"
    done
    as_root sh -c "cat >'$root/etc/systemd/system/hl-sleep.service'" <<'UNIT'
[Unit]
Description=hostlens test: a running simple service
[Service]
ExecStart=/bin/busybox sleep 100000
TasksMax=50
[Install]
WantedBy=multi-user.target
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-fail.service'" <<'UNIT'
[Unit]
Description=hostlens test: a service that fails
[Service]
Type=oneshot
ExecStart=/bin/false
[Install]
WantedBy=multi-user.target
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-restart.service'" <<'UNIT'
[Unit]
Description=hostlens test: a service that fails 3 times, restarted, then runs
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/busybox sh -c 'n=$$(cat /var/tmp/hl-restart 2>/dev/null || echo 0); echo $$((n + 1)) >/var/tmp/hl-restart; [ "$$n" -ge 3 ] && exec sleep 100000; exit 1'
Restart=on-failure
RestartSec=1
[Install]
WantedBy=multi-user.target
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-tick.timer'" <<'UNIT'
[Unit]
Description=hostlens test: a timer
[Timer]
OnActiveSec=1
OnUnitActiveSec=1h
[Install]
WantedBy=timers.target
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-tick.service'" <<'UNIT'
[Unit]
Description=hostlens test: the timer's oneshot
[Service]
Type=oneshot
ExecStart=/bin/true
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-echo.socket'" <<'UNIT'
[Unit]
Description=hostlens test: a socket
[Socket]
ListenStream=127.0.0.1:7777
Accept=yes
[Install]
WantedBy=sockets.target
UNIT
    as_root sh -c "cat >'$root/etc/systemd/system/hl-echo@.service'" <<'UNIT'
[Unit]
Description=hostlens test: the socket's service
[Service]
ExecStart=/bin/busybox cat
StandardInput=socket
UNIT
    as_root mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    for u in hl-sleep.service hl-fail.service hl-restart.service; do
        as_root ln -sf "../$u" "$root/etc/systemd/system/multi-user.target.wants/$u"
    done
    as_root mkdir -p "$root/etc/systemd/system/timers.target.wants" "$root/etc/systemd/system/sockets.target.wants"
    as_root ln -sf ../hl-tick.timer "$root/etc/systemd/system/timers.target.wants/hl-tick.timer"
    as_root ln -sf ../hl-echo.socket "$root/etc/systemd/system/sockets.target.wants/hl-echo.socket"
    as_root tar -C "$root" -c . |
        docker import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' - \
            "$SYSTEMD_TEST_IMAGE" >/dev/null
    as_root rm -rf "$root"
    echo "images: $SYSTEMD_TEST_IMAGE built in $((SECONDS - t0)) s"
}

PROMETHEUS_TEST_IMAGE=${PROMETHEUS_TEST_IMAGE:-hostlens-test/prometheus:2.42}
AGENT_TEST_IMAGE=${AGENT_TEST_IMAGE:-hostlens-test/agent:local}

build_prometheus() {
    if have_image "$PROMETHEUS_TEST_IMAGE"; then
        echo "images: $PROMETHEUS_TEST_IMAGE present"
        return 0
    fi
    build_base
    local tools="$here/.cache/test-tools"
    [ -x "$tools/usr/bin/prometheus" ] || bash "$here/scripts/test-deps.sh"
    local ctx
    ctx=$(mktemp -d)
    cp "$tools/usr/bin/prometheus" "$tools/usr/bin/promtool" "$ctx/"
    cp -r "$tools/usr/share/prometheus/web" "$ctx/web"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE_IMAGE
COPY prometheus promtool /usr/bin/
COPY web /usr/share/prometheus/web
RUN mkdir -p /prometheus /etc/prometheus && chown 65534:65534 /prometheus
USER 65534:65534
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
    docker build -q -t "$PROMETHEUS_TEST_IMAGE" "$ctx" >/dev/null 2>"$ctx/build.err" || {
        cat "$ctx/build.err" >&2
        rm -rf "$ctx"
        exit 1
    }
    rm -rf "$ctx"
    echo "images: $PROMETHEUS_TEST_IMAGE built ($(docker run --rm "$PROMETHEUS_TEST_IMAGE" --version 2>&1 | head -1))"
}

# Always rebuilt (cheap when cargo has nothing to do): a stale agent image would test old code.
build_agent() {
    HOSTLENS_AGENT_BUILD=cargo HOSTLENS_AGENT_IMAGE="$AGENT_TEST_IMAGE" "$here/start.sh" build
}

usage() {
    echo "usage: $0 base|systemd|prometheus|agent ..." >&2
    exit 2
}

[ $# -ge 1 ] || usage
for what in "$@"; do
    case "$what" in
        base) build_base ;;
        systemd) build_systemd ;;
        prometheus) build_prometheus ;;
        agent) build_agent ;;
        *) usage ;;
    esac
done
