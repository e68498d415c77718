//! The side-by-side on node_exporter's own fixtures: the agent binary run as upstream's
//! `end-to-end-test.sh` runs node_exporter, compared sample by sample with upstream's
//! `collector/fixtures/e2e-output.txt`.
//!
//! `make test-deps` unpacks the upstream tree of Debian sid's `prometheus-node-exporter` (1.11.x) into
//! `.cache/node-exporter-src` (`$NODE_EXPORTER_SRC` overrides it); nothing of it is committed. The test
//! - reads `end-to-end-test.sh` at run time: its enabled and disabled collectors, its collector flags (with
//!   the x86_64 values of its `${cpu_info_*}` variables), its `--path.*` flags, its `skip_re` and the
//!   output file it compares with — so a new upstream version is followed, and a script whose shape
//!   changed fails here instead of testing nothing;
//! - unpacks `sys.ttar` and `udev.ttar` (common/ttar.rs) beside a copy of `collector/fixtures` in a
//!   temporary directory and runs `agent --once` there with the same relative paths, the node family
//!   only (`--no-collector.ebpf --no-collector.container`). Collectors and flags the agent does not have
//!   are dropped and listed;
//! - compares names, label sets, values, TYPE and HELP, leaving out what the script skips and what is the
//!   exporters' own (go_*, process_*, promhttp_*, hostlens_*, node_exporter_build_info,
//!   node_scrape_collector_duration_seconds);
//! - prints a table per collector and the differences (the first 8 per collector;
//!   `NODE_FIXTURES_DIFFS=all` or a number for more; `NODE_FIXTURES_MARKDOWN=1` adds README.md's table);
//! - fails only on regressions against `node_fixtures_baseline.txt`: one line per sample, TYPE and HELP
//!   that matched when it was recorded. `UPDATE_BASELINE=1` rewrites it and says so.
//!
//! A second test runs node_exporter 1.11 itself through the same harness and requires it to reproduce its
//! own e2e-output.txt (but for what Debian's build does differently, `DEBIAN_BUILD_DIFFERS`), byte for byte
//! and in the same family order: the check of the extraction, the flags, the skips and the comparison.
//!
//! Both are marked `#[ignore]` (plain `cargo test` lists them as not run, with the reason); `make test` and
//! `make fixtures-test` run them, and then a missing source tree fails them with the fix.
//!
//! Samples are attributed to collectors by name prefix (`COLLECTOR_PREFIXES`, from node_exporter's
//! collector sources; the longest prefix wins). That one table serves both sides, also for collectors the
//! agent does not have, where running the agent one collector at a time could not tell anything; a name no
//! prefix covers lands in the row `?`, visible in the table.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{agent_bin, parse_exposition, ttar};
use hostlens_collectors::node::textfile::format::parse_text_format;
use hostlens_exposition::float::go_float;

const BASELINE: &str = "tests/node_fixtures_baseline.txt";

/// Metric name prefixes of node_exporter's collectors (its `collector/*_linux.go`); the longest match
/// wins. `node_scrape_collector_success` goes to the collector in its `collector` label, names outside
/// `node_` come from text files.
const COLLECTOR_PREFIXES: &[(&str, &str)] = &[
    ("node_arp_", "arp"),
    ("node_bcache_", "bcache"),
    ("node_bcachefs_", "bcachefs"),
    ("node_bonding_", "bonding"),
    ("node_btrfs_", "btrfs"),
    ("node_buddyinfo_", "buddyinfo"),
    ("node_cgroups_", "cgroups"),
    ("node_nf_conntrack_", "conntrack"),
    ("node_cpu_", "cpu"),
    ("node_cpu_frequency_", "cpufreq"),
    ("node_cpu_scaling_", "cpufreq"),
    ("node_cpu_vulnerabilities_", "cpu_vulnerabilities"),
    ("node_disk_", "diskstats"),
    ("node_dmi_", "dmi"),
    ("node_dmmultipath_", "dmmultipath"),
    ("node_drbd_", "drbd"),
    ("node_edac_", "edac"),
    ("node_entropy_", "entropy"),
    ("node_fibrechannel_", "fibrechannel"),
    ("node_filefd_", "filefd"),
    ("node_filesystem_", "filesystem"),
    ("node_hwmon_", "hwmon"),
    ("node_infiniband_", "infiniband"),
    ("node_interrupts_", "interrupts"),
    ("node_ipvs_", "ipvs"),
    ("node_kernel_hung_", "kernel_hung"),
    ("node_ksmd_", "ksmd"),
    ("node_lnstat_", "lnstat"),
    ("node_load1", "loadavg"),
    ("node_load5", "loadavg"),
    ("node_load15", "loadavg"),
    ("node_md_", "mdadm"),
    ("node_memory_", "meminfo"),
    ("node_memory_numa_", "meminfo_numa"),
    ("node_mountstats_", "mountstats"),
    ("node_network_", "netclass"),
    ("node_network_receive_", "netdev"),
    ("node_network_transmit_", "netdev"),
    ("node_network_transmit_queue_length", "netclass"),
    ("node_netstat_", "netstat"),
    ("node_nfs_", "nfs"),
    ("node_nfsd_", "nfsd"),
    ("node_nvme_", "nvme"),
    ("node_nvmesubsystem_", "nvmesubsystem"),
    ("node_os_", "os"),
    ("node_pcidevice_", "pcidevice"),
    ("node_power_supply_", "powersupplyclass"),
    ("node_pressure_", "pressure"),
    ("node_processes_", "processes"),
    ("node_qdisc_", "qdisc"),
    ("node_rapl_", "rapl"),
    ("node_schedstat_", "schedstat"),
    ("node_selinux_", "selinux"),
    ("node_slabinfo_", "slabinfo"),
    ("node_sockstat_", "sockstat"),
    ("node_softirqs_functions_", "softirqs"),
    ("node_softnet_", "softnet"),
    ("node_boot_time_seconds", "stat"),
    ("node_context_switches_total", "stat"),
    ("node_forks_total", "stat"),
    ("node_intr_total", "stat"),
    ("node_procs_", "stat"),
    ("node_softirqs_total", "stat"),
    ("node_sysctl_", "sysctl"),
    ("node_tape_", "tapestats"),
    ("node_textfile_", "textfile"),
    ("node_thermal_zone_", "thermal_zone"),
    ("node_cooling_device_", "thermal_zone"),
    ("node_time_", "time"),
    ("node_timex_", "timex"),
    ("node_udp_queues", "udp_queues"),
    ("node_uname_", "uname"),
    ("node_vmstat_", "vmstat"),
    ("node_watchdog_", "watchdog"),
    ("node_wifi_", "wifi"),
    ("node_xfrm_", "xfrm"),
    ("node_xfs_", "xfs"),
    ("node_zfs_", "zfs"),
    ("node_zoneinfo_", "zoneinfo"),
];

/// The family-level checks (TYPE, HELP) of `node_scrape_collector_success` belong to no one collector.
const SCRAPE_ROW: &str = "(scrape)";

