//! `schedstat`: node_schedstat_running_seconds_total, node_schedstat_waiting_seconds_total and
//! node_schedstat_timeslices_total{cpu} from the `cpu<N>` lines of `/proc/schedstat`.
//!
//! `/proc/schedstat` only exists with CONFIG_SCHEDSTATS; without it this collector has no data (which is why
//! node_exporter reports `node_scrape_collector_success{collector="schedstat"} 0` on kernels built without it).
//!
//! The `cpu<N>` line is the same in schedstat versions 15, 16 and 17 (Documentation/scheduler/sched-stats.rst):
//! 9 fields, the last three being time running (ns), time waiting to run (ns) and timeslices run. Version 16
//! only reordered the idle-type columns of the `domain<N>` lines, and version 17 added the domain name and
//! imbalance fields to those lines; neither touches `cpu<N>` lines, and this parser ignores domain lines.
//! Versions 12 to 14 had three more (yield) fields at the start of the `cpu<N>` line; the three times are
//! still the last three of the 12 fields there.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// Scheduler statistics of one CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedstatCpu {
    /// The `N` of `cpu<N>`, as the `cpu` label.
    pub cpu: String,
    pub running_ns: u64,
    pub waiting_ns: u64,
    pub timeslices: u64,
}

/// Parse `/proc/schedstat`.
pub fn parse_schedstat(text: &str) -> Result<Vec<SchedstatCpu>, ParseError> {
    let mut version: Option<u32> = None;
    let mut cpus = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else { continue };
        if key == "version" {
            let v = fields.next().unwrap_or_default();
            version = Some(
                v.parse()
                    .map_err(|_| ParseError::new(format!("bad version: {v:?}")))?,
            );
            continue;
        }
        let Some(id) = key.strip_prefix("cpu") else {
            continue;
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(format!("bad cpu line: {line:?}")));
        }
        let nums = fields
            .map(|f| {
                f.parse::<u64>()
                    .map_err(|_| ParseError::new(format!("{key}: not an unsigned integer: {f:?}")))
            })
            .collect::<Result<Vec<u64>, _>>()?;
        let want = match version {
            Some(v) if v < 15 => 12,
            _ => 9,
        };
        if nums.len() < want {
            return Err(ParseError::new(format!(
                "{key}: {} fields, schedstat version {} has {want}",
                nums.len(),
                version.map_or_else(|| "?".to_string(), |v| v.to_string())
            )));
        }
        let t = &nums[want - 3..want];
        cpus.push(SchedstatCpu {
            cpu: id.to_string(),
            running_ns: t[0],
            waiting_ns: t[1],
            timeslices: t[2],
        });
    }
    Ok(cpus)
}

const NS_PER_SEC: f64 = 1e9;

/// The `schedstat` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("schedstat");
    let text = match read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.is_no_data() => {
            return Err(CollectError::NoData(
                "/proc/schedstat does not exist (kernel without CONFIG_SCHEDSTATS)".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    for c in parse_schedstat(&text).map_err(|e| e.at(&path))? {
        let labels = [("cpu", c.cpu.as_str())];
        out.counter(
            "node_schedstat_running_seconds_total",
            "Number of seconds CPU spent running a process.",
            &labels,
            c.running_ns as f64 / NS_PER_SEC,
        );
        out.counter(
            "node_schedstat_waiting_seconds_total",
            "Number of seconds spent by processing waiting for this CPU.",
            &labels,
            c.waiting_ns as f64 / NS_PER_SEC,
        );
        out.counter(
            "node_schedstat_timeslices_total",
            "Number of timeslices executed by CPU.",
            &labels,
            c.timeslices as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects, collect_with};

    fn cpu(c: &str, r: u64, w: u64, t: u64) -> SchedstatCpu {
        SchedstatCpu {
            cpu: c.into(),
            running_ns: r,
            waiting_ns: w,
            timeslices: t,
        }
    }

    #[test]
    fn parses_v17_fixture() {
        let c = parse_schedstat(include_str!("../../tests/fixtures/proc/schedstat")).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0],
            cpu("0", 2045936778163039, 343796328169361, 4767485306)
        );
        assert_eq!(c[1].cpu, "1");
    }

    #[test]
    fn parses_v15_and_v16() {
        let v15 = "version 15\ntimestamp 4295347385\ncpu0 0 0 100 50 60 30 7000000000 3000000000 99\n\
                   domain0 00000003 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36\n";
        assert_eq!(
            parse_schedstat(v15).unwrap(),
            [cpu("0", 7000000000, 3000000000, 99)]
        );
        let v16 = v15.replace("version 15", "version 16");
        assert_eq!(
            parse_schedstat(&v16).unwrap(),
            [cpu("0", 7000000000, 3000000000, 99)]
        );
    }

    #[test]
    fn parses_v14_with_yield_fields() {
        let v14 = "version 14\ntimestamp 1\ncpu3 1 2 3 0 0 100 50 60 30 7 8 9\n";
        assert_eq!(parse_schedstat(v14).unwrap(), [cpu("3", 7, 8, 9)]);
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_schedstat,
            &[
                "version 15\ncpu0 1 2 3\n",
                "version 15\ncpu0 1 2 3 4 5 6 7 8 x\n",
                "version x\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "schedstat",
            &[
                (
                    "node_schedstat_timeslices_total",
                    &[("cpu", "0")],
                    4767485306.0,
                ),
                (
                    "node_schedstat_running_seconds_total",
                    &[("cpu", "0")],
                    2045936778163039.0 / 1e9,
                ),
            ],
        );
        assert_eq!(
            out.get("node_schedstat_waiting_seconds_total")
                .unwrap()
                .samples
                .len(),
            2
        );
    }

    #[test]
    fn missing_file_is_no_data() {
        let cfg = crate::node::testutil::fixture_config_with("nonexistent", "sys");
        let err = collect_with("schedstat", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)));
    }
}
