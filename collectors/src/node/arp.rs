//! `arp`: node_arp_entries{device}, the IPv4 neighbours per device.
//!
//! As node_exporter's collector/arp_linux.go (1.12.1, the same as 1.11): by default
//! (`--collector.arp.netlink`) from an rtnetlink `RTM_GETNEIGH` dump, keeping the `AF_INET` neighbours whose
//! state has no `NUD_NOARP` bit (what `/proc/net/arp` lists) and whose interface index names a link (the
//! others are skipped, as rtnl's `Neighbours` skips a failed link lookup); with `--no-collector.arp.netlink`
//! from `/proc/net/arp`. `--collector.arp.device-include` / `--collector.arp.device-exclude` filter the
//! devices. The netlink path sees the agent's own network namespace, as node_exporter's does; with
//! `--path.netns-pid` naming another (the stack's container), `/proc/<pid>/net/arp` is read instead (the
//! kernel skips NUD_NOARP entries there too).

use std::sync::Arc;

use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::ParseError;
use crate::read::{netlink, read_to_string};
use crate::{CollectError, MetricSet, Roots};

use super::device_filter::DeviceFilter;
use super::{NodeCollector, NodeConfig};

/// Count ARP entries per device, in order of first appearance. The table is parsed by procfs-core
/// (`ArpEntries`, which maps one to one onto what node_exporter's `/proc/net/arp` path reads: the device
/// column of every line after the header).
pub fn parse_arp(text: &str) -> Result<Vec<(String, u32)>, ParseError> {
    use procfs_core::FromBufRead;
    let table = procfs_core::net::ArpEntries::from_buf_read(text.as_bytes())
        .map_err(|e| ParseError::new(format!("unexpected ARP table format: {e}")))?;
    let mut out: Vec<(String, u32)> = Vec::new();
    for entry in table.0 {
        count(&mut out, entry.device);
    }
    Ok(out)
}

fn count(out: &mut Vec<(String, u32)>, device: String) {
    match out.iter_mut().find(|(d, _)| *d == device) {
        Some((_, n)) => *n += 1,
        None => out.push((device, 1)),
    }
}

/// `NUD_NOARP`: a neighbour entry that needs no resolution (not in `/proc/net/arp`).
const NUD_NOARP: u16 = 0x40;

/// Count the IPv4 neighbours of an `RTM_GETNEIGH` dump per device, as node_exporter's
/// `getTotalArpEntriesRTNL`; `links` are the `(index, name)` of the links.
pub fn neighbours_per_device(
    msgs: &[RouteNetlinkMessage],
    links: &[(u32, String)],
) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewNeighbour(n) = m else {
            continue;
        };
        if n.header.family != AddressFamily::Inet || u16::from(n.header.state) & NUD_NOARP != 0 {
            continue;
        }
        if let Some((_, name)) = links.iter().find(|(i, _)| *i == n.header.ifindex) {
            count(&mut out, name.clone());
        }
    }
    out
}

/// The arp collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of arp devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.arp.device-include",
        long = "collector.arp.device-include",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of arp devices to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.arp.device-exclude",
        long = "collector.arp.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
    /// Use netlink to gather stats instead of /proc/net/arp.
    #[arg(
        id = "collector.arp.netlink",
        long = "collector.arp.netlink",
        overrides_with = "no-collector.arp.netlink"
    )]
    pub netlink: bool,
    /// Read /proc/net/arp instead of netlink.
    #[arg(
        id = "no-collector.arp.netlink",
        long = "no-collector.arp.netlink",
        overrides_with = "collector.arp.netlink"
    )]
    pub no_netlink: bool,
}

pub struct Arp {
    roots: Arc<Roots>,
    netlink: bool,
    filter: DeviceFilter,
}

impl Arp {
    fn entries(&self) -> Result<Vec<(String, u32)>, CollectError> {
        // In another namespace than the agent's (--path.netns-pid) netlink would list the agent's own
        // neighbours: /proc/<pid>/net/arp lists that namespace's, with the same counts.
        if self.netlink && !self.roots.other_netns() {
            let err =
                |e: std::io::Error| CollectError::Other(format!("could not get ARP entries: {e}"));
            let msgs = netlink::route_dump(RouteNetlinkMessage::GetNeighbour(
                NeighbourMessage::default(),
            ))
            .map_err(err)?;
            let links = netlink::link_names().map_err(err)?;
            return Ok(neighbours_per_device(&msgs, &links));
        }
        let path = self.roots.proc_net("arp");
        parse_arp(&read_to_string(&path)?).map_err(|e| e.at(&path))
    }
}

