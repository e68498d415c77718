//! `cpufreq`: node_cpu_frequency_{,min_,max_}hertz and node_cpu_scaling_frequency_{,min_,max_}hertz{cpu} from
//! `/sys/devices/system/cpu/cpu*/cpufreq/{cpuinfo,scaling}_{cur,min,max}_freq` (kHz in sysfs, Hz here).
//!
//! As in node_exporter 1.5: CPUs without a `cpufreq` directory are skipped, a file that is missing or not
//! readable (`cpuinfo_cur_freq` is root-only) just omits its metric, and a host without cpufreq at all is a
//! success with no metrics.

use std::path::Path;

use crate::error::ParseError;
use crate::{CollectError, MetricSet, Roots};

use super::cpu::sys_cpu_dirs;

/// The cpufreq files node_exporter 1.5 exports, with metric name and help. Values are kHz.
const FILES: [(&str, &str, &str); 6] = [
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum cpu thread frequency in hertz.",
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

/// Parse one cpufreq attribute (kHz) into Hz.
pub fn parse_khz(text: &str) -> Result<f64, ParseError> {
    let t = text.trim();
    t.parse::<u64>()
        .map(|khz| khz as f64 * 1000.0)
        .map_err(|_| ParseError::new(format!("not an unsigned integer: {t:?}")))
}

/// Read one attribute: `Ok(None)` when it is not there ([`crate::read::is_absent`]: missing, not
/// permitted, …, as procfs skips those).
fn read_freq(path: &Path) -> Result<Option<f64>, CollectError> {
    match crate::read::read_attr(path)? {
        Some(s) => parse_khz(&s).map(Some).map_err(|e| e.at(path)),
        None => Ok(None),
    }
}

/// The `cpufreq` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    // Read everything first: node_exporter reports nothing when one CPU's files are unparsable.
    let mut values = Vec::new();
    for (name, dir) in sys_cpu_dirs(roots)? {
        let freq = dir.join("cpufreq");
        if !freq.is_dir() {
            continue;
        }
        let cpu = name.trim_start_matches("cpu").to_string();
        for (i, (file, _, _)) in FILES.iter().enumerate() {
            if let Some(hz) = read_freq(&freq.join(file))? {
                values.push((i, cpu.clone(), hz));
            }
        }
    }
    for (i, cpu, hz) in values {
        let (_, metric, help) = FILES[i];
        out.gauge(metric, help, &[("cpu", &cpu)], hz);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::collect_fixture;

    #[test]
    fn parses_khz() {
        assert_eq!(parse_khz("3700000\n").unwrap(), 3.7e9);
        assert!(parse_khz("<unknown>\n").is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("cpufreq");
        // cpu0: everything; cpu1: no (root-only) cpuinfo_cur_freq; cpu2: offline, no cpufreq;
        // cpu3: scaling files only.
        assert_eq!(
            out.value("node_cpu_frequency_hertz", &[("cpu", "0")]),
            Some(1_699_981_000.0)
        );
        assert_eq!(
            out.get("node_cpu_frequency_hertz").unwrap().samples.len(),
            1
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
    }
}
