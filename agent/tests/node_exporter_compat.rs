//! Side-by-side accuracy against the real node_exporter: Debian sid's `prometheus-node-exporter` 1.11.1,
//! unpacked into .cache/test-tools by `make test-deps` (bookworm's 1.5 is retired as the reference): for
//! every collector node_exporter runs successfully on this host, start both exporters with only that
//! collector, scrape ours, theirs, ours again, and require
//! - every metric name of theirs in ours (or listed with a reason in `node_exclusions.txt`, left out on
//!   purpose, or in `node_compat_gaps.txt`, a known gap to 1.11 with its reason), with the same TYPE and
//!   the same series (label sets, label values; a label of theirs listed as a gap is compared without it,
//!   a series of ours listed as a gap may be extra);
//! - counters inside the bracket of our two scrapes; gauges equal, or within the tolerance of the few that
//!   move on their own (free memory, load, time);
//! - MemTotal, filesystem sizes and the CPU count exactly equal.
//!
//! It prints a coverage table (names theirs / ours / missing per collector) and every known gap it met.
//!
//! Needs node_exporter from `make test-deps`: `#[ignore = "needs node_exporter (make test-deps)"]`, run by
//! `make test`; run explicitly without it, the tests fail and name the fix.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use common::{agent_bin, docker, scrape, spawn_http, tool, Exposition, Series, ANY_PORT};

/// The node_exporter release the comparison and `node_compat_gaps.txt` are written against.
const REFERENCE_SERIES: &str = "1.11.";

/// The reference node_exporter (`$NODE_EXPORTER`, PATH, or where `make test-deps` unpacks it), checked to
/// be the release the gaps are written for: another one would be compared against the wrong list.
fn reference_node_exporter() -> PathBuf {
    let ne = tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let out = Command::new(&ne)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{} --version: {e}", ne.display()));
    // node_exporter prints `node_exporter, version 1.11.1 (branch: ...)` (on stderr up to some releases).
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("(unknown)");
    assert!(
        version.starts_with(REFERENCE_SERIES),
        "{} is node_exporter {version}, not {REFERENCE_SERIES}x, the reference of this test and of \
         node_compat_gaps.txt: run `make test-deps` (it unpacks Debian sid's 1.11 into .cache/test-tools) and \
         put .cache/test-tools/usr/bin first on PATH (the Makefile does), or set NODE_EXPORTER",
        ne.display()
    );
    println!("reference: node_exporter {version} ({})", ne.display());
    ne
}

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
    ("node_processes_", 16.0, 0.0),
    ("node_slabinfo_", 4096.0, 0.5),
    ("node_zoneinfo_", 65536.0, 0.05),
    ("node_buddyinfo_blocks", 4096.0, 0.5),
    ("node_tcp_connection_states", 16.0, 0.0),
    ("node_sysctl_fs_file_nr", 256.0, 0.0),
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

/// `pattern` is an exact name, or a prefix ending in `*`.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    pattern
        .strip_suffix('*')
        .map_or(pattern == name, |p| name.starts_with(p))
}

/// The known gaps to node_exporter 1.11 (`node_compat_gaps.txt`): what it serves that we do not yet.
#[derive(Debug, Default)]
struct Gaps {
    /// (metric pattern, reason): names of theirs we lack.
    names: Vec<(String, String)>,
    /// (metric pattern, label, reason): labels of theirs our series lack.
    labels: Vec<(String, String, String)>,
    /// (metric pattern, label, value pattern, reason): series of ours theirs lack.
    ours_only: Vec<(String, String, String, String)>,
    /// (metric pattern, label, reason): a label whose value of theirs is wrong: theirs takes ours.
    relabels: Vec<(String, String, String)>,
    /// (metric pattern, reason): values that differ because node_exporter's are wrong.
    values: Vec<(String, String)>,
    /// How often each entry (by its line) was met.
    hits: std::cell::RefCell<BTreeMap<String, usize>>,
    lines: Vec<String>,
}

