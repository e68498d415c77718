//! `syscalls`: ebpf_exporter_syscalls_total{syscall} and ebpf_exporter_syscall_errors_total{errno}, from
//! per-CPU arrays indexed by syscall number and by errno (`syscalls.bpf.c`, next to this file).

use std::collections::BTreeMap;
use std::sync::Mutex;

use aya::maps::{Map, PerCpuArray};
use hostlens_collectors::{CollectError, Collector, MetricSet};

use crate::{map_err, EbpfConfig, EbpfError, Loaded};
use names::{errno_label, syscall_name, Arch};

pub mod names;

/// `syscalls_total` has this many slots (syscall numbers; `SYSCALL_SLOTS` in syscalls.bpf.c).
pub const SYSCALL_SLOTS: u32 = 1024;
/// `syscall_errors_total` has `MAX_ERRNO + 1` slots (syscalls.bpf.c).
pub const ERRNO_SLOTS: u32 = 4096;

const SYSCALLS_HELP: &str = "Total number of executed syscalls by name";
const ERRORS_HELP: &str = "Total number of errors returned from syscalls by errno";

/// `(syscall label, count)`, summing numbers that share a label; in label order.
pub fn syscall_series(arch: Option<Arch>, counts: &[(u32, u64)]) -> Vec<(String, u64)> {
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for &(n, c) in counts {
        let name = match arch {
            Some(a) => syscall_name(a, n).into_owned(),
            None => format!("unknown_syscall:{n}"),
        };
        *by_name.entry(name).or_default() += c;
    }
    by_name.into_iter().collect()
}

/// `(errno label, count)` in label order.
pub fn errno_series(counts: &[(u32, u64)]) -> Vec<(String, u64)> {
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for &(n, c) in counts {
        *by_name.entry(errno_label(n).into_owned()).or_default() += c;
    }
    by_name.into_iter().collect()
}

/// Write both families, named `metrics` (`ebpf_exporter_syscalls_total`,
/// `ebpf_exporter_syscall_errors_total`), from the per-slot totals (CPUs already summed).
pub fn write_metrics(
    arch: Option<Arch>,
    metrics: [&str; 2],
    syscalls: &[(u32, u64)],
    errors: &[(u32, u64)],
    out: &mut MetricSet,
) {
    for (name, c) in syscall_series(arch, syscalls) {
        out.counter(metrics[0], SYSCALLS_HELP, &[("syscall", &name)], c as f64);
    }
    for (name, c) in errno_series(errors) {
        out.counter(metrics[1], ERRORS_HELP, &[("errno", &name)], c as f64);
    }
}

/// The non-zero slots of a per-CPU array of counters, summed over the CPUs. One `BPF_MAP_LOOKUP_BATCH`
/// reads the whole array (kernel ≥ 5.7); older kernels fall back to one lookup per slot (~5000 `bpf(2)`
/// calls for the two syscall maps).
pub(crate) fn read_slots(
    m: &Map,
    map: &'static str,
    slots: u32,
) -> Result<Vec<(u32, u64)>, CollectError> {
    if let Map::PerCpuArray(data) = m {
        use std::os::fd::{AsFd, AsRawFd};
        let ncpus = aya::util::nr_cpus()
            .map_err(|(what, e)| CollectError::Other(format!("map {map}: {what}: {e}")))?;
        if let Ok(totals) = lookup_batch_sums(data.fd().as_fd().as_raw_fd(), slots, ncpus) {
            return Ok(totals
                .into_iter()
                .enumerate()
                .filter(|(_, t)| *t != 0)
                .map(|(i, t)| (i as u32, t))
                .collect());
        }
    }
    let arr: PerCpuArray<_, u64> = PerCpuArray::try_from(m).map_err(map_err(map))?;
    let mut out = Vec::new();
    for i in 0..slots.min(arr.len()) {
        let per_cpu = arr.get(&i, 0).map_err(map_err(map))?;
        let total = per_cpu.iter().fold(0u64, |a, v| a.wrapping_add(*v));
        if total != 0 {
            out.push((i, total));
        }
    }
    Ok(out)
}

