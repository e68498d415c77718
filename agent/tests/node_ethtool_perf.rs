//! Live side by side of the two off-by-default collectors `ethtool` and `perf` against node_exporter 1.11.1
//! (`make test-deps`; their code is unchanged in 1.12.1 but for perf's logging of unknown profiler names).
//! The default side-by-side (`node_exporter_compat.rs`) only runs the collectors node_exporter enables by
//! default, so these two are compared here:
//! - ethtool: every series of theirs in ours and none extra (on the interfaces present in all scrapes),
//!   same TYPE and HELP; the link settings and driver info equal, each statistic inside the bracket of our
//!   two scrapes around theirs.
//! - perf: software counters and tracepoints (a tracefs is mounted in a private mount namespace when none
//!   is): the same series, TYPE and HELP; each counter's increase over an interval of theirs bracketed by
//!   ours over the inner and the outer interval (the counters were opened at different times, their
//!   increases count the same events). Hardware and cache events need a PMU: where the kernel has none
//!   (this VM) neither exporter serves them, which the test checks, printing a `SKIPPED:` line for their
//!   values; where it has one they are compared by name only (multiplexed raw counts differ).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use common::{
    agent_bin, http_get, parse_exposition, require_root, spawn_http, tool, Exposition, Proc,
    ANY_PORT,
};

fn node_exporter() -> std::path::PathBuf {
    tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    )
}

/// One scrape: the parsed samples and each family's HELP.
struct Scrape {
    e: Exposition,
    help: BTreeMap<String, String>,
}

fn scrape(p: &Proc) -> Scrape {
    let r = http_get(p.port, "/metrics").unwrap_or_else(|e| panic!("scraping {}: {e}", p.name));
    assert_eq!(r.status, 200, "scraping {}: {}", p.name, r.body);
    let e = parse_exposition(&r.body).unwrap_or_else(|e| panic!("parsing {}: {e}", p.name));
    let help = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, h)| (n.to_string(), h.to_string()))
        .collect();
    Scrape { e, help }
}

/// Self metrics of either exporter.
fn is_exporter_own(name: &str) -> bool {
    name.starts_with("go_")
        || name.starts_with("promhttp_")
        || name.starts_with("process_")
        || name.starts_with("hostlens_")
        || name.starts_with("node_scrape_collector_")
        || name == "node_exporter_build_info"
}

type Key = (String, BTreeMap<String, String>);

/// The collector's series of a scrape, keyed by name and labels; `keep` filters by labels.
fn series(s: &Scrape, keep: &dyn Fn(&BTreeMap<String, String>) -> bool) -> BTreeMap<Key, f64> {
    s.e.series
        .iter()
        .filter(|x| !is_exporter_own(&x.name) && keep(&x.labels))
        .map(|x| ((x.name.clone(), x.labels.clone()), x.value))
        .collect()
}

fn success(s: &Scrape, collector: &str) -> Option<f64> {
    s.e.value("node_scrape_collector_success", &[("collector", collector)])
}

fn start(name: &str, bin: std::path::PathBuf, args: &[String]) -> Proc {
    let mut c = Command::new(bin);
    c.arg(ANY_PORT)
        .arg("--collector.disable-defaults")
        .args(args);
    let ready = if name == "agent" {
        "/healthz"
    } else {
        "/metrics"
    };
    spawn_http(name, c, ready)
}

/// TYPE and HELP of every family of theirs are ours.
fn check_meta(
    theirs: &Scrape,
    ours: &Scrape,
    names: &BTreeSet<String>,
    failures: &mut Vec<String>,
) {
    for n in names {
        if theirs.e.types.get(n) != ours.e.types.get(n) {
            failures.push(format!(
                "{n}: TYPE theirs {:?}, ours {:?}",
                theirs.e.types.get(n),
                ours.e.types.get(n)
            ));
        }
        if theirs.help.get(n) != ours.help.get(n) {
            failures.push(format!(
                "{n}: HELP theirs {:?}, ours {:?}",
                theirs.help.get(n),
                ours.help.get(n)
            ));
        }
    }
}

