//! `perf`: per-CPU hardware, software and cache counters and tracepoints with `perf_event_open(2)`, as
//! node_exporter 1.12.1's `collector/perf_linux.go` (off by default) with hodgesds/perf-utils v0.7.0.
//!
//! The counters are opened when the collector is built (node_exporter opens them at start-up), one per
//! event and CPU (`pid` -1: every process on that CPU), disabled, `exclude_hv`, `inherit`, read format
//! `TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING`, then enabled; a scrape reads the raw count (not scaled for
//! multiplexing, as upstream). Which events:
//! - hardware (`--collector.perf.hardware-profilers`, default all ten perf-utils knows, bus cycles opened but
//!   not exposed) → `node_perf_cpucycles_total`, `…instructions_total`, …;
//! - software (`--collector.perf.software-profilers`, default all nine, the clocks and alignment/emulation
//!   faults opened but not exposed) → `node_perf_page_faults_total`, `…context_switches_total`, …;
//! - cache (`--collector.perf.cache-profilers`, default node_exporter's sixteen) → `node_perf_cache_*`;
//! - tracepoints (`--collector.perf.tracepoint=subsystem:event`, repeatable): one group per CPU whose leader
//!   reads all of them → `node_perf_<subsystem>_<event>`.
//!
//! An event the kernel refuses (no PMU in a VM: every hardware and cache event; `perf_event_paranoid`) is
//! skipped without a word: perf-utils collects the error but `HasProfilers` is always true, so
//! node_exporter never sees it; no sample, the scrape succeeds. A tracepoint that cannot be set up (no
//! tracefs mounted, unknown event) fails the collector's construction, as upstream (the agent then refuses
//! to start, as node_exporter does).
//!
//! 1.12 vs 1.11: 1.12 logs a profiler name it does not know in the `--collector.perf.*-profilers` flags
//! (ours warns); the selection itself is the same (a flag with only unknown names selects all events, the
//! "all" set being 0 in perf-utils).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

/// `PERF_TYPE_HARDWARE`, `PERF_TYPE_SOFTWARE`, `PERF_TYPE_TRACEPOINT`, `PERF_TYPE_HW_CACHE`.
const TYPE_HARDWARE: u32 = 0;
const TYPE_SOFTWARE: u32 = 1;
const TYPE_TRACEPOINT: u32 = 2;
const TYPE_HW_CACHE: u32 = 3;
/// `perf_event_attr` bits: `disabled`, `inherit`, `exclude_hv`.
const BIT_DISABLED: u64 = 1 << 0;
const BIT_INHERIT: u64 = 1 << 1;
const BIT_EXCLUDE_HV: u64 = 1 << 6;
/// `PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING`, `PERF_FORMAT_GROUP`.
const FORMAT_TIMES: u64 = 1 | 2;
const FORMAT_GROUP: u64 = 8;
/// `PERF_SAMPLE_IDENTIFIER`, which perf-utils sets.
const SAMPLE_IDENTIFIER: u64 = 1 << 16;
/// `PERF_EVENT_IOC_ENABLE` (`_IO('$', 0)`) and `PERF_IOC_FLAG_GROUP`.
const IOC_ENABLE: u64 = 0x2400;
const IOC_FLAG_GROUP: libc::c_int = 1;
/// `PERF_FLAG_FD_CLOEXEC`.
const FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// One perf event: its perf-utils / node_exporter flag name (`None`: only opened when a set is "all"), its
/// `type` and `config`, and the sample node_exporter exposes for it (`None`: opened, not exposed).
#[derive(Debug)]
pub struct Event {
    pub flag: Option<&'static str>,
    pub type_: u32,
    pub config: u64,
    pub metric: Option<(&'static str, &'static str)>,
}

const fn ev(
    flag: Option<&'static str>,
    type_: u32,
    config: u64,
    metric: Option<(&'static str, &'static str)>,
) -> Event {
    Event {
        flag,
        type_,
        config,
        metric,
    }
}

