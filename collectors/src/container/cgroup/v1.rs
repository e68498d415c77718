//! cgroup v1: [`CgroupStats`](super::CgroupStats) parts from the `cpuacct`, `cpu`, `memory` and `blkio`
//! controllers' files. Pure assembly from file texts (unit-tested), then thin readers over a cgroup's
//! directory in each hierarchy.
//!
//! What cAdvisor takes from where (runc `libcontainer/cgroups/fs/{cpuacct,cpu,memory,blkio}.go`, cAdvisor
//! `lib/container/libcontainer/handler.go`, `lib/container/common/helpers.go`):
//! - usage `cpuacct.usage` (ns); user/system `cpuacct.stat` in USER_HZ ticks × 1e9 / USER_HZ;
//!   `cpu.stat` `nr_periods`, `nr_throttled`, `throttled_time` (ns).
//! - memory: `memory.usage_in_bytes`, `max_usage_in_bytes`, `failcnt`; cache/rss/swap/mapped_file from
//!   `memory.stat` `total_*` when `memory.use_hierarchy` is 1 (always, since kernel 5.13), the plain keys
//!   otherwise; working set = usage − `total_inactive_file`; page faults from the *non*-`total_`
//!   `pgfault`/`pgmajfault` (the cgroup's own, reported for both scopes).
//! - limits: `memory.limit_in_bytes`, `memory.soft_limit_in_bytes` (reservation),
//!   `memory.memsw.limit_in_bytes` (swap limit, memory + swap); `cpu.shares`, `cpu.cfs_period_us`,
//!   `cpu.cfs_quota_us` (-1 → 0).
//! - block I/O: the first of these pairs whose `io_serviced` file has device lines (runc's order):
//!   `blkio.bfq.*_recursive`, `blkio.*_recursive` (CFQ), `blkio.throttle.*_recursive`, `blkio.throttle.*`.

use std::path::Path;

use super::files::Reads;
use super::parse::{
    self, in_file, keyed, opt_u64, parse_flat_keyed, parse_i64, parse_u64, DeviceIo,
};
use super::{CpuSpec, CpuStats, MemorySpec, MemoryStats};
use crate::error::{CollectError, ParseError};

/// CPU accounting from `cpuacct.usage`, `cpuacct.stat` and (when the `cpu` controller is there)
/// `cpu.stat`.
pub fn cpu_stats(
    usage: &str,
    cpuacct_stat: &str,
    cpu_stat: Option<&str>,
    user_hz: u64,
) -> Result<CpuStats, ParseError> {
    let (user_ns, system_ns) = in_file(
        "cpuacct.stat",
        parse::parse_cpuacct_stat(cpuacct_stat, user_hz),
    )?;
    let mut s = CpuStats {
        usage_ns: in_file("cpuacct.usage", parse_u64(usage))?,
        user_ns,
        system_ns,
        ..CpuStats::default()
    };
    if let Some(t) = cpu_stat {
        throttling(t, &mut s)?;
    }
    Ok(s)
}

/// `cpu.stat`: `nr_periods`, `nr_throttled`, `throttled_time` (ns), `nr_bursts`, `burst_time` (ns, kernel
/// ≥ 5.14).
pub fn throttling(cpu_stat: &str, s: &mut CpuStats) -> Result<(), ParseError> {
    let p = in_file("cpu.stat", parse_flat_keyed(cpu_stat))?;
    s.periods = keyed(&p, "nr_periods").unwrap_or(0);
    s.throttled_periods = keyed(&p, "nr_throttled").unwrap_or(0);
    s.throttled_ns = keyed(&p, "throttled_time").unwrap_or(0);
    s.bursts = keyed(&p, "nr_bursts").unwrap_or(0);
    s.burst_ns = keyed(&p, "burst_time").unwrap_or(0);
    Ok(())
}

/// CPU limits from `cpu.shares`, `cpu.cfs_period_us`, `cpu.cfs_quota_us` (absent → 0, quota -1 → 0).
pub fn cpu_spec(
    shares: Option<&str>,
    period: Option<&str>,
    quota: Option<&str>,
) -> Result<CpuSpec, ParseError> {
    let quota_us = match quota {
        Some(q) => u64::try_from(in_file("cpu.cfs_quota_us", parse_i64(q))?).unwrap_or(0),
        None => 0,
    };
    Ok(CpuSpec {
        shares: shares
            .map(|t| in_file("cpu.shares", parse_u64(t)))
            .transpose()?
            .unwrap_or(0),
        period_us: period
            .map(|t| in_file("cpu.cfs_period_us", parse_u64(t)))
            .transpose()?
            .unwrap_or(0),
        quota_us,
    })
}