#[test]
#[ignore = "needs root and node_exporter (make test-deps): live ethtool side by side"]
fn ethtool_matches_node_exporter_live() {
    require_root("ethtool ioctls as node_exporter runs them in the side-by-side");
    let args = ["--collector.ethtool".to_string()];
    let ne = start("node_exporter", node_exporter(), &args);
    let agent = start("agent", agent_bin(), &args);
    let a1 = scrape(&agent);
    let theirs = scrape(&ne);
    let a2 = scrape(&agent);
    drop((agent, ne));
    assert_eq!(
        success(&theirs, "ethtool"),
        Some(1.0),
        "node_exporter's ethtool"
    );
    assert_eq!(success(&a1, "ethtool"), Some(1.0), "our ethtool");

    // Interfaces come and go (containers): compare those in all three scrapes.
    let devices = |s: &Scrape| -> BTreeSet<String> {
        series(s, &|_| true)
            .keys()
            .filter_map(|(_, l)| l.get("device").cloned())
            .collect()
    };
    let common: BTreeSet<String> = devices(&a1)
        .intersection(&devices(&theirs))
        .cloned()
        .collect::<BTreeSet<_>>()
        .intersection(&devices(&a2))
        .cloned()
        .collect();
    let keep = |l: &BTreeMap<String, String>| l.get("device").is_some_and(|d| common.contains(d));
    let (t, o1, o2) = (
        series(&theirs, &keep),
        series(&a1, &keep),
        series(&a2, &keep),
    );
    let mut failures = Vec::new();
    let (mut matched, mut stats) = (0, 0);
    for (k, v) in &t {
        let (Some(x1), Some(x2)) = (o1.get(k), o2.get(k)) else {
            failures.push(format!("missing in ours: {k:?}"));
            continue;
        };
        let is_stat = k.0.starts_with("node_ethtool_") && k.0 != "node_ethtool_info";
        let ok = if is_stat {
            stats += 1;
            x1.min(*x2) <= *v && *v <= x1.max(*x2)
        } else {
            x1 == v && x2 == v
        };
        if ok {
            matched += 1;
        } else {
            failures.push(format!("{k:?}: theirs {v}, ours {x1} / {x2}"));
        }
    }
    for k in o1.keys().filter(|k| !t.contains_key(*k)) {
        failures.push(format!("extra in ours: {k:?}"));
    }
    let names: BTreeSet<String> = t.keys().map(|k| k.0.clone()).collect();
    check_meta(&theirs, &a1, &names, &mut failures);
    println!(
        "ethtool: {} series of node_exporter on {} interface(s) {common:?}: {matched} matched \
         ({stats} driver statistics bracketed), {} failure(s)",
        t.len(),
        common.len(),
        failures.len()
    );
    for f in &failures {
        println!("  MISMATCH {f}");
    }
    assert!(
        t.keys().any(|k| k.0 == "node_ethtool_info"),
        "no interface answered ETHTOOL_GDRVINFO: nothing compared"
    );
    assert!(
        failures.is_empty(),
        "{} mismatch(es), see above",
        failures.len()
    );
}

/// Mount a tracefs for this thread's children when none is mounted: a private mount namespace (so nothing
/// changes for the host), tracefs on /sys/kernel/tracing. Returns whether tracepoints can be used.
fn ensure_tracefs() -> bool {
    let mounted = |m: &str| m.lines().any(|l| l.split(' ').nth(2) == Some("tracefs"));
    if std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| mounted(&m)) {
        return true;
    }
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (root, target, fstype) = (c("/"), c("/sys/kernel/tracing"), c("tracefs"));
    // SAFETY: unshare and mount with valid NUL-terminated strings; they affect only this thread's (and its
    // children's) mount namespace, made private first so the mount does not propagate to the host.
    let ok = unsafe {
        libc::unshare(libc::CLONE_NEWNS) == 0
            && libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) == 0
            && libc::mount(
                fstype.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                std::ptr::null(),
            ) == 0
    };
    if !ok {
        println!(
            "SKIPPED: perf tracepoints: no tracefs and none could be mounted ({}), not compared",
            std::io::Error::last_os_error()
        );
    }
    ok
}

