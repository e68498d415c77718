//! The container collector: cAdvisor's `container_*` series for the root cgroup (`id="/"`) and each running
//! Docker container, read from the cgroup files at scrape time ([`super::cgroup`]) and from the container
//! init process's `/proc/<pid>/net/dev`.
//!
//! Names, help texts, types and label values follow cAdvisor (`lib/metrics/prometheus.go`):
//! - Labels: `id` (cgroup path), `name`, `image` and the allowed `container_label_*`; every series carries
//!   the union of the label names of all containers, empty where a container has none (so the root prints
//!   `image="",name=""` once any Docker container is listed); labels sorted by name like client_golang.
//! - `container_cpu_usage_seconds_total`: cAdvisor 0.60 has its `percpu` metrics on by default (not in
//!   `cmd/cadvisor.go`'s default `--disable_metrics`), so where the kernel gives per-CPU usage (v1
//!   `cpuacct.usage_percpu`) it prints one series per CPU, `cpu="cpu00"`, … (only those > 0) and no
//!   `total`; without per-CPU usage (v2) the one `cpu="total"` series, when > 0.
//! - `container_cpu_cfs_burst_*` with the other CFS series (quota set), from `cpu.stat` `nr_bursts` and
//!   v1 `burst_time` / v2 `burst_usec` (0 before kernel 5.14).
//! - `container_pressure_*`: v2 `{cpu,memory,io}.pressure` `full` (stalled) and `some` (waiting) totals;
//!   0 on v1 (runc's v1 manager reads no PSI) and where the files are missing, as cAdvisor prints them.
//! - `container_memory_kernel_usage` (v1 `memory.kmem.usage_in_bytes`; 0 on v2, where runc fills none),
//!   `container_memory_total_{active,inactive}_file_bytes` (`memory.stat`), `container_memory_events_
//!   {high,max}_total` (v2 `memory.events`; 0 on v1), printed with the other memory series.
//! - `container_cpu_cfs_*` and `container_spec_cpu_quota` only when a quota is set;
//!   `container_spec_cpu_period` and `_shares` whenever the cgroup has CPU limits files (0 where absent, e.g.
//!   the v2 root).
//! - `container_spec_memory_*`: an unlimited value (> 2^62) prints 0 (`specMemoryValue`); the root's limit
//!   is the machine's memory and its swap limit the machine's swap (`lib/container/raw/handler.go`).
//! - Network: `lo`, `veth*`, `docker*`, `nerdctl*` are ignored (`lib/container/libcontainer/handler.go:
//!   isIgnoredDevice`); a container without a pid has no network series; the root's come from
//!   `<procfs>/1/net/dev`, as cAdvisor reads them with pid 1.
//! - `container_fs_*{device}` from the cgroup's block I/O, the device named `/dev/<DEVNAME>` from
//!   `<sysfs>/dev/block/<maj>:<min>/uevent` ("" when unknown, as cAdvisor's namer gives).
//! - `container_start_time_seconds`: Docker's `State.StartedAt`, else `Created`, whole seconds
//!   (`container/docker/handler.go`); the root's is its cgroup directories' age (see
//!   [`CgroupFs::root_creation_time`]).
//! - `container_oom_events_total`: cAdvisor counts OOM kills it parses from `/dev/kmsg` (0 when it cannot
//!   read it); hostlens reads the kernel's own per-cgroup counter (`oom_kill` in v1 `memory.oom_control`,
//!   v2 `memory.events`), which needs no kernel log access.
//! - `container_scrape_error`: 1 when a container's cgroup could not be read (it is then left out).
//!
//! Cost: a container's cgroup path is found when it appears, and which of its files exist at its first
//! read ([`super::cgroup::files`]); every scrape then opens, reads once and closes each file that is there,
//! through one reader whose buffer serves every file ([`super::cgroup::read`]): about 3 syscalls per file,
//! 21 files and 64 file-I/O syscalls per container per scrape on a v1 host with `cpuacct.usage_percpu` and
//! `memory.kmem.usage_in_bytes` (`scripts/bench_syscalls.py 5 5`; 58 before those two); on v2 the three
//! pressure files add 9. `--container.process-metrics` adds, per container, a read of `cgroup.procs`,
//! `pids.*` and `/proc/<pid>/limits`, and a readdir of `/proc/<pid>/fd` plus a readlink per descriptor
//! of each process (cAdvisor's reason to leave its `process` metrics off by default).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::cgroup::{
    read_opt, CgroupFiles, CgroupFs, CgroupStats, FileReader, HostMemory, ProcessStats,
};
use super::fs::{FsStats, FsWatcher};
use super::{CgroupDriver, ContainerInfo, ContainerSource};
use crate::metrics::Kind;
use crate::node::{meminfo::parse_meminfo, netdev::parse_net_dev, stat::parse_stat};
use crate::read::is_gone;
use crate::{CollectError, Collector, MetricSet, Roots};

