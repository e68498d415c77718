//! `netclass`: node_network_* properties of every interface under `/sys/class/net/<iface>/`.
//!
//! As node_exporter 1.12.1 (procfs 0.21 `sysfs.NetClassByIface`) in its default sysfs mode: every entry of
//! `/sys/class/net` that is not a regular file is an interface; each attribute is read with the read layer's one sysfs read and trimmed; an
//! attribute that is missing or that the kernel refuses ([`crate::read::is_absent`]: `EINVAL` for
//! `speed`/`carrier`/`duplex` on a link that is down, `EOPNOTSUPP`, `EACCES`, …) is absent, and so is a
//! numeric attribute that does not parse (Go `ParseInt` with base 0, so `flags` = `0x1003` is hex). Absent numbers produce no sample; absent strings are `""`.
//! node_network_info has the `adminstate` label (1.6: IFF_UP of `flags`), and
//! `--collector.netclass.ignore-invalid-speed` drops a negative speed.
//!
//! `--collector.netclass.netlink` (off by default, netclass_rtnl_linux.go): the same family from one
//! `RTM_GETLINK` dump of the agent's network namespace (see [`super::netdev::dump_links`]), speed and
//! duplex from ethtool's generic netlink `LINKMODES_GET` dump (left out, as upstream, when the kernel has no
//! ethtool netlink family), and `addr_assign_type`, `dev_id`, `name_assign_type` from `/sys/class/net`
//! (upstream's fixed path, not `--path.sysfs`). Its differences are upstream's: node_network_info has no
//! `adminstate` and another help text, node_network_altnames_info lists the alternative names,
//! node_network_dormant is the link mode (as upstream), node_network_iface_link is the index when the
//! kernel leaves IFLA_LINK out, the speed of a link without one is ethtool's SPEED_UNKNOWN (2^32-1 Mbit/s),
//! and `--collector.netclass_rtnl.with-stats` adds the 24 link statistics as gauges.

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
    netlink: bool,
    with_stats: bool,
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
    /// Use netlink to gather stats instead of /proc/net/dev.
    #[arg(id = "collector.netclass.netlink", long = "collector.netclass.netlink")]
    pub netlink: bool,
    /// Expose the statistics for each network device, replacing netdev collector.
    #[arg(
        id = "collector.netclass_rtnl.with-stats",
        long = "collector.netclass_rtnl.with-stats"
    )]
    pub rtnl_with_stats: bool,
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
            netlink: cfg.netclass.netlink,
            with_stats: cfg.netclass.rtnl_with_stats,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.netlink {
            crate::read::netlink::same_namespace(
                &self.roots,
                "netclass --collector.netclass.netlink",
            )?;
            return self.collect_rtnl(out);
        }
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

// ---------------------------------------------------------------------------------------------------------
// netlink mode

/// One link of ethtool's `LINKMODES_GET` dump: name, speed (Mbit/s, `int(u32)` as mdlayher/ethtool) and
/// duplex (`DUPLEX_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthtoolLinkMode {
    pub name: String,
    pub speed_mbits: u32,
    pub duplex: Option<u8>,
}

/// mdlayher/ethtool's `Duplex.String()`.
pub fn duplex_string(d: u8) -> String {
    match d {
        0 => "Half".into(),
        1 => "Full".into(),
        255 => "Unknown".into(),
        n => format!("Duplex({n})"),
    }
}

/// rtnetlink's operstate names (`operstateStr`), by IF_OPER_* value.
const OPERSTATES: [&str; 7] = [
    "unknown",
    "notpresent",
    "down",
    "lowerlayerdown",
    "testing",
    "dormant",
    "up",
];

/// Go's `net.HardwareAddr.String()`: lower-case hex bytes joined by `:`, `""` for none.
pub fn hardware_addr(a: Option<&[u8]>) -> String {
    a.unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Netlink attributes of `b`: `(type without the nested/byte-order flags, payload)`.
fn nlas(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        b = b.get(len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
    out
}

fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + payload.len() + 3);
    v.extend(((4 + payload.len()) as u16).to_ne_bytes());
    v.extend(kind.to_ne_bytes());
    v.extend(payload);
    v.resize(v.len().div_ceil(4) * 4, 0);
    v
}

/// A generic netlink request: netlink header, genlmsghdr (`cmd`, `version`), attributes.
fn genl_request(family: u16, flags: u16, cmd: u8, version: u8, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend((len as u32).to_ne_bytes());
    m.extend(family.to_ne_bytes());
    m.extend(flags.to_ne_bytes());
    m.extend(1u32.to_ne_bytes());
    m.extend(0u32.to_ne_bytes());
    m.extend([cmd, version, 0, 0]);
    m.extend(attrs);
    m
}

