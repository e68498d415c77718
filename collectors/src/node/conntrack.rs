//! `conntrack`: node_nf_conntrack_entries, node_nf_conntrack_entries_limit (from
//! `/proc/sys/net/netfilter/nf_conntrack_{count,max}`) and node_nf_conntrack_stat_* (gauges, summed over the
//! per-CPU lines of `/proc/net/stat/nf_conntrack`), as node_exporter 1.12. Without the nf_conntrack module
//! the files are missing: no data.
//!
//! `/proc/sys/net/netfilter` shows the *reader's* network namespace, whatever `--path.procfs` is: an agent in
//! a container reading `/host/proc/sys/net/netfilter/nf_conntrack_count` gets its own namespace's handful of
//! entries, not the host's thousands. With `--path.netns-pid` ([`Roots::other_netns`]) the count is taken
//! from the `entries` column of `/proc/<pid>/net/stat/nf_conntrack` instead: the kernel prints the same
//! per-namespace count there (`nf_conntrack_count(net)` in every CPU line). The limit, `nf_conntrack_max`, is
//! one global value that every namespace reads.

use crate::error::ParseError;
use crate::read::{read_to_string, read_u64};
use crate::{CollectError, MetricSet, Roots};

/// The per-CPU statistics node_exporter exposes, summed over CPUs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConntrackStats {
    /// The `entries` column of the first CPU line: the namespace's number of connections.
    pub entries: u64,
    pub found: u64,
    pub invalid: u64,
    pub ignore: u64,
    pub insert: u64,
    pub insert_failed: u64,
    pub drop: u64,
    pub early_drop: u64,
    pub search_restart: u64,
}

/// Parse `/proc/net/stat/nf_conntrack`: a header, then one line of 17 hex columns per CPU (`entries
/// clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error
/// expect_new expect_create expect_delete search_restart`).
pub fn parse_conntrack_stat(text: &str) -> Result<ConntrackStats, ParseError> {
    let mut sum = ConntrackStats::default();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 17 {
            return Err(ParseError::new(format!(
                "invalid conntrack stat entry, {} fields instead of 17: {line:?}",
                f.len()
            )));
        }
        let hex = |i: usize| {
            u64::from_str_radix(f[i], 16)
                .map_err(|_| ParseError::new(format!("couldn't parse {:?} field", f[i])))
        };
        // entries: the namespace's count, the same in every CPU's line; exposed only where the sysctl cannot
        // be read for the right namespace (see the module doc).
        let entries = hex(0)?;
        if i == 0 {
            sum.entries = entries;
        }
        sum.found = sum.found.wrapping_add(hex(2)?);
        sum.invalid = sum.invalid.wrapping_add(hex(4)?);
        sum.ignore = sum.ignore.wrapping_add(hex(5)?);
        sum.insert = sum.insert.wrapping_add(hex(8)?);
        sum.insert_failed = sum.insert_failed.wrapping_add(hex(9)?);
        sum.drop = sum.drop.wrapping_add(hex(10)?);
        sum.early_drop = sum.early_drop.wrapping_add(hex(11)?);
        sum.search_restart = sum.search_restart.wrapping_add(hex(16)?);
    }
    Ok(sum)
}

fn no_data_if_missing(e: CollectError) -> CollectError {
    e.no_data_because("conntrack probably not loaded")
}

