//! Whether a hardware perf event counts on this host, before anything is attached to it.
//!
//! Most VMs have no hardware performance counters. [`probe_hardware`] opens the event on this thread: when
//! the kernel refuses it (no PMU: `ENOENT` or `EOPNOTSUPP`), or it opens but never gets scheduled on a
//! counter (`time_running == 0`, which some hypervisors do), the program is unavailable and the agent says
//! why instead of publishing zeros.

use aya::programs::perf_event::HardwareEvent;

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

/// The reason for a refused `perf_event_open` of `event`.
pub fn open_failure_reason(event: HardwareEvent, err: &std::io::Error) -> String {
    let name = err
        .raw_os_error()
        .and_then(|n| syscalls::Errno::new(n).name())
        .unwrap_or("?");
    format!(
        "no hardware perf counters on this host (perf_event_open {}: {name}: {err}); \
         usual in VMs",
        kernel_name(event)
    )
}

/// The kernel's name of a hardware event (include/uapi/linux/perf_event.h), for the reasons.
pub fn kernel_name(event: HardwareEvent) -> &'static str {
    match event {
        HardwareEvent::CpuCycles => "PERF_COUNT_HW_CPU_CYCLES",
        HardwareEvent::Instructions => "PERF_COUNT_HW_INSTRUCTIONS",
        HardwareEvent::CacheReferences => "PERF_COUNT_HW_CACHE_REFERENCES",
        HardwareEvent::CacheMisses => "PERF_COUNT_HW_CACHE_MISSES",
        HardwareEvent::BranchInstructions => "PERF_COUNT_HW_BRANCH_INSTRUCTIONS",
        HardwareEvent::BranchMisses => "PERF_COUNT_HW_BRANCH_MISSES",
        HardwareEvent::BusCycles => "PERF_COUNT_HW_BUS_CYCLES",
        HardwareEvent::StalledCyclesFrontend => "PERF_COUNT_HW_STALLED_CYCLES_FRONTEND",
        HardwareEvent::StalledCyclesBackend => "PERF_COUNT_HW_STALLED_CYCLES_BACKEND",
        HardwareEvent::RefCpuCycles => "PERF_COUNT_HW_REF_CPU_CYCLES",
    }
}

/// Whether this host has the hardware counter `event` and it actually counts.
pub fn probe_hardware(event: HardwareEvent) -> Result<(), String> {
    let attr = PerfEventAttr {
        type_: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: event as u64,
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
        return Err(open_failure_reason(event, &std::io::Error::last_os_error()));
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
    fn open_failures_name_the_event_and_the_errno() {
        let e = open_failure_reason(
            HardwareEvent::CacheReferences,
            &std::io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert!(e.contains("ENOENT"), "{e}");
        assert!(e.contains("PERF_COUNT_HW_CACHE_REFERENCES: ENOENT"), "{e}");
        assert!(e.starts_with("no hardware perf counters"), "{e}");
    }
}
