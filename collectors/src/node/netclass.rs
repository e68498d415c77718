//! `netclass`: node_network_* properties of every interface under `/sys/class/net/<iface>/`.
//!
//! As node_exporter 1.12.1 (procfs 0.21 `sysfs.NetClassByIface`, sysfs mode: `--collector.netclass.netlink`
//! is off by default and not implemented here): every entry of `/sys/class/net` that is not a
//! regular file is an interface; each attribute is read with the read layer's one sysfs read and trimmed; an
//! attribute that is missing or that the kernel refuses ([`crate::read::is_absent`]: `EINVAL` for
//! `speed`/`carrier`/`duplex` on a link that is down, `EOPNOTSUPP`, `EACCES`, …) is absent, and so is a
//! numeric attribute that does not parse (Go `ParseInt` with base 0, so `flags` = `0x1003` is hex). Absent numbers produce no sample; absent strings are `""`.

use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::read::{parse_go_int, read_attr, read_dir_sorted};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// The interface properties node_exporter exposes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NetClassIface {
    pub name: String,
    pub address: String,
    pub broadcast: String,
    pub duplex: String,
    pub ifalias: String,
    pub operstate: String,
    pub addr_assign_type: Option<i64>,
    pub carrier: Option<i64>,
    pub carrier_changes: Option<i64>,
    pub carrier_up_count: Option<i64>,
    pub carrier_down_count: Option<i64>,
    pub dev_id: Option<i64>,
    pub dormant: Option<i64>,
    pub flags: Option<i64>,
    pub ifindex: Option<i64>,
    pub iflink: Option<i64>,
    pub link_mode: Option<i64>,
    pub mtu: Option<i64>,
    pub name_assign_type: Option<i64>,
    pub netdev_group: Option<i64>,
    pub speed: Option<i64>,
    pub tx_queue_len: Option<i64>,
    pub type_: Option<i64>,
}

/// Read the properties of the interface whose sysfs directory is `dir`. `Ok(None)` when the directory
/// vanished (the interface was removed while we read).
pub fn read_iface(dir: &Path, name: &str) -> Result<Option<NetClassIface>, CollectError> {
    // Every network device has an `address` attribute: only without one is the directory asked whether it
    // is still there (one `stat` less per interface and scrape).
    let address = read_attr(dir.join("address"))?;
    if address.is_none() && !dir.is_dir() {
        return Ok(None);
    }
    let s = |attr: &str| -> Result<String, CollectError> {
        Ok(read_attr(dir.join(attr))?.unwrap_or_default())
    };
    let n = |attr: &str| -> Result<Option<i64>, CollectError> {
        Ok(read_attr(dir.join(attr))?.and_then(|v| parse_go_int(&v).ok()))
    };
    Ok(Some(NetClassIface {
        name: name.to_string(),
        address: address.unwrap_or_default(),
        broadcast: s("broadcast")?,
        duplex: s("duplex")?,
        ifalias: s("ifalias")?,
        operstate: s("operstate")?,
        addr_assign_type: n("addr_assign_type")?,
        carrier: n("carrier")?,
        carrier_changes: n("carrier_changes")?,
        carrier_up_count: n("carrier_up_count")?,
        carrier_down_count: n("carrier_down_count")?,
        dev_id: n("dev_id")?,
        dormant: n("dormant")?,
        flags: n("flags")?,
        ifindex: n("ifindex")?,
        iflink: n("iflink")?,
        link_mode: n("link_mode")?,
        mtu: n("mtu")?,
        name_assign_type: n("name_assign_type")?,
        netdev_group: n("netdev_group")?,
        speed: n("speed")?,
        tx_queue_len: n("tx_queue_len")?,
        type_: n("type")?,
    }))
}

/// `node_network_speed_bytes` for a `speed` attribute in Mbit/s, as node_exporter computes it (int64
/// arithmetic, so an unknown speed of -1 gives -125000 unless `--collector.netclass.ignore-invalid-speed`).
pub fn speed_bytes(mbits: i64) -> i64 {
    mbits.wrapping_mul(1_000_000) / 8
}