/// Interfaces cAdvisor does not report (prefixes, compared in lower case).
const IGNORED_INTERFACE_PREFIXES: [&str; 4] = ["lo", "veth", "docker", "nerdctl"];

/// How often a container's writable layer is walked by default: cAdvisor's `common.DefaultPeriod`.
pub const DEFAULT_FS_REFRESH: Duration = Duration::from_secs(60);

/// Above this, cAdvisor prints a memory limit as 0 ("unlimited"; not `MaxInt64` because the kernel rounds).
const MAX_MEMORY_SIZE: u64 = 1 << 62;

/// cAdvisor's container metrics for the root cgroup and the running Docker containers.
pub struct ContainerCollector {
    roots: Arc<Roots>,
    cgroups: CgroupFs,
    source: Arc<dyn ContainerSource>,
    now: fn() -> SystemTime,
    /// The root cgroup's creation time: found once (it depends on the boot time and the hierarchy's
    /// directories, which do not change while the host runs), not on every scrape.
    root_created: OnceLock<Option<f64>>,
    /// What scrapes keep for the next: the reader's buffer, and each cgroup's path and files.
    state: Mutex<State>,
    /// The writable layers' usage, walked in the background ([`super::fs`]).
    fs: FsWatcher,
    /// The machine facts (`machine_*`), read again every [`super::machine::REFRESH`].
    machine: Mutex<super::machine::Cached>,
    /// `cadvisor_version_info`'s `cadvisorRevision`: hostlens's revision (set by the agent).
    revision: &'static str,
    /// The agent's own root, whose os-release is `cadvisor_version_info{osVersion}`; `/` but in tests.
    own_root: std::path::PathBuf,
    /// cAdvisor's `process` metrics (off by default there and here: a readdir per process and a
    /// readlink per open descriptor on every scrape).
    process_metrics: bool,
}

/// Kept from scrape to scrape.
#[derive(Default)]
struct State {
    reader: FileReader,
    root: CgroupFiles,
    /// Running containers by ID: their cgroup path (found when the container appeared) and files.
    containers: HashMap<String, Known>,
}

/// A container's cgroup as found when it appeared.
struct Known {
    cgroup: String,
    files: CgroupFiles,
}

/// One cgroup to report: its labels (without metric-specific ones) and what was read.
struct Target {
    labels: BTreeMap<String, String>,
    stats: CgroupStats,
    net: Vec<crate::node::netdev::NetDevLine>,
    created: Option<f64>,
    started: Option<f64>,
    fs: Option<FsStats>,
    /// cAdvisor's process group, when enabled.
    processes: Option<ProcessStats>,
    /// Docker's health status, "" without a health check (and for the root cgroup).
    health: String,
}

/// Samples of one family until they are written out, sorted.
struct Buf {
    help: &'static str,
    kind: Kind,
    samples: Vec<(Vec<(String, String)>, f64)>,
}

#[derive(Default)]
struct Out {
    families: BTreeMap<&'static str, Buf>,
}

impl Out {
    fn add(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        base: &BTreeMap<String, String>,
        extra: &[(&str, &str)],
        value: f64,
    ) {
        let mut labels: Vec<(String, String)> =
            base.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        labels.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        );
        labels.sort();
        self.families
            .entry(name)
            .or_insert_with(|| Buf {
                help,
                kind,
                samples: Vec::new(),
            })
            .samples
            .push((labels, value));
    }

    /// Write families in name order and samples in label order, as client_golang gathers them; a
    /// repeated label set (two unnamed devices) keeps its first value, never a duplicate series.
    fn write(self, out: &mut MetricSet) {
        for (name, mut buf) in self.families {
            buf.samples.sort_by(|a, b| a.0.cmp(&b.0));
            buf.samples.dedup_by(|a, b| a.0 == b.0);
            for (labels, v) in buf.samples {
                out.sample(name, buf.help, buf.kind, labels, v);
            }
        }
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0)
}

