#![cfg(feature = "container")]
//! Container discovery: which containers the family lists, under which labels, through the daemon's events
//! and restarts.
//!
//! - Against real Docker containers (`#[ignore = "needs Docker"]`, `make test` runs them): Docker labels as
//!   cAdvisor exports them, and a running container that stays through `docker kill -s HUP`, an OOM kill of
//!   a child while PID 1 lives, pause/unpause, rename and restart.
//! - Against a fake Docker Engine API on a unix socket (runs everywhere): an event stream that ends while the
//!   daemon stays up, and a daemon that goes away and comes back with a different list. The fake serves the
//!   containers of the cgroup v1 fixture tree (`collectors/tests/fixtures/cgroup/v1`), which the agent reads
//!   with `--path.cgroupfs`, so their series exist without Docker.
//!
//! The agent follows events asynchronously and says nothing when it has caught up. To know that it has
//! applied an event, each real-container step is followed by a rename of a second, "marker" container: events
//! are applied in order, so once the marker's new name is in the scrape, the step's events were applied too.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{container_agent, docker, docker_ok, scrape, scrape_until, Exposition};

const IMAGE: &str = common::BASE_IMAGE;
const COMPOSE: &str = "container_label_com_docker_compose_service";

/// The labels of `container_last_seen` for the container named `name`, if listed.
fn labels_of(e: &Exposition, name: &str) -> Option<BTreeMap<String, String>> {
    e.by_name("container_last_seen")
        .into_iter()
        .find(|s| s.labels.get("name").map(String::as_str) == Some(name))
        .map(|s| s.labels.clone())
}

fn listed(e: &Exposition, name: &str) -> bool {
    labels_of(e, name).is_some()
}

fn runtime_up(e: &Exposition) -> Option<f64> {
    e.value("hostlens_container_runtime_up", &[("runtime", "docker")])
}

// ---------------------------------------------------------------------------------------------------------
// Real containers.

/// The daemon must answer, and the local test image must exist (built here, offline, if missing).
fn prerequisites() {
    let v = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        v.status.success(),
        "prerequisite missing: a running Docker daemon the test user can reach (DOCKER_HOST={:?}): {}",
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

/// A container removed (forcefully) on drop; `name` follows renames.
struct Container {
    id: String,
    name: String,
}

impl Container {
    fn run(name: &str, extra: &[&str], cmd: &str) -> Container {
        let _ = docker(&["rm", "-f", name]);
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", cmd]);
        let id = docker_ok(&args);
        Container {
            id,
            name: name.to_string(),
        }
    }

    fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.id])
    }

    fn rename(&mut self, to: &str) {
        docker_ok(&["rename", &self.id, to]);
        self.name = to.to_string();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.id]);
    }
}

/// A container whose renames tell when the agent has applied every event before them.
struct Marker {
    c: Container,
    base: String,
    n: u32,
}

impl Marker {
    fn start(base: &str, port: u16) -> Marker {
        let c = Container::run(base, &[], "exec sleep infinity");
        scrape_until(port, Duration::from_secs(15), "the marker container", |e| {
            listed(e, base)
        });
        Marker {
            c,
            base: base.to_string(),
            n: 0,
        }
    }

    /// Rename the marker and wait until the agent shows the new name: every event Docker sent before the
    /// rename has been applied then.
    fn sync(&mut self, port: u16) -> Exposition {
        self.n += 1;
        let to = format!("{}-{}", self.base, self.n);
        self.c.rename(&to);
        scrape_until(
            port,
            Duration::from_secs(10),
            &format!("the marker renamed {to}"),
            |e| listed(e, &to),
        )
    }
}

