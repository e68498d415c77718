//! `netstat`: node_netstat_<Protocol>_<Field> (untyped) from `/proc/net/netstat`, `/proc/net/snmp` and
//! `/proc/net/snmp6`, filtered by `--collector.netstat.fields` as node_exporter 1.12.1 does.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// node_exporter 1.12.1's default `--collector.netstat.fields` (TCPOFOQueue and TCPRcvQDrop since 1.6).
pub const DEFAULT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";

/// Statistics by protocol (`TcpExt`, `Ip6`, …), then by field name, as `(field, value)` in file order.
pub type ProtoStats = BTreeMap<String, Vec<(String, f64)>>;

fn number(v: &str) -> Result<f64, ParseError> {
    v.parse::<f64>()
        .map_err(|_| ParseError::new(format!("invalid value {v:?}")))
}

/// Parse `/proc/net/netstat` or `/proc/net/snmp`: pairs of lines, `Proto: Name1 Name2 …` then
/// `Proto: v1 v2 …`. Every value must be a number (node_exporter fails the scrape otherwise).
pub fn parse_net_stats(text: &str, into: &mut ProtoStats) -> Result<(), ParseError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    while let Some(header) = lines.next() {
        let values = lines
            .next()
            .ok_or_else(|| ParseError::new(format!("header without values: {header:?}")))?;
        let mut names = header.split_whitespace();
        let mut vals = values.split_whitespace();
        let proto = names.next().unwrap_or_default();
        let proto = proto.strip_suffix(':').unwrap_or(proto);
        let vproto = vals.next().unwrap_or_default();
        if vproto.strip_suffix(':').unwrap_or(vproto) != proto {
            return Err(ParseError::new(format!(
                "values line {vproto:?} does not follow header {proto:?}"
            )));
        }
        let names: Vec<&str> = names.collect();
        let vals: Vec<&str> = vals.collect();
        if names.len() != vals.len() {
            return Err(ParseError::new(format!(
                "field count mismatch for {proto}: {} names, {} values",
                names.len(),
                vals.len()
            )));
        }
        let stats = names
            .iter()
            .zip(&vals)
            .map(|(n, v)| Ok(((*n).to_string(), number(v)?)))
            .collect::<Result<Vec<_>, ParseError>>()?;
        // A later section of the same protocol replaces the earlier one, as in node_exporter.
        into.insert(proto.to_string(), stats);
    }
    Ok(())
}

/// Parse `/proc/net/snmp6`: `Ip6InReceives   123` lines; the protocol is the name up to and including its
/// first `6` (`Ip6`, `Icmp6`, `Udp6`, `UdpLite6`), the field is the rest. Lines without a `6` are skipped.
pub fn parse_snmp6(text: &str, into: &mut ProtoStats) -> Result<(), ParseError> {
    let mut fresh: ProtoStats = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(key), Some(value)) = (f.next(), f.next()) else {
            continue;
        };
        let Some(six) = key.find('6') else { continue };
        let (proto, name) = key.split_at(six + 1);
        fresh
            .entry(proto.to_string())
            .or_default()
            .push((name.to_string(), number(value)?));
    }
    into.extend(fresh);
    Ok(())
}

pub struct Netstat {
    roots: Arc<Roots>,
    fields: Regex,
}

impl Netstat {
    fn read(&self) -> Result<ProtoStats, CollectError> {
        let mut stats = ProtoStats::new();
        for file in ["netstat", "snmp"] {
            let path = self.roots.proc_net(file);
            parse_net_stats(&read_to_string(&path)?, &mut stats).map_err(|e| e.at(&path))?;
        }
        // Without IPv6 there is no snmp6: not an error.
        let path = self.roots.proc_net("snmp6");
        match crate::read::read_file(&path) {
            Ok(text) => parse_snmp6(&text, &mut stats).map_err(|e| e.at(&path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CollectError::io(&path, e)),
        }
        Ok(stats)
    }
}

/// The netstat collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of netstat/snmp fields (`Protocol_Field`) to export.
    #[arg(value_name = "REGEX", id = "collector.netstat.fields", long = "collector.netstat.fields", default_value = DEFAULT_FIELDS)]
    pub fields: String,
}

