//! cgroup v1 and v2: which hierarchy holds which controller, where a Docker container's cgroup is, and its
//! statistics read straight from the cgroup files.
//!
//! The files are read directly rather than through `cgroups-rs`: that crate turns read errors into 0 or
//! empty values (a vanished or unreadable cgroup would look like an idle one), hard-codes v2 at
//! `/sys/fs/cgroup` (the agent reads the host's tree under a configurable root), picks v1 on hybrid hosts
//! without looking at which hierarchy holds the controllers, and pulls ~93 crates (zbus) for a dozen small
//! text files. The semantics follow what cAdvisor gets from runc's `libcontainer/cgroups/fs` (v1) and
//! `fs2` (v2), cited where they are not obvious.
//!
//! - [`parse`]: pure parsers of the file formats.
//! - [`v1`], [`v2`]: per-version assembly of [`CgroupStats`] from file texts (pure) and the readers.
//! - [`read`]: the file reader (one open, one read into a reused buffer, one close); [`files`]: which
//!   files a cgroup has, found at its first read so later scrapes open only those.

pub mod files;
pub mod parse;
pub mod v1;
pub mod v2;

use std::path::{Component, Path, PathBuf};

use crate::error::CollectError;
use crate::roots::Roots;

pub use crate::read::FileReader;
pub use files::CgroupFiles;
pub use parse::DeviceIo;

use files::Reads;

use super::{CgroupDriver, ContainerInfo};

/// How the cgroup hierarchies are mounted under the mount root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v2 only: `<root>/cgroup.controllers`.
    Unified,
    /// cgroup v1 controllers only (`<root>/memory`, `<root>/cpu,cpuacct`, …).
    Legacy,
    /// v1 controllers plus a cgroup2 hierarchy at `<root>/unified` (systemd's "hybrid" mode), usually with no
    /// controllers: the statistics come from whichever hierarchy holds each controller.
    Hybrid,
}

/// CPU accounting, in nanoseconds and periods (runc's `CpuStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuStats {
    pub usage_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_ns: u64,
    /// `cpu.stat` `nr_bursts` (kernel ≥ 5.14; 0 before).
    pub bursts: u64,
    /// `cpu.stat` `burst_time` (v1, ns) or `burst_usec` (v2, µs × 1000).
    pub burst_ns: u64,
}

/// CPU limits as cAdvisor's `ContainerSpec.Cpu` holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuSpec {
    /// v1 `cpu.shares`, or v2 `cpu.weight` converted ([`parse::cpu_weight_to_shares`]); 0 when unknown.
    pub shares: u64,
    /// CFS period in µs; 0 when unknown.
    pub period_us: u64,
    /// CFS quota in µs; 0 for no quota (v1 `-1`, v2 `max`), as cAdvisor stores it.
    pub quota_us: u64,
}

/// Memory accounting in bytes, already combined as cAdvisor does (`lib/container/libcontainer/handler.go:
/// setMemoryStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStats {
    pub usage: u64,
    /// v1 `memory.max_usage_in_bytes`, v2 `memory.peak` (0 before kernel 5.19).
    pub max_usage: u64,
    /// v1 `memory.failcnt`; always 0 on v2, which has no such counter.
    pub failcnt: u64,
    pub cache: u64,
    pub rss: u64,
    pub swap: u64,
    pub mapped_file: u64,
    /// usage − inactive file, floored at 0.
    pub working_set: u64,
    pub pgfault: u64,
    pub pgmajfault: u64,
    /// Processes of this cgroup killed by the OOM killer (v1 `memory.oom_control`, v2 `memory.events`
    /// `oom_kill`); `None` where the kernel does not say (the v2 root, kernels before 4.13).
    pub oom_kills: Option<u64>,
    /// v1 `memory.kmem.usage_in_bytes`; 0 on v2, where runc fills no kernel usage (cAdvisor prints 0).
    pub kernel_usage: u64,
    /// `memory.stat` `total_active_file` (v1) / `active_file` (v2).
    pub active_file: u64,
    /// `memory.stat` `total_inactive_file` (v1) / `inactive_file` (v2).
    pub inactive_file: u64,
    /// v2 `memory.events` `high` and `max`; 0 on v1, which has no such file.
    pub events_high: u64,
    pub events_max: u64,
}