pub struct NetClass {
    roots: Arc<Roots>,
    ignored: Regex,
    ignore_invalid_speed: bool,
}

/// node_network_info's `adminstate` (1.6): `up` when `flags` has IFF_UP, `down` when not, `unknown`
/// without a readable `flags`.
pub fn admin_state(flags: Option<i64>) -> &'static str {
    match flags {
        None => "unknown",
        Some(f) if f & 1 == 1 => "up",
        Some(_) => "down",
    }
}

fn prop_sample(
    out: &mut MetricSet,
    name: &str,
    help: &str,
    counter: bool,
    device: &str,
    v: Option<i64>,
) {
    let Some(v) = v else { return };
    if counter {
        out.counter(name, help, &[("device", device)], v as f64);
    } else {
        out.gauge(name, help, &[("device", device)], v as f64);
    }
}

/// One `node_network_<key>` property sample, named and described at compile time as node_exporter does
/// (`Network device property: <key>`); no sample when the value is absent.
macro_rules! prop {
    ($out:expr, $key:literal, $counter:expr, $dev:expr, $v:expr $(,)?) => {
        prop_sample(
            $out,
            concat!("node_network_", $key),
            concat!("Network device property: ", $key),
            $counter,
            $dev,
            $v,
        )
    };
}

/// Write the metrics of one interface, in node_exporter's order; `ignore_invalid_speed` drops a negative
/// speed (`--collector.netclass.ignore-invalid-speed`).
pub fn write_iface(out: &mut MetricSet, i: &NetClassIface, ignore_invalid_speed: bool) {
    let dev = i.name.as_str();
    out.gauge(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        &[("device", dev)],
        if i.operstate == "up" { 1.0 } else { 0.0 },
    );
    out.gauge(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        &[
            ("address", &i.address),
            ("adminstate", admin_state(i.flags)),
            ("broadcast", &i.broadcast),
            ("device", dev),
            ("duplex", &i.duplex),
            ("ifalias", &i.ifalias),
            ("operstate", &i.operstate),
        ],
        1.0,
    );
    prop!(out, "address_assign_type", false, dev, i.addr_assign_type);
    prop!(out, "carrier", false, dev, i.carrier);
    prop!(out, "carrier_changes_total", true, dev, i.carrier_changes);
    prop!(
        out,
        "carrier_up_changes_total",
        true,
        dev,
        i.carrier_up_count,
    );
    prop!(
        out,
        "carrier_down_changes_total",
        true,
        dev,
        i.carrier_down_count,
    );
    prop!(out, "device_id", false, dev, i.dev_id);
    prop!(out, "dormant", false, dev, i.dormant);
    prop!(out, "flags", false, dev, i.flags);
    prop!(out, "iface_id", false, dev, i.ifindex);
    prop!(out, "iface_link", false, dev, i.iflink);
    prop!(out, "iface_link_mode", false, dev, i.link_mode);
    prop!(out, "mtu_bytes", false, dev, i.mtu);
    prop!(out, "name_assign_type", false, dev, i.name_assign_type);
    prop!(out, "net_dev_group", false, dev, i.netdev_group);
    // Without --collector.netclass.ignore-invalid-speed an unknown speed (-1) is -125000.
    let speed = i.speed.filter(|s| *s >= 0 || !ignore_invalid_speed);
    prop!(out, "speed_bytes", false, dev, speed.map(speed_bytes));
    prop!(out, "transmit_queue_length", false, dev, i.tx_queue_len);
    prop!(out, "protocol_type", false, dev, i.type_);
}

