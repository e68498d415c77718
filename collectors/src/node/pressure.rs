//! `pressure`: node_pressure_{cpu,io,memory}_waiting_seconds_total (the `some` lines) and
//! node_pressure_{io,memory,irq}_stalled_seconds_total (the `full` lines) from `/proc/pressure/*`, as
//! node_exporter 1.12.1 exports them (`irq` since 1.9; see [`collect`] for what is missing when).
//!
//! Our parser, not procfs-core's: its `CpuPressure`/`IoPressure`/`MemoryPressure` require a `full` line,
//! which `cpu` lacks before Linux 5.13, and its per-line parser is private.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// One `some`/`full` line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total: u64,
}

/// The lines of one `/proc/pressure/<resource>` file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PsiStats {
    pub some: Option<PsiLine>,
    pub full: Option<PsiLine>,
}

fn parse_line(rest: &str) -> Result<PsiLine, ParseError> {
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for kv in rest.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| ParseError::new(format!("bad field {kv:?}")))?;
        let f = || {
            v.parse::<f64>()
                .map_err(|_| ParseError::new(format!("{k}: not a number: {v:?}")))
        };
        match k {
            "avg10" => avg10 = Some(f()?),
            "avg60" => avg60 = Some(f()?),
            "avg300" => avg300 = Some(f()?),
            "total" => {
                total = Some(
                    v.parse::<u64>()
                        .map_err(|_| ParseError::new(format!("total: not an integer: {v:?}")))?,
                )
            }
            _ => {}
        }
    }
    match (avg10, avg60, avg300, total) {
        (Some(avg10), Some(avg60), Some(avg300), Some(total)) => Ok(PsiLine {
            avg10,
            avg60,
            avg300,
            total,
        }),
        _ => Err(ParseError::new(format!("incomplete line: {rest:?}"))),
    }
}

/// Parse a `/proc/pressure/<resource>` file.
pub fn parse_psi(text: &str) -> Result<PsiStats, ParseError> {
    let mut st = PsiStats::default();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("some", rest)) => st.some = Some(parse_line(rest)?),
            Some(("full", rest)) => st.full = Some(parse_line(rest)?),
            _ => {}
        }
    }
    Ok(st)
}

/// A metric name and its help.
type Desc = (&'static str, &'static str);

/// (resource, metric of its `some` line, metric of its `full` line) as node_exporter 1.12.1 exports them;
/// a resource must have the lines it has metrics for. `irq` (node_exporter 1.9) has only a `full` line;
/// the `full` line of `cpu` (Linux ≥ 5.13) is not exported.
const RESOURCES: [(&str, Option<Desc>, Option<Desc>); 4] = [
    (
        "cpu",
        Some((
            "node_pressure_cpu_waiting_seconds_total",
            "Total time in seconds that processes have waited for CPU time",
        )),
        None,
    ),
    (
        "io",
        Some((
            "node_pressure_io_waiting_seconds_total",
            "Total time in seconds that processes have waited due to IO congestion",
        )),
        Some((
            "node_pressure_io_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IO congestion",
        )),
    ),
    (
        "memory",
        Some((
            "node_pressure_memory_waiting_seconds_total",
            "Total time in seconds that processes have waited for memory",
        )),
        Some((
            "node_pressure_memory_stalled_seconds_total",
            "Total time in seconds no process could make progress due to memory congestion",
        )),
    ),
    (
        "irq",
        None,
        Some((
            "node_pressure_irq_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IRQ congestion",
        )),
    ),
];

fn seconds(us: u64) -> f64 {
    us as f64 / 1000.0 / 1000.0
}

