//! `netdev`: node_network_{receive,transmit}_*_total{device}, as node_exporter 1.12.1.
//!
//! Two sources, as upstream (collector/netdev_linux.go):
//! - netlink (`--collector.netdev.netlink`, the default): one `RTM_GETLINK` dump of the agent's network
//!   namespace, each link's `IFLA_STATS64` (or the 32-bit `IFLA_STATS` when a driver gives no 64-bit
//!   ones). Without `--collector.netdev.enable-detailed-metrics` the detailed error counters are folded
//!   into the legacy `/proc/net/dev` names (`receive_drop` = dropped + missed, `receive_frame` = frame +
//!   length + over + crc, `transmit_carrier` = carrier + aborted + heartbeat + window), which are exactly
//!   the columns the kernel prints in `/proc/net/dev`; `receive_nohandler` is netlink-only. A link without
//!   statistics is skipped. With `--path.netns-pid` (ours, not node_exporter's) the dump would show the
//!   agent's own namespace, not the target's, so `/proc/<pid>/net/dev` is read instead.
//! - `/proc/net/dev` (`--no-collector.netdev.netlink`, as upstream's fixtures run): the 16 columns.
//!
//! `--collector.netdev.device-include` / `-exclude` filter by name (mutually exclusive);
//! `--collector.netdev.label-ifalias` adds the `ifalias` label from `/sys/class/net/<dev>/ifalias`.
//!
//! Our `/proc/net/dev` parser, not procfs-core's `InterfaceDeviceStatus`: it splits the interface name off
//! at the first whitespace, so `eth0:123456789` (a receive byte count wide enough to touch the colon) is
//! misread; node_exporter splits at the colon.

use std::io;
use std::sync::Arc;

use netlink_packet_core::{NlasIterator, ParseableParametrized};
use netlink_packet_route::link::{LinkAttribute, LinkHeader};

use crate::error::ParseError;
use crate::read::{netlink, read_attr, read_to_string};
use crate::{CollectError, MetricSet, Roots};

use super::{DeviceFilter, NodeCollector, NodeConfig};

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

/// The `/proc/net/dev` columns under `--collector.netdev.enable-detailed-metrics` (procfs's names, which
/// node_exporter's legacy renaming turns into [`COLUMNS`]).
pub const DETAILED_COLUMNS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errors",
    "receive_dropped",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errors",
    "transmit_dropped",
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

// ---------------------------------------------------------------------------------------------------------
// netlink

/// The counters of `struct rtnl_link_stats64` node_exporter reads, in the kernel's order, under
/// node_exporter's detailed names (`rx_otherhost_dropped`, 6.9+, is not read).
pub const LINK_STATS: [&str; 24] = [
    "receive_packets",
    "transmit_packets",
    "receive_bytes",
    "transmit_bytes",
    "receive_errors",
    "transmit_errors",
    "receive_dropped",
    "transmit_dropped",
    "multicast",
    "collisions",
    "receive_length_errors",
    "receive_over_errors",
    "receive_crc_errors",
    "receive_frame_errors",
    "receive_fifo_errors",
    "receive_missed_errors",
    "transmit_aborted_errors",
    "transmit_carrier_errors",
    "transmit_fifo_errors",
    "transmit_heartbeat_errors",
    "transmit_window_errors",
    "receive_compressed",
    "transmit_compressed",
    "receive_nohandler",
];

