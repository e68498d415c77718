//! `processes`: node_processes_* (process and thread counts, their states, the pid and thread limits)
//! from `/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`, `/proc/sys/kernel/{threads-max,pid_max}`, as
//! node_exporter 1.12.1 (`collector/processes_linux.go`, off by default; procfs' `AllProcs` and
//! `Proc.Stat`).
//!
//! A process or thread that goes away during the scrape (`ENOENT`, `ESRCH`) is skipped, as upstream; a
//! `stat` file that does not parse, or a limit that cannot be read, fails the collector.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use crate::error::ParseError;
use crate::read::{read_dir_sorted, read_u64, to_valid_utf8, with_file_bytes};
use crate::{CollectError, MetricSet, Roots};

/// What the collector needs of a `/proc/<pid>/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// The state letter (`R`, `S`, `D`, `Z`, `I`, …).
    pub state: String,
    pub num_threads: i64,
}

/// Whether each number after the state in a `stat` line is read signed (`true`) or unsigned, as procfs'
/// `ProcStat` fields are typed: `ppid` … `cguest_time`, 41 numbers.
const SIGNED: [bool; 41] = {
    let mut s = [false; 41];
    let signed = [0, 1, 2, 3, 4, 12, 13, 14, 15, 16, 17, 20, 34, 39, 40];
    let mut i = 0;
    while i < signed.len() {
        s[signed[i]] = true;
        i += 1;
    }
    s
};

/// Index of `num_threads` among the numbers after the state.
const NUM_THREADS: usize = 16;

/// Parse a `/proc/<pid>/stat` as procfs does: the command is between the first `(` and the last `)`;
/// after it (and one space) come the state and at least 41 numbers (`ppid` … `cguest_time`), each a
/// decimal integer of its field's signedness.
pub fn parse_proc_stat(data: &[u8]) -> Result<ProcStat, ParseError> {
    let (Some(l), Some(r)) = (
        data.iter().position(|&b| b == b'('),
        data.iter().rposition(|&b| b == b')'),
    ) else {
        return Err(ParseError::new(format!(
            "unexpected format, couldn't extract comm {:?}",
            to_valid_utf8(data)
        )));
    };
    let rest = data
        .get(r + 2..)
        .filter(|_| l < r)
        .ok_or_else(|| ParseError::new("unexpected format: nothing after the command"))?;
    let rest = to_valid_utf8(rest);
    let mut fields = rest.split_whitespace();
    let state = fields
        .next()
        .ok_or_else(|| ParseError::new("unexpected EOF: no state"))?
        .to_string();
    let mut num_threads = 0;
    for (i, signed) in SIGNED.iter().enumerate() {
        let f = fields
            .next()
            .ok_or_else(|| ParseError::new(format!("unexpected EOF after {} fields", i + 1)))?;
        let ok = if *signed {
            f.parse::<i64>().ok()
        } else {
            f.parse::<u64>()
                .ok()
                .filter(|_| !f.starts_with('+'))
                .map(|v| v as i64)
        };
        let v = ok.ok_or_else(|| ParseError::new(format!("expected integer, got {f:?}")))?;
        if i == NUM_THREADS {
            num_threads = v;
        }
    }
    Ok(ProcStat { state, num_threads })
}

/// What node_exporter skips: the process or thread exited (`os.ErrNotExist` or "no such process").
fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// The numeric entries of a `/proc` (or `task`) directory, as procfs' `AllProcs`.
fn pids(dir: &Path) -> io::Result<Vec<i64>> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter_map(|e| e.name.parse().ok())
        .collect())
}

