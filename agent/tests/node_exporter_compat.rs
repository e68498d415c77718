//! Side-by-side accuracy against the real node_exporter (Debian's `prometheus-node-exporter`, installed by
//! `make test-deps`): for every collector node_exporter runs successfully on this host, start both exporters
//! with only that collector, scrape ours, theirs, ours again, and require
//! - every metric name of theirs in ours (or listed with a reason in `node_exclusions.txt`), with the same
//!   TYPE and the same series (label sets, label values);
//! - counters inside the bracket of our two scrapes; gauges equal, or within the tolerance of the few that
//!   move on their own (free memory, load, time);
//! - MemTotal, filesystem sizes and the CPU count exactly equal.
//!
//! It prints a coverage table: names theirs / ours / missing per collector.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use common::{agent_bin, free_port, scrape, spawn_http, tool, Exposition, Series};

/// Self metrics of either exporter, not part of any collector.
fn is_exporter_own(name: &str) -> bool {
    name.starts_with("go_")
        || name.starts_with("promhttp_")
        || name.starts_with("process_")
        || name.starts_with("hostlens_")
        || name.starts_with("node_scrape_collector_")
        || name == "node_exporter_build_info"
}

/// Gauges that move on their own between two scrapes a few milliseconds apart: (name prefix, absolute
/// tolerance, relative tolerance). Everything else must be equal (gauges) or bracketed (counters).
const TOLERANCES: &[(&str, f64, f64)] = &[
    ("node_memory_", 64.0 * 1024.0 * 1024.0, 0.05),
    ("node_load", 1.0, 0.0),
    ("node_procs_", 4.0, 0.0),
    ("node_time_seconds", 5.0, 0.0),
    ("node_timex_", 0.01, 0.1),
    ("node_filefd_allocated", 256.0, 0.0),
    ("node_sockstat_", 1024.0 * 1024.0, 0.0),
    ("node_filesystem_avail_bytes", 512.0 * 1024.0 * 1024.0, 0.0),
    ("node_filesystem_free_bytes", 512.0 * 1024.0 * 1024.0, 0.0),
    ("node_filesystem_files_free", 20000.0, 0.0),
    ("node_arp_entries", 4.0, 0.0),
    ("node_nf_conntrack_entries", 64.0, 0.0),
    ("node_udp_queues", 1024.0 * 1024.0, 0.0),
    ("node_netstat_Tcp_CurrEstab", 32.0, 0.0),
    ("node_disk_io_now", 32.0, 0.0),
    ("node_entropy_available_bits", 4096.0, 0.0),
];

/// Values that must be exactly equal, whatever else moves.
const MUST_EQUAL: &[&str] = &[
    "node_memory_MemTotal_bytes",
    "node_memory_SwapTotal_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_files",
    "node_boot_time_seconds",
    "node_network_mtu_bytes",
    "node_filefd_maximum",
];

fn tolerance(name: &str) -> (f64, f64) {
    if MUST_EQUAL.contains(&name) {
        return (0.0, 0.0);
    }
    TOLERANCES
        .iter()
        .find(|(p, _, _)| name.starts_with(p))
        .map(|(_, a, r)| (*a, *r))
        .unwrap_or((0.0, 0.0))
}

fn exclusions() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node_exclusions.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (n, why) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{}: `name<TAB>reason` expected: {l:?}", path.display()));
            assert!(!why.trim().is_empty(), "exclusion of {n} has no reason");
            (n.to_string(), why.trim().to_string())
        })
        .collect()
}

/// The reason `name` is left out: an exact entry, or an entry ending in `*` that is a prefix of it.
fn excluded_reason<'a>(excluded: &'a BTreeMap<String, String>, name: &str) -> Option<&'a String> {
    excluded.get(name).or_else(|| {
        excluded
            .iter()
            .find(|(k, _)| k.strip_suffix('*').is_some_and(|p| name.starts_with(p)))
            .map(|(_, v)| v)
    })
}

type Key = (String, BTreeMap<String, String>);

fn index(e: &Exposition) -> BTreeMap<Key, f64> {
    e.series
        .iter()
        .filter(|s| !is_exporter_own(&s.name))
        .map(|s: &Series| ((s.name.clone(), s.labels.clone()), s.value))
        .collect()
}

fn close(a: f64, b: f64, abs: f64, rel: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    let d = (a - b).abs();
    d <= abs + rel * a.abs().max(b.abs()) + 1e-9 * a.abs().max(b.abs()) + 1e-12
}