/// One link of an `RTM_GETLINK` dump: the `ifinfomsg` header and the attributes node_exporter's netdev
/// and netclass (netlink mode) read, as jsimonetti/rtnetlink decodes them (`None`: attribute absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// `ifi_type` (ARPHRD_*).
    pub link_type: u16,
    /// `ifi_index`.
    pub index: u32,
    /// `ifi_flags` (IFF_*).
    pub flags: u32,
    /// IFLA_IFNAME.
    pub name: String,
    /// IFLA_ADDRESS, IFLA_BROADCAST.
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
    /// IFLA_IFALIAS.
    pub alias: Option<String>,
    /// IFLA_PROP_LIST's IFLA_ALT_IFNAME entries.
    pub alt_names: Vec<String>,
    pub carrier: Option<u8>,
    pub carrier_changes: Option<u32>,
    pub carrier_up_count: Option<u32>,
    pub carrier_down_count: Option<u32>,
    /// IFLA_LINKMODE.
    pub link_mode: Option<u8>,
    /// IFLA_MTU (0 when absent, as rtnetlink's plain field).
    pub mtu: u32,
    /// IFLA_GROUP.
    pub group: Option<u32>,
    /// IFLA_OPERSTATE (IF_OPER_*; 0, unknown, when absent).
    pub operstate: u8,
    /// IFLA_TXQLEN.
    pub tx_queue_len: Option<u32>,
    /// IFLA_LINK (0 when absent: the kernel leaves it out when it equals the index).
    pub iflink: u32,
    /// IFLA_STATS64 in [`LINK_STATS`] order.
    pub stats64: Option<[u64; 24]>,
    /// IFLA_STATS64, else IFLA_STATS widened (netdev's fallback for drivers without 64-bit stats).
    pub stats: Option<[u64; 24]>,
}

fn stats64(s: &netlink_packet_route::link::Stats64) -> [u64; 24] {
    [
        s.rx_packets,
        s.tx_packets,
        s.rx_bytes,
        s.tx_bytes,
        s.rx_errors,
        s.tx_errors,
        s.rx_dropped,
        s.tx_dropped,
        s.multicast,
        s.collisions,
        s.rx_length_errors,
        s.rx_over_errors,
        s.rx_crc_errors,
        s.rx_frame_errors,
        s.rx_fifo_errors,
        s.rx_missed_errors,
        s.tx_aborted_errors,
        s.tx_carrier_errors,
        s.tx_fifo_errors,
        s.tx_heartbeat_errors,
        s.tx_window_errors,
        s.rx_compressed,
        s.tx_compressed,
        s.rx_nohandler,
    ]
}

fn stats32(s: &netlink_packet_route::link::Stats) -> [u64; 24] {
    [
        s.rx_packets,
        s.tx_packets,
        s.rx_bytes,
        s.tx_bytes,
        s.rx_errors,
        s.tx_errors,
        s.rx_dropped,
        s.tx_dropped,
        s.multicast,
        s.collisions,
        s.rx_length_errors,
        s.rx_over_errors,
        s.rx_crc_errors,
        s.rx_frame_errors,
        s.rx_fifo_errors,
        s.rx_missed_errors,
        s.tx_aborted_errors,
        s.tx_carrier_errors,
        s.tx_fifo_errors,
        s.tx_heartbeat_errors,
        s.tx_window_errors,
        s.rx_compressed,
        s.tx_compressed,
        s.rx_nohandler,
    ]
    .map(u64::from)
}

