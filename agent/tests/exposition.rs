//! The output layer against the real node_exporter: both serve the same textfile directory (node_exporter
//! with only its textfile collector, the agent with only its own), and the families read from the files
//! must be byte for byte the same text — types (a counter without `_total`, a summary, a histogram,
//! untyped), HELP and label escaping, client_golang's sort order of families, series and label pairs, Go's
//! float formatting. Then both serve a textfile that repeats `node_load1` beside the loadavg collector: each
//! serves one `node_load1`, and the agent counts the dropped repeat for the textfile collector. Also: gzip,
//! and `collect[]` / `exclude[]`.
//!
//! Needs node_exporter from `make test-deps`: `#[ignore]`d for a plain `cargo test`; `make test` runs them.

mod common;

use std::io::Read;
use std::process::Command;

use common::{agent_bin, http_get, spawn_http, tool, ANY_PORT};

const TEXTFILE: &str = r#"# HELP c_no_total A counter without _total, as cAdvisor's container_memory_failcnt.
# TYPE c_no_total counter
c_no_total{b="2",a="1"} 3
c_no_total{a="0",b="9"} 1e6
c_no_total{a="10",b="1"} 18446744073709551615
# TYPE s summary
s{quantile="0.99"} 1795565299
s{quantile="0.5"} 0.1
s_sum 2.5e-7
s_count 10
# HELP h A histogram.
# TYPE h histogram
h_bucket{x="a",le="0.1"} 2
h_bucket{x="a",le="1"} 5
h_bucket{x="a",le="+Inf"} 6
h_sum{x="a"} 2.5
h_count{x="a"} 6
# HELP g A gauge with "quotes", a \\ backslash and a\nnewline.
# TYPE g gauge
g{path="C:\\dir",msg="say \"hi\"\nbye"} -0.000001
g{path="z"} 0.30000000000000004
g{path="a",msg=""} -0
g{path="m"} 123456.789
untyped_one 12345678
zz_first_in_file 1
"#;

/// The text of the families named `names` in an exposition, in its order.
fn blocks(text: &str, names: &[&str]) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            keep = names.iter().any(|n| rest.split(' ').next() == Some(n));
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn node_exporter(args: &[String]) -> (common::Proc, u16) {
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let mut c = Command::new(ne);
    c.arg(ANY_PORT).args(args);
    let p = spawn_http("node_exporter", c, "/metrics");
    let port = p.port;
    (p, port)
}

fn agent(args: &[String]) -> (common::Proc, u16) {
    let mut c = Command::new(agent_bin());
    c.arg(ANY_PORT)
        .args(["--no-collector.ebpf", "--no-collector.container"])
        .args(args);
    let p = spawn_http("agent", c, "/healthz");
    let port = p.port;
    (p, port)
}

fn textfile_dir(content: &str) -> tempdir::Dir {
    let d = tempdir::Dir::new("exposition");
    std::fs::write(d.path().join("t.prom"), content).expect("writing the textfile");
    d
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory under the target dir, removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "hostlens-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("creating a temporary directory");
            Dir(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
#[ignore = "needs node_exporter (make test-deps)"]
fn textfile_families_are_byte_for_byte_node_exporters() {
    let dir = textfile_dir(TEXTFILE);
    let flags = vec![
        "--collector.disable-defaults".to_string(),
        "--collector.textfile".to_string(),
        format!("--collector.textfile.directory={}", dir.path().display()),
    ];
    let (_ne, ne_port) = node_exporter(&flags);
    let (_ag, ag_port) = agent(&flags);
    let theirs = http_get(ne_port, "/metrics")
        .expect("scraping node_exporter")
        .body;
    let ours = http_get(ag_port, "/metrics")
        .expect("scraping the agent")
        .body;
    let names = [
        "c_no_total",
        "g",
        "h",
        "node_textfile_mtime_seconds",
        "node_textfile_scrape_error",
        "s",
        "untyped_one",
        "zz_first_in_file",
    ];
    let (t, o) = (blocks(&theirs, &names), blocks(&ours, &names));
    assert!(
        t.lines().filter(|l| l.starts_with("# TYPE")).count() == names.len(),
        "node_exporter did not serve every family of the textfile:\n{t}"
    );
    println!("node_exporter's encoding of the textfile, which ours equals:\n{t}");
    assert_eq!(
        o, t,
        "our encoding differs from node_exporter's (left: ours, right: node_exporter's)"
    );
}

#[test]
#[ignore = "needs node_exporter (make test-deps)"]
fn a_textfile_repeating_a_builtin_series_is_served_once() {
    let dir = textfile_dir("node_load1 42\n");
    let flags = vec![
        "--collector.disable-defaults".to_string(),
        "--collector.loadavg".to_string(),
        "--collector.textfile".to_string(),
        format!("--collector.textfile.directory={}", dir.path().display()),
    ];
    let (_ne, ne_port) = node_exporter(&flags);
    let (ag, ag_port) = agent(&flags);
    let count = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("node_load1 "))
            .count()
    };
    let theirs = http_get(ne_port, "/metrics")
        .expect("scraping node_exporter")
        .body;
    assert_eq!(count(&theirs), 1, "node_exporter: {theirs}");
    let ours = http_get(ag_port, "/metrics")
        .expect("scraping the agent")
        .body;
    assert_eq!(count(&ours), 1, "agent: {ours}");
    // The loadavg collector runs first; the textfile's repeat is the one dropped.
    assert!(!ours.contains("node_load1 42\n"), "{ours}");
    assert!(ours.contains(
        "hostlens_scrape_collector_dropped_samples_total{collector=\"textfile\",family=\"node\"} 1\n"
    ));
    let log = ag.stop_and_stderr();
    assert!(
        log.contains("textfile") && log.contains("node_load1"),
        "the log names neither the collector nor the family: {log}"
    );
}