fn spec_memory_value(v: u64) -> f64 {
    if v > MAX_MEMORY_SIZE {
        0.0
    } else {
        v as f64
    }
}

fn ignored_interface(name: &str) -> bool {
    let l = name.to_lowercase();
    IGNORED_INTERFACE_PREFIXES.iter().any(|p| l.starts_with(p))
}

impl ContainerCollector {
    pub fn new(roots: Arc<Roots>, cgroups: CgroupFs, source: Arc<dyn ContainerSource>) -> Self {
        ContainerCollector {
            fs: FsWatcher::new(roots.clone(), DEFAULT_FS_REFRESH),
            roots,
            cgroups,
            source,
            now: SystemTime::now,
            root_created: OnceLock::new(),
            state: Mutex::new(State::default()),
            machine: Mutex::new(super::machine::Cached::default()),
            revision: "",
            own_root: "/".into(),
            process_metrics: false,
        }
    }

    /// How often each container's writable layer is walked (`Duration::ZERO`: never, no `container_fs_usage_bytes`).
    pub fn with_fs_refresh(mut self, period: Duration) -> Self {
        self.fs = FsWatcher::new(self.roots.clone(), period);
        self
    }

    /// Serve cAdvisor's `process` group (`container_processes`, `_file_descriptors`, `_sockets`,
    /// `_threads`, `_threads_max`).
    pub fn with_process_metrics(mut self, on: bool) -> Self {
        self.process_metrics = on;
        self
    }

    fn processes(&self, cgroup: &str) -> Result<Option<ProcessStats>, CollectError> {
        if !self.process_metrics {
            return Ok(None);
        }
        self.cgroups.process_stats(&self.roots, cgroup).map(Some)
    }

    /// Read the agent's own os-release under `root` instead of `/`; for reproducible tests.
    pub fn with_own_root(mut self, root: impl Into<std::path::PathBuf>) -> Self {
        self.own_root = root.into();
        self
    }

    /// hostlens's source revision, for `cadvisor_version_info{cadvisorRevision}`.
    pub fn with_revision(mut self, revision: &'static str) -> Self {
        self.revision = revision;
        self
    }

    /// Replace the clock (`container_last_seen`); for reproducible tests.
    pub fn with_clock(mut self, now: fn() -> SystemTime) -> Self {
        self.now = now;
        self
    }

