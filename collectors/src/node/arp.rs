//! `arp`: node_arp_entries{device} from `/proc/net/arp`.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// Count ARP entries per device, in order of first appearance. The table is parsed by procfs-core
/// (`ArpEntries`, which maps one to one onto what node_exporter's `/proc/net/arp` path reads: the device
/// column of every line after the header).
pub fn parse_arp(text: &str) -> Result<Vec<(String, u32)>, ParseError> {
    use procfs_core::FromBufRead;
    let table = procfs_core::net::ArpEntries::from_buf_read(text.as_bytes())
        .map_err(|e| ParseError::new(format!("unexpected ARP table format: {e}")))?;
    let mut out: Vec<(String, u32)> = Vec::new();
    for entry in table.0 {
        match out.iter_mut().find(|(d, _)| *d == entry.device) {
            Some((_, n)) => *n += 1,
            None => out.push((entry.device, 1)),
        }
    }
    Ok(out)
}

/// The `arp` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("arp");
    let entries = parse_arp(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for (dev, n) in &entries {
        out.gauge(
            "node_arp_entries",
            "ARP entries by device",
            &[("device", dev)],
            f64::from(*n),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::assert_fixture;

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
        assert_fixture(
            "arp",
            &[
                ("node_arp_entries", &[("device", "eth0")], 2.0),
                ("node_arp_entries", &[("device", "docker0")], 1.0),
            ],
        );
    }
}
