//! `bcache`: node_bcache_* from `/sys/fs/bcache/<uuid>/`, as node_exporter 1.5 (procfs 0.8 `bcache.Stats`)
//! reads them. Like node_exporter, a host without bcache yields no series and no error.
//!
//! bcache prints sizes "human readable" (`29.0M`, `1.7G`); [`dehumanize`] undoes that the way procfs
//! does, fractional digits included. node_exporter's `node_bcache_btree_read_average_duration_seconds`
//! is the kernel's `btree_read_average_duration_us` times 1e-9 (procfs names the value nanoseconds); we
//! keep that scale so that values match node_exporter's.

use std::path::Path;
use std::sync::Arc;

use crate::error::ParseError;
use crate::read::read_attr;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// `bcache`'s fractional part: the digits after the dot are tenths of 1024ths (procfs' `parsePseudoFloat`).
fn parse_pseudo_float(s: &str) -> Result<f64, ParseError> {
    let bad = || ParseError::new(format!("not a number: {s:?}"));
    let mut parts = s.split('.');
    let int: f64 = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| bad())?;
    match parts.next() {
        None => Ok(int),
        Some(frac) => Ok(int + frac.parse::<f64>().map_err(|_| bad())? / 10.24),
    }
}

/// A bcache human-readable size (`512`, `2.5M`, `1.7G`) in bytes (or a plain count).
pub fn dehumanize(s: &str) -> Result<u64, ParseError> {
    let Some(last) = s.bytes().last() else {
        return Err(ParseError::new("zero-length value"));
    };
    if last > b'9' {
        let mul: f64 = match last {
            b'k' => 1024.0,
            b'M' => 1024f64.powi(2),
            b'G' => 1024f64.powi(3),
            b'T' => 1024f64.powi(4),
            b'P' => 1024f64.powi(5),
            b'E' => 1024f64.powi(6),
            b'Z' => 1024f64.powi(7),
            b'Y' => 1024f64.powi(8),
            // procfs looks the suffix up in a map: an unknown one multiplies by zero.
            _ => 0.0,
        };
        let mant = parse_pseudo_float(&s[..s.len() - 1])?;
        Ok((mant * mul) as u64)
    } else {
        let v: f64 = s
            .parse()
            .map_err(|_| ParseError::new(format!("not a number: {s:?}")))?;
        Ok(v as u64)
    }
}

/// [`dehumanize`] with an optional leading minus.
pub fn dehumanize_signed(s: &str) -> Result<i64, ParseError> {
    match s.strip_prefix('-') {
        Some(rest) => Ok(-(dehumanize(rest)? as i64)),
        None => Ok(dehumanize(s)? as i64),
    }
}

/// `<bdev>/writeback_rate_debug`, the values node_exporter exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WritebackRateDebug {
    pub rate: u64,
    pub dirty: u64,
    pub target: u64,
    pub proportional: i64,
    pub integral: i64,
    pub change: i64,
}

fn last_field(line: &str) -> &str {
    line.split_whitespace().last().unwrap_or_default()
}

/// Parse `writeback_rate_debug`.
pub fn parse_writeback_rate_debug(text: &str) -> Result<WritebackRateDebug, ParseError> {
    let mut w = WritebackRateDebug::default();
    for line in text.lines() {
        let v = last_field(line);
        if line.starts_with("rate:") {
            w.rate = dehumanize(v.trim_end_matches("/sec"))?;
        } else if line.starts_with("dirty:") {
            w.dirty = dehumanize(v)?;
        } else if line.starts_with("target:") {
            w.target = dehumanize(v)?;
        } else if line.starts_with("proportional:") {
            w.proportional = dehumanize_signed(v)?;
        } else if line.starts_with("integral:") {
            w.integral = dehumanize_signed(v)?;
        } else if line.starts_with("change:") {
            w.change = dehumanize_signed(v.trim_end_matches("/sec"))?;
        } else if line.starts_with("next io:") {
            v.trim_end_matches("ms")
                .parse::<i64>()
                .map_err(|_| ParseError::new(format!("bad next io: {line:?}")))?;
        }
    }
    Ok(w)
}

/// Parse `priority_stats`: `(unused percent, metadata percent)`.
pub fn parse_priority_stats(text: &str) -> Result<(u64, u64), ParseError> {
    let (mut unused, mut metadata) = (0, 0);
    for line in text.lines() {
        let target = if line.starts_with("Unused:") {
            &mut unused
        } else if line.starts_with("Metadata:") {
            &mut metadata
        } else {
            continue;
        };
        let v = last_field(line).trim_end_matches('%');
        *target = v
            .parse()
            .map_err(|_| ParseError::new(format!("bad percentage: {line:?}")))?;
    }
    Ok((unused, metadata))
}

/// A bcache sysfs value; a missing file reads as 0 (as in procfs), a malformed one is an error.
fn value(path: &Path) -> Result<u64, CollectError> {
    match read_attr(path)? {
        None => Ok(0),
        Some(s) => dehumanize(&s).map_err(|e| e.at(path)),
    }
}

