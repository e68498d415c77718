//! Compiles every `src/*.bpf.c` with clang into a CO-RE object in OUT_DIR; `src/lib.rs` embeds them.
//!
//! Needs clang (with the BPF target) and libbpf's headers: `apt-get install clang libbpf-dev` on Debian
//! (scripts/test-deps.sh installs them). `CLANG` overrides the compiler.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAMS: &[&str] = &["syscalls", "biolatency", "llcstat", "bench_empty"];

fn fail(msg: &str) -> ! {
    eprintln!("error: hostlens-bpf: {msg}");
    std::process::exit(1);
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-changed=src/include");
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
    for name in PROGRAMS {
        let src = manifest.join(format!("src/{name}.bpf.c"));
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
                 `apt-get install clang libbpf-dev` (or set CLANG=/path/to/clang)"
            )),
            Err(e) => fail(&format!("running `{clang}`: {e}")),
        };
        if !status.success() {
            fail(&format!(
                "`{cmd:?}` failed ({status}); see the compiler's messages above"
            ));
        }
    }
    println!("cargo:rerun-if-env-changed=BPF_CFLAGS");
}