/// The `pressure` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
///
/// node_exporter 1.12.1's rules: a resource whose file is missing is skipped (`irq` needs Linux ≥ 6.1
/// with `CONFIG_IRQ_TIME_ACCOUNTING`; before 1.9.1 a missing `irq` failed the collector); `EOPNOTSUPP`
/// (PSI disabled, boot with `psi=1`) or a file without the line a metric needs ends the scrape with no
/// data, the samples already taken kept; no file at all (kernel < 4.20, no `CONFIG_PSI`) is no data.
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let mut found = 0;
    for (res, some_desc, full_desc) in RESOURCES {
        let path = roots.proc(&format!("pressure/{res}"));
        let text = match read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.is_no_data() => continue,
            Err(CollectError::Io { source, .. })
                if source.raw_os_error() == Some(libc::EOPNOTSUPP) =>
            {
                return Err(CollectError::NoData(
                    "pressure information is disabled (boot with psi=1)".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        let st = parse_psi(&text).map_err(|e| e.at(&path))?;
        // Both lines are checked before either is exported.
        for (desc, line, which) in [(some_desc, st.some, "some"), (full_desc, st.full, "full")] {
            if desc.is_some() && line.is_none() {
                return Err(CollectError::NoData(format!(
                    "{} has no '{which}' line",
                    path.display()
                )));
            }
        }
        for (desc, line) in [(some_desc, st.some), (full_desc, st.full)] {
            if let (Some((name, help)), Some(line)) = (desc, line) {
                out.counter(name, help, &[], seconds(line.total));
            }
        }
        found += 1;
    }
    if found == 0 {
        return Err(CollectError::NoData(
            "pressure information is unavailable (kernel >= 4.20 with CONFIG_PSI)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, collect_fixture, collect_with};

    #[test]
    fn parses_fixture() {
        let st = parse_psi(include_str!("../../tests/fixtures/proc/pressure/io")).unwrap();
        let some = st.some.unwrap();
        let full = st.full.unwrap();
        assert!(some.total >= full.total);
        // Kernel < 5.13: the cpu file has no full line.
        let st = parse_psi("some avg10=0.00 avg60=0.50 avg300=1.25 total=18446744073709551615\n")
            .unwrap();
        assert_eq!(st.some.unwrap().total, u64::MAX);
        assert_eq!(st.some.unwrap().avg300, 1.25);
        assert!(st.full.is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_psi,
            &[
                "some avg10=x avg60=0 avg300=0 total=1\n",
                "some avg10=0 avg60=0 avg300=0\n",
                "full avg10=0 avg60=0 avg300=0 total=-1\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("pressure");
        let cpu = parse_psi(include_str!("../../tests/fixtures/proc/pressure/cpu"))
            .unwrap()
            .some
            .unwrap()
            .total;
        assert_eq!(
            out.value("node_pressure_cpu_waiting_seconds_total", &[]),
            Some(seconds(cpu))
        );
        assert!(out.get("node_pressure_cpu_stalled_seconds_total").is_none());
        assert_eq!(
            out.value("node_pressure_memory_stalled_seconds_total", &[]),
            Some(0.0)
        );
        assert!(out.get("node_pressure_io_stalled_seconds_total").is_some());
        assert_eq!(
            out.value("node_pressure_irq_stalled_seconds_total", &[]),
            Some(0.008494)
        );
        assert_eq!(out.families().len(), 6);
    }

    /// A temporary procfs with the given `pressure/<resource>` files.
    fn psi_dir(tag: &str, files: &[(&str, &str)]) -> (std::path::PathBuf, Roots) {
        let dir = std::env::temp_dir().join(format!("hostlens-psi-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pressure")).unwrap();
        for (res, text) in files {
            std::fs::write(dir.join("pressure").join(res), text).unwrap();
        }
        let roots = Roots::new(dir.clone(), dir.join("sys"), dir.join("root"), None);
        (dir, roots)
    }

    const LINE: &str = "avg10=0.00 avg60=0.00 avg300=0.00 total=2000000";

    #[test]
    fn missing_resources_are_skipped() {
        // node_exporter 1.9.1: a kernel without irq pressure (< 6.1) still reports the others.
        let some = format!("some {LINE}\n");
        let (dir, roots) = psi_dir("noirq", &[("cpu", &some)]);
        let mut out = MetricSet::new();
        collect(&roots, &mut out).unwrap();
        assert_eq!(out.families().len(), 1);
        assert_eq!(
            out.value("node_pressure_cpu_waiting_seconds_total", &[]),
            Some(2.0)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_line_is_no_data_after_the_samples_so_far() {
        let some = format!("some {LINE}\n");
        let (dir, roots) = psi_dir("nofull", &[("cpu", &some), ("io", &some)]);
        let mut out = MetricSet::new();
        let err = collect(&roots, &mut out).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)), "{err}");
        // cpu's sample is kept; io's `some` is not sent, as both lines are checked first.
        assert!(out.get("node_pressure_cpu_waiting_seconds_total").is_some());
        assert_eq!(out.families().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
        let (dir, roots) = psi_dir("irqsome", &[("irq", &some)]);
        assert!(matches!(
            collect(&roots, &mut MetricSet::new()),
            Err(CollectError::NoData(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_pressure_dir_is_no_data() {
        let cfg = crate::node::testutil::fixture_config_with("nonexistent", "sys");
        let err = collect_with("pressure", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)));
    }
}