impl Gaps {
    fn load() -> Gaps {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node_compat_gaps.txt");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Gaps::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn parse(text: &str) -> Result<Gaps, String> {
        let mut g = Gaps::default();
        for l in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let f: Vec<&str> = l.split('\t').collect();
            let reason_ok = f.last().is_some_and(|r| !r.trim().is_empty());
            match f.as_slice() {
                ["name", m, r] if reason_ok => g.names.push((m.to_string(), r.to_string())),
                ["value", m, r] if reason_ok => g.values.push((m.to_string(), r.to_string())),
                ["label", m, label, r] if reason_ok => {
                    g.labels
                        .push((m.to_string(), label.to_string(), r.to_string()))
                }
                ["relabel", m, label, r] if reason_ok => {
                    g.relabels
                        .push((m.to_string(), label.to_string(), r.to_string()))
                }
                ["ours-only", m, lv, r] if reason_ok => {
                    let (k, v) = lv
                        .split_once('=')
                        .ok_or_else(|| format!("`label=value` expected: {l:?}"))?;
                    g.ours_only
                        .push((m.to_string(), k.to_string(), v.to_string(), r.to_string()))
                }
                _ => {
                    return Err(format!(
                        "`name|label|relabel|ours-only|value<TAB>metric[<TAB>detail]<TAB>reason` expected: {l:?}"
                    ))
                }
            }
            g.lines.push(l.to_string());
        }
        Ok(g)
    }

    fn hit(&self, line: String) {
        *self.hits.borrow_mut().entry(line).or_default() += 1;
    }

    /// The reason a missing name of theirs is a known gap.
    fn name(&self, name: &str) -> Option<&str> {
        let (m, r) = self.names.iter().find(|(m, _)| pattern_matches(m, name))?;
        self.hit(format!("name\t{m}\t{r}"));
        Some(r)
    }

    /// Whether a value of theirs that differs from ours is a known defect of theirs.
    fn value(&self, name: &str) -> bool {
        let hit = self.values.iter().find(|(m, _)| pattern_matches(m, name));
        if let Some((m, r)) = hit {
            self.hit(format!("value\t{m}\t{r}"));
        }
        hit.is_some()
    }

    /// Their exposition with the gap labels taken off the series of names whose series in `ours` lack
    /// them (once ours has the label, it is compared again, and the entry is reported unmet).
    fn strip_labels(&self, theirs: &Exposition, ours: &Exposition) -> Exposition {
        let ours_has = |name: &str, label: &str| {
            ours.series
                .iter()
                .any(|s| s.name == name && s.labels.contains_key(label))
        };
        let mut series = theirs.series.clone();
        for s in &mut series {
            for (m, label, r) in &self.relabels {
                if !pattern_matches(m, &s.name) || !s.labels.contains_key(label) {
                    continue;
                }
                // Our series of that name equal but for `label`: theirs takes our value.
                let same_but = |o: &&_| {
                    let o: &common::Series = o;
                    o.name == s.name
                        && o.labels.len() == s.labels.len()
                        && o.labels
                            .iter()
                            .all(|(k, v)| k == label || s.labels.get(k) == Some(v))
                };
                if let Some(o) = ours.series.iter().find(same_but) {
                    if o.labels.get(label) != s.labels.get(label) {
                        s.labels.insert(label.clone(), o.labels[label].clone());
                        self.hit(format!("relabel\t{m}\t{label}\t{r}"));
                    }
                }
            }
            for (m, label, r) in &self.labels {
                if pattern_matches(m, &s.name)
                    && s.labels.contains_key(label)
                    && !ours_has(&s.name, label)
                {
                    s.labels.remove(label);
                    self.hit(format!("label\t{m}\t{label}\t{r}"));
                }
            }
        }
        Exposition {
            types: theirs.types.clone(),
            series,
        }
    }

    /// Whether a series of ours that theirs lacks is a known gap.
    fn ours_only(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        let hit = self.ours_only.iter().find(|(m, k, v, _)| {
            pattern_matches(m, name) && labels.get(k).is_some_and(|lv| pattern_matches(v, lv))
        });
        if let Some((m, k, v, r)) = hit {
            self.hit(format!("ours-only\t{m}\t{k}={v}\t{r}"));
        }
        hit.is_some()
    }

    /// Print every entry met (with how often) and every entry not met.
    fn report(&self) {
        let hits = self.hits.borrow();
        println!("\nKnown gaps to node_exporter 1.11 (node_compat_gaps.txt):");
        for l in &self.lines {
            match hits.get(l) {
                Some(n) => println!("  KNOWN GAP (met {n}x) {}", l.replace('\t', " | ")),
                None => println!(
                    "  not met here (closed, or no such data on this host: remove it once closed) {}",
                    l.replace('\t', " | ")
                ),
            }
        }
    }
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
    gaps: &Gaps,
) -> (BTreeSet<String>, BTreeSet<String>, Vec<String>, Vec<String>) {
    let mut failures = Vec::new();
    let theirs = &gaps.strip_labels(theirs, a1);
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
        match (excluded_reason(excluded, n), gaps.name(n)) {
            (Some(why), _) => println!("    [{collector}] {n}: left out on purpose: {why}"),
            (None, Some(why)) => println!("    [{collector}] {n}: known gap: {why}"),
            (None, None) => missing.push(n.clone()),
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
            // A count of something that comes and goes (processes in state R, connections in TIME_WAIT):
            // node_exporter's series alone is fine when its value is within the tolerance of none at all.
            let (abs, _) = tolerance(name);
            if abs > 0.0 && t.abs() <= abs {
                continue;
            }
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
        if !ok && !gaps.value(name) {
            failures.push(format!(
                "{name}{labels:?}: node_exporter {t}, ours {v1} then {v2} (tolerance ±{abs} / {rel})"
            ));
        }
    }
    for (name, labels) in i1.keys() {
        if their_names.contains(name)
            && !it.contains_key(&(name.clone(), labels.clone()))
            && !gaps.ours_only(name, labels)
        {
            failures.push(format!(
                "{name}{labels:?}: series in ours that node_exporter does not have"
            ));
        }
    }
    (their_names, our_names, missing, failures)
}

