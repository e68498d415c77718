//! `zoneinfo` (off by default, as in node_exporter): node_zoneinfo_*{node,zone} from `/proc/zoneinfo`, as
//! prometheus/procfs' `Zoneinfo` reads it and node_exporter exports it.
//!
//! The file is cut into blocks at each `\nNode`; in a block, the `<n>, zone <name>` line names the zone
//! and the known `<key> <value>` lines ([`FIELDS`]) are its values, the `per-node stats` of the node's
//! first zone included. A value that is not an integer (Go's `ParseInt(s, 0, 64)`) is not exported, and
//! neither is a key the block lacks. `protection: (a, b, …)` gives node_zoneinfo_protection_<i>. A missing
//! file is an error, as in node_exporter.

use std::sync::LazyLock;

use regex::Regex;

use crate::metrics::Kind;
use crate::read::{parse_go_int, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// The exported fields in procfs' `Zoneinfo` order: key, metric name, help, type.
#[rustfmt::skip]
pub const FIELDS: &[(&str, &str, &str, Kind)] = &[
    ("nr_free_pages", "node_zoneinfo_nr_free_pages", "Total number of free pages in the zone", Kind::Gauge),
    ("min", "node_zoneinfo_min_pages", "Zone watermark pages_min", Kind::Gauge),
    ("low", "node_zoneinfo_low_pages", "Zone watermark pages_low", Kind::Gauge),
    ("high", "node_zoneinfo_high_pages", "Zone watermark pages_high", Kind::Gauge),
    ("scanned", "node_zoneinfo_scanned_pages", "Pages scanned since last reclaim", Kind::Gauge),
    ("spanned", "node_zoneinfo_spanned_pages", "Total pages spanned by the zone, including holes", Kind::Gauge),
    ("present", "node_zoneinfo_present_pages", "Physical pages existing within the zone", Kind::Gauge),
    ("managed", "node_zoneinfo_managed_pages", "Present pages managed by the buddy system", Kind::Gauge),
    ("nr_active_anon", "node_zoneinfo_nr_active_anon_pages", "Number of anonymous pages recently more used", Kind::Gauge),
    ("nr_inactive_anon", "node_zoneinfo_nr_inactive_anon_pages", "Number of anonymous pages recently less used", Kind::Gauge),
    ("nr_isolated_anon", "node_zoneinfo_nr_isolated_anon_pages", "Temporary isolated pages from anon lru", Kind::Gauge),
    ("nr_anon_pages", "node_zoneinfo_nr_anon_pages", "Number of anonymous pages currently used by the system", Kind::Gauge),
    ("nr_anon_transparent_hugepages", "node_zoneinfo_nr_anon_transparent_hugepages", "Number of anonymous transparent huge pages currently used by the system", Kind::Gauge),
    ("nr_active_file", "node_zoneinfo_nr_active_file_pages", "Number of active pages with file-backing", Kind::Gauge),
    ("nr_inactive_file", "node_zoneinfo_nr_inactive_file_pages", "Number of inactive pages with file-backing", Kind::Gauge),
    ("nr_isolated_file", "node_zoneinfo_nr_isolated_file_pages", "Temporary isolated pages from file lru", Kind::Gauge),
    ("nr_file_pages", "node_zoneinfo_nr_file_pages", "Number of file pages", Kind::Gauge),
    ("nr_slab_reclaimable", "node_zoneinfo_nr_slab_reclaimable_pages", "Number of reclaimable slab pages", Kind::Gauge),
    ("nr_slab_unreclaimable", "node_zoneinfo_nr_slab_unreclaimable_pages", "Number of unreclaimable slab pages", Kind::Gauge),
    ("nr_mlock_stack", "node_zoneinfo_nr_mlock_stack_pages", "mlock()ed pages found and moved off LRU", Kind::Gauge),
    ("nr_kernel_stack", "node_zoneinfo_nr_kernel_stacks", "Number of kernel stacks", Kind::Gauge),
    ("nr_mapped", "node_zoneinfo_nr_mapped_pages", "Number of mapped pages", Kind::Gauge),
    ("nr_dirty", "node_zoneinfo_nr_dirty_pages", "Number of dirty pages", Kind::Gauge),
    ("nr_writeback", "node_zoneinfo_nr_writeback_pages", "Number of writeback pages", Kind::Gauge),
    ("nr_unevictable", "node_zoneinfo_nr_unevictable_pages", "Number of unevictable pages", Kind::Gauge),
    ("nr_shmem", "node_zoneinfo_nr_shmem_pages", "Number of shmem pages (included tmpfs/GEM pages)", Kind::Gauge),
    ("nr_dirtied", "node_zoneinfo_nr_dirtied_total", "Page dirtyings since bootup", Kind::Counter),
    ("nr_written", "node_zoneinfo_nr_written_total", "Page writings since bootup", Kind::Counter),
    ("numa_hit", "node_zoneinfo_numa_hit_total", "Allocated in intended node", Kind::Counter),
    ("numa_miss", "node_zoneinfo_numa_miss_total", "Allocated in non intended node", Kind::Counter),
    ("numa_foreign", "node_zoneinfo_numa_foreign_total", "Was intended here, hit elsewhere", Kind::Counter),
    ("numa_interleave", "node_zoneinfo_numa_interleave_total", "Interleaver preferred this zone", Kind::Counter),
    ("numa_local", "node_zoneinfo_numa_local_total", "Allocation from local node", Kind::Counter),
    ("numa_other", "node_zoneinfo_numa_other_total", "Allocation from other node", Kind::Counter),
];

/// One block of `/proc/zoneinfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Zone {
    pub node: String,
    pub zone: String,
    /// The value of each of [`FIELDS`], by index; `None` when absent or not an integer.
    pub values: Vec<Option<i64>>,
    /// The `protection:` array, if the block has one that parses.
    pub protection: Vec<i64>,
}

