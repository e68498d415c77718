//! llcstat's programs in the real kernel where there is no PMU: its row of the table, with the hardware
//! events swapped for a *software* event (cpu-clock), goes through the family's one loader, so loading,
//! attaching on every CPU and reading the per-CPU maps are exercised even here; the hardware events
//! themselves are only counted on hosts with counters. Needs root and BTF: `#[ignore]`d in a plain `cargo
//! test`, run by `make test`; run explicitly without them, it fails and names what is missing.

use std::sync::Arc;

use hostlens_bpf::aya::programs::perf_event::{PerfEventConfig, SoftwareEvent};
use hostlens_bpf::{load_program, Attach, EbpfConfig, Program};
use hostlens_collectors::{MetricSet, Roots};

#[path = "../../collectors/tests/common/prereq.rs"]
mod prereq;

#[test]
#[ignore = "needs root and BTF"]
fn llcstat_programs_load_attach_and_count_on_a_software_event() {
    prereq::require_root_and_btf();
    let btf = hostlens_bpf::aya::Btf::from_sys_fs()
        .unwrap_or_else(|e| panic!("reading the kernel's BTF: {e}"));
    let row = hostlens_bpf::program("llcstat").expect("llcstat's row");
    let on_clock: Vec<Attach> = row
        .attach
        .iter()
        .map(|a| Attach::PerfEvent {
            program: a.program(),
            event: PerfEventConfig::Software(SoftwareEvent::CpuClock),
            frequency: 1000,
        })
        .collect();
    let test_row = Program {
        attach: Box::leak(on_clock.into_boxed_slice()),
        ..*row
    };
    let cfg = EbpfConfig::new(Arc::new(Roots::default()));
    let c = load_program(&test_row, &cfg, &btf).unwrap_or_else(|e| panic!("{}", e.detail()));
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
