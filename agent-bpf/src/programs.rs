// The ebpf family: ONE row per program, the only place a program is declared. This file is read twice:
// by `build.rs`, which compiles each row's `source` with clang into `<name>.bpf.o`, and by `lib.rs`, which
// turns the rows into `PROGRAMS`, from which the agent's CLI makes `--no-collector.ebpf.<name>` (with
// `help`) and the loader (`family.rs`) loads the object, attaches `attach` in order, takes `maps` out of
// the object and hands them to `reader`, which decodes them at scrape time.
//
// Every map in `maps` holds one metric family and is named as it, without `ebpf_exporter_` (as in
// cloudflare/ebpf_exporter's examples): map `syscalls_total` is `ebpf_exporter_syscalls_total`.
//
// A new program: one row here, its `<name>/<name>.bpf.c` and its reader `<name>/mod.rs` (the row declares
// the module).
programs! {
    syscalls {
        source: "syscalls/syscalls.bpf.c",
        help: "Do not load the syscalls eBPF program (syscalls and their errors; it hooks every syscall of \
               the host).",
        attach: [
            Attach::TpBtf { program: "syscalls_enter", tracepoint: "sys_enter" },
            Attach::TpBtf { program: "syscalls_exit", tracepoint: "sys_exit" },
        ],
        maps: ["syscalls_total", "syscall_errors_total"],
        reader: syscalls::reader,
    }
    biolatency {
        source: "biolatency/biolatency.bpf.c",
        help: "Do not load the biolatency eBPF program (block I/O latency histogram).",
        attach: [
            Attach::TpBtf { program: "bio_rq_issue", tracepoint: "block_rq_issue" },
            Attach::TpBtf { program: "bio_rq_complete", tracepoint: "block_rq_complete" },
        ],
        maps: ["bio_latency_seconds"],
        reader: biolatency::reader,
    }
    llcstat {
        source: "llcstat/llcstat.bpf.c",
        help: "Do not load the llcstat eBPF program (last-level cache references and misses per CPU; needs \
               hardware perf counters).",
        attach: [
            Attach::PerfEvent {
                program: "llc_references",
                event: PerfEventConfig::Hardware(HardwareEvent::CacheReferences),
                frequency: 10,
            },
            Attach::PerfEvent {
                program: "llc_misses",
                event: PerfEventConfig::Hardware(HardwareEvent::CacheMisses),
                frequency: 10,
            },
        ],
        maps: ["llc_references_total", "llc_misses_total"],
        reader: llcstat::reader,
    }
}
