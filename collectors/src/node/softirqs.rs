//! `softirqs`: node_softirqs_functions_total{cpu,type} from `/proc/softirqs`, as node_exporter 1.12.1
//! (prometheus/procfs 0.21.1) reads it.
//!
//! The header line is skipped; of the other lines only the ten softirq types procfs knows are exported
//! (a line repeated replaces the earlier one), one sample per CPU column, `cpu` being the column index.
//! A missing file is an error, as in node_exporter.

use crate::error::ParseError;
use crate::read::{parse_u64, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// The softirq types node_exporter exports, in its order.
pub const TYPES: [&str; 10] = [
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
];

/// Per-CPU counts of each of [`TYPES`] (`None`: the file has no such line).
pub type Softirqs = [Option<Vec<u64>>; 10];

/// Parse `/proc/softirqs`: a header of CPU names, then `TYPE: count…` lines.
pub fn parse_softirqs(text: &str) -> Result<Softirqs, ParseError> {
    let mut lines = text.lines();
    if lines.next().is_none() {
        return Err(ParseError::new("softirqs empty"));
    }
    let mut out: Softirqs = Default::default();
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        // At least one CPU column.
        if parts.len() < 2 {
            continue;
        }
        let Some(idx) = TYPES
            .iter()
            .position(|t| parts[0].strip_suffix(':') == Some(*t))
        else {
            continue;
        };
        let counts = parts[1..]
            .iter()
            .enumerate()
            .map(|(cpu, c)| {
                parse_u64(c).map_err(|e| {
                    ParseError::new(format!("couldn't parse {c:?} ({}{cpu}): {e}", TYPES[idx]))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out[idx] = Some(counts);
    }
    Ok(out)
}

/// The `softirqs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("softirqs");
    let softirqs = parse_softirqs(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for (kind, counts) in TYPES.iter().zip(&softirqs) {
        for (cpu, v) in counts.iter().flatten().enumerate() {
            let cpu = cpu.to_string();
            out.counter(
                "node_softirqs_functions_total",
                "Softirq counts per CPU.",
                &[("cpu", cpu.as_str()), ("type", kind)],
                *v as f64,
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

    #[test]
    fn parses_fixture() {
        let s = parse_softirqs(include_str!("../../tests/fixtures/proc/softirqs")).unwrap();
        assert_eq!(s[0], Some(vec![3, 0, 1]));
        assert_eq!(s[9], Some(vec![222333, 111222, 100200]));
        assert!(s.iter().all(Option::is_some));
    }

    #[test]
    fn unknown_short_and_repeated_lines() {
        let s = parse_softirqs("CPU0 CPU1\nHI: 1 2\nNEW: 5 5\nTIMER:\nHI: 3 4\n").unwrap();
        assert_eq!(s[0], Some(vec![3, 4]));
        assert_eq!(s[1], None);
        assert_rejects(parse_softirqs, &["", "CPU0\nHI: -1\n", "CPU0\nRCU: 1.5\n"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "softirqs",
            &[
                (
                    "node_softirqs_functions_total",
                    &[("cpu", "1"), ("type", "TIMER")],
                    998877.0,
                ),
                (
                    "node_softirqs_functions_total",
                    &[("cpu", "2"), ("type", "IRQ_POLL")],
                    0.0,
                ),
            ],
        );
        let f = out.get("node_softirqs_functions_total").unwrap();
        assert_eq!(f.samples.len(), 30);
        assert_eq!(f.kind, crate::Kind::Counter);
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = collect_with("softirqs", &fixture_config_with("nonexistent", "sys")).unwrap_err();
        assert!(err.is_no_data(), "{err}");
    }
}
