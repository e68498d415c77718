//! `drbd`: node_drbd_* from `/proc/drbd` (DRBD 8's status file), as node_exporter 1.12.1 reads it.
//!
//! The file is read as node_exporter reads it: word by word, each `key:value` word on its own. A word
//! `<n>:` starts device `drbd<n>`; `cs:`, `ro:`, `ds:` and the numeric keys (`ns:`, `nr:`, … some of them
//! KiB, exported in bytes) give that device's samples; every other word is skipped.
//!
//! No `/proc/drbd` (the module is not loaded): [`CollectError::NoData`], as node_exporter's `ErrNoData`.

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::read_file;
use crate::{CollectError, MetricSet, Roots};

/// The numeric keys: (key, metric name, help, type, multiplier).
const NUMERIC: &[(&str, &str, &str, Kind, f64)] = &[
    ("ns", "node_drbd_network_sent_bytes_total", "Total number of bytes sent via the network.", Kind::Counter, 1024.0),
    ("nr", "node_drbd_network_received_bytes_total", "Total number of bytes received via the network.", Kind::Counter, 1.0),
    ("dw", "node_drbd_disk_written_bytes_total", "Net data written on local hard disk; in bytes.", Kind::Counter, 1024.0),
    ("dr", "node_drbd_disk_read_bytes_total", "Net data read from local hard disk; in bytes.", Kind::Counter, 1024.0),
    ("al", "node_drbd_activitylog_writes_total", "Number of updates of the activity log area of the meta data.", Kind::Counter, 1.0),
    ("bm", "node_drbd_bitmap_writes_total", "Number of updates of the bitmap area of the meta data.", Kind::Counter, 1.0),
    ("lo", "node_drbd_local_pending", "Number of open requests to the local I/O sub-system.", Kind::Gauge, 1.0),
    ("pe", "node_drbd_remote_pending", "Number of requests sent to the peer, but that have not yet been answered by the latter.", Kind::Gauge, 1.0),
    ("ua", "node_drbd_remote_unacknowledged", "Number of requests received by the peer via the network connection, but that have not yet been answered.", Kind::Gauge, 1.0),
    ("ap", "node_drbd_application_pending", "Number of block I/O requests forwarded to DRBD, but not yet answered by DRBD.", Kind::Gauge, 1.0),
    ("ep", "node_drbd_epochs", "Number of Epochs currently on the fly.", Kind::Gauge, 1.0),
    ("oos", "node_drbd_out_of_sync_bytes", "Amount of data known to be out of sync; in bytes.", Kind::Gauge, 1024.0),
];

/// The `local/remote` pair keys: (key, metric name, help, the value that reads as 1).
const PAIRS: &[(&str, &str, &str, &str)] = &[
    (
        "ro",
        "node_drbd_node_role_is_primary",
        "Whether the role of the node is in the primary state.",
        "Primary",
    ),
    (
        "ds",
        "node_drbd_disk_state_is_up_to_date",
        "Whether the disk of the node is up to date.",
        "UpToDate",
    ),
];

fn device(name: &str) -> Vec<(String, String)> {
    vec![("device".to_string(), name.to_string())]
}

fn node(name: &str, which: &str) -> Vec<(String, String)> {
    vec![
        ("device".to_string(), name.to_string()),
        ("node".to_string(), which.to_string()),
    ]
}

