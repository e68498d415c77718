//! `make bench`'s eBPF part: what hooking `sys_enter`/`sys_exit` costs every syscall of the host, and what
//! `biolatency` costs every block request.
//!
//! Syscalls: a `getpid` loop (the cheapest syscall; run this pinned to one CPU with `taskset`), ns per
//! call, for (a) no program, (b) the empty floor programs on the same hooks (`bench_empty.bpf.c`) and
//! (c) our `syscalls` programs; the modes alternate run by run and each figure is the median of the runs.
//! The hooks alone put every task on the syscall slow path, (b) − (a); what our counting adds on top is
//! (c) − (b); the figure of merit is (c − a) / (b − a).
//!
//! Block requests: with the kernel's BPF run-time statistics on (`BPF_ENABLE_STATS`, released at exit),
//! `biolatency` is attached while the bench makes direct synchronous 4 KiB writes; the programs' run time
//! divided by their run count is the cost per request (issue + completion).
//!
//! Usage: ebpf-bench [--runs N] [--calls N] [--dio-dir DIR] [--dio-writes N]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hostlens_bpf::aya::programs::BtfTracePoint;
use hostlens_bpf::aya::{self, Btf, Ebpf, EbpfLoader};
use hostlens_bpf::{Attach, Program};

/// The floor: empty programs `bench_enter`/`bench_exit` on sys_enter/sys_exit (`bench_empty.bpf.c`, next
/// to this file; build.rs compiles it with the family's programs).
fn bench_empty() -> &'static [u8] {
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bench_empty.bpf.o"))
}

/// A row of the family's table.
fn row(name: &str) -> Result<&'static Program> {
    hostlens_bpf::program(name).with_context(|| format!("no program {name} in the table"))
}