fn collector_of(name: &str, labels: &BTreeMap<String, String>) -> String {
    if name == "node_scrape_collector_success" {
        return labels
            .get("collector")
            .cloned()
            .unwrap_or_else(|| SCRAPE_ROW.into());
    }
    if !name.starts_with("node_") {
        return "textfile".into();
    }
    COLLECTOR_PREFIXES
        .iter()
        .filter(|(p, _)| name.starts_with(p))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| "?".into())
}

fn collector_of_family(family: &str) -> String {
    if family == "node_scrape_collector_success" {
        SCRAPE_ROW.into()
    } else {
        collector_of(family, &BTreeMap::new())
    }
}

/// Self metrics of either exporter, not part of any collector.
fn is_exporter_own(name: &str) -> bool {
    ["go_", "process_", "promhttp_", "hostlens_"]
        .iter()
        .any(|p| name.starts_with(p))
        || name == "node_exporter_build_info"
        || name == "node_scrape_collector_duration_seconds"
}

// ---------------------------------------------------------------------------------------------------------
// end-to-end-test.sh

/// What `end-to-end-test.sh` runs node_exporter with.
#[derive(Debug, Default, PartialEq)]
struct E2e {
    enabled: Vec<String>,
    disabled: Vec<String>,
    /// The collector flags after the x86_64 values of the script's variables are put in, word-split as
    /// the shell does (`set -f`: no globbing).
    flags: Vec<String>,
    /// `--path.*=...` of the node_exporter command line, quotes removed.
    paths: Vec<String>,
    /// `skip_re` as the literal prefixes it matches.
    skip: Vec<String>,
    /// The expected output, relative to the source tree (x86_64's).
    fixture: String,
}

/// The lines of the here-document opened by the line `opener` (e.g. `enabled_collectors=$(cat <<
/// COLLECTORS`), trimmed, blank ones dropped.
fn heredoc(script: &str, opener: &str) -> Result<Vec<String>, String> {
    let end = opener
        .split_whitespace()
        .last()
        .ok_or("empty here-document opener")?;
    let mut lines = script.lines().skip_while(|l| l.trim() != opener);
    if lines.next().is_none() {
        return Err(format!("no line `{opener}`"));
    }
    let mut out = Vec::new();
    for l in lines {
        if l.trim() == end {
            return Ok(out);
        }
        if !l.trim().is_empty() {
            out.push(l.trim().to_string());
        }
    }
    Err(format!(
        "the here-document of `{opener}` has no end line `{end}`"
    ))
}

/// `^(a|b(c|d))`-style prefix regexps (the script's `skip_re`) as the literal prefixes they match. Any
/// other regexp syntax is an error: the test must then learn it, not guess.
fn regex_prefixes(re: &str) -> Result<Vec<String>, String> {
    fn alternatives(p: &[u8], i: &mut usize) -> Result<Vec<String>, String> {
        let mut done = Vec::new();
        let mut current = vec![String::new()];
        while *i < p.len() {
            match p[*i] {
                b'(' => {
                    *i += 1;
                    let inner = alternatives(p, i)?;
                    if p.get(*i) != Some(&b')') {
                        return Err("unbalanced `(`".into());
                    }
                    *i += 1;
                    current = current
                        .iter()
                        .flat_map(|a| inner.iter().map(move |b| format!("{a}{b}")))
                        .collect();
                }
                b')' => break,
                b'|' => {
                    *i += 1;
                    done.append(&mut current);
                    current = vec![String::new()];
                }
                c if b".*+?[]{}\\$^".contains(&c) => {
                    return Err(format!("regexp syntax `{}` not supported", c as char));
                }
                c => {
                    current.iter_mut().for_each(|s| s.push(c as char));
                    *i += 1;
                }
            }
        }
        done.append(&mut current);
        Ok(done)
    }
    let body = re
        .strip_prefix('^')
        .ok_or_else(|| format!("{re:?}: not anchored with ^"))?;
    let mut i = 0;
    let out = alternatives(body.as_bytes(), &mut i).map_err(|e| format!("{re:?}: {e}"))?;
    if i != body.len() {
        return Err(format!("{re:?}: unbalanced `)`"));
    }
    Ok(out)
}

/// `name='value'` assignments of the `x86_64)` branch of the script's `case "${arch}"`.
fn x86_64_vars(script: &str) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    let mut lines = script.lines().skip_while(|l| l.trim() != "x86_64)");
    lines.next().ok_or("no `x86_64)` branch")?;
    for l in lines {
        let l = l.trim();
        if l == ";;" {
            return Ok(vars);
        }
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| format!("x86_64 branch: `name='value'` expected: {l:?}"))?;
        let v = v
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .ok_or_else(|| format!("x86_64 branch: a single-quoted value expected: {l:?}"))?;
        vars.insert(k.to_string(), v.to_string());
    }
    Err("the x86_64 branch has no `;;`".into())
}

