//! The collectors that talk to a daemon — ntp (an NTP server), supervisord (its XML-RPC interface), runit
//! (runsv's status files) — side by side with the real node_exporter 1.11.1 against the REAL daemon from
//! Debian, started by the test on temporary configuration:
//! - chronyd serving NTP on 127.0.0.1 and a spare UDP port (`local stratum 10`, `-x`: it never touches
//!   the clock);
//! - supervisord with four programs (running, never started, exited with status 3, starting) on a unix
//!   socket and on 127.0.0.1 TCP;
//! - runsv on two services of a temporary service directory (one up, one with a `down` file) and a symlink.
//!
//! For each, both exporters run with only that collector and the same flags; their node_ntp_* /
//! node_supervisord_* / node_service_* families must have the same HELP and TYPE lines, the same series
//! and the same values (ntp: the ones a second apart can move — offset, round trip, reference time — within
//! reason), and both must report node_scrape_collector_success 1; then again against a daemon that is not
//! there, where both report 0 and no series.
//!
//! The daemons come from `make test-deps` (Debian's chrony, supervisor and runit unpacked into
//! .cache/test-tools, not installed): `#[ignore = "needs …"]`, run by `make test`; without them the tests
//! fail naming the fix.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    agent_bin, http_get, parse_exposition, spawn_http, test_tools_dir, tool, Proc, ANY_PORT,
};

/// A daemon started by the test: SIGTERM on drop (so it stops what it supervises), SIGKILL if it lingers.
struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(name: &'static str, mut cmd: Command, log: PathBuf) -> Daemon {
        let out = std::fs::File::create(&log).expect("daemon log");
        let err = out.try_clone().expect("daemon log");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({cmd:?}): {e}"));
        Daemon { name, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fail with the daemon's log if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("{} exited ({st}):\n{}", self.name, self.log());
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory for one test.
fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostlens-daemons-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A file from `make test-deps`' unpacked Debian packages, or the fix.
fn test_tool(relative: &str, package: &str) -> PathBuf {
    let p = test_tools_dir()
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join(relative))
        .expect("test-tools root");
    assert!(
        p.exists(),
        "prerequisite missing: {} (Debian's {package}, unpacked by `make test-deps`, which `make test` runs \
         first)",
        p.display()
    );
    p
}

/// The reference node_exporter, checked to be 1.11.x.
fn node_exporter() -> PathBuf {
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let out = Command::new(&ne)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{} --version: {e}", ne.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("version 1.11."),
        "{} is not node_exporter 1.11.x ({text}): run `make test-deps`",
        ne.display()
    );
    ne
}

/// Both exporters with only `collector` and `flags`.
fn start_both(collector: &str, flags: &[String]) -> (Proc, Proc) {
    let mut ne = Command::new(node_exporter());
    ne.arg(ANY_PORT)
        .arg("--collector.disable-defaults")
        .arg(format!("--collector.{collector}"))
        .args(flags);
    let ne = spawn_http("node_exporter", ne, "/metrics");
    let mut ours = Command::new(agent_bin());
    ours.arg(ANY_PORT)
        .arg("--collector.disable-defaults")
        .arg(format!("--collector.{collector}"))
        .args(flags);
    let ours = spawn_http("agent", ours, "/healthz");
    (ne, ours)
}

/// One scrape of a family: its HELP and TYPE lines, its series (`name{labels}` → value) and the
/// collector's node_scrape_collector_success.
struct Scrape {
    meta: BTreeSet<String>,
    series: BTreeMap<String, f64>,
    success: Option<f64>,
}

fn scrape_family(port: u16, prefix: &str, collector: &str) -> Scrape {
    let r = http_get(port, "/metrics").unwrap_or_else(|e| panic!("scraping port {port}: {e}"));
    assert_eq!(r.status, 200, "scraping port {port}: {}", r.body);
    let meta = r
        .body
        .lines()
        .filter(|l| {
            l.strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .is_some_and(|rest| rest.starts_with(prefix))
        })
        .map(str::to_string)
        .collect();
    let e = parse_exposition(&r.body).unwrap_or_else(|e| panic!("parsing port {port}: {e}"));
    let series = e
        .series
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            (format!("{}{{{}}}", s.name, labels.join(",")), s.value)
        })
        .collect();
    let success = e.value("node_scrape_collector_success", &[("collector", collector)]);
    Scrape {
        meta,
        series,
        success,
    }
}