/// perf-utils' hardware profilers, in its order (`PERF_COUNT_HW_*` configs).
pub const HARDWARE: &[Event] = &[
    ev(
        Some("CpuCycles"),
        TYPE_HARDWARE,
        0,
        Some((
            "node_perf_cpucycles_total",
            "Number of CPU cycles (frequency scaled)",
        )),
    ),
    ev(
        Some("CpuInstr"),
        TYPE_HARDWARE,
        1,
        Some(("node_perf_instructions_total", "Number of CPU instructions")),
    ),
    ev(
        Some("CacheRef"),
        TYPE_HARDWARE,
        2,
        Some((
            "node_perf_cache_refs_total",
            "Number of cache references (non frequency scaled)",
        )),
    ),
    ev(
        Some("CacheMisses"),
        TYPE_HARDWARE,
        3,
        Some(("node_perf_cache_misses_total", "Number of cache misses")),
    ),
    ev(
        Some("BranchInstr"),
        TYPE_HARDWARE,
        4,
        Some((
            "node_perf_branch_instructions_total",
            "Number of CPU branch instructions",
        )),
    ),
    ev(
        Some("BranchMisses"),
        TYPE_HARDWARE,
        5,
        Some((
            "node_perf_branch_misses_total",
            "Number of CPU branch misses",
        )),
    ),
    // Bus cycles: commented out of node_exporter's flag map, opened with "all", never exposed.
    ev(None, TYPE_HARDWARE, 6, None),
    ev(
        Some("StalledCyclesFrontend"),
        TYPE_HARDWARE,
        7,
        Some((
            "node_perf_stalled_cycles_frontend_total",
            "Number of stalled frontend CPU cycles",
        )),
    ),
    ev(
        Some("StalledCyclesBackend"),
        TYPE_HARDWARE,
        8,
        Some((
            "node_perf_stalled_cycles_backend_total",
            "Number of stalled backend CPU cycles",
        )),
    ),
    ev(
        Some("RefCpuCycles"),
        TYPE_HARDWARE,
        9,
        Some(("node_perf_ref_cpucycles_total", "Number of CPU cycles")),
    ),
];

/// perf-utils' software profilers, in its order (`PERF_COUNT_SW_*` configs).
pub const SOFTWARE: &[Event] = &[
    ev(None, TYPE_SOFTWARE, 0, None),
    ev(None, TYPE_SOFTWARE, 1, None),
    ev(
        Some("PageFault"),
        TYPE_SOFTWARE,
        2,
        Some(("node_perf_page_faults_total", "Number of page faults")),
    ),
    ev(
        Some("ContextSwitch"),
        TYPE_SOFTWARE,
        3,
        Some((
            "node_perf_context_switches_total",
            "Number of context switches",
        )),
    ),
    ev(
        Some("CpuMigration"),
        TYPE_SOFTWARE,
        4,
        Some((
            "node_perf_cpu_migrations_total",
            "Number of CPU process migrations",
        )),
    ),
    ev(
        Some("MinorFault"),
        TYPE_SOFTWARE,
        5,
        Some((
            "node_perf_minor_faults_total",
            "Number of minor page faults",
        )),
    ),
    ev(
        Some("MajorFault"),
        TYPE_SOFTWARE,
        6,
        Some((
            "node_perf_major_faults_total",
            "Number of major page faults",
        )),
    ),
    ev(None, TYPE_SOFTWARE, 7, None),
    ev(None, TYPE_SOFTWARE, 8, None),
];

/// A `PERF_TYPE_HW_CACHE` config: cache id | op << 8 | result << 16.
const fn cache(id: u64, op: u64, result: u64) -> u64 {
    id | (op << 8) | (result << 16)
}
const L1D: u64 = 0;
const L1I: u64 = 1;
const LL: u64 = 2;
const DTLB: u64 = 3;
const ITLB: u64 = 4;
const BPU: u64 = 5;
const NODE: u64 = 6;
const READ: u64 = 0;
const WRITE: u64 = 1;
const ACCESS: u64 = 0;
const MISS: u64 = 1;

