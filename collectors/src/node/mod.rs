//! The node family: node_exporter's default Linux collectors, with its metric names, labels and units.
//!
//! One collector per file. Each file has pure `parse_*` functions over the file contents (unit-tested on
//! fixtures from `collectors/tests/fixtures/`) and a `Collector` impl that reads the files under [`Roots`].
//! node_exporter's source is the specification of every name, label and unit here.
//!
//! Every read goes through [`crate::read`]. procfs-core parses where its types map one to one onto what
//! node_exporter reads: `/proc/net/arp` ([`arp`]). The others keep their own parser, each saying why in its
//! doc: loadavg (procfs-core parses `f32`), diskstats (fails on short partition lines), net/dev (splits
//! the name at whitespace, not at the colon), pressure (requires a `full` line for cpu), the mount table
//! (procfs-core's mountinfo keeps the `\040` escapes and requires UTF-8), and meminfo, vmstat,
//! netstat/snmp6 and cpu, whose fields procfs-core drops or renames.
//!
//! The netlink collectors (`arp` by default, `network_route`, `qdisc`, `tcpstat`, `wifi`) talk to the kernel
//! through [`crate::read::netlink`] (rust-netlink's crates); `qdisc` and `wifi` also read node_exporter's
//! JSON e2e fixtures (`--collector.{qdisc,wifi}.fixtures`, decoded as Go does: [`go_json`]).
//!
//! Adding a collector: one file with its parsing and either a `collect(roots, out)` function (no state, no
//! flags) or a [`NodeCollector`] impl, and one row in [`COLLECTORS`] with node_exporter's default.

use std::sync::Arc;

use crate::{CollectError, Collector, MetricSet, Roots};

pub mod arp;
pub mod bcache;
pub mod bcachefs;
pub mod bonding;
pub mod btrfs;
pub mod buddyinfo;
pub mod cgroups;
pub mod conntrack;
pub mod cpu;
pub mod cpu_vulnerabilities;
pub mod cpufreq;
pub mod device_filter;
pub mod diskstats;
pub mod dmi;
pub mod dmmultipath;
pub mod drbd;
pub mod drm;
pub mod edac;
pub mod entropy;
pub mod ethtool;
pub mod fibrechannel;
pub mod filefd;
pub mod filesystem;
pub mod go_json;
pub mod hwmon;
pub mod infiniband;
pub mod interrupts;
pub mod ipvs;
pub mod kernel_hung;
pub mod ksmd;
pub mod lnstat;
pub mod loadavg;
pub mod logind;
pub mod mdadm;
pub mod meminfo;
pub mod meminfo_numa;
pub mod mountstats;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod network_route;
pub mod nfs;
pub mod nfsd;
pub mod ntp;
pub mod nvme;
pub mod nvmesubsystem;
pub mod os;
pub mod pcidevice;
pub mod perf;
pub mod powersupplyclass;
pub mod pressure;
pub mod processes;
pub mod qdisc;
pub mod rapl;
pub mod runit;
pub mod schedstat;
pub mod selinux;
pub mod slabinfo;
pub mod sockstat;
pub mod softirqs;
pub mod softnet;
pub mod stat;
pub mod supervisord;
pub mod swap;
pub mod sysctl;
pub mod systemd;
pub mod tapestats;
pub mod tcpstat;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod vmstat;
pub mod watchdog;
pub mod wifi;
pub mod xfrm;
pub mod xfs;
pub mod zfs;
pub mod zoneinfo;

