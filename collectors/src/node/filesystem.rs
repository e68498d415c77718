//! `filesystem`: node_filesystem_* from the mount table of PID 1 and `statfs(2)` of each mount point, as
//! node_exporter 1.5 does it.
//!
//! node_exporter 1.5 reads `<procfs>/1/mounts` (falling back to `<procfs>/mounts` when PID 1 is hidden by
//! `hidepid`), drops mount points and filesystem types matching the exclude regexes, and calls `statfs` on
//! each mount point under `--path.rootfs`. A `statfs` that does not answer within the mount timeout (a dead
//! NFS server) marks the mount point as *stuck*: it is then reported with `node_filesystem_device_error 1`
//! and not statted again until the hanging call returns. Unlike node_exporter (whose scrape waits for the
//! hanging call), every `statfs` here runs on a worker thread, so a scrape waits at most the timeout for a
//! newly stuck mount and not at all for a known one; the hanging thread exits once its call returns.
//!
//! The mount table is `/proc/1/mounts` (fstab format), not mountinfo, as node_exporter 1.5 reads it: our
//! parser; procfs-core parses mountinfo (`MountInfos`) and leaves the `\040`-style escapes in place.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, Collector, MetricSet, Roots};

use super::NodeConfig;

/// One line of `/proc/<pid>/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
}

