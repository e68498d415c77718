//! The family's machinery: the table's row type ([`Program`], [`Attach`]), the host checks (BTF,
//! capabilities), the one loader every row goes through ([`load_program`]), [`setup`] over [`PROGRAMS`]
//! and the status collector.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aya::maps::Map;
use aya::programs::perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy};
use aya::programs::PerfEvent;
use aya::{Btf, Ebpf, EbpfLoader, Endianness};
use hostlens_collectors::{CollectError, Collector, MetricSet, Roots};

use crate::PROGRAMS;

/// One row of the family's table (`src/programs.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// `--no-collector.ebpf.<name>`, the `program` label, the object's file name.
    pub name: &'static str,
    /// The C source, relative to `agent-bpf/src/` (compiled by build.rs).
    pub source: &'static str,
    /// The help of `--no-collector.ebpf.<name>`.
    pub help: &'static str,
    /// The compiled object, embedded.
    pub object: &'static [u8],
    /// Where its programs attach, in order.
    pub attach: &'static [Attach],
    /// The maps the reader reads, each named as its metric without `ebpf_exporter_`.
    pub maps: &'static [&'static str],
    /// Makes the collector from the loaded object.
    pub reader: Reader,
}

/// Makes a program's collector from its loaded, attached object.
pub type Reader = fn(Loaded, &EbpfConfig) -> Result<Box<dyn Collector>, EbpfError>;

/// Where one program of an object attaches.
#[derive(Debug, Clone, Copy)]
pub enum Attach {
    /// A `tp_btf` program on a BTF-typed tracepoint.
    TpBtf {
        program: &'static str,
        tracepoint: &'static str,
    },
    /// A `perf_event` program on one counter per online CPU, counting every task. A hardware event is
    /// probed first ([`crate::perf::probe_hardware`]): where the host has no PMU the program is not loaded
    /// and the reason says so.
    PerfEvent {
        program: &'static str,
        event: PerfEventConfig,
        /// Samples per second (the program runs on each sample).
        frequency: u64,
    },
}

impl Attach {
    /// The program's name inside the object.
    pub fn program(&self) -> &'static str {
        match self {
            Attach::TpBtf { program, .. } | Attach::PerfEvent { program, .. } => program,
        }
    }
}

/// A program's object, loaded and attached, handed to its [`Reader`].
pub struct Loaded {
    /// The object: its programs and their links live as long as this.
    pub ebpf: Ebpf,
    /// The row's maps, in the row's order, taken out of the object.
    pub maps: Vec<MetricMap>,
    /// The CPUs the `perf_event` programs are attached on (empty without them).
    pub cpus: Vec<u32>,
}

/// A map holding one metric family.
pub struct MetricMap {
    /// The map's name (the metric's without `ebpf_exporter_`).
    pub name: &'static str,
    /// `ebpf_exporter_<name>`.
    pub metric: String,
    pub map: Map,
}

impl Loaded {
    /// Check that the row lists the `n` maps its reader reads (the reader then indexes `maps`).
    pub fn expect_maps(&self, program: &str, n: usize) -> Result<(), EbpfError> {
        if self.maps.len() == n {
            return Ok(());
        }
        Err(EbpfError::Unavailable(format!(
            "{program}: its reader reads {n} maps, its row in src/programs.rs lists {}",
            self.maps.len()
        )))
    }
}

/// Linux capability numbers (include/uapi/linux/capability.h).
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// Options of the family.
#[derive(Debug, Clone)]
pub struct EbpfConfig {
    /// `<sysfs>/kernel/btf/vmlinux` (BTF) and `<sysfs>/dev/block` (device names); `<procfs>/partitions`.
    pub roots: Arc<Roots>,
    /// Programs switched off with `--no-collector.ebpf.<name>`.
    pub disabled: Vec<String>,
    /// Where the process's effective capabilities are read (`/proc/self/status`; a test can point
    /// elsewhere).
    pub self_status: PathBuf,
}

impl EbpfConfig {
    pub fn new(roots: Arc<Roots>) -> Self {
        EbpfConfig {
            roots,
            disabled: Vec::new(),
            self_status: PathBuf::from("/proc/self/status"),
        }
    }
}