/// Options of the node collectors: the roots, and each collector's own flags (a `Flags` struct in its
/// file, flattened here and into the agent's command line). node_exporter's flag names and defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeConfig {
    /// Set by the agent from `--path.*`.
    #[arg(skip = Arc::new(Roots::default()))]
    pub roots: Arc<Roots>,
    /// The node collectors enabled in this run, set by the agent (node_exporter's `collectorState`: the
    /// cpu collector serves node_cpu_frequency_hertz only with cpufreq on). Empty by default.
    #[arg(skip)]
    pub enabled: Vec<&'static str>,
    #[command(flatten)]
    pub arp: arp::Flags,
    #[command(flatten)]
    pub bcache: bcache::Flags,
    #[command(flatten)]
    pub cpu: cpu::Flags,
    #[command(flatten)]
    pub diskstats: diskstats::Flags,
    #[command(flatten)]
    pub ethtool: ethtool::Flags,
    #[command(flatten)]
    pub filesystem: filesystem::Flags,
    #[command(flatten)]
    pub hwmon: hwmon::Flags,
    #[command(flatten)]
    pub infiniband: infiniband::Flags,
    #[command(flatten)]
    pub interrupts: interrupts::Flags,
    #[command(flatten)]
    pub ipvs: ipvs::Flags,
    #[command(flatten)]
    pub netclass: netclass::Flags,
    #[command(flatten)]
    pub netdev: netdev::Flags,
    #[command(flatten)]
    pub netstat: netstat::Flags,
    #[command(flatten)]
    pub ntp: ntp::Flags,
    #[command(flatten)]
    pub pcidevice: pcidevice::Flags,
    #[command(flatten)]
    pub perf: perf::Flags,
    #[command(flatten)]
    pub powersupplyclass: powersupplyclass::Flags,
    #[command(flatten)]
    pub qdisc: qdisc::Flags,
    #[command(flatten)]
    pub rapl: rapl::Flags,
    #[command(flatten)]
    pub runit: runit::Flags,
    #[command(flatten)]
    pub slabinfo: slabinfo::Flags,
    #[command(flatten)]
    pub stat: stat::Flags,
    #[command(flatten)]
    pub supervisord: supervisord::Flags,
    #[command(flatten)]
    pub sysctl: sysctl::Flags,
    #[command(flatten)]
    pub systemd: systemd::Flags,
    #[command(flatten)]
    pub tapestats: tapestats::Flags,
    #[command(flatten)]
    pub textfile: textfile::Flags,
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
    #[command(flatten)]
    pub wifi: wifi::Flags,
}

impl Default for NodeConfig {
    /// Every flag at its default, the roots at `/proc`, `/sys`, `/`.
    fn default() -> Self {
        use clap::{Args, FromArgMatches};
        let cmd = NodeConfig::augment_args(clap::Command::new("node"));
        let matches = cmd
            .try_get_matches_from(["node"])
            .expect("the node flags' defaults parse");
        NodeConfig::from_arg_matches(&matches).expect("the node flags' defaults parse")
    }
}

/// A regex flag's value compiled; an invalid one is an error naming the flag and the value.
pub fn flag_regex(flag: &str, value: &str) -> Result<regex::Regex, CollectError> {
    regex::Regex::new(value).map_err(|e| CollectError::Other(format!("--{flag} {value:?}: {e}")))
}

/// [`flag_regex`] for a filter flag whose empty value means "no filter".
pub fn optional_flag_regex(flag: &str, value: &str) -> Result<Option<regex::Regex>, CollectError> {
    if value.is_empty() {
        return Ok(None);
    }
    flag_regex(flag, value).map(Some)
}

/// node_exporter's `deviceFilter` (collector/device_filter.go): a name is ignored when it matches the
/// exclude regex or, with an include regex, does not match it. An empty pattern is no filter.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    exclude: Option<regex::Regex>,
    include: Option<regex::Regex>,
}

impl DeviceFilter {
    /// The filter of `--<prefix>-exclude` = `exclude` and `--<prefix>-include` = `include` (the flag names
    /// are for the error of an invalid regex, e.g. `collector.netdev.device`).
    pub fn new(prefix: &str, exclude: &str, include: &str) -> Result<Self, CollectError> {
        Ok(DeviceFilter {
            exclude: optional_flag_regex(&format!("{prefix}-exclude"), exclude)?,
            include: optional_flag_regex(&format!("{prefix}-include"), include)?,
        })
    }

    /// True when `name` is filtered out.
    pub fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

/// The one Go-style duration parser of the flags (`500ms`, `5s`, `1m30s`, `1h`, `250us`).
pub use crate::flags::parse_duration;

/// What a collector with state or flags implements; the registry ([`COLLECTORS`]) gives it its name.
/// A collector without either is just a function, [`CollectFn`].
pub trait NodeCollector: Sized + Send + Sync + 'static {
    /// Build the collector from its flags; an invalid flag value is an error naming the flag.
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError>;
    /// Append this collector's metrics to `out` ([`Collector::collect`]).
    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError>;
}

