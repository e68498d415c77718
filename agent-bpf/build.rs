//! Compiles the `source` of every row of `src/programs.rs` (the ebpf family's table), plus the
//! benchmark's floor object, with clang into CO-RE objects `<name>.bpf.o` in OUT_DIR; `src/lib.rs` embeds
//! them.
//!
//! Needs clang (with the BPF target) and libbpf's headers: `apt-get install clang libbpf-dev` on Debian
//! (scripts/test-deps.sh installs them). `CLANG` overrides the compiler, `BPF_CFLAGS` adds flags. A build of
//! the agent without its `ebpf` feature does not build this crate at all.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The table's rows as `(name, source)`: the same file lib.rs reads, through this simpler macro.
macro_rules! programs {
    ($($name:ident { source: $source:literal, $($rest:tt)* })*) => {
        const PROGRAMS: &[(&str, &str)] = &[$((stringify!($name), $source)),*];
    };
}
include!("src/programs.rs");

/// Objects that are not programs of the family: the benchmark's floor (`src/bin/ebpf-bench`).
const EXTRA: &[(&str, &str)] = &[("bench_empty", "bin/ebpf-bench/bench_empty.bpf.c")];

fn fail(msg: &str) -> ! {
    eprintln!("error: hostlens-bpf: {msg}");
    std::process::exit(1);
}

fn main() {
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        fail("CARGO_MANIFEST_DIR is not set: run this build through cargo")
    };
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        fail("OUT_DIR is not set: run this build through cargo")
    };
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-env-changed=BPF_CFLAGS");
    println!("cargo:rerun-if-changed=src/include");
    println!("cargo:rerun-if-changed=src/programs.rs");
    // The programs read `struct pt_regs` layouts only through libbpf's per-architecture macros.
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let target_arch = match arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        "riscv64" => "riscv",
        "s390x" => "s390",
        "powerpc64" => "powerpc",
        "loongarch64" => "loongarch",
        other => fail(&format!(
            "no eBPF target arch known for the Rust target arch {other:?}"
        )),
    };
    let include = manifest.join("src/include");
    let libbpf = [
        "/usr/include/bpf/bpf_helpers.h",
        "/usr/local/include/bpf/bpf_helpers.h",
    ];
    if !libbpf.iter().any(|p| Path::new(p).is_file()) && std::env::var_os("BPF_CFLAGS").is_none() {
        fail(
            "libbpf's headers (bpf/bpf_helpers.h) are missing: `apt-get install libbpf-dev` \
             (or set BPF_CFLAGS=-I<dir containing bpf/>)",
        );
    }
    for (name, source) in PROGRAMS.iter().chain(EXTRA) {
        let src = manifest.join("src").join(source);
        if !src.is_file() {
            fail(&format!(
                "program {name}: its source {} does not exist (src/programs.rs names it)",
                src.display()
            ));
        }
        let obj = out.join(format!("{name}.bpf.o"));
        println!("cargo:rerun-if-changed={}", src.display());
        let mut cmd = Command::new(&clang);
        cmd.args(["-target", "bpf", "-O2", "-g", "-Werror", "-Wall"])
            .arg(format!("-D__TARGET_ARCH_{target_arch}"))
            .arg("-I")
            .arg(&include);
        if let Ok(extra) = std::env::var("BPF_CFLAGS") {
            cmd.args(extra.split_whitespace());
        }
        cmd.arg("-c").arg(&src).arg("-o").arg(&obj);
        let status = match cmd.status() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(&format!(
                "`{clang}` not found: the eBPF programs are C compiled with clang; \
                 `apt-get install clang libbpf-dev` (or set CLANG=/path/to/clang), or build the agent \
                 without them: `cargo build -p hostlens-agent --no-default-features --features container`"
            )),
            Err(e) => fail(&format!("running `{clang}`: {e}")),
        };
        if !status.success() {
            fail(&format!(
                "`{cmd:?}` failed ({status}); see the compiler's messages above"
            ));
        }
    }
}