/// Why a program is or is not running: the `reason` label of `hostlens_ebpf_program_attached`, one of a
/// fixed set of codes (free text in a label value would make a new series per message; the full text is in
/// [`ProgramStatus::detail`] and the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Loaded and attached.
    Ok,
    /// Switched off with `--no-collector.ebpf.<name>`.
    Disabled,
    /// No kernel BTF (or it cannot be read or parsed): the programs are CO-RE.
    NoBtf,
    /// The process lacks CAP_BPF / CAP_PERFMON (or CAP_SYS_ADMIN), or cannot check them.
    NoCapability,
    /// A hardware perf event the program needs is not available (no PMU, as in most VMs).
    NoPmu,
    /// The object or a program could not be loaded (relocation, verifier, a missing program or map).
    LoadFailed,
    /// A program loaded but could not be attached.
    AttachFailed,
}

impl Reason {
    /// Every code, in a fixed order.
    pub const ALL: [Reason; 7] = [
        Reason::Ok,
        Reason::Disabled,
        Reason::NoBtf,
        Reason::NoCapability,
        Reason::NoPmu,
        Reason::LoadFailed,
        Reason::AttachFailed,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::Disabled => "disabled",
            Reason::NoBtf => "no_btf",
            Reason::NoCapability => "no_capability",
            Reason::NoPmu => "no_pmu",
            Reason::LoadFailed => "load_failed",
            Reason::AttachFailed => "attach_failed",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether one program runs, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramStatus {
    pub program: &'static str,
    pub attached: bool,
    /// The `reason` label.
    pub reason: Reason,
    /// The full error, for the log (may hold a verifier log); empty when attached.
    pub detail: String,
}

/// The set-up family: the collectors of the programs that run, plus one that reports every program's
/// status.
pub struct EbpfFamily {
    pub collectors: Vec<Box<dyn Collector>>,
    pub status: Vec<ProgramStatus>,
    /// Why the whole family is off (no BTF, missing capabilities), with the fix.
    pub family_off: Option<String>,
}

/// Why the family or a program cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error("loading the {object} object: {source}")]
    Load {
        object: &'static str,
        #[source]
        source: aya::EbpfError,
    },
    #[error("program {program}: {what}: {source}")]
    Program {
        program: &'static str,
        what: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("{0} is missing from the object")]
    Missing(String),
    #[error("map {map}: {source}")]
    Map {
        map: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("reading the kernel's BTF at {path}: {source}")]
    Btf {
        path: PathBuf,
        #[source]
        source: aya::BtfError,
    },
    #[error("{0}")]
    Unavailable(String),
    /// A hardware perf event is not available on this host.
    #[error("{0}")]
    NoPmu(String),
}

impl EbpfError {
    /// The `reason` code of a program that failed with this error.
    pub fn reason(&self) -> Reason {
        match self {
            EbpfError::Btf { .. } => Reason::NoBtf,
            EbpfError::NoPmu(_) => Reason::NoPmu,
            EbpfError::Program { what, .. } if what.starts_with("attaching") => {
                Reason::AttachFailed
            }
            EbpfError::Unavailable(_) => Reason::AttachFailed,
            EbpfError::Load { .. }
            | EbpfError::Program { .. }
            | EbpfError::Missing(_)
            | EbpfError::Map { .. } => Reason::LoadFailed,
        }
    }

    /// The first line of the error and its causes, short enough for a label.
    pub fn short(&self) -> String {
        let s = self.detail();
        let first = s.lines().next().unwrap_or_default();
        first.chars().take(200).collect()
    }

    /// The whole chain, for the log.
    pub fn detail(&self) -> String {
        let mut s = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(e) = src {
            s.push_str(": ");
            s.push_str(&e.to_string());
            src = e.source();
        }
        s
    }
}

/// The effective capability mask from a `/proc/<pid>/status` text (`CapEff:\t000001ffffffffff`).
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// The capabilities missing for loading tracing programs and opening perf events: CAP_BPF and
/// CAP_PERFMON (Linux ≥ 5.8), or CAP_SYS_ADMIN, which covers both. Empty when nothing is missing.
pub fn missing_capabilities(cap_eff: u64) -> Vec<&'static str> {
    let has = |c: u32| cap_eff & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) {
        return Vec::new();
    }
    let mut missing = Vec::new();
    if !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    missing
}