/// The kernel's `union bpf_attr` for the `BPF_MAP_*_BATCH` commands.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// Read slots `0..slots` of the per-CPU `u64` array `fd` with one batch lookup and sum each over the CPUs.
fn lookup_batch_sums(fd: i32, slots: u32, ncpus: usize) -> std::io::Result<Vec<u64>> {
    let n = slots as usize;
    let mut keys = vec![0u32; n];
    let mut values = vec![0u64; n * ncpus];
    let mut out_batch = 0u32;
    let mut attr = BatchAttr {
        out_batch: &mut out_batch as *mut u32 as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count: slots,
        map_fd: fd as u32,
        ..BatchAttr::default()
    };
    // SAFETY: `attr` points at buffers sized for `slots` keys and `slots × ncpus` u64 values (a per-CPU
    // array of u64 stores one 8-byte value per possible CPU), all alive for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_LOOKUP_BATCH,
            &mut attr as *mut BatchAttr,
            std::mem::size_of::<BatchAttr>(),
        )
    };
    // ENOENT: the whole map was read (the normal end of a batch walk).
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOENT) {
            return Err(e);
        }
    }
    let mut sums = vec![0u64; n];
    for (k, key) in keys.iter().take(attr.count as usize).enumerate() {
        let total = values[k * ncpus..(k + 1) * ncpus]
            .iter()
            .fold(0u64, |a, v| a.wrapping_add(*v));
        if let Some(slot) = sums.get_mut(*key as usize) {
            *slot = total;
        }
    }
    Ok(sums)
}

/// The loaded object; its maps are `syscalls_total` and `syscall_errors_total`.
pub struct Syscalls {
    loaded: Mutex<Loaded>,
    arch: Option<Arch>,
}

/// The collector of a loaded syscalls object.
pub fn reader(loaded: Loaded, _cfg: &EbpfConfig) -> Result<Box<dyn Collector>, EbpfError> {
    loaded.expect_maps("syscalls", 2)?;
    Ok(Box::new(Syscalls {
        loaded: Mutex::new(loaded),
        arch: Arch::native(),
    }))
}

impl Collector for Syscalls {
    fn name(&self) -> &'static str {
        "syscalls"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let loaded = self
            .loaded
            .lock()
            .map_err(|_| CollectError::Other("syscalls: a previous collection panicked".into()))?;
        let (calls, errors) = (&loaded.maps[0], &loaded.maps[1]);
        let call_counts = read_slots(&calls.map, calls.name, SYSCALL_SLOTS)?;
        let error_counts = read_slots(&errors.map, errors.name, ERRNO_SLOTS)?;
        write_metrics(
            self.arch,
            [&calls.metric, &errors.metric],
            &call_counts,
            &error_counts,
            out,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_merges() {
        let mut out = MetricSet::new();
        write_metrics(
            Some(Arch::X86_64),
            [
                "ebpf_exporter_syscalls_total",
                "ebpf_exporter_syscall_errors_total",
            ],
            &[(0, 5), (1, 7), (60, 1), (231, 2), (2000, 1)],
            &[(2, 3), (9, 4), (512, 1)],
            &mut out,
        );
        let v = |n: &str, k: &str, l: &str| out.value(n, &[(k, l)]);
        assert_eq!(
            v("ebpf_exporter_syscalls_total", "syscall", "read"),
            Some(5.0)
        );
        assert_eq!(
            v("ebpf_exporter_syscalls_total", "syscall", "write"),
            Some(7.0)
        );
        // exit (60) and exit_group (231) are both "exit" upstream: one series.
        assert_eq!(
            v("ebpf_exporter_syscalls_total", "syscall", "exit"),
            Some(3.0)
        );
        assert_eq!(
            v(
                "ebpf_exporter_syscalls_total",
                "syscall",
                "unknown_syscall:2000"
            ),
            Some(1.0)
        );
        assert_eq!(
            v("ebpf_exporter_syscall_errors_total", "errno", "ENOENT"),
            Some(3.0)
        );
        assert_eq!(
            v("ebpf_exporter_syscall_errors_total", "errno", "EBADF"),
            Some(4.0)
        );
        assert_eq!(
            v("ebpf_exporter_syscall_errors_total", "errno", "unknown:512"),
            Some(1.0)
        );
        let text = hostlens_exposition::encode(
            &hostlens_exposition::gather(vec![("t".into(), out)]).families,
        );
        assert!(text.contains("# TYPE ebpf_exporter_syscalls_total counter\n"));
        assert!(text.contains("ebpf_exporter_syscalls_total{syscall=\"write\"} 7\n"));
        assert!(text.contains("ebpf_exporter_syscall_errors_total{errno=\"ENOENT\"} 3\n"));
    }
}
