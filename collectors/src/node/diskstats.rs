//! `diskstats`: node_disk_* from `/proc/diskstats`, plus the udev-derived info families
//! (`node_disk_info`, `node_disk_filesystem_info`, `node_disk_device_mapper_info`, `node_disk_ata_*`),
//! as node_exporter 1.12.1 exposes them.
//!
//! node_disk_info's `serial` is udev's `SCSI_IDENT_SERIAL`, else `ID_SERIAL_SHORT`, else `ID_SERIAL`, and
//! its `rotational` (1.7) is `/sys/block/<dev>/queue/rotational` read on its own (1.12, #3686): `1` when it
//! reads 1, `0` otherwise, also when it is missing. zram devices are in the default exclude (1.8, #2898).
//! `--collector.diskstats.device-include` clears the default exclude; an explicitly given non-empty
//! exclude with an include is an error (1.12, #3617: an explicit empty exclude is fine).
//!
//! Units: sectors are converted to bytes (×512) for reads and writes (but discarded sectors stay
//! sectors), milliseconds to seconds. A line carries 11 (kernel < 4.18), 15 (4.18+, discards) or 17 (5.5+,
//! flushes) statistics; only the statistics present are exported. Lines with fewer than 11 statistics (old
//! kernels' partition lines) are skipped, as procfs does.
//!
//! Our parser, not procfs-core's `DiskStat`: it fails on those short lines instead of skipping them, and
//! turns a malformed discard/flush counter into "absent" instead of an error.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{DeviceFilter, NodeCollector, NodeConfig};

/// node_exporter 1.12.1's default `--collector.diskstats.device-exclude`.
pub const DEFAULT_EXCLUDE: &str = "^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$";

/// The most statistics a line carries (kernel 5.5+).
pub const MAX_STATS: usize = 17;

/// One line of `/proc/diskstats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStats {
    pub major: u32,
    pub minor: u32,
    pub device: String,
    /// The statistics in kernel order (reads completed, reads merged, sectors read, ms reading, writes
    /// completed, ...); `count` of them are valid.
    pub stats: [u64; MAX_STATS],
    pub count: usize,
}

/// Parse `/proc/diskstats`. Lines with fewer than 11 statistics are skipped; a non-numeric field is an error.
pub fn parse_diskstats(text: &str) -> Result<Vec<DiskStats>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(major), Some(minor), Some(device)) = (f.next(), f.next(), f.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(ParseError::new(format!("short line: {line:?}")));
        };
        let major: u32 = major
            .parse()
            .map_err(|_| ParseError::new(format!("bad major number in {line:?}")))?;
        let minor: u32 = minor
            .parse()
            .map_err(|_| ParseError::new(format!("bad minor number in {line:?}")))?;
        let mut stats = [0u64; MAX_STATS];
        let mut count = 0;
        for (slot, v) in stats.iter_mut().zip(f) {
            *slot = v
                .parse()
                .map_err(|_| ParseError::new(format!("bad counter {v:?} in {line:?}")))?;
            count += 1;
        }
        if count >= 11 {
            out.push(DiskStats {
                major,
                minor,
                device: device.to_string(),
                stats,
                count,
            });
        }
    }
    Ok(out)
}

/// Parse a udev database entry (`/run/udev/data/b<major>:<minor>`): its `E:KEY=VALUE` properties.
pub fn parse_udev_properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("E:"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;
const UNIX_SECTOR_SIZE: f64 = 512.0;

/// Name, help, kind and unit factor of each statistic, in kernel order.
const STATS: [(&str, &str, Kind, f64); MAX_STATS] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Kind::Counter,
        UNIX_SECTOR_SIZE,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Kind::Counter,
        UNIX_SECTOR_SIZE,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Kind::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
];