/// What must hold before anything is loaded; the error names the fix (and has its code).
pub fn preflight(cfg: &EbpfConfig) -> Result<Btf, (Reason, String)> {
    let btf_path = cfg.roots.sys("kernel/btf/vmlinux");
    if !btf_path.is_file() {
        return Err((Reason::NoBtf, format!(
            "no kernel BTF at {}: the eBPF programs are CO-RE and need a kernel built with \
             CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2020 are); the node family keeps working",
            btf_path.display()
        )));
    }
    match std::fs::read_to_string(&cfg.self_status) {
        Ok(text) => {
            let eff = parse_cap_eff(&text).unwrap_or(0);
            let missing = missing_capabilities(eff);
            if !missing.is_empty() {
                return Err((Reason::NoCapability, format!(
                    "missing capabilities {}: loading the eBPF programs needs CAP_BPF and CAP_PERFMON \
                     (or CAP_SYS_ADMIN); run the agent as root or grant them (systemd: \
                     AmbientCapabilities=CAP_BPF CAP_PERFMON; docker: --cap-add BPF --cap-add PERFMON)",
                    missing.join(", ")
                )));
            }
        }
        Err(e) => {
            return Err((
                Reason::NoCapability,
                format!(
                    "cannot read {} to check capabilities: {e}",
                    cfg.self_status.display()
                ),
            ))
        }
    }
    Btf::parse_file(&btf_path, Endianness::default()).map_err(|e| {
        let e = EbpfError::Btf {
            path: btf_path.clone(),
            source: e,
        };
        (e.reason(), e.detail())
    })
}

/// A loader without BTF yet. aya's `EbpfLoader::new()` parses `/sys/kernel/btf/vmlinux` itself (ignoring
/// `--path.sysfs`), ~13 MiB of heap per loader on a 6.x kernel, on top of ours: that copy is dropped at
/// once, before ours is parsed, so only one parsed BTF is alive at any time, and one loader serves every
/// object.
pub fn new_loader<'a>() -> EbpfLoader<'a> {
    let mut loader = EbpfLoader::new();
    loader.btf(None);
    loader
}

/// Load an object with `loader` (set up with the kernel's BTF for CO-RE relocations).
fn load_object(
    loader: &mut EbpfLoader<'_>,
    object: &'static str,
    bytes: &[u8],
) -> Result<Ebpf, EbpfError> {
    loader
        .load(bytes)
        .map_err(|source| EbpfError::Load { object, source })
}

/// Give freed heap back to the kernel: loading leaves the parsed BTF's pages in the allocator's free lists
/// (glibc trims only the top of the heap), ~20 MiB of resident memory the agent never uses again.
fn release_freed_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Load the `tp_btf` program `program` of `ebpf` for `tracepoint` and attach it.
fn attach_tp_btf(
    ebpf: &mut Ebpf,
    program: &'static str,
    tracepoint: &str,
    btf: &Btf,
) -> Result<(), EbpfError> {
    let p: &mut aya::programs::BtfTracePoint = ebpf
        .program_mut(program)
        .ok_or_else(|| EbpfError::Missing(format!("program {program}")))?
        .try_into()
        .map_err(|source| EbpfError::Program {
            program,
            what: "not a tp_btf program",
            source,
        })?;
    p.load(tracepoint, btf)
        .map_err(|source| EbpfError::Program {
            program,
            what: "loading (verifier)",
            source,
        })?;
    p.attach().map_err(|source| EbpfError::Program {
        program,
        what: "attaching",
        source,
    })?;
    Ok(())
}

/// A map-reading error as a collection error.
pub(crate) fn map_err(map: &'static str) -> impl Fn(aya::maps::MapError) -> CollectError {
    move |source| CollectError::Other(EbpfError::Map { map, source }.detail())
}

/// One kernel program of a loaded row, for ebpf_exporter's self metrics: a duplicate of its descriptor
/// (the row's collector owns the object; this only reads `/proc/self/fdinfo/<fd>`).
pub struct KernelProgram {
    /// The row (ebpf_exporter's config): `syscalls`, …
    pub config: &'static str,
    /// The program's name in the object (`syscalls_enter`, …).
    pub program: &'static str,
    pub fd: aya::programs::ProgramFd,
}