/// `text` with `${name}` replaced by `vars[name]`; an unknown variable is an error.
fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find('}')
            .ok_or_else(|| format!("unterminated ${{ in {text:?}"))?;
        let v = vars
            .get(&after[..j])
            .ok_or_else(|| format!("unknown variable ${{{}}} in {text:?}", &after[..j]))?;
        out.push_str(v);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_e2e(script: &str) -> Result<E2e, String> {
    let enabled = heredoc(script, "enabled_collectors=$(cat << COLLECTORS")?;
    let disabled = heredoc(script, "disabled_collectors=$(cat << COLLECTORS")?;
    let mut vars = x86_64_vars(script)?;
    vars.insert("extra_flags".into(), String::new());
    let mut flags = Vec::new();
    for l in heredoc(script, "collector_flags=$(cat << FLAGS")? {
        flags.extend(
            substitute(&l, &vars)?
                .split_whitespace()
                .map(str::to_string),
        );
    }
    let skip = script
        .lines()
        .find_map(|l| l.strip_prefix("skip_re=\""))
        .and_then(|l| l.strip_suffix('"'))
        .ok_or("no line `skip_re=\"...\"`")?;
    let skip = regex_prefixes(skip)?;
    let mut paths = Vec::new();
    let mut cmd = script
        .lines()
        .skip_while(|l| l.trim() != "./node_exporter \\");
    cmd.next().ok_or("no line `./node_exporter \\`")?;
    for l in cmd {
        for w in l.split_whitespace() {
            if w.starts_with("--path.") {
                paths.push(w.replace('"', ""));
            }
        }
        if !l.trim_end().ends_with('\\') {
            break;
        }
    }
    if paths.is_empty() {
        return Err("the node_exporter command line has no --path.* flags".into());
    }
    let fixture = script
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("*) fixture_metrics='")
                .and_then(|r| r.split('\'').next())
        })
        .ok_or("no line `*) fixture_metrics='...'`")?
        .to_string();
    Ok(E2e {
        enabled,
        disabled,
        flags,
        paths,
        skip,
        fixture,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Comparison

/// One side: samples (key, name, labels, value) in output order, TYPE and HELP by family.
#[derive(Debug, Default)]
struct Side {
    samples: Vec<(String, String, BTreeMap<String, String>, f64)>,
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    /// Why HELP could not be read, when the library's parser rejected the text.
    help_error: Option<String>,
    /// The sample lines as written (comments and blank lines left out), for the byte-for-byte check.
    lines: BTreeSet<String>,
    /// Families in the order they are written (when the library's parser read the text).
    family_order: Vec<String>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `name{a="x",b="y"}` with the label pairs sorted.
fn sample_key(name: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

/// The family of a sample name: itself, or without `_sum`/`_count`/`_bucket` when that is a summary or
/// histogram.
fn family_of(name: &str, types: &BTreeMap<String, String>) -> String {
    if !types.contains_key(name) {
        for suffix in ["_sum", "_count", "_bucket"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if matches!(
                    types.get(base).map(String::as_str),
                    Some("summary" | "histogram")
                ) {
                    return base.to_string();
                }
            }
        }
    }
    name.to_string()
}

fn read_side(text: &str, skip: &[String]) -> Result<Side, String> {
    let e = parse_exposition(text)?;
    let keep = |n: &str| !is_exporter_own(n) && !skip.iter().any(|p| n.starts_with(p.as_str()));
    let mut side = Side {
        types: e.types.clone(),
        ..Side::default()
    };
    for s in &e.series {
        if keep(&s.name) {
            side.samples.push((
                sample_key(&s.name, &s.labels),
                s.name.clone(),
                s.labels.clone(),
                s.value,
            ));
        }
    }
    side.lines = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    match parse_text_format(text) {
        Ok(families) => {
            side.family_order = families.iter().map(|f| f.name.clone()).collect();
            side.helps = families
                .into_iter()
                .filter_map(|f| f.help.map(|h| (f.name, h)))
                .collect()
        }
        Err(e) => side.help_error = Some(e.0),
    }
    Ok(side)
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Row {
    expected: usize,
    matched: usize,
    value_differs: usize,
    missing: usize,
    extra: usize,
    type_differs: usize,
    help_differs: usize,
    /// Same value, but the line is not node_exporter's byte for byte (Go's float format, label order,
    /// escaping).
    text_differs: usize,
}

/// The outcome of a comparison: rows and differences by collector, the baseline lines that match now,
/// and what happened to each baseline-able line that does not.
#[derive(Debug, Default)]
struct Outcome {
    rows: BTreeMap<String, Row>,
    diffs: BTreeMap<String, Vec<String>>,
    matched: BTreeSet<String>,
    state: BTreeMap<String, String>,
    /// Expected samples whose line this test cannot render as node_exporter wrote it (a defect here).
    unrendered: Vec<String>,
    /// Where the order of the families both serve first differs: (position, ours, node_exporter's);
    /// `None` when it is the same.
    order: Option<(usize, String, String)>,
    /// Every difference as (metric or family name, sample key or family, what): what
    /// `node_exclusions.txt` may excuse.
    problems: Vec<(String, String, String)>,
}

impl Outcome {
    /// Record a difference of collector `c` about `name` (`key`: the sample key, or the family).
    fn problem(&mut self, c: String, name: &str, key: &str, d: String) {
        self.problems
            .push((name.to_string(), key.to_string(), d.clone()));
        self.diffs.entry(c).or_default().push(d);
    }
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn compare(expected: &Side, ours: &Side) -> Outcome {
    let mut o = Outcome::default();
    let mut ours_by_key: BTreeMap<&str, f64> = BTreeMap::new();
    let mut our_families = BTreeSet::new();
    for (key, name, labels, v) in &ours.samples {
        our_families.insert(family_of(name, &ours.types));
        if ours_by_key.insert(key, *v).is_some() {
            let c = collector_of(name, labels);
            o.rows.entry(c.clone()).or_default().extra += 1;
            o.problem(
                c,
                name,
                key,
                format!("duplicate: {key} = {v} (a second sample with this key)"),
            );
        }
    }
    let mut text_diffs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut expected_keys = BTreeSet::new();
    let mut expected_families = BTreeSet::new();
    for (key, name, labels, v) in &expected.samples {
        expected_keys.insert(key.as_str());
        expected_families.insert(family_of(name, &expected.types));
        let c = collector_of(name, labels);
        let line = format!("{c}\tsample\t{key}");
        let row = o.rows.entry(c.clone()).or_default();
        row.expected += 1;
        match ours_by_key.get(key.as_str()) {
            Some(ov) if same(*ov, *v) => {
                row.matched += 1;
                o.matched.insert(line);
                // node_exporter's line, as client_golang writes it: labels sorted, Go's float format.
                let theirs = format!("{key} {}", go_float(*v));
                if !expected.lines.contains(&theirs) {
                    o.unrendered.push(theirs);
                } else if ours.lines.contains(&theirs) {
                    o.matched.insert(format!("{c}\ttext\t{key}"));
                } else {
                    row.text_differs += 1;
                    let prefix = format!("{key} ");
                    let our_line = ours.lines.iter().find(|l| l.starts_with(&prefix)).map_or(
                        "(labels in another order or escaped otherwise)",
                        String::as_str,
                    );
                    let d = format!("text differs: expected `{theirs}`, ours `{our_line}`");
                    o.state.insert(format!("{c}\ttext\t{key}"), d.clone());
                    o.problems.push((name.clone(), key.clone(), d.clone()));
                    text_diffs.entry(c).or_default().push(d);
                }
            }
            Some(ov) => {
                row.value_differs += 1;
                let d = format!("value differs: {key}: expected {v}, ours {ov}");
                o.state.insert(line, d.clone());
                o.problem(c, name, key, d);
            }
            None => {
                row.missing += 1;
                let d = format!("missing: {key} = {v}");
                o.state.insert(line, d.clone());
                o.problem(c, name, key, d);
            }
        }
    }
    // Formatting differences after the others: the first N of a collector show what is missing first.
    for (c, d) in text_diffs {
        o.diffs.entry(c).or_default().extend(d);
    }
    // client_golang writes families sorted by name; compare the order of the families both serve.
    let both: BTreeSet<&String> = expected
        .family_order
        .iter()
        .filter(|f| ours.family_order.contains(f))
        .collect();
    let theirs_order: Vec<&String> = expected
        .family_order
        .iter()
        .filter(|f| both.contains(f))
        .collect();
    let ours_order: Vec<&String> = ours
        .family_order
        .iter()
        .filter(|f| both.contains(f))
        .collect();
    let order_line = format!("{SCRAPE_ROW}\torder\tfamilies");
    match ours_order
        .iter()
        .zip(&theirs_order)
        .position(|(a, b)| a != b)
    {
        None => {
            o.matched.insert(order_line);
        }
        Some(i) => {
            let (ours_f, theirs_f) = (ours_order[i].to_string(), theirs_order[i].to_string());
            o.state.insert(
                order_line,
                format!("family #{i}: ours writes {ours_f} where node_exporter writes {theirs_f}"),
            );
            o.order = Some((i, ours_f, theirs_f));
        }
    }
    let mut seen = BTreeSet::new();
    for (key, name, labels, v) in &ours.samples {
        if !expected_keys.contains(key.as_str()) && seen.insert(key.as_str()) {
            let c = collector_of(name, labels);
            o.rows.entry(c.clone()).or_default().extra += 1;
            o.problem(c, name, key, format!("extra: {key} = {v}"));
        }
    }
    for f in &expected_families {
        let c = collector_of_family(f);
        if !our_families.contains(f) {
            let why = format!("no {f} samples in ours");
            o.state.insert(format!("{c}\tTYPE\t{f}"), why.clone());
            o.state.insert(format!("{c}\tHELP\t{f}"), why);
            continue;
        }
        let et = expected.types.get(f).map_or("untyped", String::as_str);
        let ot = ours.types.get(f).map_or("untyped", String::as_str);
        let line = format!("{c}\tTYPE\t{f}");
        if et == ot {
            o.matched.insert(line);
        } else {
            o.rows.entry(c.clone()).or_default().type_differs += 1;
            let d = format!("TYPE differs: {f}: expected {et}, ours {ot}");
            o.state.insert(line, d.clone());
            o.problem(c.clone(), f, f, d);
        }
        let eh = expected.helps.get(f);
        let oh = ours.helps.get(f);
        let line = format!("{c}\tHELP\t{f}");
        if eh == oh {
            o.matched.insert(line);
        } else {
            o.rows.entry(c.clone()).or_default().help_differs += 1;
            let show = |h: Option<&String>| h.map_or("(none)".to_string(), |h| format!("{h:?}"));
            let d = format!(
                "HELP differs: {f}: expected {}, ours {}",
                show(eh),
                show(oh)
            );
            o.state.insert(line, d.clone());
            o.problem(c, f, f, d);
        }
    }
    o
}

/// `agent/tests/node_exclusions.txt`: `pattern<TAB>reason` lines. A pattern is a metric name, a prefix ending
/// in `*`, or (this test only) one sample key as `e2e-output.txt` writes it (`name{label="value"}`).
fn exclusions(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (p, why) = l.split_once('\t').unwrap_or_else(|| {
                panic!("{}: `pattern<TAB>reason` expected: {l:?}", path.display())
            });
            assert!(
                !why.trim().is_empty(),
                "{}: {p} has no reason",
                path.display()
            );
            (p.to_string(), why.trim().to_string())
        })
        .collect()
}

/// The exclusion that excuses a difference about `name` / `key`, if any.
fn excused<'a>(ex: &'a [(String, String)], name: &str, key: &str) -> Option<&'a (String, String)> {
    ex.iter().find(|(p, _)| {
        p == name
            || p == key
            || p.strip_suffix('*')
                .is_some_and(|prefix| name.starts_with(prefix))
    })
}

/// The table as README.md shows it (collectors the agent has; the others in one sentence).
fn markdown_table(rows: &BTreeMap<String, Row>, ours: &BTreeSet<String>) -> String {
    let mut s = String::from(
        "| collector | expected | matched | of which byte for byte | value differs | missing | extra |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut total = Row::default();
    let mut lacking = Vec::new();
    for (c, r) in rows {
        total.expected += r.expected;
        total.matched += r.matched;
        total.text_differs += r.text_differs;
        total.value_differs += r.value_differs;
        total.missing += r.missing;
        total.extra += r.extra;
        if !ours.contains(c) && c != SCRAPE_ROW && c != "?" {
            lacking.push(format!("{c} {}", r.expected));
            continue;
        }
        s.push_str(&format!(
            "| {c} | {} | {} | {} | {} | {} | {} |\n",
            r.expected,
            r.matched,
            r.matched - r.text_differs,
            r.value_differs,
            r.missing,
            r.extra
        ));
    }
    s.push_str(&format!(
        "| **total** | **{}** | **{}** | {} | {} | {} | {} |\n\n",
        total.expected,
        total.matched,
        total.matched - total.text_differs,
        total.value_differs,
        total.missing,
        total.extra
    ));
    if !lacking.is_empty() {
        s.push_str(&format!(
            "Collectors the agent does not have yet (expected samples, 0 matched): {}.\n",
            lacking.join(", ")
        ));
    }
    s
}

fn print_table(rows: &BTreeMap<String, Row>, ours: &BTreeSet<String>) {
    println!(
        "\n  {:<20} {:>5} {:>8} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6}",
        "collector",
        "ours?",
        "expected",
        "matched",
        "value≠",
        "missing",
        "extra",
        "TYPE≠",
        "HELP≠",
        "text≠"
    );
    let mut total = Row::default();
    for (c, r) in rows {
        let has = if c == SCRAPE_ROW || c == "?" {
            "-"
        } else if ours.contains(c) {
            "yes"
        } else {
            "no"
        };
        println!(
            "  {c:<20} {has:>5} {:>8} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6}",
            r.expected,
            r.matched,
            r.value_differs,
            r.missing,
            r.extra,
            r.type_differs,
            r.help_differs,
            r.text_differs
        );
        total.expected += r.expected;
        total.matched += r.matched;
        total.value_differs += r.value_differs;
        total.missing += r.missing;
        total.extra += r.extra;
        total.type_differs += r.type_differs;
        total.help_differs += r.help_differs;
        total.text_differs += r.text_differs;
    }
    println!(
        "  {:<20} {:>5} {:>8} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6}",
        "total",
        "",
        total.expected,
        total.matched,
        total.value_differs,
        total.missing,
        total.extra,
        total.type_differs,
        total.help_differs,
        total.text_differs
    );
    println!(
        "  (samples; TYPE≠ and HELP≠ count families present on both sides; text≠ counts matched samples \
         whose line is not node_exporter's byte for byte)"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Baseline

fn read_baseline(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn render_baseline(version: &str, matched: &BTreeSet<String>) -> String {
    let mut s = format!(
        "# What the agent matches of node_exporter {version}'s collector/fixtures/e2e-output.txt, run on its\n\
         # fixtures as end-to-end-test.sh runs node_exporter (agent/tests/node_exporter_fixtures.rs). One line\n\
         # per collector<TAB>sample<TAB>key (name, labels and value equal), collector<TAB>text<TAB>key (the\n\
         # line byte for byte too), collector<TAB>TYPE<TAB>family, collector<TAB>HELP<TAB>family. A line that\n\
         # stops matching fails the test; record progress with\n\
         # UPDATE_BASELINE=1 cargo test -p hostlens-agent --test node_exporter_fixtures -- --include-ignored\n"
    );
    for l in matched {
        s.push_str(l);
        s.push('\n');
    }
    s
}

// ---------------------------------------------------------------------------------------------------------
// Running the agent

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("hostlens-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)
            .unwrap_or_else(|e| panic!("creating the temporary directory {}: {e}", d.display()));
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_FIXTURES").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Copy the tree `from` into `to`, symlinks as symlinks, skipping files for which `skip` is true.
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<(), String> {
    let err = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    std::fs::create_dir_all(to).map_err(|e| err("creating", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| err("listing", from, e))? {
        let entry = entry.map_err(|e| err("listing", from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if skip(&src) {
            continue;
        }
        let ft = entry.file_type().map_err(|e| err("stat", &src, e))?;
        if ft.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| err("readlink", &src, e))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(|e| err("symlinking", &dst, e))?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst, skip)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| err("copying", &src, e))?;
        }
    }
    Ok(())
}

/// Whether the test runs as root (`/proc/self` belongs to the effective user).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Add read permission for everyone to every regular file under `dir`; returns how many changed.
fn make_readable(dir: &Path) -> Result<usize, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut n = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("listing {}: {e}", dir.display()))?;
        let ft = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if ft.is_dir() {
            n += make_readable(&entry.path())?;
        } else if ft.is_file() {
            let p = entry.path();
            let mode = p
                .metadata()
                .map_err(|e| format!("{}: {e}", p.display()))?
                .permissions()
                .mode();
            if mode & 0o444 != 0o444 {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | 0o444))
                    .map_err(|e| format!("chmod {}: {e}", p.display()))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

fn agent_output(args: &[&str]) -> String {
    let out = Command::new(agent_bin())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running agent {args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The node collectors the agent has, and every flag its `--help` names.
fn agent_capabilities() -> (BTreeSet<String>, BTreeSet<String>) {
    let collectors = agent_output(&["--list-collectors"])
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let flags = agent_output(&["--help"])
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .to_string()
        })
        .collect();
    (collectors, flags)
}

/// The agent's equivalent of the script's flag, or why there is none.
fn our_flag(
    flag: &str,
    collectors: &BTreeSet<String>,
    help: &BTreeSet<String>,
) -> Result<String, String> {
    let name = flag.split('=').next().unwrap_or(flag);
    let collector = name
        .strip_prefix("--collector.")
        .or_else(|| name.strip_prefix("--no-collector."));
    if let Some(c) = collector.filter(|c| !c.contains('.')) {
        return if collectors.contains(c) {
            Ok(flag.to_string())
        } else {
            Err(format!("{flag} (no collector {c})"))
        };
    }
    if help.contains(name) {
        Ok(flag.to_string())
    } else {
        Err(format!("{flag} (no such flag)"))
    }
}

fn diff_limit() -> usize {
    match std::env::var("NODE_FIXTURES_DIFFS") {
        Ok(v) if v == "all" => usize::MAX,
        Ok(v) => v.parse().unwrap_or(8),
        Err(_) => 8,
    }
}

/// node_exporter's fixtures unpacked as end-to-end-test.sh sees them, and what the script runs with.
struct Fixtures {
    src: PathBuf,
    version: String,
    e2e: E2e,
    /// The directory to run in: `collector/fixtures` with `sys/` and `udev/` unpacked.
    work: TempDir,
}

impl Fixtures {
    fn prepare(tag: &str) -> Fixtures {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let src = std::env::var_os("NODE_EXPORTER_SRC")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("../.cache/node-exporter-src"));
        let script_path = src.join("end-to-end-test.sh");
        // Plain `cargo test` lists the tests that need this as ignored, with the reason. Run explicitly
        // (`make test`, `--include-ignored`), a missing tree is a failure: returning early would count a
        // skip as a pass.
        assert!(
            script_path.is_file(),
            "prerequisite missing: {} not found: node_exporter's source tree with its fixtures is not \
             unpacked. Fix: `make test-deps` (scripts/test-deps.sh fetches Debian sid's \
             prometheus-node-exporter source), or set NODE_EXPORTER_SRC to a node_exporter checkout.",
            script_path.display()
        );
        let version = std::fs::read_to_string(src.join("VERSION"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| "(no VERSION file)".into());
        let script = std::fs::read_to_string(&script_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", script_path.display()));
        let e2e = parse_e2e(&script).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: the script's shape changed; teach parse_e2e in {} the new one",
                script_path.display(),
                file!()
            )
        });
        let work = TempDir::new(tag);
        let fixtures = work.0.join("collector/fixtures");
        copy_tree(&src.join("collector/fixtures"), &fixtures, &|p| {
            p.extension().is_some_and(|e| e == "ttar")
        })
        .unwrap_or_else(|e| panic!("copying node_exporter's fixtures: {e}"));
        for archive in ["sys.ttar", "udev.ttar"] {
            ttar::extract(&src.join("collector/fixtures").join(archive), &fixtures)
                .unwrap_or_else(|e| panic!("unpacking {archive}: {e}"));
        }
        // e2e-output.txt was recorded as root: node_exporter read the mode-0400 files (DMI serials). Not
        // root, make them readable, so the exporter under test sees what node_exporter saw.
        if !is_root() {
            let n = make_readable(&fixtures)
                .unwrap_or_else(|e| panic!("making the fixtures readable: {e}"));
            println!(
                "not root: made {n} fixture file(s) of mode 0400/0600 readable, as root reads them"
            );
        }
        println!("node_exporter {version} fixtures in {}", work.0.display());
        Fixtures {
            src,
            version,
            e2e,
            work,
        }
    }

    /// e2e-output.txt, read as the script compares it.
    fn expected(&self) -> Side {
        let path = self.src.join(&self.e2e.fixture);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let side = read_side(&text, &self.e2e.skip)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        assert!(
            side.samples.len() > 1000,
            "{} has only {} samples after skipping {:?}",
            path.display(),
            side.samples.len(),
            self.e2e.skip
        );
        side
    }
}

#[test]
#[ignore = "needs `make test-deps` (node_exporter's source tree with its fixtures in .cache/node-exporter-src)"]
fn agent_matches_node_exporter_e2e_output_on_its_fixtures() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fx = Fixtures::prepare("ne-fixtures");
    let (e2e, version, work) = (&fx.e2e, &fx.version, &fx.work);

    let (collectors, help) = agent_capabilities();
    assert!(
        collectors.contains("cpu") && help.contains("--path.procfs"),
        "agent --list-collectors / --help did not list what they did (cpu, --path.procfs): {collectors:?}"
    );
    let mut wanted: Vec<String> = e2e.paths.clone();
    wanted.extend(e2e.enabled.iter().map(|c| format!("--collector.{c}")));
    wanted.extend(e2e.disabled.iter().map(|c| format!("--no-collector.{c}")));
    wanted.extend(e2e.flags.iter().cloned());
    let mut args = Vec::new();
    let mut dropped = Vec::new();
    for f in &wanted {
        match our_flag(f, &collectors, &help) {
            Ok(f) => args.push(f),
            Err(why) => dropped.push(why),
        }
    }
    args.extend(
        ["--no-collector.ebpf", "--no-collector.container", "--once"]
            .iter()
            .map(|s| s.to_string()),
    );
    println!("agent {}", args.join(" "));
    println!("dropped ({}): {}", dropped.len(), dropped.join(", "));

    let out = Command::new(agent_bin())
        .current_dir(&work.0)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("running the agent: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // --once exits 1 when a collector failed, which is part of the gap; anything else is not.
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !stdout.trim().is_empty(),
        "agent --once on the fixtures: {}\n{stderr}",
        out.status
    );
    for l in stderr.lines().filter(|l| l.starts_with("agent:")).take(30) {
        println!("  {l}");
    }

    let expected = fx.expected();
    let ours =
        read_side(&stdout, &e2e.skip).unwrap_or_else(|e| panic!("parsing the agent's output: {e}"));
    if let Some(e) = &ours.help_error {
        println!("  the library's text parser rejects the agent's output ({e}): HELP not compared");
    }

    let o = compare(&expected, &ours);
    assert!(
        o.unrendered.len() < 10,
        "this test renders {} of node_exporter's sample lines otherwise than it wrote them (sample_key or \
         go_float disagree with client_golang), e.g. {:?}",
        o.unrendered.len(),
        &o.unrendered[..o.unrendered.len().min(5)]
    );
    println!(
        "\nThe agent on node_exporter {version}'s fixtures, against {}:",
        e2e.fixture
    );
    print_table(&o.rows, &collectors);
    if std::env::var_os("NODE_FIXTURES_MARKDOWN").is_some() {
        println!("\n{}", markdown_table(&o.rows, &collectors));
    }
    match &o.order {
        None => println!("\n  Family order: the same as node_exporter's (client_golang sorts by name)"),
        Some((i, ours_f, theirs_f)) => println!(
            "\n  Family order: not node_exporter's (client_golang sorts by name): family #{i} of those both \
             serve is {ours_f} in ours, {theirs_f} in node_exporter's"
        ),
    }
    let limit = diff_limit();
    for (c, diffs) in &o.diffs {
        println!("\n  {c}: {} difference(s)", diffs.len());
        for d in diffs.iter().take(limit) {
            println!("    {d}");
        }
        if diffs.len() > limit {
            println!(
                "    ... {} more (NODE_FIXTURES_DIFFS=all prints them)",
                diffs.len() - limit
            );
        }
    }

    // Every difference must be excused by node_exclusions.txt, with its reason; the rest is a failure.
    let ex = exclusions(&manifest.join("tests/node_exclusions.txt"));
    let mut excused_by: BTreeMap<&(String, String), usize> = BTreeMap::new();
    let mut unexcused = Vec::new();
    for (name, key, d) in &o.problems {
        match excused(&ex, name, key) {
            Some(e) => *excused_by.entry(e).or_default() += 1,
            None => unexcused.push(d.as_str()),
        }
    }
    println!(
        "\nExclusions (tests/node_exclusions.txt) that excused differences here: {}",
        excused_by.len()
    );
    for ((p, why), n) in &excused_by {
        println!("  EXCLUDED {p} ({n}x): {why}");
    }
    println!(
        "Differences not excused: {}{}",
        unexcused.len(),
        if unexcused.is_empty() {
            ""
        } else {
            " (each is a failure)"
        }
    );
    for d in &unexcused {
        println!("  UNEXCUSED {d}");
    }

    let baseline_path = manifest.join(BASELINE);
    if std::env::var_os("UPDATE_BASELINE").is_some() {
        let old = std::fs::read_to_string(&baseline_path)
            .map(|t| read_baseline(&t))
            .unwrap_or_default();
        std::fs::write(&baseline_path, render_baseline(version, &o.matched))
            .unwrap_or_else(|e| panic!("writing {}: {e}", baseline_path.display()));
        println!(
            "\nUPDATE_BASELINE: wrote {} ({} lines; {} new, {} no longer matching)",
            baseline_path.display(),
            o.matched.len(),
            o.matched.difference(&old).count(),
            old.difference(&o.matched).count()
        );
        for l in old.difference(&o.matched) {
            println!("  dropped from the baseline: {l}");
        }
        return;
    }
    let baseline_text = std::fs::read_to_string(&baseline_path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (record it with UPDATE_BASELINE=1)",
            baseline_path.display()
        )
    });
    let baseline = read_baseline(&baseline_text);
    let regressions: Vec<&String> = baseline.difference(&o.matched).collect();
    let progress = o.matched.difference(&baseline).count();
    println!(
        "\nBaseline {}: {} lines, {} still matching, {} regressed, {} new match(es){}",
        BASELINE,
        baseline.len(),
        baseline.len() - regressions.len(),
        regressions.len(),
        progress,
        if progress > 0 {
            " — record them with UPDATE_BASELINE=1"
        } else {
            ""
        }
    );
    for r in &regressions {
        let now = o.state.get(*r).map_or(
            "not in the expected output any more (a new upstream version? check, then UPDATE_BASELINE=1)",
            String::as_str,
        );
        println!("  REGRESSION {r}: {now}");
    }
    assert!(
        regressions.is_empty(),
        "{} sample(s)/TYPE/HELP line(s) of {BASELINE} no longer match node_exporter's e2e-output.txt (see \
         REGRESSION above)",
        regressions.len()
    );
    assert!(
        unexcused.is_empty(),
        "{} difference(s) from node_exporter {version}'s e2e-output.txt that tests/node_exclusions.txt does \
         not excuse (see UNEXCUSED above): fix them, or add `pattern<TAB>reason` with a reason a user would \
         accept",
        unexcused.len()
    );
}

