//! `qdisc`: node_qdisc_*{device,kind} of every root queueing discipline, from an rtnetlink `RTM_GETQDISC`
//! dump as node_exporter's collector/qdisc_linux.go reads it through ema/qdisc, or from the JSON fixture
//! `results.json` of `--collector.qdisc.fixtures` (upstream's e2e test mode, a JSON array of ema/qdisc's
//! `QdiscInfo`).
//!
//! ema/qdisc's parsing, which we follow: the parent `TC_H_ROOT` (0xffffffff) counts as 0 and only parent 0
//! is reported; the attributes are applied in the kernel's order, `TCA_STATS2` setting bytes, packets
//! (`TCA_STATS_BASIC`), qlen, backlog, drops, requeues, overlimits (`TCA_STATS_QUEUE`, zero when absent) and
//! then the legacy `TCA_STATS` overriding all but requeues; the device name is the link's of `tcm_ifindex`
//! (`""` when no link has that index).

use std::path::PathBuf;

use netlink_packet_route::tc::{TcAttribute, TcMessage, TcStats2};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::ParseError;
use crate::read::{netlink, read_to_string};
use crate::{CollectError, MetricSet};

use super::device_filter::DeviceFilter;
use super::go_json::{self, GoObject};
use super::{NodeCollector, NodeConfig};

/// ema/qdisc's `QdiscInfo`, the fields node_exporter reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QdiscInfo {
    pub iface_name: String,
    pub parent: u32,
    pub handle: u32,
    pub kind: String,
    pub bytes: u64,
    pub packets: u32,
    pub drops: u32,
    pub requeues: u32,
    pub overlimits: u32,
    pub qlen: u32,
    pub backlog: u32,
}

/// `TC_H_ROOT`: the parent of a root qdisc.
const TC_H_ROOT: u32 = 0xffff_ffff;

/// One `RTM_NEWQDISC` message as ema/qdisc's `parseMessage` reads it; `link_name` resolves an ifindex.
pub fn qdisc_of(msg: &TcMessage, link_name: impl Fn(u32) -> Option<String>) -> QdiscInfo {
    let mut q = QdiscInfo {
        handle: msg.header.handle.into(),
        parent: match u32::from(msg.header.parent) {
            TC_H_ROOT => 0,
            p => p,
        },
        ..QdiscInfo::default()
    };
    for attr in &msg.attributes {
        match attr {
            TcAttribute::Kind(k) => q.kind = k.clone(),
            TcAttribute::Stats2(stats) => {
                let (mut bytes, mut packets) = (0, 0);
                let (mut qlen, mut backlog, mut drops, mut requeues, mut overlimits) =
                    (0, 0, 0, 0, 0);
                for s in stats {
                    match s {
                        TcStats2::Basic(b) => (bytes, packets) = (b.bytes, b.packets),
                        TcStats2::Queue(x) => {
                            (qlen, backlog, drops, requeues, overlimits) =
                                (x.qlen, x.backlog, x.drops, x.requeues, x.overlimits)
                        }
                        _ => {}
                    }
                }
                (
                    q.bytes,
                    q.packets,
                    q.drops,
                    q.requeues,
                    q.overlimits,
                    q.qlen,
                    q.backlog,
                ) = (bytes, packets, drops, requeues, overlimits, qlen, backlog);
            }
            TcAttribute::Stats(s) => {
                (q.bytes, q.packets, q.drops, q.overlimits, q.qlen, q.backlog) =
                    (s.bytes, s.packets, s.drops, s.overlimits, s.qlen, s.backlog);
            }
            _ => {}
        }
    }
    // tcm_ifindex is an int; a negative one names no link.
    q.iface_name = u32::try_from(msg.header.index)
        .ok()
        .and_then(link_name)
        .unwrap_or_default();
    q
}

/// The qdiscs of an rtnetlink dump, names resolved from the links `(index, name)`.
pub fn qdiscs_of(msgs: &[RouteNetlinkMessage], links: &[(u32, String)]) -> Vec<QdiscInfo> {
    let name = |i: u32| links.iter().find(|(x, _)| *x == i).map(|(_, n)| n.clone());
    msgs.iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewQueueDiscipline(tc) => Some(qdisc_of(tc, name)),
            _ => None,
        })
        .collect()
}

