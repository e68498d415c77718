//! `meminfo`: node_memory_* gauges from `/proc/meminfo`, as node_exporter 1.12.1 exports them.
//!
//! Since 1.9 node_exporter reads the file with prometheus/procfs' `Meminfo` and exports a fixed list of
//! its fields ([`FIELDS`]): a line procfs or node_exporter does not know (`KReclaimable`, `Hugetlb`,
//! `SecPageTables`, `FileHugePages`, `Unaccepted`, …) is not exported, though every line is still parsed
//! and checked. `Zswap`/`Zswapped` are exported since 1.10.1. A field with a unit (always `kB`) is in bytes
//! with `_bytes` in its name (`node_memory_Active_anon_bytes`); the four `HugePages_*` counts are not.

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::{parse_go_uint, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// The exported fields: the `/proc/meminfo` key (with its `:`), the metric name after `node_memory_`, and
/// whether the value is taken in bytes (`kB` × 1024) or as written (the `HugePages_*` counts).
pub const FIELDS: &[(&str, &str, bool)] = &[
    ("MemTotal:", "MemTotal_bytes", true),
    ("MemFree:", "MemFree_bytes", true),
    ("MemAvailable:", "MemAvailable_bytes", true),
    ("Buffers:", "Buffers_bytes", true),
    ("Cached:", "Cached_bytes", true),
    ("SwapCached:", "SwapCached_bytes", true),
    ("Active:", "Active_bytes", true),
    ("Inactive:", "Inactive_bytes", true),
    ("Active(anon):", "Active_anon_bytes", true),
    ("Inactive(anon):", "Inactive_anon_bytes", true),
    ("Active(file):", "Active_file_bytes", true),
    ("Inactive(file):", "Inactive_file_bytes", true),
    ("Unevictable:", "Unevictable_bytes", true),
    ("Mlocked:", "Mlocked_bytes", true),
    ("SwapTotal:", "SwapTotal_bytes", true),
    ("SwapFree:", "SwapFree_bytes", true),
    // node_exporter 1.10.1 (Zswap) and 1.10.2 (Zswapped).
    ("Zswap:", "Zswap_bytes", true),
    ("Zswapped:", "Zswapped_bytes", true),
    ("Dirty:", "Dirty_bytes", true),
    ("Writeback:", "Writeback_bytes", true),
    ("AnonPages:", "AnonPages_bytes", true),
    ("Mapped:", "Mapped_bytes", true),
    ("Shmem:", "Shmem_bytes", true),
    ("Slab:", "Slab_bytes", true),
    ("SReclaimable:", "SReclaimable_bytes", true),
    ("SUnreclaim:", "SUnreclaim_bytes", true),
    ("KernelStack:", "KernelStack_bytes", true),
    ("PageTables:", "PageTables_bytes", true),
    ("NFS_Unstable:", "NFS_Unstable_bytes", true),
    ("Bounce:", "Bounce_bytes", true),
    ("WritebackTmp:", "WritebackTmp_bytes", true),
    ("CommitLimit:", "CommitLimit_bytes", true),
    ("Committed_AS:", "Committed_AS_bytes", true),
    ("VmallocTotal:", "VmallocTotal_bytes", true),
    ("VmallocUsed:", "VmallocUsed_bytes", true),
    ("VmallocChunk:", "VmallocChunk_bytes", true),
    ("Percpu:", "Percpu_bytes", true),
    ("HardwareCorrupted:", "HardwareCorrupted_bytes", true),
    ("AnonHugePages:", "AnonHugePages_bytes", true),
    ("ShmemHugePages:", "ShmemHugePages_bytes", true),
    ("ShmemPmdMapped:", "ShmemPmdMapped_bytes", true),
    ("CmaTotal:", "CmaTotal_bytes", true),
    ("CmaFree:", "CmaFree_bytes", true),
    ("HugePages_Total:", "HugePages_Total", false),
    ("HugePages_Free:", "HugePages_Free", false),
    ("HugePages_Rsvd:", "HugePages_Rsvd", false),
    ("HugePages_Surp:", "HugePages_Surp", false),
    ("Hugepagesize:", "Hugepagesize_bytes", true),
    ("DirectMap4k:", "DirectMap4k_bytes", true),
    ("DirectMap2M:", "DirectMap2M_bytes", true),
    ("DirectMap1G:", "DirectMap1G_bytes", true),
];

/// Parse `/proc/meminfo` as procfs' `parseMemInfo` does and return the exported fields, `(metric name
/// after node_memory_, value)` in file order; a key that appears twice keeps its last value.
///
/// Every line is checked, exported or not: a value is Go's `ParseUint(s, 0, 64)`, an optional third field
/// must be `kB` (the value × 1024, wrapping as Go's `uint64` does), more fields are an error. A line with
/// fewer than two fields (an empty line) makes procfs index out of range and node_exporter panic; here
/// it is a parse error.
pub fn parse_meminfo(text: &str) -> Result<Vec<(String, f64)>, ParseError> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (key, raw) = match fields.as_slice() {
            [key, raw, ..] => (*key, *raw),
            _ => return Err(ParseError::new(format!("malformed line {line:?}"))),
        };
        let val = parse_go_uint(raw).map_err(|e| ParseError::new(format!("{key} {e}")))?;
        let bytes = match fields.len() {
            2 => val,
            3 if fields[2] == "kB" => val.wrapping_mul(1024),
            3 => {
                return Err(ParseError::new(format!(
                    "unsupported unit in optional 3rd field {:?}",
                    fields[2]
                )))
            }
            _ => return Err(ParseError::new(format!("malformed line {line:?}"))),
        };
        let Some(&(_, name, in_bytes)) = FIELDS.iter().find(|(k, _, _)| *k == key) else {
            continue;
        };
        let v = if in_bytes { bytes } else { val } as f64;
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => out.push((name.to_string(), v)),
        }
    }
    Ok(out)
}