/// The `conntrack` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let read_uint = |rel: &str| read_u64(roots.proc(rel)).map_err(no_data_if_missing);
    let path = roots.proc_net("stat/nf_conntrack");
    let stat = || -> Result<ConntrackStats, CollectError> {
        parse_conntrack_stat(&read_to_string(&path).map_err(no_data_if_missing)?)
            .map_err(|e| e.at(&path))
    };
    let (count, stats) = if roots.other_netns() {
        let s = stat()?;
        (s.entries, Some(s))
    } else {
        (read_uint("sys/net/netfilter/nf_conntrack_count")?, None)
    };
    out.gauge(
        "node_nf_conntrack_entries",
        "Number of currently allocated flow entries for connection tracking.",
        &[],
        count as f64,
    );
    let max = read_uint("sys/net/netfilter/nf_conntrack_max")?;
    out.gauge(
        "node_nf_conntrack_entries_limit",
        "Maximum size of connection tracking table.",
        &[],
        max as f64,
    );
    let s = match stats {
        Some(s) => s,
        None => stat()?,
    };
    let stats = [
        ("found", "Number of searched entries which were successful.", s.found),
        ("invalid", "Number of packets seen which can not be tracked.", s.invalid),
        ("ignore", "Number of packets seen which are already connected to a conntrack entry.", s.ignore),
        ("insert", "Number of entries inserted into the list.", s.insert),
        ("insert_failed", "Number of entries for which list insertion was attempted but failed.", s.insert_failed),
        ("drop", "Number of packets dropped due to conntrack failure.", s.drop),
        ("early_drop", "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.", s.early_drop),
        ("search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes.", s.search_restart),
    ];
    for (key, help, v) in stats {
        out.gauge(
            &format!("node_nf_conntrack_stat_{key}"),
            help,
            &[],
            v as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config};
    use crate::read::parse_u64;
    use std::sync::Arc;

    #[test]
    fn parses_fixture_and_sums_cpus() {
        let s = parse_conntrack_stat(include_str!(
            "../../tests/fixtures/proc/net/stat/nf_conntrack"
        ))
        .unwrap();
        assert_eq!(
            s,
            ConntrackStats {
                entries: 0xc,
                found: 0x100,
                invalid: 0x22,
                ignore: 0x33,
                insert: 0x44,
                insert_failed: 0x55,
                drop: 0x66,
                early_drop: 0x77,
                search_restart: 0x88,
            }
        );
    }

    #[test]
    fn rejects_wrong_column_count() {
        // A pre-4.x kernel layout with 16 columns is rejected, as procfs 0.8 does.
        let text = "h\n0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        assert!(parse_conntrack_stat(text).is_err());
        assert!(parse_u64("12x").is_err());
        assert_eq!(parse_u64("262144\n").unwrap(), 262144);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "conntrack",
            &[
                ("node_nf_conntrack_entries", &[], 12.0),
                ("node_nf_conntrack_entries_limit", &[], 262144.0),
                ("node_nf_conntrack_stat_found", &[], 256.0),
                ("node_nf_conntrack_stat_search_restart", &[], 136.0),
            ],
        );
        assert_eq!(
            out.get("node_nf_conntrack_stat_drop").unwrap().kind,
            crate::Kind::Gauge
        );
    }

    #[test]
    fn another_namespace_counts_from_its_stat_file() {
        // --path.netns-pid: /proc/sys/net shows the agent's own namespace; the count comes from
        // /proc/<pid>/net/stat/nf_conntrack's `entries` column (0x11 in proc/4242/net; the sysctl says 12).
        let mut cfg = fixture_config();
        let f = crate::node::testutil::fixture_root();
        cfg.roots = Arc::new(Roots::new(
            f.join("proc"),
            f.join("sys"),
            f.join("root"),
            Some(4242),
        ));
        assert!(cfg.roots.other_netns());
        let out = collect_with("conntrack", &cfg).unwrap();
        assert_eq!(out.value("node_nf_conntrack_entries", &[]), Some(17.0));
        assert_eq!(
            out.value("node_nf_conntrack_entries_limit", &[]),
            Some(262144.0)
        );
        assert_eq!(out.value("node_nf_conntrack_stat_found", &[]), Some(256.0));
    }

    #[test]
    fn module_not_loaded_is_no_data() {
        let mut cfg = fixture_config();
        cfg.roots = Arc::new(Roots::new("/nonexistent", "/nonexistent", "/", None));
        let err = collect_with("conntrack", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)), "{err}");
    }
}