/// The generic netlink replies of one datagram: each message's attributes after the genlmsghdr, and
/// whether the exchange is over (`NLMSG_DONE`, or a reply to a request that is not a dump). A kernel
/// error is its errno.
pub fn parse_genl_replies(bytes: &[u8], dump: bool) -> std::io::Result<(Vec<Vec<u8>>, bool)> {
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < 16 || len > rest.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "truncated netlink message",
            ));
        }
        let body = &rest[16..len];
        match kind {
            NLMSG_DONE => return Ok((out, true)),
            NLMSG_ERROR => {
                let code = body
                    .get(..4)
                    .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                if code != 0 {
                    return Err(std::io::Error::from_raw_os_error(-code));
                }
                return Ok((out, true));
            }
            _ if body.len() >= 4 => out.push(body[4..].to_vec()),
            _ => {}
        }
        rest = rest.get(len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
    Ok((out, !dump))
}

/// Send `request` on a new generic netlink socket and collect the replies' attribute blocks.
fn genl_exchange(request: &[u8], dump: bool) -> std::io::Result<Vec<Vec<u8>>> {
    use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
    let mut socket = Socket::new(NETLINK_GENERIC)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    socket.send(request, 0)?;
    let mut out = Vec::new();
    loop {
        let (bytes, _) = socket.recv_from_full()?;
        if bytes.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "netlink socket closed before the end of the replies",
            ));
        }
        let (msgs, done) = parse_genl_replies(&bytes, dump)?;
        out.extend(msgs);
        if done {
            return Ok(out);
        }
    }
}

/// Parse one `LINKMODES_GET` reply's attributes.
pub fn parse_link_mode(attrs: &[u8]) -> EthtoolLinkMode {
    const HEADER: u16 = 1;
    const SPEED: u16 = 5;
    const DUPLEX: u16 = 6;
    const HEADER_DEV_NAME: u16 = 2;
    let mut lm = EthtoolLinkMode {
        name: String::new(),
        speed_mbits: 0,
        duplex: None,
    };
    for (kind, v) in nlas(attrs) {
        match kind {
            HEADER => {
                for (k, hv) in nlas(v) {
                    if k == HEADER_DEV_NAME {
                        lm.name =
                            crate::read::to_valid_utf8(hv.split(|b| *b == 0).next().unwrap_or(hv));
                    }
                }
            }
            SPEED if v.len() >= 4 => lm.speed_mbits = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]),
            DUPLEX if !v.is_empty() => lm.duplex = Some(v[0]),
            _ => {}
        }
    }
    lm
}