/// What `/proc/<pid>/fdinfo/<fd>` says about a BPF program (the fields ebpf_exporter reads).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProgFdInfo {
    pub id: Option<u32>,
    /// `prog_tag`: the hex SHA of the instructions, as the kernel prints it.
    pub tag: String,
    /// Nanoseconds spent running it while `kernel.bpf_stats_enabled` was 1.
    pub run_time_ns: u64,
    /// Runs counted while `kernel.bpf_stats_enabled` was 1.
    pub run_cnt: u64,
}

/// Parse a BPF program's fdinfo (`prog_tag:\t…`, `prog_id:\t…`, `run_time_ns:\t…`, `run_cnt:\t…`).
pub fn parse_prog_fdinfo(text: &str) -> Result<ProgFdInfo, String> {
    let mut info = ProgFdInfo::default();
    let num = |k: &str, v: &str| {
        v.parse::<u64>()
            .map_err(|e| format!("{k} {v:?} is not a number: {e}"))
    };
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(k), Some(v)) = (f.next(), f.next()) else {
            continue;
        };
        match k {
            "prog_tag:" => info.tag = v.to_string(),
            "prog_id:" => {
                info.id = Some(
                    v.parse()
                        .map_err(|e| format!("prog_id {v:?} is not a number: {e}"))?,
                )
            }
            "run_time_ns:" => info.run_time_ns = num(k, v)?,
            "run_cnt:" => info.run_cnt = num(k, v)?,
            _ => {}
        }
    }
    if info.id.is_none() {
        return Err("no prog_id: line (not a BPF program's descriptor?)".into());
    }
    Ok(info)
}

/// Whether `kernel.bpf_stats_enabled` (`<procfs>/sys/kernel/bpf_stats_enabled`) is on; absent: off.
pub fn bpf_stats_enabled(path: &Path) -> Result<bool, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t.trim() != "0"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// ebpf_exporter 2.5.1's self metrics (exporter/exporter.go) for the rows that run and their kernel
/// programs, given each program's fdinfo (`None` when it could not be read).
pub fn write_self_metrics(
    configs: &[&str],
    programs: &[(&str, &str, &ProgFdInfo)],
    stats_enabled: bool,
    out: &mut MetricSet,
) {
    for c in configs {
        out.gauge(
            "ebpf_exporter_enabled_configs",
            "The set of enabled configs",
            &[("name", c)],
            1.0,
        );
    }
    for c in configs {
        // Our readers decode map keys without a failing decoder: never incremented, served as upstream
        // serves it for every config (initialised to 0).
        out.counter(
            "ebpf_exporter_decoder_errors_total",
            "How many times has decoders encountered errors",
            &[("config", c)],
            0.0,
        );
    }
    for (config, program, info) in programs {
        let id = info.id.map(|i| i.to_string()).unwrap_or_default();
        out.gauge(
            "ebpf_exporter_ebpf_program_info",
            "Info about ebpf programs",
            &[
                ("config", config),
                ("program", program),
                ("tag", &info.tag),
                ("id", &id),
            ],
            1.0,
        );
        // Every program we report was attached by the loader, and stays so while the agent runs.
        out.gauge(
            "ebpf_exporter_ebpf_program_attached",
            "Whether a program is attached",
            &[("id", &id)],
            1.0,
        );
        if stats_enabled {
            out.counter(
                "ebpf_exporter_ebpf_program_run_time_seconds",
                "How long has the program been executing",
                &[("id", &id)],
                info.run_time_ns as f64 / 1e9,
            );
            out.counter(
                "ebpf_exporter_ebpf_program_run_count_total",
                "How many times has the program been executed",
                &[("id", &id)],
                info.run_cnt as f64,
            );
        }
    }
}

/// Reports `hostlens_ebpf_program_attached` for every program of the family, and ebpf_exporter's self
/// metrics for those that run.
struct Status {
    status: Vec<ProgramStatus>,
    programs: Vec<KernelProgram>,
    /// `<procfs>/sys/kernel/bpf_stats_enabled`.
    stats_path: PathBuf,
}

