//! `llcstat`: ebpf_exporter_llc_references_total{cpu} and ebpf_exporter_llc_misses_total{cpu} from hardware
//! cache counters (`llcstat.bpf.c`, next to this file).
//!
//! Most VMs have no hardware performance counters: the loader probes the row's hardware events first
//! ([`crate::perf::probe_hardware`]) and reports llcstat unavailable, with the reason, instead of
//! publishing zeros.

use std::sync::Mutex;

use aya::maps::PerCpuArray;
use hostlens_collectors::{CollectError, Collector, MetricSet};

use crate::{map_err, EbpfConfig, EbpfError, Loaded};

const HELP: &str = "Last level cache operations by type";

/// The object the loader attached to one counter per CPU and event; its maps are
/// `llc_references_total` and `llc_misses_total`, one per-CPU slot each.
pub struct Llcstat {
    loaded: Mutex<Loaded>,
}

/// The collector of a loaded llcstat object.
pub fn reader(loaded: Loaded, _cfg: &EbpfConfig) -> Result<Box<dyn Collector>, EbpfError> {
    loaded.expect_maps("llcstat", 2)?;
    Ok(Box::new(Llcstat {
        loaded: Mutex::new(loaded),
    }))
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
        let loaded = self
            .loaded
            .lock()
            .map_err(|_| CollectError::Other("llcstat: a previous collection panicked".into()))?;
        for m in &loaded.maps {
            let arr: PerCpuArray<_, u64> =
                PerCpuArray::try_from(&m.map).map_err(map_err(m.name))?;
            let values = arr.get(&0, 0).map_err(map_err(m.name))?;
            write_family(&m.metric, &values, &loaded.cpus, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
