// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
//
// llcstat: ebpf_exporter_llc_references_total{cpu} and ebpf_exporter_llc_misses_total{cpu}.
//
// The agent opens one hardware counter per CPU and event (PERF_COUNT_HW_CACHE_REFERENCES /
// PERF_COUNT_HW_CACHE_MISSES, all tasks) and attaches these programs to them. On every sample a program
// reads its counter's running total with bpf_perf_prog_read_value() and stores it in the CPU's slot of a
// per-CPU array: the value is the counter itself, not an estimate from sample periods. It lags the
// hardware by at most one sampling interval.
#include "hostlens_kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} llc_references_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} llc_misses_total SEC(".maps");

static __always_inline int record(void *map, struct bpf_perf_event_data *ctx)
{
    struct bpf_perf_event_value value = {};
    __u32 zero = 0;
    __u64 *slot;

    if (bpf_perf_prog_read_value(ctx, &value, sizeof(value)) != 0)
        return 0;
    slot = bpf_map_lookup_elem(map, &zero);
    if (slot && value.counter > *slot)
        *slot = value.counter;
    return 0;
}

SEC("perf_event")
int llc_references(struct bpf_perf_event_data *ctx)
{
    return record(&llc_references_total, ctx);
}

SEC("perf_event")
int llc_misses(struct bpf_perf_event_data *ctx)
{
    return record(&llc_misses_total, ctx);
}

char LICENSE[] SEC("license") = "GPL";
