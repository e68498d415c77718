//! `swap`: node_swap_{size_bytes,used_bytes,priority}{device,swap_type} from `/proc/swaps`, as node_exporter
//! 1.12.1 (`collector/swap_linux.go`, added in 1.10 by node_exporter#3428, off by default; procfs' `Swaps`).
//!
//! A host without swap has only the header line: no samples, success. As upstream, an unreadable
//! `/proc/swaps` or a line that does not parse is an error.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// One line of `/proc/swaps`: sizes in KiB, as the kernel prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    pub filename: String,
    pub kind: String,
    pub size_kib: i64,
    pub used_kib: i64,
    pub priority: i64,
}

/// Parse `/proc/swaps`: the first line is the header; every other line needs at least five fields
/// (`Filename Type Size Used Priority`), the numbers decimal (Go's `strconv.Atoi`).
pub fn parse_swaps(text: &str) -> Result<Vec<Swap>, ParseError> {
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                return Err(ParseError::new(format!(
                    "too few fields in swap string: {line}"
                )));
            }
            let num = |i: usize, what: &str| {
                f[i].parse::<i64>()
                    .map_err(|e| ParseError::new(format!("invalid swap {what}: {}: {e}", f[i])))
            };
            Ok(Swap {
                filename: f[0].to_string(),
                kind: f[1].to_string(),
                size_kib: num(2, "size")?,
                used_kib: num(3, "used")?,
                priority: num(4, "priority")?,
            })
        })
        .collect()
}

/// The `swap` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("swaps");
    let swaps = parse_swaps(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for s in swaps {
        let labels: &[(&str, &str)] = &[("device", &s.filename), ("swap_type", &s.kind)];
        out.gauge(
            "node_swap_size_bytes",
            "Swap device size in bytes.",
            labels,
            s.size_kib.wrapping_mul(1024) as f64,
        );
        out.gauge(
            "node_swap_used_bytes",
            "Swap device used in bytes.",
            labels,
            s.used_kib.wrapping_mul(1024) as f64,
        );
        out.gauge(
            "node_swap_priority",
            "Swap device priority.",
            labels,
            s.priority as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/swaps");

    #[test]
    fn parses_fixture() {
        let s = parse_swaps(FIXTURE).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            Swap {
                filename: "/dev/nvme0n1p3".into(),
                kind: "partition".into(),
                size_kib: 8388604,
                used_kib: 1024,
                priority: -2,
            }
        );
        assert_eq!(s[1].kind, "file");
        assert_eq!(s[1].priority, 10);
    }

    #[test]
    fn header_only_is_no_swap_and_bad_lines_fail() {
        assert!(parse_swaps("Filename\tType\tSize\tUsed\tPriority\n")
            .unwrap()
            .is_empty());
        assert!(parse_swaps("").unwrap().is_empty());
        assert_rejects(
            parse_swaps,
            &[
                "h\n/dev/sda2 partition 10 0\n",
                "h\n/dev/sda2 partition 10 x -2\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "swap",
            &[
                (
                    "node_swap_size_bytes",
                    &[("device", "/dev/nvme0n1p3"), ("swap_type", "partition")],
                    8589930496.0,
                ),
                (
                    "node_swap_used_bytes",
                    &[("device", "/dev/nvme0n1p3"), ("swap_type", "partition")],
                    1048576.0,
                ),
                ("node_swap_priority", &[("device", "/swapfile")], 10.0),
            ],
        );
        assert_eq!(out.families().len(), 3);
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = collect_with("swap", &fixture_config_with("missing", "sys")).unwrap_err();
        assert!(matches!(e, CollectError::Io { .. }), "{e}");
    }
}