/// A collector without state or flags: it reads under the roots and appends to `out`.
pub type CollectFn = fn(&Roots, &mut MetricSet) -> Result<(), CollectError>;

/// What the registry hands the agent.
pub type Built = Result<Box<dyn Collector>, CollectError>;

/// How the registry builds a collector.
#[derive(Clone, Copy)]
pub enum Factory {
    /// A [`CollectFn`] run with the configured roots.
    Roots(CollectFn),
    /// A [`NodeCollector`], built by [`Factory::of`].
    Built(fn(&'static str, &NodeConfig) -> Built),
    /// A collector that implements [`Collector`] itself (textfile, filesystem).
    Boxed(fn(&NodeConfig) -> Built),
}

impl Factory {
    /// The factory of the [`NodeCollector`] `C`.
    pub const fn of<C: NodeCollector>() -> Self {
        Factory::Built(|name, cfg| {
            Ok(Box::new(Named {
                name,
                inner: C::new(cfg)?,
            }))
        })
    }

    fn build(
        self,
        name: &'static str,
        cfg: &NodeConfig,
    ) -> Result<Box<dyn Collector>, CollectError> {
        match self {
            Factory::Roots(collect) => Ok(Box::new(RootsFn {
                name,
                roots: cfg.roots.clone(),
                collect,
            })),
            Factory::Built(build) => build(name, cfg),
            Factory::Boxed(build) => build(cfg),
        }
    }
}

/// A [`CollectFn`] under its registered name, with its roots.
struct RootsFn {
    name: &'static str,
    roots: Arc<Roots>,
    collect: CollectFn,
}

impl Collector for RootsFn {
    fn name(&self) -> &'static str {
        self.name
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        (self.collect)(&self.roots, out)
    }
}

/// A [`NodeCollector`] under its registered name.
struct Named<C> {
    name: &'static str,
    inner: C,
}

impl<C: NodeCollector> Collector for Named<C> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        self.inner.collect(out)
    }
}

/// node_exporter's `defaultEnabled` / `defaultDisabled`.
pub const ENABLED: bool = true;
pub const DISABLED: bool = false;

