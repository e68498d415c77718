//! cgroup v2: [`CgroupStats`](super::CgroupStats) parts from a cgroup directory of the unified hierarchy.
//! Pure assembly from file texts (unit-tested), then thin readers.
//!
//! What cAdvisor takes from where (runc `libcontainer/cgroups/fs2/{cpu,memory,io}.go`, cAdvisor
//! `lib/container/libcontainer/handler.go: setMemoryStats`, `lib/container/common/helpers.go`):
//! - `cpu.stat`: `usage_usec`, `user_usec`, `system_usec`, `nr_periods`, `nr_throttled`,
//!   `throttled_usec` (µs × 1000 → ns). Present in every cgroup, with or without the cpu controller.
//! - `cpu.max` (`max 100000` → no quota) and `cpu.weight` → shares (`2 + (w − 1) × 262142 / 9999`).
//! - memory: usage `memory.current`, max usage `memory.peak` (kernel ≥ 5.19, else 0), no failcnt (0);
//!   cache = `file`, rss = `anon`, mapped_file = `file_mapped`, swap = `memory.swap.current` (runc reports
//!   swap + memory, cAdvisor subtracts memory again); working set = usage − `inactive_file`.
//! - limits only when `memory.max` exists: `memory.max`, reservation `memory.min`, swap limit
//!   `memory.swap.max` (swap alone, unlike v1's memory + swap).
//! - `io.stat` `rbytes`/`wbytes`/`rios`/`wios` per `major:minor`.

use std::path::Path;

use super::files::Reads;
use super::parse::{self, in_file, keyed, opt_u64, parse_flat_keyed, parse_u64, DeviceIo};
use super::{CpuSpec, CpuStats, HostMemory, MemorySpec, MemoryStats, Pressure, Psi};
use crate::error::{CollectError, ParseError};

/// CPU accounting from `cpu.stat`.
pub fn cpu_stats(cpu_stat: &str) -> Result<CpuStats, ParseError> {
    let p = in_file("cpu.stat", parse_flat_keyed(cpu_stat))?;
    let us = |k: &str| keyed(&p, k).unwrap_or(0).saturating_mul(1000);
    Ok(CpuStats {
        usage_ns: us("usage_usec"),
        user_ns: us("user_usec"),
        system_ns: us("system_usec"),
        periods: keyed(&p, "nr_periods").unwrap_or(0),
        throttled_periods: keyed(&p, "nr_throttled").unwrap_or(0),
        throttled_ns: us("throttled_usec"),
        bursts: keyed(&p, "nr_bursts").unwrap_or(0),
        burst_ns: us("burst_usec"),
    })
}

/// CPU limits from `cpu.max` and `cpu.weight`; absent files give 0 (the root cgroup has neither), as
/// cAdvisor's `readString` does.
pub fn cpu_spec(cpu_max: Option<&str>, weight: Option<&str>) -> Result<CpuSpec, ParseError> {
    let (quota, period) = match cpu_max {
        Some(t) => in_file("cpu.max", parse::parse_cpu_max(t))?,
        None => (None, 0),
    };
    let shares = match weight {
        Some(t) => parse::cpu_weight_to_shares(in_file("cpu.weight", parse_u64(t))?).unwrap_or(0),
        None => 0,
    };
    Ok(CpuSpec {
        shares,
        period_us: period,
        quota_us: quota.unwrap_or(0),
    })
}

/// The v2 memory files of one cgroup, as text. `current` is `None` only for the root cgroup.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryFiles<'a> {
    pub stat: &'a str,
    pub current: Option<&'a str>,
    pub peak: Option<&'a str>,
    pub swap_current: Option<&'a str>,
    pub events: Option<&'a str>,
}