/// The row's `tp_btf` programs as (program, tracepoint).
fn tp_btf(p: &Program) -> Vec<(&'static str, &'static str)> {
    p.attach
        .iter()
        .filter_map(|a| match *a {
            Attach::TpBtf {
                program,
                tracepoint,
            } => Some((program, tracepoint)),
            Attach::PerfEvent { .. } => None,
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Empty,
    Syscalls,
}

fn attach(btf: &Btf, obj: &[u8], progs: &[(&'static str, &'static str)]) -> Result<Ebpf> {
    let mut ebpf = EbpfLoader::new().btf(Some(btf)).load(obj)?;
    for (prog, tp) in progs {
        let p: &mut BtfTracePoint = ebpf
            .program_mut(prog)
            .with_context(|| format!("no program {prog}"))?
            .try_into()?;
        p.load(tp, btf).with_context(|| format!("loading {prog}"))?;
        p.attach().with_context(|| format!("attaching {prog}"))?;
    }
    Ok(ebpf)
}

fn setup(mode: Mode, btf: &Btf) -> Result<Option<Ebpf>> {
    Ok(match mode {
        Mode::None => None,
        Mode::Empty => Some(attach(
            btf,
            bench_empty(),
            &[("bench_enter", "sys_enter"), ("bench_exit", "sys_exit")],
        )?),
        Mode::Syscalls => {
            let p = row("syscalls")?;
            Some(attach(btf, p.object, &tp_btf(p))?)
        }
    })
}

fn getpid_ns(calls: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..calls {
        // SAFETY: getpid has no arguments and cannot fail; called as a raw syscall so libc cannot cache it.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
    t.elapsed().as_nanos() as f64 / calls as f64
}

/// The spread of a sorted sample: (25th, 75th) percentiles.
fn quartiles(v: &[f64]) -> (f64, f64) {
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (q(0.25), q(0.75))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn cpus_allowed() -> usize {
    // SAFETY: sched_getaffinity fills a zeroed cpu_set_t of the size given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return 0;
        }
        libc::CPU_COUNT(&set) as usize
    }
}

#[repr(C, align(4096))]
struct Block([u8; 4096]);

fn direct_writes(dir: &std::path::Path, count: u64) -> Result<Duration> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("ebpf-bench-dio.bin");
    {
        let mut f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(&vec![0u8; 4096 * 64])?;
        f.sync_all()?;
    }
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
        .open(&path)
        .with_context(|| format!("opening {} with O_DIRECT", path.display()))?;
    let mut block = Box::new(Block([0u8; 4096]));
    let t = Instant::now();
    for i in 0..count {
        block.0[0] = i as u8;
        f.write_all_at(&block.0, (i % 64) * 4096)?;
    }
    let took = t.elapsed();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(took)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|s| s.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // SAFETY: sysconf has no preconditions.
    let ncpu = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    format!("{cpu}, {ncpu} CPUs online, kernel {kernel}")
}

fn main() -> Result<()> {
    let mut runs = 21usize;
    let mut calls = 1_000_000u64;
    let mut dio_dir = PathBuf::from("target/ebpf-bench");
    let mut dio_writes = 2_000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--runs" => runs = val()?.parse()?,
            "--calls" => calls = val()?.parse()?,
            "--dio-dir" => dio_dir = PathBuf::from(val()?),
            "--dio-writes" => dio_writes = val()?.parse()?,
            _ => bail!("unknown argument {a} (see the source's usage line)"),
        }
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("ebpf-bench loads eBPF programs: run it as root");
    }
    let pinned = cpus_allowed();
    if pinned != 1 {
        eprintln!("ebpf-bench: warning: runnable on {pinned} CPUs; pin it with `taskset -c N` for stable figures");
    }
    let btf = Btf::from_sys_fs().context("reading /sys/kernel/btf/vmlinux")?;
    println!("machine: {}", machine());
    println!("getpid loop: {calls} calls per run, {runs} runs per mode, modes interleaved, pinned to {pinned} CPU(s)");

    let modes = [Mode::None, Mode::Empty, Mode::Syscalls];
    let mut results: [Vec<f64>; 3] = Default::default();
    getpid_ns(calls / 4); // warm up
    for _ in 0..runs {
        for (i, &m) in modes.iter().enumerate() {
            let ebpf = setup(m, &btf)?;
            std::thread::sleep(Duration::from_millis(20));
            results[i].push(getpid_ns(calls));
            drop(ebpf);
        }
    }
    let a = median(&mut results[0]);
    let b = median(&mut results[1]);
    let c = median(&mut results[2]);
    println!();
    let iqr = |v: &[f64]| {
        let (lo, hi) = quartiles(v);
        format!("{lo:.1}–{hi:.1}")
    };
    println!("| getpid, ns per call | median of {runs} | quartiles | added vs (a) |");
    println!("|---|---:|---:|---:|");
    println!("| (a) no program | {a:.1} | {} | |", iqr(&results[0]));
    println!(
        "| (b) empty programs on sys_enter + sys_exit (the floor) | {b:.1} | {} | +{:.1} |",
        iqr(&results[1]),
        b - a
    );
    println!(
        "| (c) our `syscalls` programs | {c:.1} | {} | +{:.1} |",
        iqr(&results[2]),
        c - a
    );
    println!("| ours over the floor, (c) − (b) | | | {:+.1} |", c - b);
    println!(
        "| **(c − a) / (b − a)** (target ≤ 1.15) | | | **{:.2}** |",
        (c - a) / (b - a)
    );

    // biolatency, per block request, from the kernel's BPF run-time statistics.
    let stats = aya::sys::enable_stats(aya::sys::Stats::RunTime)
        .context("BPF_ENABLE_STATS (kernel >= 5.8)")?;
    let bio = row("biolatency")?;
    let bio_programs = tp_btf(bio);
    let ebpf = attach(&btf, bio.object, &bio_programs)?;
    let took = direct_writes(&dio_dir, dio_writes)?;
    // Per issued request: both programs' total run time over the issues (completions also fire for
    // requests issued before the attach and for partial completions, so they outnumber the issues).
    let mut total_ns = 0.0;
    let mut issues = 0u64;
    let mut rows = Vec::new();
    // The first program of the row is the issue hook.
    for (i, &(name, _)) in bio_programs.iter().enumerate() {
        let info = ebpf.program(name).context("program")?.info()?;
        let n = info.run_count().max(1);
        total_ns += info.run_time().as_nanos() as f64;
        if i == 0 {
            issues = n;
        }
        rows.push((
            name,
            info.run_count(),
            info.run_time().as_nanos() as f64 / n as f64,
        ));
    }
    let per_request = total_ns / issues.max(1) as f64;
    // The syscalls programs' own run time, for comparison with the getpid figures.
    let sys = setup(Mode::Syscalls, &btf)?.context("syscalls")?;
    getpid_ns(calls / 4);
    let mut sys_rows = Vec::new();
    for (name, _) in tp_btf(row("syscalls")?) {
        let info = sys.program(name).context("program")?.info()?;
        let n = info.run_count().max(1);
        sys_rows.push((
            name,
            info.run_count(),
            info.run_time().as_nanos() as f64 / n as f64,
        ));
    }
    drop(sys);
    drop(ebpf);
    drop(stats);
    println!();
    println!(
        "biolatency: {dio_writes} O_DIRECT|O_DSYNC 4 KiB writes in {} ({:.0} us each on average)",
        dio_dir.display(),
        took.as_micros() as f64 / dio_writes as f64
    );
    println!();
    println!("| program (BPF run-time stats) | runs | ns per run |");
    println!("|---|---:|---:|");
    for (name, n, ns) in rows.iter().chain(sys_rows.iter()) {
        println!("| `{name}` | {n} | {ns:.1} |");
    }
    println!(
        "| **biolatency per block request** (both programs' run time / issued requests) | | **{per_request:.1}** |"
    );
    Ok(())
}
