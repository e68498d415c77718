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

/// Whether one program runs, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramStatus {
    pub program: &'static str,
    pub attached: bool,
    /// `ok`, or a short reason (the `reason` label).
    pub reason: String,
    /// The full error, for the log (may hold a verifier log).
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
}

impl EbpfError {
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

/// What must hold before anything is loaded; the error names the fix.
pub fn preflight(cfg: &EbpfConfig) -> Result<Btf, String> {
    let btf_path = cfg.roots.sys("kernel/btf/vmlinux");
    if !btf_path.is_file() {
        return Err(format!(
            "no kernel BTF at {}: the eBPF programs are CO-RE and need a kernel built with \
             CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2020 are); the node family keeps working",
            btf_path.display()
        ));
    }
    match std::fs::read_to_string(&cfg.self_status) {
        Ok(text) => {
            let eff = parse_cap_eff(&text).unwrap_or(0);
            let missing = missing_capabilities(eff);
            if !missing.is_empty() {
                return Err(format!(
                    "missing capabilities {}: loading the eBPF programs needs CAP_BPF and CAP_PERFMON \
                     (or CAP_SYS_ADMIN); run the agent as root or grant them (systemd: \
                     AmbientCapabilities=CAP_BPF CAP_PERFMON; docker: --cap-add BPF --cap-add PERFMON)",
                    missing.join(", ")
                ));
            }
        }
        Err(e) => {
            return Err(format!(
                "cannot read {} to check capabilities: {e}",
                cfg.self_status.display()
            ))
        }
    }
    Btf::parse_file(&btf_path, Endianness::default()).map_err(|e| {
        EbpfError::Btf {
            path: btf_path.clone(),
            source: e,
        }
        .short()
    })
}

/// Load an object with the kernel's BTF for CO-RE relocations.
fn load_object(object: &'static str, bytes: &[u8], btf: &Btf) -> Result<Ebpf, EbpfError> {
    EbpfLoader::new()
        .btf(Some(btf))
        .load(bytes)
        .map_err(|source| EbpfError::Load { object, source })
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

/// Reports `hostlens_ebpf_program_attached` for every program of the family.
struct Status(Vec<ProgramStatus>);

impl Collector for Status {
    fn name(&self) -> &'static str {
        "ebpf"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for s in &self.0 {
            out.gauge(
                "hostlens_ebpf_program_attached",
                "hostlens: whether an eBPF program of the ebpf family is loaded and attached (1), or not (0) \
                 and why.",
                &[("program", s.program), ("reason", &s.reason)],
                if s.attached { 1.0 } else { 0.0 },
            );
        }
        Ok(())
    }
}

/// Load `program`'s object with the kernel's BTF, attach its programs, take its maps and make its
/// collector: the one loader of every row of the table.
pub fn load_program(
    program: &Program,
    cfg: &EbpfConfig,
    btf: &Btf,
) -> Result<Box<dyn Collector>, EbpfError> {
    for a in program.attach {
        if let Attach::PerfEvent {
            event: PerfEventConfig::Hardware(hw),
            ..
        } = a
        {
            crate::perf::probe_hardware(*hw).map_err(EbpfError::Unavailable)?;
        }
    }
    let mut ebpf = load_object(program.name, program.object, btf)?;
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
    (program.reader)(Loaded { ebpf, maps, cpus }, cfg)
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
    let off = |program: &'static str, reason: &str, detail: &str| ProgramStatus {
        program,
        attached: false,
        reason: reason.to_string(),
        detail: detail.to_string(),
    };
    let flag_off = |p: &str| cfg.disabled.iter().any(|d| d == p);
    let preflight = preflight(cfg);
    let family_off = preflight.as_ref().err().cloned();
    for row in PROGRAMS {
        let program = row.name;
        if flag_off(program) {
            let r = format!("disabled by --no-collector.ebpf.{program}");
            status.push(off(program, &r, &r));
            continue;
        }
        let btf = match &preflight {
            Ok(btf) => btf,
            Err(reason) => {
                status.push(off(program, &short_reason(reason), reason));
                continue;
            }
        };
        match load_program(row, cfg, btf) {
            Ok(c) => {
                collectors.push(c);
                status.push(ProgramStatus {
                    program,
                    attached: true,
                    reason: "ok".to_string(),
                    detail: String::new(),
                });
            }
            Err(e) => status.push(off(program, &e.short(), &e.detail())),
        }
    }
    collectors.push(Box::new(Status(status.clone())));
    EbpfFamily {
        collectors,
        status,
        family_off,
    }
}

/// The label form of a family-wide reason: its first clause.
fn short_reason(reason: &str) -> String {
    reason.split(": ").next().unwrap_or(reason).to_string()
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
        assert_eq!(
            fam.status[2].reason,
            "disabled by --no-collector.ebpf.llcstat"
        );
        assert!(fam.status[0].reason.starts_with("no kernel BTF at"));
        assert_eq!(fam.collectors.len(), 1);
        let mut out = MetricSet::new();
        fam.collectors[0].collect(&mut out).unwrap();
        assert_eq!(
            out.value("hostlens_ebpf_program_attached", &[("program", "syscalls")]),
            Some(0.0)
        );
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
        assert_eq!(
            fam.status[0].reason,
            "missing capabilities CAP_BPF, CAP_PERFMON"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