/// udev properties exported as `node_disk_ata_*` gauges when `ID_ATA` is set.
const ATA: [(&str, &str, &str); 3] = [
    (
        "ID_ATA_WRITE_CACHE",
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
    ),
    (
        "ID_ATA_WRITE_CACHE_ENABLED",
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
    (
        "ID_ATA_ROTATION_RATE_RPM",
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
];

pub struct Diskstats {
    roots: Arc<Roots>,
    filter: DeviceFilter,
}

impl Diskstats {
    /// The udev properties of a block device; empty when udev has no entry (as on hosts without udev).
    fn udev_info(&self, major: u32, minor: u32) -> HashMap<String, String> {
        let path = self.roots.udev_data.join(format!("b{major}:{minor}"));
        crate::read::read_file(path)
            .map(|t| parse_udev_properties(&t))
            .unwrap_or_default()
    }
}

fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// The diskstats collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of diskstats devices to exclude (mutually exclusive to device-include). [default:
    /// ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$]
    #[arg(
        value_name = "REGEX",
        id = "collector.diskstats.device-exclude",
        long = "collector.diskstats.device-exclude"
    )]
    pub device_exclude: Option<String>,
    /// DEPRECATED: Use collector.diskstats.device-exclude
    #[arg(
        value_name = "REGEX",
        id = "collector.diskstats.ignored-devices",
        long = "collector.diskstats.ignored-devices",
        hide = true
    )]
    pub ignored_devices: Option<String>,
    /// Regexp of diskstats devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.diskstats.device-include",
        long = "collector.diskstats.device-include",
        default_value = ""
    )]
    pub device_include: String,
}

impl Flags {
    /// The exclude and include patterns in force, as upstream's `newDiskstatsDeviceFilter`: an include
    /// clears the default exclude; an explicit non-empty exclude with an include is an error.
    /// The deprecated `--collector.diskstats.ignored-devices` stands in for an unset exclude (an error
    /// beside a given one).
    pub fn patterns(&self) -> Result<(&str, &str), CollectError> {
        let include = self.device_include.as_str();
        let old = self.ignored_devices.as_deref().filter(|o| !o.is_empty());
        let exclude = match (old, self.device_exclude.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(CollectError::Other(
                    "--collector.diskstats.ignored-devices and --collector.diskstats.device-exclude are mutually exclusive"
                        .into(),
                ))
            }
            (Some(o), None) => Some(o),
            (None, e) => e,
        };
        // Upstream's "set" is the new flag's: a pattern from the old one is cleared by an include.
        let exclude = exclude.filter(|_| self.device_exclude.is_some() || include.is_empty());
        match (exclude, include.is_empty()) {
            (Some(e), false) if !e.is_empty() => Err(CollectError::Other(
                "--collector.diskstats.device-exclude & --collector.diskstats.device-include are mutually exclusive"
                    .into(),
            )),
            (_, false) => Ok(("", include)),
            (e, true) => Ok((e.unwrap_or(DEFAULT_EXCLUDE), "")),
        }
    }
}

/// node_disk_info's `rotational`: `1` when `/sys/block/<dev>/queue/rotational` reads 1, else `0`.
pub fn rotational(roots: &Roots, device: &str) -> &'static str {
    if device.contains('/') {
        return "0";
    }
    let path = roots.sys("block").join(device).join("queue/rotational");
    match crate::read::read_file(path) {
        Ok(s) if s.trim().parse::<u64>() == Ok(1) => "1",
        _ => "0",
    }
}

