//! `kernel_hung`: node_kernel_hung_tasks_total from `/proc/sys/kernel/hung_task_detect_count`, as
//! node_exporter 1.12.1 (`collector/kernel_hung_linux.go`, added in 1.11; procfs' `KernelHung`).
//!
//! The file exists only with `CONFIG_DETECT_HUNG_TASK` (Linux 6.6+): without it the collector reports
//! [`CollectError::NoData`], as node_exporter since 1.11.1 (node_exporter#3613; 1.11.0 failed with an
//! error) returns `ErrNoData`, so `node_scrape_collector_success` is 0 either way.

use crate::read::read_u64;
use crate::{CollectError, MetricSet, Roots};

/// The `kernel_hung` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let count = read_u64(roots.proc("sys/kernel/hung_task_detect_count"))
        .map_err(|e| e.no_data_because("hung_task_detect_count does not exist"))?;
    out.counter(
        "node_kernel_hung_tasks_total",
        "Total number of tasks that have been detected as hung since the system booted.",
        &[],
        count as f64,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with};

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture("kernel_hung", &[("node_kernel_hung_tasks_total", &[], 7.0)]);
        assert_eq!(out.families().len(), 1);
    }

    #[test]
    fn missing_file_is_no_data() {
        let e = collect_with("kernel_hung", &fixture_config_with("missing", "sys")).unwrap_err();
        assert!(matches!(e, CollectError::NoData(_)), "{e}");
    }
}
