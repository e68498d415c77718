//! `netdev`: node_network_{receive,transmit}_*_total{device} from `/proc/net/dev`.
//!
//! node_exporter 1.5 reads the link statistics over netlink by default and folds the detailed error counters
//! into the legacy `/proc/net/dev` columns (`receive_drop` = dropped + missed, `receive_frame` = frame +
//! length + over + crc, `transmit_carrier` = carrier + aborted + heartbeat + window), which is exactly what
//! the kernel prints in `/proc/net/dev`. The one netlink-only value, `receive_nohandler`, comes from
//! `/sys/class/net/<dev>/statistics/rx_nohandler` when the agent reads its own network namespace.
//!
//! Our parser, not procfs-core's `InterfaceDeviceStatus`: it splits the interface name off at the first
//! whitespace, so `eth0:123456789` (a receive byte count wide enough to touch the colon) is misread;
//! node_exporter splits at the colon.

use std::sync::Arc;

use regex::Regex;

use crate::error::ParseError;
use crate::read::{parse_u64, read_attr, read_to_string};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// The 16 counters of one `/proc/net/dev` line, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevLine {
    pub name: String,
    /// receive: bytes packets errs drop fifo frame compressed multicast;
    /// transmit: bytes packets errs drop fifo colls carrier compressed.
    pub values: [u64; 16],
}

/// The metric key (`node_network_<key>_total`) of each `/proc/net/dev` column, in file order.
pub const COLUMNS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
];

/// Parse `/proc/net/dev`: two header lines, then `name: 16 counters` per device.
pub fn parse_net_dev(text: &str) -> Result<Vec<NetDevLine>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        if line.trim().is_empty() {
            continue;
        }
        // Interface names cannot contain ':' on current kernels; old alias lines (`ibr10:30:`) keep
        // everything before the last colon as the name, as procfs does.
        let idx = line
            .rfind(':')
            .ok_or_else(|| ParseError::new(format!("missing colon in line {line:?}")))?;
        let name = line[..idx].trim();
        if name.is_empty() {
            return Err(ParseError::new(format!(
                "empty interface name in line {line:?}"
            )));
        }
        let mut values = [0u64; 16];
        let mut fields = line[idx + 1..].split_whitespace();
        for (i, v) in values.iter_mut().enumerate() {
            let f = fields
                .next()
                .ok_or_else(|| ParseError::new(format!("{name}: missing column {}", COLUMNS[i])))?;
            *v = f.parse().map_err(|_| {
                ParseError::new(format!("{name}: {}: not a counter: {f:?}", COLUMNS[i]))
            })?;
        }
        out.push(NetDevLine {
            name: name.to_string(),
            values,
        });
    }
    Ok(out)
}

pub struct NetDev {
    roots: Arc<Roots>,
    exclude: Option<Regex>,
    /// Whether `/sys/class/net` shows the same network namespace as the `/proc/net` we read (no
    /// `--path.netns-pid`), so that `rx_nohandler` can be taken from sysfs.
    same_netns: bool,
    /// Metric names and help texts, built once.
    names: Vec<(String, String)>,
}

impl NetDev {
    fn nohandler(&self, device: &str) -> Result<Option<u64>, CollectError> {
        if !self.same_netns || device.contains('/') {
            return Ok(None);
        }
        let stats = self.roots.sys("class/net").join(device).join("statistics");
        let path = stats.join("rx_nohandler");
        match read_attr(&path)? {
            Some(v) => Ok(Some(parse_u64(&v).map_err(|e| e.at(&path))?)),
            // netlink reports 0 on kernels without the counter; so do we, unless the device has no
            // statistics directory at all (asked only then: one `stat` less per device and scrape).
            None if stats.is_dir() => Ok(Some(0)),
            None => Ok(None),
        }
    }
}

/// The netdev collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to exclude (netdev).
    #[arg(
        value_name = "REGEX",
        id = "collector.netdev.device-exclude",
        long = "collector.netdev.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
}