/// The `meminfo` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("meminfo");
    let fields = parse_meminfo(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for (k, v) in fields {
        out.sample(
            &format!("node_memory_{k}"),
            &format!("Memory information field {k}."),
            // node_exporter types a name ending in `_total` as a counter; none of its list does.
            Kind::Gauge,
            Vec::new(),
            v,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects};

    #[test]
    fn parses_fixture() {
        let m = parse_meminfo(include_str!("../../tests/fixtures/proc/meminfo")).unwrap();
        let get = |k: &str| m.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("MemTotal_bytes"), Some(24683656.0 * 1024.0));
        assert_eq!(get("Active_anon_bytes"), Some(1568.0 * 1024.0));
        assert_eq!(get("HugePages_Total"), Some(0.0));
        assert_eq!(get("VmallocTotal_bytes"), Some(34359738367.0 * 1024.0));
        assert!(get("Zswap_bytes").is_some() && get("Zswapped_bytes").is_some());
        // 54 lines; KReclaimable, SecPageTables, FileHugePages, FilePmdMapped, Balloon and Hugetlb are not
        // in node_exporter's list.
        assert_eq!(m.len(), 48);
        for unknown in ["KReclaimable_bytes", "Hugetlb_bytes", "FileHugePages_bytes"] {
            assert_eq!(get(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn edge_cases() {
        // A duplicate key keeps the last value; an unknown line is checked but not exported; Go's base
        // prefixes; HugePages_* are counts even with a unit; kB × 1024 wraps as a uint64.
        let m = parse_meminfo(
            "MemTotal: 1 kB\nKReclaimable: 0x10 kB\nHugePages_Free: 3 kB\nMemTotal: 2 kB\n\
             Hugepagesize: 0x10\nDirectMap1G: 18014398509481985 kB\n",
        )
        .unwrap();
        assert_eq!(
            m,
            [
                ("MemTotal_bytes".to_string(), 2048.0),
                ("HugePages_Free".to_string(), 3.0),
                ("Hugepagesize_bytes".to_string(), 16.0),
                ("DirectMap1G_bytes".to_string(), 1024.0),
            ]
        );
        assert_rejects(
            parse_meminfo,
            &[
                "MemTotal:\n",
                "MemTotal: x kB\n",
                "MemTotal: 1 kB extra\n",
                "MemTotal: 1 MB\n",
                "MemTotal: -1 kB\n",
                "Unknown: x\n",
                "MemTotal: 1 kB\n\nMemFree: 1 kB\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "meminfo",
            &[
                ("node_memory_Inactive_file_bytes", &[], 850756.0 * 1024.0),
                ("node_memory_HugePages_Rsvd", &[], 0.0),
            ],
        );
        let f = out.get("node_memory_MemFree_bytes").unwrap();
        assert_eq!(f.kind, Kind::Gauge);
        assert_eq!(f.help, "Memory information field MemFree_bytes.");
        assert!(out.get("node_memory_Hugetlb_bytes").is_none());
    }
}
