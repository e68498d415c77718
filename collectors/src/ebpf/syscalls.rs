//! `syscalls`: ebpf_exporter_syscalls_total{syscall} and ebpf_exporter_syscall_errors_total{errno}, from
//! per-CPU arrays indexed by syscall number and by errno (`agent-bpf/src/syscalls.bpf.c`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use aya::maps::PerCpuArray;
use aya::{Btf, Ebpf};
use hostlens_bpf::{layout, names};

use super::names::{errno_label, syscall_name, Arch};
use super::{attach_tp_btf, load_object, map_err, EbpfConfig, EbpfError};
use crate::{CollectError, Collector, MetricSet};

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

/// Write both families from the per-slot totals (CPUs already summed).
pub fn write_metrics(
    arch: Option<Arch>,
    syscalls: &[(u32, u64)],
    errors: &[(u32, u64)],
    out: &mut MetricSet,
) {
    for (name, c) in syscall_series(arch, syscalls) {
        out.counter(
            "ebpf_exporter_syscalls_total",
            SYSCALLS_HELP,
            &[("syscall", &name)],
            c as f64,
        );
    }
    for (name, c) in errno_series(errors) {
        out.counter(
            "ebpf_exporter_syscall_errors_total",
            ERRORS_HELP,
            &[("errno", &name)],
            c as f64,
        );
    }
}

/// The non-zero slots of a per-CPU array of counters, summed over the CPUs. One `BPF_MAP_LOOKUP_BATCH`
/// reads the whole array (kernel ≥ 5.7); older kernels fall back to one lookup per slot (~5000 `bpf(2)`
/// calls for the two syscall maps).
pub(crate) fn read_slots(
    ebpf: &Ebpf,
    map: &'static str,
    slots: u32,
) -> Result<Vec<(u32, u64)>, CollectError> {
    let m = ebpf
        .map(map)
        .ok_or_else(|| CollectError::Other(format!("map {map} missing")))?;
    if let aya::maps::Map::PerCpuArray(data) = m {
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

pub struct Syscalls {
    ebpf: Mutex<Ebpf>,
    arch: Option<Arch>,
}

/// Load `syscalls.bpf.o` and attach its programs to `sys_enter` and `sys_exit`.
pub fn load(_cfg: &EbpfConfig, btf: &Btf) -> Result<Box<dyn Collector>, EbpfError> {
    let mut ebpf = load_object("syscalls", hostlens_bpf::syscalls(), btf)?;
    attach_tp_btf(&mut ebpf, names::SYSCALLS_ENTER, "sys_enter", btf)?;
    attach_tp_btf(&mut ebpf, names::SYSCALLS_EXIT, "sys_exit", btf)?;
    Ok(Box::new(Syscalls {
        ebpf: Mutex::new(ebpf),
        arch: Arch::native(),
    }))
}

impl Collector for Syscalls {
    fn name(&self) -> &'static str {
        "syscalls"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let ebpf = self
            .ebpf
            .lock()
            .map_err(|_| CollectError::Other("syscalls: a previous collection panicked".into()))?;
        let calls = read_slots(&ebpf, "syscalls_total", layout::SYSCALL_SLOTS)?;
        let errors = read_slots(&ebpf, "syscall_errors_total", layout::ERRNO_SLOTS)?;
        drop(ebpf);
        write_metrics(self.arch, &calls, &errors, out);
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
