//! `ksmd`: node_ksmd_* from `/sys/kernel/mm/ksm/*`, the kernel samepage merging daemon's counters, as
//! node_exporter 1.12.1 (`collector/ksmd_linux.go`, off by default).
//!
//! As upstream, every file must be there: a missing one (a kernel without `CONFIG_KSM`) is an error, not
//! "no data", after the files read before it were reported.

use crate::metrics::Kind;
use crate::read::read_u64;
use crate::{CollectError, MetricSet, Roots};

/// The files read, in node_exporter's order.
pub const FILES: [&str; 9] = [
    "full_scans",
    "merge_across_nodes",
    "pages_shared",
    "pages_sharing",
    "pages_to_scan",
    "pages_unshared",
    "pages_volatile",
    "run",
    "sleep_millisecs",
];

/// The metric name, kind and value of a file's number: `full_scans` is a counter (`_total`),
/// `sleep_millisecs` is exported in seconds, the rest are gauges.
pub fn metric(file: &str, value: u64) -> (String, Kind, f64) {
    match file {
        "full_scans" => (
            format!("node_ksmd_{file}_total"),
            Kind::Counter,
            value as f64,
        ),
        "sleep_millisecs" => (
            "node_ksmd_sleep_seconds".to_string(),
            Kind::Gauge,
            value as f64 / 1000.0,
        ),
        _ => (format!("node_ksmd_{file}"), Kind::Gauge, value as f64),
    }
}

/// The `ksmd` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("kernel/mm/ksm");
    for file in FILES {
        let value = read_u64(dir.join(file))?;
        let (name, kind, v) = metric(file, value);
        out.sample(&name, &format!("ksmd '{file}' file."), kind, vec![], v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with};

    #[test]
    fn names_kinds_and_units() {
        assert_eq!(
            metric("full_scans", 3),
            ("node_ksmd_full_scans_total".into(), Kind::Counter, 3.0)
        );
        assert_eq!(
            metric("sleep_millisecs", 200),
            ("node_ksmd_sleep_seconds".into(), Kind::Gauge, 0.2)
        );
        assert_eq!(metric("run", 1), ("node_ksmd_run".into(), Kind::Gauge, 1.0));
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "ksmd",
            &[
                ("node_ksmd_full_scans_total", &[], 11.0),
                ("node_ksmd_pages_sharing", &[], 512.0),
                ("node_ksmd_sleep_seconds", &[], 0.2),
                ("node_ksmd_run", &[], 0.0),
            ],
        );
        assert_eq!(out.families().len(), 9);
        assert_eq!(
            out.get("node_ksmd_pages_to_scan").unwrap().help,
            "ksmd 'pages_to_scan' file."
        );
    }

    #[test]
    fn missing_ksm_is_an_error() {
        let e = collect_with("ksmd", &fixture_config_with("proc", "missing")).unwrap_err();
        assert!(matches!(e, CollectError::Io { .. }), "{e}");
    }
}