/// Every node collector, as node_exporter's `registerCollector(name, default, factory)`: name, enabled by
/// default, factory. The defaults are node_exporter 1.12.1's (`collector/*_linux.go`): a collector
/// that is `defaultEnabled` there is [`ENABLED`] here, one that is `defaultDisabled` is [`DISABLED`].
pub const COLLECTORS: &[(&str, bool, Factory)] = &[
    ("arp", ENABLED, Factory::of::<arp::Arp>()),
    ("bcache", ENABLED, Factory::of::<bcache::Bcache>()),
    ("bcachefs", ENABLED, Factory::Roots(bcachefs::collect)),
    ("bonding", ENABLED, Factory::Roots(bonding::collect)),
    ("btrfs", ENABLED, Factory::Roots(btrfs::collect)),
    ("buddyinfo", DISABLED, Factory::Roots(buddyinfo::collect)),
    ("cgroups", DISABLED, Factory::Roots(cgroups::collect)),
    ("conntrack", ENABLED, Factory::Roots(conntrack::collect)),
    ("cpu", ENABLED, Factory::of::<cpu::Cpu>()),
    (
        "cpu_vulnerabilities",
        DISABLED,
        Factory::Roots(cpu_vulnerabilities::collect),
    ),
    ("cpufreq", ENABLED, Factory::Roots(cpufreq::collect)),
    ("diskstats", ENABLED, Factory::of::<diskstats::Diskstats>()),
    ("dmi", ENABLED, Factory::of::<dmi::Dmi>()),
    ("dmmultipath", ENABLED, Factory::Roots(dmmultipath::collect)),
    ("drbd", DISABLED, Factory::Roots(drbd::collect)),
    ("drm", DISABLED, Factory::Roots(drm::collect)),
    ("edac", ENABLED, Factory::Roots(edac::collect)),
    ("entropy", ENABLED, Factory::Roots(entropy::collect)),
    ("ethtool", DISABLED, Factory::of::<ethtool::Ethtool>()),
    (
        "fibrechannel",
        ENABLED,
        Factory::Roots(fibrechannel::collect),
    ),
    ("filefd", ENABLED, Factory::Roots(filefd::collect)),
    ("filesystem", ENABLED, Factory::Boxed(filesystem::new)),
    ("hwmon", ENABLED, Factory::of::<hwmon::Hwmon>()),
    (
        "infiniband",
        ENABLED,
        Factory::of::<infiniband::InfiniBand>(),
    ),
    (
        "interrupts",
        DISABLED,
        Factory::of::<interrupts::Interrupts>(),
    ),
    ("ipvs", ENABLED, Factory::of::<ipvs::Ipvs>()),
    ("kernel_hung", ENABLED, Factory::Roots(kernel_hung::collect)),
    ("ksmd", DISABLED, Factory::Roots(ksmd::collect)),
    ("lnstat", DISABLED, Factory::Roots(lnstat::collect)),
    ("loadavg", ENABLED, Factory::Roots(loadavg::collect)),
    ("logind", DISABLED, Factory::of::<logind::Logind>()),
    ("mdadm", ENABLED, Factory::Roots(mdadm::collect)),
    ("meminfo", ENABLED, Factory::Roots(meminfo::collect)),
    (
        "meminfo_numa",
        DISABLED,
        Factory::Roots(meminfo_numa::collect),
    ),
    (
        "mountstats",
        DISABLED,
        Factory::of::<mountstats::MountStats>(),
    ),
    ("netclass", ENABLED, Factory::of::<netclass::NetClass>()),
    ("netdev", ENABLED, Factory::of::<netdev::NetDev>()),
    ("netstat", ENABLED, Factory::of::<netstat::Netstat>()),
    (
        "network_route",
        DISABLED,
        Factory::Roots(network_route::collect),
    ),
    ("nfs", ENABLED, Factory::Roots(nfs::collect)),
    ("nfsd", ENABLED, Factory::Roots(nfsd::collect)),
    ("ntp", DISABLED, Factory::of::<ntp::Ntp>()),
    ("nvme", ENABLED, Factory::Roots(nvme::collect)),
    (
        "nvmesubsystem",
        DISABLED,
        Factory::Roots(nvmesubsystem::collect),
    ),
    ("os", ENABLED, Factory::of::<os::Os>()),
    ("pcidevice", DISABLED, Factory::of::<pcidevice::Pcidevice>()),
    ("perf", DISABLED, Factory::of::<perf::Perf>()),
    (
        "powersupplyclass",
        ENABLED,
        Factory::of::<powersupplyclass::PowerSupplyClass>(),
    ),
    ("pressure", ENABLED, Factory::Roots(pressure::collect)),
    ("processes", DISABLED, Factory::Roots(processes::collect)),
    ("qdisc", DISABLED, Factory::of::<qdisc::Qdisc>()),
    ("rapl", ENABLED, Factory::of::<rapl::Rapl>()),
    ("runit", DISABLED, Factory::of::<runit::Runit>()),
    ("schedstat", ENABLED, Factory::Roots(schedstat::collect)),
    ("selinux", ENABLED, Factory::of::<selinux::Selinux>()),
    ("slabinfo", DISABLED, Factory::of::<slabinfo::Slabinfo>()),
    (
        "sockstat",
        ENABLED,
        Factory::of::<sockstat::SockstatCollector>(),
    ),
    ("softirqs", DISABLED, Factory::Roots(softirqs::collect)),
    ("softnet", ENABLED, Factory::Roots(softnet::collect)),
    ("stat", ENABLED, Factory::of::<stat::Stat>()),
    ("swap", DISABLED, Factory::Roots(swap::collect)),
    (
        "supervisord",
        DISABLED,
        Factory::of::<supervisord::Supervisord>(),
    ),
    ("sysctl", DISABLED, Factory::of::<sysctl::SysctlCollector>()),
    ("systemd", DISABLED, Factory::of::<systemd::Systemd>()),
    ("tapestats", ENABLED, Factory::of::<tapestats::TapeStats>()),
    ("tcpstat", DISABLED, Factory::of::<tcpstat::TcpStat>()),
    ("textfile", ENABLED, Factory::Boxed(textfile::new)),
    (
        "thermal_zone",
        ENABLED,
        Factory::Roots(thermal_zone::collect),
    ),
    ("time", ENABLED, Factory::Roots(time::collect)),
    ("timex", ENABLED, Factory::Roots(timex::collect)),
    ("udp_queues", ENABLED, Factory::Roots(udp_queues::collect)),
    ("uname", ENABLED, Factory::Roots(uname::collect)),
    ("vmstat", ENABLED, Factory::of::<vmstat::Vmstat>()),
    ("watchdog", ENABLED, Factory::Roots(watchdog::collect)),
    ("wifi", DISABLED, Factory::of::<wifi::Wifi>()),
    ("xfrm", DISABLED, Factory::Roots(xfrm::collect)),
    ("xfs", ENABLED, Factory::Roots(xfs::collect)),
    ("zfs", ENABLED, Factory::Roots(zfs::collect)),
    ("zoneinfo", DISABLED, Factory::Roots(zoneinfo::collect)),
];