/// node_exporter's and ours, scraped one right after the other, with the same HELP/TYPE lines and series;
/// values compared by `tolerance(series) -> absolute tolerance`.
fn compare(
    ne: &Proc,
    ours: &Proc,
    prefix: &str,
    collector: &str,
    tolerance: impl Fn(&str) -> f64,
) -> Scrape {
    let theirs = scrape_family(ne.port, prefix, collector);
    let mine = scrape_family(ours.port, prefix, collector);
    println!("node_exporter's {collector}:");
    for (k, v) in &theirs.series {
        println!("  {k} {v}   (ours: {:?})", mine.series.get(k));
    }
    assert_eq!(
        theirs.meta, mine.meta,
        "{collector}: HELP/TYPE lines differ (left node_exporter's, right ours)"
    );
    let keys = |s: &Scrape| s.series.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        keys(&theirs),
        keys(&mine),
        "{collector}: series differ (left node_exporter's, right ours)"
    );
    for (k, v) in &theirs.series {
        let o = mine.series[k];
        let tol = tolerance(k);
        assert!(
            (v - o).abs() <= tol,
            "{collector}: {k}: node_exporter {v}, ours {o} (tolerance {tol})"
        );
    }
    assert_eq!(
        theirs.success,
        Some(1.0),
        "node_exporter's {collector} failed"
    );
    assert_eq!(mine.success, Some(1.0), "our {collector} failed");
    theirs
}

/// Both exporters on a daemon that is not there: success 0, no series.
fn both_fail(collector: &str, prefix: &str, flags: &[String]) {
    let (ne, ours) = start_both(collector, flags);
    for (who, p) in [("node_exporter", &ne), ("ours", &ours)] {
        let s = scrape_family(p.port, prefix, collector);
        assert_eq!(s.success, Some(0.0), "{who}'s {collector} with {flags:?}");
        assert!(s.series.is_empty(), "{who}: {:?}", s.series);
    }
}

/// Both exporters refuse to start with `flags` (node_exporter panics setting up the collector, ours exits
/// with the error).
fn both_refuse(collector: &str, flags: &[&str]) {
    for (who, bin) in [("node_exporter", node_exporter()), ("ours", agent_bin())] {
        let mut c = Command::new(&bin);
        c.arg(ANY_PORT)
            .arg("--collector.disable-defaults")
            .arg(format!("--collector.{collector}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap_or_else(|e| panic!("starting {who}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{who} started with {flags:?}; node_exporter refuses to");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success(), "{who} with {flags:?}: {status}");
    }
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A UDP port on 127.0.0.1 that was free a moment ago (chronyd cannot be told to pick one and say it).
fn spare_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.local_addr().expect("addr").port()
}

/// chronyd serving NTP on 127.0.0.1:`port` from its local clock, stratum 10, never adjusting the clock.
fn start_chronyd(dir: &Path, port: u16) -> Daemon {
    let conf = dir.join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbindaddress 127.0.0.1\ncmdport 0\nlocal stratum 10\nallow 127.0.0.1\n\
             pidfile {}\ndriftfile {}\n",
            dir.join("chronyd.pid").display(),
            dir.join("drift").display()
        ),
    )
    .expect("chrony.conf");
    let mut c = Command::new(test_tool("usr/sbin/chronyd", "chrony"));
    c.args(["-x", "-d", "-f"]).arg(&conf);
    if common::is_root() {
        c.args(["-u", "root"]);
    } else {
        c.arg("-U");
    }
    Daemon::start("chronyd", c, dir.join("chronyd.log"))
}

/// Whether chronyd answers on `port` as a synchronised stratum-10 server (our own SNTP client asks).
fn chrony_serves(port: u16) -> bool {
    use hostlens_collectors::node::ntp;
    matches!(
        ntp::query("127.0.0.1", i64::from(port), 4, 1, Duration::from_millis(300)),
        Ok((h, _, _)) if h.stratum == 10 && h.leap() != ntp::LEAP_NOT_IN_SYNC
    )
}