/// Read and parse one `stat`; `Ok(None)` when the process or thread is gone.
fn read_stat(path: &Path) -> Result<Option<ProcStat>, CollectError> {
    match with_file_bytes(path, parse_proc_stat) {
        Ok(r) => r.map(Some).map_err(|e| e.at(path)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

/// Counts over every process and thread.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub pids: u64,
    pub threads: i64,
    pub states: BTreeMap<String, u64>,
    pub thread_states: BTreeMap<String, u64>,
}

/// Count the processes under `proc` and their threads' states.
pub fn count(proc: &Path) -> Result<Counts, CollectError> {
    let mut c = Counts::default();
    let all = pids(proc).map_err(|e| CollectError::io(proc, e))?;
    for pid in all {
        let Some(stat) = read_stat(&proc.join(pid.to_string()).join("stat"))? else {
            continue;
        };
        c.pids += 1;
        *c.states.entry(stat.state.clone()).or_default() += 1;
        c.threads += stat.num_threads;
        let task = proc.join(pid.to_string()).join("task");
        let tids = match pids(&task) {
            Ok(t) => t,
            Err(e) if is_gone(&e) => continue,
            Err(e) => return Err(CollectError::io(&task, e)),
        };
        for tid in tids {
            // The main thread is the process: its state is the process's.
            let state = if tid == pid {
                stat.state.clone()
            } else {
                match read_stat(&task.join(tid.to_string()).join("stat"))? {
                    Some(s) => s.state,
                    None => continue,
                }
            };
            *c.thread_states.entry(state).or_default() += 1;
        }
    }
    Ok(c)
}

/// The `processes` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let c = count(&roots.procfs)?;
    out.gauge(
        "node_processes_threads",
        "Allocated threads in system",
        &[],
        c.threads as f64,
    );
    let max_threads = read_u64(roots.proc("sys/kernel/threads-max"))?;
    out.gauge(
        "node_processes_max_threads",
        "Limit of threads in the system",
        &[],
        max_threads as f64,
    );
    for (state, n) in &c.states {
        out.gauge(
            "node_processes_state",
            "Number of processes in each state.",
            &[("state", state)],
            *n as f64,
        );
    }
    for (state, n) in &c.thread_states {
        out.gauge(
            "node_processes_threads_state",
            "Number of threads in each state.",
            &[("thread_state", state)],
            *n as f64,
        );
    }
    let pid_max = read_u64(roots.proc("sys/kernel/pid_max"))?;
    out.gauge("node_processes_pids", "Number of PIDs", &[], c.pids as f64);
    out.gauge(
        "node_processes_max_processes",
        "Number of max PIDs limit",
        &[],
        pid_max as f64,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_with, fixture_config_with};

    const STAT: &[u8] = include_bytes!("../../tests/fixtures/processes/proc/30/stat");

    #[test]
    fn parses_stat_with_parentheses_in_the_command() {
        let s = parse_proc_stat(STAT).unwrap();
        assert_eq!(s.state, "S");
        assert_eq!(s.num_threads, 2);
    }

    #[test]
    fn rejects_malformed_stat() {
        let short = b"5 (x) S 1 2 3\n";
        let unsigned = b"5 (x) S 1 1 1 0 -1 -4 0 0 0 0 0 0 0 0 0 20 0 1 0 4 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        for bad in [&b"no comm"[..], &short[..], &unsigned[..], b"5 (x)"] {
            assert!(parse_proc_stat(bad).is_err(), "{:?}", to_valid_utf8(bad));
        }
    }

    #[test]
    fn collects_from_fixture_root() {
        let cfg = fixture_config_with("processes/proc", "sys");
        let out = collect_with("processes", &cfg).unwrap();
        assert_values(
            &out,
            &[
                ("node_processes_pids", &[], 3.0),
                ("node_processes_threads", &[], 4.0),
                ("node_processes_max_threads", &[], 63412.0),
                ("node_processes_max_processes", &[], 4194304.0),
                ("node_processes_state", &[("state", "S")], 2.0),
                ("node_processes_state", &[("state", "I")], 1.0),
                // pid 30's main thread (its own state) and thread 31 (R); the others have no task dir.
                (
                    "node_processes_threads_state",
                    &[("thread_state", "S")],
                    1.0,
                ),
                (
                    "node_processes_threads_state",
                    &[("thread_state", "R")],
                    1.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_processes_threads_state")
                .unwrap()
                .samples
                .len(),
            2
        );
    }

    #[test]
    fn missing_limits_are_an_error() {
        let cfg = fixture_config_with("processes/nolimits", "sys");
        assert!(collect_with("processes", &cfg).is_err());
    }
}
