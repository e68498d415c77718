//! `cpufreq`: node_cpu_frequency_{,avg_,min_,max_}hertz, node_cpu_scaling_frequency_{,min_,max_}hertz{cpu}
//! and node_cpu_scaling_governor{cpu,governor} from `/sys/devices/system/cpu/cpu*/cpufreq/` (kHz in sysfs,
//! Hz here), as node_exporter 1.12.1 (procfs 0.21.1 `SystemCpufreq`) reads them.
//!
//! procfs' rules, which decide whether anything is exported at all:
//! - `devices/system/cpu/offline` must be readable; the CPUs it lists are skipped, as CPUs without a
//!   `cpufreq` directory are.
//! - A frequency file that is missing or not permitted (`cpuinfo_cur_freq` is root-only) just omits its
//!   series; one that cannot be read otherwise or does not parse fails the collector.
//! - `scaling_available_governors`, `scaling_driver`, `scaling_governor`, `related_cpus` and
//!   `scaling_setspeed` are required: a CPU without one of them fails the whole collector, no series at all
//!   (node_exporter then reports `node_scrape_collector_success{collector="cpufreq"} 0`).
//! - `stats/{total_trans,time_in_state,trans_table}` are optional, but must parse when present.
//! - No `cpu<N>` directory at all is an error too ("could not find any cpufreq files").

use std::io;
use std::path::Path;

use crate::error::ParseError;
use crate::{CollectError, MetricSet, Roots};

use super::cpu::{parse_cpu_list, sys_cpu_dirs};

/// The frequency files node_exporter exports, in its order, with metric name and help. Values are kHz.
const FILES: [(&str, &str, &str); 7] = [
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current CPU thread frequency in hertz.",
    ),
    // node_exporter 1.12 (#3712, procfs 0.21): the average frequency of kernels since 6.13.
    (
        "cpuinfo_avg_freq",
        "node_cpu_frequency_avg_hertz",
        "Average CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

/// Read by procfs (so they must parse) but not exported.
const OTHER_UINT_FILES: [&str; 1] = ["cpuinfo_transition_latency"];

/// The string attributes procfs requires.
const STRING_FILES: [&str; 5] = [
    "scaling_available_governors",
    "scaling_driver",
    "scaling_governor",
    "related_cpus",
    "scaling_setspeed",
];

/// One CPU's cpufreq values: the frequencies of [`FILES`] in kHz, the governors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuFreq {
    pub cpu: String,
    pub khz: [Option<u64>; 7],
    pub available_governors: String,
    pub governor: String,
}

/// Go's `strconv.ParseUint(strings.TrimSpace(s), 10, 64)`.
fn go_uint(text: &str) -> Result<u64, ParseError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(format!("not an unsigned integer: {t:?}")));
    }
    t.parse()
        .map_err(|_| ParseError::new(format!("out of range: {t:?}")))
}

/// Parse one cpufreq attribute (kHz) into Hz.
pub fn parse_khz(text: &str) -> Result<f64, ParseError> {
    go_uint(text).map(|khz| khz as f64 * 1000.0)
}

/// Missing or not permitted: what procfs skips for the optional files.
fn skippable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || e.raw_os_error() == Some(libc::EPERM)
}