/// How our agent runs in a side-by-side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A process on the host, as the systemd unit and `--once` run it.
    Host,
    /// As the stack runs it (deploy/docker-compose.yml): in a container with its own network namespace, the
    /// host's PID namespace and hostname, the host's `/proc`, `/sys` and `/` read-only under `/host`,
    /// `--path.netns-pid=1`, every capability dropped (the stack adds back only the eBPF family's), a read-only
    /// root. The binary is the one cargo built for this test, run on the local test base image (Debian
    /// bookworm, the same libc): what is tested is the namespaces, mounts and flags, not the packaging.
    Container,
}

const TEST_IMAGE: &str = common::BASE_IMAGE;

/// Our agent, running, with its port on 127.0.0.1; stopped on drop.
enum Ours {
    Host(common::Proc),
    Container { id: String, port: u16 },
}

impl Ours {
    fn port(&self) -> u16 {
        match self {
            Ours::Host(p) => p.port,
            Ours::Container { port, .. } => *port,
        }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        if let Ours::Container { id, .. } = self {
            let _ = Command::new("docker")
                .args(["rm", "-f", id.as_str()])
                .output();
        }
    }
}

/// The Docker daemon answers and the local base image exists (built offline by scripts/images.sh if not).
fn container_prerequisites() {
    let v = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        v.status.success(),
        "prerequisite missing: a running Docker daemon (the container side-by-side runs the agent as the stack \
         does): {}",
        String::from_utf8_lossy(&v.stderr)
    );
    if !docker(&["image", "inspect", TEST_IMAGE]).status.success() {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/images.sh");
        let st = Command::new("bash")
            .arg(&script)
            .arg("base")
            .status()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(st.success(), "{} base failed: {st}", script.display());
    }
    println!(
        "ours runs in a container (docker {}, image {TEST_IMAGE}) as deploy/docker-compose.yml runs it",
        String::from_utf8_lossy(&v.stdout).trim()
    );
}

