//! `buddyinfo` (off by default, as in node_exporter): node_buddyinfo_blocks{node,zone,size}, the free
//! blocks of each order of `/proc/buddyinfo`, as prometheus/procfs' `BuddyInfo` reads them.
//!
//! A missing file is an error, as in node_exporter (`os.Open` fails).

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// One line: `Node 0, zone   Normal   4381   1093 …`.
#[derive(Debug, Clone, PartialEq)]
pub struct BuddyZone {
    pub node: String,
    pub zone: String,
    /// Free blocks of order 0, 1, 2, … (2^order pages each).
    pub sizes: Vec<f64>,
}

/// Parse `/proc/buddyinfo` as procfs does: every line has at least four fields, the node and zone are
/// the second and fourth without a trailing `,`, and every line has as many orders as the first.
pub fn parse_buddyinfo(text: &str) -> Result<Vec<BuddyZone>, ParseError> {
    let mut out: Vec<BuddyZone> = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 4 {
            return Err(ParseError::new(format!(
                "invalid number of fields, found: {parts:?}"
            )));
        }
        let sizes = parts[4..]
            .iter()
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| ParseError::new(format!("invalid value in buddyinfo: {v:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(first) = out.first() {
            if first.sizes.len() != sizes.len() {
                return Err(ParseError::new(format!(
                    "mismatch in number of buddyinfo buckets, previous count {}, new count {}",
                    first.sizes.len(),
                    sizes.len()
                )));
            }
        }
        out.push(BuddyZone {
            node: parts[1].strip_suffix(',').unwrap_or(parts[1]).to_string(),
            zone: parts[3].strip_suffix(',').unwrap_or(parts[3]).to_string(),
            sizes,
        });
    }
    Ok(out)
}

/// The `buddyinfo` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("buddyinfo");
    let zones = parse_buddyinfo(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for z in &zones {
        for (size, v) in z.sizes.iter().enumerate() {
            let size = size.to_string();
            out.gauge(
                "node_buddyinfo_blocks",
                "Count of free blocks according to size.",
                &[("node", &z.node), ("zone", &z.zone), ("size", &size)],
                *v,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/buddyinfo");

    #[test]
    fn parses_fixture() {
        let z = parse_buddyinfo(FIXTURE).unwrap();
        assert_eq!(z.len(), 4);
        assert_eq!((z[0].node.as_str(), z[0].zone.as_str()), ("0", "DMA"));
        assert_eq!((z[3].node.as_str(), z[3].zone.as_str()), ("1", "Normal"));
        assert_eq!(z[2].sizes.len(), 11);
        assert_eq!(z[2].sizes[0], 2113.0);
        assert_eq!(z[0].sizes[10], 3.0);
    }

    #[test]
    fn edge_cases() {
        // No orders at all is four fields: accepted, nothing to export.
        assert_eq!(
            parse_buddyinfo("Node 0, zone DMA\n").unwrap()[0].sizes,
            [0.0; 0]
        );
        assert!(parse_buddyinfo("").unwrap().is_empty());
        assert_rejects(
            parse_buddyinfo,
            &[
                "Node 0, zone\n",
                "Node 0, zone DMA 1 2\nNode 0, zone Normal 1\n",
                "Node 0, zone DMA 1 x\n",
                "Node 0, zone DMA 1\n\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "buddyinfo",
            &[
                (
                    "node_buddyinfo_blocks",
                    &[("node", "0"), ("zone", "Normal"), ("size", "0")],
                    2113.0,
                ),
                (
                    "node_buddyinfo_blocks",
                    &[("node", "1"), ("zone", "Normal"), ("size", "10")],
                    417.0,
                ),
            ],
        );
        let f = out.get("node_buddyinfo_blocks").unwrap();
        assert_eq!(f.samples.len(), 44);
        assert_eq!(f.kind, crate::metrics::Kind::Gauge);
    }

    #[test]
    fn missing_file_is_an_error() {
        let err =
            collect_with("buddyinfo", &fixture_config_with("nonexistent", "sys")).unwrap_err();
        assert!(matches!(err, CollectError::Io { .. }), "{err}");
    }
}