/// perf-utils' cache profilers, in its order. The flag names are node_exporter's map (L1 instruction read
/// hits and the node cache are not in it: opened only when the set is "all", never exposed).
pub const CACHE: &[Event] = &[
    ev(
        Some("L1DataReadHit"),
        TYPE_HW_CACHE,
        cache(L1D, READ, ACCESS),
        Some((
            "node_perf_cache_l1d_read_hits_total",
            "Number L1 data cache read hits",
        )),
    ),
    ev(
        Some("L1DataReadMiss"),
        TYPE_HW_CACHE,
        cache(L1D, READ, MISS),
        Some((
            "node_perf_cache_l1d_read_misses_total",
            "Number L1 data cache read misses",
        )),
    ),
    ev(
        Some("L1DataWriteHit"),
        TYPE_HW_CACHE,
        cache(L1D, WRITE, ACCESS),
        Some((
            "node_perf_cache_l1d_write_hits_total",
            "Number L1 data cache write hits",
        )),
    ),
    ev(None, TYPE_HW_CACHE, cache(L1I, READ, ACCESS), None),
    ev(
        Some("L1InstrReadMiss"),
        TYPE_HW_CACHE,
        cache(L1I, READ, MISS),
        Some((
            "node_perf_cache_l1_instr_read_misses_total",
            "Number instruction L1 instruction read misses",
        )),
    ),
    ev(
        Some("LLReadHit"),
        TYPE_HW_CACHE,
        cache(LL, READ, ACCESS),
        Some((
            "node_perf_cache_ll_read_hits_total",
            "Number last level read hits",
        )),
    ),
    ev(
        Some("LLReadMiss"),
        TYPE_HW_CACHE,
        cache(LL, READ, MISS),
        Some((
            "node_perf_cache_ll_read_misses_total",
            "Number last level read misses",
        )),
    ),
    ev(
        Some("LLWriteHit"),
        TYPE_HW_CACHE,
        cache(LL, WRITE, ACCESS),
        Some((
            "node_perf_cache_ll_write_hits_total",
            "Number last level write hits",
        )),
    ),
    ev(
        Some("LLWriteMiss"),
        TYPE_HW_CACHE,
        cache(LL, WRITE, MISS),
        Some((
            "node_perf_cache_ll_write_misses_total",
            "Number last level write misses",
        )),
    ),
    ev(
        Some("DataTLBReadHit"),
        TYPE_HW_CACHE,
        cache(DTLB, READ, ACCESS),
        Some((
            "node_perf_cache_tlb_data_read_hits_total",
            "Number of data TLB read hits",
        )),
    ),
    ev(
        Some("DataTLBReadMiss"),
        TYPE_HW_CACHE,
        cache(DTLB, READ, MISS),
        Some((
            "node_perf_cache_tlb_data_read_misses_total",
            "Number of data TLB read misses",
        )),
    ),
    ev(
        Some("DataTLBWriteHit"),
        TYPE_HW_CACHE,
        cache(DTLB, WRITE, ACCESS),
        Some((
            "node_perf_cache_tlb_data_write_hits_total",
            "Number of data TLB write hits",
        )),
    ),
    ev(
        Some("DataTLBWriteMiss"),
        TYPE_HW_CACHE,
        cache(DTLB, WRITE, MISS),
        Some((
            "node_perf_cache_tlb_data_write_misses_total",
            "Number of data TLB write misses",
        )),
    ),
    ev(
        Some("InstrTLBReadHit"),
        TYPE_HW_CACHE,
        cache(ITLB, READ, ACCESS),
        Some((
            "node_perf_cache_tlb_instr_read_hits_total",
            "Number instruction TLB read hits",
        )),
    ),
    ev(
        Some("InstrTLBReadMiss"),
        TYPE_HW_CACHE,
        cache(ITLB, READ, MISS),
        Some((
            "node_perf_cache_tlb_instr_read_misses_total",
            "Number instruction TLB read misses",
        )),
    ),
    ev(
        Some("BPUReadHit"),
        TYPE_HW_CACHE,
        cache(BPU, READ, ACCESS),
        Some((
            "node_perf_cache_bpu_read_hits_total",
            "Number BPU read hits",
        )),
    ),
    ev(
        Some("BPUReadMiss"),
        TYPE_HW_CACHE,
        cache(BPU, READ, MISS),
        Some((
            "node_perf_cache_bpu_read_misses_total",
            "Number BPU read misses",
        )),
    ),
    ev(None, TYPE_HW_CACHE, cache(NODE, READ, ACCESS), None),
    ev(None, TYPE_HW_CACHE, cache(NODE, READ, MISS), None),
    ev(None, TYPE_HW_CACHE, cache(NODE, WRITE, ACCESS), None),
    ev(None, TYPE_HW_CACHE, cache(NODE, WRITE, MISS), None),
];

/// The events of a `--collector.perf.*-profilers` selection: with no names, `default` (`None`: all of
/// `events`); else the named ones, and all of `events` when none of the names is known (perf-utils' "all"
/// is the empty set). Unknown names are returned for the caller to log, as 1.12 does.
pub fn select_events<'a>(
    events: &'a [Event],
    names: &[String],
    default: Option<&[&str]>,
) -> (Vec<&'a Event>, Vec<String>) {
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !events.iter().any(|e| e.flag == Some(n.as_str())))
        .cloned()
        .collect();
    let chosen: Vec<&str> = if names.is_empty() {
        default.map(|d| d.to_vec()).unwrap_or_default()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let picked: Vec<&Event> = events
        .iter()
        .filter(|e| e.flag.is_some_and(|f| chosen.contains(&f)))
        .collect();
    if picked.is_empty() {
        (events.iter().collect(), unknown)
    } else {
        (picked, unknown)
    }
}

/// node_exporter's default cache profilers.
pub const DEFAULT_CACHE: &[&str] = &[
    "L1DataReadHit",
    "L1DataReadMiss",
    "L1DataWriteHit",
    "L1InstrReadMiss",
    "InstrTLBReadHit",
    "InstrTLBReadMiss",
    "DataTLBReadHit",
    "DataTLBReadMiss",
    "DataTLBWriteHit",
    "DataTLBWriteMiss",
    "LLReadHit",
    "LLReadMiss",
    "LLWriteHit",
    "LLWriteMiss",
    "BPUReadHit",
    "BPUReadMiss",
];

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn atoi(s: &str) -> Result<i64, ParseError> {
    s.parse::<i64>()
        .map_err(|_| ParseError::new(format!("strconv.Atoi: parsing {s:?}: invalid syntax")))
}