/// The body of one `RTM_NEWLINK` message (after the netlink header). Attributes are decoded one by one
/// and one that does not decode is skipped, so an attribute this crate version does not know cannot cost
/// the link; a message without a name is `None`.
pub fn parse_link(payload: &[u8]) -> Option<Link> {
    const IFINFOMSG_LEN: usize = 16;
    let header = LinkHeader::parse(payload).ok()?;
    let ne16 = |i: usize| u16::from_ne_bytes([payload[i], payload[i + 1]]);
    let ne32 =
        |i: usize| u32::from_ne_bytes([payload[i], payload[i + 1], payload[i + 2], payload[i + 3]]);
    let mut link = Link {
        link_type: ne16(2),
        index: ne32(4),
        flags: ne32(8),
        ..Link::default()
    };
    let mut name = None;
    let mut s32 = None;
    for nla in NlasIterator::new(payload.get(IFINFOMSG_LEN..)?) {
        let Ok(nla) = nla else { break };
        let Ok(attr) = LinkAttribute::parse_with_param(&nla, header.interface_family) else {
            continue;
        };
        match attr {
            LinkAttribute::IfName(n) => name = Some(n),
            LinkAttribute::Address(a) => link.address = Some(a),
            LinkAttribute::Broadcast(a) => link.broadcast = Some(a),
            LinkAttribute::IfAlias(a) => link.alias = Some(a),
            LinkAttribute::PropList(props) => {
                for p in props {
                    if let netlink_packet_route::link::Prop::AltIfName(n) = p {
                        link.alt_names.push(n);
                    }
                }
            }
            LinkAttribute::Carrier(v) => link.carrier = Some(v),
            LinkAttribute::CarrierChanges(v) => link.carrier_changes = Some(v),
            LinkAttribute::CarrierUpCount(v) => link.carrier_up_count = Some(v),
            LinkAttribute::CarrierDownCount(v) => link.carrier_down_count = Some(v),
            LinkAttribute::Mode(m) => link.link_mode = Some(u8::from(m)),
            LinkAttribute::Mtu(v) => link.mtu = v,
            LinkAttribute::Group(v) => link.group = Some(v),
            LinkAttribute::OperState(st) => link.operstate = u8::from(st),
            LinkAttribute::TxQueueLen(v) => link.tx_queue_len = Some(v),
            LinkAttribute::Link(v) => link.iflink = v,
            LinkAttribute::Stats64(st) => link.stats64 = Some(stats64(&st)),
            LinkAttribute::Stats(st) => s32 = Some(stats32(&st)),
            _ => {}
        }
    }
    link.name = name?;
    link.stats = link.stats64.or(s32);
    Some(link)
}

const RTM_NEWLINK: u16 = 16;

/// One datagram of replies to the link dump: the links, and whether `NLMSG_DONE` ended it. A kernel error
/// is that errno.
pub fn parse_link_replies(bytes: &[u8]) -> io::Result<(Vec<Link>, bool)> {
    let (msgs, done) = netlink::parse_raw_replies(bytes)?;
    let links = msgs
        .into_iter()
        .filter(|(ty, _)| *ty == RTM_NEWLINK)
        .filter_map(|(_, payload)| parse_link(payload))
        .collect();
    Ok((links, done))
}

/// Every link of the agent's network namespace, from one `RTM_GETLINK` dump.
pub fn dump_links() -> io::Result<Vec<Link>> {
    const RTM_GETLINK: u16 = 18;
    let mut links = Vec::new();
    // ifinfomsg, AF_UNSPEC: every link.
    netlink::raw_dump(
        netlink::NETLINK_ROUTE,
        RTM_GETLINK,
        &[0; 16],
        |ty, payload| {
            if ty == RTM_NEWLINK {
                links.extend(parse_link(payload));
            }
        },
    )?;
    Ok(links)
}