/// A file procfs requires (it fails when it is missing).
fn required(path: &Path) -> Result<String, CollectError> {
    crate::read::read_to_string(path)
}

/// The period counters of `stats_total`, in node_exporter's order.
const PERIOD: &[(&str, &str, &str)] = &[
    (
        "bypassed",
        "node_bcache_bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
    ),
    (
        "cache_hits",
        "node_bcache_cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
    ),
    (
        "cache_misses",
        "node_bcache_cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
    ),
    (
        "cache_bypass_hits",
        "node_bcache_cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
    ),
    (
        "cache_bypass_misses",
        "node_bcache_cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
    ),
    (
        "cache_miss_collisions",
        "node_bcache_cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
    ),
    (
        "cache_readaheads",
        "node_bcache_cache_readaheads_total",
        "Count of times readahead occurred.",
    ),
];

/// Set-level gauges: (file under the set, name, help, scale).
const SET_GAUGES: &[(&str, &str, &str, f64)] = &[
    ("average_key_size", "node_bcache_average_key_size_sectors", "Average data per key in the btree (sectors).", 1.0),
    ("btree_cache_size", "node_bcache_btree_cache_size_bytes", "Amount of memory currently used by the btree cache.", 1.0),
    ("cache_available_percent", "node_bcache_cache_available_percent", "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).", 1.0),
    ("congested", "node_bcache_congested", "Congestion.", 1.0),
    ("root_usage_percent", "node_bcache_root_usage_percent", "Percentage of the root btree node in use (tree depth increases if too high).", 1.0),
    ("tree_depth", "node_bcache_tree_depth", "Depth of the btree.", 1.0),
    ("internal/active_journal_entries", "node_bcache_active_journal_entries", "Number of journal entries that are newer than the index.", 1.0),
    ("internal/btree_nodes", "node_bcache_btree_nodes", "Total nodes in the btree.", 1.0),
    ("internal/btree_read_average_duration_us", "node_bcache_btree_read_average_duration_seconds", "Average btree read duration.", 1e-9),
];

/// The `<prefix>[0-9]*` entries of `dir`, sorted; unlike a glob, a missing directory is an error.
fn sorted_entries(dir: &Path, prefix: &str) -> Result<Vec<String>, CollectError> {
    let mut v = crate::read::sorted_entry_names(dir)?;
    v.retain(|n| crate::read::is_numbered(n, prefix));
    Ok(v)
}

pub struct Bcache {
    roots: Arc<Roots>,
    priority_stats: bool,
}

impl Bcache {
    /// One cache set. Everything is read before anything is written, so a bad file leaves no half set.
    fn collect_set(&self, dir: &Path, uuid: &str, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut set = MetricSet::new();
        for (file, name, help, scale) in SET_GAUGES {
            let v = value(&dir.join(file))? as f64 * scale;
            set.gauge(name, help, &[("uuid", uuid)], v);
        }
        set.counter(
            "node_bcache_cache_read_races_total",
            "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
            &[("uuid", uuid)],
            value(&dir.join("internal/cache_read_races"))? as f64,
        );
        // procfs reads the set's own period stats too (and fails on a bad one) but they are not exported.
        for p in ["stats_five_minute", "stats_total"] {
            for (file, _, _) in PERIOD {
                value(&dir.join(p).join(file))?;
            }
        }
        for bdev in sorted_entries(dir, "bdev")? {
            let bd = dir.join(&bdev);
            let labels = [("backing_device", bdev.as_str()), ("uuid", uuid)];
            let dirty = value(&bd.join("dirty_data"))?;
            let wpath = bd.join("writeback_rate_debug");
            let w = parse_writeback_rate_debug(&required(&wpath)?).map_err(|e| e.at(&wpath))?;
            for (name, help, v) in [
                (
                    "node_bcache_dirty_data_bytes",
                    "Amount of dirty data for this backing device in the cache.",
                    dirty as f64,
                ),
                (
                    "node_bcache_dirty_target_bytes",
                    "Current dirty data target threshold for this backing device in bytes.",
                    w.target as f64,
                ),
                (
                    "node_bcache_writeback_rate",
                    "Current writeback rate for this backing device in bytes.",
                    w.rate as f64,
                ),
                (
                    "node_bcache_writeback_rate_proportional_term",
                    "Current result of proportional controller, part of writeback rate",
                    w.proportional as f64,
                ),
                (
                    "node_bcache_writeback_rate_integral_term",
                    "Current result of integral controller, part of writeback rate",
                    w.integral as f64,
                ),
                (
                    "node_bcache_writeback_change",
                    "Last writeback rate change step for this backing device.",
                    w.change as f64,
                ),
            ] {
                set.gauge(name, help, &labels, v);
            }
            for (file, _, _) in PERIOD {
                value(&bd.join("stats_five_minute").join(file))?;
            }
            for (file, name, help) in PERIOD {
                let v = value(&bd.join("stats_total").join(file))?;
                set.counter(name, help, &labels, v as f64);
            }
        }
        for cache in sorted_entries(dir, "cache")? {
            let cd = dir.join(&cache);
            let labels = [("cache_device", cache.as_str()), ("uuid", uuid)];
            set.gauge(
                "node_bcache_io_errors",
                "Number of errors that have occurred, decayed by io_error_halflife.",
                &labels,
                value(&cd.join("io_errors"))? as f64,
            );
            set.counter(
                "node_bcache_metadata_written_bytes_total",
                "Sum of all non data writes (btree writes and all other metadata).",
                &labels,
                value(&cd.join("metadata_written"))? as f64,
            );
            set.counter(
                "node_bcache_written_bytes_total",
                "Sum of all data that has been written to the cache.",
                &labels,
                value(&cd.join("written"))? as f64,
            );
            if self.priority_stats {
                let ppath = cd.join("priority_stats");
                let (unused, metadata) =
                    parse_priority_stats(&required(&ppath)?).map_err(|e| e.at(&ppath))?;
                set.gauge(
                    "node_bcache_priority_stats_unused_percent",
                    "The percentage of the cache that doesn't contain any data.",
                    &labels,
                    unused as f64,
                );
                set.gauge(
                    "node_bcache_priority_stats_metadata_percent",
                    "Bcache's metadata overhead.",
                    &labels,
                    metadata as f64,
                );
            }
        }
        out.extend(set);
        Ok(())
    }
}

