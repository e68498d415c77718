//! The ebpf family: kernel metrics from eBPF programs, under cloudflare ebpf_exporter's names.
//!
//! One table, [`PROGRAMS`] (written in `src/programs.rs`), has one row per program: its C source, attach
//! points, maps, reader and flag help. It drives the build (`build.rs` compiles every row's `.bpf.c` with
//! `clang -target bpf -O2 -g -Werror -Wall` into a CO-RE object embedded here, so the agent is one
//! self-contained file), the flags ([`EbpfArgs`]: `--no-collector.ebpf.<name>` per row) and the loader
//! ([`setup`]). Each program lives in its own directory, the C next to its reader:
//! `syscalls/{syscalls.bpf.c,mod.rs}`, `biolatency/…`, `llcstat/…`. A reader has pure functions turning raw
//! map contents into metrics (unit-tested without a kernel) and a [`Collector`] that owns the loaded object.
//!
//! Dropping a collector (the agent exiting) closes the program and link descriptors, which detaches and
//! unloads everything: nothing is pinned. A program that cannot run on this host is not an error of the
//! agent: it is reported as `hostlens_ebpf_program_attached{program,reason} 0` and
//! [`EbpfFamily::status`] says why, so the agent can log it once.
//!
//! [`Collector`]: hostlens_collectors::Collector

pub use aya;

mod args;
mod family;
pub mod perf;

pub use args::EbpfArgs;
pub use family::*;

use aya::programs::perf_event::{HardwareEvent, PerfEventConfig};

/// Turns the rows of `src/programs.rs` into [`PROGRAMS`] and declares each program's module
/// (`src/<name>/mod.rs`, its reader); build.rs reads the same rows with its own macro.
macro_rules! programs {
    ($($name:ident {
        source: $source:literal,
        help: $help:literal,
        attach: [$($attach:expr),* $(,)?],
        maps: [$($map:literal),* $(,)?],
        reader: $reader:path $(,)?
    })*) => {
        $(pub mod $name;)*

        /// The programs of the family, in the order they are set up: the table in `src/programs.rs`.
        pub const PROGRAMS: &[Program] = &[$(Program {
            name: stringify!($name),
            source: $source,
            help: $help,
            object: aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".bpf.o")),
            attach: &[$($attach),*],
            maps: &[$($map),*],
            reader: $reader,
        }),*];
    };
}
include!("programs.rs");

/// The row of the program called `name`.
pub fn program(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_bpf_elf() {
        for p in PROGRAMS {
            let o = p.object;
            assert_eq!(&o[..4], b"\x7fELF", "{}", p.name);
            // e_machine (little-endian ELF) = EM_BPF (247)
            assert_eq!(u16::from_le_bytes([o[18], o[19]]), 247, "{}", p.name);
            assert_eq!(o.as_ptr() as usize % 8, 0, "{}", p.name);
        }
    }

    #[test]
    fn every_row_names_its_programs_and_maps_in_its_object() {
        for p in PROGRAMS {
            let obj = symbol_names(p.object);
            for a in p.attach {
                // The kernel keeps 15 characters of a program's name (BPF_OBJ_NAME_LEN - 1): the tests
                // find our programs among the loaded ones by it.
                assert!(a.program().len() <= 15, "{}: {}", p.name, a.program());
                assert!(
                    obj.contains(a.program()),
                    "{}: no program {} in the object",
                    p.name,
                    a.program()
                );
            }
            for m in p.maps {
                assert!(obj.contains(*m), "{}: no map {m} in the object", p.name);
                assert!(
                    !m.starts_with("ebpf_exporter_"),
                    "{}: map {m} is the metric's name without ebpf_exporter_",
                    p.name
                );
            }
            assert!(p.source.ends_with(".bpf.c") && p.source.starts_with(p.name));
        }
        let names: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
        assert_eq!(names, ["syscalls", "biolatency", "llcstat"]);
    }

    /// The symbol names in an ELF object's string tables (programs and maps are symbols).
    fn symbol_names(object: &[u8]) -> std::collections::BTreeSet<String> {
        object
            .split(|b| *b == 0)
            .filter_map(|s| std::str::from_utf8(s).ok())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}
