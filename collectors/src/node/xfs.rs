//! `xfs`: node_xfs_* from `/sys/fs/xfs/<device>/stats/stats`, as node_exporter 1.5 (procfs 0.8) reads them.
//!
//! Like node_exporter, a host without XFS filesystems yields no series and no error.

use std::collections::HashMap;

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// Exported counters: (stats line, index in the line, metric name, help).
const METRICS: &[(&str, usize, &str, &str)] = &[
    ("extent_alloc", 0, "node_xfs_extent_allocation_extents_allocated_total", "Number of extents allocated for a filesystem."),
    ("extent_alloc", 1, "node_xfs_extent_allocation_blocks_allocated_total", "Number of blocks allocated for a filesystem."),
    ("extent_alloc", 2, "node_xfs_extent_allocation_extents_freed_total", "Number of extents freed for a filesystem."),
    ("extent_alloc", 3, "node_xfs_extent_allocation_blocks_freed_total", "Number of blocks freed for a filesystem."),
    ("abt", 0, "node_xfs_allocation_btree_lookups_total", "Number of allocation B-tree lookups for a filesystem."),
    ("abt", 1, "node_xfs_allocation_btree_compares_total", "Number of allocation B-tree compares for a filesystem."),
    ("abt", 2, "node_xfs_allocation_btree_records_inserted_total", "Number of allocation B-tree records inserted for a filesystem."),
    ("abt", 3, "node_xfs_allocation_btree_records_deleted_total", "Number of allocation B-tree records deleted for a filesystem."),
    ("blk_map", 0, "node_xfs_block_mapping_reads_total", "Number of block map for read operations for a filesystem."),
    ("blk_map", 1, "node_xfs_block_mapping_writes_total", "Number of block map for write operations for a filesystem."),
    ("blk_map", 2, "node_xfs_block_mapping_unmaps_total", "Number of block unmaps (deletes) for a filesystem."),
    ("blk_map", 3, "node_xfs_block_mapping_extent_list_insertions_total", "Number of extent list insertions for a filesystem."),
    ("blk_map", 4, "node_xfs_block_mapping_extent_list_deletions_total", "Number of extent list deletions for a filesystem."),
    ("blk_map", 5, "node_xfs_block_mapping_extent_list_lookups_total", "Number of extent list lookups for a filesystem."),
    ("blk_map", 6, "node_xfs_block_mapping_extent_list_compares_total", "Number of extent list compares for a filesystem."),
    ("bmbt", 0, "node_xfs_block_map_btree_lookups_total", "Number of block map B-tree lookups for a filesystem."),
    ("bmbt", 1, "node_xfs_block_map_btree_compares_total", "Number of block map B-tree compares for a filesystem."),
    ("bmbt", 2, "node_xfs_block_map_btree_records_inserted_total", "Number of block map B-tree records inserted for a filesystem."),
    ("bmbt", 3, "node_xfs_block_map_btree_records_deleted_total", "Number of block map B-tree records deleted for a filesystem."),
    ("dir", 0, "node_xfs_directory_operation_lookup_total", "Number of file name directory lookups which miss the operating systems directory name lookup cache."),
    ("dir", 1, "node_xfs_directory_operation_create_total", "Number of times a new directory entry was created for a filesystem."),
    ("dir", 2, "node_xfs_directory_operation_remove_total", "Number of times an existing directory entry was created for a filesystem."),
    ("dir", 3, "node_xfs_directory_operation_getdents_total", "Number of times the directory getdents operation was performed for a filesystem."),
    ("ig", 0, "node_xfs_inode_operation_attempts_total", "Number of times the OS looked for an XFS inode in the inode cache."),
    ("ig", 1, "node_xfs_inode_operation_found_total", "Number of times the OS looked for and found an XFS inode in the inode cache."),
    ("ig", 2, "node_xfs_inode_operation_recycled_total", "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled."),
    ("ig", 3, "node_xfs_inode_operation_missed_total", "Number of times the OS looked for an XFS inode in the cache, but did not find it."),
    ("ig", 4, "node_xfs_inode_operation_duplicates_total", "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process."),
    ("ig", 5, "node_xfs_inode_operation_reclaims_total", "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose."),
    ("ig", 6, "node_xfs_inode_operation_attribute_changes_total", "Number of times the OS explicitly changed the attributes of an XFS inode."),
    ("rw", 1, "node_xfs_read_calls_total", "Number of read(2) system calls made to files in a filesystem."),
    ("rw", 0, "node_xfs_write_calls_total", "Number of write(2) system calls made to files in a filesystem."),
    ("vnodes", 0, "node_xfs_vnode_active_total", "Number of vnodes not on free lists for a filesystem."),
    ("vnodes", 1, "node_xfs_vnode_allocate_total", "Number of times vn_alloc called for a filesystem."),
    ("vnodes", 2, "node_xfs_vnode_get_total", "Number of times vn_get called for a filesystem."),
    ("vnodes", 3, "node_xfs_vnode_hold_total", "Number of times vn_hold called for a filesystem."),
    ("vnodes", 4, "node_xfs_vnode_release_total", "Number of times vn_rele called for a filesystem."),
    ("vnodes", 5, "node_xfs_vnode_reclaim_total", "Number of times vn_reclaim called for a filesystem."),
    ("vnodes", 6, "node_xfs_vnode_remove_total", "Number of times vn_remove called for a filesystem."),
];

