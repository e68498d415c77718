//! `llcstat`: ebpf_exporter_llc_references_total{cpu} and ebpf_exporter_llc_misses_total{cpu} from hardware
//! cache counters (`agent-bpf/src/llcstat.bpf.c`).
//!
//! Most VMs have no hardware performance counters. Before loading anything, [`probe_hw_counters`] opens a
//! `PERF_COUNT_HW_CACHE_REFERENCES` counter on this thread: when the kernel refuses it (no PMU: `ENOENT`
//! or `EOPNOTSUPP`), or it opens but never gets scheduled on a counter (`time_running == 0`, which some
//! hypervisors do), llcstat is unavailable and the agent says why instead of publishing zeros.

use std::sync::Mutex;

use aya::maps::PerCpuArray;
use aya::programs::perf_event::{
    HardwareEvent, PerfEvent, PerfEventConfig, PerfEventScope, SamplePolicy,
};
use aya::{Btf, Ebpf};
use hostlens_bpf::names;

use super::{load_object, map_err, EbpfConfig, EbpfError};
use crate::{CollectError, Collector, MetricSet};

const HELP: &str = "Last level cache operations by type";

/// `struct perf_event_attr` up to `config1` (PERF_ATTR_SIZE_VER0 = 64 bytes; the kernel accepts it).
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
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_CACHE_REFERENCES: u64 = 2;
const PERF_FORMAT_TOTAL_TIME_ENABLED: u64 = 1;
const PERF_FORMAT_TOTAL_TIME_RUNNING: u64 = 2;
const ATTR_DISABLED: u64 = 1;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;

/// What a counter read with `TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterReading {
    pub value: u64,
    pub time_enabled: u64,
    pub time_running: u64,
}

/// Judge a probe: `Err(reason)` when the counter never ran.
pub fn judge_reading(r: CounterReading) -> Result<(), String> {
    if r.time_running == 0 {
        return Err(format!(
            "hardware cache counter opens but never runs (time_enabled {} ns, time_running 0): \
             the hypervisor exposes no PMU",
            r.time_enabled
        ));
    }
    Ok(())
}

/// The reason for a refused `perf_event_open`.
pub fn open_failure_reason(err: &std::io::Error) -> String {
    let name = err
        .raw_os_error()
        .and_then(|n| syscalls::Errno::new(n).name())
        .unwrap_or("?");
    format!(
        "no hardware perf counters on this host (perf_event_open PERF_COUNT_HW_CACHE_REFERENCES: {name}: {err}); \
         usual in VMs"
    )
}

/// Whether this host has hardware cache counters that actually count.
pub fn probe_hw_counters() -> Result<(), String> {
    let attr = PerfEventAttr {
        type_: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: PERF_COUNT_HW_CACHE_REFERENCES,
        read_format: PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
        flags: ATTR_DISABLED,
        ..Default::default()
    };
    // SAFETY: `attr` is a valid, fully initialised perf_event_attr of the size it declares; pid 0 / cpu -1
    // is "this thread, any CPU"; the returned fd is owned below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            0 as libc::pid_t,
            -1 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(open_failure_reason(&std::io::Error::last_os_error()));
    }
    let fd = fd as libc::c_int;
    // SAFETY: fd is a perf event descriptor we own; closed exactly once at the end.
    let reading = unsafe {
        libc::ioctl(fd, PERF_EVENT_IOC_ENABLE as _, 0);
        // Run a little so a working counter gets time on the PMU.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        libc::ioctl(fd, PERF_EVENT_IOC_DISABLE as _, 0);
        let mut buf = [0u64; 3];
        let n = libc::read(fd, buf.as_mut_ptr().cast(), std::mem::size_of_val(&buf));
        libc::close(fd);
        if n != std::mem::size_of_val(&buf) as isize {
            return Err(format!(
                "reading the probe counter: {}",
                std::io::Error::last_os_error()
            ));
        }
        CounterReading {
            value: buf[0],
            time_enabled: buf[1],
            time_running: buf[2],
        }
    };
    judge_reading(reading)
}

pub struct Llcstat {
    ebpf: Mutex<Ebpf>,
    cpus: Vec<u32>,
}