/// Sample keys in which Debian's node_exporter 1.11.1 build differs from upstream's e2e-output.txt on these
/// fixtures (seen 2026-12-01: it serves no NVMe namespace series; Debian builds it against its own
/// golang-github-prometheus-procfs, not the version in go.mod).
const DEBIAN_BUILD_DIFFERS: &[&str] = &["node_nvme_namespace_"];

/// A child process killed and reaped on drop.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start node_exporter (`cmd` listening on port 0) and return it with the port it logs
/// (`msg="Listening on" address=127.0.0.1:PORT`); its stderr is drained by a thread.
fn spawn_listening(mut cmd: Command) -> (KillOnDrop, u16) {
    use std::io::BufRead;
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut log = Vec::new();
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let port = line
                .contains("msg=\"Listening on\"")
                .then(|| {
                    line.split_once(" address=")?
                        .1
                        .split_whitespace()
                        .next()?
                        .rsplit_once(':')?
                        .1
                        .parse::<u16>()
                        .ok()
                })
                .flatten();
            log.push(line);
            if let (Some(p), Some(t)) = (port, tx.as_ref()) {
                let _ = t.send(Ok(p));
                tx = None;
            }
        }
        if let Some(t) = tx {
            let _ = t.send(Err(log.join("\n")));
        }
    });
    let proc = KillOnDrop(child);
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(Ok(port)) => (proc, port),
        Ok(Err(log)) => panic!("node_exporter exited before it said where it listens:\n{log}"),
        Err(_) => panic!("node_exporter did not log its listen address within 20 s"),
    }
}