/// Names of all node collectors, in the order they are listed.
pub fn names() -> impl Iterator<Item = &'static str> {
    COLLECTORS.iter().map(|(n, _, _)| *n)
}

/// Build the collector `name`; `None` when there is no such collector.
pub fn build(name: &str, cfg: &NodeConfig) -> Option<Built> {
    COLLECTORS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(n, _, factory)| factory.build(n, cfg))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// The fixture tree: `collectors/tests/fixtures/{proc,sys,root}`.
    pub fn fixture_root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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

    /// Build the registered collector `name` (a test's typo panics).
    pub fn build(name: &str, cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
        super::build(name, cfg).unwrap_or_else(|| panic!("no collector named {name}"))
    }

    /// One scrape of the collector `name` on `cfg`.
    pub fn collect_with(name: &str, cfg: &NodeConfig) -> Result<MetricSet, CollectError> {
        let mut out = MetricSet::new();
        build(name, cfg)?.collect(&mut out)?;
        Ok(out)
    }

    /// One scrape of the collector `name` on the fixture tree, which must succeed.
    pub fn collect_fixture(name: &str) -> MetricSet {
        collect_with(name, &fixture_config())
            .unwrap_or_else(|e| panic!("{name} on the fixtures: {e}"))
    }

    /// A sample a test expects: name, labels, value.
    pub type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

    /// Each `(name, labels, value)` is in `out` with that value.
    #[track_caller]
    pub fn assert_values(out: &MetricSet, expected: &[Expected]) {
        for (name, labels, v) in expected {
            assert_eq!(out.value(name, labels), Some(*v), "{name}{labels:?}");
        }
    }

    /// One scrape of `name` on the fixture tree, checked with [`assert_values`]; the scrape, for more checks.
    #[track_caller]
    pub fn assert_fixture(name: &str, expected: &[Expected]) -> MetricSet {
        let out = collect_fixture(name);
        assert_values(&out, expected);
        out
    }

    /// `parse` rejects every one of `inputs`.
    #[track_caller]
    pub fn assert_rejects<T, E>(parse: impl Fn(&str) -> Result<T, E>, inputs: &[&str]) {
        for input in inputs {
            assert!(parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn defaults_are_node_exporters() {
        let d = NodeConfig::default();
        assert_eq!(d.netclass.ignored_devices, "^$");
        assert_eq!(d.netdev.device_exclude, "");
        assert_eq!(
            d.diskstats.patterns().unwrap(),
            ("^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$", "")
        );
        assert_eq!(
            d.filesystem.mount_timeout,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(d.ipvs.backend_labels, ipvs::ALL_BACKEND_LABELS.join(","));
        assert_eq!(d.netstat.fields, netstat::DEFAULT_FIELDS);
        assert_eq!(d.vmstat.fields, "^(oom_kill|pgpg|pswp|pg.*fault).*");
        assert_eq!(
            (
                d.slabinfo.slabs_include.as_str(),
                d.slabinfo.slabs_exclude.as_str()
            ),
            (".*", "")
        );
        assert!(!d.cpu.no_guest && !d.cpu.info && !d.stat.softirq && !d.bcache.priority_stats);
        assert_eq!(d.textfile.directory, None);
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
            textfile: textfile::Flags {
                directory: Some(f.join("textfile")),
            },
            ..NodeConfig::default()
        }
    }
}
