//! `softnet`: node_softnet_{processed,dropped,times_squeezed}_total{cpu} from `/proc/net/softnet_stat`.
//!
//! As node_exporter 1.5 (procfs 0.8): only the first three columns (hex, 32 bit) are exposed, and the `cpu`
//! label is the line's index. The kernel prints one line per *online* CPU, so with a CPU offline the labels
//! are the line numbers, not the CPU ids (newer kernels print the id in column 13; 1.5 ignores it).

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// The three counters of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftnetStat {
    pub processed: u32,
    pub dropped: u32,
    pub time_squeezed: u32,
}

/// Parse `/proc/net/softnet_stat`: one line per online CPU, at least 9 hex columns.
pub fn parse_softnet(text: &str) -> Result<Vec<SoftnetStat>, ParseError> {
    const MIN_COLUMNS: usize = 9;
    let mut out = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < MIN_COLUMNS {
            return Err(ParseError::new(format!(
                "{} columns were detected, but at least {MIN_COLUMNS} were expected",
                cols.len()
            )));
        }
        let hex = |s: &str| {
            u32::from_str_radix(s, 16)
                .map_err(|_| ParseError::new(format!("not a 32-bit hex number: {s:?}")))
        };
        out.push(SoftnetStat {
            processed: hex(cols[0])?,
            dropped: hex(cols[1])?,
            time_squeezed: hex(cols[2])?,
        });
    }
    Ok(out)
}

/// The `softnet` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("softnet_stat");
    let stats = parse_softnet(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for (i, s) in stats.iter().enumerate() {
        let cpu = i.to_string();
        let labels = [("cpu", cpu.as_str())];
        out.counter(
            "node_softnet_processed_total",
            "Number of processed packets",
            &labels,
            f64::from(s.processed),
        );
        out.counter(
            "node_softnet_dropped_total",
            "Number of dropped packets",
            &labels,
            f64::from(s.dropped),
        );
        out.counter(
            "node_softnet_times_squeezed_total",
            "Number of times processing packets ran out of quota",
            &labels,
            f64::from(s.time_squeezed),
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
        let s = parse_softnet(include_str!("../../tests/fixtures/proc/net/softnet_stat")).unwrap();
        assert_eq!(
            s,
            [
                SoftnetStat {
                    processed: 0xb5,
                    dropped: 0,
                    time_squeezed: 0
                },
                SoftnetStat {
                    processed: 0x1881,
                    dropped: 2,
                    time_squeezed: 10
                },
            ]
        );
    }

    #[test]
    fn older_kernel_and_offline_cpu() {
        // A 4.x kernel prints 11 columns and no CPU id. With CPU 1 offline the kernel omits its line,
        // so CPU 2's line is the second one and gets cpu="1", as in node_exporter 1.5.
        let text = "ffffffff 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
                    00000010 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
        let s = parse_softnet(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].processed, u32::MAX);
        assert_eq!(s[1].time_squeezed, 3);
    }

    #[test]
    fn rejects_short_or_bad_lines() {
        assert_rejects(
            parse_softnet,
            &[
                "00000001 00000002 00000003\n",
                "1ffffffff 0 0 0 0 0 0 0 0\n",
                "zz 0 0 0 0 0 0 0 0\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "softnet",
            &[
                ("node_softnet_processed_total", &[("cpu", "1")], 6273.0),
                ("node_softnet_dropped_total", &[("cpu", "1")], 2.0),
                ("node_softnet_times_squeezed_total", &[("cpu", "1")], 10.0),
            ],
        );
        assert_eq!(
            out.get("node_softnet_dropped_total").unwrap().samples.len(),
            2
        );
    }
}