    fn host_memory(&self, reader: &mut FileReader) -> Result<HostMemory, CollectError> {
        let path = self.roots.proc("meminfo");
        let text = reader
            .stream(&path)
            .map_err(|e| CollectError::io(&path, e))?;
        let pairs = parse_meminfo(text).map_err(|e| e.at(&path))?;
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map_or(0, |(_, v)| *v as u64)
        };
        Ok(HostMemory {
            mem_total: get("MemTotal_bytes"),
            swap_total: get("SwapTotal_bytes"),
            swap_free: get("SwapFree_bytes"),
        })
    }

    fn boot_time(&self) -> Option<u64> {
        let text = read_opt(&self.roots.proc("stat")).ok()??;
        parse_stat(&text).ok().map(|s| s.boot_time)
    }

    /// `<procfs>/<pid>/net/dev`, without the interfaces cAdvisor ignores; empty when the process is gone.
    fn network(
        &self,
        reader: &mut FileReader,
        pid: u32,
    ) -> Result<Vec<crate::node::netdev::NetDevLine>, CollectError> {
        let path = self.roots.proc(&format!("{pid}/net/dev"));
        let text = match reader.stream(&path) {
            Ok(t) => t,
            Err(e) if is_gone(&e) => return Ok(Vec::new()),
            Err(e) => return Err(CollectError::io(&path, e)),
        };
        let mut lines = parse_net_dev(text).map_err(|e| e.at(&path))?;
        lines.retain(|l| !ignored_interface(&l.name));
        Ok(lines)
    }

    fn root_target(&self, st: &mut State) -> Result<Target, CollectError> {
        let host = self.host_memory(&mut st.reader)?;
        let stats = self
            .cgroups
            .read_root_with(&host, &mut st.root, &mut st.reader)?;
        let created = *self.root_created.get_or_init(|| {
            self.boot_time()
                .and_then(|b| self.cgroups.root_creation_time(b))
                .map(|t| t as f64)
        });
        let mut labels = BTreeMap::new();
        labels.insert("id".to_string(), "/".to_string());
        Ok(Target {
            labels,
            stats,
            net: self.network(&mut st.reader, 1)?,
            created,
            started: None,
            fs: None,
            processes: self.processes("/")?,
            health: String::new(),
        })
    }

    /// A container's target; `Ok(None)` when it stopped (its cgroup or process is gone). Its cgroup is
    /// found when it first appears, and kept while it runs.
    fn container_target(
        &self,
        st: &mut State,
        info: &ContainerInfo,
        driver: Option<CgroupDriver>,
    ) -> Result<Option<Target>, CollectError> {
        let State {
            reader, containers, ..
        } = st;
        let known = match containers.entry(info.id.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let Some(cgroup) = self.find_cgroup(info, driver)? else {
                    return Ok(None);
                };
                e.insert(Known {
                    cgroup,
                    files: CgroupFiles::default(),
                })
            }
        };
        let Some(stats) = self
            .cgroups
            .read_with(&known.cgroup, &mut known.files, reader)?
        else {
            // Gone: a container that stopped, or one whose cgroup moves; looked for again if still listed.
            containers.remove(&info.id);
            return Ok(None);
        };
        let cgroup = known.cgroup.clone();
        let processes = self.processes(&cgroup)?.map(|mut p| {
            p.max_open_files_soft = info.pid.and_then(|pid| {
                let t = std::fs::read_to_string(self.roots.proc(&format!("{pid}/limits"))).ok()?;
                super::cgroup::parse::parse_max_open_files_soft(&t)
            });
            p
        });
        let net = match info.pid {
            Some(pid) if !info.shares_network => self.network(reader, pid)?,
            _ => Vec::new(),
        };
        let mut labels: BTreeMap<String, String> = info.extra_labels.iter().cloned().collect();
        labels.insert("id".into(), cgroup);
        labels.insert("name".into(), info.name.clone());
        labels.insert("image".into(), info.image.clone());
        Ok(Some(Target {
            labels,
            stats,
            net,
            created: info.created,
            started: info.started,
            fs: None,
            processes,
            health: info.health_status.clone(),
        }))
    }

    /// The cgroup of a container that just appeared; `Ok(None)` when it stopped already.
    fn find_cgroup(
        &self,
        info: &ContainerInfo,
        driver: Option<CgroupDriver>,
    ) -> Result<Option<String>, CollectError> {
        let Some(cgroup) = self.cgroups.container_cgroup(&self.roots, info, driver) else {
            // Its init process still running but no cgroup found: something is wrong, not a stop.
            return match info.pid {
                Some(pid) if self.roots.proc(&pid.to_string()).is_dir() => {
                    Err(CollectError::Other(format!(
                        "container {} ({}): no cgroup found under {} for the driver's paths or \
                         /proc/{pid}/cgroup",
                        info.name,
                        info.id,
                        self.cgroups.mount_root().display()
                    )))
                }
                _ => Ok(None),
            };
        };
        Ok(Some(cgroup))
    }

    /// `/dev/<DEVNAME>` of each block device in the targets' I/O, from `<sysfs>/dev/block/<maj>:<min>/uevent`
    /// ("" when unknown), read once per scrape for all containers.
    fn device_names(
        &self,
        reader: &mut FileReader,
        targets: &[Target],
    ) -> HashMap<(u64, u64), String> {
        let mut names = HashMap::new();
        for d in targets.iter().flat_map(|t| t.stats.io.iter().flatten()) {
            names.entry((d.major, d.minor)).or_insert_with(|| {
                let p = self
                    .roots
                    .sys(&format!("dev/block/{}:{}/uevent", d.major, d.minor));
                reader
                    .attribute(&p)
                    .ok()
                    .and_then(super::cgroup::parse::parse_uevent_devname)
                    .unwrap_or_default()
            });
        }
        names
    }

    fn emit(&self, t: &Target, now: f64, devices: &HashMap<(u64, u64), String>, o: &mut Out) {
        let l = &t.labels;
        let s = &t.stats;
        let quota = s.cpu_spec.map_or(0, |c| c.quota_us);
        o.add(
            "container_last_seen",
            "Last time a container was seen by the exporter",
            Kind::Gauge,
            l,
            &[],
            now,
        );
        // cAdvisor's `getContainerHealthState`: 1 healthy, -1 without a health check, 0 otherwise
        // (starting, unhealthy); for every container, the root included.
        o.add(
            "container_health_state",
            "The result of the container's health check",
            Kind::Gauge,
            l,
            &[],
            match t.health.as_str() {
                "healthy" => 1.0,
                "" => -1.0,
                _ => 0.0,
            },
        );
        if let Some(c) = t.created {
            o.add(
                "container_creation_time_seconds",
                "Container creation time since unix epoch in seconds.",
                Kind::Gauge,
                l,
                &[],
                c.floor(),
            );
        }
        if let Some(st) = t.started.or(t.created) {
            o.add(
                "container_start_time_seconds",
                "Start time of the container since unix epoch in seconds.",
                Kind::Gauge,
                l,
                &[],
                st.floor(),
            );
        }
        if let Some(spec) = s.cpu_spec {
            o.add(
                "container_spec_cpu_period",
                "CPU period of the container.",
                Kind::Gauge,
                l,
                &[],
                spec.period_us as f64,
            );
            if spec.quota_us != 0 {
                o.add(
                    "container_spec_cpu_quota",
                    "CPU quota of the container.",
                    Kind::Gauge,
                    l,
                    &[],
                    spec.quota_us as f64,
                );
            }
            o.add(
                "container_spec_cpu_shares",
                "CPU share of the container.",
                Kind::Gauge,
                l,
                &[],
                spec.shares as f64,
            );
        }
        if let Some(spec) = s.memory_spec {
            o.add(
                "container_spec_memory_limit_bytes",
                "Memory limit for the container.",
                Kind::Gauge,
                l,
                &[],
                spec_memory_value(spec.limit),
            );
            o.add(
                "container_spec_memory_swap_limit_bytes",
                "Memory swap limit for the container.",
                Kind::Gauge,
                l,
                &[],
                spec_memory_value(spec.swap_limit),
            );
            o.add(
                "container_spec_memory_reservation_limit_bytes",
                "Memory reservation limit for the container.",
                Kind::Gauge,
                l,
                &[],
                spec_memory_value(spec.reservation),
            );
        }
        if let Some(c) = s.cpu {
            let secs = |ns: u64| ns as f64 / 1e9;
            o.add(
                "container_cpu_user_seconds_total",
                "Cumulative user cpu time consumed in seconds.",
                Kind::Counter,
                l,
                &[],
                secs(c.user_ns),
            );
            o.add(
                "container_cpu_system_seconds_total",
                "Cumulative system cpu time consumed in seconds.",
                Kind::Counter,
                l,
                &[],
                secs(c.system_ns),
            );
            // cAdvisor 0.60 has `percpu` on by default: per-CPU series where the kernel gives them (v1),
            // only those > 0; the `total` series only without per-CPU usage (v2).
            if s.per_cpu.is_empty() {
                if c.usage_ns > 0 {
                    o.add(
                        "container_cpu_usage_seconds_total",
                        "Cumulative cpu time consumed in seconds.",
                        Kind::Counter,
                        l,
                        &[("cpu", "total")],
                        secs(c.usage_ns),
                    );
                }
            } else {
                for (i, &ns) in s.per_cpu.iter().enumerate() {
                    if ns > 0 {
                        o.add(
                            "container_cpu_usage_seconds_total",
                            "Cumulative cpu time consumed in seconds.",
                            Kind::Counter,
                            l,
                            &[("cpu", &format!("cpu{i:02}"))],
                            secs(ns),
                        );
                    }
                }
            }
            if quota != 0 {
                o.add(
                    "container_cpu_cfs_periods_total",
                    "Number of elapsed enforcement period intervals.",
                    Kind::Counter,
                    l,
                    &[],
                    c.periods as f64,
                );
                o.add(
                    "container_cpu_cfs_throttled_periods_total",
                    "Number of throttled period intervals.",
                    Kind::Counter,
                    l,
                    &[],
                    c.throttled_periods as f64,
                );
                o.add(
                    "container_cpu_cfs_throttled_seconds_total",
                    "Total time duration the container has been throttled.",
                    Kind::Counter,
                    l,
                    &[],
                    secs(c.throttled_ns),
                );
                o.add(
                    "container_cpu_cfs_burst_periods_total",
                    "Number of periods when burst occurs.",
                    Kind::Counter,
                    l,
                    &[],
                    c.bursts as f64,
                );
                o.add(
                    "container_cpu_cfs_burst_seconds_total",
                    "Total time duration the container has been bursted.",
                    Kind::Counter,
                    l,
                    &[],
                    secs(c.burst_ns),
                );
            }
            let us = |v: u64| v as f64 / 1e6;
            for (name, help, v) in [
                (
                    "container_pressure_cpu_stalled_seconds_total",
                    "Total time duration no tasks in the container could make progress due to CPU congestion.",
                    s.pressure.cpu.full_us,
                ),
                (
                    "container_pressure_cpu_waiting_seconds_total",
                    "Total time duration tasks in the container have waited due to CPU congestion.",
                    s.pressure.cpu.some_us,
                ),
            ] {
                o.add(name, help, Kind::Counter, l, &[], us(v));
            }
        }
        if let Some(m) = s.memory {
            let g =
                |o: &mut Out, name, help, v: u64| o.add(name, help, Kind::Gauge, l, &[], v as f64);
            g(
                o,
                "container_memory_cache",
                "Number of bytes of page cache memory.",
                m.cache,
            );
            g(o, "container_memory_rss", "Size of RSS in bytes.", m.rss);
            g(
                o,
                "container_memory_mapped_file",
                "Size of memory mapped files in bytes.",
                m.mapped_file,
            );
            g(
                o,
                "container_memory_swap",
                "Container swap usage in bytes.",
                m.swap,
            );
            g(
                o,
                "container_memory_usage_bytes",
                "Current memory usage in bytes, including all memory regardless of when it was accessed",
                m.usage,
            );
            g(
                o,
                "container_memory_max_usage_bytes",
                "Maximum memory usage recorded in bytes",
                m.max_usage,
            );
            g(
                o,
                "container_memory_working_set_bytes",
                "Current working set in bytes.",
                m.working_set,
            );
            // A counter without `_total`, TYPE counter as cAdvisor's (the golden files show it).
            o.add(
                "container_memory_failcnt",
                "Number of memory usage hits limits",
                Kind::Counter,
                l,
                &[],
                m.failcnt as f64,
            );
            for (ty, v) in [("pgfault", m.pgfault), ("pgmajfault", m.pgmajfault)] {
                for scope in ["container", "hierarchy"] {
                    o.add(
                        "container_memory_failures_total",
                        "Cumulative count of memory allocation failures.",
                        Kind::Counter,
                        l,
                        &[("failure_type", ty), ("scope", scope)],
                        v as f64,
                    );
                }
            }
            g(
                o,
                "container_memory_kernel_usage",
                "Size of kernel memory allocated in bytes.",
                m.kernel_usage,
            );
            g(
                o,
                "container_memory_total_active_file_bytes",
                "Current total active file in bytes.",
                m.active_file,
            );
            g(
                o,
                "container_memory_total_inactive_file_bytes",
                "Current total inactive file in bytes.",
                m.inactive_file,
            );
            o.add(
                "container_memory_events_high_total",
                "Cumulative count of memory.high throttle events for the container",
                Kind::Counter,
                l,
                &[],
                m.events_high as f64,
            );
            o.add(
                "container_memory_events_max_total",
                "Cumulative count of memory.max limit hit events for the container",
                Kind::Counter,
                l,
                &[],
                m.events_max as f64,
            );
            let us = |v: u64| v as f64 / 1e6;
            for (name, help, v) in [
                (
                    "container_pressure_memory_stalled_seconds_total",
                    "Total time duration no tasks in the container could make progress due to memory congestion.",
                    s.pressure.memory.full_us,
                ),
                (
                    "container_pressure_memory_waiting_seconds_total",
                    "Total time duration tasks in the container have waited due to memory congestion.",
                    s.pressure.memory.some_us,
                ),
            ] {
                o.add(name, help, Kind::Counter, l, &[], us(v));
            }
            if let Some(k) = m.oom_kills {
                o.add(
                    "container_oom_events_total",
                    "Count of out of memory events observed for the container",
                    Kind::Counter,
                    l,
                    &[],
                    k as f64,
                );
            }
        }
        if let Some(p) = t.processes {
            for (name, help, v) in [
                (
                    "container_processes",
                    "Number of processes running inside the container.",
                    p.processes,
                ),
                (
                    "container_file_descriptors",
                    "Number of open file descriptors for the container.",
                    p.fds,
                ),
                (
                    "container_sockets",
                    "Number of open sockets for the container.",
                    p.sockets,
                ),
                (
                    "container_threads_max",
                    "Maximum number of threads allowed inside the container, infinity if value is zero",
                    p.threads_max,
                ),
                (
                    "container_threads",
                    "Number of threads running inside the container",
                    p.threads,
                ),
            ] {
                o.add(name, help, Kind::Gauge, l, &[], v as f64);
            }
            if let Some(soft) = p.max_open_files_soft {
                o.add(
                    "container_ulimits_soft",
                    "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice",
                    Kind::Gauge,
                    l,
                    &[("ulimit", "max_open_files")],
                    soft as f64,
                );
            }
        }
        for n in &t.net {
            let v = &n.values;
            let iface = [("interface", n.name.as_str())];
            for (name, help, value) in [
                (
                    "container_network_receive_bytes_total",
                    "Cumulative count of bytes received",
                    v[0],
                ),
                (
                    "container_network_receive_packets_total",
                    "Cumulative count of packets received",
                    v[1],
                ),
                (
                    "container_network_receive_errors_total",
                    "Cumulative count of errors encountered while receiving",
                    v[2],
                ),
                (
                    "container_network_receive_packets_dropped_total",
                    "Cumulative count of packets dropped while receiving",
                    v[3],
                ),
                (
                    "container_network_transmit_bytes_total",
                    "Cumulative count of bytes transmitted",
                    v[8],
                ),
                (
                    "container_network_transmit_packets_total",
                    "Cumulative count of packets transmitted",
                    v[9],
                ),
                (
                    "container_network_transmit_errors_total",
                    "Cumulative count of errors encountered while transmitting",
                    v[10],
                ),
                (
                    "container_network_transmit_packets_dropped_total",
                    "Cumulative count of packets dropped while transmitting",
                    v[11],
                ),
            ] {
                o.add(name, help, Kind::Counter, l, &iface, value as f64);
            }
        }
        if s.io.is_some() {
            let us = |v: u64| v as f64 / 1e6;
            for (name, help, v) in [
                (
                    "container_pressure_io_stalled_seconds_total",
                    "Total time duration no tasks in the container could make progress due to IO congestion.",
                    s.pressure.io.full_us,
                ),
                (
                    "container_pressure_io_waiting_seconds_total",
                    "Total time duration tasks in the container have waited due to IO congestion.",
                    s.pressure.io.some_us,
                ),
            ] {
                o.add(name, help, Kind::Counter, l, &[], us(v));
            }
        }
        for d in s.io.iter().flatten() {
            let dev = devices.get(&(d.major, d.minor)).map_or("", String::as_str);
            let label = [("device", dev)];
            for (name, help, value) in [
                (
                    "container_fs_reads_bytes_total",
                    "Cumulative count of bytes read",
                    d.read_bytes,
                ),
                (
                    "container_fs_reads_total",
                    "Cumulative count of reads completed",
                    d.reads,
                ),
                (
                    "container_fs_writes_bytes_total",
                    "Cumulative count of bytes written",
                    d.write_bytes,
                ),
                (
                    "container_fs_writes_total",
                    "Cumulative count of writes completed",
                    d.writes,
                ),
            ] {
                o.add(name, help, Kind::Counter, l, &label, value as f64);
            }
        }
        if let Some(f) = &t.fs {
            for (name, help, value) in f.samples() {
                o.add(name, help, Kind::Gauge, l, &[("device", &f.device)], value);
            }
        }
    }
}