/// Memory accounting as cAdvisor's `setMemoryStats` combines it on v2. For the root cgroup (no
/// `memory.current`), `host` supplies runc's emulation: usage = `anon` + `file`, swap = host swap in use.
pub fn memory_stats(
    f: &MemoryFiles<'_>,
    host: Option<&HostMemory>,
) -> Result<MemoryStats, ParseError> {
    let stat = in_file("memory.stat", parse_flat_keyed(f.stat))?;
    let get = |k: &str| keyed(&stat, k).unwrap_or(0);
    let (usage, swap) = match (f.current, host) {
        (Some(c), _) => (
            in_file("memory.current", parse_u64(c))?,
            opt_u64("memory.swap.current", f.swap_current)?,
        ),
        (None, Some(h)) => (
            get("anon").saturating_add(get("file")),
            h.swap_total.saturating_sub(h.swap_free),
        ),
        (None, None) => return Err(ParseError::new("memory.current: missing")),
    };
    let working_set = match keyed(&stat, "inactive_file") {
        Some(inactive) => usage.saturating_sub(inactive),
        None => usage,
    };
    let events = match f.events {
        Some(t) => in_file("memory.events", parse_flat_keyed(t))?,
        None => Vec::new(),
    };
    let oom_kills = keyed(&events, "oom_kill");
    Ok(MemoryStats {
        usage,
        max_usage: opt_u64("memory.peak", f.peak)?,
        failcnt: 0,
        cache: get("file"),
        rss: get("anon"),
        swap,
        mapped_file: get("file_mapped"),
        working_set,
        pgfault: get("pgfault"),
        pgmajfault: get("pgmajfault"),
        oom_kills,
        kernel_usage: 0,
        active_file: get("active_file"),
        inactive_file: get("inactive_file"),
        events_high: keyed(&events, "high").unwrap_or(0),
        events_max: keyed(&events, "max").unwrap_or(0),
    })
}

/// Memory limits from `memory.max`, `memory.min`, `memory.swap.max` (`max` → `u64::MAX`).
pub fn memory_spec(
    max: &str,
    min: Option<&str>,
    swap_max: Option<&str>,
) -> Result<MemorySpec, ParseError> {
    Ok(MemorySpec {
        limit: in_file("memory.max", parse_u64(max))?,
        reservation: opt_u64("memory.min", min)?,
        swap_limit: opt_u64("memory.swap.max", swap_max)?,
    })
}

pub(super) fn read_cpu(r: &mut Reads<'_>, dir: &Path) -> Result<Option<CpuStats>, CollectError> {
    match r.opt(&dir.join("cpu.stat"))? {
        Some(t) => cpu_stats(&t).map(Some).map_err(|e| e.at(dir)),
        None => Ok(None),
    }
}

pub(super) fn read_cpu_spec(
    r: &mut Reads<'_>,
    dir: &Path,
) -> Result<Option<CpuSpec>, CollectError> {
    if !r.is_dir(dir) {
        return Ok(None);
    }
    let max = r.opt(&dir.join("cpu.max"))?;
    let weight = r.opt(&dir.join("cpu.weight"))?;
    cpu_spec(max.as_deref(), weight.as_deref())
        .map(Some)
        .map_err(|e| e.at(dir))
}

pub(super) fn read_memory(
    r: &mut Reads<'_>,
    dir: &Path,
    root_host: Option<&HostMemory>,
) -> Result<(Option<MemoryStats>, Option<MemorySpec>), CollectError> {
    let mut f = |name: &str| r.opt(&dir.join(name));
    let Some(stat) = f("memory.stat")? else {
        return Ok((None, None));
    };
    let current = f("memory.current")?;
    if current.is_none() && root_host.is_none() {
        // Not the root and no memory.current: the memory controller is not enabled here, or the cgroup
        // is going away.
        return Ok((None, None));
    }
    let peak = f("memory.peak")?;
    let swap_current = f("memory.swap.current")?;
    let events = f("memory.events")?;
    let files = MemoryFiles {
        stat: &stat,
        current: current.as_deref(),
        peak: peak.as_deref(),
        swap_current: swap_current.as_deref(),
        events: events.as_deref(),
    };
    let stats = memory_stats(&files, root_host).map_err(|e| e.at(dir))?;
    let spec = match f("memory.max")? {
        Some(max) => {
            let min = f("memory.min")?;
            let swap_max = f("memory.swap.max")?;
            Some(memory_spec(&max, min.as_deref(), swap_max.as_deref()).map_err(|e| e.at(dir))?)
        }
        None => None,
    };
    Ok((Some(stats), spec))
}

/// `cpu.pressure`, `memory.pressure`, `io.pressure` of one cgroup (the root's too, where the kernel has
/// them); a missing file gives zeros (a kernel without PSI, or booted with `psi=0`), as runc's nil PSI.
pub(super) fn read_pressure(r: &mut Reads<'_>, dir: &Path) -> Result<Pressure, CollectError> {
    let mut one = |name: &str| -> Result<Psi, CollectError> {
        let path = dir.join(name);
        match r.opt(&path)? {
            Some(t) => in_file(name, parse::parse_pressure(&t)).map_err(|e| e.at(dir)),
            None => Ok(Psi::default()),
        }
    };
    Ok(Pressure {
        cpu: one("cpu.pressure")?,
        memory: one("memory.pressure")?,
        io: one("io.pressure")?,
    })
}

