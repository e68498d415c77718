//! `stat`: node_boot_time_seconds, node_context_switches_total, node_forks_total, node_intr_total,
//! node_procs_blocked, node_procs_running (and node_softirqs_total{vector} with `--collector.stat.softirq`)
//! from `/proc/stat`.
//!
//! The per-CPU `cpu<N>` lines of the same file belong to the `cpu` collector (see [`super::cpu`]).

use std::sync::Arc;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// The softirq vectors of the `softirq` line, in the kernel's order, with node_exporter's `vector` label values.
pub const SOFTIRQ_VECTORS: [&str; 10] = [
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
];

/// The system-wide lines of `/proc/stat`. A line the kernel does not print reads as 0, as in procfs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelStat {
    /// `btime`: boot time, seconds since the epoch.
    pub boot_time: u64,
    /// First field of `intr`: all interrupts serviced, numbered and unnumbered.
    pub intr_total: u64,
    /// The remaining fields of `intr`: per numbered IRQ counts (index = IRQ number).
    pub intr: Vec<u64>,
    /// `ctxt`.
    pub context_switches: u64,
    /// `processes`: forks since boot.
    pub processes: u64,
    pub procs_running: u64,
    pub procs_blocked: u64,
    /// First field of `softirq`.
    pub softirq_total: u64,
    /// Per-vector softirq counts, in [`SOFTIRQ_VECTORS`] order (missing vectors are 0).
    pub softirq: [u64; 10],
}

/// The read layer's [`crate::read::parse_u64`], naming the `/proc/stat` line.
fn stat_u64(what: &str, s: &str) -> Result<u64, ParseError> {
    crate::read::parse_u64(s).map_err(|e| ParseError::new(format!("{what}: {e}")))
}

/// Parse the system-wide lines of `/proc/stat` (everything but the `cpu` lines).
pub fn parse_stat(text: &str) -> Result<KernelStat, ParseError> {
    let mut st = KernelStat::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(key), Some(first)) = (fields.next(), fields.next()) else {
            continue;
        };
        match key {
            "btime" => st.boot_time = stat_u64(key, first)?,
            "ctxt" => st.context_switches = stat_u64(key, first)?,
            "processes" => st.processes = stat_u64(key, first)?,
            "procs_running" => st.procs_running = stat_u64(key, first)?,
            "procs_blocked" => st.procs_blocked = stat_u64(key, first)?,
            "intr" => {
                st.intr_total = stat_u64(key, first)?;
                st.intr = fields
                    .map(|f| stat_u64("intr", f))
                    .collect::<Result<_, _>>()?;
            }
            "softirq" => {
                st.softirq_total = stat_u64(key, first)?;
                for (slot, f) in st.softirq.iter_mut().zip(fields) {
                    *slot = stat_u64("softirq", f)?;
                }
            }
            _ => {}
        }
    }
    Ok(st)
}

pub struct Stat {
    roots: Arc<Roots>,
    softirq: bool,
}

/// The stat collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Export node_softirqs_total from /proc/stat.
    #[arg(id = "collector.stat.softirq", long = "collector.stat.softirq")]
    pub softirq: bool,
}

impl NodeCollector for Stat {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Stat {
            roots: cfg.roots.clone(),
            softirq: cfg.stat.softirq,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("stat");
        let st = parse_stat(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        out.counter(
            "node_intr_total",
            "Total number of interrupts serviced.",
            &[],
            st.intr_total as f64,
        );
        out.counter(
            "node_context_switches_total",
            "Total number of context switches.",
            &[],
            st.context_switches as f64,
        );
        out.counter(
            "node_forks_total",
            "Total number of forks.",
            &[],
            st.processes as f64,
        );
        out.gauge(
            "node_boot_time_seconds",
            "Node boot time, in unixtime.",
            &[],
            st.boot_time as f64,
        );
        out.gauge(
            "node_procs_running",
            "Number of processes in runnable state.",
            &[],
            st.procs_running as f64,
        );
        out.gauge(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            &[],
            st.procs_blocked as f64,
        );
        if self.softirq {
            for (vector, v) in SOFTIRQ_VECTORS.iter().zip(st.softirq) {
                out.counter(
                    "node_softirqs_total",
                    "Number of softirq calls.",
                    &[("vector", vector)],
                    v as f64,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects, collect_with, fixture_config};

    #[test]
    fn parses_fixture() {
        let st = parse_stat(include_str!("../../tests/fixtures/proc/stat")).unwrap();
        assert_eq!(st.boot_time, 1795565299);
        assert_eq!(st.context_switches, 368967);
        assert_eq!(st.processes, 10218);
        assert_eq!(st.procs_running, 3);
        assert_eq!(st.procs_blocked, 0);
        assert_eq!(st.intr_total, 194418);
        assert_eq!(st.intr[36], 40810);
        assert_eq!(st.softirq_total, 116837);
        assert_eq!(
            st.softirq,
            [0, 13900, 5, 5969, 40810, 0, 117, 24845, 0, 31191]
        );
    }

    #[test]
    fn huge_counters_and_missing_lines() {
        // An old kernel without procs_* lines, and counters near 2^64.
        let st = parse_stat(
            "cpu  1 2 3 4\nintr 18446744073709551615 1 2\nctxt 18446744073709551000\nbtime 1\n\
             processes 7\nsoftirq 5 1 2\n",
        )
        .unwrap();
        assert_eq!(st.intr_total, u64::MAX);
        assert_eq!(st.intr, [1, 2]);
        assert_eq!(st.context_switches, 18446744073709551000);
        assert_eq!(st.procs_running, 0);
        assert_eq!(st.softirq[..3], [1, 2, 0]);
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(parse_stat, &["ctxt x\n", "intr 1 2 -3\n"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "stat",
            &[
                ("node_boot_time_seconds", &[], 1795565299.0),
                ("node_forks_total", &[], 10218.0),
                ("node_intr_total", &[], 194418.0),
                ("node_procs_running", &[], 3.0),
            ],
        );
        assert!(out.get("node_softirqs_total").is_none());

        let mut cfg = fixture_config();
        cfg.stat.softirq = true;
        let out = collect_with("stat", &cfg).unwrap();
        assert_eq!(
            out.value("node_softirqs_total", &[("vector", "rcu")]),
            Some(31191.0)
        );
        assert_eq!(out.get("node_softirqs_total").unwrap().samples.len(), 10);
    }
}