/// The v1 memory files of one cgroup, as text.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryFiles<'a> {
    pub usage_in_bytes: &'a str,
    pub stat: &'a str,
    pub max_usage_in_bytes: Option<&'a str>,
    pub failcnt: Option<&'a str>,
    pub use_hierarchy: Option<&'a str>,
    pub oom_control: Option<&'a str>,
    pub kmem_usage_in_bytes: Option<&'a str>,
}

/// Memory accounting as cAdvisor's `setMemoryStats` combines it on v1.
pub fn memory_stats(f: &MemoryFiles<'_>) -> Result<MemoryStats, ParseError> {
    let usage = in_file("memory.usage_in_bytes", parse_u64(f.usage_in_bytes))?;
    let stat = in_file("memory.stat", parse_flat_keyed(f.stat))?;
    let hierarchy =
        opt_u64("memory.use_hierarchy", f.use_hierarchy)? == 1 || f.use_hierarchy.is_none();
    let get = |k: &str| {
        let key = if hierarchy {
            format!("total_{k}")
        } else {
            k.to_string()
        };
        keyed(&stat, &key).unwrap_or(0)
    };
    let working_set = match keyed(&stat, "total_inactive_file") {
        Some(inactive) => usage.saturating_sub(inactive),
        None => usage,
    };
    let oom_kills = match f.oom_control {
        Some(t) => keyed(
            &in_file("memory.oom_control", parse_flat_keyed(t))?,
            "oom_kill",
        ),
        None => None,
    };
    Ok(MemoryStats {
        usage,
        max_usage: opt_u64("memory.max_usage_in_bytes", f.max_usage_in_bytes)?,
        failcnt: opt_u64("memory.failcnt", f.failcnt)?,
        cache: get("cache"),
        rss: get("rss"),
        swap: get("swap"),
        mapped_file: get("mapped_file"),
        working_set,
        pgfault: keyed(&stat, "pgfault").unwrap_or(0),
        pgmajfault: keyed(&stat, "pgmajfault").unwrap_or(0),
        oom_kills,
        kernel_usage: opt_u64("memory.kmem.usage_in_bytes", f.kmem_usage_in_bytes)?,
        active_file: keyed(&stat, "total_active_file").unwrap_or(0),
        inactive_file: keyed(&stat, "total_inactive_file").unwrap_or(0),
        events_high: 0,
        events_max: 0,
    })
}

/// Memory limits from `memory.limit_in_bytes`, `memory.soft_limit_in_bytes`, `memory.memsw.limit_in_bytes`.
pub fn memory_spec(
    limit: &str,
    soft_limit: Option<&str>,
    memsw_limit: Option<&str>,
) -> Result<MemorySpec, ParseError> {
    Ok(MemorySpec {
        limit: in_file("memory.limit_in_bytes", parse_u64(limit))?,
        reservation: opt_u64("memory.soft_limit_in_bytes", soft_limit)?,
        swap_limit: opt_u64("memory.memsw.limit_in_bytes", memsw_limit)?,
    })
}

/// The blkio file pairs `(io_serviced, io_service_bytes)` in the order runc tries them.
pub const BLKIO_FILES: [(&str, &str); 4] = [
    (
        "blkio.bfq.io_serviced_recursive",
        "blkio.bfq.io_service_bytes_recursive",
    ),
    (
        "blkio.io_serviced_recursive",
        "blkio.io_service_bytes_recursive",
    ),
    (
        "blkio.throttle.io_serviced_recursive",
        "blkio.throttle.io_service_bytes_recursive",
    ),
    (
        "blkio.throttle.io_serviced",
        "blkio.throttle.io_service_bytes",
    ),
];

pub(super) fn read_cpu(
    r: &mut Reads<'_>,
    acct: &Path,
    cpu: Option<&Path>,
    user_hz: u64,
) -> Result<Option<CpuStats>, CollectError> {
    let (Some(usage), Some(stat)) = (
        r.opt(&acct.join("cpuacct.usage"))?,
        r.opt(&acct.join("cpuacct.stat"))?,
    ) else {
        return Ok(None);
    };
    let cpu_stat = match cpu {
        Some(d) => r.opt(&d.join("cpu.stat"))?,
        None => None,
    };
    cpu_stats(&usage, &stat, cpu_stat.as_deref(), user_hz)
        .map(Some)
        .map_err(|e| e.at(acct))
}

