//! `cpu`: node_cpu_seconds_total{cpu,mode} and node_cpu_guest_seconds_total{cpu,mode} from the `cpu<N>` lines
//! of `/proc/stat`, node_cpu_isolated{cpu} from `/sys/devices/system/cpu/isolated`, and
//! node_cpu_core_throttles_total{package,core} / node_cpu_package_throttles_total{package} from
//! `/sys/devices/system/cpu/cpu*/thermal_throttle`, node_cpu_online{cpu} from
//! `/sys/devices/system/cpu/cpu*/online`.
//!
//! As node_exporter 1.12.1 (through procfs 0.21) does:
//! - times are in USER_HZ ([`crate::read::clock_ticks_per_second`], 100; procfs hard-codes it) and
//!   exported in seconds;
//! - only the CPUs with a `cpu<N>` line are reported (an offline CPU has none; since 1.9 there is no
//!   all-zero placeholder for it any more);
//! - counters are kept monotonic across scrapes, per CPU id: a value going backwards keeps the previous
//!   value, and an `idle` drop of 3 s or more (a CPU hot-plugged back) resets that CPU's cache; when the
//!   number of CPUs changes, the CPUs no longer listed are dropped from the cache;
//! - node_cpu_online (1.9, #3032): `online` of every `cpu[0-9]*` directory (1 when it reads `1`, else 0),
//!   nothing at all when the first one (in name order) has no `online` file (x86's cpu0 usually has none);
//! - node_cpu_guest_seconds_total unless `--no-collector.cpu.guest`.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// Idle going back by at least this many seconds means the CPU was hot-plugged: reset its cache.
const JUMP_BACK_SECONDS: f64 = 3.0;

/// One `cpu<N>` line, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: f64,
    pub nice: f64,
    pub system: f64,
    pub idle: f64,
    pub iowait: f64,
    pub irq: f64,
    pub softirq: f64,
    pub steal: f64,
    pub guest: f64,
    pub guest_nice: f64,
}

impl CpuTimes {
    fn fields_mut(&mut self) -> [&mut f64; 10] {
        [
            &mut self.user,
            &mut self.nice,
            &mut self.system,
            &mut self.idle,
            &mut self.iowait,
            &mut self.irq,
            &mut self.softirq,
            &mut self.steal,
            &mut self.guest,
            &mut self.guest_nice,
        ]
    }

    /// node_cpu_seconds_total's `mode` label values with their value, in node_exporter's order.
    fn modes(&self) -> [(&'static str, f64); 8] {
        [
            ("user", self.user),
            ("nice", self.nice),
            ("system", self.system),
            ("idle", self.idle),
            ("iowait", self.iowait),
            ("irq", self.irq),
            ("softirq", self.softirq),
            ("steal", self.steal),
        ]
    }
}

/// The per-CPU lines of `/proc/stat` by CPU id (`cpu<N>`). Fields an older kernel does not print read as 0.
pub type CpuStats = BTreeMap<i64, CpuTimes>;

/// Parse the per-CPU lines of `/proc/stat` (procfs's `Stat().CPU`): one entry per `cpu<N>` line.
pub fn parse_cpu_stat(text: &str) -> Result<CpuStats, ParseError> {
    let user_hz = crate::read::clock_ticks_per_second() as f64;
    let mut cpus = CpuStats::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(id) = fields.next().and_then(|k| k.strip_prefix("cpu")) else {
            continue;
        };
        if id.is_empty() {
            continue; // the aggregate `cpu` line
        }
        let id: i64 = id
            .parse()
            .map_err(|_| ParseError::new(format!("bad cpu line: {line:?}")))?;
        let mut t = CpuTimes::default();
        for (slot, f) in t.fields_mut().into_iter().zip(fields) {
            let v: f64 = f
                .parse()
                .map_err(|_| ParseError::new(format!("cpu{id}: not a number: {f:?}")))?;
            *slot = v / user_hz;
        }
        cpus.insert(id, t);
    }
    Ok(cpus)
}

/// Parse a kernel CPU list (`/sys/devices/system/cpu/isolated`): `1,3-5` → `[1, 3, 4, 5]`; empty → `[]`.
pub fn parse_cpu_list(text: &str) -> Result<Vec<u16>, ParseError> {
    let mut cpus = Vec::new();
    for part in text.trim_end_matches('\n').split(',') {
        if part.is_empty() {
            continue;
        }
        let num = |s: &str| -> Result<u16, ParseError> {
            s.parse()
                .map_err(|_| ParseError::new(format!("invalid cpu range: {part:?}")))
        };
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(num(a)?..=num(b)?),
            None => cpus.push(num(part)?),
        }
    }
    Ok(cpus)
}