impl Collector for ContainerCollector {
    fn name(&self) -> &'static str {
        "container"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let root = self.cgroups.mount_root();
        if !Path::new(root).is_dir() {
            return Err(CollectError::NoData(format!(
                "the cgroup mount root {} does not exist",
                root.display()
            )));
        }
        let snap = self.source.snapshot();
        let now = unix_secs((self.now)());

        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *guard;
        let mut targets = vec![self.root_target(st)?];
        let mut scrape_error = false;
        let storage = self.source.storage();
        let mut fs = self.fs.track(
            storage.as_ref(),
            snap.containers.iter().map(|c| c.id.as_str()),
        );
        for info in &snap.containers {
            match self.container_target(st, info, snap.driver) {
                Ok(Some(mut t)) => {
                    t.fs = fs.remove(&info.id);
                    targets.push(t);
                }
                Ok(None) => {}
                Err(_) => scrape_error = true,
            }
        }
        // Containers no longer listed are forgotten (a new one with the same cgroup is found anew).
        st.containers
            .retain(|id, _| snap.containers.iter().any(|c| &c.id == id));

        // cAdvisor gives every series the union of all containers' label names.
        let names: BTreeSet<String> = targets
            .iter()
            .flat_map(|t| t.labels.keys().cloned())
            .collect();
        for t in &mut targets {
            for n in &names {
                t.labels.entry(n.clone()).or_default();
            }
        }