/// An optional file's text: `Ok(None)` when it is missing or not permitted.
fn optional(path: &Path) -> Result<Option<String>, CollectError> {
    match crate::read::read_file(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if skippable(&e) => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

fn optional_uint(path: &Path) -> Result<Option<u64>, CollectError> {
    match optional(path)? {
        Some(s) => Ok(Some(go_uint(&s).map_err(|e| e.at(path))?)),
        None => Ok(None),
    }
}

/// `stats/time_in_state`: lines of `<freq> <time>`.
pub fn check_time_in_state(text: &str) -> Result<(), ParseError> {
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 2 {
            return Err(ParseError::new(format!(
                "unexpected number of fields in time_in_state: {line:?}"
            )));
        }
        for f in fields {
            go_uint(f)?;
        }
    }
    Ok(())
}

/// `stats/trans_table`: a header line, then rows of numbers (the first ends in `:`; a lone `:` is the
/// column header's).
pub fn check_trans_table(text: &str) -> Result<(), ParseError> {
    for line in text.split('\n').skip(1).filter(|l| !l.is_empty()) {
        let mut fields: Vec<&str> = line.split_whitespace().collect();
        if let Some(first) = fields.first_mut() {
            *first = first.strip_suffix(':').unwrap_or(first);
        }
        for f in fields.into_iter().filter(|f| !f.is_empty()) {
            go_uint(f)?;
        }
    }
    Ok(())
}

/// Read one CPU's `cpufreq` directory as procfs' `parseCpufreqCpuinfo` does.
pub fn read_cpufreq(dir: &Path, cpu: &str) -> Result<CpuFreq, CollectError> {
    let mut f = CpuFreq {
        cpu: cpu.to_string(),
        ..CpuFreq::default()
    };
    for (i, (file, _, _)) in FILES.iter().enumerate() {
        f.khz[i] = optional_uint(&dir.join(file))?;
    }
    for file in OTHER_UINT_FILES {
        optional_uint(&dir.join(file))?;
    }
    let mut strings = Vec::with_capacity(STRING_FILES.len());
    for file in STRING_FILES {
        let p = dir.join(file);
        strings.push(crate::read::sys_read_file(&p).map_err(|e| CollectError::io(&p, e))?);
    }
    f.available_governors = std::mem::take(&mut strings[0]);
    f.governor = std::mem::take(&mut strings[2]);
    optional_uint(&dir.join("stats/total_trans"))?;
    let p = dir.join("stats/time_in_state");
    if let Some(t) = optional(&p)? {
        check_time_in_state(&t).map_err(|e| e.at(&p))?;
    }
    let p = dir.join("stats/trans_table");
    if let Some(t) = optional(&p)? {
        check_trans_table(&t).map_err(|e| e.at(&p))?;
    }
    Ok(f)
}

/// Every online CPU's cpufreq values (see the module docs for when this fails).
pub fn read_all(roots: &Roots) -> Result<Vec<CpuFreq>, CollectError> {
    let cpus = sys_cpu_dirs(roots)?;
    let offline_path = roots.sys("devices/system/cpu/offline");
    let offline_text =
        crate::read::read_file(&offline_path).map_err(|e| CollectError::io(&offline_path, e))?;
    let offline = if offline_text.trim().is_empty() {
        Vec::new()
    } else {
        parse_cpu_list(&offline_text).map_err(|e| e.at(&offline_path))?
    };
    if cpus.is_empty() {
        return Err(CollectError::NoData(
            "could not find any cpufreq files".to_string(),
        ));
    }
    let mut out = Vec::with_capacity(cpus.len());
    for (name, dir) in cpus {
        let cpu = name.trim_start_matches("cpu");
        if !offline.is_empty() {
            let n: u16 = cpu
                .parse()
                .map_err(|_| CollectError::parse(&dir, "not a CPU number"))?;
            if offline.contains(&n) {
                continue;
            }
        }
        let freq = dir.join("cpufreq");
        match std::fs::metadata(&freq) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CollectError::io(&freq, e)),
        }
        out.push(read_cpufreq(&freq, cpu)?);
    }
    Ok(out)
}