/// One processor block of `/proc/cpuinfo`: the fields node_cpu_info, node_cpu_flag_info and node_cpu_bug_info use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    pub processor: u32,
    pub vendor_id: String,
    pub cpu_family: String,
    pub model: String,
    pub model_name: String,
    pub stepping: String,
    pub microcode: String,
    pub cache_size: String,
    /// `cpu MHz` (node_cpu_frequency_hertz).
    pub cpu_mhz: f64,
    pub physical_id: String,
    pub core_id: String,
    pub flags: Vec<String>,
    pub bugs: Vec<String>,
}

/// Parse `/proc/cpuinfo` in the x86 layout procfs uses for node_exporter (`key<TAB>: value`, one block per
/// `processor`). Values are kept as the kernel prints them after `": "`.
pub fn parse_cpuinfo(text: &str) -> Result<Vec<CpuInfo>, ParseError> {
    let mut cpus: Vec<CpuInfo> = Vec::new();
    for line in text.lines() {
        if cpus.is_empty() && line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            if cpus.is_empty() {
                return Err(ParseError::new(format!("invalid cpuinfo file: {line:?}")));
            }
            continue;
        };
        let key = key.trim();
        if key == "processor" {
            let n = value
                .trim()
                .parse()
                .map_err(|_| ParseError::new(format!("processor: not a number: {value:?}")))?;
            cpus.push(CpuInfo {
                processor: n,
                ..CpuInfo::default()
            });
            continue;
        }
        let Some(cpu) = cpus.last_mut() else {
            return Err(ParseError::new(format!("invalid cpuinfo file: {line:?}")));
        };
        let slot = match key {
            "vendor" | "vendor_id" => &mut cpu.vendor_id,
            "cpu family" => &mut cpu.cpu_family,
            "model" => &mut cpu.model,
            "model name" => &mut cpu.model_name,
            "stepping" => &mut cpu.stepping,
            "microcode" => &mut cpu.microcode,
            "cache size" => &mut cpu.cache_size,
            "physical id" => &mut cpu.physical_id,
            "core id" => &mut cpu.core_id,
            "cpu MHz" => {
                cpu.cpu_mhz = value
                    .trim()
                    .parse()
                    .map_err(|_| ParseError::new(format!("cpu MHz: not a number: {value:?}")))?;
                continue;
            }
            "flags" => {
                cpu.flags = value.split_whitespace().map(str::to_string).collect();
                continue;
            }
            "bugs" => {
                cpu.bugs = value.split_whitespace().map(str::to_string).collect();
                continue;
            }
            _ => continue,
        };
        *slot = value.to_string();
    }
    Ok(cpus)
}

/// Fold a new reading into the monotonic cache, as node_exporter 1.12's `updateCPUStats` does.
pub fn update_cache(cache: &mut CpuStats, new: &CpuStats) {
    for (id, n) in new {
        let old = cache.entry(*id).or_default();
        if old.idle - n.idle >= JUMP_BACK_SECONDS {
            *old = CpuTimes::default();
        }
        let mut n = *n;
        for (o, v) in old.fields_mut().into_iter().zip(n.fields_mut()) {
            if *v >= *o {
                *o = *v;
            }
        }
    }
    // Offline CPUs are removed (upstream only looks when the counts differ).
    if cache.len() != new.len() {
        cache.retain(|id, _| new.contains_key(id));
    }
}

/// node_cpu_online: `(cpu number, online)` of each `cpu[0-9]*` directory in name order; empty when the
/// first one has no `online` file (node_exporter's `updateOnline`). An `online` that cannot be read, or
/// reads anything but `1`, is offline.
pub fn read_online(roots: &Roots) -> Result<Vec<(String, bool)>, CollectError> {
    let cpus = sys_cpu_dirs(roots)?;
    let online = |dir: &std::path::Path| crate::read::sys_read_file(&dir.join("online"));
    match cpus.first().map(|(_, dir)| online(dir)) {
        None => return Ok(Vec::new()),
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Some(_) => {}
    }
    Ok(cpus
        .iter()
        .map(|(name, dir)| {
            let n = name.strip_prefix("cpu").unwrap_or(name).to_string();
            (n, online(dir).is_ok_and(|v| v == "1"))
        })
        .collect())
}

