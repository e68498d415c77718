//! `dmmultipath`: node_dmmultipath_* from `/sys/block/dm-*`, as node_exporter 1.12.1 (new in 1.12,
//! node_exporter#3581; prometheus/procfs 0.21.1 `blockdevice.DMMultipathDevices`) reads them.
//!
//! A device-mapper device is a multipath map when its `dm/uuid` starts with `mpath-`; then its `dm/name`,
//! `dm/suspended`, `size` (512-byte sectors) and the `device/state` of each block device in its
//! `slaves/` are read. A path is active when that state is `running` (SCSI) or `live` (NVMe).
//!
//! No `/sys/block`: [`CollectError::NoData`], as node_exporter's `ErrNoData`; a host without multipath
//! maps yields no samples and no error.

use std::io;
use std::path::Path;

use crate::read::{read_dir_sorted, read_file, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

/// One block device under a multipath map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipathPath {
    pub device: String,
    pub state: String,
}

/// One multipath map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipathDevice {
    /// `dm/name` (`mpatha`).
    pub name: String,
    /// The block device (`dm-5`).
    pub sysfs_name: String,
    /// `dm/uuid` (`mpath-3600…`).
    pub uuid: String,
    pub suspended: bool,
    pub size_bytes: u64,
    pub paths: Vec<MultipathPath>,
}

/// Whether a path's `device/state` is a healthy, usable one.
pub fn is_path_active(state: &str) -> bool {
    state == "running" || state == "live"
}

/// A number file read as procfs' `ReadUintFromFile`: the whole file, trimmed, decimal.
pub fn parse_uint_file(text: &str) -> Result<u64, crate::error::ParseError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::error::ParseError::new(format!(
            "invalid unsigned integer {t:?}"
        )));
    }
    t.parse().map_err(|_| {
        crate::error::ParseError::new(format!("{t:?} is out of range of a 64-bit integer"))
    })
}

fn attr(path: &Path) -> Result<String, CollectError> {
    sys_read_file(path).map_err(|e| CollectError::io(path, e))
}

fn uint_file(path: &Path) -> Result<u64, CollectError> {
    let text = read_file(path).map_err(|e| CollectError::io(path, e))?;
    parse_uint_file(&text).map_err(|e| e.at(path))
}

/// The multipath maps under `block` (`<sys>/block`), in name order.
pub fn read_devices(block: &Path) -> Result<Vec<MultipathDevice>, CollectError> {
    let entries = read_dir_sorted(block).map_err(|e| CollectError::io(block, e))?;
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.name.starts_with("dm-")) {
        let dir = block.join(&e.name);
        let uuid_path = dir.join("dm/uuid");
        let uuid = match sys_read_file(&uuid_path) {
            Ok(u) => u,
            // No dm/uuid: not a device-mapper device.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(CollectError::io(&uuid_path, err)),
        };
        if !uuid.starts_with("mpath-") {
            continue;
        }
        let name = attr(&dir.join("dm/name"))?;
        let suspended = uint_file(&dir.join("dm/suspended"))? == 1;
        let sectors = uint_file(&dir.join("size"))?;
        let slaves = dir.join("slaves");
        let members = match read_dir_sorted(&slaves) {
            Ok(v) => v,
            Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(CollectError::io(&slaves, err)),
        };
        let mut paths = Vec::with_capacity(members.len());
        for m in members {
            let state = attr(&block.join(&m.name).join("device/state"))?;
            paths.push(MultipathPath {
                device: m.name,
                state,
            });
        }
        out.push(MultipathDevice {
            name,
            sysfs_name: e.name.clone(),
            uuid,
            suspended,
            // procfs multiplies in uint64: wrapping, as Go does.
            size_bytes: sectors.wrapping_mul(512),
            paths,
        });
    }
    Ok(out)
}