pub(super) fn read_io(
    r: &mut Reads<'_>,
    dir: &Path,
) -> Result<Option<Vec<DeviceIo>>, CollectError> {
    let path = dir.join("io.stat");
    match r.opt(&path)? {
        Some(t) => parse::parse_io_stat(&t).map(Some).map_err(|e| e.at(&path)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `memory.stat` keys as in cgroup-v2.rst (values made up, consistent).
    const STAT: &str =
        "anon 10485760\nfile 52428800\nkernel 1048576\nshmem 0\nfile_mapped 4194304\n\
        file_dirty 0\nactive_anon 10485760\ninactive_anon 0\nactive_file 20971520\n\
        inactive_file 31457280\npgfault 12345\npgmajfault 67\n";

    #[test]
    fn cpu_stat_usec_to_ns() {
        let s = cpu_stats(
            "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 100\n\
             nr_throttled 7\nthrottled_usec 350000\nnr_bursts 0\nburst_usec 0\n",
        )
        .unwrap();
        assert_eq!(
            s,
            CpuStats {
                usage_ns: 2_500_000_000,
                user_ns: 2_000_000_000,
                system_ns: 500_000_000,
                periods: 100,
                throttled_periods: 7,
                throttled_ns: 350_000_000,
                bursts: 0,
                burst_ns: 0,
            }
        );
        // The root's cpu.stat has only the usage lines.
        let root = cpu_stats("usage_usec 5\nuser_usec 3\nsystem_usec 2\n").unwrap();
        assert_eq!((root.usage_ns, root.periods), (5000, 0));
    }

    #[test]
    fn cpu_spec_from_max_and_weight() {
        assert_eq!(
            cpu_spec(Some("max 100000\n"), Some("100\n")).unwrap(),
            CpuSpec {
                shares: 2597,
                period_us: 100_000,
                quota_us: 0
            }
        );
        assert_eq!(
            cpu_spec(Some("150000 100000\n"), Some("39\n")).unwrap(),
            CpuSpec {
                shares: 998,
                period_us: 100_000,
                quota_us: 150_000
            }
        );
        assert_eq!(cpu_spec(None, None).unwrap(), CpuSpec::default());
    }

    #[test]
    fn memory_of_a_container() {
        let f = MemoryFiles {
            stat: STAT,
            current: Some("67108864\n"),
            peak: Some("83886080\n"),
            swap_current: Some("1048576\n"),
            events: Some("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n"),
        };
        let m = memory_stats(&f, None).unwrap();
        assert_eq!(m.usage, 67_108_864);
        assert_eq!(m.max_usage, 83_886_080);
        assert_eq!(m.working_set, 67_108_864 - 31_457_280);
        assert_eq!(
            (m.cache, m.rss, m.mapped_file),
            (52_428_800, 10_485_760, 4_194_304)
        );
        assert_eq!(m.swap, 1_048_576);
        assert_eq!((m.failcnt, m.pgfault, m.pgmajfault), (0, 12345, 67));
        assert_eq!(m.oom_kills, Some(1));
        assert_eq!((m.events_high, m.events_max), (0, 4));
        assert_eq!(
            (m.active_file, m.inactive_file, m.kernel_usage),
            (20_971_520, 31_457_280, 0)
        );
        let s = memory_spec("max\n", Some("0\n"), Some("max\n")).unwrap();
        assert_eq!(
            (s.limit, s.reservation, s.swap_limit),
            (u64::MAX, 0, u64::MAX)
        );
    }

    #[test]
    fn memory_of_the_root_is_emulated_from_stat_and_meminfo() {
        let f = MemoryFiles {
            stat: STAT,
            ..MemoryFiles::default()
        };
        let host = HostMemory {
            mem_total: 1 << 32,
            swap_total: 1 << 30,
            swap_free: (1 << 30) - 8192,
        };
        let m = memory_stats(&f, Some(&host)).unwrap();
        assert_eq!(m.usage, 10_485_760 + 52_428_800);
        assert_eq!(m.swap, 8192);
        assert_eq!(m.max_usage, 0);
        assert_eq!(m.oom_kills, None);
        assert!(memory_stats(&f, None).is_err());
    }
}