/// Start our agent with `args` (no listen address: each mode picks its own); `share` are host directories
/// the flags name (the textfile directory), mounted read-only at the same path in the container.
fn start_ours(mode: Mode, args: &[String], share: &[&std::path::Path]) -> Ours {
    match mode {
        Mode::Host => {
            let mut c = Command::new(agent_bin());
            c.arg(ANY_PORT).args(args);
            Ours::Host(spawn_http("agent", c, "/healthz"))
        }
        Mode::Container => {
            let bin = agent_bin();
            // start.sh gives the container the host's name (node_uname_info{nodename}).
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|e| panic!("/proc/sys/kernel/hostname: {e}"));
            let mut run: Vec<String> = [
                "run",
                "-d",
                "--pid=host",
                "--cap-drop=ALL",
                "--security-opt=no-new-privileges:true",
                "--read-only",
                "-p",
                "127.0.0.1::9110",
                "-v",
                "/proc:/host/proc:ro",
                "-v",
                "/sys:/host/sys:ro",
                "-v",
                "/:/host/root:ro",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            run.push(format!("--hostname={host}"));
            run.push("-v".into());
            run.push(format!("{}:/hostlens-agent:ro", bin.display()));
            for d in share {
                run.push("-v".into());
                run.push(format!("{0}:{0}:ro", d.display()));
            }
            run.extend(
                [
                    "--entrypoint=/hostlens-agent",
                    TEST_IMAGE,
                    "--web.listen-address=0.0.0.0:9110",
                    "--path.procfs=/host/proc",
                    "--path.sysfs=/host/sys",
                    "--path.rootfs=/host/root",
                    "--path.netns-pid=1",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            run.extend(args.iter().cloned());
            let run: Vec<&str> = run.iter().map(String::as_str).collect();
            let o = docker(&run);
            assert!(
                o.status.success(),
                "docker {run:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
            let mapped = docker(&["port", &id, "9110/tcp"]);
            let text = String::from_utf8_lossy(&mapped.stdout).into_owned();
            let port: Option<u16> = text
                .lines()
                .find_map(|l| l.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()));
            let ours = Ours::Container {
                id: id.clone(),
                port: port.unwrap_or(0),
            };
            let Some(port) = port else {
                panic!("docker port {id} 9110/tcp said {text:?}");
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                if common::http_get(port, "/healthz").is_ok_and(|r| r.status == 200) {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    let logs = docker(&["logs", &id]);
                    panic!(
                        "the agent in container {id} did not answer /healthz on 127.0.0.1:{port} within 20 s:\n{}",
                        String::from_utf8_lossy(&logs.stderr)
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            ours
        }
    }
}

#[test]
#[ignore = "needs node_exporter (make test-deps)"]
fn node_family_matches_node_exporter_side_by_side() {
    side_by_side(Mode::Host);
}

/// The same comparison with ours in its container, as the stack runs it, and node_exporter on the host:
/// every per-network-namespace value (conntrack, netstat, sockstat, softnet, arp, udp_queues, netclass,
/// netdev) must be the host's, not the container's.
#[test]
#[ignore = "needs node_exporter (make test-deps) and Docker"]
fn node_family_in_its_container_matches_node_exporter_on_the_host() {
    container_prerequisites();
    side_by_side(Mode::Container);
}

/// node_exporter's collectors that are off by default, with data on an ordinary Linux host, compared here
/// when node_exporter has them and runs them successfully.
const OFF_BY_DEFAULT: &[&str] = &[
    "buddyinfo",
    "cgroups",
    "cpu_vulnerabilities",
    "drbd",
    "drm",
    "interrupts",
    "ksmd",
    "lnstat",
    "meminfo_numa",
    "mountstats",
    "network_route",
    "pcidevice",
    "processes",
    "qdisc",
    "slabinfo",
    "softirqs",
    "swap",
    "sysctl",
    "tcpstat",
    "wifi",
    "xfrm",
    "zoneinfo",
];

/// The sysctls the sysctl collector is asked for (as upstream's end-to-end test asks).
const SYSCTL_FLAGS: [&str; 3] = [
    "--collector.sysctl.include=kernel.threads-max",
    "--collector.sysctl.include=fs.file-nr:total,current,max",
    "--collector.sysctl.include-info=kernel.seccomp.actions_avail",
];

/// Collectors that read only over netlink: in the container they refuse another namespace.
const NETLINK_ONLY: &[&str] = &["network_route", "qdisc", "tcpstat", "wifi"];

/// The collectors the reference node_exporter has (`--collector.<name>  Enable the <name> collector`).
fn reference_collectors(ne: &std::path::Path) -> BTreeSet<String> {
    let out = Command::new(ne)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("{} --help: {e}", ne.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let (flag, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let name = flag.strip_prefix("--collector.")?;
            // kingpin wraps a long flag's help onto the next line.
            let rest = match rest.trim() {
                "" => lines.get(i + 1).copied().unwrap_or(""),
                r => r,
            };
            (!name.contains('.') && rest.starts_with("Enable the")).then(|| name.to_string())
        })
        .collect()
}

fn side_by_side(mode: Mode) {
    println!("ours: {mode:?}");
    let ne = reference_node_exporter();
    let excluded = exclusions();
    let gaps = Gaps::load();
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
    // Debian's node_exporter 1.5 excluded `lo` from netdev by default (1.11.1 no longer does); upstream's
    // does not, neither do we: give both the same explicit setting anyway.
    let netdev_flag = "--collector.netdev.device-exclude=".to_string();
    // Debian widens the filesystem mount-point exclude (`run`, `mnt`, `media`; still in 1.11.1's binary: see
    // its --help); give both upstream's.
    let fs_flag = format!(
        "--collector.filesystem.mount-points-exclude={}",
        hostlens_collectors::node::filesystem::DEFAULT_MOUNT_POINTS_EXCLUDE
    );

    // Off-by-default collectors node_exporter 1.11.1 has, tried too: those that succeed here are compared
    // like the defaults. (ethtool and perf: agent/tests/node_ethtool_perf.rs; systemd, logind, ntp,
    // supervisord, runit need a service to talk to: their own tests.)
    let known = reference_collectors(&ne);
    let extra: Vec<&str> = OFF_BY_DEFAULT
        .iter()
        .copied()
        .filter(|c| known.contains(*c))
        .collect();
    let sysctl_flags = SYSCTL_FLAGS.map(String::from);
    let common_flags: Vec<String> = [textfile_flag.clone(), netdev_flag.clone(), fs_flag.clone()]
        .into_iter()
        .chain(sysctl_flags.iter().cloned())
        .collect();

    // Which collectors node_exporter runs successfully here: its defaults and the extra ones.
    let full = {
        let mut c = Command::new(&ne);
        c.arg(ANY_PORT);
        c.args(&common_flags);
        c.args(extra.iter().map(|e| format!("--collector.{e}")));
        // Debian turns on the systemd collector (1.11.1 too), which is off by default upstream (and not ours
        // to replace).
        c.arg("--no-collector.systemd");
        let p = spawn_http("node_exporter", c, "/metrics");
        scrape(p.port)
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
    let tried_off: Vec<&&str> = extra
        .iter()
        .filter(|e| !collectors.iter().any(|c| c == *e))
        .collect();
    println!(
        "off-by-default collectors compared too: {:?}; no data here for node_exporter: {tried_off:?}",
        extra
            .iter()
            .filter(|e| collectors.iter().any(|c| c == *e))
            .collect::<Vec<_>>()
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
        if mode == Mode::Container && NETLINK_ONLY.contains(&c.as_str()) {
            // By design: netlink answers for the agent's own namespace (collectors/src/read/netlink.rs), so
            // in the container these collectors refuse to run rather than serve the container's values.
            println!(
                "  SKIPPED {c} in the container: it reads only over netlink, which sees the container's own \
                 network namespace; it refuses --path.netns-pid (run the agent with network_mode: host for it)"
            );
            continue;
        }
        let mut nec = Command::new(&ne);
        nec.args([
            ANY_PORT.to_string(),
            "--collector.disable-defaults".into(),
            format!("--collector.{c}"),
        ]);
        nec.args(&common_flags);
        let ne_proc = spawn_http("node_exporter", nec, "/metrics");
        let ne_port = ne_proc.port;
        if !ours.contains(c.as_str()) {
            let theirs = scrape(ne_port);
            let names: BTreeSet<String> = theirs
                .names()
                .into_iter()
                .filter(|n| !is_exporter_own(n))
                .collect();
            let missing: Vec<String> = names
                .iter()
                .filter(|n| excluded_reason(&excluded, n).is_none() && gaps.name(n).is_none())
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
        let mut our_args = vec![
            "--collector.disable-defaults".to_string(),
            format!("--collector.{c}"),
        ];
        our_args.extend(common_flags.iter().cloned());
        let agent = start_ours(mode, &our_args, &[&textfile_dir]);
        let our_port = agent.port();
        let a1 = scrape(our_port);
        let theirs = scrape(ne_port);
        let a2 = scrape(our_port);
        drop((agent, ne_proc));
        let (tn, on, missing, failures) = compare(c, &a1, &theirs, &a2, &excluded, &gaps);
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
    gaps.report();
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
#[ignore = "needs node_exporter (make test-deps)"]
fn stable_values_are_exactly_equal() {
    // One full scrape of each with default collectors: the values that do not move must be identical.
    let ne = reference_node_exporter();
    let mut c = Command::new(&ne);
    c.arg(ANY_PORT);
    c.arg(format!(
        "--collector.filesystem.mount-points-exclude={}",
        hostlens_collectors::node::filesystem::DEFAULT_MOUNT_POINTS_EXCLUDE
    ));
    let ne = spawn_http("node_exporter", c, "/metrics");
    let mut a = Command::new(agent_bin());
    a.arg(ANY_PORT);
    let agent = spawn_http("agent", a, "/healthz");
    let (p1, p2) = (ne.port, agent.port);
    let theirs = scrape(p1);
    let ours = scrape(p2);
    // Labels of 1.11 we do not serve yet (device_error on node_filesystem_*): compared without them.
    let theirs = Gaps::load().strip_labels(&theirs, &ours);

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

    // node_exporter's mixin selects its instances with label_values(node_exporter_build_info{job=...},
    // instance): ours is served with node_exporter's label names (and hostlens' version).
    let build_labels = |e: &Exposition| -> Vec<BTreeSet<String>> {
        e.by_name("node_exporter_build_info")
            .iter()
            .map(|s| s.labels.keys().cloned().collect())
            .collect()
    };
    assert_eq!(build_labels(&theirs).len(), 1, "node_exporter's build info");
    assert_eq!(
        build_labels(&ours),
        build_labels(&theirs),
        "node_exporter_build_info: one series with node_exporter's label names"
    );
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostlens-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating a temp dir");
    d
}

#[test]
fn known_gaps_file_parses_and_matches_as_documented() {
    let g = Gaps::load();
    assert!(!g.lines.is_empty(), "node_compat_gaps.txt has no entries");
    let g = Gaps::parse(
        "# comment\n\
         name\tnode_x_*\tnewer\n\
         label\tnode_filesystem_*\tdevice_error\tnewer\n\
         ours-only\tnode_disk_*\tdevice=zram*\tignored upstream\n",
    )
    .expect("parses");
    assert_eq!(g.name("node_x_total"), Some("newer"));
    assert_eq!(g.name("node_y"), None);
    let lbl = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert!(g.ours_only("node_disk_io_now", &lbl(&[("device", "zram1")])));
    assert!(!g.ours_only("node_disk_io_now", &lbl(&[("device", "vda")])));
    let series = |labels: &[(&str, &str)]| Series {
        name: "node_filesystem_size_bytes".into(),
        labels: lbl(labels),
        value: 1.0,
    };
    let theirs = Exposition {
        types: BTreeMap::new(),
        series: vec![series(&[("mountpoint", "/"), ("device_error", "")])],
    };
    let ours_without = Exposition {
        types: BTreeMap::new(),
        series: vec![series(&[("mountpoint", "/")])],
    };
    let stripped = g.strip_labels(&theirs, &ours_without);
    assert_eq!(stripped.series[0].labels, lbl(&[("mountpoint", "/")]));
    // Once ours serves the label, theirs is compared with it again.
    let stripped = g.strip_labels(&theirs, &theirs);
    assert!(stripped.series[0].labels.contains_key("device_error"));
    assert!(
        Gaps::parse("label\tnode_x\tdevice_error\n").is_err(),
        "no reason"
    );
    assert!(Gaps::parse("ours-only\tnode_x\tnovalue\twhy\n").is_err());
}