/// The `cpufreq` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
/// Everything is read first: node_exporter reports nothing when one CPU fails.
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    for f in read_all(roots)? {
        let cpu = [("cpu", f.cpu.as_str())];
        for (i, (_, metric, help)) in FILES.iter().enumerate() {
            if let Some(khz) = f.khz[i] {
                out.gauge(metric, help, &cpu, khz as f64 * 1000.0);
            }
        }
        if !f.governor.is_empty() {
            for g in f.available_governors.split(' ') {
                out.gauge(
                    "node_cpu_scaling_governor",
                    "Current enabled CPU frequency governor.",
                    &[("cpu", f.cpu.as_str()), ("governor", g)],
                    if g == f.governor { 1.0 } else { 0.0 },
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, collect_fixture, collect_with, fixture_config};

    #[test]
    fn parses_khz_and_stats() {
        assert_eq!(parse_khz("3700000\n").unwrap(), 3.7e9);
        assert_rejects(parse_khz, &["<unknown>\n", "+5", ""]);
        assert!(check_time_in_state("3600000 12\n800000 7\n").is_ok());
        assert_rejects(check_time_in_state, &["3600000\n", "1 2 3\n", "x 1\n"]);
        let table = "   From  :    To\n         :   3600000    800000\n  3600000:         0         5\n   800000:         4         0\n";
        assert!(check_trans_table(table).is_ok());
        assert!(check_trans_table("Transition table exceeds PAGE_SIZE. Disabling\n").is_ok());
        assert_rejects(check_trans_table, &["h\n  1: x\n"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("cpufreq");
        // cpu0: everything; cpu1: no (root-only) cpuinfo_cur_freq; cpu2: offline, no cpufreq;
        // cpu3: scaling files only, its governor not among the available ones.
        assert_eq!(
            out.value("node_cpu_frequency_hertz", &[("cpu", "0")]),
            Some(1_699_981_000.0)
        );
        assert_eq!(
            out.get("node_cpu_frequency_hertz").unwrap().samples.len(),
            1
        );
        assert_eq!(
            out.value("node_cpu_frequency_avg_hertz", &[("cpu", "0")]),
            Some(1.5e9)
        );
        assert_eq!(
            out.value("node_cpu_frequency_max_hertz", &[("cpu", "1")]),
            Some(3.7e9)
        );
        assert_eq!(
            out.get("node_cpu_frequency_min_hertz")
                .unwrap()
                .samples
                .len(),
            2
        );
        assert_eq!(
            out.value("node_cpu_scaling_frequency_min_hertz", &[("cpu", "3")]),
            Some(1e6)
        );
        assert_eq!(
            out.get("node_cpu_scaling_frequency_hertz")
                .unwrap()
                .samples
                .len(),
            3
        );
        assert!(out
            .get("node_cpu_scaling_frequency_hertz")
            .unwrap()
            .samples
            .iter()
            .all(|s| s.labels.len() == 1 && s.labels[0].0 == "cpu" && s.labels[0].1 != "2"));
        let gov = |cpu, g| {
            out.value(
                "node_cpu_scaling_governor",
                &[("cpu", cpu), ("governor", g)],
            )
        };
        assert_eq!(gov("0", "powersave"), Some(1.0));
        assert_eq!(gov("0", "performance"), Some(0.0));
        assert_eq!(gov("3", "ondemand"), Some(0.0));
        assert_eq!(
            out.get("node_cpu_scaling_governor").unwrap().samples.len(),
            6
        );
    }

    /// A copy of the fixture's cpu tree under a temp dir, for the cases that fail.
    fn with_cpu_tree(edit: impl FnOnce(&Path)) -> Result<MetricSet, CollectError> {
        let tmp = std::env::temp_dir().join(format!("hostlens-cpufreq-{}", std::process::id()));
        let src = crate::node::testutil::fixture_root().join("sys/devices/system/cpu");
        let dst = tmp.join("sys/devices/system/cpu");
        for (name, _) in sys_cpu_dirs(&fixture_config().roots).unwrap() {
            let freq = src.join(&name).join("cpufreq");
            std::fs::create_dir_all(dst.join(&name)).unwrap();
            if let Ok(entries) = std::fs::read_dir(&freq) {
                std::fs::create_dir_all(dst.join(&name).join("cpufreq")).unwrap();
                for e in entries {
                    let e = e.unwrap();
                    std::fs::copy(
                        e.path(),
                        dst.join(&name).join("cpufreq").join(e.file_name()),
                    )
                    .unwrap();
                }
            }
        }
        std::fs::copy(src.join("offline"), dst.join("offline")).unwrap();
        edit(&dst);
        let mut cfg = fixture_config();
        cfg.roots = std::sync::Arc::new(Roots::new(
            tmp.join("proc"),
            tmp.join("sys"),
            tmp.clone(),
            None,
        ));
        let r = collect_with("cpufreq", &cfg);
        std::fs::remove_dir_all(&tmp).unwrap();
        r
    }

    #[test]
    fn what_fails_the_whole_collector() {
        // A CPU without scaling_available_governors: no series at all, as node_exporter.
        let r = with_cpu_tree(|d| {
            std::fs::remove_file(d.join("cpu3/cpufreq/scaling_available_governors")).unwrap()
        });
        assert!(r.is_err());
        // An unparsable frequency.
        let r = with_cpu_tree(|d| {
            std::fs::write(d.join("cpu1/cpufreq/scaling_cur_freq"), "<unknown>\n").unwrap()
        });
        assert!(r.is_err());
        // No offline file.
        let r = with_cpu_tree(|d| std::fs::remove_file(d.join("offline")).unwrap());
        assert!(r.is_err());
        // An empty offline file: cpu2 is read too (no cpufreq directory: skipped).
        let r = with_cpu_tree(|d| std::fs::write(d.join("offline"), "\n").unwrap());
        assert_eq!(
            r.unwrap()
                .get("node_cpu_scaling_frequency_hertz")
                .unwrap()
                .samples
                .len(),
            3
        );
    }
}
