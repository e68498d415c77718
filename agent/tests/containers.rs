#![cfg(feature = "container")]
//! The container family against real Docker containers on this machine: a container started from a tiny local
//! image (debootstrap + `docker import`, built by `scripts/images.sh base`; no registry) with a memory limit,
//! a CPU quota and known workloads. Needs a reachable Docker daemon (root or the docker group): those tests
//! are `#[ignore = "needs Docker"]`, `make test` runs them, and run without a daemon they fail and say so.
//! The test of the agent without Docker runs everywhere.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    agent_bin, container_agent, docker, docker_ok, parse_exposition, scrape, scrape_until,
    Exposition,
};

const IMAGE: &str = common::BASE_IMAGE;
const MIB: f64 = 1024.0 * 1024.0;

/// The daemon must answer, and the local test image must exist (built here, offline, if missing).
fn prerequisites() {
    let v = docker(&[
        "version",
        "--format",
        "{{.Server.Version}} API {{.Server.APIVersion}}",
    ]);
    assert!(
        v.status.success(),
        "prerequisite missing: a running Docker daemon the test user can reach (start it, or run as root or \
         as a member of the docker group; DOCKER_HOST={:?}): {}",
        std::env::var("DOCKER_HOST").unwrap_or_default(),
        String::from_utf8_lossy(&v.stderr)
    );
    println!(
        "docker engine {}",
        String::from_utf8_lossy(&v.stdout).trim()
    );
    if !docker(&["image", "inspect", IMAGE]).status.success() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/images.sh");
        let s = Command::new("bash")
            .arg(script)
            .arg("base")
            .status()
            .expect("running scripts/images.sh");
        assert!(s.success(), "building the local test image {IMAGE} failed");
    }
}

/// A container removed (forcefully) on drop.
struct Container {
    name: String,
}

impl Container {
    fn run(name: &str, extra: &[&str], cmd: &str) -> Container {
        let _ = docker(&["rm", "-f", name]);
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", cmd]);
        docker_ok(&args);
        Container {
            name: name.to_string(),
        }
    }

    fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.name])
    }

    fn exec(&self, script: &str) -> String {
        docker_ok(&["exec", &self.name, "bash", "-c", script])
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

/// `container_cpu_usage_seconds_total` of the container `name`: its per-CPU series (`cpu="cpu00"`, … on
/// cgroup v1, cAdvisor 0.60's default) and their sum, or its one `cpu="total"` series (v2).
fn cpu_usage(e: &Exposition, name: &str) -> (Vec<String>, f64) {
    let series: Vec<_> = e
        .by_name("container_cpu_usage_seconds_total")
        .into_iter()
        .filter(|s| s.labels.get("name").map(String::as_str) == Some(name))
        .collect();
    assert!(
        !series.is_empty(),
        "no container_cpu_usage_seconds_total{{name={name:?}}}"
    );
    let cpus = series
        .iter()
        .map(|s| s.labels.get("cpu").cloned().unwrap_or_default())
        .collect();
    (cpus, series.iter().map(|s| s.value).sum())
}

fn v(e: &Exposition, metric: &str, name: &str) -> f64 {
    e.value(metric, &[("name", name)])
        .unwrap_or_else(|| panic!("no {metric}{{name={name:?}}} in the scrape"))
}

#[test]
#[ignore = "needs Docker and promtool (make test-deps)"]
fn a_real_container_limits_cpu_memory_network_and_its_disappearance() {
    prerequisites();
    let (_agent, port) = container_agent(&[]);
    let name = format!("hostlens-test-ctr-{}", std::process::id());
    // 96 MiB memory limit, half a CPU (quota 50 ms per 100 ms period), a one-shot TCP sink on port 9999.
    let c = Container::run(
        &name,
        &["--memory", "96m", "--cpus", "0.5"],
        "busybox nc -l -p 9999 > /dev/null; exec sleep infinity",
    );
    let id = c.inspect("{{.Id}}");
    let pid: u32 = c.inspect("{{.State.Pid}}").parse().unwrap();
    let e = scrape_until(
        port,
        Duration::from_secs(15),
        "the container in the scrape",
        |e| e.value("container_last_seen", &[("name", &name)]).is_some(),
    );

    // Labels: the Docker name, the image as given, the cgroup path as the id.
    let s = e
        .by_name("container_last_seen")
        .into_iter()
        .find(|s| s.labels.get("name") == Some(&name))
        .unwrap()
        .clone();
    assert_eq!(s.labels.get("image").map(String::as_str), Some(IMAGE));
    let cg_id = s.labels.get("id").cloned().unwrap_or_default();
    assert!(
        cg_id.contains(&id),
        "id label {cg_id:?} is not the cgroup path of {id}"
    );
    println!("container {name}: id={cg_id} pid={pid}");
    assert!(
        e.value("container_cpu_usage_seconds_total", &[("id", "/")])
            .is_some(),
        "no root cgroup (id=\"/\") in the scrape"
    );
    // cAdvisor's machine group from the agent: what the host reports.
    let online = Command::new("getconf")
        .arg("_NPROCESSORS_ONLN")
        .output()
        .expect("getconf");
    let online: f64 = String::from_utf8_lossy(&online.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(e.value("machine_cpu_cores", &[]), Some(online));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_kb: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert_eq!(e.value("machine_memory_bytes", &[]), Some(mem_kb * 1024.0));
    assert_eq!(e.value("machine_scrape_error", &[]), Some(0.0));

    // Limits equal what docker run was given.
    assert_eq!(
        v(&e, "container_spec_memory_limit_bytes", &name),
        96.0 * MIB
    );
    assert_eq!(v(&e, "container_spec_cpu_quota", &name), 50_000.0);
    assert_eq!(v(&e, "container_spec_cpu_period", &name), 100_000.0);

    // CPU: a busy loop of bash builtins (no forks) under the 0.5-CPU quota until it has burned 1.5 s of CPU
    // by its own count (utime + stime from its /proc/<pid>/stat, in clock ticks): what the test controls is
    // the work, not how much CPU a busy host leaves it per second of wall time (at most 60 s).
    let want_ticks = (1.5 * clock_ticks()) as u64;
    let before = scrape(port);
    let t = Instant::now();
    let stat = c.exec(&format!(
        "while read -r -a f < /proc/$$/stat && [ $((f[13] + f[14])) -lt {want_ticks} ] && \
         [ $SECONDS -lt 60 ]; do :; done; cat /proc/$$/stat"
    ));
    let wall = t.elapsed().as_secs_f64();
    let after = scrape(port);
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // After the comm field: state is [0], utime is field 14 → [11], stime 15 → [12].
    let ticks =
        (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / clock_ticks();
    let grew = cpu_usage(&after, &name).1 - cpu_usage(&before, &name).1;
    println!(
        "cpu: the workload burned {ticks:.3} s; container_cpu_usage_seconds_total grew {grew:.3} s"
    );
    assert!(
        ticks >= 1.5,
        "the quota-bound loop burned only {ticks} s of CPU in 60 s (wanted 1.5 s)"
    );
    assert!(
        (grew - ticks).abs() <= 0.10 * ticks,
        "cpu usage grew {grew:.3} s, the workload burned {ticks:.3} s (more than 10 % apart)"
    );
    // Per-CPU on this v1 host: series cpu00, cpu01, … (only CPUs it ran on), no `total`, and their sum is
    // the cgroup's cpuacct.usage (read right after the scrape; the container is idle by then).
    let (cpus, sum) = cpu_usage(&after, &name);
    let acct = Path::new("/sys/fs/cgroup/cpuacct")
        .join(cg_id.trim_start_matches('/'))
        .join("cpuacct.usage");
    match std::fs::read_to_string(&acct) {
        Ok(t) => {
            let usage = t.trim().parse::<f64>().expect("cpuacct.usage") / 1e9;
            println!("cpu: per-CPU series {cpus:?} sum to {sum:.3} s; cpuacct.usage {usage:.3} s");
            assert!(!cpus.iter().any(|c| c == "total"), "{cpus:?}");
            assert!(
                cpus.iter().all(|c| c.len() == 5 && c.starts_with("cpu")),
                "{cpus:?}"
            );
            assert!(
                (sum - usage).abs() < 0.05,
                "per-CPU sum {sum} s vs cpuacct.usage {usage} s"
            );
        }
        Err(e) => {
            println!(
                "SKIPPED: per-CPU sum vs {} ({e}): not a cgroup v1 host",
                acct.display()
            );
            assert_eq!(cpus, ["total"]);
        }
    }
    let user_sys = v(&after, "container_cpu_user_seconds_total", &name)
        + v(&after, "container_cpu_system_seconds_total", &name);
    assert!(
        user_sys > 0.5 * grew,
        "user+system {user_sys} vs usage {grew}"
    );
    let throttled = v(&after, "container_cpu_cfs_throttled_periods_total", &name)
        - v(&before, "container_cpu_cfs_throttled_periods_total", &name);
    // Over its quota it is throttled; how often depends on how much CPU the host leaves it (on an idle host
    // nearly every period of the ≥3 s, on a saturated one fewer): at least once.
    println!("cpu: throttled in {throttled} periods of the loop's {wall:.1} s");
    // The quota is 0.5 CPU: a loop the host gave less than that (other work saturating both cores) never
    // reached its quota, and is rightly not throttled: the check cannot be made then.
    if ticks < 0.9 * 0.5 * wall {
        println!(
            "SKIPPED: CFS throttling: the loop got {:.2} CPU of its 0.5 quota (the host is busy), so it never \
             reached the quota",
            ticks / wall
        );
    } else {
        assert!(
            throttled >= 1.0,
            "a loop over its quota was never throttled ({throttled} periods; it got {:.2} CPU)",
            ticks / wall
        );
    }

    // Memory: 40 MiB written to the container's /dev/shm (tmpfs, charged to its memory cgroup).
    let m0 = scrape(port);
    c.exec("head -c 40m /dev/zero > /dev/shm/blob");
    let m1 = scrape(port);
    let usage_grew = v(&m1, "container_memory_usage_bytes", &name)
        - v(&m0, "container_memory_usage_bytes", &name);
    let ws_grew = v(&m1, "container_memory_working_set_bytes", &name)
        - v(&m0, "container_memory_working_set_bytes", &name);
    println!(
        "memory: 40 MiB allocated; usage grew {:.1} MiB, working set grew {:.1} MiB",
        usage_grew / MIB,
        ws_grew / MIB
    );
    assert!(
        (38.0 * MIB..48.0 * MIB).contains(&usage_grew),
        "usage grew {usage_grew}"
    );
    assert!(
        (38.0 * MIB..48.0 * MIB).contains(&ws_grew),
        "working set grew {ws_grew}"
    );
    c.exec("rm /dev/shm/blob");
    let m2 = scrape(port);
    let freed = v(&m1, "container_memory_usage_bytes", &name)
        - v(&m2, "container_memory_usage_bytes", &name);
    assert!(
        freed > 36.0 * MIB,
        "freeing 40 MiB lowered usage by only {freed}"
    );

    // Network: 2 MiB sent to the container's TCP sink arrive on its eth0.
    let ip = c.inspect("{{.NetworkSettings.IPAddress}}");
    let rx = |e: &Exposition| {
        e.value(
            "container_network_receive_bytes_total",
            &[("name", &name), ("interface", "eth0")],
        )
        .expect("no eth0 receive counter for the container")
    };
    let n0 = scrape(port);
    let payload = vec![0x5a_u8; 2 << 20];
    let mut conn =
        TcpStream::connect((ip.as_str(), 9999)).expect("connecting to the container's sink");
    conn.write_all(&payload).unwrap();
    drop(conn);
    let n1 = scrape_until(
        port,
        Duration::from_secs(10),
        "the bytes to be counted",
        |e| rx(e) - rx(&n0) >= payload.len() as f64,
    );
    println!(
        "network: sent {} bytes; eth0 receive grew {} bytes, transmit {} bytes",
        payload.len(),
        rx(&n1) - rx(&n0),
        n1.value(
            "container_network_transmit_bytes_total",
            &[("name", &name), ("interface", "eth0")]
        )
        .unwrap_or(0.0)
            - n0.value(
                "container_network_transmit_bytes_total",
                &[("name", &name), ("interface", "eth0")]
            )
            .unwrap_or(0.0)
    );
    assert!(
        n1.value(
            "container_network_receive_bytes_total",
            &[("name", &name), ("interface", "lo")]
        )
        .is_none(),
        "cAdvisor does not report lo"
    );

    // The family passes promtool's parser.
    let text = common::http_get(port, "/metrics").unwrap().body;
    let (code, msg) = common::promtool_check_metrics(&text);
    assert!(
        code == 0 || code == 3,
        "promtool check metrics: exit {code}: {msg}"
    );
    println!(
        "promtool check metrics: exit {code} ({} lint line(s))",
        msg.lines().count()
    );

    // Stopped → gone from the output.
    docker_ok(&["stop", "-t", "1", &name]);
    scrape_until(
        port,
        Duration::from_secs(10),
        "the stopped container to disappear",
        |e| e.value("container_last_seen", &[("name", &name)]).is_none(),
    );
    drop(c);
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[test]
#[ignore = "needs Docker"]
fn name_labels_match_docker_ps() {
    prerequisites();
    let names = ["a", "b", "c"].map(|s| format!("hostlens-test-ps-{s}-{}", std::process::id()));
    let _cs: Vec<Container> = names
        .iter()
        .map(|n| Container::run(n, &[], "exec sleep infinity"))
        .collect();
    let (_agent, port) = container_agent(&[]);
    scrape_until(port, Duration::from_secs(15), "the three containers", |e| {
        names
            .iter()
            .all(|n| e.value("container_last_seen", &[("name", n)]).is_some())
    });
    // Other tests may start or stop containers meanwhile: compare with docker ps before and after the scrape.
    // The agent follows events asynchronously: poll until it agrees with docker ps, bounded.
    let ps = || -> BTreeSet<String> {
        docker_ok(&["ps", "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect()
    };
    let t = Instant::now();
    let (before, after, ours) = loop {
        let before = ps();
        let e = scrape(port);
        let after = ps();
        let ours: BTreeSet<String> = e
            .by_name("container_last_seen")
            .iter()
            .filter_map(|s| s.labels.get("name").cloned())
            .filter(|n| !n.is_empty())
            .collect();
        let steady: BTreeSet<String> = before.intersection(&after).cloned().collect();
        let seen: BTreeSet<String> = before.union(&after).cloned().collect();
        if (steady.is_subset(&ours) && ours.is_subset(&seen))
            || t.elapsed() > Duration::from_secs(10)
        {
            break (before, after, ours);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("docker ps: {after:?}\nagent:     {ours:?}");
    let steady: BTreeSet<String> = before.intersection(&after).cloned().collect();
    let seen: BTreeSet<String> = before.union(&after).cloned().collect();
    assert!(
        steady.is_subset(&ours),
        "running containers the agent does not name: {:?}",
        steady.difference(&ours).collect::<Vec<_>>()
    );
    assert!(
        ours.is_subset(&seen),
        "names docker ps does not list: {:?}",
        ours.difference(&seen).collect::<Vec<_>>()
    );
    for n in &names {
        assert!(ours.contains(n), "{n} missing");
    }
}

#[test]
#[ignore = "needs Docker"]
fn once_shows_the_running_containers_by_their_docker_names() {
    prerequisites();
    let name = format!("hostlens-test-once-{}", std::process::id());
    let _c = Container::run(&name, &[], "exec sleep infinity");
    let out = Command::new(agent_bin())
        .args([
            "--once",
            "--collector.disable-defaults",
            "--collector.container",
            "--no-collector.ebpf",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "agent --once failed: {stderr}");
    let e = parse_exposition(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(
        e.value("container_cpu_usage_seconds_total", &[("name", &name)])
            .is_some(),
        "agent --once does not show {name}"
    );
    assert_eq!(
        e.value("hostlens_container_runtime_up", &[("runtime", "docker")]),
        Some(1.0)
    );
}

#[test]
fn no_docker_is_reported_and_the_other_families_still_serve() {
    let (agent, port) = container_agent(&[
        "--collector.loadavg",
        "--container.docker-host=unix:///nonexistent/docker.sock",
    ]);
    let e = scrape_until(
        port,
        Duration::from_secs(10),
        "the runtime reported down",
        |e| e.value("hostlens_container_runtime_up", &[("runtime", "docker")]) == Some(0.0),
    );
    assert!(
        e.value("node_load1", &[]).is_some(),
        "the node family stopped"
    );
    assert!(
        e.value("container_cpu_usage_seconds_total", &[("id", "/")])
            .is_some(),
        "the root cgroup is still reported without Docker"
    );
    for _ in 0..3 {
        scrape(port);
    }
    // The warning was logged once, naming the socket.
    let log = agent.stop_and_stderr();
    let warnings = log.matches("is unreachable").count();
    println!("agent log: {warnings} warning(s) about Docker");
    assert_eq!(
        warnings, 1,
        "expected one warning naming the socket, got log:\n{log}"
    );
    assert!(log.contains("/nonexistent/docker.sock"));
}

#[test]
#[ignore = "needs Docker"]
fn docker_appearing_later_is_picked_up_by_the_retries() {
    prerequisites();
    // The socket path does not exist when the agent starts; a symlink to the real socket appears later, as
    // when the agent starts before the Docker daemon at boot.
    let dir = std::env::temp_dir().join(format!("hostlens-late-docker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("docker.sock");
    let name = format!("hostlens-test-late-{}", std::process::id());
    let _c = Container::run(&name, &[], "exec sleep infinity");
    let (agent, port) = container_agent(&[
        &format!("--container.docker-host=unix://{}", sock.display()),
        "--container.docker-retry=1s",
    ]);
    scrape_until(
        port,
        Duration::from_secs(10),
        "the runtime reported down",
        |e| e.value("hostlens_container_runtime_up", &[("runtime", "docker")]) == Some(0.0),
    );
    std::os::unix::fs::symlink("/var/run/docker.sock", &sock).unwrap();
    let t = Instant::now();
    scrape_until(
        port,
        Duration::from_secs(10),
        "the late daemon's containers",
        |e| {
            e.value("hostlens_container_runtime_up", &[("runtime", "docker")]) == Some(1.0)
                && e.value("container_last_seen", &[("name", &name)]).is_some()
        },
    );
    println!(
        "Docker reachable {:.1} s after its socket appeared (retry every 1 s)",
        t.elapsed().as_secs_f64()
    );
    let log = agent.stop_and_stderr();
    assert!(
        log.contains("reconnected to Docker"),
        "no reconnection logged:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--container.process-metrics`: cAdvisor's process group for a real container equals what its
/// processes hold: the processes of its cgroup, their open descriptors and sockets, and `pids.max` from
/// `--pids-limit`.
#[test]
#[ignore = "needs Docker"]
fn process_metrics_of_a_real_container() {
    prerequisites();
    let (_agent, port) = container_agent(&["--container.process-metrics"]);
    let name = format!("hostlens-test-procs-{}", std::process::id());
    // Two processes: a listening nc (one socket) and the sleep the shell became.
    let c = Container::run(
        &name,
        &["--pids-limit", "64"],
        "busybox nc -l -p 9999 & exec sleep infinity",
    );
    let pid: u32 = c.inspect("{{.State.Pid}}").parse().unwrap();
    let e = scrape_until(
        port,
        Duration::from_secs(15),
        "two processes in the container, nc listening",
        // nc's socket appears a moment after its process: wait for both, then nothing changes.
        |e| {
            e.value("container_processes", &[("name", &name)]) == Some(2.0)
                && e.value("container_sockets", &[("name", &name)]) == Some(1.0)
        },
    );
    // What the container's processes hold, counted from inside it.
    let counts = c.exec(
        "n=0; s=0; for p in $(ls /proc | grep -E '^[0-9]+$'); do [ \"$p\" = $$ ] && continue; \
         [ -d /proc/$p/fd ] || continue; case $(readlink /proc/$p/exe) in */bash) continue;; esac; \
         for f in /proc/$p/fd/*; do n=$((n+1)); case $(readlink $f) in socket:*) s=$((s+1));; esac; done; \
         done; echo $n $s",
    );
    let (fds, socks) = counts.trim().split_once(' ').unwrap();
    println!("container pid {pid}: inside it {fds} descriptors, {socks} sockets (without the exec'd bash)");
    assert_eq!(
        v(&e, "container_file_descriptors", &name),
        fds.parse::<f64>().unwrap()
    );
    assert_eq!(
        v(&e, "container_sockets", &name),
        socks.parse::<f64>().unwrap()
    );
    assert!(
        v(&e, "container_sockets", &name) >= 1.0,
        "nc's listening socket"
    );
    assert_eq!(v(&e, "container_threads_max", &name), 64.0);
    assert!(v(&e, "container_threads", &name) >= 2.0);
    let soft = c.exec("awk '/^Max open files/ {print $4}' /proc/1/limits");
    let soft: f64 = soft.trim().parse().unwrap_or(-1.0);
    assert_eq!(
        e.value(
            "container_ulimits_soft",
            &[("name", &name), ("ulimit", "max_open_files")]
        ),
        Some(soft)
    );
}

/// `container_health_state` follows Docker's health checks: -1 without one, 0 while starting or
/// unhealthy, 1 once healthy (its `health_status` event makes the agent inspect the container again).
#[test]
#[ignore = "needs Docker"]
fn health_state_follows_the_health_check() {
    prerequisites();
    let (_agent, port) = container_agent(&[]);
    let pid = std::process::id();
    let plain = format!("hostlens-test-nohealth-{pid}");
    let checked = format!("hostlens-test-health-{pid}");
    let _a = Container::run(&plain, &[], "exec sleep infinity");
    // Unhealthy until /tmp/ok exists; checked every second.
    let b = Container::run(
        &checked,
        &[
            "--health-cmd",
            "test -e /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        "exec sleep infinity",
    );
    let e = scrape_until(port, Duration::from_secs(20), "both containers", |e| {
        e.value("container_health_state", &[("name", &plain)])
            .is_some()
            && e.value("container_health_state", &[("name", &checked)])
                .is_some()
    });
    assert_eq!(v(&e, "container_health_state", &plain), -1.0);
    assert_eq!(
        v(&e, "container_health_state", &checked),
        0.0,
        "starting or unhealthy"
    );
    b.exec("touch /tmp/ok");
    scrape_until(
        port,
        Duration::from_secs(20),
        "healthy after the check passes",
        |e| e.value("container_health_state", &[("name", &checked)]) == Some(1.0),
    );
    assert_eq!(b.inspect("{{.State.Health.Status}}"), "healthy");
}