/// Compare one collector; returns (theirs names, ours names, missing names, failures).
fn compare(
    collector: &str,
    a1: &Exposition,
    theirs: &Exposition,
    a2: &Exposition,
    excluded: &BTreeMap<String, String>,
) -> (BTreeSet<String>, BTreeSet<String>, Vec<String>, Vec<String>) {
    let mut failures = Vec::new();
    let their_names: BTreeSet<String> = theirs
        .names()
        .into_iter()
        .filter(|n| !is_exporter_own(n))
        .collect();
    let our_names: BTreeSet<String> = a1
        .names()
        .into_iter()
        .filter(|n| !is_exporter_own(n))
        .collect();
    let mut missing = Vec::new();
    for n in &their_names {
        if our_names.contains(n) {
            continue;
        }
        match excluded_reason(excluded, n) {
            Some(why) => println!("    [{collector}] {n}: left out on purpose: {why}"),
            None => missing.push(n.clone()),
        }
    }
    let (i1, it, i2) = (index(a1), index(theirs), index(a2));
    for ((name, labels), t) in &it {
        if !our_names.contains(name) {
            continue;
        }
        let their_type = theirs
            .types
            .get(name)
            .map(String::as_str)
            .unwrap_or("untyped");
        let our_type = a1.types.get(name).map(String::as_str).unwrap_or("untyped");
        if their_type != our_type {
            failures.push(format!(
                "{name}: TYPE {our_type} in ours, {their_type} in node_exporter's"
            ));
        }
        let key = (name.clone(), labels.clone());
        let (Some(v1), Some(v2)) = (i1.get(&key), i2.get(&key)) else {
            failures.push(format!(
                "{name}{labels:?}: series of node_exporter's not in ours"
            ));
            continue;
        };
        let (lo, hi) = (v1.min(*v2), v1.max(*v2));
        let (abs, rel) = tolerance(name);
        let ok = if MUST_EQUAL.contains(&name.as_str()) {
            close(*v1, *t, 0.0, 0.0) && close(*v2, *t, 0.0, 0.0)
        } else {
            (*t >= lo && *t <= hi) || close(*t, lo, abs, rel) || close(*t, hi, abs, rel)
        };
        if !ok {
            failures.push(format!(
                "{name}{labels:?}: node_exporter {t}, ours {v1} then {v2} (tolerance ±{abs} / {rel})"
            ));
        }
    }
    for (name, labels) in i1.keys() {
        if their_names.contains(name) && !it.contains_key(&(name.clone(), labels.clone())) {
            failures.push(format!(
                "{name}{labels:?}: series in ours that node_exporter does not have"
            ));
        }
    }
    (their_names, our_names, missing, failures)
}