/// Throttle counts gathered from sysfs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Throttles {
    /// package id → package_throttle_count (of the first CPU of the package that has one).
    pub package: BTreeMap<u64, u64>,
    /// (package id, core id) → core_throttle_count (of the first CPU of the core that has one).
    pub core: BTreeMap<(u64, u64), u64>,
}

/// node_exporter's `readUintFromFile`; any failure (missing, unreadable, not a number) is `None`, which the
/// throttle code treats as "skip".
fn read_uint(path: &std::path::Path) -> Option<u64> {
    crate::read::parse_u64(&crate::read::read_file(path).ok()?).ok()
}

/// `cpu[0-9]*` entries of `/sys/devices/system/cpu`, sorted by name as a shell glob is.
pub(crate) fn sys_cpu_dirs(
    roots: &Roots,
) -> Result<Vec<(String, std::path::PathBuf)>, CollectError> {
    let dir = roots.sys("devices/system/cpu");
    Ok(crate::read::paths_of(
        &dir,
        crate::read::glob_numbered(&dir, "cpu")?,
    ))
}

/// Read thermal throttle counts. CPUs without topology (offline) are skipped; a count is read from the first
/// CPU (in name order) of its package/core that has the file.
pub fn read_throttles(roots: &Roots) -> Result<Throttles, CollectError> {
    let mut t = Throttles::default();
    for (_, cpu) in sys_cpu_dirs(roots)? {
        let Some(pkg) = read_uint(&cpu.join("topology/physical_package_id")) else {
            continue;
        };
        let Some(core) = read_uint(&cpu.join("topology/core_id")) else {
            continue;
        };
        // As in node_exporter, a core or package only counts as done once a count was read for it.
        if let Entry::Vacant(e) = t.core.entry((pkg, core)) {
            if let Some(n) = read_uint(&cpu.join("thermal_throttle/core_throttle_count")) {
                e.insert(n);
            }
        }
        if let Entry::Vacant(e) = t.package.entry(pkg) {
            if let Some(n) = read_uint(&cpu.join("thermal_throttle/package_throttle_count")) {
                e.insert(n);
            }
        }
    }
    Ok(t)
}

pub struct Cpu {
    roots: Arc<Roots>,
    guest: bool,
    /// `--collector.cpu.info` (also turned on by either include regex, as node_exporter does).
    info: bool,
    /// The cpufreq collector is enabled: node_cpu_frequency_hertz from /proc/cpuinfo with the info.
    cpufreq_enabled: bool,
    flags_include: Option<Regex>,
    bugs_include: Option<Regex>,
    isolated: Option<Vec<u16>>,
    cache: Mutex<CpuStats>,
}

