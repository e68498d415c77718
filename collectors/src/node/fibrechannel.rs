//! `fibrechannel`: node_fibrechannel_* from `/sys/class/fc_host/<host>/` (drivers/scsi/scsi_transport_fc.c),
//! one `fc_host` label per HBA port: node_fibrechannel_info with the port's attributes as labels, and the
//! counters of its `statistics/` directory.
//!
//! As node_exporter (prometheus/procfs `FibreChannelClass`): the kernel prints the counters in hex
//! (`0x1b`); a counter of all ones (`0xffffffffffffffff`) is one the HBA does not implement and is left out;
//! a counter file that does not exist is exported as 0; `0x` is cut from the WWN and port id labels.

use std::path::Path;

use crate::read::{absent_as_none, parse_go_uint, sorted_entry_names, sys_read_file};
use crate::{CollectError, Kind, MetricSet, Roots};

/// Attribute files, in the order of the info labels after `fc_host`; `true` when node_exporter cuts the
/// first two characters (`0x`). `node_name` is read but is no label of node_exporter's.
const ATTRIBUTES: &[(&str, bool)] = &[
    ("speed", false),
    ("port_state", false),
    ("port_type", false),
    ("port_id", true),
    ("port_name", true),
    ("fabric_name", true),
    ("symbolic_name", false),
    ("supported_classes", false),
    ("supported_speeds", false),
    ("dev_loss_tmo", false),
    ("node_name", true),
];
/// How many of [`ATTRIBUTES`] are labels of node_fibrechannel_info.
const INFO_LABELS: usize = 10;

/// `statistics/` file, metric name, help; in node_exporter's output order.
const COUNTERS: &[(&str, &str, &str)] = &[
    (
        "dumped_frames",
        "node_fibrechannel_dumped_frames_total",
        "Number of dumped frames",
    ),
    (
        "error_frames",
        "node_fibrechannel_error_frames_total",
        "Number of errors in frames",
    ),
    (
        "invalid_crc_count",
        "node_fibrechannel_invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
    ),
    (
        "rx_frames",
        "node_fibrechannel_rx_frames_total",
        "Number of frames received",
    ),
    (
        "rx_words",
        "node_fibrechannel_rx_words_total",
        "Number of words received by host port",
    ),
    (
        "tx_frames",
        "node_fibrechannel_tx_frames_total",
        "Number of frames transmitted by host port",
    ),
    (
        "tx_words",
        "node_fibrechannel_tx_words_total",
        "Number of words transmitted by host port",
    ),
    (
        "seconds_since_last_reset",
        "node_fibrechannel_seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
    ),
    (
        "invalid_tx_word_count",
        "node_fibrechannel_invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
    ),
    (
        "link_failure_count",
        "node_fibrechannel_link_failure_total",
        "Number of times the host port link has failed",
    ),
    (
        "loss_of_sync_count",
        "node_fibrechannel_loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
    ),
    (
        "loss_of_signal_count",
        "node_fibrechannel_loss_of_signal_total",
        "Number of times signal has been lost",
    ),
    (
        "nos_count",
        "node_fibrechannel_nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
    ),
    (
        "fcp_packet_aborts",
        "node_fibrechannel_fcp_packet_aborts_total",
        "Number of aborted packets",
    ),
];

/// One FC host port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcHost {
    pub name: String,
    /// Values of [`ATTRIBUTES`], `0x` already cut where node_exporter cuts it.
    pub attributes: Vec<String>,
    /// Values of [`COUNTERS`] (0 for a missing file, as procfs).
    pub counters: [u64; COUNTERS.len()],
}

/// Cut the first two characters of a value longer than two, as procfs does for the hex attributes.
pub fn cut_hex_prefix(v: String) -> String {
    match v.get(2..) {
        Some(rest) if v.len() > 2 => rest.to_string(),
        _ => v,
    }
}

/// Read the host `name` in the class directory `dir`.
pub fn read_host(dir: &Path, name: &str) -> Result<FcHost, CollectError> {
    let hdir = dir.join(name);
    let mut attributes = Vec::with_capacity(ATTRIBUTES.len());
    for (file, cut) in ATTRIBUTES {
        let path = hdir.join(file);
        // Drivers may leave attributes out (node_exporter#2919): prometheus/procfs skips a missing one, so
        // node_exporter exports the host with that label empty. Any other read error fails the scrape.
        let v = match sys_read_file(&path) {
            Ok(v) => v,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(CollectError::Other(format!(
                    "failed to read file {}: {e}",
                    path.display()
                )))
            }
        };
        attributes.push(if *cut { cut_hex_prefix(v) } else { v });
    }
    let sdir = hdir.join("statistics");
    // The directory must exist; a missing one is "no data".
    std::fs::metadata(&sdir).map_err(|e| CollectError::io(&sdir, e))?;
    let mut counters = [0u64; COUNTERS.len()];
    for (slot, (file, ..)) in counters.iter_mut().zip(COUNTERS) {
        let path = sdir.join(file);
        if let Some(v) = absent_as_none(&path, sys_read_file(&path))? {
            *slot = parse_go_uint(&v).map_err(|e| e.at(&path))?;
        }
    }
    Ok(FcHost {
        name: name.to_string(),
        attributes,
        counters,
    })
}

