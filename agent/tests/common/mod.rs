//! Shared helpers of the agent's integration tests: processes on free loopback ports, a plain HTTP GET, a
//! parser of the text exposition format, and the external tools the tests compare against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding an ephemeral port");
    l.local_addr().expect("local addr").port()
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

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
    pub port: u16,
    pub name: String,
}

impl Proc {
    /// Stop the process and return what it wrote to stderr.
    pub fn stop_and_stderr(mut self) -> String {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = self.child.wait();
        err
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `cmd` (which must listen on `port`) and wait until `/metrics`-like `ready_path` answers 200.
pub fn spawn_http(name: &str, mut cmd: Command, port: u16, ready_path: &str) -> Proc {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut p = Proc {
        child,
        port,
        name: name.to_string(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http_get(port, ready_path) {
            if r.status == 200 {
                return p;
            }
        }
        if let Ok(Some(status)) = p.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = p.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("{name} exited early ({status}): {err}");
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not answer on port {port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The agent binary built by cargo for this test.
pub fn agent_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hostlens-agent"))
}

/// An external tool: `$ENV_VAR`, else the first of `names` on PATH. Panics with the fix when absent:
/// `make test` installs every tool the tests need (scripts/test-deps.sh).
pub fn tool(env_var: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for n in names {
            let c = dir.join(n);
            if c.is_file() {
                return c;
            }
        }
    }
    panic!(
        "{} not found (set {env_var} or run `make test-deps`, which `make test` does first)",
        names.join(" / ")
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

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => v.parse().map_err(|_| format!("bad value {v:?}")),
    }
}

/// Parse the classic text exposition format (what node_exporter and the agent serve).
pub fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let mut e = Exposition::default();
    for (no, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", no + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (n, t) = rest.split_once(' ').ok_or_else(|| err("bad TYPE".into()))?;
            e.types.insert(n.to_string(), t.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(err("no value".into())),
        };
        let mut labels = BTreeMap::new();
        let rest = if let Some(mut r) = rest.strip_prefix('{') {
            loop {
                r = r.trim_start_matches(',');
                if let Some(after) = r.strip_prefix('}') {
                    break after;
                }
                let (k, after) = r.split_once("=\"").ok_or_else(|| err("bad label".into()))?;
                let mut val = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => val.push('\n'),
                            Some((_, c)) => val.push(c),
                            None => return Err(err("dangling escape".into())),
                        },
                        Some((i, '"')) => break i,
                        Some((_, c)) => val.push(c),
                        None => return Err(err("unterminated label value".into())),
                    }
                };
                labels.insert(k.to_string(), val);
                r = &after[end + 1..];
            }
        } else {
            rest
        };
        let value = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| err("no value".into()))?;
        e.series.push(Series {
            name: name.to_string(),
            labels,
            value: parse_value(value).map_err(err)?,
        });
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