impl MountEntry {
    /// True when the mount options include `ro`.
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// Parse a `mounts` file (fstab format). The mount point's `\040` and `\011` escapes are decoded, as
/// node_exporter does; a line with fewer than four fields is an error.
pub fn parse_mounts(text: &str) -> Result<Vec<MountEntry>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match (f.next(), f.next(), f.next(), f.next()) {
            (Some(device), Some(mp), Some(fs_type), Some(options)) => out.push(MountEntry {
                device: device.to_string(),
                mount_point: mp.replace("\\040", " ").replace("\\011", "\t"),
                fs_type: fs_type.to_string(),
                options: options.to_string(),
            }),
            _ => {
                return Err(ParseError::new(format!(
                    "malformed mount point information: {line:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// node_exporter's `rootfsStripPrefix`: a mount point as the host names it when the mount table lists it
/// under `--path.rootfs`.
pub fn strip_rootfs(mount_point: &str, rootfs: &Path) -> String {
    let Some(root) = rootfs.to_str() else {
        return mount_point.to_string();
    };
    if root == "/" {
        return mount_point.to_string();
    }
    match mount_point.strip_prefix(root) {
        Some("") => "/".to_string(),
        Some(rest) => rest.to_string(),
        None => mount_point.to_string(),
    }
}

/// What `statfs(2)` reports, in the units node_exporter uses (blocks of `bsize` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsStat {
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// A `statfs` implementation (the real one, or a test's).
pub type StatfsFn = dyn Fn(&Path) -> io::Result<FsStat> + Send + Sync;

/// `statfs(2)` of `path`.
pub fn statfs(path: &Path) -> io::Result<FsStat> {
    let buf = rustix::fs::statfs(path)?;
    // The field types differ between architectures; all are non-negative counts.
    #[allow(clippy::unnecessary_cast)]
    Ok(FsStat {
        bsize: buf.f_bsize as u64,
        blocks: buf.f_blocks as u64,
        bfree: buf.f_bfree as u64,
        bavail: buf.f_bavail as u64,
        files: buf.f_files as u64,
        ffree: buf.f_ffree as u64,
    })
}

/// The result of one bounded `statfs`.
#[derive(Debug)]
pub enum StatOutcome {
    Ok(FsStat),
    Err(io::Error),
    /// The call did not answer within the timeout now, or an earlier call on this mount point still hangs.
    Stuck,
}

struct Job {
    path: PathBuf,
    mount_point: String,
    reply: SyncSender<io::Result<FsStat>>,
}

struct Shared {
    /// Mount points whose `statfs` has timed out and not yet returned (node_exporter's `stuckMounts`).
    stuck: Mutex<HashSet<String>>,
    statfs: Arc<StatfsFn>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Idle worker threads kept for the next scrape.
const MAX_IDLE_WORKERS: usize = 2;

/// Runs `statfs` calls on worker threads under a timeout and remembers stuck mount points.
///
/// Workers are reused across calls and scrapes. A worker whose call times out is abandoned: its job
/// channel is dropped, so it exits as soon as the hanging call returns (after un-marking the mount point).
/// At most one thread per stuck mount point is held, since stuck mount points are not statted again.
pub struct StatfsRunner {
    shared: Arc<Shared>,
    idle: Mutex<Vec<Sender<Job>>>,
    timeout: Duration,
    #[cfg(test)]
    spawned: std::sync::atomic::AtomicUsize,
}

impl StatfsRunner {
    pub fn new(statfs: Arc<StatfsFn>, timeout: Duration) -> Self {
        StatfsRunner {
            shared: Arc::new(Shared {
                stuck: Mutex::new(HashSet::new()),
                statfs,
            }),
            idle: Mutex::new(Vec::new()),
            timeout,
            #[cfg(test)]
            spawned: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// True while `mount_point` is marked stuck.
    pub fn is_stuck(&self, mount_point: &str) -> bool {
        lock(&self.shared.stuck).contains(mount_point)
    }

    fn spawn_worker(&self) -> io::Result<Sender<Job>> {
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("hostlens-statfs".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let res = (shared.statfs)(&job.path);
                    // Un-mark and answer under the lock, so that a caller that timed out either sees the
                    // answer or marks the mount point stuck before we un-mark it.
                    let mut stuck = lock(&shared.stuck);
                    stuck.remove(&job.mount_point);
                    let _ = job.reply.send(res);
                }
            })?;
        #[cfg(test)]
        self.spawned
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(tx)
    }

    fn release(&self, worker: Sender<Job>) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE_WORKERS {
            idle.push(worker);
        }
    }

    /// `statfs(path)` for `mount_point`, waiting at most the timeout; a stuck mount point is not statted.
    pub fn stat(&self, mount_point: &str, path: PathBuf) -> StatOutcome {
        if self.is_stuck(mount_point) {
            return StatOutcome::Stuck;
        }
        let (reply, rx) = mpsc::sync_channel(1);
        let mut job = Job {
            path,
            mount_point: mount_point.to_string(),
            reply,
        };
        // An idle worker normally takes the job; one that died (its statfs panicked) hands it back.
        let worker = loop {
            let w = match lock(&self.idle).pop() {
                Some(w) => w,
                None => match self.spawn_worker() {
                    Ok(w) => w,
                    Err(e) => return StatOutcome::Err(e),
                },
            };
            match w.send(job) {
                Ok(()) => break w,
                Err(mpsc::SendError(j)) => job = j,
            }
        };
        match rx.recv_timeout(self.timeout) {
            Ok(res) => {
                self.release(worker);
                res.map_or_else(StatOutcome::Err, StatOutcome::Ok)
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut stuck = lock(&self.shared.stuck);
                match rx.try_recv() {
                    // The answer came just after the timeout: not stuck.
                    Ok(res) => {
                        drop(stuck);
                        self.release(worker);
                        res.map_or_else(StatOutcome::Err, StatOutcome::Ok)
                    }
                    Err(_) => {
                        stuck.insert(mount_point.to_string());
                        StatOutcome::Stuck
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => StatOutcome::Err(io::Error::other(format!(
                "statfs worker for {mount_point} died"
            ))),
        }
    }
}

pub struct Filesystem {
    roots: Arc<Roots>,
    mount_points_exclude: Regex,
    fs_types_exclude: Regex,
    runner: StatfsRunner,
}

/// The filesystem collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of mount points to ignore for the filesystem collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.mount-points-exclude",
        long = "collector.filesystem.mount-points-exclude",
        default_value = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
    )]
    pub mount_points_exclude: String,
    /// Regexp of filesystem types to ignore for the filesystem collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.fs-types-exclude",
        long = "collector.filesystem.fs-types-exclude",
        default_value = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
    )]
    pub fs_types_exclude: String,
    /// How long a statfs may take before the mount is reported with node_filesystem_device_error 1 and
    /// skipped until it answers.
    #[arg(value_name = "DURATION", id = "collector.filesystem.mount-timeout", long = "collector.filesystem.mount-timeout", default_value = "5s", value_parser = super::parse_duration)]
    pub mount_timeout: Duration,
}

pub fn new(cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
    Ok(Box::new(with_statfs(cfg, Arc::new(statfs))?))
}

/// The collector with a given `statfs` implementation.
pub fn with_statfs(cfg: &NodeConfig, statfs: Arc<StatfsFn>) -> Result<Filesystem, CollectError> {
    let re = |flag: &str, s: &str| super::flag_regex(&format!("collector.filesystem.{flag}"), s);
    Ok(Filesystem {
        roots: cfg.roots.clone(),
        mount_points_exclude: re("mount-points-exclude", &cfg.filesystem.mount_points_exclude)?,
        fs_types_exclude: re("fs-types-exclude", &cfg.filesystem.fs_types_exclude)?,
        runner: StatfsRunner::new(statfs, cfg.filesystem.mount_timeout),
    })
}

impl Filesystem {
    fn read_mounts(&self) -> Result<Vec<MountEntry>, CollectError> {
        let path = self.roots.proc("1/mounts");
        let (path, text) = match read_to_string(&path) {
            // Fall back to the agent's own mount table when PID 1 is hidden (hidepid).
            Err(e) if e.is_no_data() => {
                let p = self.roots.proc("mounts");
                let t = read_to_string(&p)?;
                (p, t)
            }
            r => (path, r?),
        };
        let mut mounts = parse_mounts(&text).map_err(|e| e.at(&path))?;
        for m in &mut mounts {
            m.mount_point = strip_rootfs(&m.mount_point, &self.roots.rootfs);
        }
        Ok(mounts)
    }
}

impl Collector for Filesystem {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mounts = self.read_mounts()?;
        // A mount listed twice (same device, mount point and type) is exposed once.
        let mut seen: HashSet<(&str, &str, &str)> = HashSet::new();
        for m in &mounts {
            if self.mount_points_exclude.is_match(&m.mount_point)
                || self.fs_types_exclude.is_match(&m.fs_type)
                || !seen.insert((&m.device, &m.mount_point, &m.fs_type))
            {
                continue;
            }
            let labels = [
                ("device", m.device.as_str()),
                ("fstype", m.fs_type.as_str()),
                ("mountpoint", m.mount_point.as_str()),
            ];
            let outcome = self
                .runner
                .stat(&m.mount_point, self.roots.host_mount_point(&m.mount_point));
            let s = match outcome {
                StatOutcome::Ok(s) => s,
                StatOutcome::Err(_) | StatOutcome::Stuck => {
                    out.gauge(
                        "node_filesystem_device_error",
                        "Whether an error occurred while getting statistics for the given device.",
                        &labels,
                        1.0,
                    );
                    continue;
                }
            };
            let bsize = s.bsize as f64;
            out.gauge(
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                &labels,
                0.0,
            );
            out.gauge(
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                &labels,
                s.blocks as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                &labels,
                s.bfree as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                &labels,
                s.bavail as f64 * bsize,
            );
            out.gauge(
                "node_filesystem_files",
                "Filesystem total file nodes.",
                &labels,
                s.files as f64,
            );
            out.gauge(
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                &labels,
                s.ffree as f64,
            );
            out.gauge(
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                &labels,
                if m.read_only() { 1.0 } else { 0.0 },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::fixture_config;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[test]
    fn parses_fixture() {
        let m = parse_mounts(include_str!("../../tests/fixtures/proc/1/mounts")).unwrap();
        assert_eq!(
            m[5],
            MountEntry {
                device: "/dev/vda".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                options: "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534".into(),
            }
        );
        assert!(!m[5].read_only());
        let ro = m.iter().find(|e| e.device == "/dev/sdb1").unwrap();
        assert_eq!(ro.mount_point, "/mnt/read only");
        assert!(ro.read_only());
    }

    #[test]
    fn rejects_short_line() {
        assert!(parse_mounts("/dev/sda / ext4\n").is_err());
    }

    #[test]
    fn strips_rootfs_prefix() {
        assert_eq!(strip_rootfs("/host/var", Path::new("/host")), "/var");
        assert_eq!(strip_rootfs("/host", Path::new("/host")), "/");
        assert_eq!(strip_rootfs("/var", Path::new("/")), "/var");
        assert_eq!(strip_rootfs("/other", Path::new("/host")), "/other");
    }

    #[test]
    fn statfs_of_real_root() {
        let s = statfs(Path::new("/")).unwrap();
        assert!(s.bsize > 0 && s.blocks > 0);
        assert!(statfs(Path::new("/nonexistent/hostlens")).is_err());
    }

    fn fake_stat() -> FsStat {
        FsStat {
            bsize: 4096,
            blocks: 100,
            bfree: 50,
            bavail: 40,
            files: 10,
            ffree: 5,
        }
    }

    /// A statfs that blocks on `/stuck` until the test sends on the returned channel, and counts calls.
    fn blocking_statfs() -> (Arc<StatfsFn>, mpsc::Sender<()>, Arc<AtomicUsize>) {
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Mutex::new(rx);
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let f: Arc<StatfsFn> = Arc::new(move |p: &Path| {
            c.fetch_add(1, Ordering::SeqCst);
            if p.ends_with("stuck") {
                let _ = lock(&rx).recv();
            }
            Ok(fake_stat())
        });
        (f, tx, calls)
    }

    fn wait_until(mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timed out waiting"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn stuck_mount_is_skipped_until_its_statfs_returns() {
        let (f, release, calls) = blocking_statfs();
        let r = StatfsRunner::new(f, Duration::from_millis(100));

        // A healthy mount answers, and its worker is reused.
        for _ in 0..3 {
            assert!(matches!(r.stat("/ok", "/ok".into()), StatOutcome::Ok(_)));
        }
        assert_eq!(r.spawned.load(Ordering::SeqCst), 1);

        // The hanging statfs times out and marks the mount stuck.
        let t = Instant::now();
        assert!(matches!(
            r.stat("/stuck", "/stuck".into()),
            StatOutcome::Stuck
        ));
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert!(r.is_stuck("/stuck"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        // While it hangs: reported stuck at once, and statfs is not called again (no thread per scrape).
        let t = Instant::now();
        for _ in 0..5 {
            assert!(matches!(
                r.stat("/stuck", "/stuck".into()),
                StatOutcome::Stuck
            ));
        }
        assert!(t.elapsed() < Duration::from_millis(100));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        // Other mounts still work, on a fresh worker.
        assert!(matches!(r.stat("/ok", "/ok".into()), StatOutcome::Ok(_)));
        assert_eq!(r.spawned.load(Ordering::SeqCst), 2);

        // The hanging call returns: the mount is un-marked and statted again.
        release.send(()).unwrap();
        wait_until(|| !r.is_stuck("/stuck"));
        release.send(()).unwrap(); // let the next call through at once
        assert!(matches!(
            r.stat("/stuck", "/stuck".into()),
            StatOutcome::Ok(_)
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[test]
    fn statfs_error_is_reported() {
        let f: Arc<StatfsFn> = Arc::new(|_: &Path| Err(io::Error::from_raw_os_error(libc::EACCES)));
        let r = StatfsRunner::new(f, Duration::from_secs(1));
        assert!(matches!(r.stat("/x", "/x".into()), StatOutcome::Err(_)));
        assert!(!r.is_stuck("/x"));
    }

    #[test]
    fn collects_from_fixture_root() {
        let c = new(&fixture_config()).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        let root = [
            ("device", "/dev/vda"),
            ("fstype", "ext4"),
            ("mountpoint", "/"),
        ];
        // "/" is the fixture root directory: statfs works there.
        assert_eq!(out.value("node_filesystem_device_error", &root), Some(0.0));
        assert!(out.value("node_filesystem_size_bytes", &root).unwrap() > 0.0);
        assert_eq!(out.value("node_filesystem_readonly", &root), Some(0.0));
        // The read-only mount, listed twice, is exposed once.
        let ro = [("device", "/dev/sdb1"), ("mountpoint", "/mnt/read only")];
        assert_eq!(out.value("node_filesystem_readonly", &ro), Some(1.0));
        let fam = out.get("node_filesystem_readonly").unwrap();
        assert_eq!(
            fam.samples
                .iter()
                .filter(|s| s.labels.iter().any(|(_, v)| v == "/mnt/read only"))
                .count(),
            1
        );
        // A mount point missing under the root: device error, no size.
        let docker = [("mountpoint", "/var/lib/docker")];
        assert_eq!(
            out.value("node_filesystem_device_error", &docker),
            Some(1.0)
        );
        assert!(out.value("node_filesystem_size_bytes", &docker).is_none());
        // Excluded by mount point (/dev, /proc, /sys) and by type (cgroup).
        for mp in ["/dev/shm", "/proc", "/sys/fs/cgroup/cpu"] {
            assert!(out
                .value("node_filesystem_device_error", &[("mountpoint", mp)])
                .is_none());
        }
        let names: Vec<_> = fam.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["device", "fstype", "mountpoint"]);
    }

    #[test]
    fn stuck_nfs_mount_does_not_stall_collect() {
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Mutex::new(rx);
        let f: Arc<StatfsFn> = Arc::new(move |p: &Path| {
            if p.ends_with("mnt/nfs") {
                let _ = lock(&rx).recv();
            }
            Ok(fake_stat())
        });
        let mut cfg = fixture_config();
        cfg.filesystem.mount_timeout = Duration::from_millis(50);
        let c = with_statfs(&cfg, f).unwrap();
        let nfs = [
            ("device", "nfs.example:/export"),
            ("mountpoint", "/mnt/nfs"),
        ];
        for _ in 0..3 {
            let mut out = MetricSet::new();
            let t = Instant::now();
            c.collect(&mut out).unwrap();
            assert!(t.elapsed() < Duration::from_secs(1));
            assert_eq!(out.value("node_filesystem_device_error", &nfs), Some(1.0));
            assert!(out.value("node_filesystem_size_bytes", &nfs).is_none());
            assert_eq!(
                out.value("node_filesystem_size_bytes", &[("mountpoint", "/")]),
                Some(409600.0)
            );
        }
        tx.send(()).unwrap();
        wait_until(|| !c.runner.is_stuck("/mnt/nfs"));
        drop(tx); // further calls return at once
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        assert_eq!(out.value("node_filesystem_device_error", &nfs), Some(0.0));
        assert_eq!(
            out.value("node_filesystem_avail_bytes", &nfs),
            Some(163840.0)
        );
    }

    #[test]
    fn falls_back_to_proc_mounts() {
        let dir = std::env::temp_dir().join(format!("hostlens-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mounts"), "/dev/vda / ext4 rw 0 0\n").unwrap();
        let cfg = NodeConfig {
            roots: Arc::new(Roots::new(&dir, "/sys", "/", None)),
            ..NodeConfig::default()
        };
        let c = new(&cfg).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            out.value("node_filesystem_device_error", &[("mountpoint", "/")]),
            Some(0.0)
        );
    }
}