/// A link's counters under node_exporter's names: [`LINK_STATS`] with `detailed`, else folded into the
/// legacy names as upstream's `legacy()` does (Go's `uint64` sums wrap).
pub fn link_counters(s: &[u64; 24], detailed: bool) -> Vec<(&'static str, u64)> {
    if detailed {
        return LINK_STATS.iter().copied().zip(s.iter().copied()).collect();
    }
    let sum = |idx: &[usize]| idx.iter().fold(0u64, |a, &i| a.wrapping_add(s[i]));
    vec![
        ("receive_packets", s[0]),
        ("transmit_packets", s[1]),
        ("receive_bytes", s[2]),
        ("transmit_bytes", s[3]),
        ("receive_errs", s[4]),
        ("transmit_errs", s[5]),
        ("receive_drop", sum(&[6, 15])),
        ("transmit_drop", s[7]),
        ("receive_multicast", s[8]),
        ("transmit_colls", s[9]),
        ("receive_frame", sum(&[13, 10, 11, 12])),
        ("receive_fifo", s[14]),
        ("transmit_carrier", sum(&[17, 16, 19, 20])),
        ("transmit_fifo", s[18]),
        ("receive_compressed", s[21]),
        ("transmit_compressed", s[22]),
        ("receive_nohandler", s[23]),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// --collector.netdev.address-info

/// One address of an `RTM_GETADDR` dump, as Go's `net.Interface.Addrs()` decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub index: u32,
    pub ip: std::net::IpAddr,
    pub prefix_len: u8,
}

/// The body of one `RTM_NEWADDR` message, as Go's `newAddr`: with an `IFA_LOCAL` attribute (IPv4, or a
/// point-to-point IPv6 address) the first attribute that is not `IFA_ADDRESS`, else the first one, taken
/// as the address of the message's family; other families are `None`.
pub fn parse_addr(body: &[u8]) -> Option<IfAddr> {
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    if body.len() < 8 {
        return None;
    }
    let (family, prefix_len) = (body[0], body[1]);
    let index = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    let mut attrs = Vec::new();
    let mut rest = &body[8..];
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            break;
        }
        attrs.push((kind, &rest[4..len]));
        rest = rest.get(len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
    let p2p = attrs.iter().any(|(k, _)| *k == IFA_LOCAL);
    let (_, v) = attrs.iter().find(|(k, _)| !(p2p && *k == IFA_ADDRESS))?;
    let ip = match i32::from(family) {
        libc::AF_INET => {
            let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
            std::net::IpAddr::from(b)
        }
        libc::AF_INET6 => {
            let b: [u8; 16] = v.get(..16)?.try_into().ok()?;
            std::net::IpAddr::from(b)
        }
        _ => return None,
    };
    Some(IfAddr {
        index,
        ip,
        prefix_len,
    })
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as IPv4.
pub fn go_ip_string(ip: &std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        v4 => v4.to_string(),
    }
}

/// node_exporter's `scope()` of an address, with Go's `net.IP` predicates.
pub fn addr_scope(ip: &std::net::IpAddr) -> &'static str {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
        v4 => *v4,
    };
    let (loopback, link_local_unicast, link_local_multicast, iface_local_multicast, multicast) =
        match ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                (
                    o[0] == 127,
                    o[0] == 169 && o[1] == 254,
                    o[0] == 224 && o[1] == 0 && o[2] == 0,
                    false,
                    o[0] & 0xf0 == 0xe0,
                )
            }
            IpAddr::V6(a) => {
                let o = a.octets();
                (
                    a.is_loopback(),
                    o[0] == 0xfe && o[1] & 0xc0 == 0x80,
                    o[0] == 0xff && o[1] & 0x0f == 0x02,
                    o[0] == 0xff && o[1] & 0x0f == 0x01,
                    o[0] == 0xff,
                )
            }
        };
    if loopback || link_local_unicast || link_local_multicast {
        return "link-local";
    }
    if iface_local_multicast {
        return "interface-local";
    }
    let broadcast = ip == IpAddr::from([255, 255, 255, 255]);
    if !broadcast && !ip.is_unspecified() && !multicast {
        return "global";
    }
    ""
}