impl NodeCollector for NetDev {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let exclude = super::optional_flag_regex(
            "collector.netdev.device-exclude",
            &cfg.netdev.device_exclude,
        )?;
        let roots = cfg.roots.clone();
        let same_netns = roots.procfs_net == roots.procfs.join("net");
        let names = COLUMNS
            .iter()
            .chain(std::iter::once(&"receive_nohandler"))
            .map(|k| {
                (
                    format!("node_network_{k}_total"),
                    format!("Network device statistic {k}."),
                )
            })
            .collect();
        Ok(NetDev {
            roots,
            exclude,
            same_netns,
            names,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc_net("dev");
        let lines = parse_net_dev(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for line in &lines {
            if self
                .exclude
                .as_ref()
                .is_some_and(|re| re.is_match(&line.name))
            {
                continue;
            }
            let labels = [("device", line.name.as_str())];
            for ((name, help), v) in self.names.iter().zip(line.values) {
                out.counter(name, help, &labels, v as f64);
            }
            if let Some(v) = self.nohandler(&line.name)? {
                let (name, help) = &self.names[16];
                out.counter(name, help, &labels, v as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, assert_values, build, collect_fixture, collect_with, fixture_config,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/net/dev");

    #[test]
    fn parses_fixture() {
        let lines = parse_net_dev(FIXTURE).unwrap();
        let names: Vec<_> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lo",
                "ifb0",
                "ifb1",
                "eth0",
                "docker0",
                "eth1",
                "veth-a.b@c"
            ]
        );
        let eth0 = &lines[3];
        assert_eq!(eth0.values[0], 192615085);
        assert_eq!(eth0.values[9], 3809);
        let docker0 = &lines[4];
        assert_eq!(docker0.values[11], 2, "transmit_drop");
        let eth1 = &lines[5];
        assert_eq!(eth1.values[0], u64::MAX);
        assert_eq!(eth1.values[8], u64::MAX - 1);
        assert_eq!(&eth1.values[2..8], &[3, 4, 5, 6, 7, 8]);
        assert_eq!(eth1.values[15], 14);
        assert_eq!(lines[6].values, [0; 16]);
    }

    #[test]
    fn old_alias_line_keeps_name_before_last_colon() {
        let text = "h\nh\nibr10:30:  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        let lines = parse_net_dev(text).unwrap();
        assert_eq!(lines[0].name, "ibr10:30");
        assert_eq!(lines[0].values[15], 16);
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_net_dev,
            &[
                "h\nh\neth0 1 2 3\n",
                "h\nh\neth0: 1 2 3\n",
                "h\nh\n: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
                "h\nh\neth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n",
            ],
        );
        // Counters wrap at 2^64 in the kernel; one more is not a counter.
        assert!(parse_net_dev(
            "h\nh\neth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
        )
        .is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("netdev");
        let bytes = out.get("node_network_receive_bytes_total").unwrap();
        assert_eq!(bytes.samples.len(), 7);
        assert_eq!(
            bytes.samples[0].labels,
            vec![("device".to_string(), "lo".to_string())]
        );
        assert_values(
            &out,
            &[
                (
                    "node_network_receive_bytes_total",
                    &[("device", "eth1")],
                    18446744073709551615.0,
                ),
                (
                    "node_network_transmit_drop_total",
                    &[("device", "docker0")],
                    2.0,
                ),
                (
                    "node_network_transmit_carrier_total",
                    &[("device", "eth1")],
                    13.0,
                ),
                (
                    "node_network_receive_nohandler_total",
                    &[("device", "eth1")],
                    7.0,
                ),
                (
                    "node_network_receive_nohandler_total",
                    &[("device", "eth0")],
                    0.0,
                ),
            ],
        );
        // ifb1 has no sysfs directory and veth-a.b@c no statistics directory: no nohandler for them.
        let nohandler = out.get("node_network_receive_nohandler_total").unwrap();
        assert_eq!(nohandler.samples.len(), 5);
        assert_eq!(
            out.value(
                "node_network_receive_packets_total",
                &[("device", "veth-a.b@c")]
            ),
            Some(0.0)
        );
        assert_eq!(out.families().len(), 17);
    }

    #[test]
    fn device_exclude() {
        let mut cfg = fixture_config();
        cfg.netdev.device_exclude = "^(lo|ifb.*)$".to_string();
        let out = collect_with("netdev", &cfg).unwrap();
        let devices: Vec<_> = out
            .get("node_network_transmit_bytes_total")
            .unwrap()
            .samples
            .iter()
            .map(|s| s.labels[0].1.as_str())
            .collect();
        assert_eq!(devices, ["eth0", "docker0", "eth1", "veth-a.b@c"]);
    }

    #[test]
    fn other_netns_has_no_nohandler_from_sysfs() {
        // With --path.netns-pid, /proc/<pid>/net is another namespace than our /sys/class/net.
        let mut cfg = fixture_config();
        let mut roots = (*cfg.roots).clone();
        roots.procfs_net = roots.procfs.join("net");
        roots.procfs = roots.procfs.join("..").join("proc");
        cfg.roots = Arc::new(roots);
        let out = collect_with("netdev", &cfg).unwrap();
        assert!(out.get("node_network_receive_nohandler_total").is_none());
        assert_eq!(
            out.value("node_network_receive_bytes_total", &[("device", "eth0")]),
            Some(192615085.0)
        );
    }

    #[test]
    fn bad_exclude_regex_is_an_error() {
        let mut cfg = fixture_config();
        cfg.netdev.device_exclude = "(".to_string();
        assert!(build("netdev", &cfg).is_err());
    }
}
