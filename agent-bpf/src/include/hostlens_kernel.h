/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * The few kernel types hostlens' eBPF programs touch, written by hand instead of a generated vmlinux.h.
 *
 * - Fixed-width integer types and the uapi constants libbpf's bpf_helpers.h / bpf_helper_defs.h expect
 *   (values from include/uapi/linux/bpf.h; they are ABI and never change).
 * - Kernel-internal structs carry `preserve_access_index`: clang records every field access as a CO-RE
 *   relocation and the loader (aya) rewrites the offsets against the running kernel's BTF
 *   (/sys/kernel/btf/vmlinux), so only the fields we read are declared and their order here is irrelevant.
 *   A `___suffix` flavour names an older layout of the same struct (bpf_core_field_exists picks one).
 */
#ifndef HOSTLENS_KERNEL_H
#define HOSTLENS_KERNEL_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* include/uapi/linux/bpf.h */
enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_HASH = 5,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
};

enum {
    BPF_ANY = 0,
    BPF_NOEXIST = 1,
    BPF_EXIST = 2,
};

/* What bpf_perf_prog_read_value() fills in: the counter the perf_event program is attached to. */
struct bpf_perf_event_value {
    __u64 counter;
    __u64 enabled;
    __u64 running;
};

/* The context of a perf_event program; only passed through to helpers, never dereferenced here. */
struct bpf_perf_event_data;
/* sys_enter / sys_exit pass the registers; the programs do not read them. */
struct pt_regs;

/* include/linux/blkdev.h */
struct gendisk {
    int major;
    int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
    struct gendisk *disk; /* since 5.15 */
} __attribute__((preserve_access_index));

struct request {
    struct request_queue *q;
    unsigned int cmd_flags; /* blk_opf_t: REQ_OP_* in the low 8 bits, REQ_* flags above */
} __attribute__((preserve_access_index));

/* Before 5.15 (commit f3fa33acca9f) a request pointed at its disk directly. */
struct request___rq_disk {
    struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

#endif /* HOSTLENS_KERNEL_H */