/// Parse `/proc/drbd` into `out`. Samples before a device line belong to device `unknown`, as in
/// node_exporter.
pub fn parse_drbd(text: &str, out: &mut MetricSet) -> Result<(), ParseError> {
    let mut dev = "unknown".to_string();
    for word in text.split_whitespace() {
        let mut kv = word.split(':');
        let (Some(key), Some(value), None) = (kv.next(), kv.next(), kv.next()) else {
            continue;
        };
        // Go's strconv.ParseUint(key, 10, 64): digits only.
        if value.is_empty() && !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = key.parse::<u64>() {
                dev = format!("drbd{id}");
                continue;
            }
        }
        if let Some((_, name, help, kind, mul)) = NUMERIC.iter().find(|m| m.0 == key) {
            let v: f64 = value
                .parse()
                .map_err(|_| ParseError::new(format!("{key}: not a number: {value:?}")))?;
            out.sample(name, help, *kind, device(&dev), v * mul);
            continue;
        }
        if let Some((_, name, help, ok)) = PAIRS.iter().find(|m| m.0 == key) {
            let mut halves = value.split('/');
            let local = halves.next().unwrap_or_default();
            // node_exporter indexes the second half unchecked (and panics without one).
            let Some(remote) = halves.next() else {
                return Err(ParseError::new(format!(
                    "{key}: no local/remote pair: {value:?}"
                )));
            };
            let is = |v: &str| if v == *ok { 1.0 } else { 0.0 };
            out.sample(name, help, Kind::Gauge, node(&dev, "local"), is(local));
            out.sample(name, help, Kind::Gauge, node(&dev, "remote"), is(remote));
            continue;
        }
        if key == "cs" {
            let connected = if value == "Connected" { 1.0 } else { 0.0 };
            out.sample(
                "node_drbd_connected",
                "Whether DRBD is connected to the peer.",
                Kind::Gauge,
                device(&dev),
                connected,
            );
        }
    }
    Ok(())
}

/// The `drbd` collector (no state, no flags).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("drbd");
    let text = match read_file(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CollectError::NoData(format!("{} absent", path.display())))
        }
        Err(e) => return Err(CollectError::io(&path, e)),
    };
    parse_drbd(&text, out).map_err(|e| e.at(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config_with};

    #[test]
    fn parses_two_devices() {
        let mut out = MetricSet::new();
        parse_drbd(
            "version: 8.4.11 (api:1/proto:86-101)\n\
             0: cs:Connected ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----\n\
             \x20   ns:2 nr:3 dw:4 dr:5 al:6 bm:7 lo:8 pe:9 ua:10 ap:11 ep:1 wo:f oos:12\n\
             12: cs:StandAlone ro:Secondary/Unknown ds:Diskless/DUnknown\n",
            &mut out,
        )
        .unwrap();
        let d0 = [("device", "drbd0")];
        assert_eq!(
            out.value("node_drbd_network_sent_bytes_total", &d0),
            Some(2048.0)
        );
        assert_eq!(
            out.value("node_drbd_network_received_bytes_total", &d0),
            Some(3.0)
        );
        assert_eq!(out.value("node_drbd_out_of_sync_bytes", &d0), Some(12288.0));
        assert_eq!(out.value("node_drbd_connected", &d0), Some(1.0));
        let p = "node_drbd_node_role_is_primary";
        assert_eq!(
            out.value(p, &[("device", "drbd0"), ("node", "local")]),
            Some(1.0)
        );
        assert_eq!(
            out.value(p, &[("device", "drbd0"), ("node", "remote")]),
            Some(0.0)
        );
        let u = "node_drbd_disk_state_is_up_to_date";
        assert_eq!(
            out.value(u, &[("device", "drbd0"), ("node", "remote")]),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_drbd_connected", &[("device", "drbd12")]),
            Some(0.0)
        );
        assert_eq!(
            out.get("node_drbd_epochs").map(|f| f.kind),
            Some(Kind::Gauge)
        );
        assert_eq!(
            out.get("node_drbd_bitmap_writes_total").map(|f| f.kind),
            Some(Kind::Counter)
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in ["0: ns:many\n", "0: ro:Primary\n"] {
            assert!(parse_drbd(bad, &mut MetricSet::new()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn collects_fixture_and_absent_file() {
        let out = collect_fixture("drbd");
        assert_eq!(
            out.value("node_drbd_disk_read_bytes_total", &[("device", "drbd3")]),
            Some(1024.0 * 100.0)
        );
        let cfg = fixture_config_with("no-such-proc", "sys");
        assert!(matches!(
            collect_with("drbd", &cfg),
            Err(CollectError::NoData(_))
        ));
    }
}