/// The netclass collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to ignore for netclass collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.netclass.ignored-devices",
        long = "collector.netclass.ignored-devices",
        default_value = "^$"
    )]
    pub ignored_devices: String,
    /// Ignore devices where the speed is invalid. This will be the default behavior in 2.x.
    #[arg(
        id = "collector.netclass.ignore-invalid-speed",
        long = "collector.netclass.ignore-invalid-speed"
    )]
    pub ignore_invalid_speed: bool,
}

impl NodeCollector for NetClass {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let ignored = super::flag_regex(
            "collector.netclass.ignored-devices",
            &cfg.netclass.ignored_devices,
        )?;
        Ok(NetClass {
            roots: cfg.roots.clone(),
            ignored,
            ignore_invalid_speed: cfg.netclass.ignore_invalid_speed,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let base = self.roots.sys("class/net");
        let entries = match read_dir_sorted(&base) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(CollectError::NoData(format!("{}: {e}", base.display())));
            }
            Err(e) => return Err(CollectError::io(&base, e)),
        };
        // Interfaces are symlinks (directories in fixtures); `bonding_masters` is a regular file.
        for e in entries.iter().filter(|e| !e.file_type.is_file()) {
            if self.ignored.is_match(&e.name) {
                continue;
            }
            if let Some(iface) = read_iface(&base.join(&e.name), &e.name)? {
                write_iface(out, &iface, self.ignore_invalid_speed);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_values, collect_fixture, collect_with, fixture_config, fixture_root,
    };

    #[test]
    fn admin_state_and_invalid_speed() {
        assert_eq!(admin_state(None), "unknown");
        assert_eq!(admin_state(Some(0x1003)), "up");
        assert_eq!(admin_state(Some(0x1002)), "down");
        let mut cfg = fixture_config();
        let eth0 = [("device", "eth0")];
        let out = collect_with("netclass", &cfg).unwrap();
        assert_eq!(
            out.value("node_network_speed_bytes", &eth0),
            Some(-125000.0)
        );
        cfg.netclass.ignore_invalid_speed = true;
        let out = collect_with("netclass", &cfg).unwrap();
        assert_eq!(out.value("node_network_speed_bytes", &eth0), None);
        assert_eq!(
            out.value("node_network_speed_bytes", &[("device", "eth1")]),
            Some(1_250_000_000.0)
        );
    }

    #[test]
    fn speed_is_mbits_times_125000() {
        assert_eq!(speed_bytes(10000), 1_250_000_000);
        assert_eq!(speed_bytes(-1), -125_000);
        assert_eq!(speed_bytes(0), 0);
    }

    fn iface(name: &str) -> NetClassIface {
        let dir = fixture_root().join("sys/class/net").join(name);
        read_iface(&dir, name).unwrap().unwrap()
    }

    #[test]
    fn reads_fixture_interfaces() {
        let eth0 = iface("eth0");
        assert_eq!(eth0.address, "02:fc:00:00:00:01");
        assert_eq!(eth0.operstate, "up");
        assert_eq!(eth0.duplex, "unknown");
        assert_eq!(eth0.flags, Some(0x1003));
        assert_eq!(eth0.speed, Some(-1));
        assert_eq!(eth0.mtu, Some(1400));
        assert_eq!(eth0.dev_id, Some(0));

        // ifb0 is down: the kernel refuses speed, carrier, duplex, dormant, name_assign_type (EINVAL);
        // the fixture has no such files.
        let ifb0 = iface("ifb0");
        assert_eq!(ifb0.speed, None);
        assert_eq!(ifb0.carrier, None);
        assert_eq!(ifb0.duplex, "");
        assert_eq!(ifb0.name_assign_type, None);
        assert_eq!(ifb0.tx_queue_len, Some(32));
        assert_eq!(ifb0.flags, Some(0x82));

        let eth1 = iface("eth1");
        assert_eq!(eth1.speed, Some(10000));
        assert_eq!(eth1.ifalias, "uplink \"A\" \\ rack 3");
    }

    #[test]
    fn vanished_interface_is_skipped() {
        let dir = fixture_root().join("sys/class/net/nosuchdev");
        assert_eq!(read_iface(&dir, "nosuchdev").unwrap(), None);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("netclass");
        let up = out.get("node_network_up").unwrap();
        let devices: Vec<_> = up.samples.iter().map(|s| s.labels[0].1.as_str()).collect();
        // bonding_masters is a regular file, not an interface.
        assert_eq!(
            devices,
            [
                "bond0",
                "docker0",
                "eth0",
                "eth1",
                "ifb0",
                "lo",
                "veth-a.b@c"
            ]
        );
        assert_values(
            &out,
            &[
                ("node_network_up", &[("device", "eth0")], 1.0),
                ("node_network_up", &[("device", "lo")], 0.0),
            ],
        );
        let info = out.get("node_network_info").unwrap();
        let lo = info
            .samples
            .iter()
            .find(|s| s.labels.iter().any(|(k, v)| k == "device" && v == "lo"))
            .unwrap();
        let lo_labels: Vec<(&str, &str)> = lo
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            lo_labels,
            [
                ("address", "00:00:00:00:00:00"),
                ("adminstate", "up"),
                ("broadcast", "00:00:00:00:00:00"),
                ("device", "lo"),
                ("duplex", ""),
                ("ifalias", ""),
                ("operstate", "unknown"),
            ]
        );
        assert_values(
            &out,
            &[
                (
                    "node_network_speed_bytes",
                    &[("device", "eth1")],
                    1_250_000_000.0,
                ),
                (
                    "node_network_speed_bytes",
                    &[("device", "docker0")],
                    -125_000.0,
                ),
            ],
        );
        assert_eq!(
            out.value("node_network_speed_bytes", &[("device", "ifb0")]),
            None
        );
        assert_eq!(
            out.value("node_network_carrier", &[("device", "ifb0")]),
            None
        );
        assert_values(
            &out,
            &[
                ("node_network_flags", &[("device", "lo")], 9.0),
                ("node_network_protocol_type", &[("device", "lo")], 772.0),
                (
                    "node_network_carrier_changes_total",
                    &[("device", "eth1")],
                    3.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_network_carrier_up_changes_total")
                .unwrap()
                .kind,
            crate::Kind::Counter
        );
        assert_values(
            &out,
            &[
                ("node_network_iface_link", &[("device", "veth-a.b@c")], 6.0),
                ("node_network_device_id", &[("device", "eth1")], 1.0),
            ],
        );
    }

    #[test]
    fn ignored_devices() {
        let mut cfg = fixture_config();
        cfg.netclass.ignored_devices = "^(lo|veth.*|bond.*)$".to_string();
        let out = collect_with("netclass", &cfg).unwrap();
        assert_eq!(out.get("node_network_up").unwrap().samples.len(), 4);
        assert_eq!(out.value("node_network_up", &[("device", "lo")]), None);
    }

    #[test]
    fn missing_sysfs_is_no_data() {
        let mut cfg = fixture_config();
        cfg.roots = Arc::new(Roots::new("/nonexistent", "/nonexistent", "/", None));
        let err = collect_with("netclass", &cfg).unwrap_err();
        assert!(err.is_no_data(), "{err}");
    }

    /// On a real host, an interface that is down answers EINVAL for `speed`: absent, not an error. Needs the
    /// real kernel's sysfs: `#[ignore]`d in a plain `cargo test`, run by `make test`.
    #[test]
    #[ignore = "needs the real kernel's sysfs (/sys/class/net)"]
    fn real_sysfs_einval_is_absent() {
        let entries = std::fs::read_dir("/sys/class/net").unwrap_or_else(|e| {
            panic!("prerequisite missing: /sys/class/net ({e}): run on a Linux host with sysfs mounted")
        });
        for e in entries.flatten() {
            let p = e.path().join("speed");
            assert!(read_attr(&p).is_ok(), "{}", p.display());
        }
    }
}