#[test]
#[ignore = "needs Docker"]
fn docker_labels_are_exported_as_cadvisor_names_them() {
    prerequisites();
    let pid = std::process::id();
    let name = format!("hostlens-test-labels-{pid}");
    let _c = Container::run(
        &name,
        &[
            "--label",
            "com.docker.compose.service=x",
            "--label",
            "org.label-schema.group=monitoring",
            "--label",
            "com.example.dashed-key=v",
            "-e",
            "HLTEST_MODE=prod",
        ],
        "exec sleep infinity",
    );
    // Restarted once by its restart policy: cAdvisor adds `restartcount`.
    let rname = format!("hostlens-test-labels-restarted-{pid}");
    let restarted = Container::run(
        &rname,
        &["--restart", "on-failure:3"],
        "if [ ! -e /once ]; then touch /once; exit 1; fi; exec sleep infinity",
    );
    let t = Instant::now();
    while restarted.inspect("{{.RestartCount}} {{.State.Running}}") != "1 true" {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the restart policy did not restart {rname}: {}",
            restarted.inspect("{{.RestartCount}} {{.State.Status}}")
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Default: every label, sanitized; the environment not at all.
    let (_a, port) = container_agent(&[]);
    let e = scrape_until(port, Duration::from_secs(15), "both containers", |e| {
        listed(e, &name)
            && labels_of(e, &rname)
                .and_then(|l| l.get("container_label_restartcount").cloned())
                .is_some()
    });
    let l = labels_of(&e, &name).unwrap();
    println!("default labels of {name}: {l:?}");
    assert_eq!(l.get(COMPOSE).map(String::as_str), Some("x"));
    assert_eq!(
        l.get("container_label_org_label_schema_group")
            .map(String::as_str),
        Some("monitoring")
    );
    assert_eq!(
        l.get("container_label_com_example_dashed_key")
            .map(String::as_str),
        Some("v")
    );
    assert!(
        !l.keys().any(|k| k.starts_with("container_env_")),
        "environment exported without --env_metadata_whitelist: {l:?}"
    );
    let rl = labels_of(&e, &rname).unwrap();
    assert_eq!(
        rl.get("container_label_restartcount").map(String::as_str),
        Some("1")
    );
    // Every series of the family carries the same label names (cAdvisor's union), the root's empty.
    let root = e
        .by_name("container_last_seen")
        .into_iter()
        .find(|s| s.labels.get("id").map(String::as_str) == Some("/"))
        .expect("the root cgroup");
    for k in l.keys().filter(|k| k.starts_with("container_label_")) {
        assert!(
            root.labels.get(k).is_none_or(String::is_empty),
            "the root cgroup has {k}={:?}",
            root.labels.get(k)
        );
    }
    let names: Vec<_> = e
        .by_name("container_last_seen")
        .iter()
        .map(|s| s.labels.keys().cloned().collect::<Vec<_>>())
        .collect();
    assert!(
        names.windows(2).all(|w| w[0] == w[1]),
        "series with different label names"
    );

    // cAdvisor's flags: only the allowlisted label, and the environment by prefix.
    let (_b, port) = container_agent(&[
        "--store_container_labels=false",
        "--whitelisted_container_labels=com.docker.compose.service",
        "--env_metadata_whitelist=HLTEST_",
    ]);
    let e = scrape_until(port, Duration::from_secs(15), "the container", |e| {
        listed(e, &name)
    });
    let l = labels_of(&e, &name).unwrap();
    println!("narrowed labels of {name}: {l:?}");
    assert_eq!(l.get(COMPOSE).map(String::as_str), Some("x"));
    assert_eq!(
        l.get("container_env_hltest_mode").map(String::as_str),
        Some("prod")
    );
    let others: Vec<&String> = e
        .series
        .iter()
        .flat_map(|s| s.labels.keys())
        .filter(|k| k.starts_with("container_label_") && k.as_str() != COMPOSE)
        .collect();
    assert!(
        others.is_empty(),
        "labels outside the allowlist: {others:?}"
    );

    // Off: no Docker label at all.
    let (_c2, port) = container_agent(&["--container.store-labels=false"]);
    let e = scrape_until(port, Duration::from_secs(15), "the container", |e| {
        listed(e, &name)
    });
    let any: Vec<&String> = e
        .series
        .iter()
        .flat_map(|s| s.labels.keys())
        .filter(|k| k.starts_with("container_label_") || k.starts_with("container_env_"))
        .collect();
    assert!(
        any.is_empty(),
        "labels with --container.store-labels=false: {any:?}"
    );
}

#[test]
#[ignore = "needs Docker"]
fn a_running_container_stays_through_signals_oom_pause_rename_and_restart() {
    prerequisites();
    let pid = std::process::id();
    let (_agent, port) = container_agent(&[]);
    let mut marker = Marker::start(&format!("hostlens-test-marker-{pid}"), port);
    // PID 1 handles HUP (counts it) and survives; 32 MiB of memory and no swap on this host, so a child
    // allocating more is OOM-killed while PID 1 lives.
    let mut c = Container::run(
        &format!("hostlens-test-events-{pid}"),
        &["--memory", "32m", "--memory-swap", "32m"],
        "trap 'echo hup >> /tmp/hups' HUP; while :; do sleep 1 & wait $!; done",
    );
    scrape_until(port, Duration::from_secs(15), "the container", |e| {
        listed(e, &c.name)
    });

    // docker kill -s HUP: a "kill" event, and the container runs on.
    docker_ok(&["kill", "-s", "HUP", &c.name]);
    let e = marker.sync(port);
    assert!(
        listed(&e, &c.name),
        "{} disappeared after docker kill -s HUP",
        c.name
    );
    let t = Instant::now();
    while docker(&["exec", &c.name, "cat", "/tmp/hups"])
        .stdout
        .is_empty()
    {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "PID 1 never saw the HUP"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.inspect("{{.State.Running}}"), "true");
    println!("HUP: delivered to PID 1, still listed");

    // An OOM kill of a child (an "oom" event) while PID 1 lives.
    let oom_before = e
        .value("container_oom_events_total", &[("name", &c.name)])
        .unwrap_or(0.0);
    let o = docker(&[
        "exec",
        &c.name,
        "sh",
        "-c",
        "head -c 100m /dev/zero | tail > /dev/null",
    ]);
    assert!(
        !o.status.success(),
        "a child allocating 100 MiB under a 32 MiB limit was not killed"
    );
    assert_eq!(
        c.inspect("{{.State.Running}}"),
        "true",
        "PID 1 did not survive"
    );
    let e = marker.sync(port);
    assert!(
        listed(&e, &c.name),
        "{} disappeared after an OOM kill of a child",
        c.name
    );
    let oom_after = e
        .value("container_oom_events_total", &[("name", &c.name)])
        .unwrap_or(0.0);
    println!("OOM: child killed, PID 1 alive, still listed; container_oom_events_total {oom_before} → {oom_after}");
    assert!(oom_after > oom_before, "the OOM kill was not counted");

    // Paused, then unpaused: listed throughout.
    docker_ok(&["pause", &c.name]);
    let e = marker.sync(port);
    assert!(listed(&e, &c.name), "{} disappeared when paused", c.name);
    docker_ok(&["unpause", &c.name]);
    let e = marker.sync(port);
    assert!(listed(&e, &c.name), "{} disappeared when unpaused", c.name);
    println!("pause/unpause: still listed");

    // Renamed: the new name, the old one gone, the same cgroup.
    let id_label = labels_of(&e, &c.name).unwrap().get("id").cloned();
    let old = c.name.clone();
    c.rename(&format!("hostlens-test-events-renamed-{pid}"));
    let e = marker.sync(port);
    assert!(
        listed(&e, &c.name),
        "{} not listed after the rename",
        c.name
    );
    assert!(!listed(&e, &old), "{old} still listed after the rename");
    assert_eq!(labels_of(&e, &c.name).unwrap().get("id").cloned(), id_label);
    println!("rename: {old} → {}", c.name);

    // Restarted: listed again, with the new start time.
    let started = e
        .value("container_start_time_seconds", &[("name", &c.name)])
        .expect("a start time");
    docker_ok(&["restart", "-t", "1", &c.name]);
    let e = marker.sync(port);
    let restarted = e
        .value("container_start_time_seconds", &[("name", &c.name)])
        .unwrap_or_else(|| panic!("{} not listed after docker restart", c.name));
    println!("restart: start time {started} → {restarted}");
    assert!(restarted > started, "the start time did not change");

    // Stopped: gone.
    docker_ok(&["stop", "-t", "1", &c.name]);
    let e = marker.sync(port);
    assert!(!listed(&e, &c.name), "{} still listed when stopped", c.name);
}

// ---------------------------------------------------------------------------------------------------------
// A fake Docker Engine API.

const ID_WEB: &str = "4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f";
const ID_JOB: &str = "b0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafe";

#[derive(Clone)]
struct FakeContainer {
    id: &'static str,
    name: String,
    image: &'static str,
    cgroup_parent: &'static str,
}

impl FakeContainer {
    fn inspect_json(&self) -> String {
        format!(
            r#"{{"Id":"{}","Name":"/{}","Created":"2026-11-25T01:02:03.5Z","RestartCount":0,"State":{{"Status":"running","Running":true,"Paused":false,"Pid":0,"StartedAt":"2026-11-25T01:02:04Z"}},"Config":{{"Image":"{}","Labels":{{"com.docker.compose.service":"{}"}},"Env":["PATH=/usr/bin"]}},"HostConfig":{{"NetworkMode":"bridge","CgroupParent":"{}"}}}}"#,
            self.id, self.name, self.image, self.name, self.cgroup_parent
        )
    }
}

enum StreamCmd {
    Event(String),
    /// End the response properly (the last chunk).
    End,
}

#[derive(Default)]
struct FakeState {
    running: Vec<FakeContainer>,
    streams: Vec<mpsc::Sender<StreamCmd>>,
    events_requests: usize,
}

/// The part of Docker's API the agent uses (`/version`, `/info`, `/containers/json`,
/// `/containers/{id}/json`, `/events`), one thread per connection, each answer `Connection: close` but the
/// event stream, which stays open (chunked) until told otherwise.
struct FakeDocker {
    path: PathBuf,
    state: Arc<Mutex<FakeState>>,
    accepting: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl FakeDocker {
    fn new(path: &Path, running: Vec<FakeContainer>) -> FakeDocker {
        let mut f = FakeDocker {
            path: path.to_path_buf(),
            state: Arc::new(Mutex::new(FakeState {
                running,
                ..FakeState::default()
            })),
            accepting: None,
        };
        f.start();
        f
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The daemon comes (back) up: its socket exists and answers.
    fn start(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("binding the fake Docker socket");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stop2) = (self.state.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let st = st.clone();
                        std::thread::spawn(move || serve(conn, st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.accepting = Some((stop, t));
    }

    /// The daemon goes away: socket gone (a connection fails with ENOENT from now on), then the event streams
    /// cut without their last chunk.
    fn stop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some((stop, t)) = self.accepting.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = t.join();
        }
        // Dropping the senders makes each stream thread shut its connection down.
        self.state().streams.clear();
    }

    fn send_event(&self, action: &str, id: &str, name: &str) {
        let ev = format!(
            r#"{{"status":"{action}","id":"{id}","Type":"container","Action":"{action}","Actor":{{"ID":"{id}","Attributes":{{"name":"{name}"}}}},"scope":"local","time":1795568523,"timeNano":1795568523000000000}}"#
        );
        let st = self.state();
        assert!(!st.streams.is_empty(), "no event stream open");
        for s in &st.streams {
            let _ = s.send(StreamCmd::Event(ev.clone()));
        }
    }

    fn end_streams(&self) {
        for s in self.state().streams.drain(..) {
            let _ = s.send(StreamCmd::End);
        }
    }
}

impl Drop for FakeDocker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(conn: UnixStream, st: Arc<Mutex<FakeState>>) {
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    // Strip the API version prefix (/v1.41/info → /info).
    let path = match path.strip_prefix("/v") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        _ => path,
    };
    let lock = || st.lock().unwrap_or_else(|p| p.into_inner());
    let mut conn = conn;
    let reply = |conn: &mut UnixStream, status: &str, body: &str| {
        let _ = write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match path {
        "/version" => reply(
            &mut conn,
            "200 OK",
            r#"{"Version":"20.10.0-fake","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}"#,
        ),
        "/info" => reply(
            &mut conn,
            "200 OK",
            r#"{"ID":"fake","CgroupDriver":"cgroupfs","CgroupVersion":"1"}"#,
        ),
        "/containers/json" => {
            let list: Vec<String> = lock()
                .running
                .iter()
                .map(|c| format!(r#"{{"Id":"{}","Names":["/{}"]}}"#, c.id, c.name))
                .collect();
            reply(&mut conn, "200 OK", &format!("[{}]", list.join(",")));
        }
        "/events" => {
            let (tx, rx) = mpsc::channel();
            {
                let mut s = lock();
                s.streams.push(tx);
                s.events_requests += 1;
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            let _ = conn.flush();
            loop {
                match rx.recv() {
                    Ok(StreamCmd::Event(ev)) => {
                        let line = format!("{ev}\n");
                        let _ = write!(conn, "{:x}\r\n{line}\r\n", line.len());
                        let _ = conn.flush();
                    }
                    Ok(StreamCmd::End) => {
                        let _ = write!(conn, "0\r\n\r\n");
                        break;
                    }
                    Err(_) => break,
                }
            }
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        p => {
            let id = p
                .strip_prefix("/containers/")
                .and_then(|r| r.strip_suffix("/json"));
            let found = id.and_then(|id| lock().running.iter().find(|c| c.id == id).cloned());
            match found {
                Some(c) => reply(&mut conn, "200 OK", &c.inspect_json()),
                None => reply(
                    &mut conn,
                    "404 Not Found",
                    r#"{"message":"No such container"}"#,
                ),
            }
        }
    }
}

fn web(name: &str) -> FakeContainer {
    FakeContainer {
        id: ID_WEB,
        name: name.into(),
        image: "nginx:1.27",
        cgroup_parent: "",
    }
}

fn job() -> FakeContainer {
    FakeContainer {
        id: ID_JOB,
        name: "job".into(),
        image: "alpine:3.20",
        cgroup_parent: "/ci",
    }
}

#[test]
fn a_daemon_restart_keeps_the_containers_and_resynchronises() {
    let dir = std::env::temp_dir().join(format!("hostlens-fake-docker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("docker.sock");
    let cgroups = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../collectors/tests/fixtures/cgroup/v1/sys/fs/cgroup");
    let mut fake = FakeDocker::new(&sock, vec![web("web"), job()]);
    let (agent, port) = container_agent(&[
        &format!("--container.docker-host=unix://{}", sock.display()),
        &format!("--path.cgroupfs={}", cgroups.display()),
        "--container.docker-retry=10s",
    ]);
    let both = |e: &Exposition| listed(e, "web") && listed(e, "job");
    let e = scrape_until(
        port,
        Duration::from_secs(10),
        "web and job from the fake daemon",
        |e| both(e) && runtime_up(e) == Some(1.0),
    );
    assert_eq!(
        labels_of(&e, "job")
            .unwrap()
            .get(COMPOSE)
            .map(String::as_str),
        Some("job")
    );

    // 1. The event stream ends while the daemon stays up (a proxy's timeout): a new one at once, nothing
    //    vanishes, the runtime never reported down.
    std::thread::sleep(Duration::from_millis(1200)); // a session longer than the "short" one
    let before = fake.state().events_requests;
    fake.end_streams();
    let t = Instant::now();
    while fake.state().events_requests == before {
        let e = scrape(port);
        assert!(both(&e), "containers vanished when the event stream ended");
        assert_eq!(
            runtime_up(&e),
            Some(1.0),
            "runtime down while the daemon answers"
        );
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "no new event stream within 3 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "stream ended: a new one after {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // The new stream is followed: a HUP to job (kill) keeps it, a rename of web is seen.
    fake.state().running[0].name = "web-renamed".into();
    let t = Instant::now();
    while fake.state().streams.is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the new stream never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fake.send_event("kill", ID_JOB, "job");
    fake.send_event("rename", ID_WEB, "web-renamed");
    let e = scrape_until(port, Duration::from_secs(5), "the rename of web", |e| {
        listed(e, "web-renamed")
    });
    assert!(listed(&e, "job"), "job disappeared after a kill event");
    assert!(!listed(&e, "web"));

    // 2. The daemon goes away for 2 s: the last known containers are still served, the runtime says down.
    fake.stop();
    let t = Instant::now();
    let mut down_seen = None;
    while t.elapsed() < Duration::from_secs(2) {
        let e = scrape(port);
        assert!(
            listed(&e, "web-renamed") && listed(&e, "job"),
            "the last known containers vanished {:.1} s into the outage",
            t.elapsed().as_secs_f64()
        );
        if runtime_up(&e) == Some(0.0) && down_seen.is_none() {
            down_seen = Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let down_seen =
        down_seen.expect("hostlens_container_runtime_up never 0 while the daemon was away");
    println!(
        "outage: runtime down after {:.0} ms, both containers served throughout",
        down_seen.as_secs_f64() * 1000.0
    );

    // 3. Back, with job gone meanwhile: resynchronised from the list, well before the 10 s retry interval.
    fake.state().running.retain(|c| c.id == ID_WEB);
    fake.start();
    let t = Instant::now();
    let e = scrape_until(
        port,
        Duration::from_secs(5),
        "the resynchronised list",
        |e| runtime_up(e) == Some(1.0) && listed(e, "web-renamed") && !listed(e, "job"),
    );
    println!(
        "daemon back: resynchronised after {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert!(listed(&e, "web-renamed"));
    drop(fake);
    let log = agent.stop_and_stderr();
    assert!(
        log.contains("reconnected to"),
        "no reconnection logged:\n{log}"
    );
    assert_eq!(
        log.matches("is unreachable").count(),
        1,
        "one warning for the outage expected:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
