//! `network_route`: node_network_route_info{device,src,dest,gw,priority,proto,weight} and
//! node_network_routes{device}, from rtnetlink `RTM_GETROUTE` and `RTM_GETLINK` dumps (every table, every
//! address family) as node_exporter's collector/network_route_linux.go reads them through
//! jsimonetti/rtnetlink: only `RTN_UNICAST` routes; one info sample per next hop of a multipath route
//! (`weight` = hops + 1) or one per route (`weight` = ""); `src` is `RTA_PREFSRC`; `dest` is `default` for
//! a zero-length prefix, else Go's `IPNet.String()`; addresses as Go's `net.IP.String()`; the device is the
//! name of the link whose index is the route's (or next hop's) output interface, "" when none.

use std::net::IpAddr;

use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::RouteNetlinkMessage;

use crate::read::netlink;
use crate::{CollectError, MetricSet};

/// One `node_network_route_info` sample's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub device: String,
    pub src: String,
    pub dest: String,
    pub gw: String,
    pub priority: String,
    pub proto: &'static str,
    pub weight: String,
}

/// `RTN_UNICAST` (upstream compares with `unix.RTA_DST`, the same value, 1).
const RTN_UNICAST: u8 = 1;

/// The protocol names of upstream's `networkRouteProtocolToString` (include/uapi/linux/rtnetlink.h).
pub fn protocol_name(p: u8) -> &'static str {
    match p {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        17 => "mrouted",
        42 => "babel",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        _ => "unknown",
    }
}

/// An address as Go's `net.IP.String()`: an IPv4-mapped IPv6 address prints as IPv4.
pub fn go_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
    }
}

/// Upstream's `networkRouteIPWithPrefixToString`: "default" for a zero-length prefix, else Go's
/// `(&net.IPNet{IP: ip, Mask: net.CIDRMask(len, bits)}).String()`, which prints the address unmasked,
/// with `bits` 32 for an address that has an IPv4 form (so a mapped address longer than /32 has no mask:
/// `<nil>`).
pub fn go_prefix(ip: Option<IpAddr>, len: u8) -> String {
    if len == 0 {
        return "default".to_string();
    }
    let Some(ip) = ip else {
        return "<nil>".to_string();
    };
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    let bits = if v4.is_some() { 32 } else { 128 };
    if u32::from(len) > bits {
        return "<nil>".to_string();
    }
    format!("{}/{len}", go_ip(ip))
}

fn addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn addr_string(a: Option<IpAddr>) -> String {
    a.map(go_ip).unwrap_or_default()
}

/// The info samples of one route message (none unless unicast).
pub fn route_infos(route: &RouteMessage, link_name: &dyn Fn(u32) -> String) -> Vec<RouteInfo> {
    if u8::from(route.header.kind) != RTN_UNICAST {
        return Vec::new();
    }
    let (mut dst, mut src, mut gw, mut prio, mut oif) = (None, None, None, 0u32, 0u32);
    let mut multipath = None;
    for a in &route.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = addr(d),
            RouteAttribute::PrefSource(s) => src = addr(s),
            RouteAttribute::Gateway(g) => gw = addr(g),
            RouteAttribute::Priority(p) => prio = *p,
            RouteAttribute::Oif(i) => oif = *i,
            RouteAttribute::MultiPath(hops) => multipath = Some(hops),
            _ => {}
        }
    }
    let base = RouteInfo {
        device: String::new(),
        src: addr_string(src),
        dest: go_prefix(dst, route.header.destination_prefix_length),
        gw: String::new(),
        priority: prio.to_string(),
        proto: protocol_name(u8::from(route.header.protocol)),
        weight: String::new(),
    };
    match multipath {
        Some(hops) if !hops.is_empty() => hops
            .iter()
            .map(|hop| {
                let gw = hop.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(g) => addr(g),
                    _ => None,
                });
                RouteInfo {
                    device: link_name(hop.interface_index),
                    gw: addr_string(gw),
                    weight: (u32::from(hop.hops) + 1).to_string(),
                    ..base.clone()
                }
            })
            .collect(),
        _ => vec![RouteInfo {
            device: link_name(oif),
            gw: addr_string(gw),
            ..base
        }],
    }
}

/// The info samples of a route dump, device names from the links `(index, name)`.
pub fn routes_of(msgs: &[RouteNetlinkMessage], links: &[(u32, String)]) -> Vec<RouteInfo> {
    let name = |i: u32| {
        links
            .iter()
            .find(|(x, _)| *x == i)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    msgs.iter()
        .flat_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => route_infos(r, &name),
            _ => Vec::new(),
        })
        .collect()
}

