//! `sockstat`: node_sockstat_* gauges from `/proc/net/sockstat` and `/proc/net/sockstat6`.
//!
//! Names are `node_sockstat_<PROTO>_<key>` for the keys `inuse`, `orphan`, `tw`, `alloc`, `mem`, `memory`
//! that the line carries (`inuse` always), plus `<PROTO>_mem_bytes` = `mem` × page size, and
//! `node_sockstat_sockets_used` from the IPv4 file's `sockets: used N` line, as node_exporter 1.5 does.

use std::sync::Arc;

use crate::error::ParseError;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// One protocol line (`TCP: inuse 2 orphan 0 tw 0 alloc 2 mem 168`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SockstatProto {
    pub protocol: String,
    pub inuse: i64,
    pub orphan: Option<i64>,
    pub tw: Option<i64>,
    pub alloc: Option<i64>,
    pub mem: Option<i64>,
    pub memory: Option<i64>,
}

/// A parsed sockstat file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sockstat {
    /// `sockets: used N` (IPv4 file only).
    pub used: Option<i64>,
    pub protocols: Vec<SockstatProto>,
}

/// Parse a sockstat file: `PROTO: key value [key value …]` per line.
pub fn parse_sockstat(text: &str) -> Result<Sockstat, ParseError> {
    let mut stat = Sockstat::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(ParseError::new(format!(
                "malformed sockstat line: {line:?}"
            )));
        }
        let kvs = &fields[1..];
        if !kvs.len().is_multiple_of(2) {
            return Err(ParseError::new(format!(
                "odd number of fields in key/value pairs: {line:?}"
            )));
        }
        let proto = fields[0].strip_suffix(':').unwrap_or(fields[0]);
        let mut p = SockstatProto {
            protocol: proto.to_string(),
            ..SockstatProto::default()
        };
        let mut used = 0;
        for kv in kvs.chunks_exact(2) {
            let v: i64 = kv[1].parse().map_err(|_| {
                ParseError::new(format!("{proto} {}: not a number: {:?}", kv[0], kv[1]))
            })?;
            match kv[0] {
                "used" => used = v,
                "inuse" => p.inuse = v,
                "orphan" => p.orphan = Some(v),
                "tw" => p.tw = Some(v),
                "alloc" => p.alloc = Some(v),
                "mem" => p.mem = Some(v),
                "memory" => p.memory = Some(v),
                _ => {}
            }
        }
        if proto == "sockets" {
            stat.used = Some(used);
        } else {
            stat.protocols.push(p);
        }
    }
    Ok(stat)
}

/// Write the metrics of one file; `ipv6` suppresses `sockets_used`, as node_exporter does.
pub fn write_sockstat(out: &mut MetricSet, s: &Sockstat, ipv6: bool, page_size: i64) {
    if let (false, Some(used)) = (ipv6, s.used) {
        out.gauge(
            "node_sockstat_sockets_used",
            "Number of IPv4 sockets in use.",
            &[],
            used as f64,
        );
    }
    for p in &s.protocols {
        let pairs = [
            ("inuse", Some(p.inuse)),
            ("orphan", p.orphan),
            ("tw", p.tw),
            ("alloc", p.alloc),
            ("mem", p.mem),
            ("memory", p.memory),
            ("mem_bytes", p.mem.map(|m| m.wrapping_mul(page_size))),
        ];
        for (key, v) in pairs {
            if let Some(v) = v {
                out.gauge(
                    &format!("node_sockstat_{}_{key}", p.protocol),
                    &format!("Number of {} sockets in state {key}.", p.protocol),
                    &[],
                    v as f64,
                );
            }
        }
    }
}

pub struct SockstatCollector {
    roots: Arc<Roots>,
    page_size: i64,
}

impl NodeCollector for SockstatCollector {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let page_size = rustix::param::page_size() as i64;
        Ok(SockstatCollector {
            roots: cfg.roots.clone(),
            page_size,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        // A kernel without IPv4 or IPv6 lacks the file: skip it, as node_exporter does.
        for (file, ipv6) in [("sockstat", false), ("sockstat6", true)] {
            let path = self.roots.proc_net(file);
            let text = match crate::read::read_file(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(&path, e)),
            };
            let s = parse_sockstat(&text).map_err(|e| e.at(&path))?;
            write_sockstat(out, &s, ipv6, self.page_size);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, assert_values, collect_fixture};

    #[test]
    fn parses_fixtures() {
        let s = parse_sockstat(include_str!("../../tests/fixtures/proc/net/sockstat")).unwrap();
        assert_eq!(s.used, Some(34));
        assert_eq!(
            s.protocols[0],
            SockstatProto {
                protocol: "TCP".into(),
                inuse: 2,
                orphan: Some(1),
                tw: Some(3),
                alloc: Some(4),
                mem: Some(168),
                memory: None,
            }
        );
        assert_eq!(s.protocols[4].protocol, "FRAG");
        assert_eq!(s.protocols[4].memory, Some(0));
        let s6 = parse_sockstat(include_str!("../../tests/fixtures/proc/net/sockstat6")).unwrap();
        assert_eq!(s6.used, None);
        assert_eq!(s6.protocols.len(), 5);
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_sockstat,
            &["TCP: inuse\n", "TCP: inuse 1 mem\n", "TCP: inuse x\n"],
        );
    }

    #[test]
    fn mem_bytes_uses_page_size() {
        let s = parse_sockstat("UDP: inuse 1 mem 3\n").unwrap();
        let mut out = MetricSet::new();
        write_sockstat(&mut out, &s, false, 16384);
        assert_values(
            &out,
            &[
                ("node_sockstat_UDP_mem_bytes", &[], 49152.0),
                ("node_sockstat_UDP_mem", &[], 3.0),
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("sockstat");
        let mut names: Vec<&str> = out.families().iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "node_sockstat_FRAG6_inuse",
                "node_sockstat_FRAG6_memory",
                "node_sockstat_FRAG_inuse",
                "node_sockstat_FRAG_memory",
                "node_sockstat_RAW6_inuse",
                "node_sockstat_RAW_inuse",
                "node_sockstat_TCP6_inuse",
                "node_sockstat_TCP_alloc",
                "node_sockstat_TCP_inuse",
                "node_sockstat_TCP_mem",
                "node_sockstat_TCP_mem_bytes",
                "node_sockstat_TCP_orphan",
                "node_sockstat_TCP_tw",
                "node_sockstat_UDP6_inuse",
                "node_sockstat_UDPLITE6_inuse",
                "node_sockstat_UDPLITE_inuse",
                "node_sockstat_UDP_inuse",
                "node_sockstat_UDP_mem",
                "node_sockstat_UDP_mem_bytes",
                "node_sockstat_sockets_used",
            ]
        );
        assert_values(
            &out,
            &[
                ("node_sockstat_sockets_used", &[], 34.0),
                ("node_sockstat_TCP_tw", &[], 3.0),
            ],
        );
        let page = rustix::param::page_size() as f64;
        assert_eq!(
            out.value("node_sockstat_TCP_mem_bytes", &[]),
            Some(168.0 * page)
        );
        assert_eq!(
            out.get("node_sockstat_TCP_inuse").unwrap().help,
            "Number of TCP sockets in state inuse."
        );
    }
}