/// Probe, load `llcstat.bpf.o`, attach both programs to per-CPU hardware counters.
pub fn load(_cfg: &EbpfConfig, btf: &Btf) -> Result<Box<dyn Collector>, EbpfError> {
    probe_hw_counters().map_err(EbpfError::Unavailable)?;
    let c = attach_with(
        btf,
        PerfEventConfig::Hardware(HardwareEvent::CacheReferences),
        PerfEventConfig::Hardware(HardwareEvent::CacheMisses),
        SamplePolicy::Frequency(10),
    )?;
    Ok(Box::new(c))
}

/// Load the object and attach its programs to `references` and `misses` on every online CPU. The agent
/// uses the hardware cache events; a test can use software events to exercise the rest where there is
/// no PMU.
pub fn attach_with(
    btf: &Btf,
    references: PerfEventConfig,
    misses: PerfEventConfig,
    policy: SamplePolicy,
) -> Result<Llcstat, EbpfError> {
    let mut ebpf = load_object("llcstat", hostlens_bpf::llcstat(), btf)?;
    let cpus = aya::util::online_cpus()
        .map_err(|(what, e)| EbpfError::Unavailable(format!("reading {what}: {e}")))?;
    for (program, config) in [
        (names::LLC_REFERENCES, references),
        (names::LLC_MISSES, misses),
    ] {
        let p: &mut PerfEvent = ebpf
            .program_mut(program)
            .ok_or(EbpfError::Missing(program))?
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
        for &cpu in &cpus {
            p.attach(
                config,
                PerfEventScope::AllProcessesOneCpu { cpu },
                policy,
                false,
            )
            .map_err(|source| EbpfError::Program {
                program,
                what: "attaching to the perf counter",
                source,
            })?;
        }
    }
    Ok(Llcstat {
        ebpf: Mutex::new(ebpf),
        cpus,
    })
}

/// Write one family from per-CPU values, for the CPUs that have a counter.
pub fn write_family(name: &str, per_cpu: &[u64], cpus: &[u32], out: &mut MetricSet) {
    for &cpu in cpus {
        if let Some(v) = per_cpu.get(cpu as usize) {
            out.counter(name, HELP, &[("cpu", &cpu.to_string())], *v as f64);
        }
    }
}

impl Collector for Llcstat {
    fn name(&self) -> &'static str {
        "llcstat"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let ebpf = self
            .ebpf
            .lock()
            .map_err(|_| CollectError::Other("llcstat: a previous collection panicked".into()))?;
        for (map, metric) in [
            ("llc_references_total", "ebpf_exporter_llc_references_total"),
            ("llc_misses_total", "ebpf_exporter_llc_misses_total"),
        ] {
            let m = ebpf
                .map(map)
                .ok_or_else(|| CollectError::Other(format!("map {map} missing")))?;
            let arr: PerCpuArray<_, u64> = PerCpuArray::try_from(m).map_err(map_err(map))?;
            let values = arr.get(&0, 0).map_err(map_err(map))?;
            write_family(metric, &values, &self.cpus, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_that_never_runs_is_unavailable() {
        let never = CounterReading {
            value: 0,
            time_enabled: 5_000_000,
            time_running: 0,
        };
        let e = judge_reading(never).unwrap_err();
        assert!(e.contains("time_running 0"), "{e}");
        assert!(judge_reading(CounterReading {
            value: 10,
            time_enabled: 5,
            time_running: 5
        })
        .is_ok());
    }

    #[test]
    fn open_failures_name_the_errno() {
        let e = open_failure_reason(&std::io::Error::from_raw_os_error(libc::ENOENT));
        assert!(e.contains("ENOENT"), "{e}");
        assert!(e.starts_with("no hardware perf counters"), "{e}");
    }

    #[test]
    fn families_by_cpu() {
        let mut out = MetricSet::new();
        write_family(
            "ebpf_exporter_llc_misses_total",
            &[5, 0, 7],
            &[0, 2],
            &mut out,
        );
        assert_eq!(
            out.value("ebpf_exporter_llc_misses_total", &[("cpu", "2")]),
            Some(7.0)
        );
        assert_eq!(
            out.get("ebpf_exporter_llc_misses_total")
                .unwrap()
                .samples
                .len(),
            2
        );
    }
}
