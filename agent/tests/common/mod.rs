//! Shared helpers of the agent's integration tests: processes that bind port 0 and say where they listen, a
//! plain HTTP GET, the text exposition format read with the library's own parser, the external tools the
//! tests compare against, and the prerequisites of the tests marked `#[ignore = "needs …"]`.
#![allow(dead_code)]

pub mod ttar;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hostlens_collectors::node::textfile::format::{parse_text_format, TextType, TextValue};
use hostlens_exposition::float::go_float;

#[path = "../../../collectors/tests/common/prereq.rs"]
mod prereq;
#[allow(unused_imports)]
pub use prereq::{is_root, require_root, require_root_and_btf};

/// The listen address to hand a child: the kernel picks the port, the child logs it, the test reads it
/// (`spawn_http`). Never a port found free earlier: another process may take it before the child binds.
pub const ANY_PORT: &str = "--web.listen-address=127.0.0.1:0";

/// A TCP port on 127.0.0.1 that refuses connections for as long as the returned descriptor lives: bound,
/// never listening, so nobody else can take it meanwhile.
pub fn refused_port() -> (OwnedFd, u16) {
    // SAFETY: plain socket(2); the descriptor is owned right below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: bind and getsockname on our socket with a sockaddr_in of the size given.
    unsafe {
        let p = &mut sa as *mut libc::sockaddr_in as *mut libc::sockaddr;
        assert_eq!(
            libc::bind(fd.as_raw_fd(), p, len),
            0,
            "bind 127.0.0.1:0: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(
            libc::getsockname(fd.as_raw_fd(), p, &mut len),
            0,
            "getsockname: {}",
            std::io::Error::last_os_error()
        );
    }
    (fd, u16::from_be(sa.sin_port))
}

/// A response: status code, lower-cased headers, body.
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// GET `path` from `127.0.0.1:port` with HTTP/1.0 (the server closes the connection after the body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// A child process killed on drop; its stderr is collected by a thread (so the pipe never fills).
pub struct Proc {
    pub child: Child,
    pub port: u16,
    pub name: String,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Proc {
    /// Stop the process and return everything it wrote to stderr.
    pub fn stop_and_stderr(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr_after_exit()
    }

    /// What the process wrote to stderr, once it has exited (waits for the end of the pipe).
    pub fn stderr_after_exit(&mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Wait at most `within` for the process to exit; `None` when it is still running.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        // The stderr reader sees the end of the pipe when the process exits: that is the event to wait on.
        if let Some(r) = self.reader.take() {
            let (tx, rx) = mpsc::channel();
            let joiner = std::thread::spawn(move || {
                let _ = r.join();
                let _ = tx.send(());
            });
            if rx.recv_timeout(within).is_err() {
                // Still running: keep a reader handle so the log is complete later.
                self.reader = Some(joiner);
                return None;
            }
            let _ = joiner.join();
        }
        self.child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address a line of the agent's or node_exporter's log says the process is listening on: the agent's
/// `listening on http://127.0.0.1:41234/metrics`, node_exporter's (exporter-toolkit, 1.5 and 1.11 alike)
/// `msg="Listening on" address=127.0.0.1:41234`. Both log the bound address, so port 0 works.
pub fn listen_address(line: &str) -> Option<SocketAddr> {
    if let Some((_, rest)) = line.split_once("listening on http://") {
        let addr = rest.split(['/', ' ']).next()?;
        return addr.parse().ok();
    }
    if line.contains("msg=\"Listening on\"") {
        let (_, rest) = line.split_once(" address=")?;
        return rest.split_whitespace().next()?.parse().ok();
    }
    None
}

/// Start `cmd` — which must be told to listen on port 0 (`ANY_PORT`) — wait for the line of its log that
/// names the bound address, and check that `ready_path` answers 200 there.
pub fn spawn_http(name: &str, mut cmd: Command, ready_path: &str) -> Proc {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listen_address(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                if let Ok(mut l) = log.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        })
    };
    let mut p = Proc {
        child,
        port: 0,
        name: name.to_string(),
        log,
        reader: Some(reader),
    };
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(addr) => p.port = addr.port(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = p.child.wait();
            panic!(
                "{name} exited ({status:?}) before it said where it listens:\n{}",
                p.stderr_after_exit()
            );
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = p.child.kill();
            let _ = p.child.wait();
            panic!(
                "{name} did not log its listen address within 20 s:\n{}",
                p.stderr_after_exit()
            );
        }
    }
    let r = http_get(p.port, ready_path)
        .unwrap_or_else(|e| panic!("{name} said it listens on port {}, but: {e}", p.port));
    assert_eq!(r.status, 200, "{name}: GET {ready_path}: {}", r.body);
    p
}

/// The agent binary built by cargo for this test.
pub fn agent_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hostlens-agent"))
}

/// Where `scripts/test-deps.sh` unpacks the tools (node_exporter, promtool) in this checkout.
pub fn test_tools_dir() -> PathBuf {
    let agent = Path::new(env!("CARGO_MANIFEST_DIR"));
    agent
        .parent()
        .unwrap_or(agent)
        .join(".cache/test-tools/usr/bin")
}

