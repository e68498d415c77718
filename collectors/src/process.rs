//! `process_*`: the agent's own resource use, with the names of the Go client's process collector (what
//! node_exporter, cAdvisor and ebpf_exporter all export about themselves), read with the procfs crate.

use procfs::process::{LimitValue, Process};

use crate::{CollectError, MetricSet};

fn pe(e: procfs::ProcError) -> CollectError {
    CollectError::Other(format!("reading /proc/self: {e}"))
}

/// Append the agent's `process_*` metrics.
pub fn collect_self(out: &mut MetricSet) -> Result<(), CollectError> {
    let me = Process::myself().map_err(pe)?;
    let stat = me.stat().map_err(pe)?;
    let tps = crate::read::clock_ticks_per_second() as f64;
    out.counter(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        &[],
        (stat.utime + stat.stime) as f64 / tps,
    );
    out.gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        &[],
        (stat.rss * procfs::page_size()) as f64,
    );
    out.gauge(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        &[],
        stat.vsize as f64,
    );
    let boot = procfs::boot_time_secs().map_err(pe)? as f64;
    out.gauge(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        &[],
        boot + stat.starttime as f64 / tps,
    );
    out.gauge(
        "process_open_fds",
        "Number of open file descriptors.",
        &[],
        me.fd_count().map_err(pe)? as f64,
    );
    let limits = me.limits().map_err(pe)?;
    let lim = |v: LimitValue| match v {
        LimitValue::Value(n) => n as f64,
        LimitValue::Unlimited => f64::INFINITY,
    };
    out.gauge(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        &[],
        lim(limits.max_open_files.soft_limit),
    );
    out.gauge(
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        &[],
        lim(limits.max_address_space.soft_limit),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_own_process() {
        let mut out = MetricSet::new();
        collect_self(&mut out).unwrap();
        assert!(out.value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
        assert!(out.value("process_open_fds", &[]).unwrap() >= 3.0);
        assert!(out.value("process_start_time_seconds", &[]).unwrap() > 1.0e9);
    }
}