/// One pressure file's cumulative stall totals in µs (`some`/`full` lines' `total=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Psi {
    pub some_us: u64,
    pub full_us: u64,
}

/// v2 `cpu.pressure`, `memory.pressure`, `io.pressure`; all 0 on v1 (no PSI per cgroup there), as
/// cAdvisor then prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pressure {
    pub cpu: Psi,
    pub memory: Psi,
    pub io: Psi,
}

/// Memory limits as the kernel holds them (bytes; `u64::MAX` for v2 `max`, ~2^63 for v1 "unlimited").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemorySpec {
    pub limit: u64,
    /// v1 `memory.soft_limit_in_bytes`, v2 `memory.min`.
    pub reservation: u64,
    /// v1 `memory.memsw.limit_in_bytes` (memory + swap), v2 `memory.swap.max` (swap alone); 0 without swap
    /// accounting.
    pub swap_limit: u64,
}

/// Everything read from one cgroup. A part is `None` when its controller is not there for this cgroup
/// (cAdvisor's `HasCpu`/`HasMemory`/`HasDiskIo` false).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupStats {
    pub cpu: Option<CpuStats>,
    pub cpu_spec: Option<CpuSpec>,
    pub memory: Option<MemoryStats>,
    pub memory_spec: Option<MemorySpec>,
    /// Per-device block I/O, sorted by device number.
    pub io: Option<Vec<DeviceIo>>,
    /// v1 `cpuacct.usage_percpu` (ns per possible CPU); empty on v2, which has no per-CPU usage.
    pub per_cpu: Vec<u64>,
    pub pressure: Pressure,
}

/// The host's memory, for the root cgroup: cAdvisor reports the machine's memory and swap as the root's
/// limits, and runc emulates the v2 root's missing `memory.current` / `memory.swap.current` from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostMemory {
    pub mem_total: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// The cgroup hierarchies found at start under one mount root.
#[derive(Debug, Clone)]
pub struct CgroupFs {
    mount_root: PathBuf,
    layout: Layout,
    cpu: Option<PathBuf>,
    cpuacct: Option<PathBuf>,
    memory: Option<PathBuf>,
    blkio: Option<PathBuf>,
    /// The v1 `pids` hierarchy (`pids.current`, `pids.max`: cAdvisor's threads series).
    pids: Option<PathBuf>,
    unified: Option<PathBuf>,
    unified_controllers: Vec<String>,
    user_hz: u64,
}

/// cAdvisor's process group for one cgroup (`lib/container/libcontainer/handler.go:
/// processStatsFromProcs`, runc's `PidsStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessStats {
    /// Lines of the cgroup's `cgroup.procs` (in the `cpu` hierarchy on v1), as cAdvisor counts them.
    pub processes: u64,
    /// Entries of `/proc/<pid>/fd` over those processes (one that exited meanwhile counts none).
    pub fds: u64,
    /// Of those, the links to `socket:[…]`.
    pub sockets: u64,
    /// `pids.current` (tasks, i.e. threads); 0 without the pids controller.
    pub threads: u64,
    /// `pids.max`, 0 for `max` or without the pids controller ("infinity if value is zero").
    pub threads_max: u64,
    /// The soft `Max open files` of the container's init process (`container_ulimits_soft`); `None` for
    /// the root cgroup (no root process, as cAdvisor's raw handler) or when unreadable.
    pub max_open_files_soft: Option<i64>,
}

/// Read a file whose absence is an answer (the controller or feature is not there): `Ok(None)` for
/// ENOENT, and for ENODEV, which reads of a cgroup being removed can return. For files read once (at
/// start, when a container appears); what is read on every scrape goes through a [`FileReader`].
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CollectError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if crate::read::is_gone(&e) => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