/// Append the samples of `devices`.
pub fn push_devices(devices: &[MultipathDevice], out: &mut MetricSet) {
    for d in devices {
        let dl = [
            ("device", d.name.as_str()),
            ("sysfs_name", d.sysfs_name.as_str()),
        ];
        out.gauge(
            "node_dmmultipath_device_info",
            "Non-numeric information about a DM-multipath device.",
            &[
                ("device", d.name.as_str()),
                ("sysfs_name", d.sysfs_name.as_str()),
                ("uuid", d.uuid.as_str()),
            ],
            1.0,
        );
        out.gauge(
            "node_dmmultipath_device_active",
            "Whether the multipath device-mapper device is active (1) or suspended (0).",
            &dl,
            if d.suspended { 0.0 } else { 1.0 },
        );
        out.gauge(
            "node_dmmultipath_device_size_bytes",
            "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
            &dl,
            d.size_bytes as f64,
        );
        let mut active = 0.0;
        for p in &d.paths {
            if is_path_active(&p.state) {
                active += 1.0;
            }
            out.gauge(
                "node_dmmultipath_path_state",
                "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
                &[
                    ("device", d.name.as_str()),
                    ("path", p.device.as_str()),
                    ("state", p.state.as_str()),
                ],
                1.0,
            );
        }
        let total = d.paths.len() as f64;
        out.gauge(
            "node_dmmultipath_device_paths",
            "Number of paths for a multipath device.",
            &dl,
            total,
        );
        out.gauge(
            "node_dmmultipath_device_paths_active",
            "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
            &dl,
            active,
        );
        out.gauge(
            "node_dmmultipath_device_paths_failed",
            "Number of paths not in active state for a multipath device.",
            &dl,
            total - active,
        );
    }
}

/// The `dmmultipath` collector (no state, no flags).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let devices = read_devices(&roots.sys("block")).map_err(|e| match &e {
        // node_exporter: any "not exist" or "permission" error (the wrapped one of a map's file
        // included) is ErrNoData.
        CollectError::Io { source, .. }
            if matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) =>
        {
            CollectError::NoData(format!("could not read DM-multipath devices: {e}"))
        }
        _ => e,
    })?;
    push_devices(&devices, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config_with, fixture_root};

    #[test]
    fn reads_fixture_maps() {
        let devs = read_devices(&fixture_root().join("sys/block")).unwrap();
        assert_eq!(devs.len(), 1, "{devs:?}");
        let d = &devs[0];
        assert_eq!(
            (d.name.as_str(), d.sysfs_name.as_str(), d.uuid.as_str()),
            ("mpatha", "dm-1", "mpath-36001405aaaabbbbccccdddd00000001")
        );
        assert!(!d.suspended);
        assert_eq!(d.size_bytes, 2048 * 512);
        let states: Vec<_> = d
            .paths
            .iter()
            .map(|p| (p.device.as_str(), p.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [("nvme1n1", "live"), ("sdx", "running"), ("sdy", "offline")]
        );
    }

    #[test]
    fn collects_fixture() {
        let out = collect_fixture("dmmultipath");
        let dl = [("device", "mpatha"), ("sysfs_name", "dm-1")];
        assert_eq!(out.value("node_dmmultipath_device_paths", &dl), Some(3.0));
        assert_eq!(
            out.value("node_dmmultipath_device_paths_active", &dl),
            Some(2.0)
        );
        assert_eq!(
            out.value("node_dmmultipath_device_paths_failed", &dl),
            Some(1.0)
        );
        assert_eq!(out.value("node_dmmultipath_device_active", &dl), Some(1.0));
        assert_eq!(
            out.value(
                "node_dmmultipath_path_state",
                &[("device", "mpatha"), ("path", "sdy"), ("state", "offline")]
            ),
            Some(1.0)
        );
        assert!(matches!(
            collect_with("dmmultipath", &fixture_config_with("proc", "no-such-sys")),
            Err(CollectError::NoData(_))
        ));
    }

    #[test]
    fn numbers_are_decimal() {
        assert_eq!(parse_uint_file(" 42\n").unwrap(), 42);
        crate::node::testutil::assert_rejects(parse_uint_file, &["", "+1", "0x10", "-1"]);
    }
}
