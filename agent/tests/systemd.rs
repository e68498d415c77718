//! The systemd and logind collectors side by side with node_exporter 1.11.1 (`make test-deps`; its
//! `systemd_linux.go` and `logind_linux.go` are 1.12.1's) against a REAL systemd: a container of the local
//! image `hostlens-test/systemd:bookworm` (`scripts/images.sh systemd`, built here when missing) runs
//! systemd as PID 1 with dbus and logind, and the test units of the image (a failed service, one restarted
//! 3 times, a timer, a socket, a running service with TasksMax), plus a logind session (`su -l`).
//!
//! What systemd as PID 1 needs here (Docker 20.10, cgroup v1 hybrid), no `--privileged`, no capabilities
//! added: `/sys/fs/cgroup` bind-mounted read-only (systemd finds its `name=systemd` hierarchy there),
//! tmpfs on `/run/lock` and `/tmp`, `container=docker` in the environment (set by the image) and the
//! units that need hardware or a console masked (the image does it). The container's `/run` is a host
//! temp dir, so the host reaches its system bus (`/run/dbus/system_bus_socket`) and systemd's private
//! socket (`/run/systemd/private`).
//!
//! Both exporters get `DBUS_SYSTEM_BUS_ADDRESS=unix:path=<that dir>/dbus/system_bus_socket` (go-systemd's
//! `NewWithContext` and ours try the system bus first), and ours is also run over the private socket
//! (`--collector.systemd.private` with the hidden `--collector.systemd.private-address`; as root, in the
//! container's PID namespace, which systemd requires of a private peer). Compared: the
//! metric names, label sets, TYPE and HELP of every node_systemd_* and node_logind_* family, and every
//! value exactly (unit states, counts, restarts, tasks, socket counters, timestamps: the test units are
//! steady once the system has settled), except node_systemd_unit_tasks_current, which may move by a few.
//!
//! `#[ignore = "needs Docker and the systemd test image"]`, run by `make test`'s cargo-test-ignored suite.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    agent_bin, docker, docker_ok, http_get, parse_exposition, spawn_http, tool, Exposition,
    ANY_PORT,
};

const IMAGE: &str = "hostlens-test/systemd:bookworm";

fn prerequisites() {
    let v = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        v.status.success(),
        "prerequisite missing: a running Docker daemon the test user can reach: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    if !docker(&["image", "inspect", IMAGE]).status.success() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/images.sh");
        let s = Command::new("bash")
            .arg(script)
            .arg("systemd")
            .status()
            .expect("running scripts/images.sh");
        assert!(s.success(), "building the local test image {IMAGE} failed");
    }
}

/// The systemd container, removed on drop with its `/run` directory.
struct Systemd {
    name: String,
    run: PathBuf,
}