/// node_exporter's `perfCPUFlagToCPUs`: comma-separated CPUs and ranges `a-b` with an optional stride
/// `a-b:s` (`1-8:2` → 1, 3, 5, 7). A stride ≤ 0 over a non-empty range, on which Go would loop forever, is
/// an error here.
pub fn parse_cpus(flag: &str) -> Result<Vec<i64>, ParseError> {
    let mut cpus = Vec::new();
    for subset in flag.split(',') {
        if !subset.contains('-') {
            cpus.push(atoi(subset)?);
            continue;
        }
        let stride_set: Vec<&str> = subset.split(':').collect();
        let stride = if stride_set.len() == 2 {
            atoi(stride_set[1])?
        } else {
            1
        };
        let range: Vec<&str> = stride_set[0].split('-').collect();
        if range.len() != 2 {
            return Err(ParseError::new(format!("invalid flag value {flag:?}")));
        }
        let (start, end) = (atoi(range[0])?, atoi(range[1])?);
        if start > end {
            continue;
        }
        if stride <= 0 {
            return Err(ParseError::new(format!(
                "invalid flag value {flag:?}: stride {stride}"
            )));
        }
        let mut i = start;
        while i <= end {
            cpus.push(i);
            i = match i.checked_add(stride) {
                Some(n) => n,
                None => break,
            };
        }
    }
    Ok(cpus)
}

/// A `--collector.perf.tracepoint` value: `subsystem:event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracepoint {
    pub subsystem: String,
    pub event: String,
}

impl Tracepoint {
    /// `node_perf_<subsystem>_<event>`.
    pub fn metric(&self) -> String {
        format!("node_perf_{}_{}", self.subsystem, self.event)
    }

    /// `Perf tracepoint <subsystem>:<event>`.
    pub fn help(&self) -> String {
        format!("Perf tracepoint {}:{}", self.subsystem, self.event)
    }
}

/// node_exporter's `perfTracepointFlagToTracepoints`: each value split at `:` into exactly two parts.
pub fn parse_tracepoints(flags: &[String]) -> Result<Vec<Tracepoint>, ParseError> {
    flags
        .iter()
        .map(|t| match t.split(':').collect::<Vec<_>>()[..] {
            [s, e] => Ok(Tracepoint {
                subsystem: s.to_string(),
                event: e.to_string(),
            }),
            _ => Err(ParseError::new(format!("invalid tracepoint config {t}"))),
        })
        .collect()
}

/// perf-utils' `TraceFSMount` over a mount table: the mount point of the first `tracefs` (fields split at
/// single spaces, as it splits them).
pub fn tracefs_mount(mounts: &str) -> Option<&str> {
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() > 3 && f[2] == "tracefs").then_some(f[1])
    })
}

/// A tracepoint's `id` file: its first line, a decimal `u64`.
pub fn parse_tracepoint_id(text: &str) -> Result<u64, ParseError> {
    let line = text.lines().next().unwrap_or("");
    line.parse::<u64>().map_err(|_| {
        ParseError::new(format!(
            "strconv.ParseUint: parsing {line:?}: invalid syntax"
        ))
    })
}

/// The value of a single event's read (`value, time_enabled, time_running`).
pub fn parse_read(buf: &[u8]) -> Result<u64, ParseError> {
    let b: [u8; 8] = buf
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ParseError::new(format!("perf read of {} bytes", buf.len())))?;
    Ok(u64::from_ne_bytes(b))
}

/// The values of a group read (`nr, time_enabled, time_running, value[nr]`), `n` of them as perf-utils
/// takes them.
pub fn parse_group_read(buf: &[u8], n: usize) -> Result<Vec<u64>, ParseError> {
    if buf.len() < 24 + 8 * n {
        return Err(ParseError::new(format!(
            "perf group read of {} bytes for {n} events",
            buf.len()
        )));
    }
    Ok(buf[24..24 + 8 * n]
        .chunks_exact(8)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_ne_bytes(a)
        })
        .collect())
}

/// `struct perf_event_attr` up to `sig_data` (`PERF_ATTR_SIZE_VER7`, 128 bytes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved2: u16,
    aux_sample_size: u32,
    reserved3: u32,
    sig_data: u64,
}

