//! `tapestats`: node_tape_* from `/sys/class/scsi_tape/st<N>/stats/` (Documentation/scsi/st.rst,
//! "Sysfs and Statistics"), one `device` label per tape drive.
//!
//! Only the `st<N>` entries are drives; `nst<N>`, `st<N>a`, `st<N>l`, `st<N>m` are other minors of the same
//! drive. Times are nanoseconds in sysfs and seconds here. A class or stats directory that is missing is
//! "no data" as in node_exporter; a value that is not an integer fails the scrape (node_exporter 1.5 panics
//! on it).

use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::read::{absent_as_none, parse_go_uint, sorted_entry_names, sys_read_file};
use crate::{CollectError, Kind, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// stats file, metric name, kind, scale, help.
const STATS: &[(&str, &str, Kind, f64, &str)] = &[
    ("in_flight", "node_tape_io_now", Kind::Gauge, 1.0, "The number of I/Os currently outstanding to this device."),
    ("io_ns", "node_tape_io_time_seconds_total", Kind::Counter, 1e-9, "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used."),
    ("other_cnt", "node_tape_io_others_total", Kind::Counter, 1.0, "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total"),
    ("read_byte_cnt", "node_tape_read_bytes_total", Kind::Counter, 1.0, "The number of bytes read from the tape drive."),
    ("read_cnt", "node_tape_reads_completed_total", Kind::Counter, 1.0, "The number of read requests issued to the tape drive."),
    ("read_ns", "node_tape_read_time_seconds_total", Kind::Counter, 1e-9, "The amount of time spent waiting for read requests to complete."),
    ("resid_cnt", "node_tape_residual_total", Kind::Counter, 1.0, "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape."),
    ("write_byte_cnt", "node_tape_written_bytes_total", Kind::Counter, 1.0, "The number of bytes written to the tape drive."),
    ("write_cnt", "node_tape_writes_completed_total", Kind::Counter, 1.0, "The number of write requests issued to the tape drive."),
    ("write_ns", "node_tape_write_time_seconds_total", Kind::Counter, 1e-9, "The amount of time spent waiting for write requests to complete."),
];

/// Whether a class entry is a drive (`st<digits>`).
pub fn is_drive(name: &str) -> bool {
    name.strip_prefix("st")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// One drive's counters, in [`STATS`] order (`None` for a file the kernel does not have).
pub fn read_stats(stats_dir: &Path) -> Result<[Option<u64>; STATS.len()], CollectError> {
    let mut values = [None; STATS.len()];
    // The directory must exist (procfs lists it); a missing one is a NotFound I/O error, i.e. no data.
    std::fs::metadata(stats_dir).map_err(|e| CollectError::io(stats_dir, e))?;
    for (slot, (file, ..)) in values.iter_mut().zip(STATS) {
        let path = stats_dir.join(file);
        if let Some(v) = absent_as_none(&path, sys_read_file(&path))? {
            *slot = Some(parse_go_uint(&v).map_err(|e| e.at(&path))?);
        }
    }
    Ok(values)
}

pub struct TapeStats {
    roots: Arc<Roots>,
    ignored: Regex,
}

/// The tapestats collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of tape devices to ignore (tapestats).
    #[arg(
        value_name = "REGEX",
        id = "collector.tapestats.ignored-devices",
        long = "collector.tapestats.ignored-devices",
        default_value = "^$"
    )]
    pub ignored_devices: String,
}

impl NodeCollector for TapeStats {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let ignored = super::flag_regex(
            "collector.tapestats.ignored-devices",
            &cfg.tapestats.ignored_devices,
        )?;
        Ok(TapeStats {
            roots: cfg.roots.clone(),
            ignored,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = self.roots.sys("class/scsi_tape");
        let mut names = sorted_entry_names(&dir)?;
        names.retain(|n| is_drive(n));
        // Read every drive first: as node_exporter, one bad drive fails the whole scrape.
        let mut drives = Vec::with_capacity(names.len());
        for name in names {
            let stats = read_stats(&dir.join(&name).join("stats"))?;
            drives.push((name, stats));
        }
        for (name, stats) in drives {
            if self.ignored.is_match(&name) {
                continue;
            }
            for ((_, metric, kind, scale, help), v) in STATS.iter().zip(stats) {
                out.sample(
                    metric,
                    help,
                    *kind,
                    vec![("device".to_string(), name.clone())],
                    // procfs leaves a missing file at zero.
                    v.unwrap_or(0) as f64 * scale,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config, fixture_root};

    #[test]
    fn drive_names() {
        assert!(is_drive("st0") && is_drive("st12"));
        for n in ["nst0", "st0a", "st0l", "st0m", "st", "nst1"] {
            assert!(!is_drive(n), "{n}");
        }
    }

    #[test]
    fn reads_fixture_stats() {
        let s = read_stats(&fixture_root().join("sys/class/scsi_tape/st0/stats")).unwrap();
        assert_eq!(s[0], Some(1));
        assert_eq!(s[1], Some(9_247_011_087_720));
        assert_eq!(s[9], Some(5_233_597_394_395));
        let err = read_stats(&fixture_root().join("sys/class/scsi_tape/nst0/stats")).unwrap_err();
        assert!(err.is_no_data());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "tapestats",
            &[
                ("node_tape_io_now", &[("device", "st0")], 1.0),
                (
                    "node_tape_io_time_seconds_total",
                    &[("device", "st0")],
                    9247.01108772,
                ),
                (
                    "node_tape_writes_completed_total",
                    &[("device", "st0")],
                    53_772_916.0,
                ),
                (
                    "node_tape_written_bytes_total",
                    &[("device", "st12")],
                    u64::MAX as f64,
                ),
            ],
        );
        let fam = out.get("node_tape_residual_total").unwrap();
        assert_eq!(fam.kind, Kind::Counter);
        assert_eq!(fam.samples.len(), 3);
    }

    #[test]
    fn ignored_devices() {
        let mut cfg = fixture_config();
        cfg.tapestats.ignored_devices = "^st1.*$".to_string();
        let out = collect_with("tapestats", &cfg).unwrap();
        assert_eq!(out.get("node_tape_io_now").unwrap().samples.len(), 1);
    }
}