/// Every address of the agent's network namespace, from one `RTM_GETADDR` dump.
pub fn dump_addrs() -> io::Result<Vec<IfAddr>> {
    const RTM_GETADDR: u16 = 22;
    const RTM_NEWADDR: u16 = 20;
    let mut out = Vec::new();
    // ifaddrmsg, AF_UNSPEC: every address.
    netlink::raw_dump(
        netlink::NETLINK_ROUTE,
        RTM_GETADDR,
        &[0; 8],
        |ty, payload| {
            if ty == RTM_NEWADDR {
                out.extend(parse_addr(payload));
            }
        },
    )?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// the collector

pub struct NetDev {
    roots: Arc<Roots>,
    filter: DeviceFilter,
    netlink: bool,
    /// netlink wanted but another namespace's files read (`--path.netns-pid`): receive_nohandler from sysfs.
    nohandler_from_sysfs: bool,
    detailed: bool,
    label_ifalias: bool,
    address_info: bool,
}

/// The netdev collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.netdev.device-include",
        long = "collector.netdev.device-include",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of net devices to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.netdev.device-exclude",
        long = "collector.netdev.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
    /// DEPRECATED: Use collector.netdev.device-include
    #[arg(
        value_name = "REGEX",
        id = "collector.netdev.device-whitelist",
        long = "collector.netdev.device-whitelist",
        default_value = "",
        hide = true
    )]
    pub device_whitelist: String,
    /// DEPRECATED: Use collector.netdev.device-exclude
    #[arg(
        value_name = "REGEX",
        id = "collector.netdev.device-blacklist",
        long = "collector.netdev.device-blacklist",
        default_value = "",
        hide = true
    )]
    pub device_blacklist: String,
    /// Use netlink to gather stats instead of /proc/net/dev (default; --no-collector.netdev.netlink
    /// reads /proc/net/dev).
    #[arg(
        id = "collector.netdev.netlink",
        long = "collector.netdev.netlink",
        overrides_with = "no-collector.netdev.netlink"
    )]
    pub netlink_on: bool,
    /// Read /proc/net/dev instead of netlink.
    #[arg(
        id = "no-collector.netdev.netlink",
        long = "no-collector.netdev.netlink",
        overrides_with = "collector.netdev.netlink"
    )]
    pub no_netlink: bool,
    /// Use (incompatible) metric names that provide more detailed stats on Linux.
    #[arg(
        id = "collector.netdev.enable-detailed-metrics",
        long = "collector.netdev.enable-detailed-metrics"
    )]
    pub detailed_metrics: bool,
    /// Collect address-info for every device.
    #[arg(
        id = "collector.netdev.address-info",
        long = "collector.netdev.address-info"
    )]
    pub address_info: bool,
    /// Add ifAlias label.
    #[arg(
        id = "collector.netdev.label-ifalias",
        long = "collector.netdev.label-ifalias"
    )]
    pub label_ifalias: bool,
}

impl NetDev {
    /// The `ifalias` label of `device` with `--collector.netdev.label-ifalias` (node_exporter reads sysfs's
    /// net class: a device without a directory there gets no label).
    fn ifalias(&self, device: &str) -> Result<Option<String>, CollectError> {
        if !self.label_ifalias || device.contains('/') {
            return Ok(None);
        }
        let dir = self.roots.sys("class/net").join(device);
        match read_attr(dir.join("ifalias"))? {
            Some(a) => Ok(Some(a)),
            None if dir.is_dir() => Ok(Some(String::new())),
            None => Ok(None),
        }
    }

    fn push(
        &self,
        out: &mut MetricSet,
        device: &str,
        counters: &[(&str, u64)],
    ) -> Result<(), CollectError> {
        let alias = self.ifalias(device)?;
        let mut labels = vec![("device", device)];
        if let Some(a) = &alias {
            labels.push(("ifalias", a));
        }
        for (key, v) in counters {
            out.counter(
                &format!("node_network_{key}_total"),
                &format!("Network device statistic {key}."),
                &labels,
                *v as f64,
            );
        }
        Ok(())
    }