        let devices = self.device_names(&mut st.reader, &targets);
        drop(guard);
        let mut o = Out::default();
        for t in &targets {
            self.emit(t, now, &devices, &mut o);
        }
        let none = BTreeMap::new();
        o.add(
            "container_scrape_error",
            "1 if there was an error while getting container metrics, 0 otherwise",
            Kind::Gauge,
            &none,
            &[],
            if scrape_error { 1.0 } else { 0.0 },
        );
        let mut up = BTreeMap::new();
        up.insert("runtime".to_string(), "docker".to_string());
        if let (false, Some(r)) = (snap.runtime_up, &snap.reason) {
            up.insert(
                "reason".to_string(),
                super::reason::runtime_reason(r).into(),
            );
        }
        o.add(
            "hostlens_container_runtime_up",
            "1 if the container runtime's API answered at the last attempt, 0 otherwise.",
            Kind::Gauge,
            &up,
            &[],
            if snap.runtime_up { 1.0 } else { 0.0 },
        );
        self.emit_machine(&mut o);
        o.write(out);
        Ok(())
    }
}

impl ContainerCollector {
    /// cAdvisor's machine group and `cadvisor_version_info` (see [`super::machine`]).
    fn emit_machine(&self, o: &mut Out) {
        let none = BTreeMap::new();
        let read = self
            .machine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&self.roots, &self.own_root);
        let m = match read {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("container: couldn't get machine info: {e}");
                o.add(
                    "machine_scrape_error",
                    "1 if there was an error while getting machine metrics, 0 otherwise.",
                    Kind::Gauge,
                    &none,
                    &[],
                    1.0,
                );
                return;
            }
        };
        o.add(
            "machine_scrape_error",
            "1 if there was an error while getting machine metrics, 0 otherwise.",
            Kind::Gauge,
            &none,
            &[],
            0.0,
        );
        let mut base = BTreeMap::new();
        base.insert("boot_id".to_string(), m.boot_id.clone());
        base.insert("machine_id".to_string(), m.machine_id.clone());
        base.insert("system_uuid".to_string(), m.system_uuid.clone());
        for (name, help, v) in [
            (
                "machine_cpu_physical_cores",
                "Number of physical CPU cores.",
                m.physical_cores,
            ),
            ("machine_cpu_cores", "Number of logical CPU cores.", m.cores),
            ("machine_cpu_sockets", "Number of CPU sockets.", m.sockets),
            ("machine_cpu_books", "Number of CPU books.", m.books),
            ("machine_cpu_drawers", "Number of CPU drawers.", m.drawers),
            (
                "machine_memory_bytes",
                "Amount of memory installed on the machine.",
                m.memory_bytes,
            ),
            (
                "machine_swap_bytes",
                "Amount of swap memory available on the machine.",
                m.swap_bytes,
            ),
            ("machine_nvm_avg_power_budget_watts", "NVM power budget.", 0),
        ] {
            o.add(name, help, Kind::Gauge, &base, &[], v as f64);
        }
        for mode in ["memory_mode", "app_direct_mode"] {
            o.add(
                "machine_nvm_capacity",
                "NVM capacity value labeled by NVM mode (memory mode or app direct mode).",
                Kind::Gauge,
                &base,
                &[("mode", mode)],
                0.0,
            );
        }
        o.add(
            "cadvisor_version_info",
            "A metric with a constant '1' value labeled by kernel version, OS version, docker version, \
             cadvisor version & cadvisor revision. Served by hostlens: cadvisorVersion and \
             cadvisorRevision are hostlens's.",
            Kind::Gauge,
            &none,
            &[
                ("cadvisorRevision", self.revision),
                ("cadvisorVersion", env!("CARGO_PKG_VERSION")),
                ("dockerVersion", ""),
                ("kernelVersion", &m.kernel_version),
                ("osVersion", &m.os_version),
            ],
            1.0,
        );
    }
}
