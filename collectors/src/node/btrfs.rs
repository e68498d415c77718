//! `btrfs`: node_btrfs_* from `/sys/fs/btrfs/<uuid>/`, as node_exporter 1.5 (procfs 0.8 `btrfs.Stats`)
//! reads them. Like node_exporter, a host without btrfs filesystems yields no series and no error.
//!
//! Not done: node_exporter 1.5 also opens each mounted btrfs filesystem and asks the kernel with the
//! `BTRFS_IOC_FS_INFO` / `BTRFS_IOC_DEV_INFO` / `BTRFS_IOC_GET_DEV_STATS` ioctls for per-device usage and
//! error counters. When those succeed it exports `node_btrfs_device_unused_bytes` and
//! `node_btrfs_device_errors_total`, and labels `node_btrfs_device_size_bytes` with `btrfs_dev_uuid` too
//! (and takes the size from the ioctl). We export what sysfs gives: the fallback node_exporter uses when
//! the ioctls fail (`device_size_bytes{device,uuid}` from `devices/<dev>/size`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::read::read_attr;
use crate::{CollectError, MetricSet, Roots};

/// sysfs block sizes are in 512-byte sectors.
const SECTOR_SIZE: u64 = 512;

/// One layout (`single`, `dup`, `raid1`, ...) of an allocation type.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutUsage {
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub ratio: f64,
}

/// `allocation/<data|metadata|system>/`: the parts node_exporter exports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllocationStats {
    pub reserved_bytes: u64,
    pub layouts: BTreeMap<String, LayoutUsage>,
}

/// One btrfs filesystem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BtrfsStats {
    pub uuid: String,
    pub label: String,
    pub global_rsv_size: u64,
    pub data: AllocationStats,
    pub metadata: AllocationStats,
    pub system: AllocationStats,
    /// Device name → size in bytes.
    pub devices: BTreeMap<String, u64>,
}

/// The data replication ratio of a layout over `devices` devices, as procfs computes it (0 for layouts it
/// does not know, e.g. `raid1c3`).
pub fn layout_ratio(layout: &str, devices: usize) -> f64 {
    let n = devices as f64;
    match layout {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid5" => n / (n - 1.0),
        "raid6" => n / (n - 2.0),
        _ => 0.0,
    }
}

/// A sysfs text attribute; missing reads as empty (as procfs ignores not-exist errors).
fn text(path: &Path) -> Result<String, CollectError> {
    Ok(read_attr(path)?.unwrap_or_default())
}

/// A sysfs number; missing or unparsable reads as 0, as procfs does.
fn value(path: &Path) -> Result<u64, CollectError> {
    Ok(read_attr(path)?
        .and_then(|s| s.parse().ok())
        .unwrap_or_default())
}

/// Names of the entries of `dir`, sorted; a missing directory is an error (procfs fails there too).
fn list(dir: &Path) -> Result<Vec<(String, bool)>, CollectError> {
    Ok(crate::read::read_dir_sorted(dir)
        .map_err(|e| CollectError::io(dir, e))?
        .into_iter()
        .map(|e| (e.name, e.file_type.is_dir()))
        .collect())
}

fn read_allocation(dir: &Path, devices: usize) -> Result<AllocationStats, CollectError> {
    let mut layouts = BTreeMap::new();
    for (name, is_dir) in list(dir)? {
        if !is_dir {
            continue;
        }
        let ld = dir.join(&name);
        layouts.insert(
            name.clone(),
            LayoutUsage {
                total_bytes: value(&ld.join("total_bytes"))?,
                used_bytes: value(&ld.join("used_bytes"))?,
                ratio: layout_ratio(&name, devices),
            },
        );
    }
    Ok(AllocationStats {
        reserved_bytes: value(&dir.join("bytes_reserved"))?,
        layouts,
    })
}