/// The `network_route` collector (no state, no flags).
pub fn collect(roots: &crate::Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    netlink::same_namespace(roots, "network_route")?;
    let links = netlink::route_dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
        .map_err(|e| CollectError::Other(format!("couldn't get links: {e}")))?;
    let links = netlink::link_names_of(links);
    let routes = netlink::route_dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))
        .map_err(|e| CollectError::Other(format!("couldn't get routes: {e}")))?;
    let infos = routes_of(&routes, &links);
    let mut per_device: Vec<(&str, u32)> = Vec::new();
    for r in &infos {
        out.gauge(
            "node_network_route_info",
            "network routing table information",
            &[
                ("device", &r.device),
                ("src", &r.src),
                ("dest", &r.dest),
                ("gw", &r.gw),
                ("priority", &r.priority),
                ("proto", r.proto),
                ("weight", &r.weight),
            ],
            1.0,
        );
        match per_device.iter_mut().find(|(d, _)| *d == r.device) {
            Some((_, n)) => *n += 1,
            None => per_device.push((&r.device, 1)),
        }
    }
    for (dev, n) in per_device {
        out.gauge(
            "node_network_routes",
            "network routes by interface",
            &[("device", dev)],
            f64::from(n),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(((4 + data.len()) as u16).to_ne_bytes());
        b.extend(ty.to_ne_bytes());
        b.extend(data);
        b.resize(b.len().div_ceil(4) * 4, 0);
        b
    }

    /// An RTM_NEWROUTE message: rtmsg (family, dst_len, protocol, type) and attributes.
    fn route(family: u8, dst_len: u8, proto: u8, kind: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![family, dst_len, 0, 0, 254, proto, 0, kind, 0, 0, 0, 0];
        for a in attrs {
            p.extend(a);
        }
        let mut m = Vec::new();
        m.extend(((16 + p.len()) as u32).to_ne_bytes());
        m.extend(24u16.to_ne_bytes()); // RTM_NEWROUTE
        m.extend(2u16.to_ne_bytes());
        m.extend([0u8; 8]);
        m.extend(p);
        m
    }

    #[test]
    fn routes_as_upstream_labels_them() {
        let oif = |i: u32| nla(4, &i.to_ne_bytes()); // RTA_OIF
        let mut bytes = route(2, 0, 3, 1, &[nla(5, &[192, 0, 2, 1]), oif(2)]); // default via, boot
        bytes.extend(route(
            2,
            24,
            2,
            1,
            &[nla(1, &[192, 0, 2, 0]), nla(7, &[192, 0, 2, 2]), oif(2)], // dst, prefsrc
        ));
        bytes.extend(route(2, 32, 2, 2, &[nla(1, &[127, 0, 0, 1]), oif(1)])); // local: skipped
        let mut v6 = vec![0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let v6dst = nla(1, &v6);
        v6[15] = 1;
        bytes.extend(route(
            10,
            64,
            186,
            1,
            &[v6dst, nla(6, &1024u32.to_ne_bytes()), oif(9)], // priority, unknown link
        ));
        // A multipath route: two rtnexthop {len, flags, hops, ifindex} with a nested RTA_GATEWAY.
        let hop = |hops: u8, ifindex: u32, gw: [u8; 4]| {
            let g = nla(5, &gw);
            let mut h = Vec::new();
            h.extend(((8 + g.len()) as u16).to_ne_bytes());
            h.push(0);
            h.push(hops);
            h.extend(ifindex.to_ne_bytes());
            h.extend(g);
            h
        };
        let mut mp = hop(0, 2, [10, 0, 0, 1]);
        mp.extend(hop(4, 3, [10, 0, 0, 2]));
        bytes.extend(route(2, 8, 4, 1, &[nla(1, &[10, 0, 0, 0]), nla(9, &mp)]));
        let msgs = netlink::parse_replies::<RouteNetlinkMessage>(&bytes)
            .unwrap()
            .messages;
        let links = [
            (1, "lo".to_string()),
            (2, "eth0".to_string()),
            (3, "eth1".to_string()),
        ];
        let r = routes_of(&msgs, &links);
        let row = |x: &RouteInfo| {
            [
                x.device.as_str(),
                &x.src,
                &x.dest,
                &x.gw,
                &x.priority,
                x.proto,
                &x.weight,
            ]
            .map(str::to_string)
        };
        let rows: Vec<_> = r.iter().map(row).collect();
        let want = |v: [&str; 7]| v.map(str::to_string);
        assert_eq!(
            rows,
            [
                want(["eth0", "", "default", "192.0.2.1", "0", "boot", ""]),
                want(["eth0", "192.0.2.2", "192.0.2.0/24", "", "0", "kernel", ""]),
                want(["", "", "fd00::/64", "", "1024", "bgp", ""]),
                want(["eth0", "", "10.0.0.0/8", "10.0.0.1", "0", "static", "1"]),
                want(["eth1", "", "10.0.0.0/8", "10.0.0.2", "0", "static", "5"]),
            ]
        );
    }

    #[test]
    fn go_formatting() {
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(go_ip(mapped), "192.0.2.1");
        assert_eq!(go_ip("2001:db8::1".parse().unwrap()), "2001:db8::1");
        assert_eq!(go_prefix(Some(mapped), 24), "192.0.2.1/24");
        assert_eq!(go_prefix(Some(mapped), 96), "<nil>");
        assert_eq!(go_prefix(None, 0), "default");
        assert_eq!(protocol_name(18), "unknown");
        assert_eq!(protocol_name(16), "dhcp");
    }
}

#[cfg(test)]
mod capture_tests {
    use super::*;
    use crate::read::netlink::{capture, link_names_of};

    #[test]
    fn captured_dump() {
        let links = link_names_of(capture::read("links"));
        let r = routes_of(&capture::read::<RouteNetlinkMessage>("routes"), &links);
        // `ip route show table all`: 6 unicast routes (the local/broadcast/multicast ones are left out).
        let dests: Vec<_> = r
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {} {} {}",
                    x.device, x.src, x.dest, x.gw, x.priority, x.proto
                )
            })
            .collect();
        assert_eq!(
            dests,
            [
                "eth0  default 192.0.2.1 0 boot",
                "docker0 172.17.0.1 172.17.0.0/16  0 kernel",
                "eth0 192.0.2.2 192.0.2.0/24  0 kernel",
                "eth0  fd00::/64  256 kernel",
                "eth0  fe80::/64  256 kernel",
                "eth0  default fd00::1 1024 boot",
            ]
        );
    }
}