/// Every host port of the class directory `dir`, sorted by name.
pub fn read_class(dir: &Path) -> Result<Vec<FcHost>, CollectError> {
    sorted_entry_names(dir)?
        .iter()
        .map(|n| read_host(dir, n))
        .collect()
}

/// The `fibrechannel` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    for host in read_class(&roots.sys("class/fc_host"))? {
        let mut labels = Vec::with_capacity(INFO_LABELS + 1);
        labels.push(("fc_host".to_string(), host.name.clone()));
        for ((file, _), v) in ATTRIBUTES.iter().zip(&host.attributes).take(INFO_LABELS) {
            labels.push(((*file).to_string(), v.clone()));
        }
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.sample(
            "node_fibrechannel_info",
            "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
            Kind::Gauge,
            labels,
            1.0,
        );
        for ((_, metric, help), &v) in COUNTERS.iter().zip(&host.counters) {
            if v == u64::MAX {
                continue;
            }
            out.sample(
                metric,
                help,
                Kind::Counter,
                vec![("fc_host".to_string(), host.name.clone())],
                v as f64,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_fixture, fixture_root};

    #[test]
    fn hex_prefix() {
        assert_eq!(cut_hex_prefix("0x010a00".into()), "010a00");
        assert_eq!(cut_hex_prefix("0x0".into()), "0");
        assert_eq!(cut_hex_prefix("0x".into()), "0x");
        assert_eq!(cut_hex_prefix("".into()), "");
    }

    #[test]
    fn reads_fixture_hosts() {
        let hosts = read_class(&fixture_root().join("sys/class/fc_host")).unwrap();
        assert_eq!(hosts.len(), 2);
        let h0 = &hosts[0];
        assert_eq!(h0.attributes[3], "010a00");
        assert_eq!(h0.attributes[10], "20000090fa942b1c");
        assert_eq!(h0.counters[0], u64::MAX); // dumped_frames not implemented
        assert_eq!(h0.counters[13], 0x13);
        assert_eq!(h0.counters[4], 0x1d2e0d97c4);
        // host1's driver has no fcp_packet_aborts file.
        assert_eq!(hosts[1].counters[13], 0);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("fibrechannel");
        assert_eq!(
            out.value(
                "node_fibrechannel_info",
                &[
                    ("fc_host", "host1"),
                    ("fabric_name", "0"),
                    ("port_id", "000000"),
                    ("port_state", "Linkdown"),
                    ("speed", "unknown"),
                    ("dev_loss_tmo", "30"),
                ]
            ),
            Some(1.0)
        );
        let info = out.get("node_fibrechannel_info").unwrap();
        assert_eq!(info.samples[0].labels.len(), 11);
        assert!(out.get("node_fibrechannel_dumped_frames_total").is_none());
        assert_eq!(
            out.value("node_fibrechannel_nos_total", &[("fc_host", "host0")]),
            Some(18.0)
        );
        assert_eq!(
            out.get("node_fibrechannel_nos_total")
                .unwrap()
                .samples
                .len(),
            1
        );
        assert_values(
            &out,
            &[
                (
                    "node_fibrechannel_fcp_packet_aborts_total",
                    &[("fc_host", "host1")],
                    0.0,
                ),
                (
                    "node_fibrechannel_seconds_since_last_reset_total",
                    &[("fc_host", "host0")],
                    506_273.0,
                ),
            ],
        );
    }

    #[test]
    fn a_missing_attribute_is_an_empty_label_not_a_failure() {
        // As node_exporter 1.11's own fixture host1 (node_exporter#2919): only `speed` and a counter.
        let dir = std::env::temp_dir().join(format!("hostlens-fc-{}", std::process::id()));
        let host = dir.join("host1");
        std::fs::create_dir_all(host.join("statistics")).unwrap();
        std::fs::write(host.join("speed"), "8 Gbit\n").unwrap();
        std::fs::write(host.join("statistics/nos_count"), "0x120\n").unwrap();
        let hosts = read_class(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(hosts[0].attributes[0], "8 Gbit");
        assert!(hosts[0].attributes[1..].iter().all(String::is_empty));
        assert_eq!(hosts[0].counters[12], 0x120);
    }
}