impl NodeCollector for Netstat {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let fields = super::flag_regex("collector.netstat.fields", &cfg.netstat.fields)?;
        Ok(Netstat {
            roots: cfg.roots.clone(),
            fields,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let stats = self.read()?;
        let mut key = String::new();
        for (proto, fields) in &stats {
            for (name, value) in fields {
                key.clear();
                key.push_str(proto);
                key.push('_');
                key.push_str(name);
                if !self.fields.is_match(&key) {
                    continue;
                }
                out.untyped(
                    &format!("node_netstat_{key}"),
                    &format!("Statistic {proto}{name}."),
                    &[],
                    *value,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::collect_fixture;

    #[test]
    fn parses_snmp_fixture() {
        let mut s = ProtoStats::new();
        parse_net_stats(include_str!("../../tests/fixtures/proc/net/snmp"), &mut s).unwrap();
        let ip = &s["Ip"];
        assert_eq!(ip[0], ("Forwarding".to_string(), 1.0));
        assert!(s.contains_key("Tcp"));
        assert!(s.contains_key("UdpLite"));
        // Tcp MaxConn is -1.
        assert!(s["Tcp"].iter().any(|(n, v)| n == "MaxConn" && *v == -1.0));
    }

    #[test]
    fn parses_snmp6_fixture() {
        let mut s = ProtoStats::new();
        parse_snmp6(include_str!("../../tests/fixtures/proc/net/snmp6"), &mut s).unwrap();
        assert!(s["Ip6"].iter().any(|(n, _)| n == "InOctets"));
        assert!(s["Icmp6"].iter().any(|(n, _)| n == "InMsgs"));
        assert!(s.contains_key("UdpLite6"));
        assert!(s["Udp6"].iter().any(|(n, _)| n == "RcvbufErrors"));
    }

    #[test]
    fn rejects_mismatched_and_non_numeric() {
        let mut s = ProtoStats::new();
        assert!(parse_net_stats("Tcp: A B\nTcp: 1\n", &mut s).is_err());
        assert!(parse_net_stats("Tcp: A B\nTcp: 1 x\n", &mut s).is_err());
        assert!(parse_net_stats("Tcp: A B\n", &mut s).is_err());
        assert!(parse_net_stats("Tcp: A\nUdp: 1\n", &mut s).is_err());
        assert!(parse_snmp6("Ip6InReceives x\n", &mut s).is_err());
    }

    #[test]
    fn large_counter_values() {
        let mut s = ProtoStats::new();
        parse_net_stats(
            "IpExt: InOctets OutOctets\nIpExt: 18446744073709551615 0\n",
            &mut s,
        )
        .unwrap();
        assert_eq!(s["IpExt"][0].1, 18446744073709551615.0);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("netstat");
        let mut names: Vec<&str> = out.families().iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        let expected = [
            "node_netstat_Icmp6_InErrors",
            "node_netstat_Icmp6_InMsgs",
            "node_netstat_Icmp6_OutMsgs",
            "node_netstat_Icmp_InErrors",
            "node_netstat_Icmp_InMsgs",
            "node_netstat_Icmp_OutMsgs",
            "node_netstat_Ip6_InOctets",
            "node_netstat_Ip6_OutOctets",
            "node_netstat_IpExt_InOctets",
            "node_netstat_IpExt_OutOctets",
            "node_netstat_Ip_Forwarding",
            "node_netstat_TcpExt_ListenDrops",
            "node_netstat_TcpExt_ListenOverflows",
            "node_netstat_TcpExt_SyncookiesFailed",
            "node_netstat_TcpExt_SyncookiesRecv",
            "node_netstat_TcpExt_SyncookiesSent",
            "node_netstat_TcpExt_TCPOFOQueue",
            "node_netstat_TcpExt_TCPRcvQDrop",
            "node_netstat_TcpExt_TCPSynRetrans",
            "node_netstat_TcpExt_TCPTimeouts",
            "node_netstat_Tcp_ActiveOpens",
            "node_netstat_Tcp_CurrEstab",
            "node_netstat_Tcp_InErrs",
            "node_netstat_Tcp_InSegs",
            "node_netstat_Tcp_OutRsts",
            "node_netstat_Tcp_OutSegs",
            "node_netstat_Tcp_PassiveOpens",
            "node_netstat_Tcp_RetransSegs",
            "node_netstat_Udp6_InDatagrams",
            "node_netstat_Udp6_InErrors",
            "node_netstat_Udp6_NoPorts",
            "node_netstat_Udp6_OutDatagrams",
            "node_netstat_Udp6_RcvbufErrors",
            "node_netstat_Udp6_SndbufErrors",
            "node_netstat_UdpLite6_InErrors",
            "node_netstat_UdpLite_InErrors",
            "node_netstat_Udp_InDatagrams",
            "node_netstat_Udp_InErrors",
            "node_netstat_Udp_NoPorts",
            "node_netstat_Udp_OutDatagrams",
            "node_netstat_Udp_RcvbufErrors",
            "node_netstat_Udp_SndbufErrors",
        ];
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(out.value("node_netstat_Ip_Forwarding", &[]), Some(1.0));
        let f = out.get("node_netstat_Tcp_InSegs").unwrap();
        assert_eq!(f.kind, crate::Kind::Untyped);
        assert_eq!(f.help, "Statistic TcpInSegs.");
    }
}
