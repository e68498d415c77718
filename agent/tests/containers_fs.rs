#![cfg(feature = "container")]
//! Container filesystem usage (`container_fs_usage_bytes` and its siblings) against a real Docker container
//! writing to its writable layer. Needs a reachable Docker daemon and the local image
//! `hostlens-test/base:bookworm` (`scripts/images.sh base`): `#[ignore = "needs Docker"]`, `make test` runs it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{agent_bin, docker, docker_ok, scrape_until, spawn_http, Exposition, ANY_PORT};

const IMAGE: &str = common::BASE_IMAGE;
const MIB: f64 = 1024.0 * 1024.0;
const NAME: &str = "hostlens-test-fs-usage";

struct Container(&'static str);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", self.0]);
    }
}

fn fs(e: &Exposition, metric: &str) -> Option<(String, f64)> {
    e.series
        .iter()
        .find(|s| s.name == metric && s.labels.get("name").map(String::as_str) == Some(NAME))
        .map(|s| (s.labels.get("device").cloned().unwrap_or_default(), s.value))
}

/// `df`'s view of the filesystem holding `path`: (source, size in bytes).
fn df(path: &str) -> (String, f64) {
    let o = Command::new("df")
        .args(["-B1", "--output=source,size", path])
        .output()
        .expect("running df");
    assert!(o.status.success(), "df {path}: {o:?}");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let line = text.lines().nth(1).expect("df prints a line");
    let mut f = line.split_whitespace();
    let source = f.next().expect("source").to_string();
    let size: f64 = f.next().expect("size").parse().expect("a number");
    (source, size)
}

/// `du`'s view (apparent blocks, bytes) of a directory: the independent check of the walk.
fn du(path: &str) -> f64 {
    let o = Command::new("du")
        .args(["-s", "-B1", "-x", path])
        .output()
        .expect("running du");
    assert!(o.status.success(), "du {path}: {o:?}");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("du prints a number")
}

#[test]
#[ignore = "needs Docker"]
fn writing_20_mib_to_the_writable_layer_grows_container_fs_usage_bytes_by_20_mib() {
    let v = docker(&["info", "--format", "{{.Driver}} {{.DockerRootDir}}"]);
    assert!(
        v.status.success(),
        "prerequisite missing: a running Docker daemon this user can reach: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let info = String::from_utf8_lossy(&v.stdout).trim().to_string();
    println!("docker storage driver and root: {info}");
    let _ = docker(&["rm", "-f", NAME]);
    docker_ok(&["run", "-d", "--name", NAME, IMAGE, "sleep", "600"]);
    let _guard = Container(NAME);
    let id = docker_ok(&["inspect", "-f", "{{.Id}}", NAME]);
    // Absent with the containerd image store (no GraphDriver): the agent finds the snapshot from the mounts,
    // the test then checks growth only.
    let upper = docker_ok(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", NAME]);
    let upper = Some(upper).filter(|u| u.starts_with('/'));
    if upper.is_none() {
        println!("SKIPPED: the df/du cross-checks (no GraphDriver.Data.UpperDir: containerd image store)");
    }
    let root = info.split_whitespace().nth(1).unwrap_or("/var/lib/docker");
    let logs = format!("{root}/containers/{id}");

    let mut c = Command::new(agent_bin());
    c.args([
        ANY_PORT,
        "--collector.disable-defaults",
        "--collector.container",
        "--no-collector.ebpf",
        "--container.fs-refresh=1s",
    ]);
    let agent = spawn_http("agent", c, "/healthz");

    let e = scrape_until(agent.port, Duration::from_secs(30), "first walk", |e| {
        fs(e, "container_fs_usage_bytes").is_some()
    });
    for m in [
        "container_fs_usage_bytes",
        "container_fs_limit_bytes",
        "container_fs_inodes_total",
        "container_fs_inodes_free",
    ] {
        assert_eq!(e.types.get(m).map(String::as_str), Some("gauge"), "{m}");
    }
    let (device, before) = fs(&e, "container_fs_usage_bytes").expect("usage");
    let (_, limit) = fs(&e, "container_fs_limit_bytes").expect("limit");
    if let Some(upper) = &upper {
        let (dev_src, dev_size) = df(upper);
        // cAdvisor's device: the source of the mount holding the layer; the limit: that filesystem's size.
        assert_eq!(device, dev_src, "device label vs df {upper}");
        assert_eq!(limit, dev_size, "limit vs df's size");
    }
    let (_, inodes) = fs(&e, "container_fs_inodes_total").expect("inodes");
    assert!(inodes >= 1.0, "inodes {inodes}");
    assert_eq!(fs(&e, "container_fs_inodes_free").map(|x| x.1), Some(0.0));
    let du_now = || upper.as_deref().map(|u| (du(u), du(&logs)));
    println!(
        "before: usage {before} B ({:.2} MiB), inodes {inodes}, device {device}, limit {limit}; du (layer, logs): {:?}",
        before / MIB,
        du_now()
    );

    docker_ok(&[
        "exec",
        NAME,
        "sh",
        "-c",
        "head -c 20971520 /dev/urandom > /twenty-mib && sync",
    ]);
    let e = scrape_until(
        agent.port,
        Duration::from_secs(30),
        "usage grown by ~20 MiB",
        |e| fs(e, "container_fs_usage_bytes").is_some_and(|(_, u)| u >= before + 19.5 * MIB),
    );
    let (_, after) = fs(&e, "container_fs_usage_bytes").expect("usage");
    let (_, inodes_after) = fs(&e, "container_fs_inodes_total").expect("inodes");
    let grown = after - before;
    let du_after = du_now();
    println!(
        "after: usage {after} B, grown {:.3} MiB, inodes {inodes_after}; du (layer, logs): {du_after:?}",
        grown / MIB
    );
    assert!(
        (20.0 * MIB..=21.0 * MIB).contains(&grown),
        "grown by {grown} B, expected 20 MiB (+ at most 1 MiB of metadata)"
    );
    assert!(
        inodes_after > inodes,
        "one more file: {inodes} → {inodes_after}"
    );
    // The walk agrees with du on the same directories (du run after the scrape: only log growth between).
    if let Some((layer, logs)) = du_after {
        let du_total = layer + logs;
        assert!(
            (after - du_total).abs() <= 64.0 * 1024.0,
            "agent {after} vs du {du_total}"
        );
    }

    // A stopped container leaves.
    docker_ok(&["rm", "-f", NAME]);
    scrape_until(agent.port, Duration::from_secs(30), "container gone", |e| {
        fs(e, "container_fs_usage_bytes").is_none()
    });
}