/// `path` under a hierarchy directory, for a cgroup path like `/docker/<id>` (`/` is the hierarchy itself).
fn join_cgroup(dir: &Path, cgroup: &str) -> PathBuf {
    let rel = cgroup.trim_start_matches('/');
    if rel.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(rel)
    }
}

/// A cgroup path that can be joined under the mount root: absolute, not the root, no `..` (paths seen
/// through another cgroup namespace look like `/../../system.slice/docker-<id>.scope`).
fn usable_cgroup_path(p: &str) -> bool {
    p.starts_with('/')
        && p != "/"
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// systemd's slice naming: `a-b-c.slice` lives at `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root.
/// `None` for a name that is not a valid slice.
pub fn expand_slice(slice: &str) -> Option<String> {
    let base = slice.strip_suffix(".slice")?;
    if base == "-" {
        return Some(String::new());
    }
    if base.is_empty() || base.starts_with('-') || base.ends_with('-') || base.contains("--") {
        return None;
    }
    let mut out = String::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push('/');
        out.push_str(&prefix);
        out.push_str(".slice");
    }
    Some(out)
}

/// The cgroup paths Docker's drivers give a container (`HostConfig.CgroupParent` honoured), most likely
/// first. Docker: cgroupfs → `<parent or /docker>/<id>`; systemd → `<expanded parent slice or
/// system.slice>/docker-<id>.scope` (moby `daemon/oci_linux.go`, runc `libcontainer/cgroups/systemd`).
pub fn driver_cgroup_paths(info: &ContainerInfo, driver: Option<CgroupDriver>) -> Vec<String> {
    let parent = info.cgroup_parent.trim();
    let cgroupfs = || {
        let p = if parent.is_empty() {
            "docker"
        } else {
            parent.trim_matches('/')
        };
        if p.is_empty() {
            format!("/{}", info.id)
        } else {
            format!("/{p}/{}", info.id)
        }
    };
    let systemd = || {
        let slice = if parent.is_empty() {
            "system.slice"
        } else {
            parent
        };
        expand_slice(slice).map(|s| format!("{s}/docker-{}.scope", info.id))
    };
    match driver {
        Some(CgroupDriver::Cgroupfs) => vec![cgroupfs()],
        Some(CgroupDriver::Systemd) => systemd().into_iter().collect(),
        None => std::iter::once(cgroupfs()).chain(systemd()).collect(),
    }
}

impl CgroupFs {
    /// The default mount root: `<sysfs>/fs/cgroup`.
    pub fn default_mount_root(roots: &Roots) -> PathBuf {
        roots.sys("fs/cgroup")
    }