impl Cpu {
    fn collect_info(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("cpuinfo");
        let info = parse_cpuinfo(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for c in &info {
            out.gauge(
                "node_cpu_info",
                "CPU information from /proc/cpuinfo.",
                &[
                    ("package", &c.physical_id),
                    ("core", &c.core_id),
                    ("cpu", &c.processor.to_string()),
                    ("vendor", &c.vendor_id),
                    ("family", &c.cpu_family),
                    ("model", &c.model),
                    ("model_name", &c.model_name),
                    ("microcode", &c.microcode),
                    ("stepping", &c.stepping),
                    ("cachesize", &c.cache_size),
                ],
                1.0,
            );
        }
        if self.cpufreq_enabled {
            for c in &info {
                out.gauge(
                    "node_cpu_frequency_hertz",
                    "CPU frequency in hertz from /proc/cpuinfo.",
                    &[
                        ("package", &c.physical_id),
                        ("core", &c.core_id),
                        ("cpu", &c.processor.to_string()),
                    ],
                    c.cpu_mhz * 1e6,
                );
            }
        }
        if let Some(first) = info.first() {
            if let Some(re) = &self.flags_include {
                for f in first.flags.iter().filter(|f| re.is_match(f)) {
                    out.gauge(
                        "node_cpu_flag_info",
                        "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
                        &[("flag", f)],
                        1.0,
                    );
                }
            }
            if let Some(re) = &self.bugs_include {
                for b in first.bugs.iter().filter(|b| re.is_match(b)) {
                    out.gauge(
                        "node_cpu_bug_info",
                        "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
                        &[("bug", b)],
                        1.0,
                    );
                }
            }
        }
        Ok(())
    }
}

const SECONDS_HELP: &str = "Seconds the CPUs spent in each mode.";
const GUEST_HELP: &str = "Seconds the CPUs spent in guests (VMs) for each mode.";

/// The cpu collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Enables metric node_cpu_guest_seconds_total (the default; --no-collector.cpu.guest disables it).
    #[arg(
        id = "collector.cpu.guest",
        long = "collector.cpu.guest",
        overrides_with = "no-collector.cpu.guest"
    )]
    pub guest: bool,
    /// Disables metric node_cpu_guest_seconds_total.
    #[arg(
        id = "no-collector.cpu.guest",
        long = "no-collector.cpu.guest",
        overrides_with = "collector.cpu.guest"
    )]
    pub no_guest: bool,
    /// Export node_cpu_info from /proc/cpuinfo.
    #[arg(id = "collector.cpu.info", long = "collector.cpu.info")]
    pub info: bool,
    /// Regexp of /proc/cpuinfo flags to export as node_cpu_flag_info (enables --collector.cpu.info).
    #[arg(
        value_name = "REGEX",
        id = "collector.cpu.info.flags-include",
        long = "collector.cpu.info.flags-include",
        default_value = ""
    )]
    pub info_flags_include: String,
    /// Regexp of /proc/cpuinfo bugs to export as node_cpu_bug_info (enables --collector.cpu.info).
    #[arg(
        value_name = "REGEX",
        id = "collector.cpu.info.bugs-include",
        long = "collector.cpu.info.bugs-include",
        default_value = ""
    )]
    pub info_bugs_include: String,
}