    fn collect_proc(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc_net("dev");
        let lines = parse_net_dev(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        let names = if self.detailed {
            &DETAILED_COLUMNS
        } else {
            &COLUMNS
        };
        for line in lines.iter().filter(|l| !self.filter.ignored(&l.name)) {
            let mut counters: Vec<_> = names.iter().copied().zip(line.values).collect();
            if self.nohandler_from_sysfs {
                // netlink would have given receive_nohandler; /proc/<pid>/net/dev has no such column, and
                // the host's sysfs (the stack mounts it) lists the same namespace's devices.
                let p = self
                    .roots
                    .sys("class/net")
                    .join(&line.name)
                    .join("statistics/rx_nohandler");
                if let Ok(v) = crate::read::read_u64(&p) {
                    counters.push(("receive_nohandler", v));
                }
            }
            self.push(out, &line.name, &counters)?;
        }
        Ok(())
    }

    /// node_network_address_info of every address of the devices the filter keeps (1.11 #3340 applies
    /// the filter), from the agent's own network namespace as Go's `net.Interfaces()`.
    fn collect_addresses(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        crate::read::netlink::same_namespace(
            &self.roots,
            "netdev --collector.netdev.address-info",
        )?;
        let err =
            |e: io::Error| CollectError::Other(format!("could not get network interfaces: {e}"));
        let links = dump_links().map_err(err)?;
        // Go ignores the error of each interface's Addrs().
        let addrs = dump_addrs().unwrap_or_default();
        for l in links.iter().filter(|l| !self.filter.ignored(&l.name)) {
            for a in addrs.iter().filter(|a| a.index == l.index) {
                out.gauge(
                    "node_network_address_info",
                    "node network address by device",
                    &[
                        ("address", &go_ip_string(&a.ip)),
                        ("device", &l.name),
                        ("netmask", &a.prefix_len.to_string()),
                        ("scope", addr_scope(&a.ip)),
                    ],
                    1.0,
                );
            }
        }
        Ok(())
    }

    fn collect_netlink(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let links = dump_links().map_err(|e| {
            CollectError::Other(format!("couldn't get netstats: netlink RTM_GETLINK: {e}"))
        })?;
        for link in &links {
            if self.filter.ignored(&link.name) {
                continue;
            }
            let Some(stats) = &link.stats else { continue };
            self.push(out, &link.name, &link_counters(stats, self.detailed))?;
        }
        Ok(())
    }
}

impl NodeCollector for NetDev {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.netdev;
        let err = |msg: &str| Err(CollectError::Other(msg.into()));
        // The deprecated names stand in for the new ones, but not beside them.
        let mut include = f.device_include.clone();
        if !f.device_whitelist.is_empty() {
            if !include.is_empty() {
                return err("--collector.netdev.device-whitelist and --collector.netdev.device-include are mutually exclusive");
            }
            include = f.device_whitelist.clone();
        }
        let mut exclude = f.device_exclude.clone();
        if !f.device_blacklist.is_empty() {
            if !exclude.is_empty() {
                return err("--collector.netdev.device-blacklist and --collector.netdev.device-exclude are mutually exclusive");
            }
            exclude = f.device_blacklist.clone();
        }
        if !exclude.is_empty() && !include.is_empty() {
            return Err(CollectError::Other(
                "--collector.netdev.device-exclude & --collector.netdev.device-include are mutually exclusive"
                    .into(),
            ));
        }
        let roots = cfg.roots.clone();
        // netlink shows the agent's own namespace: with --path.netns-pid, read that process's net/dev.
        let own_netns = roots.procfs_net == roots.procfs.join("net");
        Ok(NetDev {
            filter: DeviceFilter::new("collector.netdev.device", &exclude, &include)?,
            netlink: !f.no_netlink && own_netns,
            nohandler_from_sysfs: !f.no_netlink && !own_netns,
            detailed: f.detailed_metrics,
            label_ifalias: f.label_ifalias,
            address_info: f.address_info,
            roots,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.netlink {
            self.collect_netlink(out)?;
        } else {
            self.collect_proc(out)?;
        }
        if self.address_info {
            self.collect_addresses(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, assert_values, build, collect_with, fixture_config,
    };
    use crate::node::NodeConfig;

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

    /// The fixture config reading `/proc/net/dev` (as upstream's fixtures run).
    fn proc_config() -> crate::node::NodeConfig {
        let mut cfg = fixture_config();
        cfg.netdev.no_netlink = true;
        cfg
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_with("netdev", &proc_config()).unwrap();
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
            ],
        );
        // /proc/net/dev has no nohandler column.
        assert!(out.get("node_network_receive_nohandler_total").is_none());
        assert_eq!(out.families().len(), 16);
    }

    #[test]
    fn detailed_names_and_ifalias_label() {
        let mut cfg = proc_config();
        cfg.netdev.detailed_metrics = true;
        cfg.netdev.label_ifalias = true;
        cfg.netdev.device_include = "^eth0$".into();
        let out = collect_with("netdev", &cfg).unwrap();
        let fam = out.get("node_network_transmit_dropped_total").unwrap();
        assert_eq!(fam.samples.len(), 1);
        let names: Vec<_> = fam.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["device", "ifalias"]);
        assert!(out.get("node_network_receive_errors_total").is_some());
        assert!(out.get("node_network_receive_errs_total").is_none());
    }