#[test]
fn gzip_and_collector_selection() {
    let (_ag, port) = agent(&[]);
    let plain = http_get(port, "/metrics?collect[]=loadavg&collect[]=uname")
        .expect("scraping")
        .body;
    assert!(plain.contains("\nnode_load1 "));
    assert!(plain.contains("node_uname_info{"));
    assert!(!plain.contains("node_memory_MemTotal_bytes"));
    assert!(plain.contains("node_scrape_collector_success{collector=\"loadavg\"} 1\n"));
    assert!(!plain.contains("collector=\"meminfo\""));
    let excl = http_get(port, "/metrics?exclude[]=meminfo")
        .expect("scraping")
        .body;
    assert!(!excl.contains("node_memory_MemTotal_bytes"));
    assert!(excl.contains("\nnode_load1 "));
    let both = http_get(port, "/metrics?collect[]=cpu&exclude[]=meminfo").expect("scraping");
    assert_eq!(both.status, 400);
    assert!(both
        .body
        .contains("Combined collect and exclude queries are not allowed."));
    let unknown = http_get(port, "/metrics?collect[]=nope").expect("scraping");
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body.contains("missing collector: nope"),
        "{}",
        unknown.body
    );

    // gzip, as Prometheus asks for it.
    let (code, head, raw) = get_with(
        port,
        "/metrics?collect[]=uname",
        "Accept-Encoding: gzip\r\n",
    );
    assert_eq!(code, 200);
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let mut body = String::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_string(&mut body)
        .expect("a gzip body");
    assert!(body.contains("node_uname_info{"), "{body}");
}