impl Collector for Status {
    fn name(&self) -> &'static str {
        "ebpf"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for s in &self.status {
            out.gauge(
                "hostlens_ebpf_program_attached",
                "hostlens: whether an eBPF program of the ebpf family is loaded and attached (1), or not (0) \
                 and why (a fixed code: ok, disabled, no_btf, no_capability, no_pmu, load_failed, \
                 attach_failed; the log has the full text).",
                &[("program", s.program), ("reason", s.reason.as_str())],
                if s.attached { 1.0 } else { 0.0 },
            );
        }
        use std::os::fd::{AsFd, AsRawFd};
        let mut errors = Vec::new();
        let mut infos = Vec::with_capacity(self.programs.len());
        for p in &self.programs {
            let path = format!("/proc/self/fdinfo/{}", p.fd.as_fd().as_raw_fd());
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_prog_fdinfo(&t))
            {
                Ok(info) => infos.push((p.config, p.program, info)),
                Err(e) => errors.push(format!("program {} ({path}): {e}", p.program)),
            }
        }
        let stats = match bpf_stats_enabled(&self.stats_path) {
            Ok(on) => on,
            Err(e) => {
                errors.push(e);
                false
            }
        };
        let mut configs: Vec<&str> = Vec::new();
        for s in self.status.iter().filter(|s| s.attached) {
            configs.push(s.program);
        }
        let refs: Vec<(&str, &str, &ProgFdInfo)> =
            infos.iter().map(|(c, p, i)| (*c, *p, i)).collect();
        write_self_metrics(&configs, &refs, stats, out);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CollectError::Other(errors.join("; ")))
        }
    }
}

/// Load `program`'s object with the kernel's BTF, attach its programs, take its maps and make its
/// collector: the one loader of every row of the table.
pub fn load_program(
    program: &Program,
    cfg: &EbpfConfig,
    btf: &Btf,
) -> Result<Box<dyn Collector>, EbpfError> {
    let mut loader = new_loader();
    loader.btf(Some(btf));
    load_row(&mut loader, program, cfg, btf).map(|(c, _)| c)
}

/// [`load_program`] with a loader set up with `btf` ([`new_loader`]), also returning the row's kernel
/// programs (for ebpf_exporter's self metrics).
pub fn load_row(
    loader: &mut EbpfLoader<'_>,
    program: &Program,
    cfg: &EbpfConfig,
    btf: &Btf,
) -> Result<(Box<dyn Collector>, Vec<KernelProgram>), EbpfError> {
    for a in program.attach {
        if let Attach::PerfEvent {
            event: PerfEventConfig::Hardware(hw),
            ..
        } = a
        {
            crate::perf::probe_hardware(*hw).map_err(EbpfError::NoPmu)?;
        }
    }
    let mut ebpf = load_object(loader, program.name, program.object)?;
    let mut cpus = Vec::new();
    for a in program.attach {
        match *a {
            Attach::TpBtf {
                program,
                tracepoint,
            } => attach_tp_btf(&mut ebpf, program, tracepoint, btf)?,
            Attach::PerfEvent {
                program,
                event,
                frequency,
            } => {
                if cpus.is_empty() {
                    cpus = aya::util::online_cpus().map_err(|(what, e)| {
                        EbpfError::Unavailable(format!("reading {what}: {e}"))
                    })?;
                }
                attach_perf_event(&mut ebpf, program, event, frequency, &cpus)?;
            }
        }
    }
    let mut kernel = Vec::with_capacity(program.attach.len());
    for a in program.attach {
        let name = a.program();
        let fd = ebpf
            .program(name)
            .ok_or_else(|| EbpfError::Missing(format!("program {name}")))?
            .fd()
            .map_err(|source| EbpfError::Program {
                program: name,
                what: "its descriptor",
                source,
            })?
            .try_clone()
            .map_err(|e| {
                EbpfError::Unavailable(format!("duplicating program {name}'s descriptor: {e}"))
            })?;
        kernel.push(KernelProgram {
            config: program.name,
            program: name,
            fd,
        });
    }
    let mut maps = Vec::with_capacity(program.maps.len());
    for &name in program.maps {
        let map = ebpf
            .take_map(name)
            .ok_or_else(|| EbpfError::Missing(format!("map {name}")))?;
        maps.push(MetricMap {
            name,
            metric: format!("ebpf_exporter_{name}"),
            map,
        });
    }
    let collector = (program.reader)(Loaded { ebpf, maps, cpus }, cfg)?;
    Ok((collector, kernel))
}