/// The bcache collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Expose expensive bcache priority stats (reads each cache's `priority_stats`, which is expensive
    /// for the kernel to produce).
    #[arg(
        id = "collector.bcache.priorityStats",
        long = "collector.bcache.priorityStats"
    )]
    pub priority_stats: bool,
}

impl NodeCollector for Bcache {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Bcache {
            roots: cfg.roots.clone(),
            priority_stats: cfg.bcache.priority_stats,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = self.roots.sys("fs/bcache");
        // node_exporter globs `*-*`: the cache set UUIDs, not `register` and friends. No bcache module:
        // nothing, and no error, as node_exporter's glob finds nothing.
        let sets = crate::read::glob(&dir, |n| n.contains('-'))?;
        for uuid in &sets {
            self.collect_set(&dir.join(uuid), uuid, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config, fixture_root};

    const SET: &str = "deaddd54-c735-46d5-868e-f331c5fd7c74";

    #[test]
    fn dehumanizes_like_procfs() {
        assert_eq!(dehumanize("542").unwrap(), 542);
        assert_eq!(dehumanize("1.5k").unwrap(), 1524);
        assert_eq!(dehumanize("2.5M").unwrap(), 2_609_152);
        assert_eq!(dehumanize("29.0M").unwrap(), 29 * 1024 * 1024);
        assert_eq!(dehumanize("1.7G").unwrap(), 1_807_745_024);
        assert_eq!(dehumanize("3x").unwrap(), 0);
        assert_eq!(dehumanize_signed("-42.3k").unwrap(), -43_308);
        assert!(dehumanize("").is_err());
        assert!(dehumanize("abcM").is_err());
    }

    #[test]
    fn parses_debug_and_priority_files() {
        let base = fixture_root().join("sys/fs/bcache").join(SET);
        let w = parse_writeback_rate_debug(
            &std::fs::read_to_string(base.join("bdev0/writeback_rate_debug")).unwrap(),
        )
        .unwrap();
        assert_eq!(w.rate, 1_150_976);
        assert_eq!(w.dirty, 29 * 1024 * 1024);
        assert_eq!(w.proportional, -43_308);
        assert_eq!(w.integral, 0);
        assert_eq!(w.change, -43_308);
        assert!(parse_writeback_rate_debug("next io:\tsoon\n").is_err());
        let p = parse_priority_stats(
            &std::fs::read_to_string(base.join("cache0/priority_stats")).unwrap(),
        )
        .unwrap();
        assert_eq!(p, (99, 1));
    }

    #[test]
    fn collects_from_fixture_root() {
        let mut cfg = fixture_config();
        cfg.bcache.priority_stats = true;
        let out = collect_with("bcache", &cfg).unwrap();
        let bd = [("backing_device", "bdev0"), ("uuid", SET)];
        assert_eq!(
            out.value("node_bcache_cache_misses_total", &bd),
            Some(1213.0)
        );
        assert_eq!(
            out.value("node_bcache_dirty_target_bytes", &bd),
            Some(((31.0 + 5.0 / 10.24) * 1024f64.powi(3)) as u64 as f64)
        );
        assert_eq!(
            out.value(
                "node_bcache_btree_read_average_duration_seconds",
                &[("uuid", SET)]
            ),
            Some(1305.0 * 1e-9)
        );
        let cd = [("cache_device", "cache0"), ("uuid", SET)];
        assert_eq!(
            out.value("node_bcache_priority_stats_unused_percent", &cd),
            Some(99.0)
        );
        assert_eq!(
            out.value("node_bcache_metadata_written_bytes_total", &cd),
            Some(512.0)
        );

        // Without the flag, no priority stats.
        let out = collect_fixture("bcache");
        assert!(out
            .get("node_bcache_priority_stats_unused_percent")
            .is_none());
        assert_eq!(out.get("node_bcache_tree_depth").unwrap().samples.len(), 1);
    }
}