/// procfs' `(\d+), zone\s+(\w+)`, with Go's ASCII classes.
static NODE_ZONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]+), zone[\t\n\x0c\r ]+([0-9A-Za-z_]+)").expect("a valid regex")
});

/// procfs' reading of a `protection: (0, 2039, 31932)` line: the text after the first `:`, its first `(`
/// and first `)` removed, trimmed, split at `, `; all decimal integers or the line is ignored.
fn parse_protection(line: &str) -> Option<Vec<i64>> {
    let after = line.split(':').nth(1)?;
    let values = after.replacen('(', "", 1).replacen(')', "", 1);
    values
        .trim()
        .split(", ")
        .map(|s| s.parse::<i64>().ok())
        .collect()
}

/// Parse `/proc/zoneinfo` into its blocks (never an error: procfs skips what it does not understand).
pub fn parse_zoneinfo(text: &str) -> Vec<Zone> {
    let mut out = Vec::new();
    for block in text.split("\nNode") {
        let mut z = Zone {
            values: vec![None; FIELDS.len()],
            ..Zone::default()
        };
        for line in block.split('\n') {
            if let Some(c) = NODE_ZONE.captures(line) {
                z.node = c[1].to_string();
                z.zone = c[2].to_string();
                continue;
            }
            let trimmed = line.trim();
            if trimmed.starts_with("per-node stats") {
                continue;
            }
            let parts: Vec<&str> = trimmed.split_whitespace().collect();
            if parts.len() < 2 {
                continue;
            }
            if parts[0] == "protection:" {
                if let Some(p) = parse_protection(line) {
                    z.protection = p;
                }
            } else if let Some(i) = FIELDS.iter().position(|f| f.0 == parts[0]) {
                // A later line of the same key replaces the value, an unparsable one with nothing.
                z.values[i] = parse_go_int(parts[1]).ok();
            }
        }
        out.push(z);
    }
    out
}