impl NodeCollector for Cpu {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        // node_exporter reads the isolated CPUs once, at start.
        let path = cfg.roots.sys("devices/system/cpu/isolated");
        let isolated = match crate::read::read_file(&path) {
            Ok(s) => Some(parse_cpu_list(&s).map_err(|e| e.at(&path))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CollectError::io(&path, e)),
        };
        let flags_include = super::optional_flag_regex(
            "collector.cpu.info.flags-include",
            &cfg.cpu.info_flags_include,
        )?;
        let bugs_include = super::optional_flag_regex(
            "collector.cpu.info.bugs-include",
            &cfg.cpu.info_bugs_include,
        )?;
        Ok(Cpu {
            roots: cfg.roots.clone(),
            guest: !cfg.cpu.no_guest,
            info: cfg.cpu.info || flags_include.is_some() || bugs_include.is_some(),
            cpufreq_enabled: cfg.enabled.contains(&"cpufreq"),
            flags_include,
            bugs_include,
            isolated,
            cache: Mutex::new(CpuStats::new()),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.info {
            self.collect_info(out)?;
        }
        let path = self.roots.proc("stat");
        let now = parse_cpu_stat(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| CollectError::Other("cpu cache lock poisoned".into()))?;
            update_cache(&mut cache, &now);
            for (id, t) in cache.iter() {
                let cpu = id.to_string();
                for (mode, v) in t.modes() {
                    out.counter(
                        "node_cpu_seconds_total",
                        SECONDS_HELP,
                        &[("cpu", &cpu), ("mode", mode)],
                        v,
                    );
                }
                if self.guest {
                    out.counter(
                        "node_cpu_guest_seconds_total",
                        GUEST_HELP,
                        &[("cpu", &cpu), ("mode", "user")],
                        t.guest,
                    );
                    out.counter(
                        "node_cpu_guest_seconds_total",
                        GUEST_HELP,
                        &[("cpu", &cpu), ("mode", "nice")],
                        t.guest_nice,
                    );
                }
            }
        }
        if let Some(isolated) = &self.isolated {
            for cpu in isolated {
                out.gauge(
                    "node_cpu_isolated",
                    "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
                    &[("cpu", &cpu.to_string())],
                    1.0,
                );
            }
        }
        let th = read_throttles(&self.roots)?;
        for (pkg, n) in &th.package {
            out.counter(
                "node_cpu_package_throttles_total",
                "Number of times this CPU package has been throttled.",
                &[("package", &pkg.to_string())],
                *n as f64,
            );
        }
        for ((pkg, core), n) in &th.core {
            out.counter(
                "node_cpu_core_throttles_total",
                "Number of times this CPU core has been throttled.",
                &[("package", &pkg.to_string()), ("core", &core.to_string())],
                *n as f64,
            );
        }
        for (cpu, online) in read_online(&self.roots)? {
            out.gauge(
                "node_cpu_online",
                "CPUs that are online and being scheduled.",
                &[("cpu", &cpu)],
                if online { 1.0 } else { 0.0 },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, assert_values, collect_fixture, collect_with, fixture_config,
    };

    #[test]
    fn parses_fixture_with_offline_cpu() {
        let cpus = parse_cpu_stat(include_str!("../../tests/fixtures/proc/stat")).unwrap();
        // cpu0, cpu1 online, cpu2 offline (no line), cpu3 online.
        assert_eq!(cpus.keys().copied().collect::<Vec<_>>(), [0, 1, 3]);
        assert_eq!(cpus[&0].user, 44.96);
        assert_eq!(cpus[&1].iowait, 3.75);
        assert_eq!(cpus[&3].guest, 4.0);
        assert_eq!(cpus[&3].guest_nice, 0.3);
    }

    #[test]
    fn old_kernel_short_lines() {
        // 2.6.24-era: no steal/guest/guest_nice columns.
        let cpus = parse_cpu_stat("cpu 1 2 3 4 5 6 7\ncpu0 100 200 300 400 500 600 700\n").unwrap();
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[&0].softirq, 7.0);
        assert_eq!(cpus[&0].steal, 0.0);
        assert_rejects(parse_cpu_stat, &["cpux 1 2\n", "cpu0 1 x\n"]);
    }

    #[test]
    fn cache_is_monotonic_and_resets_on_hotplug() {
        let t = |idle: f64, user: f64| CpuTimes {
            idle,
            user,
            ..CpuTimes::default()
        };
        let m = |v: &[(i64, CpuTimes)]| v.iter().copied().collect::<CpuStats>();
        let mut cache = CpuStats::new();
        update_cache(&mut cache, &m(&[(0, t(100.0, 10.0))]));
        // A small step back keeps the old value.
        update_cache(&mut cache, &m(&[(0, t(99.0, 9.0))]));
        assert_eq!(cache[&0], t(100.0, 10.0));
        // A large idle jump back resets the CPU.
        update_cache(&mut cache, &m(&[(0, t(50.0, 9.0))]));
        assert_eq!(cache[&0], t(50.0, 9.0));
        // A new CPU joins; the known one stays monotonic.
        update_cache(&mut cache, &m(&[(0, t(49.0, 8.0)), (2, t(2.0, 2.0))]));
        assert_eq!(cache, m(&[(0, t(50.0, 9.0)), (2, t(2.0, 2.0))]));
        // An offline CPU is dropped.
        update_cache(&mut cache, &m(&[(2, t(3.0, 3.0))]));
        assert_eq!(cache, m(&[(2, t(3.0, 3.0))]));
    }

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("\n").unwrap(), Vec::<u16>::new());
        assert_eq!(parse_cpu_list("1,3-5,9\n").unwrap(), [1, 3, 4, 5, 9]);
        assert_rejects(parse_cpu_list, &["1-2-3", "a"]);
    }

    #[test]
    fn parses_cpuinfo_fixture() {
        let info = parse_cpuinfo(include_str!("../../tests/fixtures/proc/cpuinfo")).unwrap();
        assert_eq!(info.len(), 2);
        assert_eq!(info[1].processor, 1);
        assert_eq!(info[0].vendor_id, "GenuineIntel");
        assert_eq!(info[0].model_name, "Intel(R) Xeon(R) Processor");
        assert_eq!(info[0].cache_size, "491520 KB");
        assert_eq!(info[1].core_id, "1");
        assert!(info[0].flags.iter().any(|f| f == "sse2"));
        assert!(info[0].bugs.iter().any(|b| b == "spectre_v1"));
        assert_rejects(parse_cpuinfo, &["vendor_id : x\n", "processor : x\n"]);
    }

    #[test]
    fn collects_cpu_info_when_enabled() {
        let mut cfg = fixture_config();
        cfg.cpu.info_flags_include = "^(sse2|avx)$".into();
        let out = collect_with("cpu", &cfg).unwrap();
        let info = out.get("node_cpu_info").unwrap();
        assert_eq!(info.samples.len(), 2);
        let labels: Vec<&str> = info.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "package",
                "core",
                "cpu",
                "vendor",
                "family",
                "model",
                "model_name",
                "microcode",
                "stepping",
                "cachesize"
            ]
        );
        assert_eq!(
            out.value("node_cpu_flag_info", &[("flag", "sse2")]),
            Some(1.0)
        );
        assert!(out
            .get("node_cpu_flag_info")
            .unwrap()
            .samples
            .iter()
            .all(|s| s.labels[0].1 != "fpu"));
        assert!(out.get("node_cpu_bug_info").is_none());
        // node_cpu_frequency_hertz only when the cpufreq collector is on too.
        assert!(out.get("node_cpu_frequency_hertz").is_none());
        cfg.enabled = vec!["cpu", "cpufreq"];
        let out = collect_with("cpu", &cfg).unwrap();
        assert_eq!(
            out.value(
                "node_cpu_frequency_hertz",
                &[("package", "0"), ("core", "1"), ("cpu", "1")]
            ),
            Some(2.6e9)
        );
        // Off by default.
        let out = collect_fixture("cpu");
        assert!(out.get("node_cpu_info").is_none());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("cpu");
        let secs = out.get("node_cpu_seconds_total").unwrap();
        // cpu2 is offline: no series.
        assert_eq!(secs.samples.len(), 3 * 8);
        assert!(out
            .value("node_cpu_seconds_total", &[("cpu", "2"), ("mode", "idle")])
            .is_none());
        assert_values(
            &out,
            &[
                (
                    "node_cpu_seconds_total",
                    &[("cpu", "0"), ("mode", "user")],
                    44.96,
                ),
                (
                    "node_cpu_guest_seconds_total",
                    &[("cpu", "3"), ("mode", "nice")],
                    0.3,
                ),
                ("node_cpu_isolated", &[("cpu", "3")], 1.0),
            ],
        );
        assert_eq!(out.get("node_cpu_isolated").unwrap().samples.len(), 1);
        // cpu0 and cpu1 share package 0 (count read once, from cpu0); cpu2 is offline (no topology);
        // cpu3 is package 1 and has only a core count.
        let pk = out.get("node_cpu_package_throttles_total").unwrap();
        assert_eq!(pk.samples.len(), 1);
        assert_eq!(
            out.value("node_cpu_package_throttles_total", &[("package", "0")]),
            Some(30.0)
        );
        assert_values(
            &out,
            &[
                ("node_cpu_online", &[("cpu", "0")], 1.0),
                ("node_cpu_online", &[("cpu", "2")], 0.0),
                ("node_cpu_online", &[("cpu", "3")], 1.0),
            ],
        );
        let core = out.get("node_cpu_core_throttles_total").unwrap();
        assert_eq!(core.samples.len(), 3);
        assert_values(
            &out,
            &[
                (
                    "node_cpu_core_throttles_total",
                    &[("package", "0"), ("core", "0")],
                    5.0,
                ),
                (
                    "node_cpu_core_throttles_total",
                    &[("package", "1"), ("core", "0")],
                    18446744073709551615.0,
                ),
            ],
        );
    }

    #[test]
    fn guest_flag_and_online_without_cpu0_file() {
        let mut cfg = fixture_config();
        cfg.cpu.no_guest = true;
        let out = collect_with("cpu", &cfg).unwrap();
        assert!(out.get("node_cpu_guest_seconds_total").is_none());
        // No `online` in the first CPU directory: no node_cpu_online at all.
        let dir = std::env::temp_dir().join(format!("hostlens-cpu-online-{}", std::process::id()));
        let cpu = dir.join("devices/system/cpu");
        std::fs::create_dir_all(cpu.join("cpu0")).unwrap();
        std::fs::create_dir_all(cpu.join("cpu1")).unwrap();
        std::fs::write(cpu.join("cpu1/online"), "1\n").unwrap();
        let roots = Roots::new("/nonexistent", &dir, "/", None);
        let online = read_online(&roots).unwrap();
        std::fs::write(cpu.join("cpu0/online"), "0\n").unwrap();
        let both = read_online(&roots).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(online.is_empty());
        assert_eq!(both, [("0".to_string(), false), ("1".to_string(), true)]);
    }
}