/// Parse the fixture `results.json`: a JSON array of `QdiscInfo` objects, Go-decoded.
pub fn parse_fixture(text: &str) -> Result<Vec<QdiscInfo>, ParseError> {
    let v = go_json::parse(text)?;
    go_json::array(&v, "[]QdiscInfo")?
        .iter()
        .map(|e| {
            let o = GoObject::new(e, "QdiscInfo")?;
            let u32_of = |f: &str| o.uint(f, 32).map(|v| v as u32);
            Ok(QdiscInfo {
                iface_name: o.string("IfaceName")?,
                parent: u32_of("Parent")?,
                handle: u32_of("Handle")?,
                kind: o.string("Kind")?,
                bytes: o.uint("Bytes", 64)?,
                packets: u32_of("Packets")?,
                drops: u32_of("Drops")?,
                requeues: u32_of("Requeues")?,
                overlimits: u32_of("Overlimits")?,
                qlen: u32_of("Qlen")?,
                backlog: u32_of("Backlog")?,
            })
        })
        .collect()
}

/// The qdisc collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// test fixtures to use for qdisc collector end-to-end testing
    #[arg(
        value_name = "DIR",
        id = "collector.qdisc.fixtures",
        long = "collector.qdisc.fixtures",
        default_value = ""
    )]
    pub fixtures: String,
    /// Regexp of qdisc devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.qdisc.device-include",
        long = "collector.qdisc.device-include",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of qdisc devices to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.qdisc.device-exclude",
        long = "collector.qdisc.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
    /// DEPRECATED: Use collector.qdisc.device-include
    #[arg(
        value_name = "REGEX",
        id = "collector.qdisk.device-include",
        long = "collector.qdisk.device-include",
        default_value = "",
        hide = true
    )]
    pub old_device_include: String,
    /// DEPRECATED: Use collector.qdisc.device-exclude
    #[arg(
        value_name = "REGEX",
        id = "collector.qdisk.device-exclude",
        long = "collector.qdisk.device-exclude",
        default_value = "",
        hide = true
    )]
    pub old_device_exclude: String,
}

/// The deprecated `--collector.qdisk.*` spelling of a flag stands in for the new one when that is unset;
/// both set is an error, as upstream.
fn merge_old(new: &str, old: &str, which: &str) -> Result<String, CollectError> {
    match (new.is_empty(), old.is_empty()) {
        (_, true) => Ok(new.to_string()),
        (true, false) => {
            tracing::warn!(
                "--collector.qdisk.{which} is DEPRECATED and will be removed in 2.0.0, use --collector.qdisc.{which}"
            );
            Ok(old.to_string())
        }
        (false, false) => Err(CollectError::Other(format!(
            "--collector.qdisk.{which} and --collector.qdisc.{which} are mutually exclusive"
        ))),
    }
}

pub struct Qdisc {
    roots: std::sync::Arc<crate::Roots>,
    fixtures: Option<PathBuf>,
    filter: DeviceFilter,
}

impl Qdisc {
    fn get(&self) -> Result<Vec<QdiscInfo>, CollectError> {
        if let Some(dir) = &self.fixtures {
            let path = dir.join("results.json");
            return parse_fixture(&read_to_string(&path)?).map_err(|e| e.at(&path));
        }
        netlink::same_namespace(&self.roots, "qdisc")?;
        let msgs =
            netlink::route_dump(RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default()))
                .map_err(|e| CollectError::Other(format!("qdisc: RTM_GETQDISC dump: {e}")))?;
        let links = netlink::link_names()
            .map_err(|e| CollectError::Other(format!("qdisc: RTM_GETLINK dump: {e}")))?;
        Ok(qdiscs_of(&msgs, &links))
    }
}

