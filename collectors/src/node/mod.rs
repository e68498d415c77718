//! The node family: node_exporter's default Linux collectors, with its metric names, labels and units.
//!
//! One collector per file. Each file has pure `parse_*` functions over the file contents (unit-tested on
//! fixtures from `collectors/tests/fixtures/`) and a `Collector` impl that reads the files under [`Roots`].
//! node_exporter's source is the specification of every name, label and unit here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Collector, Roots};

pub mod arp;
pub mod bcache;
pub mod bonding;
pub mod btrfs;
pub mod conntrack;
pub mod cpu;
pub mod cpufreq;
pub mod diskstats;
pub mod dmi;
pub mod edac;
pub mod entropy;
pub mod fibrechannel;
pub mod filefd;
pub mod filesystem;
pub mod hwmon;
pub mod infiniband;
pub mod ipvs;
pub mod loadavg;
pub mod mdadm;
pub mod meminfo;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod nfs;
pub mod nfsd;
pub mod nvme;
pub mod os;
pub mod powersupplyclass;
pub mod pressure;
pub mod rapl;
pub mod schedstat;
pub mod selinux;
pub mod sockstat;
pub mod softnet;
pub mod stat;
pub mod tapestats;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod vmstat;
pub mod xfs;

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
    /// `--collector.cpu.guest`: export node_cpu_guest_seconds_total.
    pub cpu_guest: bool,
    /// `--collector.cpu.info`: export node_cpu_info from /proc/cpuinfo.
    pub cpu_info: bool,
    /// `--collector.cpu.info.flags-include` / `bugs-include` (regex, empty = none): export
    /// node_cpu_flag_info / node_cpu_bug_info for the first CPU's matching flags/bugs; setting one enables
    /// `cpu_info`.
    pub cpu_info_flags_include: String,
    pub cpu_info_bugs_include: String,
    /// `--collector.stat.softirq`: export node_softirqs_total{vector}.
    pub stat_softirq: bool,
    /// `--collector.vmstat.fields`: regex of /proc/vmstat fields to export.
    pub vmstat_fields: String,
    /// `--collector.netstat.fields`: regex over `<Protocol>_<Field>` of the netstat values to expose.
    pub netstat_fields: String,
    /// `--collector.ipvs.backend-labels`: comma-separated backend labels of the ipvs collector.
    pub ipvs_backend_labels: String,
    /// `--collector.powersupply.ignored-supplies`: regex of power supply names to skip.
    pub powersupply_ignored_supplies: String,
    /// `--collector.bcache.priorityStats`: export node_bcache_priority_stats_* (reads each cache's
    /// `priority_stats`, which is expensive for the kernel to produce).
    pub bcache_priority_stats: bool,
    /// `--collector.rapl.enable-zone-label`: one node_rapl_joules_total with a `rapl_zone` label instead of
    /// node_rapl_<zone>_joules_total.
    pub rapl_enable_zone_label: bool,
    /// `--collector.tapestats.ignored-devices`: regex of tape devices to skip.
    pub tapestats_ignored_devices: String,
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
            cpu_guest: true,
            cpu_info: false,
            cpu_info_flags_include: String::new(),
            cpu_info_bugs_include: String::new(),
            stat_softirq: false,
            vmstat_fields: "^(oom_kill|pgpg|pswp|pg.*fault).*".to_string(),
            netstat_fields: netstat::DEFAULT_FIELDS.to_string(),
            ipvs_backend_labels: ipvs::ALL_BACKEND_LABELS.join(","),
            powersupply_ignored_supplies: "^$".to_string(),
            bcache_priority_stats: false,
            rapl_enable_zone_label: false,
            tapestats_ignored_devices: "^$".to_string(),
        }
    }
}

type Ctor = fn(&NodeConfig) -> Result<Box<dyn Collector>, crate::CollectError>;

/// Every node collector: name, enabled by default, constructor.
pub const COLLECTORS: &[(&str, bool, Ctor)] = &[
    ("arp", true, arp::new),
    ("bcache", true, bcache::new),
    ("bonding", true, bonding::new),
    ("btrfs", true, btrfs::new),
    ("conntrack", true, conntrack::new),
    ("cpu", true, cpu::new),
    ("cpufreq", true, cpufreq::new),
    ("diskstats", true, diskstats::new),
    ("dmi", true, dmi::new),
    ("edac", true, edac::new),
    ("entropy", true, entropy::new),
    ("fibrechannel", true, fibrechannel::new),
    ("filefd", true, filefd::new),
    ("filesystem", true, filesystem::new),
    ("hwmon", true, hwmon::new),
    ("infiniband", true, infiniband::new),
    ("ipvs", true, ipvs::new),
    ("loadavg", true, loadavg::new),
    ("mdadm", true, mdadm::new),
    ("meminfo", true, meminfo::new),
    ("netclass", true, netclass::new),
    ("netdev", true, netdev::new),
    ("netstat", true, netstat::new),
    ("nfs", true, nfs::new),
    ("nfsd", true, nfsd::new),
    ("nvme", true, nvme::new),
    ("os", true, os::new),
    ("powersupplyclass", true, powersupplyclass::new),
    ("pressure", true, pressure::new),
    ("rapl", true, rapl::new),
    ("schedstat", true, schedstat::new),
    ("selinux", true, selinux::new),
    ("sockstat", true, sockstat::new),
    ("softnet", true, softnet::new),
    ("stat", true, stat::new),
    ("tapestats", true, tapestats::new),
    ("textfile", true, textfile::new),
    ("thermal_zone", true, thermal_zone::new),
    ("time", true, time::new),
    ("timex", true, timex::new),
    ("udp_queues", true, udp_queues::new),
    ("uname", true, uname::new),
    ("vmstat", true, vmstat::new),
    ("xfs", true, xfs::new),
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

    /// The fixture config with procfs and sysfs at the given fixture-relative directories (one of them
    /// missing, to test a host without the subsystem).
    pub fn fixture_config_with(procfs: &str, sysfs: &str) -> NodeConfig {
        let f = fixture_root();
        NodeConfig {
            roots: Arc::new(Roots::new(
                f.join(procfs),
                f.join(sysfs),
                f.join("root"),
                None,
            )),
            ..fixture_config()
        }
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