/// node_exporter itself, run by this harness on the tree it prepares: if it does not reproduce its own
/// e2e-output.txt here, the ttar extraction, the copy, the flags read from the script, the skips or the
/// comparison are wrong, and the agent's table means nothing. Also checks the byte-for-byte rendering
/// (`text≠`) and the family order against node_exporter's own live output.
#[test]
#[ignore = "needs `make test-deps` (node_exporter 1.11 and its source tree with fixtures in .cache)"]
fn harness_reproduces_e2e_output_with_node_exporter_itself() {
    let fx = Fixtures::prepare("ne-fixtures-self");
    let ne = common::tool(
        "NODE_EXPORTER",
        &["prometheus-node-exporter", "node_exporter"],
    );
    let mut cmd = Command::new(&ne);
    cmd.current_dir(&fx.work.0)
        .args(&fx.e2e.paths)
        .args(fx.e2e.enabled.iter().map(|c| format!("--collector.{c}")))
        .args(
            fx.e2e
                .disabled
                .iter()
                .map(|c| format!("--no-collector.{c}")),
        )
        .args(&fx.e2e.flags)
        // Debian's build turns the systemd collector on; upstream's, which recorded e2e-output.txt, not.
        .arg("--no-collector.systemd")
        .arg("--web.listen-address=127.0.0.1:0");
    let (proc, port) = spawn_listening(cmd);
    let body = common::http_get(port, "/metrics")
        .unwrap_or_else(|e| panic!("scraping node_exporter on port {port}: {e}"))
        .body;
    drop(proc);
    let theirs = read_side(&body, &fx.e2e.skip)
        .unwrap_or_else(|e| panic!("parsing node_exporter's output: {e}"));
    let o = compare(&fx.expected(), &theirs);
    println!(
        "\n{} on its own fixtures, through this harness:",
        ne.display()
    );
    print_table(&o.rows, &o.rows.keys().cloned().collect());
    let unexplained: Vec<String> = o
        .state
        .iter()
        .filter(|(line, _)| {
            let key = line.rsplit('\t').next().unwrap_or(line);
            !DEBIAN_BUILD_DIFFERS.iter().any(|p| key.starts_with(p))
        })
        .map(|(line, why)| format!("{line}: {why}"))
        .collect();
    for u in &unexplained {
        println!("  UNEXPLAINED {u}");
    }
    let extra: usize = o.rows.values().map(|r| r.extra).sum();
    assert!(
        unexplained.is_empty() && extra == 0 && o.unrendered.is_empty(),
        "node_exporter does not reproduce its e2e-output.txt through this harness: {} difference(s), {extra} \
         extra sample(s), {} line(s) rendered otherwise (see above)",
        unexplained.len(),
        o.unrendered.len()
    );
    assert_eq!(
        o.order, None,
        "node_exporter's live output has its families in another order than its e2e-output.txt"
    );
    assert!(
        o.matched.len() > 3000,
        "only {} baseline lines matched",
        o.matched.len()
    );
}