impl NodeCollector for Qdisc {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.qdisc;
        let include = merge_old(&f.device_include, &f.old_device_include, "device-include")?;
        let exclude = merge_old(&f.device_exclude, &f.old_device_exclude, "device-exclude")?;
        Ok(Qdisc {
            roots: cfg.roots.clone(),
            fixtures: (!f.fixtures.is_empty()).then(|| PathBuf::from(&f.fixtures)),
            filter: DeviceFilter::new("qdisc", &exclude, &include)?,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for q in self.get()? {
            // Only root qdiscs are reported.
            if q.parent != 0 || self.filter.ignored(&q.iface_name) {
                continue;
            }
            let l = [("device", q.iface_name.as_str()), ("kind", q.kind.as_str())];
            out.counter(
                "node_qdisc_bytes_total",
                "Number of bytes sent.",
                &l,
                q.bytes as f64,
            );
            out.counter(
                "node_qdisc_packets_total",
                "Number of packets sent.",
                &l,
                f64::from(q.packets),
            );
            out.counter(
                "node_qdisc_drops_total",
                "Number of packets dropped.",
                &l,
                f64::from(q.drops),
            );
            out.counter(
                "node_qdisc_requeues_total",
                "Number of packets dequeued, not transmitted, and requeued.",
                &l,
                f64::from(q.requeues),
            );
            out.counter(
                "node_qdisc_overlimits_total",
                "Number of overlimit packets.",
                &l,
                f64::from(q.overlimits),
            );
            out.gauge(
                "node_qdisc_current_queue_length",
                "Number of packets currently in queue to be sent.",
                &l,
                f64::from(q.qlen),
            );
            out.gauge(
                "node_qdisc_backlog",
                "Number of bytes currently in queue to be sent.",
                &l,
                f64::from(q.backlog),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_with, fixture_config, fixture_root};

    fn cfg_with(fixtures: &str) -> NodeConfig {
        let mut cfg = fixture_config();
        cfg.qdisc.fixtures = fixture_root().join(fixtures).display().to_string();
        cfg
    }

    #[test]
    fn fixture_json_is_go_decoded() {
        let q = parse_fixture(include_str!("../../tests/fixtures/qdisc/results.json")).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(q[0].iface_name, "wlp2s0");
        assert_eq!((q[0].bytes, q[0].drops, q[0].qlen), (1_000_000_007, 3, 0));
        assert_eq!(q[2].parent, 65537);
        assert!(parse_fixture("{}").is_err());
        assert!(parse_fixture(r#"[{"Packets": 4294967296}]"#).is_err());
        assert_eq!(parse_fixture("null").unwrap(), []);
    }

    #[test]
    fn collects_root_qdiscs_from_fixtures() {
        let out = collect_with("qdisc", &cfg_with("qdisc")).unwrap();
        let l: &[(&str, &str)] = &[("device", "wlp2s0"), ("kind", "fq_codel")];
        assert_values(
            &out,
            &[
                ("node_qdisc_bytes_total", l, 1_000_000_007.0),
                ("node_qdisc_drops_total", l, 3.0),
                ("node_qdisc_requeues_total", l, 2.0),
                (
                    "node_qdisc_backlog",
                    &[("device", "enp1s0"), ("kind", "mq")],
                    1514.0,
                ),
            ],
        );
        // The child qdisc (parent 1:1) is not reported.
        assert_eq!(
            out.value(
                "node_qdisc_bytes_total",
                &[("device", "enp1s0"), ("kind", "pfifo")]
            ),
            None
        );
    }

    #[test]
    fn device_filter_and_deprecated_flags() {
        let mut cfg = cfg_with("qdisc");
        cfg.qdisc.old_device_include = "^enp".into();
        let out = collect_with("qdisc", &cfg).unwrap();
        assert_eq!(
            out.value(
                "node_qdisc_bytes_total",
                &[("device", "wlp2s0"), ("kind", "fq_codel")]
            ),
            None
        );
        assert!(out
            .value(
                "node_qdisc_bytes_total",
                &[("device", "enp1s0"), ("kind", "mq")]
            )
            .is_some());
        cfg.qdisc.device_include = "x".into();
        assert!(collect_with("qdisc", &cfg).is_err());
        let mut cfg = cfg_with("qdisc");
        cfg.qdisc.device_include = "a".into();
        cfg.qdisc.device_exclude = "b".into();
        assert!(collect_with("qdisc", &cfg).is_err());
    }

    #[test]
    fn missing_fixture_is_an_error() {
        assert!(collect_with("qdisc", &cfg_with("no-such-dir")).is_err());
    }

    /// An RTM_NEWQDISC message built from its parts: tcmsg, then `attrs` (type, payload).
    fn tc_bytes(ifindex: i32, parent: u32, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut p = vec![0u8; 20];
        p[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        p[12..16].copy_from_slice(&parent.to_ne_bytes());
        for (ty, data) in attrs {
            p.extend(nla(*ty, data));
        }
        let mut msg = Vec::new();
        msg.extend(((16 + p.len()) as u32).to_ne_bytes());
        msg.extend(36u16.to_ne_bytes()); // RTM_NEWQDISC
        msg.extend(2u16.to_ne_bytes()); // NLM_F_MULTI
        msg.extend([0u8; 8]);
        msg.extend(p);
        msg
    }

    fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(((4 + data.len()) as u16).to_ne_bytes());
        b.extend(ty.to_ne_bytes());
        b.extend(data);
        b.resize(b.len().div_ceil(4) * 4, 0);
        b
    }

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    #[test]
    fn netlink_message_stats_order_is_ema_qdiscs() {
        // TCA_KIND, TCA_STATS2 {BASIC, QUEUE}, then TCA_STATS (legacy), as the kernel sends them.
        let mut basic = 1234u64.to_ne_bytes().to_vec();
        basic.extend(words(&[12, 0]));
        let queue = words(&[1, 60, 2, 7, 3]);
        let mut stats2 = nla(1, &basic); // TCA_STATS_BASIC
        stats2.extend(nla(3, &queue)); // TCA_STATS_QUEUE
        let mut legacy = 1234u64.to_ne_bytes().to_vec();
        legacy.extend(words(&[12, 2, 3, 0, 0, 1, 60, 0]));
        let bytes = tc_bytes(
            2,
            TC_H_ROOT,
            &[(1, b"fq_codel\0".to_vec()), (7, stats2), (3, legacy)],
        );
        let msgs = netlink::parse_replies::<RouteNetlinkMessage>(&bytes)
            .unwrap()
            .messages;
        let q = qdiscs_of(&msgs, &[(2, "eth0".to_string())]);
        assert_eq!(
            q,
            [QdiscInfo {
                iface_name: "eth0".into(),
                parent: 0,
                handle: 0,
                kind: "fq_codel".into(),
                bytes: 1234,
                packets: 12,
                drops: 2,
                requeues: 7,
                overlimits: 3,
                qlen: 1,
                backlog: 60,
            }]
        );
        // An unknown ifindex is an empty device name; a child qdisc keeps its parent.
        let child = tc_bytes(9, 0x0001_0001, &[(1, b"pfifo\0".to_vec())]);
        let msgs = netlink::parse_replies::<RouteNetlinkMessage>(&child)
            .unwrap()
            .messages;
        let q = qdiscs_of(&msgs, &[]);
        assert_eq!((q[0].iface_name.as_str(), q[0].parent), ("", 0x0001_0001));
    }
}

#[cfg(test)]
mod capture_tests {
    use super::*;
    use crate::read::netlink::{capture, link_names_of};

    /// This development host's `RTM_GETQDISC` and `RTM_GETLINK` dumps, captured (`tc -s qdisc show`).
    #[test]
    fn captured_dump() {
        let links = link_names_of(capture::read("links"));
        let q = qdiscs_of(&capture::read::<RouteNetlinkMessage>("qdiscs"), &links);
        let row = |x: &QdiscInfo| {
            (
                x.iface_name.clone(),
                x.kind.clone(),
                x.parent,
                x.bytes,
                x.packets,
            )
        };
        assert_eq!(
            q.iter().map(row).collect::<Vec<_>>(),
            [
                ("lo".into(), "noqueue".into(), 0, 0, 0),
                ("eth0".into(), "pfifo_fast".into(), 0, 410_994, 4266),
                ("docker0".into(), "noqueue".into(), 0, 0, 0),
            ]
        );
    }
}