#[test]
#[ignore = "needs node_exporter and Debian's chrony (make test-deps)"]
fn ntp_matches_node_exporter_on_chronyd() {
    let dir = tempdir("ntp");
    let mut attempt = 0;
    let (mut chronyd, port) = loop {
        let port = spare_udp_port();
        let mut d = start_chronyd(&dir, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !chrony_serves(port) {
            d.assert_running();
            std::thread::sleep(Duration::from_millis(200));
        }
        if chrony_serves(port) {
            break (d, port);
        }
        attempt += 1;
        assert!(
            attempt < 3,
            "chronyd does not serve NTP on 127.0.0.1:{port}:\n{}",
            d.log()
        );
    };
    let flags = [format!("--collector.ntp.server-port={port}")];
    let (ne, ours) = start_both("ntp", &flags);
    let theirs = compare(&ne, &ours, "node_ntp_", "ntp", |k| {
        if k.starts_with("node_ntp_offset_seconds") || k.starts_with("node_ntp_rtt_seconds") {
            0.01
        } else if k.starts_with("node_ntp_reference_timestamp_seconds") {
            // chronyd's local reference is refreshed as it runs.
            120.0
        } else {
            0.0
        }
    });
    assert_eq!(theirs.series.get("node_ntp_stratum{}"), Some(&10.0));
    assert_eq!(theirs.series.get("node_ntp_sanity{}"), Some(&1.0));
    // Protocol version 3 and another TTL, to the same server.
    let flags = [
        format!("--collector.ntp.server-port={port}"),
        "--collector.ntp.protocol-version=3".into(),
        "--collector.ntp.ip-ttl=2".into(),
    ];
    let (ne3, ours3) = start_both("ntp", &flags);
    compare(&ne3, &ours3, "node_ntp_", "ntp", |k| {
        if k.starts_with("node_ntp_stratum") || k.starts_with("node_ntp_leap") {
            0.0
        } else if k.starts_with("node_ntp_reference_timestamp_seconds") {
            120.0
        } else {
            0.01
        }
    });
    // A host name, certified local: both resolve it (to 127.0.0.1: Go prefers IPv4).
    let flags = [
        format!("--collector.ntp.server-port={port}"),
        "--collector.ntp.server=localhost".into(),
        "--collector.ntp.server-is-local".into(),
    ];
    let (ne_name, ours_name) = start_both("ntp", &flags);
    compare(&ne_name, &ours_name, "node_ntp_", "ntp", |k| {
        if k.starts_with("node_ntp_stratum") || k.starts_with("node_ntp_leap") {
            0.0
        } else if k.starts_with("node_ntp_reference_timestamp_seconds") {
            120.0
        } else {
            0.01
        }
    });
    chronyd.assert_running();
    drop(chronyd);
    // What node_exporter refuses at start: a server that is not a loopback address (unless certified
    // local), a protocol version other than 2–4, a negative tolerance, a port out of range.
    for bad in [
        &["--collector.ntp.server=192.0.2.1"][..],
        &["--collector.ntp.server=localhost"],
        &["--collector.ntp.protocol-version=5"],
        &["--collector.ntp.local-offset-tolerance=-1ms"],
        &["--collector.ntp.server-port=65536"],
    ] {
        both_refuse("ntp", bad);
    }
    // The server gone: nobody answers on the port.
    both_fail(
        "ntp",
        "node_ntp_",
        &[format!("--collector.ntp.server-port={port}")],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// supervisord's Python modules and the interpreter that runs them.
fn supervisord_command(conf: &Path) -> Command {
    let script = test_tool("usr/bin/supervisord", "supervisor");
    let modules = test_tool("usr/lib/python3/dist-packages", "supervisor");
    let python = PathBuf::from("/usr/bin/python3");
    assert!(
        python.is_file(),
        "prerequisite missing: /usr/bin/python3 (Debian's python3, which `make test-deps` installs)"
    );
    let mut c = Command::new(python);
    c.arg(script)
        .arg("-n")
        .arg("-c")
        .arg(conf)
        .env("PYTHONPATH", modules);
    c
}

#[test]
#[ignore = "needs node_exporter and Debian's supervisor (make test-deps)"]
fn supervisord_matches_node_exporter_on_supervisord() {
    let dir = tempdir("supervisord");
    let sock = dir.join("supervisor.sock");
    let tcp_port = spare_tcp_port();
    let conf = dir.join("supervisord.conf");
    std::fs::write(
        &conf,
        format!(
            "[unix_http_server]\nfile={sock}\n\n\
             [inet_http_server]\nport=127.0.0.1:{tcp_port}\n\n\
             [supervisord]\nlogfile={dir}/supervisord.log\npidfile={dir}/supervisord.pid\n\
             childlogdir={dir}\nuser={user}\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [program:web]\ncommand=sleep 600\nstartsecs=1\n\n\
             [program:idle]\ncommand=sleep 600\nautostart=false\n\n\
             [program:oneshot]\ncommand=sh -c \"exit 3\"\nstartsecs=0\nautorestart=false\n\n\
             [program:slow]\ncommand=sleep 600\nstartsecs=500\n\n\
             [program:pool]\ncommand=sleep 600\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)d\n\
             startsecs=1\n",
            sock = sock.display(),
            dir = dir.display(),
            user = if common::is_root() { "root" } else { "" },
        )
        .replace("user=\n", ""),
    )
    .expect("supervisord.conf");
    let mut sup = Daemon::start(
        "supervisord",
        supervisord_command(&conf),
        dir.join("supervisord.out"),
    );
    let unix_flag = vec![format!(
        "--collector.supervisord.url=unix://{}",
        sock.display()
    )];
    // Wait until the programs settle: web and pool RUNNING, oneshot EXITED, slow STARTING.
    let (ne, ours) = {
        wait_for("supervisord's socket", Duration::from_secs(20), || {
            sup.assert_running();
            sock.exists()
        });
        start_both("supervisord", &unix_flag)
    };
    wait_for("the programs to settle", Duration::from_secs(20), || {
        let s = scrape_family(ne.port, "node_supervisord_", "supervisord");
        let state = |n: &str, g: &str| {
            s.series
                .get(&format!("node_supervisord_state{{group={g:?},name={n:?}}}"))
                .copied()
        };
        state("web", "web") == Some(20.0)
            && state("pool_0", "pool") == Some(20.0)
            && state("pool_1", "pool") == Some(20.0)
            && state("oneshot", "oneshot") == Some(100.0)
            && state("slow", "slow") == Some(10.0)
            && state("idle", "idle") == Some(0.0)
    });
    let theirs = compare(&ne, &ours, "node_supervisord_", "supervisord", |_| 0.0);
    assert_eq!(
        theirs
            .series
            .get("node_supervisord_exit_status{group=\"oneshot\",name=\"oneshot\"}"),
        Some(&3.0)
    );
    // The same over TCP.
    let tcp_flag = vec![format!(
        "--collector.supervisord.url=http://127.0.0.1:{tcp_port}/RPC2"
    )];
    let (ne_tcp, ours_tcp) = start_both("supervisord", &tcp_flag);
    compare(
        &ne_tcp,
        &ours_tcp,
        "node_supervisord_",
        "supervisord",
        |_| 0.0,
    );
    // A path supervisord does not serve: an HTTP error.
    both_fail(
        "supervisord",
        "node_supervisord_",
        &[format!(
            "--collector.supervisord.url=http://127.0.0.1:{tcp_port}/nothing"
        )],
    );
    sup.assert_running();
    drop(sup);
    both_fail("supervisord", "node_supervisord_", &unix_flag);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP port on 127.0.0.1 that was free a moment ago (supervisord's inet_http_server needs a number).
fn spare_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    l.local_addr().expect("addr").port()
}

/// runsv on `service`, stopped on drop by writing `d` then `x` to its control FIFO (service down, runsv
/// exits), so the supervised process does not outlive the test.
struct Runsv(Daemon, PathBuf);

impl Drop for Runsv {
    fn drop(&mut self) {
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(self.1.join("supervise/control"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"dx"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
#[ignore = "needs node_exporter and Debian's runit (make test-deps)"]
fn runit_matches_node_exporter_on_runsv() {
    let dir = tempdir("runit");
    let services = dir.join("service");
    let runsv = test_tool("usr/bin/runsv", "runit");
    let mut running = Vec::new();
    for (name, down) in [("web", false), ("cron", true)] {
        let s = services.join(name);
        std::fs::create_dir_all(&s).expect("service dir");
        let run = s.join("run");
        std::fs::write(&run, "#!/bin/sh\nexec sleep 600\n").expect("run");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        if down {
            std::fs::write(s.join("down"), "").expect("down");
        }
        let mut c = Command::new(&runsv);
        c.arg(&s);
        running.push(Runsv(
            Daemon::start("runsv", c, dir.join(format!("runsv-{name}.log"))),
            s,
        ));
    }
    std::os::unix::fs::symlink("web", services.join("link")).expect("symlink");
    // A service directory runsv never ran (skipped by both) and a plain file (not a service).
    std::fs::create_dir_all(services.join("never")).expect("mkdir");
    std::fs::write(services.join("README"), "not a service\n").expect("file");
    wait_for("runsv's status files", Duration::from_secs(20), || {
        let st = |n: &str| std::fs::metadata(services.join(n).join("supervise/status"));
        st("web").is_ok_and(|m| m.len() == 20) && st("cron").is_ok_and(|m| m.len() == 20)
    });
    // web's run has started (state 1, pid set) by the time the status says so.
    wait_for("web to be up", Duration::from_secs(20), || {
        std::fs::read(services.join("web/supervise/status"))
            .is_ok_and(|b| b.len() == 20 && b[19] == 1)
    });
    let flags = [format!(
        "--collector.runit.servicedir={}",
        services.display()
    )];
    let (ne, ours) = start_both("runit", &flags);
    let theirs = compare(&ne, &ours, "node_service_", "runit", |_| 0.0);
    let v = |m: &str, s: &str| {
        theirs
            .series
            .get(&format!("{m}{{service={s:?},supervisor=\"runit\"}}"))
            .copied()
    };
    assert_eq!(v("node_service_state", "web"), Some(1.0));
    assert_eq!(v("node_service_state", "link"), Some(1.0));
    assert_eq!(v("node_service_state", "cron"), Some(0.0));
    assert_eq!(v("node_service_desired_state", "cron"), Some(0.0));
    assert_eq!(v("node_service_state", "never"), None);
    drop(running);
    both_fail(
        "runit",
        "node_service_",
        &[format!(
            "--collector.runit.servicedir={}",
            dir.join("absent").display()
        )],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
