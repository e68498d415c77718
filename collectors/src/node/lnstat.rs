//! `lnstat`: node_lnstat_<column>_total{subsystem,cpu} from every file in `/proc/net/stat/`, as
//! node_exporter 1.12.1 (prometheus/procfs 0.21.1 `NetStat`) reads them.
//!
//! Each file is a header of column names, then one line of hexadecimal counters per CPU; `subsystem` is
//! the file name, `cpu` the line's index. A column name repeated in the header collects the values of
//! all its columns, as procfs' map does. No `/proc/net/stat` directory (or an empty one) yields no series
//! and no error, as node_exporter's glob finds nothing; a subdirectory there is skipped (procfs reads it
//! as empty). The directory is the one of [`Roots::proc_net`] (`--path.netns-pid` moves it, as it moves every
//! network file; node_exporter has no such flag).

use crate::error::ParseError;
use crate::read::{glob, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// The counters of one `/proc/net/stat` file: each column name, with its values in line order.
pub type NetStat = Vec<(String, Vec<u64>)>;

/// Go's `strconv.ParseUint(s, 16, 64)`: hex digits only, no sign or `0x`.
fn parse_hex(s: &str) -> Result<u64, ParseError> {
    if s.starts_with('+') {
        return Err(ParseError::new(format!("not a hex counter: {s:?}")));
    }
    u64::from_str_radix(s, 16).map_err(|_| ParseError::new(format!("not a hex counter: {s:?}")))
}

/// Parse one `/proc/net/stat/<name>` file.
pub fn parse_net_stat(text: &str) -> Result<NetStat, ParseError> {
    let mut lines = text.lines();
    let headers: Vec<&str> = lines
        .next()
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let mut out: NetStat = Vec::new();
    for line in lines {
        for (num, counter) in line.split_whitespace().enumerate() {
            let value = parse_hex(counter)?;
            // procfs indexes its header with the column number (and panics past its end).
            let header = headers.get(num).ok_or_else(|| {
                ParseError::new(format!("column {} has no header: {line:?}", num + 1))
            })?;
            match out.iter_mut().find(|(h, _)| h == header) {
                Some((_, values)) => values.push(value),
                None => out.push(((*header).to_string(), vec![value])),
            }
        }
    }
    Ok(out)
}

/// Whether `name` is a valid metric name (client_golang panics on an invalid one; we refuse it).
fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The `lnstat` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.proc_net("stat");
    for name in glob(&dir, |_| true)? {
        let path = dir.join(&name);
        if path.is_dir() {
            continue;
        }
        let stats = parse_net_stat(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for (header, values) in &stats {
            let metric = format!("node_lnstat_{header}_total");
            if !valid_metric_name(&metric) {
                return Err(CollectError::parse(
                    &path,
                    format!("{metric:?} is not a valid metric name"),
                ));
            }
            for (cpu, v) in values.iter().enumerate() {
                let cpu = cpu.to_string();
                out.counter(
                    &metric,
                    "linux network cache stats",
                    &[("subsystem", name.as_str()), ("cpu", cpu.as_str())],
                    *v as f64,
                );
            }
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

    #[test]
    fn parses_fixture() {
        let s =
            parse_net_stat(include_str!("../../tests/fixtures/proc/net/stat/arp_cache")).unwrap();
        assert_eq!(s.len(), 13);
        assert_eq!(s[0], ("entries".to_string(), vec![11, 11]));
        assert_eq!(s[4], ("lookups".to_string(), vec![1000, 300]));
    }

    #[test]
    fn repeated_headers_short_lines_and_garbage() {
        let s = parse_net_stat("a b a\n1 2 3\n\n4\n").unwrap();
        assert_eq!(
            s,
            [("a".to_string(), vec![1, 3, 4]), ("b".to_string(), vec![2])]
        );
        assert!(parse_net_stat("").unwrap().is_empty());
        assert!(parse_net_stat("a b\n").unwrap().is_empty());
        assert_rejects(
            parse_net_stat,
            &["a\n1 2\n", "a\nzz\n", "a\n+1\n", "a\n0x1\n"],
        );
        assert_eq!(parse_hex("ffffffffffffffff"), Ok(u64::MAX));
        assert!(parse_hex("10000000000000000").is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "lnstat",
            &[
                (
                    "node_lnstat_lookups_total",
                    &[("subsystem", "arp_cache"), ("cpu", "0")],
                    1000.0,
                ),
                (
                    "node_lnstat_search_restart_total",
                    &[("subsystem", "nf_conntrack"), ("cpu", "1")],
                    128.0,
                ),
                (
                    "node_lnstat_entries_total",
                    &[("subsystem", "nf_conntrack"), ("cpu", "1")],
                    12.0,
                ),
            ],
        );
        let entries = out.get("node_lnstat_entries_total").unwrap();
        assert_eq!(entries.samples.len(), 4);
        assert_eq!(entries.help, "linux network cache stats");
    }

    #[test]
    fn no_stat_directory_is_no_series_and_no_error() {
        let out = collect_with("lnstat", &fixture_config_with("nonexistent", "sys")).unwrap();
        assert!(out.is_empty());
        assert!(!valid_metric_name("node_lnstat_a-b_total"));
    }
}
