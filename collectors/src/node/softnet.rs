//! `softnet`: node_softnet_* {cpu} from `/proc/net/softnet_stat`, as node_exporter 1.12.1 (procfs 0.21.1).
//!
//! One line per online CPU, at least 9 hex (32-bit) columns: processed, dropped, time squeezed (columns 1–3)
//! and CPU collisions (column 9) on every kernel; received RPS (column 10, Linux 2.6.39+), flow limit count
//! (column 11, 4.18+), backlog length and the CPU id (columns 12 and 13, 5.14+). A counter the line lacks
//! is 0, as procfs leaves it. The `cpu` label is column 13 when the line has it, else the line's index (so
//! on an older kernel with a CPU offline the labels are line numbers, not CPU ids).

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// The counters of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SoftnetStat {
    pub processed: u32,
    pub dropped: u32,
    pub time_squeezed: u32,
    pub cpu_collision: u32,
    pub received_rps: u32,
    pub flow_limit_count: u32,
    pub backlog_len: u32,
    /// Column 13 (5.14+), else the line's index.
    pub index: u32,
}

/// Parse `/proc/net/softnet_stat`: one line per online CPU, at least 9 hex columns.
pub fn parse_softnet(text: &str) -> Result<Vec<SoftnetStat>, ParseError> {
    const MIN_COLUMNS: usize = 9;
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < MIN_COLUMNS {
            return Err(ParseError::new(format!(
                "detected {} columns, but expected at least {MIN_COLUMNS}",
                cols.len()
            )));
        }
        let hex = |i: usize| {
            u32::from_str_radix(cols[i], 16)
                .map_err(|_| ParseError::new(format!("not a 32-bit hex number: {:?}", cols[i])))
        };
        // procfs parses columns 1..=9 together: a bad one in 4..=8 fails the line too.
        for i in 3..8 {
            hex(i)?;
        }
        let mut s = SoftnetStat {
            processed: hex(0)?,
            dropped: hex(1)?,
            time_squeezed: hex(2)?,
            cpu_collision: hex(8)?,
            index: u32::try_from(line_no).unwrap_or(u32::MAX),
            ..SoftnetStat::default()
        };
        if cols.len() >= 10 {
            s.received_rps = hex(9)?;
        }
        if cols.len() >= 11 {
            s.flow_limit_count = hex(10)?;
        }
        if cols.len() >= 13 {
            s.backlog_len = hex(11)?;
            s.index = hex(12)?;
        }
        out.push(s);
    }
    Ok(out)
}

/// The `softnet` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("softnet_stat");
    let stats = parse_softnet(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for s in &stats {
        let cpu = s.index.to_string();
        let labels = [("cpu", cpu.as_str())];
        for (name, help, v) in [
            (
                "node_softnet_processed_total",
                "Number of processed packets",
                s.processed,
            ),
            (
                "node_softnet_dropped_total",
                "Number of dropped packets",
                s.dropped,
            ),
            (
                "node_softnet_times_squeezed_total",
                "Number of times processing packets ran out of quota",
                s.time_squeezed,
            ),
            (
                "node_softnet_cpu_collision_total",
                "Number of collision occur while obtaining device lock while transmitting",
                s.cpu_collision,
            ),
            (
                "node_softnet_received_rps_total",
                "Number of times cpu woken up received_rps",
                s.received_rps,
            ),
            (
                "node_softnet_flow_limit_count_total",
                "Number of times flow limit has been reached",
                s.flow_limit_count,
            ),
        ] {
            out.counter(name, help, &labels, f64::from(v));
        }
        out.gauge(
            "node_softnet_backlog_len",
            "Softnet backlog status",
            &labels,
            f64::from(s.backlog_len),
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
                    ..SoftnetStat::default()
                },
                SoftnetStat {
                    processed: 0x1881,
                    dropped: 2,
                    time_squeezed: 10,
                    index: 1,
                    ..SoftnetStat::default()
                },
            ]
        );
    }

    #[test]
    fn older_kernel_and_offline_cpu() {
        // A 4.x kernel prints 11 columns and no CPU id. With CPU 1 offline the kernel omits its line,
        // so CPU 2's line is the second one and gets cpu="1", as in node_exporter.
        let text = "ffffffff 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000007 00000008 00000009\n\
                    00000010 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
        let s = parse_softnet(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].processed, u32::MAX);
        assert_eq!(
            (s[0].cpu_collision, s[0].received_rps, s[0].flow_limit_count),
            (7, 8, 9)
        );
        assert_eq!(s[1].time_squeezed, 3);
        assert_eq!(s[1].index, 1);
        // 9 columns (2.6.23): no RPS, no flow limit.
        let s = parse_softnet("1 2 3 4 5 6 7 8 9\n").unwrap();
        assert_eq!((s[0].cpu_collision, s[0].received_rps), (9, 0));
    }

    #[test]
    fn rejects_short_or_bad_lines() {
        assert_rejects(
            parse_softnet,
            &[
                "00000001 00000002 00000003\n",
                "1ffffffff 0 0 0 0 0 0 0 0\n",
                "zz 0 0 0 0 0 0 0 0\n",
                "0 0 0 0 zz 0 0 0 0\n",
                "0 0 0 0 0 0 0 0 0 0 0 0 zz\n",
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
                ("node_softnet_backlog_len", &[("cpu", "1")], 0.0),
                ("node_softnet_cpu_collision_total", &[("cpu", "1")], 0.0),
                ("node_softnet_received_rps_total", &[("cpu", "0")], 0.0),
                ("node_softnet_flow_limit_count_total", &[("cpu", "0")], 0.0),
            ],
        );
        assert_eq!(
            out.get("node_softnet_backlog_len").unwrap().samples.len(),
            2
        );
    }
}
