//! Label values of the syscalls program: syscall numbers and errnos as ebpf_exporter names them.
//!
//! ebpf_exporter (v2.5, `decoder/syscall.go`) names syscalls from tables it generates from strace 6.8, and
//! those differ from the kernel's names for about 35 numbers per architecture: strace's `*_time64` names for
//! the time syscalls (`futex_time64` for `futex`), `pread`/`pwrite` for `pread64`/`pwrite64`, `exit` for
//! `exit_group`, `printargs` for x86_64's two obsolete `epoll_*_old`. Dashboards built for ebpf_exporter
//! query those values, so the label is the kernel's name (from the `syscalls` crate) overridden by
//! ebpf_exporter's where they differ. Where two numbers get one name (`exit`, `printargs`) the agent sums
//! them into one series. Numbers ebpf_exporter's tables lack but the kernel has (`mseal`, …) keep the
//! kernel's name; numbers nobody knows are `unknown_syscall:N`, as upstream.

use std::borrow::Cow;

/// The architectures whose syscall numbers we name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this binary runs on, when it is one we know.
    pub fn native() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

/// ebpf_exporter's names where they differ from the kernel's, x86_64.
const X86_64_UPSTREAM: &[(u32, &str)] = &[
    (7, "poll_time64"),
    (17, "pread"),
    (18, "pwrite"),
    (35, "nanosleep_time64"),
    (40, "sendfile64"),
    (94, "chown"),
    (128, "rt_sigtimedwait_time64"),
    (148, "sched_rr_get_interval_time64"),
    (155, "pivotroot"),
    (156, "sysctl"),
    (159, "adjtimex64"),
    (189, "setxattr"),
    (192, "getxattr"),
    (195, "listxattr"),
    (198, "removexattr"),
    (202, "futex_time64"),
    (208, "io_getevents_time64"),
    (214, "printargs"),
    (215, "printargs"),
    (220, "semtimedop_time64"),
    (223, "timer_settime64"),
    (224, "timer_gettime64"),
    (227, "clock_settime64"),
    (228, "clock_gettime64"),
    (229, "clock_getres_time64"),
    (230, "clock_nanosleep_time64"),
    (231, "exit"),
    (242, "mq_timedsend_time64"),
    (243, "mq_timedreceive_time64"),
    (270, "pselect6_time64"),
    (271, "ppoll_time64"),
    (280, "utimensat_time64"),
    (286, "timerfd_settime64"),
    (287, "timerfd_gettime64"),
    (299, "recvmmsg_time64"),
    (305, "clock_adjtime64"),
    (333, "io_pgetevents_time64"),
];

/// ebpf_exporter's names where they differ from the kernel's, aarch64.
const AARCH64_UPSTREAM: &[(u32, &str)] = &[
    (4, "io_getevents_time64"),
    (6, "setxattr"),
    (9, "getxattr"),
    (12, "listxattr"),
    (15, "removexattr"),
    (41, "pivotroot"),
    (67, "pread"),
    (68, "pwrite"),
    (71, "sendfile64"),
    (72, "pselect6_time64"),
    (73, "ppoll_time64"),
    (79, "newfstatat"),
    (86, "timerfd_settime64"),
    (87, "timerfd_gettime64"),
    (88, "utimensat_time64"),
    (94, "exit"),
    (98, "futex_time64"),
    (101, "nanosleep_time64"),
    (108, "timer_gettime64"),
    (110, "timer_settime64"),
    (112, "clock_settime64"),
    (113, "clock_gettime64"),
    (114, "clock_getres_time64"),
    (115, "clock_nanosleep_time64"),
    (127, "sched_rr_get_interval_time64"),
    (137, "rt_sigtimedwait_time64"),
    (171, "adjtimex64"),
    (182, "mq_timedsend_time64"),
    (183, "mq_timedreceive_time64"),
    (192, "semtimedop_time64"),
    (243, "recvmmsg_time64"),
    (266, "clock_adjtime64"),
    (292, "io_pgetevents_time64"),
];

/// The `syscall` label of syscall number `n` on `arch`.
pub fn syscall_name(arch: Arch, n: u32) -> Cow<'static, str> {
    let (upstream, kernel) = match arch {
        Arch::X86_64 => (
            X86_64_UPSTREAM,
            syscalls::x86_64::Sysno::new(n as usize).map(|s| s.name()),
        ),
        Arch::Aarch64 => (
            AARCH64_UPSTREAM,
            syscalls::aarch64::Sysno::new(n as usize).map(|s| s.name()),
        ),
    };
    if let Ok(i) = upstream.binary_search_by_key(&n, |(k, _)| *k) {
        return Cow::Borrowed(upstream[i].1);
    }
    match kernel {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("unknown_syscall:{n}")),
    }
}

/// The `errno` label of errno `n`: its name (`ENOENT`) for the errnos userspace knows (1..=133, the same on
/// x86_64 and aarch64), else `unknown:N` — as ebpf_exporter's errno decoder (Go's `unix.ErrnoName`), which
/// has no names for the kernel-internal 512.. (`ERESTARTSYS`, …) that sys_exit can see.
pub fn errno_label(n: u32) -> Cow<'static, str> {
    if (1..=133).contains(&n) {
        if let Some(name) = syscalls::Errno::new(n as i32).name() {
            return Cow::Borrowed(name);
        }
    }
    Cow::Owned(format!("unknown:{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_tables_are_sorted() {
        for t in [X86_64_UPSTREAM, AARCH64_UPSTREAM] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn x86_64_names_match_ebpf_exporter() {
        let n = |i| syscall_name(Arch::X86_64, i);
        assert_eq!(n(0), "read");
        assert_eq!(n(1), "write");
        assert_eq!(n(39), "getpid");
        assert_eq!(n(81), "fchdir");
        assert_eq!(n(202), "futex_time64");
        assert_eq!(n(17), "pread");
        assert_eq!(n(60), "exit");
        assert_eq!(n(231), "exit");
        assert_eq!(n(257), "openat");
        assert_eq!(n(462), "mseal");
        assert_eq!(n(1000), "unknown_syscall:1000");
    }

    #[test]
    fn aarch64_names_match_ebpf_exporter() {
        let n = |i| syscall_name(Arch::Aarch64, i);
        assert_eq!(n(63), "read");
        assert_eq!(n(64), "write");
        assert_eq!(n(172), "getpid");
        assert_eq!(n(79), "newfstatat");
        assert_eq!(n(98), "futex_time64");
        assert_eq!(n(93), "exit");
        assert_eq!(n(94), "exit");
        assert_eq!(n(999), "unknown_syscall:999");
    }

    #[test]
    fn errno_labels() {
        assert_eq!(errno_label(2), "ENOENT");
        assert_eq!(errno_label(9), "EBADF");
        assert_eq!(errno_label(11), "EAGAIN");
        assert_eq!(errno_label(35), "EDEADLK");
        assert_eq!(errno_label(95), "EOPNOTSUPP");
        assert_eq!(errno_label(133), "EHWPOISON");
        assert_eq!(errno_label(512), "unknown:512");
        assert_eq!(errno_label(0), "unknown:0");
    }
}
