// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
//
// syscalls: ebpf_exporter_syscalls_total{syscall} and ebpf_exporter_syscall_errors_total{errno}.
//
// sys_enter and sys_exit run on every system call of every task, so the bookkeeping is one per-CPU array
// slot per event: the syscall number (or errno) is the array index. A PERCPU_ARRAY lookup is inlined by
// the verifier into a bounds check and an address computation: no hash, no lock, no atomic add. The agent
// sums the CPUs' slots at scrape time. (Two programs preempting each other on one CPU could, very rarely,
// lose an increment; the counters are for rates, not accounting.)
#include "hostlens_kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

// Syscall numbers of x86_64 and aarch64 are below 512; the table leaves room. Numbers outside it (x32's
// bit-30 numbers, -1 for "no syscall") are not counted.
#define SYSCALL_SLOTS 1024
// Errors are the returns in [-MAX_ERRNO, -1] (include/linux/err.h: MAX_ERRNO = 4095).
#define MAX_ERRNO 4095

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SYSCALL_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} syscalls_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MAX_ERRNO + 1);
    __type(key, __u32);
    __type(value, __u64);
} syscall_errors_total SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(syscalls_enter, struct pt_regs *regs, long id)
{
    __u32 slot = (__u32)id;
    __u64 *count = bpf_map_lookup_elem(&syscalls_total, &slot);

    if (count)
        *count += 1;
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscalls_exit, struct pt_regs *regs, long ret)
{
    __u32 slot;
    __u64 *count;

    // Only -MAX_ERRNO..-1 are errors: a few syscalls legitimately return other negative values.
    if (ret >= 0 || ret < -MAX_ERRNO)
        return 0;
    slot = (__u32)-ret;
    count = bpf_map_lookup_elem(&syscall_errors_total, &slot);
    if (count)
        *count += 1;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
