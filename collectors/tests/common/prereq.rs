//! The prerequisites of the tests marked `#[ignore = "needs …"]`, shared by the collectors' and the agent's
//! integration tests (the agent's `tests/common` includes this file by path). `cargo test` leaves those
//! tests out and lists them as ignored; `make test` runs them with `--include-ignored`, and a missing
//! prerequisite then FAILS the test, naming what is missing and the fix: it is never a pass.

use std::path::Path;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Fail unless the test runs as root; `why` says what needs it.
pub fn require_root(why: &str) {
    assert!(
        is_root(),
        "prerequisite missing: root ({why}); run as root: `sudo make test`, or \
         `sudo cargo test --workspace -- --ignored`"
    );
}

/// Root and the kernel's BTF (`/sys/kernel/btf/vmlinux`), for the tests that load eBPF programs.
pub fn require_root_and_btf() {
    require_root("loading eBPF programs needs root, or CAP_BPF + CAP_PERFMON");
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").is_file(),
        "prerequisite missing: /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y); \
         run the eBPF tests on such a kernel"
    );
}