/// `cpuacct.usage_percpu` (empty when the file is not there).
pub(super) fn read_percpu(r: &mut Reads<'_>, acct: &Path) -> Result<Vec<u64>, CollectError> {
    let path = acct.join("cpuacct.usage_percpu");
    match r.opt(&path)? {
        Some(t) => in_file("cpuacct.usage_percpu", parse::parse_percpu(&t)).map_err(|e| e.at(acct)),
        None => Ok(Vec::new()),
    }
}

pub(super) fn add_throttling(
    r: &mut Reads<'_>,
    cpu: &Path,
    s: &mut CpuStats,
) -> Result<(), CollectError> {
    match r.opt(&cpu.join("cpu.stat"))? {
        Some(t) => throttling(&t, s).map_err(|e| e.at(cpu)),
        None => Ok(()),
    }
}

/// `None` when the cgroup has no directory in the `cpu` hierarchy (cAdvisor's `HasCpu` false).
pub(super) fn read_cpu_spec(
    r: &mut Reads<'_>,
    cpu: &Path,
) -> Result<Option<CpuSpec>, CollectError> {
    if !r.is_dir(cpu) {
        return Ok(None);
    }
    let shares = r.opt(&cpu.join("cpu.shares"))?;
    let period = r.opt(&cpu.join("cpu.cfs_period_us"))?;
    let quota = r.opt(&cpu.join("cpu.cfs_quota_us"))?;
    cpu_spec(shares.as_deref(), period.as_deref(), quota.as_deref())
        .map(Some)
        .map_err(|e| e.at(cpu))
}

pub(super) fn read_memory(
    r: &mut Reads<'_>,
    dir: &Path,
) -> Result<(Option<MemoryStats>, Option<MemorySpec>), CollectError> {
    let mut f = |name: &str| r.opt(&dir.join(name));
    let (Some(usage), Some(stat)) = (f("memory.usage_in_bytes")?, f("memory.stat")?) else {
        return Ok((None, None));
    };
    let max_usage = f("memory.max_usage_in_bytes")?;
    let failcnt = f("memory.failcnt")?;
    let use_hierarchy = f("memory.use_hierarchy")?;
    let oom_control = f("memory.oom_control")?;
    let kmem = f("memory.kmem.usage_in_bytes")?;
    let files = MemoryFiles {
        usage_in_bytes: &usage,
        stat: &stat,
        max_usage_in_bytes: max_usage.as_deref(),
        failcnt: failcnt.as_deref(),
        use_hierarchy: use_hierarchy.as_deref(),
        oom_control: oom_control.as_deref(),
        kmem_usage_in_bytes: kmem.as_deref(),
    };
    let stats = memory_stats(&files).map_err(|e| e.at(dir))?;
    let spec = match f("memory.limit_in_bytes")? {
        Some(limit) => {
            let soft = f("memory.soft_limit_in_bytes")?;
            let memsw = f("memory.memsw.limit_in_bytes")?;
            Some(memory_spec(&limit, soft.as_deref(), memsw.as_deref()).map_err(|e| e.at(dir))?)
        }
        None => None,
    };
    Ok((Some(stats), spec))
}