/// An external tool: `$ENV_VAR`, else the first of `names` on PATH, else in `.cache/test-tools` (where
/// `make test-deps` puts it). Panics with the fix when absent.
pub fn tool(env_var: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain(std::iter::once(test_tools_dir())) {
        for n in names {
            let c = dir.join(n);
            if c.is_file() {
                return c;
            }
        }
    }
    panic!(
        "prerequisite missing: {} not found on PATH nor in {} (set {env_var}, or run `make test-deps`, \
         which `make test` does first)",
        names.join(" / "),
        test_tools_dir().display()
    );
}

/// One parsed series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: the TYPE of each family and every sample.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub series: Vec<Series>,
}

impl Exposition {
    /// Sample names (histogram `_bucket` etc. included as written).
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        self.series.iter().map(|s| s.name.clone()).collect()
    }

    pub fn by_name(&self, name: &str) -> Vec<&Series> {
        self.series.iter().filter(|s| s.name == name).collect()
    }

    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.series
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }
}

fn type_name(t: TextType) -> &'static str {
    match t {
        TextType::Counter => "counter",
        TextType::Gauge => "gauge",
        TextType::Untyped => "untyped",
        TextType::Summary => "summary",
        TextType::Histogram => "histogram",
    }
}

/// Parse the classic text exposition format (what node_exporter and the agent serve) with the library's
/// parser, and flatten it into samples as they are written: a summary's `quantile` lines, `_sum` and
/// `_count`; a histogram's `_bucket{le}`, `_sum` and `_count`.
pub fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let families = parse_text_format(text).map_err(|e| e.0)?;
    let mut e = Exposition::default();
    for f in families {
        e.types
            .insert(f.name.clone(), type_name(f.kind).to_string());
        for m in f.metrics {
            let labels: BTreeMap<String, String> = m.labels.into_iter().collect();
            let mut push = |suffix: &str, extra: Option<(&str, f64)>, value: f64| {
                let mut labels = labels.clone();
                if let Some((k, v)) = extra {
                    labels.insert(k.to_string(), go_float(v));
                }
                e.series.push(Series {
                    name: format!("{}{suffix}", f.name),
                    labels,
                    value,
                });
            };
            match m.value {
                TextValue::Simple(v) => push("", None, v),
                TextValue::Summary {
                    count,
                    sum,
                    quantiles,
                } => {
                    for (q, v) in quantiles {
                        push("", Some(("quantile", q)), v);
                    }
                    push("_sum", None, sum);
                    push("_count", None, count as f64);
                }
                TextValue::Histogram {
                    count,
                    sum,
                    buckets,
                } => {
                    for (le, v) in buckets {
                        push("_bucket", Some(("le", le)), v as f64);
                    }
                    push("_sum", None, sum);
                    push("_count", None, count as f64);
                }
            }
        }
    }
    Ok(e)
}

/// Fetch and parse `/metrics` from a port.
pub fn scrape(port: u16) -> Exposition {
    let r = http_get(port, "/metrics").unwrap_or_else(|e| panic!("scraping port {port}: {e}"));
    assert_eq!(r.status, 200, "scraping port {port}: {}", r.body);
    parse_exposition(&r.body).unwrap_or_else(|e| panic!("parsing port {port}'s output: {e}"))
}

/// Run `promtool check metrics` on `text`: its exit code (0 clean, 3 lint complaints only, 1 parse errors)
/// and everything it printed.
pub fn promtool_check_metrics(text: &str) -> (i32, String) {
    let mut child = Command::new(tool("PROMTOOL", &["promtool"]))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feeding promtool");
    let out = child.wait_with_output().expect("promtool");
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), msg)
}

/// The local test base image (Debian bookworm from debootstrap, `scripts/images.sh base`; no registry).
pub const BASE_IMAGE: &str = "hostlens-test/base:bookworm";

/// Run the docker CLI.
pub fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("running the docker CLI (is Docker installed?)")
}

/// Run the docker CLI, which must succeed; its trimmed standard output.
pub fn docker_ok(args: &[&str]) -> String {
    let o = docker(args);
    assert!(
        o.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The agent with only the container family (and `extra`), on port 0; the process and its port.
pub fn container_agent(extra: &[&str]) -> (Proc, u16) {
    let mut c = Command::new(agent_bin());
    c.args([
        ANY_PORT,
        "--collector.disable-defaults",
        "--collector.container",
        "--no-collector.ebpf",
    ]);
    c.args(extra);
    let p = spawn_http("agent", c, "/healthz");
    let port = p.port;
    (p, port)
}

/// Scrape until `pred` holds, at most `within`: the agent follows Docker asynchronously and says nothing
/// when it has caught up, so the condition itself is polled.
pub fn scrape_until(
    port: u16,
    within: Duration,
    what: &str,
    pred: impl Fn(&Exposition) -> bool,
) -> Exposition {
    let t = std::time::Instant::now();
    loop {
        let e = scrape(port);
        if pred(&e) {
            return e;
        }
        assert!(t.elapsed() < within, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
