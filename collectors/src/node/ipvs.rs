//! `ipvs`: node_ipvs_* from `/proc/net/ip_vs_stats` (totals, counters) and `/proc/net/ip_vs` (per backend
//! gauges labelled by `--collector.ipvs.backend-labels`, summed over backends sharing the chosen labels), as
//! node_exporter 1.5. Without the ip_vs module the files are missing: no data.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// Every backend label, in node_exporter's order; the default of `--collector.ipvs.backend-labels`.
pub const ALL_BACKEND_LABELS: [&str; 6] = [
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
];

/// The totals line of `/proc/net/ip_vs_stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IpvsStats {
    pub connections: u64,
    pub incoming_packets: u64,
    pub outgoing_packets: u64,
    pub incoming_bytes: u64,
    pub outgoing_bytes: u64,
}

/// One real server (`->` line) with the virtual service it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsBackend {
    /// Formatted as Go's `net.IP.String()`; empty for a firewall-mark service.
    pub local_address: String,
    pub local_port: u16,
    pub local_mark: String,
    pub proto: String,
    pub remote_address: String,
    pub remote_port: u16,
    pub weight: u64,
    pub active_conn: u64,
    pub inact_conn: u64,
}

/// Parse `/proc/net/ip_vs_stats`: the third line holds five hex totals.
pub fn parse_ipvs_stats(text: &str) -> Result<IpvsStats, ParseError> {
    let mut lines = text.splitn(4, '\n');
    let line = lines
        .nth(2)
        .filter(|_| lines.next().is_some())
        .ok_or_else(|| ParseError::new("ip_vs_stats corrupt: too short"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 5 {
        return Err(ParseError::new(
            "ip_vs_stats corrupt: unexpected number of fields",
        ));
    }
    let hex = |s: &str| {
        u64::from_str_radix(s, 16).map_err(|_| ParseError::new(format!("not a hex number: {s:?}")))
    };
    Ok(IpvsStats {
        connections: hex(f[0])?,
        incoming_packets: hex(f[1])?,
        outgoing_packets: hex(f[2])?,
        incoming_bytes: hex(f[3])?,
        outgoing_bytes: hex(f[4])?,
    })
}

/// Format an IPv6 address as Go does: IPv4-mapped addresses in dotted form, others RFC 5952.
fn go_ipv6_string(ip: Ipv6Addr) -> String {
    match ip.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => ip.to_string(),
    }
}

/// Parse `C0A80016:0CEA` (hex IPv4, port) or `[2620:0000:…:0001]:0050` (IPv6, hex port).
fn parse_ip_port(s: &str) -> Result<(String, u16), ParseError> {
    let bad = || ParseError::new(format!("unexpected IP:Port: {s:?}"));
    let ip = match s.len() {
        13 => {
            let v = u32::from_str_radix(s.get(0..8).ok_or_else(bad)?, 16).map_err(|_| bad())?;
            Ipv4Addr::from(v).to_string()
        }
        46 => {
            let v6: Ipv6Addr = s
                .get(1..40)
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| ParseError::new(format!("invalid IPv6 address in {s:?}")))?;
            go_ipv6_string(v6)
        }
        _ => return Err(bad()),
    };
    let port = u16::from_str_radix(s.get(s.len() - 4..).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    Ok((ip, port))
}

/// Parse `/proc/net/ip_vs`: service lines (`TCP`/`UDP` with address, `FWM` with mark) each followed by
/// their `->` real-server lines.
pub fn parse_ipvs_backends(text: &str) -> Result<Vec<IpvsBackend>, ParseError> {
    let mut out = Vec::new();
    let mut proto = String::new();
    let mut local_mark = String::new();
    let mut local_address = String::new();
    let mut local_port = 0u16;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 || f[0] == "IP" || f[0] == "Prot" || f[1] == "RemoteAddress:Port" {
            continue;
        }
        match f[0] {
            "TCP" | "UDP" => {
                proto = f[0].to_string();
                local_mark.clear();
                (local_address, local_port) = parse_ip_port(f[1])?;
            }
            "FWM" => {
                proto = f[0].to_string();
                local_mark = f[1].to_string();
                local_address.clear();
                local_port = 0;
            }
            "->" if f.len() >= 6 => {
                let (remote_address, remote_port) = parse_ip_port(f[1])?;
                let num = |s: &str| {
                    s.parse::<u64>()
                        .map_err(|_| ParseError::new(format!("not a number: {s:?}")))
                };
                out.push(IpvsBackend {
                    local_address: local_address.clone(),
                    local_port,
                    local_mark: local_mark.clone(),
                    proto: proto.clone(),
                    remote_address,
                    remote_port,
                    weight: num(f[3])?,
                    active_conn: num(f[4])?,
                    inact_conn: num(f[5])?,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Parse `--collector.ipvs.backend-labels`: a comma-separated subset of [`ALL_BACKEND_LABELS`], returned in
/// that order; an unknown label is an error.
pub fn parse_backend_labels(s: &str) -> Result<Vec<&'static str>, String> {
    let wanted: Vec<&str> = s.split(',').filter(|l| !l.is_empty()).collect();
    let mut unknown: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|l| !ALL_BACKEND_LABELS.contains(l))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(format!(
            "unknown IPVS backend labels: {:?}",
            unknown.join(", ")
        ));
    }
    Ok(ALL_BACKEND_LABELS
        .iter()
        .copied()
        .filter(|l| wanted.contains(l))
        .collect())
}

/// Owned label pairs of one backend series.
type Labels = Vec<(String, String)>;

pub struct Ipvs {
    roots: Arc<Roots>,
    /// The chosen backend labels, sorted by name (the order of the exposition).
    labels: Vec<&'static str>,
}

impl Ipvs {
    fn label_values(&self, b: &IpvsBackend) -> Labels {
        self.labels
            .iter()
            .map(|&l| {
                let v = match l {
                    "local_address" => b.local_address.clone(),
                    "local_port" => b.local_port.to_string(),
                    "remote_address" => b.remote_address.clone(),
                    "remote_port" => b.remote_port.to_string(),
                    "proto" => b.proto.clone(),
                    _ => b.local_mark.clone(),
                };
                (l.to_string(), v)
            })
            .collect()
    }
}

/// The ipvs collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Comma-separated ipvs backend labels.
    #[arg(value_name = "LABELS", id = "collector.ipvs.backend-labels", long = "collector.ipvs.backend-labels", default_value_t = ALL_BACKEND_LABELS.join(","))]
    pub backend_labels: String,
}

impl NodeCollector for Ipvs {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let mut labels = parse_backend_labels(&cfg.ipvs.backend_labels)
            .map_err(|e| CollectError::Other(format!("--collector.ipvs.backend-labels: {e}")))?;
        labels.sort_unstable();
        Ok(Ipvs {
            roots: cfg.roots.clone(),
            labels,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc_net("ip_vs_stats");
        let text = read_to_string(&path).map_err(|e| e.no_data_because("ipvs not available"))?;
        let s = parse_ipvs_stats(&text).map_err(|e| e.at(&path))?;
        for (name, help, v) in [
            (
                "node_ipvs_connections_total",
                "The total number of connections made.",
                s.connections,
            ),
            (
                "node_ipvs_incoming_packets_total",
                "The total number of incoming packets.",
                s.incoming_packets,
            ),
            (
                "node_ipvs_outgoing_packets_total",
                "The total number of outgoing packets.",
                s.outgoing_packets,
            ),
            (
                "node_ipvs_incoming_bytes_total",
                "The total amount of incoming data.",
                s.incoming_bytes,
            ),
            (
                "node_ipvs_outgoing_bytes_total",
                "The total amount of outgoing data.",
                s.outgoing_bytes,
            ),
        ] {
            out.counter(name, help, &[], v as f64);
        }

        let path = self.roots.proc_net("ip_vs");
        let backends = parse_ipvs_backends(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        // Sum backends that share the chosen label values, in order of first appearance.
        let mut sums: Vec<(Labels, [u64; 3])> = Vec::new();
        for b in &backends {
            let key = self.label_values(b);
            let add = [b.active_conn, b.inact_conn, b.weight];
            match sums.iter_mut().find(|(k, _)| *k == key) {
                Some((_, acc)) => {
                    for (a, v) in acc.iter_mut().zip(add) {
                        *a = a.wrapping_add(v);
                    }
                }
                None => sums.push((key, add)),
            }
        }
        for (labels, [active, inactive, weight]) in sums {
            out.sample(
                "node_ipvs_backend_connections_active",
                "The current active connections by local and remote address.",
                crate::Kind::Gauge,
                labels.clone(),
                active as f64,
            );
            out.sample(
                "node_ipvs_backend_connections_inactive",
                "The current inactive connections by local and remote address.",
                crate::Kind::Gauge,
                labels.clone(),
                inactive as f64,
            );
            out.sample(
                "node_ipvs_backend_weight",
                "The current backend weight by local and remote address.",
                crate::Kind::Gauge,
                labels,
                weight as f64,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, assert_values, collect_fixture, collect_with, fixture_config,
    };

    #[test]
    fn parses_stats_fixture() {
        let s =
            parse_ipvs_stats(include_str!("../../tests/fixtures/proc/net/ip_vs_stats")).unwrap();
        assert_eq!(
            s,
            IpvsStats {
                connections: 0x1d4c0,
                incoming_packets: 0x3a9f1c,
                outgoing_packets: 0,
                incoming_bytes: u64::MAX,
                outgoing_bytes: 0,
            }
        );
        assert_rejects(parse_ipvs_stats, &["a\nb\n", "a\nb\n1 2 3 4\n\n"]);
    }

    #[test]
    fn parses_backends_fixture() {
        let b = parse_ipvs_backends(include_str!("../../tests/fixtures/proc/net/ip_vs")).unwrap();
        assert_eq!(b.len(), 6);
        assert_eq!(
            b[0],
            IpvsBackend {
                local_address: "10.0.0.100".into(),
                local_port: 443,
                local_mark: String::new(),
                proto: "TCP".into(),
                remote_address: "10.0.10.1".into(),
                remote_port: 443,
                weight: 100,
                active_conn: 12,
                inact_conn: 3,
            }
        );
        assert_eq!(b[2].proto, "UDP");
        assert_eq!(b[3].local_address, "fd00::64");
        assert_eq!(b[3].remote_address, "fd00::a01");
        assert_eq!(b[3].remote_port, 8080);
        // IPv4-mapped addresses print dotted, as Go's net.IP does.
        assert_eq!(b[4].remote_address, "10.0.10.4");
        assert_eq!(b[5].proto, "FWM");
        assert_eq!(b[5].local_mark, "00000010");
        assert_eq!(b[5].local_address, "");
        assert_eq!(b[5].local_port, 0);
    }

    #[test]
    fn rejects_bad_addresses() {
        assert!(parse_ipvs_backends("TCP  0A00064:01BB wlc\n").is_err());
        assert!(
            parse_ipvs_backends("TCP  0A000064:01BB wlc\n  -> 0A000A0Z:01BB Masq 1 2 3\n").is_err()
        );
        assert!(
            parse_ipvs_backends("TCP  0A000064:01BB wlc\n  -> 0A000A01:01BB Masq x 2 3\n").is_err()
        );
    }

    #[test]
    fn backend_labels_option() {
        assert_eq!(
            parse_backend_labels("proto,local_address").unwrap(),
            ["local_address", "proto"]
        );
        assert_eq!(parse_backend_labels("").unwrap(), Vec::<&str>::new());
        assert!(parse_backend_labels("proto,bogus").is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("ipvs");
        assert_eq!(
            out.value("node_ipvs_connections_total", &[]),
            Some(120000.0)
        );
        let active = out.get("node_ipvs_backend_connections_active").unwrap();
        assert_eq!(active.samples.len(), 6);
        let names: Vec<&str> = active.samples[5]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "local_address",
                "local_mark",
                "local_port",
                "proto",
                "remote_address",
                "remote_port"
            ]
        );
        assert_values(
            &out,
            &[
                (
                    "node_ipvs_backend_connections_inactive",
                    &[
                        ("proto", "FWM"),
                        ("local_mark", "00000010"),
                        ("local_address", ""),
                        ("remote_port", "3306"),
                    ],
                    1.0,
                ),
                (
                    "node_ipvs_backend_weight",
                    &[("remote_address", "10.0.10.2")],
                    50.0,
                ),
            ],
        );
    }

    #[test]
    fn fewer_labels_sum_backends() {
        let mut cfg = fixture_config();
        cfg.ipvs.backend_labels = "proto,local_port".to_string();
        let out = collect_with("ipvs", &cfg).unwrap();
        let active = out.get("node_ipvs_backend_connections_active").unwrap();
        // TCP:443, UDP:53, TCP:80, FWM:0
        assert_eq!(active.samples.len(), 4);
        assert_values(
            &out,
            &[
                (
                    "node_ipvs_backend_connections_active",
                    &[("proto", "TCP"), ("local_port", "443")],
                    19.0,
                ),
                (
                    "node_ipvs_backend_weight",
                    &[("proto", "TCP"), ("local_port", "80")],
                    3.0,
                ),
            ],
        );
    }

    #[test]
    fn no_module_is_no_data() {
        let mut cfg = fixture_config();
        cfg.roots = Arc::new(Roots::new("/nonexistent", "/nonexistent", "/", None));
        let err = collect_with("ipvs", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)), "{err}");
    }
}