/// Load the `perf_event` program `program` and attach it to `event` on every CPU of `cpus`.
fn attach_perf_event(
    ebpf: &mut Ebpf,
    program: &'static str,
    event: PerfEventConfig,
    frequency: u64,
    cpus: &[u32],
) -> Result<(), EbpfError> {
    let p: &mut PerfEvent = ebpf
        .program_mut(program)
        .ok_or_else(|| EbpfError::Missing(format!("program {program}")))?
        .try_into()
        .map_err(|source| EbpfError::Program {
            program,
            what: "not a perf_event program",
            source,
        })?;
    p.load().map_err(|source| EbpfError::Program {
        program,
        what: "loading (verifier)",
        source,
    })?;
    for &cpu in cpus {
        p.attach(
            event,
            PerfEventScope::AllProcessesOneCpu { cpu },
            SamplePolicy::Frequency(frequency),
            false,
        )
        .map_err(|source| EbpfError::Program {
            program,
            what: "attaching to the perf counter",
            source,
        })?;
    }
    Ok(())
}

/// Check the host, load and attach every enabled program. Never fails: what cannot run is in the status.
pub fn setup(cfg: &EbpfConfig) -> EbpfFamily {
    let mut collectors: Vec<Box<dyn Collector>> = Vec::new();
    let mut status = Vec::new();
    let mut kernel = Vec::new();
    let off = |program: &'static str, reason: Reason, detail: &str| ProgramStatus {
        program,
        attached: false,
        reason,
        detail: detail.to_string(),
    };
    let flag_off = |p: &str| cfg.disabled.iter().any(|d| d == p);
    let any_on = PROGRAMS.iter().any(|r| !flag_off(r.name));
    // Before our BTF is parsed (see new_loader).
    let mut loader = any_on.then(new_loader);
    let preflight = preflight(cfg);
    let family_off = preflight.as_ref().err().map(|(_, d)| d.clone());
    if let (Some(l), Ok(btf)) = (loader.as_mut(), &preflight) {
        l.btf(Some(btf));
    }
    for row in PROGRAMS {
        let program = row.name;
        if flag_off(program) {
            let r = format!("disabled by --no-collector.ebpf.{program}");
            status.push(off(program, Reason::Disabled, &r));
            continue;
        }
        let (btf, loader) = match (&preflight, loader.as_mut()) {
            (Ok(btf), Some(l)) => (btf, l),
            (Err((reason, detail)), _) => {
                status.push(off(program, *reason, detail));
                continue;
            }
            (Ok(_), None) => unreachable!("a row is enabled, so the loader exists"),
        };
        match load_row(loader, row, cfg, btf) {
            Ok((c, k)) => {
                collectors.push(c);
                kernel.extend(k);
                status.push(ProgramStatus {
                    program,
                    attached: true,
                    reason: Reason::Ok,
                    detail: String::new(),
                });
            }
            Err(e) => status.push(off(program, e.reason(), &e.detail())),
        }
    }
    // Everything that is only needed to load: the loader, the parsed kernel BTF, the freed heap.
    drop(loader);
    drop(preflight);
    release_freed_heap();
    collectors.push(Box::new(Status {
        status: status.clone(),
        programs: kernel,
        stats_path: cfg.roots.proc("sys/kernel/bpf_stats_enabled"),
    }));
    EbpfFamily {
        collectors,
        status,
        family_off,
    }
}

/// `<sysfs>/dev/block/MAJ:MIN/uevent`'s path.
pub(crate) fn uevent_path(roots: &Roots, major: u32, minor: u32) -> PathBuf {
    roots.sys(&format!("dev/block/{major}:{minor}/uevent"))
}