/// Read one filesystem's directory, `/sys/fs/btrfs/<uuid>`.
pub fn read_btrfs_stats(dir: &Path) -> Result<BtrfsStats, CollectError> {
    let mut devices = BTreeMap::new();
    let devdir = dir.join("devices");
    for (name, _) in list(&devdir)? {
        let size = value(&devdir.join(&name).join("size"))?;
        devices.insert(name, size.saturating_mul(SECTOR_SIZE));
    }
    let n = devices.len();
    let alloc = dir.join("allocation");
    let mut uuid = text(&dir.join("metadata_uuid"))?;
    if uuid.is_empty() {
        // Kernels before 5.0 have no metadata_uuid: the directory name is the UUID.
        uuid = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(BtrfsStats {
        uuid,
        label: text(&dir.join("label"))?,
        global_rsv_size: value(&alloc.join("global_rsv_size"))?,
        data: read_allocation(&alloc.join("data"), n)?,
        metadata: read_allocation(&alloc.join("metadata"), n)?,
        system: read_allocation(&alloc.join("system"), n)?,
        devices,
    })
}

fn export(s: &BtrfsStats, out: &mut MetricSet) {
    let uuid = s.uuid.as_str();
    out.gauge(
        "node_btrfs_info",
        "Filesystem information",
        &[("label", &s.label), ("uuid", uuid)],
        1.0,
    );
    out.gauge(
        "node_btrfs_global_rsv_size_bytes",
        "Size of global reserve.",
        &[("uuid", uuid)],
        s.global_rsv_size as f64,
    );
    for (kind, a) in [
        ("data", &s.data),
        ("metadata", &s.metadata),
        ("system", &s.system),
    ] {
        out.gauge(
            "node_btrfs_reserved_bytes",
            "Amount of space reserved for a data type",
            &[("block_group_type", kind), ("uuid", uuid)],
            a.reserved_bytes as f64,
        );
        for (mode, l) in &a.layouts {
            let labels = [
                ("block_group_type", kind),
                ("mode", mode.as_str()),
                ("uuid", uuid),
            ];
            out.gauge(
                "node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                &labels,
                l.used_bytes as f64,
            );
            out.gauge(
                "node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                &labels,
                l.total_bytes as f64,
            );
            out.gauge(
                "node_btrfs_allocation_ratio",
                "Data allocation ratio for a layout/data type",
                &labels,
                l.ratio,
            );
        }
    }
    for (dev, size) in &s.devices {
        out.gauge(
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            &[("device", dev), ("uuid", uuid)],
            *size as f64,
        );
    }
}

/// The `btrfs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("fs/btrfs");
    let entries = match list(&dir) {
        Ok(v) => v,
        // No btrfs module: nothing, and no error, as node_exporter's glob finds nothing.
        Err(e) if e.is_no_data() => return Ok(()),
        Err(e) => return Err(e),
    };
    // node_exporter globs `*-*`: the filesystem UUIDs, not `features`.
    for (name, _) in entries.iter().filter(|(n, _)| n.contains('-')) {
        let s = read_btrfs_stats(&dir.join(name))?;
        export(&s, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with, fixture_root};

    const FS1: &str = "0abb23a9-579b-43e6-ad30-227ef47fcb9d";
    const FS2: &str = "7f07c59f-6136-449c-ab87-e1cf2328731b";

    #[test]
    fn ratios() {
        assert_eq!(layout_ratio("raid1", 2), 2.0);
        assert_eq!(layout_ratio("raid5", 3), 1.5);
        assert_eq!(layout_ratio("raid6", 4), 2.0);
        assert_eq!(layout_ratio("raid1c3", 3), 0.0);
    }

    #[test]
    fn reads_fixture_filesystems() {
        let base = fixture_root().join("sys/fs/btrfs");
        let s = read_btrfs_stats(&base.join(FS1)).unwrap();
        assert_eq!(s.uuid, FS1);
        assert_eq!(s.label, "fixture");
        assert_eq!(s.global_rsv_size, 16777216);
        assert_eq!(s.devices.get("loop25"), Some(&(20971520 * 512)));
        assert_eq!(s.metadata.reserved_bytes, 16384);
        let l = &s.data.layouts["raid1"];
        assert_eq!(
            (l.used_bytes, l.total_bytes, l.ratio),
            (808189952, 2147483648, 2.0)
        );

        // Older kernel: no metadata_uuid; empty label; a global reserve near 2^64.
        let s = read_btrfs_stats(&base.join(FS2)).unwrap();
        assert_eq!(s.uuid, FS2);
        assert_eq!(s.label, "");
        assert_eq!(s.global_rsv_size, u64::MAX);
        assert_eq!(s.devices.len(), 3);
        assert_eq!(s.data.layouts["raid5"].ratio, 1.5);
        assert_eq!(s.data.layouts.len(), 2);
        assert_eq!(s.system.layouts["dup"].ratio, 2.0);
    }

    #[test]
    fn missing_devices_dir_is_an_error() {
        let base = fixture_root().join("sys/fs/btrfs");
        assert!(read_btrfs_stats(&base.join("features")).is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "btrfs",
            &[
                (
                    "node_btrfs_info",
                    &[("label", "fixture"), ("uuid", FS1)],
                    1.0,
                ),
                (
                    "node_btrfs_size_bytes",
                    &[
                        ("block_group_type", "metadata"),
                        ("mode", "single"),
                        ("uuid", FS2),
                    ],
                    268435456.0,
                ),
                (
                    "node_btrfs_device_size_bytes",
                    &[("device", "sdc"), ("uuid", FS2)],
                    2097152000.0 * 512.0,
                ),
            ],
        );
        assert_eq!(out.get("node_btrfs_info").unwrap().samples.len(), 2);
        assert_eq!(
            out.get("node_btrfs_reserved_bytes").unwrap().samples.len(),
            6
        );
    }

    #[test]
    fn no_btrfs_module_is_empty() {
        let cfg = fixture_config_with("proc", "mdstat");
        let out = collect_with("btrfs", &cfg).unwrap();
        assert!(out.get("node_btrfs_info").is_none());
    }
}
