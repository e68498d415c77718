// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
//
// biolatency: the histogram ebpf_exporter_bio_latency_seconds{device,operation}, block request latency
// from issue to the device (block_rq_issue) to completion (block_rq_complete).
//
// Buckets are ebpf_exporter's exp2 buckets 0..27 with a microsecond multiplier: bucket i counts requests
// that took at most 2^i us (le = 1e-06 .. 134.217728 s). Latency is rounded *up* to whole microseconds, so
// every request really is <= its bucket's `le`. Requests slower than 2^27 us go to an overflow slot that
// only the agent's +Inf / _count include. The sum is kept in nanoseconds.
//
// One PERCPU_HASH entry per (device, operation) holds all slots and the sum: one lookup and two plain adds
// per completed request, no atomics.
#include "hostlens_kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define LATENCY_BUCKETS 28           // exp2 buckets 0..27: le = 2^i microseconds
#define OVERFLOW_SLOT LATENCY_BUCKETS // > 2^27 us
#define REQ_OP_MASK 0xff             // include/linux/blk_types.h: REQ_OP_BITS = 8

struct bio_key {
    __u32 dev; // new_encode_dev(MKDEV(major, first_minor)) of the disk, as ebpf_exporter's majorminor
    __u32 op;  // REQ_OP_*
};

struct bio_hist {
    __u64 slots[LATENCY_BUCKETS + 1];
    __u64 sum_ns;
};

// Issue time of the requests in flight, by request address.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, __u64);
} bio_start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, struct bio_key);
    __type(value, struct bio_hist);
} bio_latency_seconds SEC(".maps");

// Smallest i with us <= 2^i (0 for 0 and 1 us), capped at OVERFLOW_SLOT.
static __always_inline __u32 exp2_slot(__u64 us)
{
    __u64 v;
    __u32 bits = 0;

    if (us <= 1)
        return 0;
    v = us - 1; // ceil(log2(us)) = number of significant bits of us - 1
    if (v >> 32) {
        v >>= 32;
        bits += 32;
    }
    if (v >> 16) {
        v >>= 16;
        bits += 16;
    }
    if (v >> 8) {
        v >>= 8;
        bits += 8;
    }
    if (v >> 4) {
        v >>= 4;
        bits += 4;
    }
    if (v >> 2) {
        v >>= 2;
        bits += 2;
    }
    if (v >> 1) {
        v >>= 1;
        bits += 1;
    }
    bits += (__u32)v;
    return bits > OVERFLOW_SLOT ? OVERFLOW_SLOT : bits;
}

static __always_inline __u32 request_dev(struct request *rq)
{
    struct request___rq_disk *old = (void *)rq;
    struct gendisk *disk;
    __u32 major, minor;

    if (bpf_core_field_exists(old->rq_disk))
        disk = BPF_CORE_READ(old, rq_disk);
    else
        disk = BPF_CORE_READ(rq, q, disk);
    if (!disk)
        return 0;
    major = BPF_CORE_READ(disk, major);
    minor = BPF_CORE_READ(disk, first_minor);
    return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(bio_rq_issue, struct request *rq)
{
    __u64 key = (__u64)rq;
    __u64 now = bpf_ktime_get_ns();

    bpf_map_update_elem(&bio_start, &key, &now, BPF_ANY);
    return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(bio_rq_complete, struct request *rq, __u8 error, unsigned int nr_bytes)
{
    __u64 key = (__u64)rq;
    __u64 *issued, delta_ns;
    struct bio_key k = {};
    struct bio_hist *h;
    __u32 slot;

    issued = bpf_map_lookup_elem(&bio_start, &key);
    if (!issued)
        return 0; // issued before we attached, or a later partial completion of the same request
    delta_ns = bpf_ktime_get_ns() - *issued;
    bpf_map_delete_elem(&bio_start, &key);

    k.dev = request_dev(rq);
    k.op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
    h = bpf_map_lookup_elem(&bio_latency_seconds, &k);
    if (!h) {
        struct bio_hist zero = {};

        bpf_map_update_elem(&bio_latency_seconds, &k, &zero, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&bio_latency_seconds, &k);
        if (!h)
            return 0;
    }
    slot = exp2_slot((delta_ns + 999) / 1000);
    if (slot > OVERFLOW_SLOT) // never true; tells the verifier the index is in bounds
        slot = OVERFLOW_SLOT;
    h->slots[slot] += 1;
    h->sum_ns += delta_ns;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
