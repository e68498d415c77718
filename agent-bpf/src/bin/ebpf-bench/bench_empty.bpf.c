// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
//
// The benchmark's floor: programs on the same hooks as syscalls.bpf.c that do nothing. The cost of
// hooking sys_enter/sys_exit at all (every task takes the syscall slow path) is measured with these; what
// syscalls.bpf.c adds on top is its own cost. Used only by `make bench`, never by the agent.
#include "hostlens_kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sys_enter")
int BPF_PROG(bench_enter, struct pt_regs *regs, long id)
{
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bench_exit, struct pt_regs *regs, long ret)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
