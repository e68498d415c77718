//! `tcpstat`: node_tcp_connection_states{state}, the TCP sockets per state and their queued bytes, from
//! sock_diag (`NETLINK_SOCK_DIAG`, `SOCK_DIAG_BY_FAMILY` dumps of `IPPROTO_TCP` in every state) as
//! node_exporter's collector/tcpstat_linux.go reads them: IPv4 always, IPv6 when `<procfs>/net/tcp6`
//! exists, the counts added up per state, `rx_queued_bytes` / `tx_queued_bytes` the sums of every
//! socket's receive / send queue.
//!
//! Upstream also asks for the `INET_DIAG_INFO` extension (struct tcp_info per socket) and never reads it;
//! we do not ask for it: the sockets listed and the counts are the same.

use std::collections::BTreeMap;
use std::sync::Arc;

use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP};

use crate::read::netlink;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// node_exporter's `tcpConnectionState` names: the kernel's TCP states 1..=11, then the two queue sums.
const STATES: [&str; 13] = [
    "established",
    "syn_sent",
    "syn_recv",
    "fin_wait1",
    "fin_wait2",
    "time_wait",
    "close",
    "close_wait",
    "last_ack",
    "listen",
    "closing",
    "rx_queued_bytes",
    "tx_queued_bytes",
];

/// The label of a `tcpConnectionState` value (what Go's `String()` returns).
pub fn state_name(state: u8) -> &'static str {
    usize::from(state)
        .checked_sub(1)
        .and_then(|i| STATES.get(i))
        .copied()
        .unwrap_or("unknown")
}

/// The per-state totals of one or more dumps.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TcpStats(pub BTreeMap<&'static str, f64>);

impl TcpStats {
    /// Add the sockets of one dump, as upstream's `parseTCPStats` (every message is a socket).
    pub fn add(&mut self, msgs: &[SockDiagMessage]) {
        for m in msgs {
            let SockDiagMessage::InetResponse(r) = m else {
                continue;
            };
            let h = &r.header;
            *self.0.entry("tx_queued_bytes").or_default() += f64::from(h.send_queue);
            *self.0.entry("rx_queued_bytes").or_default() += f64::from(h.recv_queue);
            *self.0.entry(state_name(h.state)).or_default() += 1.0;
        }
    }
}

/// Every TCP socket of `family` (`AF_INET` or `AF_INET6`), over sock_diag.
fn dump(family: u8) -> std::io::Result<Vec<SockDiagMessage>> {
    // TCPF_ALL as upstream: 0xFFF.
    let request = SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::from_bits_retain(0xFFF),
        socket_id: if family == AF_INET6 {
            SocketId::new_v6()
        } else {
            SocketId::new_v4()
        },
    });
    netlink::dump(netlink::NETLINK_SOCK_DIAG, request)
}

pub struct TcpStat {
    roots: Arc<Roots>,
}

impl NodeCollector for TcpStat {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(TcpStat {
            roots: cfg.roots.clone(),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        crate::read::netlink::same_namespace(&self.roots, "tcpstat")?;
        let mut stats = TcpStats::default();
        let v4 = dump(AF_INET)
            .map_err(|e| CollectError::Other(format!("couldn't get tcpstats: {e}")))?;
        stats.add(&v4);
        // "if enabled ipv6 system": upstream stats <procfs>/net/tcp6.
        if self.roots.proc("net/tcp6").exists() {
            let v6 = dump(AF_INET6)
                .map_err(|e| CollectError::Other(format!("couldn't get tcp6stats: {e}")))?;
            stats.add(&v6);
        }
        for (state, v) in &stats.0 {
            out.gauge(
                "node_tcp_connection_states",
                "Number of connection states.",
                &[("state", state)],
                *v,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One inet_diag_msg reply (AF_INET) with state, rqueue, wqueue.
    fn diag(state: u8, rq: u32, wq: u32) -> Vec<u8> {
        let mut p = vec![0u8; 72];
        p[0] = AF_INET;
        p[1] = state;
        p[56..60].copy_from_slice(&rq.to_ne_bytes());
        p[60..64].copy_from_slice(&wq.to_ne_bytes());
        let mut m = Vec::new();
        m.extend(((16 + p.len()) as u32).to_ne_bytes());
        m.extend(20u16.to_ne_bytes()); // SOCK_DIAG_BY_FAMILY
        m.extend(2u16.to_ne_bytes());
        m.extend([0u8; 8]);
        m.extend(p);
        m
    }

    #[test]
    fn counts_states_and_sums_queues() {
        let mut bytes = diag(1, 0, 10);
        bytes.extend(diag(1, 5, 0));
        bytes.extend(diag(10, 3, 0));
        bytes.extend(diag(6, 0, 0));
        let msgs = netlink::parse_replies::<SockDiagMessage>(&bytes)
            .unwrap()
            .messages;
        let mut s = TcpStats::default();
        s.add(&msgs);
        s.add(&msgs[..1]);
        let get = |k: &str| s.0.get(k).copied();
        assert_eq!(get("established"), Some(3.0));
        assert_eq!(get("listen"), Some(1.0));
        assert_eq!(get("time_wait"), Some(1.0));
        assert_eq!(get("rx_queued_bytes"), Some(8.0));
        assert_eq!(get("tx_queued_bytes"), Some(20.0));
        assert_eq!(get("close"), None);
        assert_eq!(s.0.len(), 5);
    }

    #[test]
    fn state_names_are_upstreams() {
        assert_eq!(state_name(1), "established");
        assert_eq!(state_name(11), "closing");
        assert_eq!(state_name(0), "unknown");
        assert_eq!(state_name(14), "unknown");
    }

    #[test]
    fn no_sockets_no_samples() {
        let s = TcpStats::default();
        assert!(s.0.is_empty());
    }
}

#[cfg(test)]
mod capture_tests {
    use super::*;
    use crate::read::netlink::capture;

    #[test]
    fn captured_dump() {
        let msgs = capture::read::<SockDiagMessage>("tcp4");
        let mut s = TcpStats::default();
        s.add(&msgs);
        assert_eq!(msgs.len(), 15);
        let want = [
            ("listen", 3.0),
            ("rx_queued_bytes", 0.0),
            ("time_wait", 12.0),
            ("tx_queued_bytes", 8320.0),
        ];
        assert_eq!(s.0, want.into_iter().collect());
    }
}