    #[test]
    fn device_filters() {
        let mut cfg = proc_config();
        cfg.netdev.device_exclude = "^(lo|ifb.*)$".to_string();
        let out = collect_with("netdev", &cfg).unwrap();
        let devices = |out: &MetricSet| -> Vec<String> {
            out.get("node_network_transmit_bytes_total")
                .unwrap()
                .samples
                .iter()
                .map(|s| s.labels[0].1.clone())
                .collect()
        };
        assert_eq!(devices(&out), ["eth0", "docker0", "eth1", "veth-a.b@c"]);
        let mut cfg = proc_config();
        cfg.netdev.device_include = "^(lo|eth1)$".to_string();
        let out = collect_with("netdev", &cfg).unwrap();
        assert_eq!(devices(&out), ["lo", "eth1"]);
        cfg.netdev.device_exclude = "x".into();
        assert!(build("netdev", &cfg).is_err());
        // The deprecated names.
        let mut cfg = proc_config();
        cfg.netdev.device_whitelist = "^lo$".into();
        let out = collect_with("netdev", &cfg).unwrap();
        assert_eq!(devices(&out), ["lo"]);
        cfg.netdev.device_include = "^eth0$".into();
        assert!(build("netdev", &cfg).is_err());
    }

    #[test]
    fn other_netns_reads_its_proc_net_dev() {
        // With --path.netns-pid, netlink would show our own namespace: /proc/<pid>/net/dev is read, and
        // receive_nohandler (which netlink would have given) comes from the host's sysfs where it has it.
        let mut cfg = fixture_config();
        let mut roots = (*cfg.roots).clone();
        roots.procfs_net = roots.procfs.join("net");
        roots.procfs = roots.procfs.join("..").join("proc");
        cfg.roots = Arc::new(roots);
        let out = collect_with("netdev", &cfg).unwrap();
        let nohandler = std::fs::read_to_string(
            crate::node::testutil::fixture_root()
                .join("sys/class/net/eth0/statistics/rx_nohandler"),
        )
        .unwrap();
        assert_eq!(
            out.value(
                "node_network_receive_nohandler_total",
                &[("device", "eth0")]
            ),
            Some(nohandler.trim().parse::<f64>().unwrap())
        );

        assert_eq!(
            out.value("node_network_receive_bytes_total", &[("device", "eth0")]),
            Some(192615085.0)
        );
    }

    #[test]
    fn bad_regex_is_an_error() {
        let mut cfg = fixture_config();
        cfg.netdev.device_exclude = "(".to_string();
        assert!(build("netdev", &cfg).is_err());
    }

    /// An `RTM_NEWLINK` message: ifinfomsg, IFLA_IFNAME, optionally IFLA_STATS64 with `stats`.
    fn newlink(name: &str, stats: Option<[u64; 25]>, index: u32) -> Vec<u8> {
        let mut body = vec![0u8; 16];
        body[4..8].copy_from_slice(&index.to_ne_bytes());
        let mut attr = |kind: u16, payload: &[u8]| {
            let len = 4 + payload.len();
            body.extend((len as u16).to_ne_bytes());
            body.extend(kind.to_ne_bytes());
            body.extend(payload);
            body.resize(body.len().div_ceil(4) * 4, 0);
        };
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        attr(3, &n);
        // An attribute type this crate does not know is skipped.
        attr(999, &[1, 2, 3]);
        if let Some(s) = stats {
            let bytes: Vec<u8> = s.iter().flat_map(|v| v.to_ne_bytes()).collect();
            attr(23, &bytes);
        }
        nlmsg(16, &body)
    }