#[test]
fn node_family_matches_node_exporter_side_by_side() {
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let excluded = exclusions();
    let textfile_dir = tempdir("textfile");
    std::fs::write(
        textfile_dir.join("probe.prom"),
        "# HELP textfile_probe_value A value from the textfile collector test.\n\
         # TYPE textfile_probe_value gauge\n\
         textfile_probe_value{kind=\"a\"} 1.5\n\
         textfile_probe_value{kind=\"b\\\"q\"} 2\n",
    )
    .expect("writing the textfile fixture");
    let textfile_flag = format!("--collector.textfile.directory={}", textfile_dir.display());
    // Debian's node_exporter excludes `lo` from netdev by default, upstream's does not (neither do we): give
    // both the same explicit setting.
    let netdev_flag = "--collector.netdev.device-exclude=".to_string();
    // Debian also widens the filesystem mount-point exclude (`run`, `mnt`, `media`); give both upstream's.
    let fs_flag = format!(
        "--collector.filesystem.mount-points-exclude={}",
        hostlens_collectors::node::NodeConfig::default()
            .filesystem
            .mount_points_exclude
    );

    // Which collectors node_exporter runs successfully here, with its defaults.
    let port = free_port();
    let full = {
        let mut c = Command::new(&ne);
        c.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        c.arg(&textfile_flag).arg(&netdev_flag).arg(&fs_flag);
        // Debian turns on the systemd collector, which is off by default upstream (and not ours to replace).
        c.arg("--no-collector.systemd");
        let _p = spawn_http("node_exporter", c, port, "/metrics");
        scrape(port)
    };
    let mut collectors: Vec<String> = full
        .by_name("node_scrape_collector_success")
        .into_iter()
        .filter(|s| s.value == 1.0)
        .filter_map(|s| s.labels.get("collector").cloned())
        .collect();
    collectors.sort();
    assert!(
        collectors.len() > 10,
        "node_exporter ran only {collectors:?}"
    );

    let ours_list = Command::new(agent_bin())
        .arg("--list-collectors")
        .output()
        .expect("agent --list-collectors");
    let ours_list = String::from_utf8_lossy(&ours_list.stdout).into_owned();
    let ours: BTreeSet<&str> = ours_list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();

    let mut rows = Vec::new();
    let mut all_failures = Vec::new();
    let mut all_missing = Vec::new();
    for c in &collectors {
        let ne_port = free_port();
        let mut nec = Command::new(&ne);
        nec.args([
            format!("--web.listen-address=127.0.0.1:{ne_port}"),
            "--collector.disable-defaults".into(),
            format!("--collector.{c}"),
            textfile_flag.clone(),
            netdev_flag.clone(),
            fs_flag.clone(),
        ]);
        let ne_proc = spawn_http("node_exporter", nec, ne_port, "/metrics");
        if !ours.contains(c.as_str()) {
            let theirs = scrape(ne_port);
            let names: BTreeSet<String> = theirs
                .names()
                .into_iter()
                .filter(|n| !is_exporter_own(n))
                .collect();
            let missing: Vec<String> = names
                .iter()
                .filter(|n| excluded_reason(&excluded, n).is_none())
                .cloned()
                .collect();
            rows.push((c.clone(), names.len(), 0, missing.len()));
            all_missing.extend(
                missing
                    .into_iter()
                    .map(|n| format!("{c}: {n} (no such collector in ours)")),
            );
            continue;
        }
        let our_port = free_port();
        let mut ac = Command::new(agent_bin());
        ac.args([
            format!("--web.listen-address=127.0.0.1:{our_port}"),
            "--collector.disable-defaults".into(),
            format!("--collector.{c}"),
            textfile_flag.clone(),
            netdev_flag.clone(),
            fs_flag.clone(),
        ]);
        let agent = spawn_http("agent", ac, our_port, "/healthz");
        let a1 = scrape(our_port);
        let theirs = scrape(ne_port);
        let a2 = scrape(our_port);
        drop((agent, ne_proc));
        let (tn, on, missing, failures) = compare(c, &a1, &theirs, &a2, &excluded);
        rows.push((c.clone(), tn.len(), on.len(), missing.len()));
        all_missing.extend(missing.into_iter().map(|n| format!("{c}: {n}")));
        all_failures.extend(failures.into_iter().map(|f| format!("{c}: {f}")));
    }

    println!(
        "\nCoverage of node_exporter's metric names on this host (collectors it ran successfully):"
    );
    println!(
        "  {:<18} {:>8} {:>6} {:>8}",
        "collector", "theirs", "ours", "missing"
    );
    for (c, t, o, m) in &rows {
        println!("  {c:<18} {t:>8} {o:>6} {m:>8}");
    }
    let (t, o, m) = rows
        .iter()
        .fold((0, 0, 0), |(a, b, c), r| (a + r.1, b + r.2, c + r.3));
    println!("  {:<18} {t:>8} {o:>6} {m:>8}", "total");
    for m in &all_missing {
        println!("  MISSING {m}");
    }
    for f in &all_failures {
        println!("  MISMATCH {f}");
    }
    assert!(
        all_missing.is_empty() && all_failures.is_empty(),
        "{} name(s) missing and {} mismatch(es) against node_exporter (see above)",
        all_missing.len(),
        all_failures.len()
    );
}

#[test]
fn stable_values_are_exactly_equal() {
    // One full scrape of each with default collectors: the values that do not move must be identical.
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let (p1, p2) = (free_port(), free_port());
    let mut c = Command::new(&ne);
    c.arg(format!("--web.listen-address=127.0.0.1:{p1}"));
    c.arg(format!(
        "--collector.filesystem.mount-points-exclude={}",
        hostlens_collectors::node::NodeConfig::default()
            .filesystem
            .mount_points_exclude
    ));
    let _ne = spawn_http("node_exporter", c, p1, "/metrics");
    let mut a = Command::new(agent_bin());
    a.arg(format!("--web.listen-address=127.0.0.1:{p2}"));
    let _agent = spawn_http("agent", a, p2, "/healthz");
    let theirs = scrape(p1);
    let ours = scrape(p2);

    let mem = |e: &Exposition| e.value("node_memory_MemTotal_bytes", &[]);
    assert!(mem(&theirs).is_some(), "node_exporter has no MemTotal");
    assert_eq!(mem(&ours), mem(&theirs), "MemTotal");

    let cpus = |e: &Exposition| -> BTreeSet<String> {
        e.by_name("node_cpu_seconds_total")
            .iter()
            .filter_map(|s| s.labels.get("cpu").cloned())
            .collect()
    };
    assert!(!cpus(&theirs).is_empty());
    assert_eq!(cpus(&ours), cpus(&theirs), "CPU count / ids");

    let sizes = |e: &Exposition| -> BTreeMap<String, f64> {
        e.by_name("node_filesystem_size_bytes")
            .iter()
            .map(|s| (format!("{:?}", s.labels), s.value))
            .collect()
    };
    assert!(!sizes(&theirs).is_empty());
    assert_eq!(sizes(&ours), sizes(&theirs), "filesystem sizes");
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostlens-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating a temp dir");
    d
}
