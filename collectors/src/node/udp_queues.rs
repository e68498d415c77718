//! `udp_queues`: node_udp_queues{ip="v4"|"v6",queue="rx"|"tx"}, the sums of the `tx_queue`/`rx_queue`
//! columns of `/proc/net/udp` and `/proc/net/udp6`.

use crate::error::ParseError;
use crate::{CollectError, MetricSet, Roots};

/// Summed queue lengths of one socket table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UdpSummary {
    pub tx_queue: u64,
    pub rx_queue: u64,
    pub sockets: u64,
}

fn hex_u64(s: &str, what: &str) -> Result<u64, ParseError> {
    u64::from_str_radix(s, 16).map_err(|_| ParseError::new(format!("cannot parse {what}: {s:?}")))
}

fn check_addr(field: &str, what: &str) -> Result<(), ParseError> {
    let (ip, port) = field
        .split_once(':')
        .ok_or_else(|| ParseError::new(format!("cannot parse {what} field {field:?}")))?;
    if !matches!(ip.len(), 8 | 32) || !ip.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParseError::new(format!("cannot parse {what} IP {ip:?}")));
    }
    hex_u64(port, what).map(|_| ())
}

/// Parse `/proc/net/udp{,6}`: a header line, then one socket per line; each line is checked the way
/// procfs checks it (sl, addresses, state, queues, uid, inode) so a garbled file fails instead of adding up
/// garbage.
pub fn parse_udp_summary(text: &str) -> Result<UdpSummary, ParseError> {
    let mut sum = UdpSummary::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            return Err(ParseError::new(format!(
                "socket line has less than 10 columns: {line:?}"
            )));
        }
        let sl = f[0]
            .strip_suffix(':')
            .filter(|s| !s.contains(':'))
            .ok_or_else(|| ParseError::new(format!("cannot parse sl field {:?}", f[0])))?;
        sl.parse::<u64>()
            .map_err(|_| ParseError::new(format!("cannot parse sl value {sl:?}")))?;
        check_addr(f[1], "local_address")?;
        check_addr(f[2], "rem_address")?;
        hex_u64(f[3], "st")?;
        let (tx, rx) = f[4]
            .split_once(':')
            .ok_or_else(|| ParseError::new(format!("cannot parse tx/rx queues {:?}", f[4])))?;
        let tx = hex_u64(tx, "tx_queue")?;
        let rx = hex_u64(rx, "rx_queue")?;
        f[7].parse::<u64>()
            .map_err(|_| ParseError::new(format!("cannot parse uid {:?}", f[7])))?;
        f[9].parse::<u64>()
            .map_err(|_| ParseError::new(format!("cannot parse inode {:?}", f[9])))?;
        sum.tx_queue = sum.tx_queue.wrapping_add(tx);
        sum.rx_queue = sum.rx_queue.wrapping_add(rx);
        sum.sockets += 1;
    }
    Ok(sum)
}

const HELP: &str = "Number of allocated memory in the kernel for UDP datagrams in bytes.";

/// The `udp_queues` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let mut found = false;
    for (file, ip) in [("udp", "v4"), ("udp6", "v6")] {
        let path = roots.proc_net(file);
        let text = match crate::read::read_file(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CollectError::io(&path, e)),
        };
        found = true;
        let s = parse_udp_summary(&text).map_err(|e| e.at(&path))?;
        out.gauge(
            "node_udp_queues",
            HELP,
            &[("ip", ip), ("queue", "tx")],
            s.tx_queue as f64,
        );
        out.gauge(
            "node_udp_queues",
            HELP,
            &[("ip", ip), ("queue", "rx")],
            s.rx_queue as f64,
        );
    }
    if found {
        Ok(())
    } else {
        Err(CollectError::NoData(
            "neither /proc/net/udp nor /proc/net/udp6".to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config};
    use std::sync::Arc;

    #[test]
    fn parses_fixtures() {
        let s = parse_udp_summary(include_str!("../../tests/fixtures/proc/net/udp")).unwrap();
        assert_eq!(
            s,
            UdpSummary {
                tx_queue: 0xa01,
                rx_queue: 0x300,
                sockets: 3
            }
        );
        let s6 = parse_udp_summary(include_str!("../../tests/fixtures/proc/net/udp6")).unwrap();
        assert_eq!(s6.rx_queue, 0x1000);
        assert_eq!(s6.sockets, 1);
    }

    #[test]
    fn header_only_is_zero() {
        let header = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
        assert_eq!(parse_udp_summary(header).unwrap(), UdpSummary::default());
    }

    #[test]
    fn rejects_garbled_lines() {
        let h = "header\n";
        for bad in [
            "  1: 00000000:0044 00000000:0000 07 00000000:00000000 00 00000000:00000000 0 0\n",
            "  1: 0000000:0044 00000000:0000 07 00000000:00000000 00 00000000:00000000 0 0 1 2\n",
            "  1: 00000000:0044 00000000:0000 07 00000000-00000000 00 00000000:00000000 0 0 1 2\n",
            "  1: 00000000:0044 00000000:0000 07 0000000g:00000000 00 00000000:00000000 0 0 1 2\n",
            "  x: 00000000:0044 00000000:0000 07 00000000:00000000 00 00000000:00000000 0 0 1 2\n",
        ] {
            assert!(parse_udp_summary(&format!("{h}{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "udp_queues",
            &[
                ("node_udp_queues", &[("ip", "v4"), ("queue", "tx")], 2561.0),
                ("node_udp_queues", &[("ip", "v6"), ("queue", "rx")], 4096.0),
            ],
        );
        assert_eq!(out.get("node_udp_queues").unwrap().samples.len(), 4);
    }

    #[test]
    fn no_files_is_no_data() {
        let mut cfg = fixture_config();
        cfg.roots = Arc::new(Roots::new("/nonexistent", "/nonexistent", "/", None));
        let err = collect_with("udp_queues", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)));
    }
}