    fn nlmsg(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((16 + body.len()) as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend(2u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend(1u32.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend(body);
        m
    }

    #[test]
    fn parses_link_dump() {
        let mut s = [0u64; 25];
        for (i, v) in s.iter_mut().enumerate() {
            *v = i as u64 + 1;
        }
        let mut bytes = newlink("eth0", Some(s), 2);
        bytes.extend(newlink("nostats", None, 3));
        let (links, done) = parse_link_replies(&bytes).unwrap();
        assert!(!done);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].name, "eth0");
        let st = links[0].stats.unwrap();
        assert_eq!((st[0], st[23]), (1, 24));
        assert_eq!(links[1].stats, None);
        // NLMSG_DONE ends the dump; a kernel error is its errno.
        let (_, done) = parse_link_replies(&nlmsg(3, &[0; 4])).unwrap();
        assert!(done);
        let err = parse_link_replies(&nlmsg(2, &(-1i32).to_ne_bytes())).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(1));
        assert!(parse_link_replies(&[1, 2, 3]).is_err());
    }

    #[test]
    fn address_info_pieces() {
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for (a, scope) in [
            ("127.0.0.1", "link-local"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.251", "link-local"),
            ("10.0.0.1", "global"),
            ("255.255.255.255", ""),
            ("0.0.0.0", ""),
            ("239.1.1.1", ""),
            ("::1", "link-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "link-local"),
            ("ff01::1", "interface-local"),
            ("ff05::1", ""),
            ("2001:db8::1", "global"),
            ("::ffff:127.0.0.1", "link-local"),
        ] {
            assert_eq!(addr_scope(&ip(a)), scope, "{a}");
        }
        assert_eq!(go_ip_string(&ip("::ffff:10.1.2.3")), "10.1.2.3");
        assert_eq!(go_ip_string(&ip("2001:db8::1")), "2001:db8::1");
        // ifaddrmsg + IFA_ADDRESS (peer) + IFA_LOCAL: the local address wins, as in Go.
        let mut body = vec![libc::AF_INET as u8, 30, 0, 0];
        body.extend(7u32.to_ne_bytes());
        for (kind, addr) in [(1u16, [10, 0, 0, 2]), (2, [10, 0, 0, 1])] {
            body.extend(8u16.to_ne_bytes());
            body.extend(kind.to_ne_bytes());
            body.extend(addr);
        }
        let a = parse_addr(&body).unwrap();
        assert_eq!((a.index, a.prefix_len), (7, 30));
        assert_eq!(a.ip, ip("10.0.0.1"));
        body[0] = 17; // AF_PACKET: not an address
        assert!(parse_addr(&body).is_none());
    }

    #[test]
    fn legacy_folding() {
        let mut s = [0u64; 24];
        for (i, v) in s.iter_mut().enumerate() {
            *v = 1 << i;
        }
        let c: std::collections::HashMap<_, _> = link_counters(&s, false).into_iter().collect();
        assert_eq!(c.len(), 17);
        assert_eq!(c["receive_drop"], (1 << 6) | (1 << 15));
        assert_eq!(
            c["receive_frame"],
            (1 << 13) | (1 << 10) | (1 << 11) | (1 << 12)
        );
        assert_eq!(
            c["transmit_carrier"],
            (1 << 17) | (1 << 16) | (1 << 19) | (1 << 20)
        );
        assert_eq!(c["receive_nohandler"], 1 << 23);
        assert_eq!(c["transmit_colls"], 1 << 9);
        assert_eq!(link_counters(&s, true).len(), 24);
        // uint64 sums wrap, as in Go.
        let mut w = [0u64; 24];
        w[6] = u64::MAX;
        w[15] = 2;
        let c: std::collections::HashMap<_, _> = link_counters(&w, false).into_iter().collect();
        assert_eq!(c["receive_drop"], 1);
    }

    #[test]
    fn netlink_dump_of_this_host_has_lo() {
        // The live path (node_exporter's default): lo exists in every network namespace.
        let cfg = NodeConfig {
            netdev: Flags {
                device_include: "^lo$".into(),
                ..NodeConfig::default().netdev
            },
            ..NodeConfig::default()
        };
        let out = match collect_with("netdev", &cfg) {
            Ok(out) => out,
            // A sandbox without netlink: nothing to check here.
            Err(e) => return eprintln!("netlink unavailable: {e}"),
        };
        assert!(out
            .value("node_network_receive_nohandler_total", &[("device", "lo")])
            .is_some());
        assert_eq!(out.families().len(), 17);
    }
}
