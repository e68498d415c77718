//! Build-time facts the agent reports in `node_exporter_build_info` / `hostlens_build_info`: the compiler's
//! version (`rust1.95.0`, in the `goversion` label's format) and the source revision
//! (`HOSTLENS_REVISION` at build time, e.g. from `git rev-parse HEAD`; `unknown` without it).

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(|v| format!("rust{v}")))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HOSTLENS_RUSTC_VERSION={version}");
    let revision = std::env::var("HOSTLENS_REVISION").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=HOSTLENS_REVISION={revision}");
    println!("cargo:rerun-if-env-changed=HOSTLENS_REVISION");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