// ---------------------------------------------------------------------------------------------------------
// The pieces, on small inputs (these run in every `cargo test`).

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn ttar_lines_decode_as_the_script_does() {
    assert_eq!(ttar::decode_line(b"clean"), (b"clean".to_vec(), true));
    assert_eq!(ttar::decode_line(b"0EOF"), (b"0".to_vec(), false));
    assert_eq!(ttar::decode_line(b"a\\EOF"), (b"aEOF".to_vec(), true));
    assert_eq!(ttar::decode_line(b"EOF"), (b"EOF".to_vec(), true));
    assert_eq!(
        ttar::decode_line(b"NULLBYTEx\\NULLBYTE"),
        (b"\0xNULLBYTE".to_vec(), true)
    );
    assert_eq!(ttar::decode_line(b"aNULLBYTEEOF"), (b"a\0".to_vec(), false));
}

#[test]
fn ttar_archive_unpacks_directories_files_modes_and_symlinks() {
    let d = TempDir::new("ttar-unit");
    let archive = "# Archive created by ttar -c -f x.ttar sys\n\
                   Directory: sys\nMode: 755\n\
                   # ttar - - -\n\
                   Path: sys/a\nLines: 2\nline one\nno newlineEOF\nMode: 400\n\
                   # ttar - - -\n\
                   Path: sys/empty\nLines: 0\nMode: 644\n\
                   # ttar - - -\n\
                   Path: sys/link\nSymlinkTo: a\n";
    let n = ttar::extract_str(archive.as_bytes(), &d.0).expect("extracting");
    assert_eq!(n, 4);
    assert_eq!(
        std::fs::read(d.0.join("sys/a")).expect("sys/a"),
        b"line one\nno newline"
    );
    assert_eq!(
        std::fs::read(d.0.join("sys/empty")).expect("sys/empty"),
        b""
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.0.join("sys/a"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    assert_eq!(
        std::fs::read_link(d.0.join("sys/link")).expect("readlink"),
        Path::new("a")
    );
    let bad = ttar::extract_str(b"Path: ../escape\nLines: 0\n", &d.0);
    assert!(bad.is_err_and(|e| e.contains("leaves the target directory")));
    let bad = ttar::extract_str(b"Path: sys/x\nLines: 3\none\n", &d.0);
    assert!(bad.is_err_and(|e| e.contains("ends inside 3 lines")));
    let bad = ttar::extract_str(b"Bogus: x\n", &d.0);
    assert!(bad.is_err_and(|e| e.contains("unknown keyword")));
}

#[test]
fn skip_regexp_expands_to_prefixes() {
    assert_eq!(
        regex_prefixes("^(go_|node_time_(zone|seconds)|x_(a|b)_(c|d)_total)").expect("expands"),
        [
            "go_",
            "node_time_zone",
            "node_time_seconds",
            "x_a_c_total",
            "x_a_d_total",
            "x_b_c_total",
            "x_b_d_total"
        ]
    );
    assert!(regex_prefixes("^(a.b)").is_err());
    assert!(regex_prefixes("(a)").is_err());
    assert!(regex_prefixes("^(a").is_err());
    assert!(regex_prefixes("^a)").is_err());
}

const MINI_SCRIPT: &str = r#"#!/usr/bin/env bash
enabled_collectors=$(cat << COLLECTORS
  arp
  zfs
COLLECTORS
)
disabled_collectors=$(cat << COLLECTORS
  uname
COLLECTORS
)
skip_re="^(go_|node_time_(zone|seconds))"
case "${arch}" in
  aarch64|ppc64le) fixture_metrics='collector/fixtures/e2e-64k-page-output.txt' ;;
  *) fixture_metrics='collector/fixtures/e2e-output.txt' ;;