/// Every link's ethtool link modes; `Ok(None)` when the kernel has no `ethtool` generic netlink family
/// (before 5.6) or refuses the dump as not there (ENOENT), which upstream logs and goes on without.
pub fn ethtool_link_modes() -> std::io::Result<Option<Vec<EthtoolLinkMode>>> {
    const GENL_ID_CTRL: u16 = 0x10;
    const CTRL_CMD_GETFAMILY: u8 = 3;
    const CTRL_ATTR_FAMILY_ID: u16 = 1;
    const CTRL_ATTR_FAMILY_NAME: u16 = 2;
    const ETHTOOL_MSG_LINKMODES_GET: u8 = 4;
    const ETHTOOL_A_LINKMODES_HEADER: u16 = 1;
    const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
    const ETHTOOL_FLAG_COMPACT_BITSETS: u32 = 1;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_DUMP: u16 = 0x300;
    let not_there = |e: &std::io::Error| e.raw_os_error() == Some(libc::ENOENT);
    let req = genl_request(
        GENL_ID_CTRL,
        NLM_F_REQUEST,
        CTRL_CMD_GETFAMILY,
        1,
        &nla(CTRL_ATTR_FAMILY_NAME, b"ethtool\0"),
    );
    let family = match genl_exchange(&req, false) {
        Ok(replies) => replies.iter().flat_map(|r| nlas(r)).find_map(|(k, v)| {
            (k == CTRL_ATTR_FAMILY_ID && v.len() >= 2).then(|| u16::from_ne_bytes([v[0], v[1]]))
        }),
        Err(e) if not_there(&e) => None,
        Err(e) => return Err(e),
    };
    let Some(family) = family else {
        return Ok(None);
    };
    let header = nla(
        ETHTOOL_A_LINKMODES_HEADER | 0x8000,
        &nla(
            ETHTOOL_A_HEADER_FLAGS,
            &ETHTOOL_FLAG_COMPACT_BITSETS.to_ne_bytes(),
        ),
    );
    let req = genl_request(
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        ETHTOOL_MSG_LINKMODES_GET,
        1,
        &header,
    );
    match genl_exchange(&req, true) {
        Ok(replies) => Ok(Some(replies.iter().map(|r| parse_link_mode(r)).collect())),
        Err(e) if not_there(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

impl NetClass {
    fn collect_rtnl(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut duplex = std::collections::HashMap::new();
        match ethtool_link_modes() {
            Ok(Some(modes)) => {
                for lm in modes.iter().filter(|m| !self.ignored.is_match(&m.name)) {
                    // Go: uint64(int(speed) * 1000 * 1000 / 8); int(u32) is never negative.
                    let bytes = u64::from(lm.speed_mbits) * 1_000_000 / 8;
                    prop_sample(
                        out,
                        "node_network_speed_bytes",
                        "Network device property: speed_bytes",
                        false,
                        &lm.name,
                        Some(bytes as i64),
                    );
                    duplex.insert(
                        lm.name.clone(),
                        lm.duplex
                            .map(duplex_string)
                            .unwrap_or_else(|| duplex_string(0)),
                    );
                }
            }
            Ok(None) => tracing::info!(
                "ETHTOOL netlink interface unavailable, duplex and linkspeed are not scraped."
            ),
            Err(e) => {
                return Err(CollectError::Other(format!(
                    "could not get link modes: {e}"
                )))
            }
        }
        let links = super::netdev::dump_links()
            .map_err(|e| CollectError::Other(format!("could not get net class info: {e}")))?;
        for l in links.iter().filter(|l| !self.ignored.is_match(&l.name)) {
            // Read before writing anything of this link: a hard error fails the scrape.
            let dir = Path::new("/sys/class/net").join(&l.name);
            let sysfs = |attr: &str| -> Result<Option<i64>, CollectError> {
                if l.name.contains('/') {
                    return Ok(None);
                }
                Ok(read_attr(dir.join(attr))?.and_then(|v| parse_go_int(&v).ok()))
            };
            let (addr_assign, dev_id, name_assign) = (
                sysfs("addr_assign_type")?,
                sysfs("dev_id")?,
                sysfs("name_assign_type")?,
            );
            write_rtnl_link(
                out,
                l,
                duplex.get(&l.name).map_or("", String::as_str),
                [addr_assign, dev_id, name_assign],
                self.with_stats,
            );
        }
        Ok(())
    }
}

/// Write one link's series in netlink mode; `sysfs` is `addr_assign_type`, `dev_id`, `name_assign_type`.
pub fn write_rtnl_link(
    out: &mut MetricSet,
    l: &super::netdev::Link,
    duplex: &str,
    sysfs: [Option<i64>; 3],
    with_stats: bool,
) {
    let dev = l.name.as_str();
    out.gauge(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        &[("device", dev)],
        if l.operstate == 6 { 1.0 } else { 0.0 },
    );
    out.gauge(
        "node_network_info",
        "Non-numeric data of <iface>, value is always 1.",
        &[
            ("address", &hardware_addr(l.address.as_deref())),
            ("broadcast", &hardware_addr(l.broadcast.as_deref())),
            ("device", dev),
            ("duplex", duplex),
            (
                "operstate",
                OPERSTATES
                    .get(usize::from(l.operstate))
                    .copied()
                    .unwrap_or("unknown"),
            ),
            ("ifalias", l.alias.as_deref().unwrap_or("")),
        ],
        1.0,
    );
    for alt in l.alt_names.iter().filter(|a| !a.is_empty()) {
        out.gauge(
            "node_network_altnames_info",
            "Non-numeric data of <iface> altname, value is always 1.",
            &[("altname", alt), ("device", dev)],
            1.0,
        );
    }
    let n = |v: Option<u32>| v.map(i64::from);
    let [addr_assign, dev_id, name_assign] = sysfs;
    prop!(out, "address_assign_type", false, dev, addr_assign);
    prop!(out, "carrier", false, dev, l.carrier.map(i64::from));
    prop!(
        out,
        "carrier_changes_total",
        true,
        dev,
        n(l.carrier_changes)
    );
    prop!(
        out,
        "carrier_up_changes_total",
        true,
        dev,
        n(l.carrier_up_count)
    );
    prop!(
        out,
        "carrier_down_changes_total",
        true,
        dev,
        n(l.carrier_down_count)
    );
    prop!(out, "device_id", false, dev, dev_id);
    prop!(out, "flags", false, dev, Some(i64::from(l.flags)));
    prop!(out, "iface_id", false, dev, Some(i64::from(l.index)));
    prop!(
        out,
        "iface_link_mode",
        false,
        dev,
        l.link_mode.map(i64::from)
    );
    // Upstream reports the link mode as dormant too.
    prop!(out, "dormant", false, dev, l.link_mode.map(i64::from));
    let iflink = if l.iflink > 0 { l.iflink } else { l.index };
    prop!(out, "iface_link", false, dev, Some(i64::from(iflink)));
    prop!(out, "mtu_bytes", false, dev, Some(i64::from(l.mtu)));
    prop!(out, "name_assign_type", false, dev, name_assign);
    prop!(out, "net_dev_group", false, dev, n(l.group));
    prop!(out, "transmit_queue_length", false, dev, n(l.tx_queue_len));
    prop!(
        out,
        "protocol_type",
        false,
        dev,
        Some(i64::from(l.link_type))
    );
    let Some(stats) = l.stats64.filter(|_| with_stats) else {
        return;
    };
    for (key, v) in super::netdev::LINK_STATS.iter().zip(stats) {
        let name = format!("{key}_total");
        out.gauge(
            &format!("node_network_{name}"),
            &format!("Network device property: {name}"),
            &[("device", dev)],
            v as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_values, collect_fixture, collect_with, fixture_config, fixture_root,
    };

    #[test]
    fn netlink_mode_pieces() {
        assert_eq!(hardware_addr(None), "");
        assert_eq!(
            hardware_addr(Some(&[0x02, 0xfc, 0, 0, 0, 0x1a])),
            "02:fc:00:00:00:1a"
        );
        assert_eq!(duplex_string(1), "Full");
        assert_eq!(duplex_string(255), "Unknown");
        assert_eq!(duplex_string(7), "Duplex(7)");
        // One LINKMODES_GET reply: header{dev_index, dev_name}, speed, duplex.
        let mut header = nla(1, &3u32.to_ne_bytes());
        header.extend(nla(2, b"eth0\0"));
        let mut attrs = nla(1 | 0x8000, &header);
        attrs.extend(nla(5, &u32::MAX.to_ne_bytes()));
        attrs.extend(nla(6, &[1]));
        let lm = parse_link_mode(&attrs);
        assert_eq!(
            lm,
            EthtoolLinkMode {
                name: "eth0".into(),
                speed_mbits: u32::MAX,
                duplex: Some(1)
            }
        );
        // Framed as the kernel sends it, then NLMSG_DONE; an error is its errno.
        let msg = genl_request(20, 2, 4, 1, &attrs);
        let mut bytes = msg.clone();
        bytes.extend(genl_request(3, 2, 0, 0, &[]));
        let (replies, done) = parse_genl_replies(&bytes, true).unwrap();
        assert!(done);
        assert_eq!(replies, [attrs.clone()]);
        let (_, done) = parse_genl_replies(&msg, true).unwrap();
        assert!(!done);
        let mut err = genl_request(2, 0, 0, 0, &[]);
        err.truncate(16);
        err.extend((-libc::ENOENT).to_ne_bytes());
        err[..4].copy_from_slice(&20u32.to_ne_bytes());
        let e = parse_genl_replies(&err, false).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn writes_rtnl_link() {
        let l = crate::node::netdev::Link {
            link_type: 1,
            index: 2,
            flags: 0x1003,
            name: "eth0".into(),
            address: Some(vec![0xaa; 6]),
            alt_names: vec!["enp0s1".into(), String::new()],
            link_mode: Some(0),
            mtu: 1500,
            operstate: 6,
            stats64: Some([7; 24]),
            ..Default::default()
        };
        let mut out = MetricSet::new();
        write_rtnl_link(&mut out, &l, "Full", [Some(0), None, Some(4)], true);
        let dev = [("device", "eth0")];
        assert_values(
            &out,
            &[
                ("node_network_up", &dev, 1.0),
                ("node_network_iface_link", &dev, 2.0),
                ("node_network_dormant", &dev, 0.0),
                ("node_network_mtu_bytes", &dev, 1500.0),
                ("node_network_flags", &dev, 4099.0),
                ("node_network_name_assign_type", &dev, 4.0),
                ("node_network_receive_nohandler_total", &dev, 7.0),
                (
                    "node_network_info",
                    &[
                        ("address", "aa:aa:aa:aa:aa:aa"),
                        ("broadcast", ""),
                        ("duplex", "Full"),
                        ("operstate", "up"),
                    ],
                    1.0,
                ),
            ],
        );
        assert!(out.get("node_network_device_id").is_none());
        assert!(out.get("node_network_carrier").is_none());
        assert_eq!(
            out.get("node_network_altnames_info").unwrap().samples.len(),
            1
        );
        let stats = out
            .get("node_network_transmit_window_errors_total")
            .unwrap();
        assert_eq!(stats.kind, crate::Kind::Gauge);
    }

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