/// Read a file, `None` when it is absent or unreadable (used for optional name lookups).
pub(crate) fn read_optional(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities() {
        let root = "Name:\tagent\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(parse_cap_eff(root), Some(0x1ff_ffff_ffff));
        assert!(missing_capabilities(0x1ff_ffff_ffff).is_empty());
        assert_eq!(missing_capabilities(0), vec!["CAP_BPF", "CAP_PERFMON"]);
        assert_eq!(missing_capabilities(1 << CAP_BPF), vec!["CAP_PERFMON"]);
        assert!(missing_capabilities((1 << CAP_BPF) | (1 << CAP_PERFMON)).is_empty());
        assert!(missing_capabilities(1 << CAP_SYS_ADMIN).is_empty());
        assert_eq!(parse_cap_eff("Name:\tx\n"), None);
    }

    /// `/proc/self/fdinfo/<fd>` of a loaded tracing program (Linux 6.x), with bpf_stats_enabled on.
    const FDINFO: &str = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2085\nprog_type:\t26\n\
        prog_jited:\t1\nprog_tag:\ta04f5eef06a7f555\nmemlock:\t4096\nprog_id:\t4242\n\
        run_time_ns:\t1500000000\nrun_cnt:\t3000\nrecursion_misses:\t0\nverified_insns:\t13\n";

    #[test]
    fn prog_fdinfo() {
        let i = parse_prog_fdinfo(FDINFO).unwrap();
        assert_eq!(
            i,
            ProgFdInfo {
                id: Some(4242),
                tag: "a04f5eef06a7f555".into(),
                run_time_ns: 1_500_000_000,
                run_cnt: 3000,
            }
        );
        // An older kernel without the stats lines: zeros.
        let i = parse_prog_fdinfo("prog_tag:\tff\nprog_id:\t7\n").unwrap();
        assert_eq!((i.id, i.run_cnt), (Some(7), 0));
        assert!(parse_prog_fdinfo("pos:\t0\nflags:\t02\n").is_err());
        assert!(parse_prog_fdinfo("prog_id:\tx\n").is_err());
        assert!(parse_prog_fdinfo("prog_id:\t1\nrun_cnt:\t-1\n").is_err());
    }

    #[test]
    fn self_metrics_as_ebpf_exporter_names_them() {
        let info = parse_prog_fdinfo(FDINFO).unwrap();
        let progs = [("syscalls", "syscalls_enter", &info)];
        let mut off = MetricSet::new();
        write_self_metrics(&["syscalls"], &progs, false, &mut off);
        let mut on = MetricSet::new();
        write_self_metrics(&["syscalls"], &progs, true, &mut on);
        for out in [&off, &on] {
            assert_eq!(
                out.value("ebpf_exporter_enabled_configs", &[("name", "syscalls")]),
                Some(1.0)
            );
            assert_eq!(
                out.value(
                    "ebpf_exporter_decoder_errors_total",
                    &[("config", "syscalls")]
                ),
                Some(0.0)
            );
            assert_eq!(
                out.value(
                    "ebpf_exporter_ebpf_program_info",
                    &[
                        ("config", "syscalls"),
                        ("program", "syscalls_enter"),
                        ("tag", "a04f5eef06a7f555"),
                        ("id", "4242")
                    ]
                ),
                Some(1.0)
            );
            assert_eq!(
                out.value("ebpf_exporter_ebpf_program_attached", &[("id", "4242")]),
                Some(1.0)
            );
        }
        assert!(off
            .get("ebpf_exporter_ebpf_program_run_time_seconds")
            .is_none());
        assert!(off
            .get("ebpf_exporter_ebpf_program_run_count_total")
            .is_none());
        assert_eq!(
            on.value(
                "ebpf_exporter_ebpf_program_run_time_seconds",
                &[("id", "4242")]
            ),
            Some(1.5)
        );
        assert_eq!(
            on.value(
                "ebpf_exporter_ebpf_program_run_count_total",
                &[("id", "4242")]
            ),
            Some(3000.0)
        );
        let text = hostlens_exposition::encode(
            &hostlens_exposition::gather(vec![("t".into(), on)]).families,
        );
        for (name, kind, help) in [
            (
                "ebpf_exporter_enabled_configs",
                "gauge",
                "The set of enabled configs",
            ),
            (
                "ebpf_exporter_ebpf_program_info",
                "gauge",
                "Info about ebpf programs",
            ),
            (
                "ebpf_exporter_ebpf_program_attached",
                "gauge",
                "Whether a program is attached",
            ),
            (
                "ebpf_exporter_ebpf_program_run_time_seconds",
                "counter",
                "How long has the program been executing",
            ),
            (
                "ebpf_exporter_ebpf_program_run_count_total",
                "counter",
                "How many times has the program been executed",
            ),
            (
                "ebpf_exporter_decoder_errors_total",
                "counter",
                "How many times has decoders encountered errors",
            ),
        ] {
            assert!(
                text.contains(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n")),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn stats_switch() {
        let dir = std::env::temp_dir().join(format!("hostlens-bpfstats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bpf_stats_enabled");
        assert_eq!(bpf_stats_enabled(&f), Ok(false));
        std::fs::write(&f, "1\n").unwrap();
        assert_eq!(bpf_stats_enabled(&f), Ok(true));
        std::fs::write(&f, "0\n").unwrap();
        assert_eq!(bpf_stats_enabled(&f), Ok(false));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reason_codes_are_a_fixed_set_of_label_safe_words() {
        let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            codes,
            [
                "ok",
                "disabled",
                "no_btf",
                "no_capability",
                "no_pmu",
                "load_failed",
                "attach_failed"
            ]
        );
        assert!(codes
            .iter()
            .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
        assert_eq!(EbpfError::NoPmu("x".into()).reason(), Reason::NoPmu);
        assert_eq!(
            EbpfError::Missing("map m".into()).reason(),
            Reason::LoadFailed
        );
        assert_eq!(
            EbpfError::Unavailable("cpus".into()).reason(),
            Reason::AttachFailed
        );
    }

    #[test]
    fn no_btf_turns_the_family_off_with_the_fix() {
        let dir = std::env::temp_dir().join(format!("hostlens-nobtf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let roots = Arc::new(Roots::new("/proc", &dir, "/", None));
        let mut cfg = EbpfConfig::new(roots);
        cfg.disabled = vec!["llcstat".into()];
        let fam = setup(&cfg);
        let off = fam.family_off.as_deref().unwrap();
        assert!(off.contains("CONFIG_DEBUG_INFO_BTF=y"), "{off}");
        assert_eq!(fam.status.len(), 3);
        assert!(fam.status.iter().all(|s| !s.attached));
        assert_eq!(fam.status[2].reason, Reason::Disabled);
        assert_eq!(
            fam.status[2].detail,
            "disabled by --no-collector.ebpf.llcstat"
        );
        assert_eq!(fam.status[0].reason, Reason::NoBtf);
        assert!(fam.status[0].detail.starts_with("no kernel BTF at"));
        assert_eq!(fam.collectors.len(), 1);
        let mut out = MetricSet::new();
        fam.collectors[0].collect(&mut out).unwrap();
        assert_eq!(
            out.value(
                "hostlens_ebpf_program_attached",
                &[("program", "syscalls"), ("reason", "no_btf")]
            ),
            Some(0.0)
        );
        assert_eq!(
            out.value(
                "hostlens_ebpf_program_attached",
                &[("program", "llcstat"), ("reason", "disabled")]
            ),
            Some(0.0)
        );
        // Nothing runs: no ebpf_exporter self metric.
        assert!(out.get("ebpf_exporter_enabled_configs").is_none());
        assert!(out.get("ebpf_exporter_ebpf_program_info").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_capabilities_turn_the_family_off_naming_them() {
        let dir = std::env::temp_dir().join(format!("hostlens-nocaps-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("kernel/btf")).unwrap();
        std::fs::write(dir.join("kernel/btf/vmlinux"), b"").unwrap();
        std::fs::write(dir.join("status"), "CapEff:\t0000000000000000\n").unwrap();
        let roots = Arc::new(Roots::new("/proc", &dir, "/", None));
        let mut cfg = EbpfConfig::new(roots);
        cfg.self_status = dir.join("status");
        let fam = setup(&cfg);
        let off = fam.family_off.as_deref().unwrap();
        assert!(off.contains("CAP_BPF, CAP_PERFMON"), "{off}");
        assert_eq!(fam.status[0].reason, Reason::NoCapability);
        assert!(fam.status[0]
            .detail
            .starts_with("missing capabilities CAP_BPF, CAP_PERFMON"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