esac
case "${arch}" in
  x86_64)
    cpu_info_collector='--collector.cpu.info'
    cpu_info_bugs='^(cpu_meltdown|mds)$'
    ;;
  *)
    cpu_info_collector='--no-collector.cpu.info'
    ;;
esac
collector_flags=$(cat << FLAGS
  ${extra_flags}
  ${cpu_info_collector}
  --collector.cpu.info.bugs-include=${cpu_info_bugs}
  --collector.hwmon.chip-include=(applesmc|coretemp)
FLAGS
)
./node_exporter \
  --path.rootfs="collector/fixtures" \
  --path.procfs="collector/fixtures/proc" \
  $(for c in ${supported_enabled_collectors}; do echo --collector.${c}  ; done) \
  --log.level="debug" > "${tmpdir}/node_exporter.log" 2>&1 &
"#;

#[test]
fn end_to_end_script_is_read_for_collectors_flags_and_paths() {
    let e = parse_e2e(MINI_SCRIPT).expect("parses");
    assert_eq!(e.enabled, ["arp", "zfs"]);
    assert_eq!(e.disabled, ["uname"]);
    assert_eq!(
        e.flags,
        [
            "--collector.cpu.info",
            "--collector.cpu.info.bugs-include=^(cpu_meltdown|mds)$",
            "--collector.hwmon.chip-include=(applesmc|coretemp)"
        ]
    );
    assert_eq!(
        e.paths,
        [
            "--path.rootfs=collector/fixtures",
            "--path.procfs=collector/fixtures/proc"
        ]
    );
    assert_eq!(e.skip, ["go_", "node_time_zone", "node_time_seconds"]);
    assert_eq!(e.fixture, "collector/fixtures/e2e-output.txt");
    let broken = MINI_SCRIPT.replace("  ${extra_flags}", "  ${unknown_var}");
    assert!(parse_e2e(&broken).is_err_and(|e| e.contains("unknown_var")));
    let broken = MINI_SCRIPT.replace("FLAGS\n)", ")");
    assert!(parse_e2e(&broken).is_err());
}