impl NodeCollector for Diskstats {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let (exclude, include) = cfg.diskstats.patterns()?;
        Ok(Diskstats {
            roots: cfg.roots.clone(),
            filter: DeviceFilter::new("collector.diskstats.device", exclude, include)?,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("diskstats");
        let disks = parse_diskstats(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for d in &disks {
            if self.filter.ignored(&d.device) {
                continue;
            }
            let info = self.udev_info(d.major, d.minor);
            let get = |k: &str| info.get(k).map(String::as_str).unwrap_or("");
            let dev = d.device.as_str();
            let (major, minor) = (d.major.to_string(), d.minor.to_string());
            let serial = ["SCSI_IDENT_SERIAL", "ID_SERIAL_SHORT", "ID_SERIAL"]
                .into_iter()
                .map(get)
                .find(|s| !s.is_empty())
                .unwrap_or("");
            out.sample(
                "node_disk_info",
                "Info of /sys/block/<block_device>.",
                Kind::Gauge,
                owned(&[
                    ("device", dev),
                    ("major", &major),
                    ("minor", &minor),
                    ("model", get("ID_MODEL")),
                    ("path", get("ID_PATH")),
                    ("revision", get("ID_REVISION")),
                    ("rotational", rotational(&self.roots, dev)),
                    ("serial", serial),
                    ("wwn", get("ID_WWN")),
                ]),
                1.0,
            );
            for ((name, help, kind, factor), v) in STATS.iter().zip(&d.stats).take(d.count) {
                out.sample(
                    name,
                    help,
                    *kind,
                    vec![("device".to_string(), d.device.clone())],
                    *v as f64 * factor,
                );
            }
            let fs_type = get("ID_FS_TYPE");
            if !fs_type.is_empty() {
                out.gauge(
                    "node_disk_filesystem_info",
                    "Info about disk filesystem.",
                    &[
                        ("device", dev),
                        ("type", fs_type),
                        ("usage", get("ID_FS_USAGE")),
                        ("uuid", get("ID_FS_UUID")),
                        ("version", get("ID_FS_VERSION")),
                    ],
                    1.0,
                );
            }
            let dm_name = get("DM_NAME");
            if !dm_name.is_empty() {
                out.gauge(
                    "node_disk_device_mapper_info",
                    "Info about disk device mapper.",
                    &[
                        ("device", dev),
                        ("lv_layer", get("DM_LV_LAYER")),
                        ("lv_name", get("DM_LV_NAME")),
                        ("name", dm_name),
                        ("uuid", get("DM_UUID")),
                        ("vg_name", get("DM_VG_NAME")),
                    ],
                    1.0,
                );
            }
            if !get("ID_ATA").is_empty() {
                for (prop, name, help) in ATA {
                    // node_exporter skips a missing or unparsable property (and logs it).
                    if let Some(v) = info.get(prop).and_then(|s| s.parse::<f64>().ok()) {
                        out.gauge(name, help, &[("device", dev)], v);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, assert_values, collect_fixture};

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/diskstats");

    #[test]
    fn parses_fixture_formats() {
        let d = parse_diskstats(FIXTURE).unwrap();
        // The 4-statistic partition line of old kernels is skipped.
        assert!(d.iter().all(|x| x.device != "sda1"));
        let vda = d.iter().find(|x| x.device == "vda").unwrap();
        assert_eq!((vda.major, vda.minor, vda.count), (254, 0, 17));
        // Old kernel: 11 statistics (14 fields).
        let sdb = d.iter().find(|x| x.device == "sdb").unwrap();
        assert_eq!(sdb.count, 11);
        assert_eq!(sdb.stats[0], u64::MAX);
        // Kernel 4.18..5.4: 15 statistics (18 fields).
        let sdc = d.iter().find(|x| x.device == "sdc").unwrap();
        assert_eq!(sdc.count, 15);
        assert_eq!(sdc.stats[14], 40);
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_diskstats,
            &["8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n", "8\n"],
        );
        assert!(parse_diskstats("\n").unwrap().is_empty());
    }

    #[test]
    fn parses_udev_properties() {
        let p = parse_udev_properties("S:disk/x\nE:ID_MODEL=a=b\nE:ID_PATH=\nE:junk\n");
        assert_eq!(p.get("ID_MODEL").map(String::as_str), Some("a=b"));
        assert_eq!(p.get("ID_PATH").map(String::as_str), Some(""));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("diskstats");
        let vda = [("device", "vda")];
        assert_eq!(
            out.value("node_disk_reads_completed_total", &vda),
            Some(37905.0)
        );
        assert_eq!(
            out.value("node_disk_read_bytes_total", &vda),
            Some(3573954.0 * 512.0)
        );
        assert_eq!(
            out.value("node_disk_read_time_seconds_total", &vda),
            Some(21.774)
        );
        // Discarded sectors stay in sectors (node_exporter multiplies only reads and writes by 512).
        assert_eq!(
            out.value("node_disk_discarded_sectors_total", &vda),
            Some(428048.0)
        );
        assert_eq!(
            out.value("node_disk_flush_requests_time_seconds_total", &vda),
            // Exactly what node_exporter prints: 143 × (1/1000).
            Some(0.14300000000000002)
        );
        // Default exclude: loop devices and partitions.
        assert!(out
            .value("node_disk_io_now", &[("device", "loop0")])
            .is_none());
        assert!(out
            .value("node_disk_io_now", &[("device", "nvme0n1p1")])
            .is_none());
        // zram is excluded since 1.8.
        assert!(out
            .value("node_disk_io_now", &[("device", "zram0")])
            .is_none());
        // Old kernel line: no discard or flush series.
        let sdb = [("device", "sdb")];
        assert_eq!(
            out.value("node_disk_reads_completed_total", &sdb),
            Some(u64::MAX as f64)
        );
        assert!(out
            .value("node_disk_discards_completed_total", &sdb)
            .is_none());
        assert!(out
            .value("node_disk_flush_requests_total", &[("device", "sdc")])
            .is_none());
        assert!(out
            .value("node_disk_discard_time_seconds_total", &[("device", "sdc")])
            .is_some());
        // Info without udev data: empty strings.
        let info = out.get("node_disk_info").unwrap();
        let vda_info = info
            .samples
            .iter()
            .find(|s| s.labels[0].1 == "vda")
            .unwrap();
        let names: Vec<_> = vda_info.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "device",
                "major",
                "minor",
                "model",
                "path",
                "revision",
                "rotational",
                "serial",
                "wwn"
            ]
        );
        assert!(vda_info.labels[3..]
            .iter()
            .all(|(k, v)| v.is_empty() || (k == "rotational" && v == "0")));
        assert_eq!(vda_info.labels[1].1, "254");
        // With udev data.
        assert_eq!(
            out.value(
                "node_disk_info",
                &[
                    ("device", "sdb"),
                    ("model", "WDC_WD20EARS-00MVWB0"),
                    ("serial", "WD-WCAZA1234567"),
                    ("wwn", "0x50014ee2b0123456"),
                    ("path", "pci-0000:00:1f.2-ata-1"),
                    ("revision", "51.0AB51"),
                    ("rotational", "1"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_disk_ata_rotation_rate_rpm", &sdb),
            Some(5400.0)
        );
        assert_eq!(
            out.value("node_disk_ata_write_cache_enabled", &sdb),
            Some(0.0)
        );
        assert_values(
            &out,
            &[
                (
                    "node_disk_filesystem_info",
                    &[
                        ("device", "sdb"),
                        ("type", "LVM2_member"),
                        ("version", "LVM2 001"),
                    ],
                    1.0,
                ),
                (
                    "node_disk_device_mapper_info",
                    &[
                        ("device", "nvme0n1"),
                        ("name", "system-root"),
                        ("lv_layer", ""),
                    ],
                    1.0,
                ),
            ],
        );
        assert!(out
            .value("node_disk_ata_write_cache", &[("device", "nvme0n1")])
            .is_none());
        // No SCSI_IDENT_SERIAL nor ID_SERIAL_SHORT: ID_SERIAL; no queue/rotational: "0".
        assert_eq!(
            out.value(
                "node_disk_info",
                &[
                    ("device", "sdc"),
                    ("serial", "QEMU_HARDDISK_fallback-7"),
                    ("rotational", "0")
                ]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn include_and_exclude_flags() {
        use crate::node::testutil::{collect_with, fixture_config};
        let devices = |cfg: &crate::node::NodeConfig| -> Vec<String> {
            let out = collect_with("diskstats", cfg).unwrap();
            out.get("node_disk_io_now")
                .unwrap()
                .samples
                .iter()
                .map(|s| s.labels[0].1.clone())
                .collect()
        };
        let mut cfg = fixture_config();
        // An include clears the default exclude.
        cfg.diskstats.device_include = "^(loop0|zram0|vda)$".into();
        assert_eq!(devices(&cfg), ["loop0", "vda", "zram0"]);
        // An explicit empty exclude with an include is fine (1.12); a non-empty one is an error.
        cfg.diskstats.device_exclude = Some(String::new());
        assert_eq!(devices(&cfg), ["loop0", "vda", "zram0"]);
        cfg.diskstats.device_exclude = Some("^vda$".into());
        assert!(collect_with("diskstats", &cfg).is_err());
        cfg.diskstats.device_include.clear();
        assert!(!devices(&cfg).contains(&"vda".to_string()));
        assert!(devices(&cfg).contains(&"loop0".to_string()));
        // The deprecated --collector.diskstats.ignored-devices: the exclude when none is given.
        cfg.diskstats.device_exclude = None;
        cfg.diskstats.ignored_devices = Some("^loop".into());
        assert!(!devices(&cfg).contains(&"loop0".to_string()));
        assert!(devices(&cfg).contains(&"zram0".to_string()));
        cfg.diskstats.device_exclude = Some("^vda$".into());
        assert!(collect_with("diskstats", &cfg).is_err());
    }
}