/// `None` when the cgroup has no blkio directory; an empty list when no file pair has device lines.
pub(super) fn read_blkio(
    r: &mut Reads<'_>,
    dir: &Path,
) -> Result<Option<Vec<DeviceIo>>, CollectError> {
    if !r.is_dir(dir) {
        return Ok(None);
    }
    for (ops_file, bytes_file) in BLKIO_FILES {
        let path = dir.join(ops_file);
        let Some(ops_text) = r.opt(&path)? else {
            continue;
        };
        let ops = parse::parse_blkio(&ops_text).map_err(|e| e.at(&path))?;
        if ops.is_empty() {
            continue;
        }
        let path = dir.join(bytes_file);
        let bytes = match r.opt(&path)? {
            Some(t) => parse::parse_blkio(&t).map_err(|e| e.at(&path))?,
            None => Vec::new(),
        };
        return Ok(Some(parse::blkio_devices(&bytes, &ops)));
    }
    Ok(Some(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `memory.stat` of a real Docker container on this kind of host (kernel 6.x, cgroupfs driver),
    /// trimmed.
    const STAT: &str = "cache 23158784\nrss 204800\nmapped_file 1626112\nswap 0\npgfault 1563\n\
        pgmajfault 34\ninactive_file 23138304\ntotal_cache 23158784\ntotal_rss 204800\n\
        total_mapped_file 1626112\ntotal_swap 4096\ntotal_pgfault 9999\ntotal_pgmajfault 99\n\
        total_inactive_file 23138304\ntotal_active_file 20480\n";

    #[test]
    fn memory_uses_total_keys_and_subtracts_inactive_file() {
        let f = MemoryFiles {
            usage_in_bytes: "24227840\n",
            stat: STAT,
            max_usage_in_bytes: Some("25124864\n"),
            failcnt: Some("3\n"),
            use_hierarchy: Some("1\n"),
            oom_control: Some("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            kmem_usage_in_bytes: Some("3145728\n"),
        };
        let m = memory_stats(&f).unwrap();
        assert_eq!(m.usage, 24_227_840);
        assert_eq!(m.max_usage, 25_124_864);
        assert_eq!(m.failcnt, 3);
        assert_eq!(m.cache, 23_158_784);
        assert_eq!(m.rss, 204_800);
        assert_eq!(m.swap, 4096);
        assert_eq!(m.mapped_file, 1_626_112);
        assert_eq!(m.working_set, 24_227_840 - 23_138_304);
        // cAdvisor takes the cgroup's own page faults, not total_pgfault.
        assert_eq!((m.pgfault, m.pgmajfault), (1563, 34));
        assert_eq!(m.oom_kills, Some(2));
        assert_eq!(
            (m.kernel_usage, m.active_file, m.inactive_file),
            (3_145_728, 20_480, 23_138_304)
        );
        assert_eq!((m.events_high, m.events_max), (0, 0));
    }

    #[test]
    fn memory_without_hierarchy_uses_plain_keys_and_floors_working_set() {
        let f = MemoryFiles {
            usage_in_bytes: "1000\n",
            stat: STAT,
            use_hierarchy: Some("0\n"),
            ..MemoryFiles::default()
        };
        let m = memory_stats(&f).unwrap();
        assert_eq!((m.swap, m.cache), (0, 23_158_784));
        assert_eq!(m.working_set, 0, "usage below inactive_file floors at 0");
        assert_eq!((m.max_usage, m.failcnt, m.oom_kills), (0, 0, None));
        let bad = MemoryFiles {
            usage_in_bytes: "x",
            stat: STAT,
            ..MemoryFiles::default()
        };
        assert!(memory_stats(&bad)
            .unwrap_err()
            .0
            .contains("memory.usage_in_bytes"));
    }

    #[test]
    fn memory_spec_values() {
        let s = memory_spec(
            "268435456\n",
            Some("9223372036854771712\n"),
            Some("536870912\n"),
        )
        .unwrap();
        assert_eq!(s.limit, 268_435_456);
        assert_eq!(s.reservation, 9_223_372_036_854_771_712);
        assert_eq!(s.swap_limit, 536_870_912);
        assert_eq!(memory_spec("1\n", None, None).unwrap().swap_limit, 0);
    }

    #[test]
    fn cpu_from_cpuacct_and_cpu_stat() {
        let s = cpu_stats(
            "36696665\n",
            "user 1\nsystem 3\n",
            Some("nr_periods 5\nnr_throttled 2\nthrottled_time 1500000000\nnr_bursts 4\nburst_time 700\n"),
            100,
        )
        .unwrap();
        assert_eq!(
            s,
            CpuStats {
                usage_ns: 36_696_665,
                user_ns: 10_000_000,
                system_ns: 30_000_000,
                periods: 5,
                throttled_periods: 2,
                throttled_ns: 1_500_000_000,
                bursts: 4,
                burst_ns: 700,
            }
        );
        assert_eq!(
            cpu_spec(Some("1024\n"), Some("100000\n"), Some("-1\n")).unwrap(),
            CpuSpec {
                shares: 1024,
                period_us: 100_000,
                quota_us: 0
            }
        );
        assert_eq!(
            cpu_spec(Some("512\n"), Some("100000\n"), Some("50000\n"))
                .unwrap()
                .quota_us,
            50000
        );
    }
}