#[test]
fn samples_are_attributed_by_longest_prefix() {
    let none = BTreeMap::new();
    assert_eq!(collector_of("node_cpu_seconds_total", &none), "cpu");
    assert_eq!(collector_of("node_cpu_frequency_hertz", &none), "cpufreq");
    assert_eq!(
        collector_of("node_network_receive_bytes_total", &none),
        "netdev"
    );
    assert_eq!(
        collector_of("node_network_transmit_queue_length", &none),
        "netclass"
    );
    assert_eq!(
        collector_of("node_memory_numa_MemFree", &none),
        "meminfo_numa"
    );
    assert_eq!(collector_of("node_softirqs_total", &none), "stat");
    assert_eq!(
        collector_of("node_softirqs_functions_total", &none),
        "softirqs"
    );
    assert_eq!(collector_of("testmetric1_1", &none), "textfile");
    assert_eq!(collector_of("node_nonesuch", &none), "?");
    assert_eq!(
        collector_of(
            "node_scrape_collector_success",
            &labels(&[("collector", "arp")])
        ),
        "arp"
    );
    assert_eq!(
        collector_of_family("node_scrape_collector_success"),
        SCRAPE_ROW
    );
}

#[test]
fn comparison_counts_each_kind_of_difference() {
    let expected = read_side(
        "# HELP node_arp_entries ARP entries by device\n\
         # TYPE node_arp_entries gauge\n\
         node_arp_entries{device=\"eth0\"} 3\n\
         node_arp_entries{device=\"eth1\"} 3\n\
         node_arp_entries{device=\"eth2\"} 1\n\
         # HELP node_load1 1m load average.\n\
         # TYPE node_load1 gauge\n\
         node_load1 0.21\n\
         # HELP node_load5 5m load average.\n\
         # TYPE node_load5 gauge\n\
         node_load5 1e+06\n\
         # HELP node_time_seconds skipped\n\
         # TYPE node_time_seconds gauge\n\
         node_time_seconds 5\n",
        &["node_time_seconds".to_string()],
    )
    .expect("expected side");
    let ours = read_side(
        "# HELP node_arp_entries ARP entries by device\n\
         # TYPE node_arp_entries untyped\n\
         node_arp_entries{device=\"eth0\"} 3\n\
         node_arp_entries{device=\"eth1\"} 4\n\
         node_arp_entries{device=\"eth9\"} 1\n\
         # HELP node_load1 Load.\n\
         # TYPE node_load1 gauge\n\
         node_load1 0.21\n\
         node_load1 0.21\n\
         # HELP node_load5 5m load average.\n\
         # TYPE node_load5 gauge\n\
         node_load5 1000000\n\
         # HELP node_time_seconds skipped\n\
         # TYPE node_time_seconds gauge\n\
         node_time_seconds 6\n",
        &["node_time_seconds".to_string()],
    )
    .expect("our side");
    let o = compare(&expected, &ours);
    let arp = o.rows.get("arp").expect("arp row");
    assert_eq!(
        *arp,
        Row {
            expected: 3,
            matched: 1,
            value_differs: 1,
            missing: 1,
            extra: 1,
            type_differs: 1,
            help_differs: 0,
            text_differs: 0
        }
    );
    let load = o.rows.get("loadavg").expect("loadavg row");
    assert_eq!(
        (
            load.matched,
            load.extra,
            load.help_differs,
            load.text_differs
        ),
        (2, 1, 1, 1)
    );
    assert!(o.matched.contains("loadavg\ttext\tnode_load1"));
    assert!(!o.matched.contains("loadavg\ttext\tnode_load5"));
    assert!(o.unrendered.is_empty());
    assert_eq!(o.order, None, "arp, load1, load5 in the same order");
    let ours_swapped =
        read_side("node_load1 1\nnode_arp_entries{device=\"eth0\"} 3\n", &[]).expect("swapped");
    let swapped = compare(&expected, &ours_swapped);
    assert_eq!(
        swapped.order,
        Some((0, "node_load1".to_string(), "node_arp_entries".to_string()))
    );
    assert!(
        !o.rows.contains_key("time"),
        "skipped names are not compared"
    );
    assert!(o
        .matched
        .contains("arp\tsample\tnode_arp_entries{device=\"eth0\"}"));
    assert!(o.matched.contains("arp\tHELP\tnode_arp_entries"));
    assert!(!o.matched.contains("arp\tTYPE\tnode_arp_entries"));
    assert!(o.matched.contains("loadavg\tTYPE\tnode_load1"));
    assert_eq!(
        o.state
            .get("arp\tsample\tnode_arp_entries{device=\"eth1\"}")
            .map(String::as_str),
        Some("value differs: node_arp_entries{device=\"eth1\"}: expected 3, ours 4")
    );
    let baseline = read_baseline(&render_baseline("1.11.1", &o.matched));
    assert_eq!(baseline, o.matched, "the baseline file round-trips");
}

#[test]
fn flags_the_agent_lacks_are_dropped_with_the_reason() {
    let collectors: BTreeSet<String> = ["cpu", "hwmon"].iter().map(|s| s.to_string()).collect();
    let help: BTreeSet<String> = ["--collector.cpu.info", "--path.procfs"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        our_flag("--collector.cpu", &collectors, &help),
        Ok("--collector.cpu".into())
    );
    assert_eq!(
        our_flag("--no-collector.hwmon", &collectors, &help),
        Ok("--no-collector.hwmon".into())
    );
    assert!(
        our_flag("--collector.zfs", &collectors, &help).is_err_and(|e| e.contains("no collector"))
    );
    assert!(our_flag("--collector.cpu.info", &collectors, &help).is_ok());
    assert!(our_flag("--path.procfs=x", &collectors, &help).is_ok());
    assert!(
        our_flag("--collector.hwmon.chip-include=(a|b)", &collectors, &help)
            .is_err_and(|e| e.contains("no such flag"))
    );
}