/// `perf_event_open(2)` of one event on `cpu` for every process.
fn perf_event_open(
    type_: u32,
    config: u64,
    flags: u64,
    read_format: u64,
    cpu: i64,
    group: Option<&OwnedFd>,
) -> io::Result<OwnedFd> {
    let cpu = libc::c_int::try_from(cpu).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let attr = PerfEventAttr {
        type_,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config,
        sample_type: SAMPLE_IDENTIFIER,
        read_format,
        flags,
        ..Default::default()
    };
    let group_fd: libc::c_int = group.map_or(-1, |g| g.as_raw_fd());
    // SAFETY: perf_event_open with a valid, fully initialized attribute structure of the size it states.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            -1 as libc::pid_t,
            cpu,
            group_fd,
            FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `PERF_EVENT_IOC_ENABLE` (of the whole group with `group`).
fn enable(fd: &OwnedFd, group: bool) -> io::Result<()> {
    let arg = if group { IOC_FLAG_GROUP } else { 0 };
    // SAFETY: an ioctl without pointer arguments on a perf event descriptor we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), IOC_ENABLE as _, arg) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: read into a buffer we own, of its length.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// One opened event.
struct Counter {
    event: &'static Event,
    fd: OwnedFd,
}

impl Counter {
    fn read(&self) -> io::Result<u64> {
        let mut buf = [0u8; 24];
        let n = read_fd(&self.fd, &mut buf)?;
        parse_read(&buf[..n]).map_err(|e| io::Error::other(e.0))
    }
}

/// The events of one kind opened on one CPU; those the kernel refused are not there.
struct CpuCounters {
    cpu: i64,
    counters: Vec<Counter>,
}

/// Open `events` on `cpu` as perf-utils' `New*Profiler` and `Start`: a refused event is skipped (its
/// error dropped, as node_exporter never sees it); an enable that fails is the collector's error.
fn open_cpu(events: &[&'static Event], cpu: i64) -> Result<CpuCounters, CollectError> {
    let mut counters = Vec::new();
    for &event in events {
        match perf_event_open(
            event.type_,
            event.config,
            BIT_DISABLED | BIT_EXCLUDE_HV | BIT_INHERIT,
            FORMAT_TIMES,
            cpu,
            None,
        ) {
            Ok(fd) => counters.push(Counter { event, fd }),
            Err(e) => tracing::debug!(
                cpu,
                type_ = event.type_,
                config = event.config,
                "perf event not available: {e}"
            ),
        }
    }
    for c in &counters {
        enable(&c.fd, false).map_err(|e| {
            CollectError::Other(format!(
                "perf: enabling event {}/{} on CPU {cpu}: {e}",
                c.event.type_, c.event.config
            ))
        })?;
    }
    Ok(CpuCounters { cpu, counters })
}

/// One CPU's tracepoint group: the leader first.
struct TracepointGroup {
    cpu: i64,
    fds: Vec<OwnedFd>,
}

/// perf-utils' `NewGroupProfiler` and `Start` for the tracepoint configs on `cpu`.
fn open_group(configs: &[u64], cpu: i64) -> io::Result<TracepointGroup> {
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(configs.len());
    for (i, &config) in configs.iter().enumerate() {
        let flags = if i == 0 {
            BIT_DISABLED | BIT_EXCLUDE_HV
        } else {
            BIT_EXCLUDE_HV
        };
        let fd = perf_event_open(
            TYPE_TRACEPOINT,
            config,
            flags,
            FORMAT_TIMES | FORMAT_GROUP,
            cpu,
            fds.first(),
        )?;
        fds.push(fd);
    }
    if let Some(leader) = fds.first() {
        enable(leader, true)?;
    }
    Ok(TracepointGroup { cpu, fds })
}

/// The CPUs to profile by default: 0 .. Go's `runtime.NumCPU()` (the CPUs of our affinity mask).
fn default_cpus() -> Vec<i64> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills the set of the size given.
    let n = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as i64
        } else {
            1
        }
    };
    (0..n.max(1)).collect()
}

/// The perf collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// List of CPUs from which perf metrics should be collected
    #[arg(
        value_name = "CPUS",
        id = "collector.perf.cpus",
        long = "collector.perf.cpus",
        default_value = ""
    )]
    pub cpus: String,
    /// perf tracepoint that should be collected
    #[arg(
        value_name = "SUBSYSTEM:EVENT",
        id = "collector.perf.tracepoint",
        long = "collector.perf.tracepoint",
        action = clap::ArgAction::Append
    )]
    pub tracepoint: Vec<String>,
    /// disable perf hardware profilers
    #[arg(
        id = "collector.perf.disable-hardware-profilers",
        long = "collector.perf.disable-hardware-profilers"
    )]
    pub disable_hardware_profilers: bool,
    /// perf hardware profilers that should be collected
    #[arg(
        value_name = "NAME",
        id = "collector.perf.hardware-profilers",
        long = "collector.perf.hardware-profilers",
        action = clap::ArgAction::Append
    )]
    pub hardware_profilers: Vec<String>,
    /// disable perf software profilers
    #[arg(
        id = "collector.perf.disable-software-profilers",
        long = "collector.perf.disable-software-profilers"
    )]
    pub disable_software_profilers: bool,
    /// perf software profilers that should be collected
    #[arg(
        value_name = "NAME",
        id = "collector.perf.software-profilers",
        long = "collector.perf.software-profilers",
        action = clap::ArgAction::Append
    )]
    pub software_profilers: Vec<String>,
    /// disable perf cache profilers
    #[arg(
        id = "collector.perf.disable-cache-profilers",
        long = "collector.perf.disable-cache-profilers"
    )]
    pub disable_cache_profilers: bool,
    /// perf cache profilers that should be collected
    #[arg(
        value_name = "NAME",
        id = "collector.perf.cache-profilers",
        long = "collector.perf.cache-profilers",
        action = clap::ArgAction::Append
    )]
    pub cache_profilers: Vec<String>,
}