/// The `zoneinfo` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("zoneinfo");
    let zones = parse_zoneinfo(&read_to_string(&path)?);
    for z in &zones {
        let labels = [("node", z.node.as_str()), ("zone", z.zone.as_str())];
        let owned = || {
            labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        for ((_, name, help, kind), v) in FIELDS.iter().zip(&z.values) {
            if let Some(v) = v {
                out.sample(name, help, *kind, owned(), *v as f64);
            }
        }
        for (i, v) in z.protection.iter().enumerate() {
            out.gauge(
                &format!("node_zoneinfo_protection_{i}"),
                &format!("Protection array {i}. field"),
                &labels,
                *v as f64,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with};

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/zoneinfo");

    fn value(z: &Zone, key: &str) -> Option<i64> {
        let i = FIELDS.iter().position(|f| f.0 == key).unwrap();
        z.values[i]
    }

    #[test]
    fn parses_fixture() {
        let zones = parse_zoneinfo(FIXTURE);
        let names: Vec<(&str, &str)> = zones
            .iter()
            .map(|z| (z.node.as_str(), z.zone.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("0", "DMA"),
                ("0", "DMA32"),
                ("0", "Normal"),
                ("0", "Movable")
            ]
        );
        let dma = &zones[0];
        // The per-node stats belong to the node's first zone.
        assert_eq!(value(dma, "nr_inactive_anon"), Some(48123));
        assert_eq!(value(dma, "nr_dirtied"), Some(1189097));
        assert_eq!(value(dma, "nr_free_pages"), Some(3840));
        assert_eq!(value(dma, "min"), Some(9));
        assert_eq!(value(dma, "high"), Some(15));
        assert_eq!(dma.protection, [0, 2877, 7826, 7826]);
        // Not in the pagesets' `high:` lines.
        let dma32 = &zones[1];
        assert_eq!(value(dma32, "high"), Some(948));
        assert_eq!(value(dma32, "nr_inactive_anon"), None);
        assert_eq!(value(dma32, "numa_hit"), Some(912345));
        assert_eq!(value(dma32, "nr_kernel_stack"), Some(0));
        // A value that is not an integer is dropped, a bad protection line ignored.
        let normal = &zones[2];
        assert_eq!(value(normal, "numa_miss"), None);
        assert_eq!(value(normal, "spanned"), Some(0x1_0000));
        assert_eq!(normal.protection, [0, 0, 0, 0]);
        let movable = &zones[3];
        assert!(movable.protection.is_empty());
        assert_eq!(value(movable, "present"), Some(0));
    }

    #[test]
    fn edge_cases() {
        assert_eq!(parse_zoneinfo("").len(), 1);
        assert!(parse_zoneinfo("")[0].values.iter().all(Option::is_none));
        let z = parse_zoneinfo(
            "Node 3, zone Normal\n  min 1\n  min x\n  protection: (1, 2)\n  protection: (1,2)\n",
        );
        assert_eq!((z[0].node.as_str(), z[0].zone.as_str()), ("3", "Normal"));
        assert_eq!(value(&z[0], "min"), None);
        assert_eq!(z[0].protection, [1, 2]);
        assert_eq!(parse_protection("protection: (0, 5)"), Some(vec![0, 5]));
        assert_eq!(parse_protection("protection: ()"), None);
    }

    #[test]
    fn collects_from_fixture_root() {
        let dma = [("node", "0"), ("zone", "DMA")];
        let out = assert_fixture(
            "zoneinfo",
            &[
                ("node_zoneinfo_nr_free_pages", &dma, 3840.0),
                ("node_zoneinfo_nr_inactive_anon_pages", &dma, 48123.0),
                ("node_zoneinfo_protection_1", &dma, 2877.0),
                (
                    "node_zoneinfo_numa_hit_total",
                    &[("node", "0"), ("zone", "DMA32")],
                    912345.0,
                ),
            ],
        );
        let f = out.get("node_zoneinfo_nr_written_total").unwrap();
        assert_eq!(
            (f.kind, f.help.as_str()),
            (Kind::Counter, "Page writings since bootup")
        );
        let f = out.get("node_zoneinfo_protection_3").unwrap();
        assert_eq!(
            (f.kind, f.help.as_str()),
            (Kind::Gauge, "Protection array 3. field")
        );
        assert_eq!(f.samples.len(), 3);
        assert!(out
            .value(
                "node_zoneinfo_nr_inactive_anon_pages",
                &[("node", "0"), ("zone", "DMA32")]
            )
            .is_none());
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(collect_with("zoneinfo", &fixture_config_with("nonexistent", "sys")).is_err());
    }
}
