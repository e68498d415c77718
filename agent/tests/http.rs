//! The agent's HTTP endpoint and its one-shot mode, for real: the binary on a loopback port, checked by
//! Prometheus' own `promtool check metrics` (those tests need the tools `make test-deps` unpacks and are
//! marked `#[ignore]`; `make test` runs them).

mod common;

use std::process::Command;

use common::{
    agent_bin, http_get, listen_address, parse_exposition, refused_port, spawn_http, tool, ANY_PORT,
};

/// `promtool check metrics` on `text`: (exit code, the set of lint complaints). Exit 0 is clean, 3 is "lint
/// problems only" (parse errors exit 1).
fn promtool_check_metrics(text: &str) -> (i32, std::collections::BTreeSet<String>) {
    let (code, msg) = common::promtool_check_metrics(text);
    assert!(
        code == 0 || code == 3,
        "promtool check metrics rejected the output ({code}): {msg}"
    );
    (code, msg.lines().map(str::to_string).collect())
}

/// The complaints promtool's linter makes about node_exporter's own output on this host: names like
/// `node_memory_Active_bytes` or `node_entropy_available_bits` that every node_exporter dashboard uses, which
/// the linter dislikes. Ours may draw those complaints and no other.
fn node_exporter_lint() -> std::collections::BTreeSet<String> {
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let mut c = Command::new(ne);
    c.arg(ANY_PORT);
    let ne = spawn_http("node_exporter", c, "/metrics");
    let body = http_get(ne.port, "/metrics")
        .expect("scraping node_exporter")
        .body;
    promtool_check_metrics(&body).1
}

/// Complaints cAdvisor's own names draw (cAdvisor 0.60 `metrics/prometheus.go` types this counter without
/// `_total`, and labels its version info `cadvisorVersion`, `dockerVersion`, …); cAdvisor cannot run here, so
/// they are listed.
const CADVISOR_LINT: &[&str] = &[
    "container_memory_failcnt counter metrics should have \"_total\" suffix",
    "cadvisor_version_info label names should be written in 'snake_case' not 'camelCase'",
];

fn assert_lint_clean_but_for_upstream_names(text: &str) {
    let (code, ours) = promtool_check_metrics(text);
    let mut upstream = node_exporter_lint();
    upstream.extend(CADVISOR_LINT.iter().map(|s| s.to_string()));
    let extra: Vec<&String> = ours.difference(&upstream).collect();
    println!(
        "promtool check metrics: exit {code}; {} lint complaint(s), all also made about node_exporter's own names",
        ours.len()
    );
    assert!(
        extra.is_empty(),
        "promtool complaints about ours that node_exporter does not draw: {extra:#?}"
    );
}

#[test]
fn serves_metrics_healthz_and_index() {
    let mut c = Command::new(agent_bin());
    c.arg(ANY_PORT);
    let agent = spawn_http("agent", c, "/healthz");
    let port = agent.port;

    let m = http_get(port, "/metrics").unwrap();
    assert_eq!(m.status, 200);
    assert_eq!(
        m.headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let e = parse_exposition(&m.body).unwrap();
    assert!(
        e.value("node_load1", &[]).is_some(),
        "no node_load1 in {}",
        m.body
    );
    assert!(e.value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert_eq!(
        e.value(
            "hostlens_scrape_collector_success",
            &[("collector", "loadavg")]
        ),
        Some(1.0)
    );

    let h = http_get(port, "/healthz").unwrap();
    assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
    let i = http_get(port, "/").unwrap();
    assert_eq!(i.status, 200);
    assert!(i.body.contains("href=\"/metrics\""));
    assert_eq!(http_get(port, "/nope").unwrap().status, 404);

    // The container healthcheck: healthy against this agent (asked on loopback for 0.0.0.0), unhealthy
    // against a port that refuses connections.
    let ok = Command::new(agent_bin())
        .args([
            "--health-check",
            &format!("--web.listen-address=0.0.0.0:{port}"),
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let (_held, refused) = refused_port();
    let bad = Command::new(agent_bin())
        .args([
            "--health-check",
            &format!("--web.listen-address=127.0.0.1:{refused}"),
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unhealthy"));
}

fn once_text() -> String {
    let out = Command::new(agent_bin()).arg("--once").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "agent --once failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn once_prints_a_scrape() {
    let text = once_text();
    assert!(text.contains("# TYPE node_load1 gauge"));
    let e = parse_exposition(&text).unwrap();
    assert!(e.value("node_load1", &[]).is_some());
}

#[test]
#[ignore = "needs promtool and node_exporter (make test-deps)"]
fn once_prints_a_scrape_promtool_accepts() {
    assert_lint_clean_but_for_upstream_names(&once_text());
}

#[test]
#[ignore = "needs promtool and node_exporter (make test-deps)"]
fn served_metrics_pass_promtool() {
    let mut c = Command::new(agent_bin());
    c.arg(ANY_PORT);
    let agent = spawn_http("agent", c, "/healthz");
    let m = http_get(agent.port, "/metrics").unwrap();
    assert_eq!(m.status, 200);
    assert_lint_clean_but_for_upstream_names(&m.body);
}

#[test]
fn listen_addresses_are_read_from_both_logs() {
    let want: std::net::SocketAddr = "127.0.0.1:41234".parse().unwrap();
    for line in [
        // The agent (tracing's fmt, colours or not).
        "2026-12-01T12:00:00.000000Z  \x1b[32m INFO\x1b[0m listening on http://127.0.0.1:41234/metrics",
        // node_exporter 1.5 (go-kit log) and 1.11 (slog), exporter-toolkit's line.
        "ts=2026-12-01T12:12:31.277Z caller=tls_config.go:232 level=info msg=\"Listening on\" address=127.0.0.1:41234",
        "time=2026-12-01T12:12:31.277Z level=INFO source=tls_config.go:347 msg=\"Listening on\" address=127.0.0.1:41234",
    ] {
        assert_eq!(listen_address(line), Some(want), "{line}");
    }
    assert_eq!(
        listen_address("msg=\"TLS is disabled.\" http2=false address=127.0.0.1:41234"),
        None
    );
    assert_eq!(
        listen_address("listening on [::]:9100 (another process on that port?)"),
        None
    );
}

#[test]
fn once_exits_nonzero_when_a_collector_fails_hard() {
    let dir = std::env::temp_dir().join(format!("hostlens-badproc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("/proc/stat", dir.join("stat")).unwrap();
    std::fs::write(dir.join("loadavg"), "garbage\n").unwrap();
    let out = Command::new(agent_bin())
        .args([
            "--once",
            "--collector.disable-defaults",
            "--collector.loadavg",
        ])
        .arg(format!("--path.procfs={}", dir.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("collector loadavg FAILED"), "{stderr}");
    assert!(
        stderr.contains(&dir.join("loadavg").display().to_string()),
        "{stderr}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("node_scrape_collector_success{collector=\"loadavg\"} 0"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_and_roots_get_clear_errors() {
    let out = Command::new(agent_bin())
        .args(["--once", "--path.procfs=/nonexistent"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--path.procfs /nonexistent"), "{e}");

    let out = Command::new(agent_bin())
        .args(["--web.listen-address", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP:port"));

    // A port in use: a clear message naming the flag, not a panic.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = Command::new(agent_bin())
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("Address already in use") && e.contains("--web.listen-address"),
        "{e}"
    );
}