/// The hardware and cache counters' names (a PMU's events).
fn is_hardware(name: &str) -> bool {
    name.starts_with("node_perf_cache_")
        || name.contains("cycles")
        || name.contains("instructions")
        || name.contains("branch")
}

#[test]
#[ignore = "needs root and node_exporter (make test-deps): perf_event_open for every process on a CPU"]
fn perf_matches_node_exporter_live() {
    require_root("perf_event_open(pid -1) on every CPU");
    let mut args = vec!["--collector.perf".to_string()];
    if ensure_tracefs() {
        args.push("--collector.perf.tracepoint=sched:sched_switch".into());
        args.push("--collector.perf.tracepoint=sched:sched_process_fork".into());
    }
    let ne = start("node_exporter", node_exporter(), &args);
    let agent = start("agent", agent_bin(), &args);
    // ours, theirs, ours — a pause — ours, theirs, ours: theirs' increase between its two scrapes counts
    // the events of an interval inside our outer one and around our inner one.
    let oa = scrape(&agent);
    let n1 = scrape(&ne);
    let ob = scrape(&agent);
    std::thread::sleep(Duration::from_millis(500));
    let oc = scrape(&agent);
    let n2 = scrape(&ne);
    let od = scrape(&agent);
    drop((agent, ne));
    assert_eq!(success(&n2, "perf"), Some(1.0), "node_exporter's perf");
    assert_eq!(success(&od, "perf"), Some(1.0), "our perf");

    let all = |_: &BTreeMap<String, String>| true;
    let [sa, s1, sb, sc, s2, sd] = [&oa, &n1, &ob, &oc, &n2, &od].map(|s| series(s, &all));
    let mut failures = Vec::new();
    let mut compared = 0;
    for (k, v2) in &s2 {
        let get = |m: &BTreeMap<Key, f64>| m.get(k).copied();
        let (Some(v1), Some(a), Some(b), Some(c), Some(d)) =
            (get(&s1), get(&sa), get(&sb), get(&sc), get(&sd))
        else {
            failures.push(format!("missing in ours (or in a scrape): {k:?}"));
            continue;
        };
        let (theirs, inner, outer) = (v2 - v1, c - b, d - a);
        // Hardware and cache counters are multiplexed (raw counts, not scaled): names only.
        if is_hardware(&k.0) || (inner <= theirs && theirs <= outer) {
            compared += 1;
        } else {
            failures.push(format!(
                "{k:?}: theirs +{theirs}, ours +{inner} (inner) .. +{outer} (outer)"
            ));
        }
    }
    for k in sd.keys().filter(|k| !s2.contains_key(*k)) {
        failures.push(format!("extra in ours: {k:?}"));
    }
    let names: BTreeSet<String> = s2.keys().map(|k| k.0.clone()).collect();
    check_meta(&n2, &od, &names, &mut failures);
    let hardware = |m: &BTreeMap<Key, f64>| m.keys().filter(|k| is_hardware(&k.0)).count();
    let (their_hw, our_hw) = (hardware(&s2), hardware(&sd));
    println!(
        "perf: {} series of node_exporter ({} names), {compared} bracketed, {} failure(s)",
        s2.len(),
        names.len(),
        failures.len()
    );
    if their_hw == 0 && our_hw == 0 {
        println!(
            "SKIPPED: perf hardware and cache counters: no hardware perf counters here (perf_event_open \
             fails for them; both exporters skip them without error), so their values could not be measured"
        );
    } else {
        println!("perf: hardware/cache series: theirs {their_hw}, ours {our_hw}");
    }
    for f in &failures {
        println!("  MISMATCH {f}");
    }
    assert!(
        names.contains("node_perf_context_switches_total"),
        "node_exporter served no software counter: nothing compared"
    );
    assert!(
        failures.is_empty(),
        "{} mismatch(es), see above",
        failures.len()
    );
}