pub struct Perf {
    hardware: Vec<CpuCounters>,
    software: Vec<CpuCounters>,
    cache: Vec<CpuCounters>,
    tracepoints: Vec<Tracepoint>,
    groups: Vec<TracepointGroup>,
}

/// Where perf-utils looks for the tracefs mount: this process's own mount table (the mount point is opened
/// by us, so it is ours to resolve, not the host's `--path.procfs`).
const OWN_MOUNTS: &str = "/proc/mounts";

/// The config (`events/<subsystem>/<event>/id`) of each tracepoint, as perf-utils' `GetTracepointConfig`.
fn tracepoint_configs(tracepoints: &[Tracepoint]) -> Result<Vec<u64>, CollectError> {
    if tracepoints.is_empty() {
        return Ok(Vec::new());
    }
    let mounts = read_to_string(OWN_MOUNTS)?;
    let root = tracefs_mount(&mounts).map(PathBuf::from).ok_or_else(|| {
        CollectError::Other(
            "perf: Failed to get tracefs mount: Mount for tracefs not mounted".into(),
        )
    })?;
    tracepoints
        .iter()
        .map(|t| {
            let path = root.join(format!("events/{}/{}/id", t.subsystem, t.event));
            let text = read_to_string(&path).map_err(|e| {
                CollectError::Other(format!(
                    "perf: Failed to get tracepoint config for {}:{}: {e}",
                    t.subsystem, t.event
                ))
            })?;
            parse_tracepoint_id(&text).map_err(|e| e.at(&path))
        })
        .collect()
}

fn selection(
    kind: &str,
    events: &'static [Event],
    names: &[String],
    default: Option<&[&str]>,
) -> Vec<&'static Event> {
    let (picked, unknown) = select_events(events, names, default);
    for u in unknown {
        // 1.12.1 logs an unknown profiler name (1.11 ignored it silently).
        tracing::error!("Unknown {kind} profiler: {u}");
    }
    picked
}