impl Systemd {
    fn start() -> Systemd {
        let name = format!("hostlens-test-systemd-{}", std::process::id());
        let run = std::env::temp_dir().join(&name);
        let _ = docker(&["rm", "-f", &name]);
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(&run).expect("creating the container's /run directory");
        let run_mount = format!("{}:/run", run.display());
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--tmpfs",
            "/run/lock",
            "--tmpfs",
            "/tmp",
            "-v",
            &run_mount,
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            IMAGE,
        ]);
        let s = Systemd { name, run };
        s.settle();
        s
    }

    fn exec(&self, args: &[&str]) -> Output {
        let mut a = vec!["exec", self.name.as_str()];
        a.extend_from_slice(args);
        docker(&a)
    }

    /// Wait until boot is over (`degraded`: hl-fail.service failed on purpose), hl-restart.service has
    /// been restarted its 3 times and runs, and the timer has fired; then accept one connection on the
    /// socket so that its counters are not all 0.
    fn settle(&self) {
        let t = Instant::now();
        loop {
            let state = self.exec(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
            let show = |prop: &str, unit: &str| {
                let o = self.exec(&["systemctl", "show", "-P", prop, unit]);
                String::from_utf8_lossy(&o.stdout).trim().to_string()
            };
            let restart = format!(
                "{} {}",
                show("ActiveState", "hl-restart.service"),
                show("NRestarts", "hl-restart.service")
            );
            let timer = show("LastTriggerUSec", "hl-tick.timer");
            if state == "degraded" && restart == "active 3" && !timer.is_empty() && timer != "n/a" {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "systemd in {} did not settle within 60 s: is-system-running {state:?}, hl-restart \
                 {restart:?}, hl-tick.timer {timer:?}; logs:\n{}",
                self.name,
                String::from_utf8_lossy(&docker(&["logs", &self.name]).stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        // A logind session: `su -l` through pam_systemd (class background, type unspecified, no seat), with
        // its user manager up.
        docker_ok(&[
            "exec",
            "-d",
            &self.name,
            "su",
            "-l",
            "root",
            "-c",
            "exec busybox sleep 100000",
        ]);
        let t = Instant::now();
        loop {
            let sessions = self.exec(&["loginctl", "list-sessions", "--no-legend"]);
            let user = self.exec(&["systemctl", "is-active", "user@0.service"]);
            if !String::from_utf8_lossy(&sessions.stdout).trim().is_empty()
                && String::from_utf8_lossy(&user.stdout).trim() == "active"
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "no logind session with its user manager within 30 s: {sessions:?} {user:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // One accepted connection: hl-echo@.service is `cat` on the socket, closed when nc's stdin ends.
        let o = self.exec(&[
            "busybox",
            "sh",
            "-c",
            "echo hi | busybox timeout 5 busybox nc 127.0.0.1 7777",
        ]);
        assert!(o.status.success(), "connecting to hl-echo.socket: {o:?}");
        // Its instance service runs and goes; wait until the socket holds no connection any more.
        let t = Instant::now();
        while String::from_utf8_lossy(
            &self
                .exec(&["systemctl", "show", "-P", "NConnections", "hl-echo.socket"])
                .stdout,
        )
        .trim()
            != "0"
        {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "hl-echo.socket keeps a connection"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn bus_address(&self) -> String {
        format!(
            "unix:path={}",
            self.run.join("dbus/system_bus_socket").display()
        )
    }

    fn private_address(&self) -> String {
        format!("unix:path={}", self.run.join("systemd/private").display())
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
        let _ = std::fs::remove_dir_all(&self.run);
    }
}

const FLAGS: [&str; 3] = [
    "--collector.systemd.enable-task-metrics",
    "--collector.systemd.enable-restarts-metrics",
    "--collector.systemd.enable-start-time-metrics",
];

/// One scrape's node_systemd_*/node_logind_* part: HELP and TYPE per family, and the samples.
struct Scrape {
    help: BTreeMap<String, String>,
    e: Exposition,
    success: BTreeMap<String, f64>,
}

fn scrape(port: u16) -> Scrape {
    let r = http_get(port, "/metrics").unwrap_or_else(|e| panic!("scraping port {port}: {e}"));
    assert_eq!(r.status, 200, "scraping port {port}: {}", r.body);
    let ours = |n: &str| n.starts_with("node_systemd_") || n.starts_with("node_logind_");
    let mut help = BTreeMap::new();
    for line in r.body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, text)) = rest.split_once(' ') {
                if ours(name) {
                    help.insert(name.to_string(), text.to_string());
                }
            }
        }
    }
    let mut e = parse_exposition(&r.body).unwrap_or_else(|e| panic!("parsing port {port}: {e}"));
    let success = e
        .series
        .iter()
        .filter(|s| s.name == "node_scrape_collector_success")
        .map(|s| (s.labels["collector"].clone(), s.value))
        .collect();
    e.series.retain(|s| ours(&s.name));
    e.types.retain(|n, _| ours(n));
    Scrape { help, e, success }
}

fn key(s: &common::Series) -> String {
    format!("{}{:?}", s.name, s.labels)
}

/// Everything of `theirs` equals `ours` (see the module doc); returns the number of samples compared.
fn compare(label: &str, theirs: &Scrape, ours: &Scrape) -> usize {
    let mut problems = Vec::new();
    for c in ["systemd", "logind"] {
        if ours.success.get(c) != Some(&1.0) || theirs.success.get(c) != Some(&1.0) {
            problems.push(format!(
                "{c}: success ours {:?} theirs {:?}",
                ours.success.get(c),
                theirs.success.get(c)
            ));
        }
    }
    if theirs.e.types != ours.e.types {
        problems.push(format!(
            "TYPE differs:\n  theirs {:?}\n  ours   {:?}",
            theirs.e.types, ours.e.types
        ));
    }
    if theirs.help != ours.help {
        problems.push(format!(
            "HELP differs:\n  theirs {:?}\n  ours   {:?}",
            theirs.help, ours.help
        ));
    }
    let t: BTreeMap<String, f64> = theirs.e.series.iter().map(|s| (key(s), s.value)).collect();
    let o: BTreeMap<String, f64> = ours.e.series.iter().map(|s| (key(s), s.value)).collect();
    let tk: BTreeSet<&String> = t.keys().collect();
    let ok: BTreeSet<&String> = o.keys().collect();
    for k in tk.difference(&ok) {
        problems.push(format!("missing in ours: {k} {}", t[*k]));
    }
    for k in ok.difference(&tk) {
        problems.push(format!("extra in ours: {k} {}", o[*k]));
    }
    for (k, tv) in &t {
        let Some(ov) = o.get(k) else { continue };
        let same = if k.starts_with("node_systemd_unit_tasks_current") {
            (tv - ov).abs() <= 3.0
        } else {
            tv == ov
        };
        if !same {
            problems.push(format!("value differs: {k} theirs {tv} ours {ov}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{label}: {} difference(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    t.len()
}

#[test]
#[ignore = "needs Docker and the systemd test image"]
fn systemd_and_logind_match_node_exporter_on_a_real_systemd() {
    prerequisites();
    let sd = Systemd::start();
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let base = [
        ANY_PORT,
        "--collector.disable-defaults",
        "--collector.systemd",
        "--collector.logind",
    ];
    let mut c = Command::new(&ne);
    c.args(base).args(FLAGS);
    // Debian's build adds `target` to the default exclude; upstream's default (ours) is this.
    c.arg(r"--collector.systemd.unit-exclude=.+\.(automount|device|mount|scope|slice)");
    c.env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let theirs_p = spawn_http("node_exporter", c, "/metrics");

    let mut a = Command::new(agent_bin());
    a.args(base).args(FLAGS).arg("--no-collector.ebpf");
    a.env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let ours_p = spawn_http("agent", a, "/healthz");

    // Over systemd's private socket: root only (the socket is 0700), and from inside the container's PID
    // namespace (`nsenter --pid`), as systemd refuses a peer whose PID it cannot see ("Incoming private
    // connection from unprivileged client").
    let private = common::is_root().then(|| {
        let pid = docker_ok(&["inspect", "-f", "{{.State.Pid}}", &sd.name]);
        let mut a = Command::new("nsenter");
        a.args(["--target", pid.trim(), "--pid", "--"])
            .arg(agent_bin())
            .args(base)
            .args(FLAGS)
            .arg("--no-collector.ebpf")
            .arg("--collector.systemd.private")
            .arg(format!(
                "--collector.systemd.private-address={}",
                sd.private_address()
            ));
        a.env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
        spawn_http("agent (private socket)", a, "/healthz")
    });

    let theirs = scrape(theirs_p.port);
    let ours = scrape(ours_p.port);
    let n = compare("over the system bus", &theirs, &ours);
    // What the units are, as a check of the test itself: every state and type of sample is there.
    let v = |name: &str, labels: &[(&str, &str)]| ours.e.value(name, labels);
    assert_eq!(
        v(
            "node_systemd_unit_state",
            &[
                ("name", "hl-fail.service"),
                ("state", "failed"),
                ("type", "oneshot")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "node_systemd_service_restart_total",
            &[("name", "hl-restart.service")]
        ),
        Some(3.0)
    );
    assert_eq!(
        v(
            "node_systemd_unit_tasks_max",
            &[("name", "hl-sleep.service")]
        ),
        Some(50.0)
    );
    assert_eq!(
        v(
            "node_systemd_socket_accepted_connections_total",
            &[("name", "hl-echo.socket")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "node_systemd_virtualization_info",
            &[("virtualization_type", "docker")]
        ),
        Some(1.0)
    );
    assert_eq!(v("node_systemd_system_running", &[]), Some(0.0));
    assert!(
        v(
            "node_systemd_timer_last_trigger_seconds",
            &[("name", "hl-tick.timer")]
        )
        .unwrap_or(0.0)
            > 1e9
    );
    assert!(v("node_logind_sessions", &[("seat", "seat0")]).is_some());
    assert_eq!(
        v(
            "node_logind_sessions",
            &[
                ("seat", ""),
                ("remote", "false"),
                ("type", "unspecified"),
                ("class", "background")
            ]
        ),
        Some(1.0)
    );
    println!("systemd/logind over the system bus: {n} samples identical to node_exporter's");

    match private {
        Some(p) => {
            let n = compare("over the private socket", &theirs, &scrape(p.port));
            println!("systemd/logind over systemd's private socket: {n} samples identical");
        }
        None => println!("SKIPPED the private-socket half: it needs root"),
    }
    drop(ours_p);
    drop(theirs_p);

    // The filters, without the optional metrics: node_exporter with include/exclude, ours with their
    // deprecated aliases (whitelist/blacklist), both anchored (`hl-.+` does not match `xhl-…`).
    let include = r"hl-.+|dbus\.socket";
    let exclude = r".+\.timer";
    let mut c = Command::new(&ne);
    c.args(base)
        .arg(format!("--collector.systemd.unit-include={include}"))
        .arg(format!("--collector.systemd.unit-exclude={exclude}"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let theirs_p = spawn_http("node_exporter", c, "/metrics");
    let mut a = Command::new(agent_bin());
    a.args(base)
        .arg("--no-collector.ebpf")
        .arg(format!("--collector.systemd.unit-whitelist={include}"))
        .arg(format!("--collector.systemd.unit-blacklist={exclude}"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let ours_p = spawn_http("agent", a, "/healthz");
    let theirs = scrape(theirs_p.port);
    let ours = scrape(ours_p.port);
    let n = compare("filtered", &theirs, &ours);
    let names: BTreeSet<&str> = ours
        .e
        .by_name("node_systemd_unit_state")
        .iter()
        .map(|s| s.labels["name"].as_str())
        .collect();
    assert!(
        names.contains("hl-sleep.service")
            && names.contains("dbus.socket")
            && !names.contains("hl-tick.timer")
            && !names.contains("dbus.service"),
        "{names:?}"
    );
    println!("systemd/logind with unit filters: {n} samples identical");
    drop(ours_p);
    drop(theirs_p);

    // systemd gone: both fail the scrape (success 0), no samples. Not on a host with its own systemd,
    // whose private socket both would fall back to as root.
    if Path::new("/run/systemd/private").exists() {
        println!("SKIPPED the no-systemd half: this host runs systemd");
        return;
    }
    docker_ok(&["rm", "-f", &sd.name]);
    let mut c = Command::new(&ne);
    c.args(base)
        .env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let theirs = scrape(spawn_http("node_exporter", c, "/metrics").port);
    let mut a = Command::new(agent_bin());
    a.args(base).arg("--no-collector.ebpf");
    a.env("DBUS_SYSTEM_BUS_ADDRESS", sd.bus_address());
    let ours = scrape(spawn_http("agent", a, "/healthz").port);
    for c in ["systemd", "logind"] {
        assert_eq!(theirs.success.get(c), Some(&0.0), "node_exporter, {c}");
        assert_eq!(ours.success.get(c), Some(&0.0), "agent, {c}");
    }
    assert!(theirs.e.series.is_empty() && ours.e.series.is_empty());
}