/// Value counts procfs 0.8 insists on for the lines it knows (a line with another count is an error).
fn expected_counts(label: &str) -> Option<&'static [usize]> {
    Some(match label {
        "extent_alloc" | "abt" | "bmbt" | "dir" | "attr" => &[4],
        "blk_map" | "ig" => &[7],
        "trans" | "icluster" => &[3],
        "log" => &[5],
        "rw" => &[2],
        "vnodes" => &[7, 8],
        _ => return None,
    })
}

/// The counters of one XFS stats file, by line label (`xpc` excluded).
pub type XfsStats = HashMap<String, Vec<u32>>;

/// Parse `/sys/fs/xfs/<dev>/stats/stats`. Values are 32-bit counters (the `xpc` line is 64-bit and not
/// exported).
pub fn parse_xfs_stats(text: &str) -> Result<XfsStats, ParseError> {
    let mut out = XfsStats::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(label) = f.next() else { continue };
        let values: Vec<&str> = f.collect();
        if values.is_empty() {
            continue;
        }
        if label == "xpc" {
            for v in &values {
                v.parse::<u64>()
                    .map_err(|_| ParseError::new(format!("xpc: not a number: {v:?}")))?;
            }
            continue;
        }
        let nums = values
            .iter()
            .map(|v| v.parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ParseError::new(format!("{label}: not 32-bit counters: {line:?}")))?;
        if let Some(counts) = expected_counts(label) {
            if !counts.contains(&nums.len()) {
                return Err(ParseError::new(format!(
                    "incorrect number of values for XFS {label} stats: {}",
                    nums.len()
                )));
            }
        }
        out.insert(label.to_string(), nums);
    }
    Ok(out)
}

/// The `xfs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("fs/xfs");
    // No XFS module: nothing, and no error, as node_exporter's glob finds nothing.
    let devices = crate::read::glob(&dir, |_| true)?;
    for dev in devices {
        let path = dir.join(&dev).join("stats/stats");
        if !path.is_file() {
            continue;
        }
        let stats = parse_xfs_stats(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for (line, idx, name, help) in METRICS {
            // A line the file lacks reads as zero, as procfs' zero-valued structs do.
            let v = stats
                .get(*line)
                .and_then(|v| v.get(*idx))
                .copied()
                .unwrap_or(0);
            out.sample(
                name,
                help,
                Kind::Counter,
                vec![("device".to_string(), dev.clone())],
                f64::from(v),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, collect_fixture};

    const FIXTURE: &str = include_str!("../../tests/fixtures/sys/fs/xfs/sda1/stats/stats");

    #[test]
    fn parses_fixture() {
        let s = parse_xfs_stats(FIXTURE).unwrap();
        assert_eq!(s["extent_alloc"], [92447, 97589, 92448, 93751]);
        assert_eq!(s["vnodes"].len(), 8);
        assert!(!s.contains_key("xpc"));
    }

    #[test]
    fn rejects_bad_counts_and_values() {
        assert_rejects(parse_xfs_stats, &["rw 1 2 3\n", "abt 1 2 3 4294967296\n"]);
        assert!(parse_xfs_stats("vnodes 1 2 3 4 5 6 7\n").is_ok());
        assert!(parse_xfs_stats("debug\n").unwrap().is_empty());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("xfs");
        let d = [("device", "sda1")];
        assert_eq!(out.value("node_xfs_read_calls_total", &d), Some(94045.0));
        assert_eq!(out.value("node_xfs_write_calls_total", &d), Some(107739.0));
        assert_eq!(out.value("node_xfs_vnode_remove_total", &d), Some(92444.0));
        assert_eq!(
            out.value("node_xfs_block_mapping_extent_list_lookups_total", &d),
            Some(2140766.0)
        );
        assert_eq!(out.families().len(), 39);
    }
}