impl NodeCollector for Perf {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.perf;
        let cpus = if f.cpus.is_empty() {
            default_cpus()
        } else {
            parse_cpus(&f.cpus)
                .map_err(|e| CollectError::Other(format!("--collector.perf.cpus: {e}")))?
        };
        let tracepoints = parse_tracepoints(&f.tracepoint)
            .map_err(|e| CollectError::Other(format!("--collector.perf.tracepoint: {e}")))?;
        let configs = tracepoint_configs(&tracepoints)?;
        let mut groups = Vec::new();
        if !configs.is_empty() {
            for &cpu in &cpus {
                groups.push(open_group(&configs, cpu).map_err(|e| {
                    CollectError::Other(format!(
                        "perf: opening the tracepoint group on CPU {cpu}: {e}"
                    ))
                })?);
            }
        }
        let hw = selection("hardware", HARDWARE, &f.hardware_profilers, None);
        let sw = selection("software", SOFTWARE, &f.software_profilers, None);
        let ca = selection("cache", CACHE, &f.cache_profilers, Some(DEFAULT_CACHE));
        let (mut hardware, mut software, mut cache) = (Vec::new(), Vec::new(), Vec::new());
        for &cpu in &cpus {
            if !f.disable_hardware_profilers {
                hardware.push(open_cpu(&hw, cpu)?);
            }
            if !f.disable_software_profilers {
                software.push(open_cpu(&sw, cpu)?);
            }
            if !f.disable_cache_profilers {
                cache.push(open_cpu(&ca, cpu)?);
            }
        }
        let opened = |v: &[CpuCounters]| v.iter().map(|c| c.counters.len()).sum::<usize>();
        tracing::debug!(
            hardware = opened(&hardware),
            software = opened(&software),
            cache = opened(&cache),
            "perf events opened"
        );
        Ok(Perf {
            hardware,
            software,
            cache,
            tracepoints,
            groups,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        // Hardware and cache: a failed read fails the scrape before that CPU's samples (perf-utils'
        // Profile returns every read's error); software: a failed read only leaves its sample out.
        write_counters(out, &self.hardware, true)?;
        write_counters(out, &self.software, false)?;
        write_counters(out, &self.cache, true)?;
        let mut buf = vec![0u8; 24 + 8 * self.tracepoints.len()];
        for g in &self.groups {
            let Some(leader) = g.fds.first() else {
                continue;
            };
            let n = read_fd(leader, &mut buf).map_err(|e| {
                CollectError::Other(format!("perf: reading tracepoints of CPU {}: {e}", g.cpu))
            })?;
            let values = parse_group_read(&buf[..n], g.fds.len())
                .map_err(|e| CollectError::Other(format!("perf: CPU {}: {}", g.cpu, e.0)))?;
            let cpu = g.cpu.to_string();
            for (t, v) in self.tracepoints.iter().zip(values) {
                out.counter(&t.metric(), &t.help(), &[("cpu", &cpu)], v as f64);
            }
        }
        Ok(())
    }
}

fn write_counters(
    out: &mut MetricSet,
    cpus: &[CpuCounters],
    fail_on_error: bool,
) -> Result<(), CollectError> {
    for c in cpus {
        let mut values = Vec::with_capacity(c.counters.len());
        let mut failed = None;
        for counter in &c.counters {
            match counter.read() {
                Ok(v) => values.push((counter.event, v)),
                Err(e) => failed = Some(e),
            }
        }
        if let (Some(e), true) = (failed, fail_on_error) {
            return Err(CollectError::Other(format!(
                "perf: reading counters of CPU {}: {e}",
                c.cpu
            )));
        }
        write_values(out, c.cpu, &values);
    }
    Ok(())
}

/// The samples of one CPU's counter values (events node_exporter does not expose are left out).
fn write_values(out: &mut MetricSet, cpu: i64, values: &[(&Event, u64)]) {
    let cpu = cpu.to_string();
    for (event, v) in values {
        if let Some((name, help)) = event.metric {
            out.counter(name, help, &[("cpu", &cpu)], *v as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cpus_flag_as_node_exporter() {
        assert_eq!(parse_cpus("1").expect("ok"), vec![1]);
        assert_eq!(parse_cpus("1-5").expect("ok"), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_cpus("10").expect("ok"), vec![10]);
        assert_eq!(parse_cpus("10-12").expect("ok"), vec![10, 11, 12]);
        assert_eq!(parse_cpus("10-20:5").expect("ok"), vec![10, 15, 20]);
        assert_eq!(parse_cpus("1-8:2").expect("ok"), vec![1, 3, 5, 7]);
        assert_eq!(parse_cpus("0,2-3").expect("ok"), vec![0, 2, 3]);
        assert_eq!(parse_cpus("5-1").expect("ok"), Vec::<i64>::new());
        for bad in ["", "a", "1-", "1-2-3", "1-4:x", "1:2", "1-4:0", "1-4:-1"] {
            assert!(parse_cpus(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tracepoint_flags() {
        let t = parse_tracepoints(&names(&["sched:sched_kthread_stop", "irq:softirq_entry"]))
            .expect("ok");
        assert_eq!(t[0].subsystem, "sched");
        assert_eq!(t[0].event, "sched_kthread_stop");
        assert_eq!(t[1].metric(), "node_perf_irq_softirq_entry");
        assert_eq!(t[1].help(), "Perf tracepoint irq:softirq_entry");
        assert!(parse_tracepoints(&names(&["sched"])).is_err());
        assert!(parse_tracepoints(&names(&["a:b:c"])).is_err());
    }

    #[test]
    fn profiler_selection() {
        let flags = |v: Vec<&Event>| v.iter().map(|e| e.flag).collect::<Vec<_>>();
        // Default: every hardware event perf-utils has, bus cycles included.
        let (all, unknown) = select_events(HARDWARE, &[], None);
        assert_eq!(all.len(), 10);
        assert!(unknown.is_empty());
        let (some, _) = select_events(HARDWARE, &names(&["CpuInstr", "CpuCycles"]), None);
        assert_eq!(flags(some), vec![Some("CpuCycles"), Some("CpuInstr")]);
        // Only unknown names: perf-utils' "all".
        let (all, unknown) = select_events(SOFTWARE, &names(&["Nope", "BusCycles"]), None);
        assert_eq!(all.len(), 9);
        assert_eq!(unknown, names(&["Nope", "BusCycles"]));
        let (def, _) = select_events(CACHE, &[], Some(DEFAULT_CACHE));
        assert_eq!(def.len(), 16);
        assert!(def.iter().all(|e| e.metric.is_some()));
        let (all, _) = select_events(CACHE, &names(&["L1InstrReadHit"]), Some(DEFAULT_CACHE));
        assert_eq!(
            all.len(),
            21,
            "a name not in node_exporter's map: all of perf-utils'"
        );
        // Every exposed name is unique.
        let mut exposed: Vec<&str> = HARDWARE
            .iter()
            .chain(SOFTWARE)
            .chain(CACHE)
            .filter_map(|e| e.metric.map(|m| m.0))
            .collect();
        let n = exposed.len();
        exposed.sort();
        exposed.dedup();
        assert_eq!(exposed.len(), n);
        assert_eq!(cache(LL, WRITE, MISS), 0x1_01_02);
    }

    #[test]
    fn tracefs_and_ids() {
        let mounts = "proc /proc proc rw 0 0\n\
                      none /sys/kernel/tracing tracefs rw,relatime 0 0\n\
                      tracefs /other tracefs rw 0 0\n";
        assert_eq!(tracefs_mount(mounts), Some("/sys/kernel/tracing"));
        assert_eq!(tracefs_mount("proc /proc proc rw 0 0\n"), None);
        assert_eq!(parse_tracepoint_id("372\n"), Ok(372));
        assert!(parse_tracepoint_id("").is_err());
        assert!(parse_tracepoint_id("x\n").is_err());
    }

    #[test]
    fn reads_parse() {
        let mut b = Vec::new();
        for v in [42u64, 100, 90] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_read(&b), Ok(42));
        assert!(parse_read(&b[..4]).is_err());
        let mut g = Vec::new();
        for v in [2u64, 100, 100, 7, 9] {
            g.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_group_read(&g, 2), Ok(vec![7, 9]));
        assert!(parse_group_read(&g, 3).is_err());
    }

    #[test]
    fn attr_is_ver7() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 128);
    }

    #[test]
    fn values_are_exposed_with_node_exporters_names() {
        let mut out = MetricSet::new();
        write_values(
            &mut out,
            1,
            &[(&SOFTWARE[3], 12), (&SOFTWARE[0], 5), (&HARDWARE[0], 99)],
        );
        assert_eq!(
            out.value("node_perf_context_switches_total", &[("cpu", "1")]),
            Some(12.0)
        );
        assert_eq!(
            out.value("node_perf_cpucycles_total", &[("cpu", "1")]),
            Some(99.0)
        );
        assert_eq!(out.families().len(), 2, "the CPU clock is not exposed");
        let f = out.get("node_perf_cpucycles_total").expect("family");
        assert_eq!(f.kind, crate::Kind::Counter);
        assert_eq!(f.help, "Number of CPU cycles (frequency scaled)");
    }

    #[test]
    fn flags_parse_as_kingpins() {
        use clap::{Args, FromArgMatches};
        let d = NodeConfig::default().perf;
        assert_eq!(d.cpus, "");
        assert!(d.tracepoint.is_empty() && d.hardware_profilers.is_empty());
        assert!(!d.disable_hardware_profilers && !d.disable_software_profilers);
        assert!(!d.disable_cache_profilers);
        let cmd = NodeConfig::augment_args(clap::Command::new("node"));
        let m = cmd
            .try_get_matches_from([
                "node",
                "--collector.perf.cpus=0-1",
                "--collector.perf.tracepoint=sched:sched_switch",
                "--collector.perf.tracepoint",
                "irq:softirq_entry",
                "--collector.perf.software-profilers=ContextSwitch",
                "--collector.perf.software-profilers=PageFault",
                "--collector.perf.disable-cache-profilers",
            ])
            .expect("parses");
        let f = NodeConfig::from_arg_matches(&m).expect("config").perf;
        assert_eq!(f.cpus, "0-1");
        assert_eq!(f.tracepoint, ["sched:sched_switch", "irq:softirq_entry"]);
        assert_eq!(f.software_profilers, ["ContextSwitch", "PageFault"]);
        assert!(f.disable_cache_profilers && !f.disable_hardware_profilers);
    }

    /// An event the kernel refuses (here: a CPU that does not exist) is skipped, not an error, as
    /// perf-utils drops the error; the same whether or not we may open perf events at all.
    #[test]
    fn refused_events_are_skipped() {
        let c = open_cpu(&SOFTWARE.iter().collect::<Vec<_>>(), 1 << 20).expect("no error");
        assert!(c.counters.is_empty());
        let mut out = MetricSet::new();
        write_counters(&mut out, &[c], true).expect("nothing to read");
        assert!(out.is_empty());
    }

    /// On a host with perf events (root, or perf_event_paranoid ≤ 0), the software counters open and count;
    /// a host without a PMU (this VM) gets no hardware or cache counter and no error.
    #[test]
    #[ignore = "needs root (perf_event_open for every process on a CPU)"]
    fn software_counters_count_here() {
        let mut cfg = NodeConfig::default();
        cfg.perf.cpus = "0".into();
        let p = Perf::new(&cfg).expect("perf collector");
        let mut out = MetricSet::new();
        p.collect(&mut out).expect("collects");
        assert!(out
            .value("node_perf_context_switches_total", &[("cpu", "0")])
            .is_some());
        let hw = p.hardware.iter().map(|c| c.counters.len()).sum::<usize>();
        let cache = p.cache.iter().map(|c| c.counters.len()).sum::<usize>();
        println!("perf: {hw} hardware and {cache} cache counters opened on CPU 0");
        if hw == 0 {
            println!(
                "SKIPPED: perf hardware and cache counters: no hardware perf counters here, not measured"
            );
        }
    }
}
