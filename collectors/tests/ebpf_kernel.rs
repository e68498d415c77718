//! llcstat's programs in the real kernel where there is no PMU: the verifier loads them and they are
//! attached to a *software* event (cpu-clock) on every CPU, so loading, attaching and reading the per-CPU
//! maps are exercised even here; the hardware events themselves are only counted on hosts with counters.
//! Needs root and BTF: `#[ignore]`d in a plain `cargo test`, run by `make test`; run explicitly without
//! them, it fails and names what is missing.

mod common;

use aya::programs::perf_event::{PerfEventConfig, SamplePolicy, SoftwareEvent};
use hostlens_collectors::ebpf::llcstat;
use hostlens_collectors::{Collector, MetricSet};

#[test]
#[ignore = "needs root and BTF"]
fn llcstat_programs_load_attach_and_count_on_a_software_event() {
    common::require_root_and_btf();
    let btf = aya::Btf::from_sys_fs().unwrap_or_else(|e| panic!("reading the kernel's BTF: {e}"));
    let clock = PerfEventConfig::Software(SoftwareEvent::CpuClock);
    let c = llcstat::attach_with(&btf, clock, clock, SamplePolicy::Frequency(1000))
        .unwrap_or_else(|e| panic!("{}", e.detail()));
    // Burn some CPU so the cpu-clock samples fire.
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < std::time::Duration::from_millis(300) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
    }
    let mut out = MetricSet::new();
    c.collect(&mut out).expect("reading llcstat's maps");
    let refs = out
        .get("ebpf_exporter_llc_references_total")
        .expect("references family");
    let total: f64 = refs
        .samples
        .iter()
        .map(|s| match s.value {
            hostlens_collectors::Value::Scalar(v) => v,
            _ => 0.0,
        })
        .sum();
    println!(
        "llcstat on cpu-clock: {} CPUs, counter total {total} ns",
        refs.samples.len()
    );
    assert!(total > 0.0, "no sample reached the map");
}