impl NodeCollector for Arp {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.arp;
        Ok(Arp {
            roots: cfg.roots.clone(),
            netlink: !f.no_netlink,
            filter: DeviceFilter::new("arp", &f.device_exclude, &f.device_include)?,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for (dev, n) in &self.entries()? {
            if self.filter.ignored(dev) {
                continue;
            }
            out.gauge(
                "node_arp_entries",
                "ARP entries by device",
                &[("device", dev)],
                f64::from(*n),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_with, fixture_config};

    fn proc_config() -> NodeConfig {
        let mut cfg = fixture_config();
        cfg.arp.no_netlink = true;
        cfg
    }

    #[test]
    fn parses_fixture() {
        let e = parse_arp(include_str!("../../tests/fixtures/proc/net/arp")).unwrap();
        assert_eq!(e, [("eth0".to_string(), 2), ("docker0".to_string(), 1)]);
    }

    #[test]
    fn empty_table_and_garbage() {
        let header =
            "IP address       HW type     Flags       HW address            Mask     Device\n";
        assert_eq!(parse_arp(header).unwrap(), []);
        assert!(parse_arp(&format!("{header}192.0.2.1 0x1 0x2\n")).is_err());
        assert!(parse_arp(&format!(
            "{header}192.0.2.x 0x1 0x2 02:fc:00:00:00:05 * eth0\n"
        ))
        .is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_with("arp", &proc_config()).unwrap();
        assert_values(
            &out,
            &[
                ("node_arp_entries", &[("device", "eth0")], 2.0),
                ("node_arp_entries", &[("device", "docker0")], 1.0),
            ],
        );
    }

    #[test]
    fn device_filter() {
        let mut cfg = proc_config();
        cfg.arp.device_exclude = "^docker".into();
        let out = collect_with("arp", &cfg).unwrap();
        assert_eq!(
            out.value("node_arp_entries", &[("device", "docker0")]),
            None
        );
        assert_eq!(
            out.value("node_arp_entries", &[("device", "eth0")]),
            Some(2.0)
        );
        cfg.arp.device_include = "eth".into();
        assert!(collect_with("arp", &cfg).is_err());
    }

    #[test]
    fn netlink_is_the_default_and_no_flag_switches_it_off() {
        use clap::{Args, FromArgMatches};
        let parse = |args: &[&str]| {
            let cmd = Flags::augment_args(clap::Command::new("t"));
            let m = cmd.try_get_matches_from(std::iter::once("t").chain(args.iter().copied()));
            Flags::from_arg_matches(&m.unwrap()).unwrap()
        };
        assert!(!parse(&[]).no_netlink);
        assert!(parse(&["--no-collector.arp.netlink"]).no_netlink);
        assert!(!parse(&["--no-collector.arp.netlink", "--collector.arp.netlink"]).no_netlink);
        assert!(parse(&["--collector.arp.netlink", "--no-collector.arp.netlink"]).no_netlink);
    }

    /// An RTM_NEWNEIGH message: ndmsg (family, ifindex, state) and an NDA_DST attribute.
    fn neigh(family: u8, ifindex: u32, state: u16) -> Vec<u8> {
        let mut p = vec![0u8; 12];
        p[0] = family;
        p[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        p[8..10].copy_from_slice(&state.to_ne_bytes());
        let dst: &[u8] = if family == 2 {
            &[192, 0, 2, 1]
        } else {
            &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        };
        p.extend(((4 + dst.len()) as u16).to_ne_bytes());
        p.extend(1u16.to_ne_bytes()); // NDA_DST
        p.extend(dst);
        let mut m = Vec::new();
        m.extend(((16 + p.len()) as u32).to_ne_bytes());
        m.extend(28u16.to_ne_bytes()); // RTM_NEWNEIGH
        m.extend(2u16.to_ne_bytes());
        m.extend([0u8; 8]);
        m.extend(p);
        m
    }

    #[test]
    fn netlink_neighbours_count_ipv4_arp_entries() {
        let mut bytes = neigh(2, 2, 0x02); // eth0 reachable
        bytes.extend(neigh(2, 2, 0x04)); // eth0 stale
        bytes.extend(neigh(2, 1, 0x40)); // lo noarp: not counted
        bytes.extend(neigh(2, 3, 0x80)); // docker0 permanent
        bytes.extend(neigh(10, 2, 0x02)); // IPv6: not counted
        bytes.extend(neigh(2, 9, 0x02)); // no such link: skipped
        let msgs = netlink::parse_replies::<RouteNetlinkMessage>(&bytes)
            .unwrap()
            .messages;
        let links = [
            (1, "lo".to_string()),
            (2, "eth0".to_string()),
            (3, "docker0".to_string()),
        ];
        assert_eq!(
            neighbours_per_device(&msgs, &links),
            [("eth0".to_string(), 2), ("docker0".to_string(), 1)]
        );
    }
}

#[cfg(test)]
mod capture_tests {
    use super::*;
    use crate::read::netlink::{capture, link_names_of};

    #[test]
    fn captured_dump() {
        let links = link_names_of(capture::read("links"));
        let msgs = capture::read::<RouteNetlinkMessage>("neighbours");
        // 7 neighbours of every family; one IPv4 ARP entry (`ip neigh`: 192.0.2.1 on eth0).
        assert_eq!(msgs.len(), 7);
        assert_eq!(
            neighbours_per_device(&msgs, &links),
            [("eth0".to_string(), 1)]
        );
    }
}