/// Sample lines (`name{labels}`) that occur more than once.
fn repeated_series(text: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some((series, _)) = l.rsplit_once(' ') {
            *seen.entry(series).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// A sysfs tree with one hwmon directory per `(dir, name, temp1_input)`.
fn hwmon_sysfs(tag: &str, chips: &[(&str, &str, &str)]) -> tempdir::Dir {
    let sys = tempdir::Dir::new(tag);
    for (chip, name, milli) in chips {
        let d = sys.path().join("class/hwmon").join(chip);
        std::fs::create_dir_all(&d).expect("creating the hwmon fixture");
        std::fs::write(d.join("name"), format!("{name}\n")).expect("writing name");
        std::fs::write(d.join("temp1_input"), format!("{milli}\n")).expect("writing temp1_input");
    }
    sys
}

/// `agent --once` with only the hwmon collector over `sys`; `agent` is the agent's command (or a wrapper
/// that runs it, such as setpriv).
fn hwmon_once(mut agent: Command, sys: &tempdir::Dir) -> std::process::Output {
    agent
        .args([
            "--once",
            "--no-collector.ebpf",
            "--no-collector.container",
            "--collector.disable-defaults",
            "--collector.hwmon",
        ])
        .arg(format!("--path.sysfs={}", sys.path().display()))
        .output()
        .expect("running the agent")
}

#[test]
fn two_hwmon_chips_with_one_name_never_give_duplicate_series() {
    let sys = hwmon_sysfs(
        "hwmon-dup",
        &[
            ("hwmon0", "ieee80211_phy0", "42000"),
            ("hwmon1", "ieee80211_phy0", "43000"),
        ],
    );
    let out = hwmon_once(Command::new(agent_bin()), &sys);
    let text = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert_eq!(repeated_series(&text), Vec::<String>::new(), "{text}");
    let temps: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("node_hwmon_temp_celsius{"))
        .collect();
    // node_exporter 1.12 (#3646) makes the chip labels of chips that share a name unique: both chips' series
    // are served, under two chip labels, and nothing is dropped.
    assert_eq!(temps.len(), 2, "{text}");
    let chip = |l: &str| {
        l.split("chip=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string)
    };
    assert_ne!(chip(temps[0]), chip(temps[1]), "{text}");
    assert!(
        !text.contains("hostlens_scrape_collector_dropped_samples_total{collector=\"hwmon\""),
        "{text}"
    );
}

/// GET with extra request headers; the status line's code, the lower-cased headers and the body.
fn get_with(port: u16, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n{extra}\r\n").expect("sending");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head, raw[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
#[ignore = "needs node_exporter (make test-deps)"]
fn http_answers_as_node_exporters() {
    let flags = vec![
        "--collector.disable-defaults".to_string(),
        "--collector.loadavg".to_string(),
    ];
    let (_ne, ne) = node_exporter(&flags);
    let (_ag, ag) = agent(&flags);
    const PROM3_ACCEPT: &str = "Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2\r\n";
    for (what, path, extra) in [
        ("a plain GET", "/metrics", ""),
        ("Prometheus 3's Accept", "/metrics", PROM3_ACCEPT),
        ("gzip", "/metrics", "Accept-Encoding: gzip\r\n"),
        ("an unknown collector", "/metrics?collect[]=nope", ""),
        ("a disabled collector", "/metrics?collect[]=cpu", ""),
        (
            "collect[] with exclude[]",
            "/metrics?collect[]=loadavg&exclude[]=cpu",
            "",
        ),
    ] {
        let (tc, th, tb) = get_with(ne, path, extra);
        let (oc, oh, ob) = get_with(ag, path, extra);
        assert_eq!(oc, tc, "{what}: status");
        if tc == 200 {
            assert_eq!(
                header(&oh, "content-type"),
                header(&th, "content-type"),
                "{what}: Content-Type"
            );
            assert_eq!(
                header(&oh, "content-encoding"),
                header(&th, "content-encoding"),
                "{what}: Content-Encoding"
            );
        } else {
            assert_eq!(
                String::from_utf8_lossy(&ob).trim(),
                String::from_utf8_lossy(&tb).trim(),
                "{what}: body"
            );
        }
        println!(
            "{what}: {tc}, {}",
            header(&th, "content-type").unwrap_or("(no content-type)")
        );
    }
}

/// What one hwmon chip's collector sent before another chip failed is served, as node_exporter serves what a
/// collector sent: chip b's directory cannot be listed (mode 0311, the agent runs as `nobody`: root reads
/// everything, so the test needs root to run the agent as another user), chip a's series stay.
#[test]
#[ignore = "needs root (to run the agent as another user)"]
fn a_failing_hwmon_chip_keeps_the_other_chips_series() {
    use std::os::unix::fs::PermissionsExt;
    common::require_root("running the agent as nobody with setpriv");
    let sys = hwmon_sysfs(
        "hwmon-partial",
        &[("hwmon0", "chipa", "42000"), ("hwmon1", "chipb", "43000")],
    );
    let unreadable = sys.path().join("class/hwmon/hwmon1");
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o311))
        .expect("chmod 0311");
    let mut nobody = Command::new("setpriv");
    nobody
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(agent_bin());
    let out = hwmon_once(nobody, &sys);
    let text = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("node_hwmon_temp_celsius{chip=\"chipa\",sensor=\"temp1\"} 42\n"),
        "chip a's series were lost with chip b's failure:\n{text}\n{log}"
    );
    assert!(!text.contains("chip=\"chipb\",sensor"), "{text}");
    assert!(text.contains("node_scrape_collector_success{collector=\"hwmon\"} 0\n"));
    assert!(
        log.contains("hwmon1") && log.contains("Permission denied"),
        "the log does not name the chip and the cause: {log}"
    );
    // `--once` exits non-zero when a collector failed hard.
    assert!(!out.status.success());
}
