//! The node family: node_exporter's default Linux collectors, with its metric names, labels and units.
//!
//! One collector per file. Each file has pure `parse_*` functions over the file contents (unit-tested on
//! fixtures from `collectors/tests/fixtures/`) and a `Collector` impl that reads the files under [`Roots`].
//! node_exporter's source is the specification of every name, label and unit here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Collector, Roots};

pub mod edac;
pub mod entropy;
pub mod filefd;
pub mod hwmon;
pub mod loadavg;
pub mod os;
pub mod powersupplyclass;
pub mod selinux;
mod sysread;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod uname;

/// Options of the node collectors (node_exporter's `--collector.*` flags that matter to us).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub roots: Arc<Roots>,
    /// `--collector.filesystem.mount-points-exclude`.
    pub fs_mount_points_exclude: String,
    /// `--collector.filesystem.fs-types-exclude`.
    pub fs_types_exclude: String,
    /// `--collector.filesystem.mount-timeout`: how long one `statfs` may take before the mount is
    /// reported with `node_filesystem_device_error 1` and skipped until it answers.
    pub fs_mount_timeout: Duration,
    /// `--collector.textfile.directory`; `None` turns the textfile collector into a no-data collector.
    pub textfile_directory: Option<PathBuf>,
    /// `--collector.netdev.device-exclude` / `--collector.netclass.ignored-devices` (regex, empty = none).
    pub netdev_device_exclude: String,
    pub netclass_ignored_devices: String,
    /// `--collector.diskstats.device-exclude`.
    pub diskstats_device_exclude: String,
    /// `--collector.powersupply.ignored-supplies`: regex of power supply names to skip.
    pub powersupply_ignored_supplies: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            roots: Arc::new(Roots::default()),
            // node_exporter 1.5's defaults.
            fs_mount_points_exclude: "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)".to_string(),
            fs_types_exclude: "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$".to_string(),
            fs_mount_timeout: Duration::from_secs(5),
            textfile_directory: None,
            netdev_device_exclude: String::new(),
            netclass_ignored_devices: "^$".to_string(),
            diskstats_device_exclude: "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$".to_string(),
            powersupply_ignored_supplies: "^$".to_string(),
        }
    }
}

type Ctor = fn(&NodeConfig) -> Result<Box<dyn Collector>, crate::CollectError>;

/// Every node collector: name, enabled by default, constructor.
pub const COLLECTORS: &[(&str, bool, Ctor)] = &[
    ("loadavg", true, loadavg::new),
    ("edac", true, edac::new),
    ("entropy", true, entropy::new),
    ("filefd", true, filefd::new),
    ("hwmon", true, hwmon::new),
    ("os", true, os::new),
    ("powersupplyclass", true, powersupplyclass::new),
    ("selinux", true, selinux::new),
    ("thermal_zone", true, thermal_zone::new),
    ("time", true, time::new),
    ("timex", true, timex::new),
    ("uname", true, uname::new),
];

/// Names of all node collectors, in the order they are listed.
pub fn names() -> impl Iterator<Item = &'static str> {
    COLLECTORS.iter().map(|(n, _, _)| *n)
}

/// Build the collector `name`; `None` when there is no such collector.
pub fn build(
    name: &str,
    cfg: &NodeConfig,
) -> Option<Result<Box<dyn Collector>, crate::CollectError>> {
    COLLECTORS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, ctor)| ctor(cfg))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// The fixture tree: `collectors/tests/fixtures/{proc,sys,root}`.
    pub fn fixture_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// A config whose roots point at the fixture tree.
    pub fn fixture_config() -> NodeConfig {
        let f = fixture_root();
        NodeConfig {
            roots: Arc::new(Roots::new(
                f.join("proc"),
                f.join("sys"),
                f.join("root"),
                None,
            )),
            textfile_directory: Some(f.join("textfile")),
            ..NodeConfig::default()
        }
    }
}