    /// Find the hierarchies under `mount_root`: v2 if `cgroup.controllers` is there, else the v1
    /// controller directories (`cpu`, `cpuacct`, `memory`, `blkio`, also as `cpu,cpuacct`), plus a cgroup2
    /// hierarchy at `unified` on hybrid hosts. [`CollectError::NoData`] when the root does not exist or
    /// holds no cgroup hierarchy.
    pub fn detect(mount_root: &Path) -> Result<CgroupFs, CollectError> {
        if !mount_root.is_dir() {
            return Err(CollectError::NoData(format!(
                "no cgroup mount root at {} (mount the host's /sys, or set the cgroup root)",
                mount_root.display()
            )));
        }
        let user_hz = crate::read::clock_ticks_per_second();
        let mut fs = CgroupFs {
            mount_root: mount_root.to_path_buf(),
            layout: Layout::Unified,
            cpu: None,
            cpuacct: None,
            memory: None,
            blkio: None,
            pids: None,
            unified: None,
            unified_controllers: Vec::new(),
            user_hz,
        };
        let controllers_of = |dir: &Path| -> Result<Vec<String>, CollectError> {
            Ok(read_opt(&dir.join("cgroup.controllers"))?
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect())
        };
        if mount_root.join("cgroup.controllers").is_file() {
            fs.unified_controllers = controllers_of(mount_root)?;
            fs.unified = Some(mount_root.to_path_buf());
            return Ok(fs);
        }
        let entries = std::fs::read_dir(mount_root).map_err(|e| CollectError::io(mount_root, e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        // Exact names (`cpu`, often a symlink to `cpu,cpuacct`) before combined ones, for stable paths.
        names.sort_by_key(|n| (n.contains(','), n.clone()));
        for name in names {
            let dir = mount_root.join(&name);
            if !dir.join("cgroup.procs").is_file() || name == "unified" {
                continue;
            }
            for c in name.split(',') {
                let slot = match c {
                    "cpu" => &mut fs.cpu,
                    "cpuacct" => &mut fs.cpuacct,
                    "memory" => &mut fs.memory,
                    "blkio" => &mut fs.blkio,
                    "pids" => &mut fs.pids,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(dir.clone());
                }
            }
        }
        let unified = mount_root.join("unified");
        if unified.join("cgroup.controllers").is_file() {
            fs.unified_controllers = controllers_of(&unified)?;
            fs.unified = Some(unified);
        }
        let any_v1 =
            fs.cpu.is_some() || fs.cpuacct.is_some() || fs.memory.is_some() || fs.blkio.is_some();
        fs.layout = match (any_v1, fs.unified.is_some()) {
            (true, true) => Layout::Hybrid,
            (true, false) => Layout::Legacy,
            (false, true) => Layout::Unified,
            (false, false) => {
                return Err(CollectError::NoData(format!(
                    "no cgroup v1 controller (cpu, cpuacct, memory, blkio) or cgroup2 hierarchy under {}",
                    mount_root.display()
                )))
            }
        };
        Ok(fs)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn mount_root(&self) -> &Path {
        &self.mount_root
    }

    /// One line for the agent's startup log: `cgroup v1 (hybrid) at /sys/fs/cgroup (v1: cpu, cpuacct,
    /// memory, blkio; cgroup2 at unified with controllers: hugetlb)`.
    pub fn describe(&self) -> String {
        let root = self.mount_root.display();
        let v1: Vec<&str> = [
            ("cpu", &self.cpu),
            ("cpuacct", &self.cpuacct),
            ("memory", &self.memory),
            ("blkio", &self.blkio),
        ]
        .iter()
        .filter(|(_, p)| p.is_some())
        .map(|(n, _)| *n)
        .collect();
        let ctrls = if self.unified_controllers.is_empty() {
            "none".to_string()
        } else {
            self.unified_controllers.join(" ")
        };
        match self.layout {
            Layout::Unified => format!("cgroup v2 (unified) at {root} (controllers: {ctrls})"),
            Layout::Legacy => format!("cgroup v1 at {root} (v1: {})", v1.join(", ")),
            Layout::Hybrid => format!(
                "cgroup v1 (hybrid) at {root} (v1: {}; cgroup2 at unified with controllers: {ctrls})",
                v1.join(", ")
            ),
        }
    }

    fn unified_has(&self, controller: &str) -> bool {
        self.unified.is_some()
            && (self.layout == Layout::Unified
                || self.unified_controllers.iter().any(|c| c == controller))
    }

    /// The directory whose existence says whether a cgroup exists, and the `/proc/<pid>/cgroup` line
    /// that names it (the v1 controller, or `None` for the v2 `0::` line).
    fn primary(&self) -> Option<(&Path, Option<&'static str>)> {
        [
            (&self.memory, "memory"),
            (&self.cpuacct, "cpuacct"),
            (&self.cpu, "cpu"),
            (&self.blkio, "blkio"),
        ]
        .into_iter()
        .find_map(|(p, n)| p.as_deref().map(|p| (p, Some(n))))
        .or_else(|| self.unified.as_deref().map(|p| (p, None)))
    }

    /// Whether the cgroup `cgroup` (`/docker/<id>`) exists.
    pub fn exists(&self, cgroup: &str) -> bool {
        self.primary()
            .is_some_and(|(dir, _)| join_cgroup(dir, cgroup).is_dir())
    }

    /// The cgroup path of a Docker container (cAdvisor's `id` label): the driver's convention
    /// ([`driver_cgroup_paths`]) if that cgroup exists, else the path in `<procfs>/<pid>/cgroup` of its init
    /// process when that path is usable here (not `/`, no `..` from a cgroup namespace) and exists.
    pub fn container_cgroup(
        &self,
        roots: &Roots,
        info: &ContainerInfo,
        driver: Option<CgroupDriver>,
    ) -> Option<String> {
        if let Some(p) = driver_cgroup_paths(info, driver)
            .into_iter()
            .find(|p| self.exists(p))
        {
            return Some(p);
        }
        let pid = info.pid?;
        let text = read_opt(&roots.proc(&format!("{pid}/cgroup"))).ok()??;
        let lines = parse::parse_proc_cgroup(&text).ok()?;
        let (_, controller) = self.primary()?;
        let line = lines.iter().find(|l| match controller {
            Some(c) => l.controllers.iter().any(|x| x == c),
            None => l.hierarchy == 0 && l.controllers.is_empty(),
        })?;
        (usable_cgroup_path(&line.path) && self.exists(&line.path)).then(|| line.path.clone())
    }

    /// Read a container's cgroup. `Ok(None)` when the cgroup does not exist (any more): a container that
    /// stopped between the snapshot and this read. Finds the cgroup's files anew; a collector reading the
    /// same cgroup on every scrape keeps what it found with [`CgroupFs::read_with`].
    pub fn read(&self, cgroup: &str) -> Result<Option<CgroupStats>, CollectError> {
        self.read_with(cgroup, &mut CgroupFiles::default(), &mut FileReader::new())
    }

    /// [`CgroupFs::read`] with what earlier reads of this cgroup found (`files`, one per cgroup, kept by
    /// the caller): the first read looks for the cgroup and its files and remembers which are absent;
    /// later reads open only the files that were there and look for the cgroup again only when one of them
    /// has gone (a container that stopped: `Ok(None)`, and `files` is forgotten).
    pub fn read_with(
        &self,
        cgroup: &str,
        files: &mut CgroupFiles,
        reader: &mut FileReader,
    ) -> Result<Option<CgroupStats>, CollectError> {
        let first = !files.is_known();
        if first && !self.exists(cgroup) {
            return Ok(None);
        }
        files.begin();
        let stats = self.read_parts(&mut Reads::new(reader, files), cgroup, None)?;
        if first {
            // What was absent is this cgroup's layout only if the cgroup was there to the end.
            if !self.exists(cgroup) {
                files.forget();
                return Ok(None);
            }
            files.settle();
        } else if files.vanished() {
            // A file that was there is gone: the cgroup is going away, or changed; find it anew next time.
            files.forget();
            if !self.exists(cgroup) {
                return Ok(None);
            }
        }
        Ok(Some(stats))
    }

    /// Read the root cgroup (`id="/"`) with cAdvisor's root rules (`lib/container/raw/handler.go:
    /// GetSpec`): the memory limit is the machine's memory and the swap limit its swap; on v2 the root has
    /// no `memory.current`, so usage is `anon + file` and swap the host's used swap (runc `fs2/memory.go:
    /// rootStatsFromMeminfo`).
    pub fn read_root(&self, host: &HostMemory) -> Result<CgroupStats, CollectError> {
        self.read_root_with(host, &mut CgroupFiles::default(), &mut FileReader::new())
    }

    /// [`CgroupFs::read_root`] with what earlier reads of the root found (see [`CgroupFs::read_with`]).
    pub fn read_root_with(
        &self,
        host: &HostMemory,
        files: &mut CgroupFiles,
        reader: &mut FileReader,
    ) -> Result<CgroupStats, CollectError> {
        files.begin();
        let mut s = self.read_parts(&mut Reads::new(reader, files), "/", Some(host))?;
        if files.is_known() && files.vanished() {
            files.forget();
        } else {
            files.settle();
        }
        let reservation = s.memory_spec.map_or(0, |m| m.reservation);
        s.memory_spec = Some(MemorySpec {
            limit: host.mem_total,
            reservation,
            swap_limit: host.swap_total,
        });
        Ok(s)
    }

    fn read_parts(
        &self,
        r: &mut Reads<'_>,
        cgroup: &str,
        root_host: Option<&HostMemory>,
    ) -> Result<CgroupStats, CollectError> {
        let mut s = CgroupStats::default();
        let v2dir = self.unified.as_deref().map(|u| join_cgroup(u, cgroup));

        // CPU usage from v1 cpuacct where it is mounted, else from v2 cpu.stat (present in every v2 cgroup,
        // with or without the cpu controller). Throttling and limits from whichever holds `cpu`.
        let cpu_dir = self.cpu.as_deref().map(|d| join_cgroup(d, cgroup));
        match (&self.cpuacct, &v2dir) {
            (Some(acct), _) => {
                let acct = join_cgroup(acct, cgroup);
                s.cpu = v1::read_cpu(r, &acct, cpu_dir.as_deref(), self.user_hz)?;
                if s.cpu.is_some() {
                    s.per_cpu = v1::read_percpu(r, &acct)?;
                }
            }
            (None, Some(v2)) => s.cpu = v2::read_cpu(r, v2)?,
            (None, None) => {}
        }
        if let Some(d) = &cpu_dir {
            s.cpu_spec = v1::read_cpu_spec(r, d)?;
            if let (Some(cpu), None) = (&mut s.cpu, &self.cpuacct) {
                v1::add_throttling(r, d, cpu)?;
            }
        } else if let Some(v2) = &v2dir {
            if self.unified_has("cpu") {
                s.cpu_spec = v2::read_cpu_spec(r, v2)?;
            }
        }

        if let Some(m) = &self.memory {
            let d = join_cgroup(m, cgroup);
            (s.memory, s.memory_spec) = v1::read_memory(r, &d)?;
        } else if let (Some(v2), true) = (&v2dir, self.unified_has("memory")) {
            (s.memory, s.memory_spec) = v2::read_memory(r, v2, root_host)?;
        }

        if let Some(b) = &self.blkio {
            s.io = v1::read_blkio(r, &join_cgroup(b, cgroup))?;
        } else if let (Some(v2), true) = (&v2dir, self.unified_has("io")) {
            s.io = v2::read_io(r, v2)?;
        }
        // PSI per cgroup exists only on v2; cAdvisor (runc's fs2 manager) reads it only there.
        if let (Some(v2), None) = (&v2dir, &self.cpuacct) {
            s.pressure = v2::read_pressure(r, v2)?;
        }
        Ok(s)
    }

    /// cAdvisor's process group for `cgroup`: its `cgroup.procs` in the `cpu` hierarchy (v1) or the unified
    /// one, each process's `/proc/<pid>/fd`, and `pids.current`/`pids.max`. Read only when asked for
    /// (cAdvisor's `process` metrics are off by default): a readdir and a readlink per descriptor.
    pub fn process_stats(&self, roots: &Roots, cgroup: &str) -> Result<ProcessStats, CollectError> {
        let procs_dir = self
            .cpu
            .as_deref()
            .or(self.unified.as_deref())
            .map(|d| join_cgroup(d, cgroup));
        let mut p = ProcessStats::default();
        if let Some(dir) = procs_dir {
            let path = dir.join("cgroup.procs");
            let text = read_opt(&path)?.unwrap_or_default();
            for pid in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                p.processes += 1;
                let Ok(fds) = std::fs::read_dir(roots.proc(&format!("{pid}/fd"))) else {
                    continue;
                };
                for fd in fds.flatten() {
                    p.fds += 1;
                    if std::fs::read_link(fd.path())
                        .is_ok_and(|l| l.as_os_str().as_encoded_bytes().starts_with(b"socket"))
                    {
                        p.sockets += 1;
                    }
                }
            }
        }
        let pids_dir = match (&self.pids, &self.unified) {
            (Some(d), _) => Some(join_cgroup(d, cgroup)),
            (None, Some(u)) if self.unified_has("pids") => Some(join_cgroup(u, cgroup)),
            _ => None,
        };
        if let Some(d) = pids_dir {
            let num = |name: &str| -> Result<u64, CollectError> {
                let path = d.join(name);
                match read_opt(&path)? {
                    Some(t) if t.trim() == "max" => Ok(0),
                    Some(t) => parse::parse_u64(&t).map_err(|e| e.at(&path)),
                    None => Ok(0),
                }
            };
            p.threads = num("pids.current")?;
            p.threads_max = num("pids.max")?;
        }
        Ok(p)
    }

    /// The root cgroup's creation time as cAdvisor computes it (`lib/container/common/helpers.go:
    /// getSpecInternal`): the oldest modification time of the hierarchy directories and their
    /// `cgroup.clone_children` (v1) or `cgroup.events` (v2), not before boot time truncated to the minute.
    /// Whole seconds.
    pub fn root_creation_time(&self, boot_time: u64) -> Option<u64> {
        let marker = if self.layout == Layout::Unified {
            "cgroup.events"
        } else {
            "cgroup.clone_children"
        };
        let dirs: Vec<&Path> = [&self.cpu, &self.cpuacct, &self.memory, &self.blkio]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .chain(
                (self.layout == Layout::Unified)
                    .then_some(self.unified.as_deref())
                    .flatten(),
            )
            .collect();
        let mtime = |p: &Path| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        let lowest = dirs
            .iter()
            .flat_map(|d| [mtime(d), mtime(&d.join(marker))])
            .flatten()
            .min()?;
        Some(lowest.max(boot_time - boot_time % 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, parent: &str, pid: Option<u32>) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: "n".into(),
            image: "i".into(),
            pid,
            created: None,
            started: None,
            cgroup_parent: parent.into(),
            shares_network: false,
            extra_labels: vec![],
            health_status: String::new(),
        }
    }

    #[test]
    fn slices_expand_like_systemd() {
        assert_eq!(
            expand_slice("system.slice").as_deref(),
            Some("/system.slice")
        );
        assert_eq!(
            expand_slice("my-app-x.slice").as_deref(),
            Some("/my.slice/my-app.slice/my-app-x.slice")
        );
        assert_eq!(expand_slice("-.slice").as_deref(), Some(""));
        assert_eq!(expand_slice("bad"), None);
        assert_eq!(expand_slice("a--b.slice"), None);
    }

    #[test]
    fn driver_conventions_honour_cgroup_parent() {
        let i = info("abc", "", None);
        assert_eq!(
            driver_cgroup_paths(&i, Some(CgroupDriver::Cgroupfs)),
            ["/docker/abc"]
        );
        assert_eq!(
            driver_cgroup_paths(&i, Some(CgroupDriver::Systemd)),
            ["/system.slice/docker-abc.scope"]
        );
        assert_eq!(
            driver_cgroup_paths(&i, None),
            ["/docker/abc", "/system.slice/docker-abc.scope"]
        );
        let p = info("abc", "/ci/jobs/", None);
        assert_eq!(
            driver_cgroup_paths(&p, Some(CgroupDriver::Cgroupfs)),
            ["/ci/jobs/abc"]
        );
        let s = info("abc", "ci-jobs.slice", None);
        assert_eq!(
            driver_cgroup_paths(&s, Some(CgroupDriver::Systemd)),
            ["/ci.slice/ci-jobs.slice/docker-abc.scope"]
        );
    }

    #[test]
    fn namespaced_paths_are_not_usable() {
        assert!(usable_cgroup_path("/docker/abc"));
        assert!(!usable_cgroup_path("/"));
        assert!(!usable_cgroup_path("/../../system.slice/docker-abc.scope"));
        assert!(!usable_cgroup_path("docker/abc"));
    }

    #[test]
    fn missing_mount_root_is_no_data() {
        let e = CgroupFs::detect(Path::new("/nonexistent/cgroup")).unwrap_err();
        assert!(e.is_no_data(), "{e}");
        assert!(e.to_string().contains("/nonexistent/cgroup"), "{e}");
    }
}
