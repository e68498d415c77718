//! hostlens' eBPF programs: C sources in `src/*.bpf.c`, compiled by `build.rs` with
//! `clang -target bpf -O2 -g -Werror -Wall` into CO-RE objects and embedded here, so the agent is one
//! self-contained file. The agent loads them with aya (`collectors/src/ebpf/`).
//!
//! Map names are the metric names without `ebpf_exporter_` (`syscalls_total`, `bio_latency_seconds`, …), as
//! in ebpf_exporter's examples.

macro_rules! object {
    ($(#[$doc:meta])* $fn:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static [u8] {
            aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/", $file))
        }
    };
}

object!(
    /// `syscalls`: `tp_btf/sys_enter` (`syscalls_enter`) and `tp_btf/sys_exit` (`syscalls_exit`) counting
    /// into the per-CPU arrays `syscalls_total` (by syscall number) and `syscall_errors_total` (by errno).
    syscalls,
    "syscalls.bpf.o"
);
object!(
    /// `biolatency`: `tp_btf/block_rq_issue` (`bio_rq_issue`) and `tp_btf/block_rq_complete`
    /// (`bio_rq_complete`) filling the per-CPU hash `bio_latency_seconds` keyed by `(dev, op)`.
    biolatency,
    "biolatency.bpf.o"
);
object!(
    /// `llcstat`: `perf_event` programs `llc_references` and `llc_misses` storing their hardware counter in
    /// the per-CPU arrays `llc_references_total` and `llc_misses_total`.
    llcstat,
    "llcstat.bpf.o"
);
object!(
    /// The benchmark's floor: empty `tp_btf/sys_enter` (`bench_enter`) and `tp_btf/sys_exit` (`bench_exit`).
    bench_empty,
    "bench_empty.bpf.o"
);

/// Program names inside the objects (the kernel keeps the first 15 characters).
pub mod names {
    pub const SYSCALLS_ENTER: &str = "syscalls_enter";
    pub const SYSCALLS_EXIT: &str = "syscalls_exit";
    pub const BIO_RQ_ISSUE: &str = "bio_rq_issue";
    pub const BIO_RQ_COMPLETE: &str = "bio_rq_complete";
    pub const LLC_REFERENCES: &str = "llc_references";
    pub const LLC_MISSES: &str = "llc_misses";
    pub const BENCH_ENTER: &str = "bench_enter";
    pub const BENCH_EXIT: &str = "bench_exit";
}

/// Layouts shared with the C programs.
pub mod layout {
    /// `biolatency`: exp2 buckets 0..=27 (le = 2^i µs), then the overflow slot (> 2^27 µs).
    pub const LATENCY_BUCKETS: usize = 28;
    /// Words of `struct bio_hist`: the slots, the overflow slot, the sum in ns.
    pub const BIO_HIST_WORDS: usize = LATENCY_BUCKETS + 2;
    /// `syscalls_total` has this many slots (syscall numbers).
    pub const SYSCALL_SLOTS: u32 = 1024;
    /// `syscall_errors_total` has `MAX_ERRNO + 1` slots.
    pub const ERRNO_SLOTS: u32 = 4096;
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_are_bpf_elf() {
        for o in [
            super::syscalls(),
            super::biolatency(),
            super::llcstat(),
            super::bench_empty(),
        ] {
            assert_eq!(&o[..4], b"\x7fELF");
            // e_machine (little-endian ELF) = EM_BPF (247)
            assert_eq!(u16::from_le_bytes([o[18], o[19]]), 247);
            assert_eq!(o.as_ptr() as usize % 8, 0);
        }
    }
}
