//! `filesystem`: node_filesystem_* from the mount table of PID 1 and `statfs(2)` of each mount point, as
//! node_exporter 1.12.1 does it.
//!
//! The mount table is `<procfs>/1/mountinfo` (1.10.1, #3452; falling back to `<procfs>/self/mountinfo` when
//! PID 1 is hidden by `hidepid`), parsed as procfs 0.21 does. Mount points and filesystem types are
//! filtered by the `--collector.filesystem.{mount-points,fs-types}-{exclude,include}` flags (include 1.9,
//! #3171; `erofs` in the default type exclude since 1.10), and each mount point is statted under
//! `--path.rootfs`. Every series carries the `device_error` label (1.8, #2923): `""`, the `statfs` error
//! as Go prints it (`no such file or directory`), or `mountpoint timeout` for a stuck mount. A mount is
//! read-only (node_filesystem_readonly, also reported for a mount whose `statfs` failed) when its mount
//! options or its superblock options hold `ro`, or the superblock `emergency_ro` (ext4, 1.12 #3717); the
//! options are compared one by one (1.12 #3659 fixed the separator). A healthy mount also has
//! node_filesystem_mount_info{device,major,minor,mountpoint} (1.9, #2970) and node_filesystem_purgeable_bytes,
//! which is 0 on Linux (upstream emits it whenever it is not negative; only macOS fills it). Device, mount
//! point and type are made valid UTF-8 as Go's `strings.ToValidUTF8` (1.12, #3687), and the mount point is
//! statted under that (replaced) name, as upstream does. A mount listed twice with the same labels is
//! exposed once (1.10.1, #3376).
//!
//! A `statfs` that does not answer within the mount timeout (a dead NFS server) marks the mount point as
//! *stuck*: it is then reported with `node_filesystem_device_error 1` and not statted again until the
//! hanging call returns. Unlike node_exporter (whose scrape waits for the hanging call), every `statfs` here
//! runs on a worker thread, so a scrape waits at most the timeout for a newly stuck mount and not at all for
//! a known one; the hanging thread exits once its call returns.
//!
//! Our parser: procfs-core's `MountInfos` leaves the `\040`-style escapes in place and requires UTF-8.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::ParseError;
use crate::read::{read_file_bytes, to_valid_utf8};
use crate::{CollectError, Collector, MetricSet, Roots};

use super::{DeviceFilter, NodeConfig};

/// One line of `/proc/<pid>/mountinfo`, as node_exporter labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The mount source, valid UTF-8.
    pub device: String,
    /// `\040` and `\011` decoded, `--path.rootfs` stripped, valid UTF-8.
    pub mount_point: String,
    pub fs_type: String,
    /// Per-mount options (field 6).
    pub options: String,
    /// Superblock options (the last field).
    pub super_options: String,
    /// From `major:minor`, as decimal numbers.
    pub major: String,
    pub minor: String,
}

impl MountEntry {
    /// node_exporter's `isFilesystemReadOnly`: `ro` among the mount or superblock options, or the
    /// superblock's `emergency_ro`.
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
            || self
                .super_options
                .split(',')
                .any(|o| o == "ro" || o == "emergency_ro")
    }
}

/// `fmt.Sscanf("%d")` of one side of `major:minor`.
fn dev_number(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parse a `mountinfo` file as procfs 0.21's `parseMountInfo` and node_exporter's `parseFilesystemLabels`
/// do: fields split at single spaces, at least 10 of them, `-` fourth from the end, numeric mount and
/// parent ids, `major:minor` numbers. The mount point's `\040` and `\011` are decoded and `rootfs` is
/// stripped from it ([`strip_rootfs`]).
pub fn parse_mountinfo(text: &[u8], rootfs: &Path) -> Result<Vec<MountEntry>, ParseError> {
    let mut out = Vec::new();
    // bufio.Scanner's lines: a final newline ends the last line, it does not start an empty one.
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Ok(out);
    }
    for line in text.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let lossy = || String::from_utf8_lossy(line).into_owned();
        let f: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let n = f.len();
        if n < 10 {
            return Err(ParseError::new(format!(
                "Too few fields in mount string: {}",
                lossy()
            )));
        }
        if f[n - 4] != b"-" {
            return Err(ParseError::new(format!(
                "couldn't find separator in expected field: {}",
                String::from_utf8_lossy(f[n - 4])
            )));
        }
        for id in &f[..2] {
            if dev_number(id).is_none() {
                return Err(ParseError::new(format!("mount ID: {}", lossy())));
            }
        }
        let (major, minor) = match f[2].iter().position(|b| *b == b':') {
            Some(i) => (dev_number(&f[2][..i]), dev_number(&f[2][i + 1..])),
            None => (None, None),
        };
        let (Some(major), Some(minor)) = (major, minor) else {
            return Err(ParseError::new(format!(
                "malformed mount point MajorMinorVer: {:?}",
                String::from_utf8_lossy(f[2])
            )));
        };
        let mp = replace_bytes(&replace_bytes(f[4], b"\\040", b" "), b"\\011", b"\t");
        out.push(MountEntry {
            device: to_valid_utf8(f[n - 2]),
            mount_point: to_valid_utf8(strip_rootfs(&mp, rootfs)),
            fs_type: to_valid_utf8(f[n - 3]),
            options: to_valid_utf8(f[5]),
            super_options: to_valid_utf8(f[n - 1]),
            major: major.to_string(),
            minor: minor.to_string(),
        });
    }
    Ok(out)
}

/// `strings.ReplaceAll` on bytes.
fn replace_bytes(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// node_exporter's `rootfsStripPrefix`: a mount point as the host names it when the mount table lists it
/// under `--path.rootfs` (a plain prefix strip, as upstream: `/hostfoo` under `/host` becomes `foo`).
pub fn strip_rootfs<'a>(mount_point: &'a [u8], rootfs: &Path) -> &'a [u8] {
    use std::os::unix::ffi::OsStrExt;
    let root = rootfs.as_os_str().as_bytes();
    if root == b"/" {
        return mount_point;
    }
    match mount_point.strip_prefix(root) {
        Some(b"") => b"/",
        Some(rest) => rest,
        None => mount_point,
    }
}

/// An `errno` as Go's `syscall.Errno.Error()` prints it (the `device_error` label): the C library's
/// message with a lower-case first letter, and Go's own wording where it differs; anything else as Rust
/// prints it.
pub fn go_error_string(e: &io::Error) -> String {
    let Some(code) = e.raw_os_error() else {
        return e.to_string();
    };
    if code == libc::ESTALE {
        return "stale NFS file handle".to_string();
    }
    let s = io::Error::from_raw_os_error(code).to_string();
    let s = s
        .strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&s)
        .to_string();
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => s,
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
    mount_points: DeviceFilter,
    fs_types: DeviceFilter,
    runner: StatfsRunner,
}

/// node_exporter 1.12.1's default `--collector.filesystem.mount-points-exclude`.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
/// node_exporter 1.12.1's default `--collector.filesystem.fs-types-exclude` (erofs since 1.10).
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";

/// The filesystem collector's flags. The excludes have no clap default: node_exporter tells a given
/// exclude from its default (an include clears only the default), see [`Flags::patterns`].
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of mount points to exclude for filesystem collector. (mutually exclusive to
    /// mount-points-include) [default: ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)]
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.mount-points-exclude",
        long = "collector.filesystem.mount-points-exclude"
    )]
    pub mount_points_exclude: Option<String>,
    /// Deprecated name of --collector.filesystem.mount-points-exclude.
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.ignored-mount-points",
        long = "collector.filesystem.ignored-mount-points",
        hide = true
    )]
    pub ignored_mount_points: Option<String>,
    /// Regexp of mount points to include for filesystem collector. (mutually exclusive to
    /// mount-points-exclude)
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.mount-points-include",
        long = "collector.filesystem.mount-points-include",
        default_value = ""
    )]
    pub mount_points_include: String,
    /// Regexp of filesystem types to exclude for filesystem collector. (mutually exclusive to
    /// fs-types-include) [default: ^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$]
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.fs-types-exclude",
        long = "collector.filesystem.fs-types-exclude"
    )]
    pub fs_types_exclude: Option<String>,
    /// Deprecated name of --collector.filesystem.fs-types-exclude.
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.ignored-fs-types",
        long = "collector.filesystem.ignored-fs-types",
        hide = true
    )]
    pub ignored_fs_types: Option<String>,
    /// Regexp of filesystem types to include for filesystem collector. (mutually exclusive to
    /// fs-types-exclude)
    #[arg(
        value_name = "REGEX",
        id = "collector.filesystem.fs-types-include",
        long = "collector.filesystem.fs-types-include",
        default_value = ""
    )]
    pub fs_types_include: String,
    /// how long to wait for a mount to respond before marking it as stale
    #[arg(value_name = "DURATION", id = "collector.filesystem.mount-timeout", long = "collector.filesystem.mount-timeout", default_value = "5s", value_parser = super::parse_duration)]
    pub mount_timeout: Duration,
}

/// node_exporter's `newMountPointsFilter` / `newFSTypeFilter`: the `(exclude, include)` patterns in
/// force for one pair of flags named `--collector.filesystem.<exclude_flag>` etc.
fn filter_patterns(
    exclude: Option<&str>,
    old: Option<&str>,
    include: &str,
    default: &'static str,
    names: [&str; 3],
) -> Result<(String, String), CollectError> {
    let [exclude_flag, old_flag, include_flag] = names;
    let conflict = |a: &str, b: &str| {
        CollectError::Other(format!(
            "--collector.filesystem.{a} and --collector.filesystem.{b} are mutually exclusive"
        ))
    };
    let mut pattern = match (old.filter(|o| !o.is_empty()), exclude) {
        (Some(_), Some(_)) => return Err(conflict(old_flag, exclude_flag)),
        (Some(o), None) => Some(o.to_string()),
        (None, e) => e.map(str::to_string),
    };
    // Upstream's "flag was given" is the new flag's alone: a pattern from the old one is cleared by an
    // include like the default.
    let set = exclude.is_some();
    if !include.is_empty() && !set {
        pattern = Some(String::new());
    }
    let pattern = pattern.unwrap_or_else(|| default.to_string());
    if !pattern.is_empty() && !include.is_empty() {
        return Err(conflict(exclude_flag, include_flag));
    }
    Ok((pattern, include.to_string()))
}

impl Flags {
    /// The mount point and filesystem type filters' `(exclude, include)` patterns, as node_exporter
    /// resolves them: an include replaces the default exclude, and is an error with an explicit one.
    #[allow(clippy::type_complexity)]
    pub fn patterns(&self) -> Result<((String, String), (String, String)), CollectError> {
        Ok((
            filter_patterns(
                self.mount_points_exclude.as_deref(),
                self.ignored_mount_points.as_deref(),
                &self.mount_points_include,
                DEFAULT_MOUNT_POINTS_EXCLUDE,
                [
                    "mount-points-exclude",
                    "ignored-mount-points",
                    "mount-points-include",
                ],
            )?,
            filter_patterns(
                self.fs_types_exclude.as_deref(),
                self.ignored_fs_types.as_deref(),
                &self.fs_types_include,
                DEFAULT_FS_TYPES_EXCLUDE,
                ["fs-types-exclude", "ignored-fs-types", "fs-types-include"],
            )?,
        ))
    }
}

pub fn new(cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
    Ok(Box::new(with_statfs(cfg, Arc::new(statfs))?))
}

/// The collector with a given `statfs` implementation.
pub fn with_statfs(cfg: &NodeConfig, statfs: Arc<StatfsFn>) -> Result<Filesystem, CollectError> {
    let ((mp_ex, mp_in), (fs_ex, fs_in)) = cfg.filesystem.patterns()?;
    Ok(Filesystem {
        roots: cfg.roots.clone(),
        mount_points: DeviceFilter::new("collector.filesystem.mount-points", &mp_ex, &mp_in)?,
        fs_types: DeviceFilter::new("collector.filesystem.fs-types", &fs_ex, &fs_in)?,
        runner: StatfsRunner::new(statfs, cfg.filesystem.mount_timeout),
    })
}

impl Filesystem {
    fn read_mounts(&self) -> Result<Vec<MountEntry>, CollectError> {
        let path = self.roots.proc("1/mountinfo");
        let (path, text) = match read_file_bytes(&path) {
            // Fall back to the agent's own mount table when PID 1 is hidden (hidepid).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let p = self.roots.proc("self/mountinfo");
                let t = read_file_bytes(&p).map_err(|e| CollectError::io(&p, e))?;
                (p, t)
            }
            r => {
                let t = r.map_err(|e| CollectError::io(&path, e))?;
                (path, t)
            }
        };
        parse_mountinfo(&text, &self.roots.rootfs).map_err(|e| e.at(&path))
    }
}

const FAMILIES: [(&str, &str); 7] = [
    ("node_filesystem_size_bytes", "Filesystem size in bytes."),
    (
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
    ),
    (
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
    ),
    ("node_filesystem_files", "Filesystem total file nodes."),
    (
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
    ),
    (
        "node_filesystem_purgeable_bytes",
        "Filesystem space available including purgeable space (MacOS specific).",
    ),
    ("node_filesystem_readonly", "Filesystem read-only status."),
];

impl Collector for Filesystem {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mounts = self.read_mounts()?;
        // A mount listed twice with the same labels is exposed once.
        let mut seen: HashSet<[String; 6]> = HashSet::new();
        for m in &mounts {
            if self.mount_points.ignored(&m.mount_point) || self.fs_types.ignored(&m.fs_type) {
                continue;
            }
            let outcome = self
                .runner
                .stat(&m.mount_point, self.roots.host_mount_point(&m.mount_point));
            // A stuck mount has read-only 0, as upstream's (which never looks at its options).
            let (stat, error, ro) = match outcome {
                StatOutcome::Ok(s) => (Some(s), String::new(), m.read_only()),
                StatOutcome::Err(e) => (None, go_error_string(&e), m.read_only()),
                StatOutcome::Stuck => (None, "mountpoint timeout".to_string(), false),
            };
            if !seen.insert([
                m.device.clone(),
                m.mount_point.clone(),
                m.fs_type.clone(),
                error.clone(),
                m.major.clone(),
                m.minor.clone(),
            ]) {
                continue;
            }
            let labels = [
                ("device", m.device.as_str()),
                ("device_error", error.as_str()),
                ("fstype", m.fs_type.as_str()),
                ("mountpoint", m.mount_point.as_str()),
            ];
            let gauge = |out: &mut MetricSet, (name, help): (&str, &str), v: f64| {
                out.gauge(name, help, &labels, v)
            };
            gauge(
                out,
                (
                    "node_filesystem_device_error",
                    "Whether an error occurred while getting statistics for the given device.",
                ),
                if stat.is_some() { 0.0 } else { 1.0 },
            );
            gauge(out, FAMILIES[6], if ro { 1.0 } else { 0.0 });
            let Some(s) = stat else { continue };
            let bsize = s.bsize as f64;
            for (i, v) in [
                s.blocks as f64 * bsize,
                s.bfree as f64 * bsize,
                s.bavail as f64 * bsize,
                s.files as f64,
                s.ffree as f64,
            ]
            .into_iter()
            .enumerate()
            {
                gauge(out, FAMILIES[i], v);
            }
            out.gauge(
                "node_filesystem_mount_info",
                "Filesystem mount information.",
                &[
                    ("device", m.device.as_str()),
                    ("major", m.major.as_str()),
                    ("minor", m.minor.as_str()),
                    ("mountpoint", m.mount_point.as_str()),
                ],
                1.0,
            );
            // Linux never fills purgeable: upstream's zero value is >= 0, so it is always there.
            gauge(out, FAMILIES[5], 0.0);
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
        let text = include_bytes!("../../tests/fixtures/proc/1/mountinfo");
        let m = parse_mountinfo(text, Path::new("/")).unwrap();
        assert_eq!(m.len(), 17);
        assert_eq!(
            m[5],
            MountEntry {
                device: "/dev/vda".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                options: "rw,relatime".into(),
                super_options: "rw,discard,resv_strict,resuid=65534,resgid=65534".into(),
                major: "254".into(),
                minor: "0".into(),
            }
        );
        assert!(!m[5].read_only());
        let ro = m.iter().find(|e| e.device == "/dev/sdb1").unwrap();
        assert_eq!(ro.mount_point, "/mnt/read only");
        assert_eq!((ro.major.as_str(), ro.minor.as_str()), ("8", "17"));
        assert!(ro.read_only());
        // Read-only by the superblock alone, and ext4's emergency_ro (1.12).
        let by = |mp: &str| m.iter().find(|e| e.mount_point == mp).unwrap().read_only();
        assert!(by("/mnt/super-ro"));
        assert!(by("/mnt/emergency"));
        assert!(!by("/mnt/nfs"));
        // `errors=remount-ro` is not `ro`.
        let e = MountEntry {
            super_options: "rw,errors=remount-ro".into(),
            ..m[5].clone()
        };
        assert!(!e.read_only());
    }

    #[test]
    fn parses_escapes_and_non_utf8() {
        let line = b"36 35 98:0 /mnt1 /mnt/a\\011b\\040c\xff\xfe rw,noatime master:1 - ext3 /dev/r\xffoot rw\n";
        let m = parse_mountinfo(line, Path::new("/")).unwrap();
        assert_eq!(m[0].mount_point, "/mnt/a\tb c\u{FFFD}");
        assert_eq!(m[0].device, "/dev/r\u{FFFD}oot");
        assert_eq!((m[0].major.as_str(), m[0].minor.as_str()), ("98", "0"));
        // No trailing newline; --path.rootfs stripped.
        let m = parse_mountinfo(
            b"1 2 8:1 / /host/var rw - ext4 /dev/sda1 rw",
            Path::new("/host"),
        )
        .unwrap();
        assert_eq!(m[0].mount_point, "/var");
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            &b"/dev/sda / ext4 rw 0 0\n"[..],
            b"1 2 8:1 / / rw x ext4 /dev/sda1 rw\n",
            b"x 2 8:1 / / rw - ext4 /dev/sda1 rw\n",
            b"1 2 8-1 / / rw - ext4 /dev/sda1 rw\n",
            b"1 2 8:1 / / rw - ext4 /dev/sda1 rw\n\n1 2 8:1 / / rw - ext4 /dev/sda1 rw\n",
        ] {
            assert!(
                parse_mountinfo(bad, Path::new("/")).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_mountinfo(b"", Path::new("/")).unwrap().is_empty());
    }

    #[test]
    fn strips_rootfs_prefix() {
        let s = |mp: &str, root: &str| {
            String::from_utf8(strip_rootfs(mp.as_bytes(), Path::new(root)).to_vec()).unwrap()
        };
        assert_eq!(s("/host/var", "/host"), "/var");
        assert_eq!(s("/host", "/host"), "/");
        assert_eq!(s("/var", "/"), "/var");
        assert_eq!(s("/other", "/host"), "/other");
    }

    #[test]
    fn errors_as_go_prints_them() {
        let e = |c| go_error_string(&io::Error::from_raw_os_error(c));
        assert_eq!(e(libc::ENOENT), "no such file or directory");
        assert_eq!(e(libc::EACCES), "permission denied");
        assert_eq!(e(libc::ESTALE), "stale NFS file handle");
        assert_eq!(e(libc::ENOTCONN), "transport endpoint is not connected");
    }

    #[test]
    fn include_exclude_flags() {
        let pats = |f: &Flags| f.patterns();
        let d = NodeConfig::default().filesystem;
        let ((mp, mpi), (fs, _)) = pats(&d).unwrap();
        assert_eq!(
            (mp.as_str(), mpi.as_str()),
            (DEFAULT_MOUNT_POINTS_EXCLUDE, "")
        );
        assert!(fs.contains("|erofs|"));
        // An include replaces the default exclude.
        let mut f = d.clone();
        f.mount_points_include = "^/data".into();
        assert_eq!(pats(&f).unwrap().0, (String::new(), "^/data".to_string()));
        // With an explicit exclude it is an error, unless that exclude is empty.
        f.mount_points_exclude = Some("^/x".into());
        assert!(pats(&f).is_err());
        f.mount_points_exclude = Some(String::new());
        assert!(pats(&f).is_ok());
        // The deprecated name stands in for the exclude, but not beside it.
        let mut f = d.clone();
        f.ignored_fs_types = Some("^tmpfs$".into());
        assert_eq!(pats(&f).unwrap().1 .0, "^tmpfs$");
        f.fs_types_exclude = Some("^x$".into());
        assert!(pats(&f).is_err());
        // The include filters.
        let mut cfg = fixture_config();
        cfg.filesystem.fs_types_include = "^nfs4$".into();
        let c = with_statfs(&cfg, Arc::new(|_: &Path| Ok(fake_stat()))).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        let fam = out.get("node_filesystem_device_error").unwrap();
        assert_eq!(fam.samples.len(), 1);
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
            ("device_error", ""),
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
        assert_eq!(
            out.value("node_filesystem_purgeable_bytes", &root),
            Some(0.0)
        );
        assert_eq!(
            out.value(
                "node_filesystem_mount_info",
                &[
                    ("device", "/dev/vda"),
                    ("major", "254"),
                    ("minor", "0"),
                    ("mountpoint", "/")
                ]
            ),
            Some(1.0)
        );
        // A mount point missing under the root: device error with Go's message, readonly, no size.
        let docker = [
            ("mountpoint", "/var/lib/docker"),
            ("device_error", "no such file or directory"),
        ];
        assert_eq!(
            out.value("node_filesystem_device_error", &docker),
            Some(1.0)
        );
        assert_eq!(out.value("node_filesystem_readonly", &docker), Some(0.0));
        assert!(out.value("node_filesystem_size_bytes", &docker).is_none());
        assert!(out
            .value(
                "node_filesystem_mount_info",
                &[("mountpoint", "/var/lib/docker")]
            )
            .is_none());
        // Read-only by superblock options, reported although statfs failed.
        for mp in ["/mnt/super-ro", "/mnt/emergency"] {
            assert_eq!(
                out.value("node_filesystem_readonly", &[("mountpoint", mp)]),
                Some(1.0)
            );
        }
        // Excluded by mount point (/dev, /proc, /sys) and by type (cgroup, erofs).
        for mp in ["/dev/shm", "/proc", "/sys/fs/cgroup/cpu", "/mnt/erofs"] {
            assert!(out
                .value("node_filesystem_device_error", &[("mountpoint", mp)])
                .is_none());
        }
        let names: Vec<_> = fam.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["device", "device_error", "fstype", "mountpoint"]);
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
            assert_eq!(
                out.value(
                    "node_filesystem_readonly",
                    &[
                        ("mountpoint", "/mnt/nfs"),
                        ("device_error", "mountpoint timeout")
                    ]
                ),
                Some(0.0)
            );
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
    fn falls_back_to_self_mountinfo() {
        let dir = std::env::temp_dir().join(format!("hostlens-fs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("self")).unwrap();
        std::fs::write(
            dir.join("self/mountinfo"),
            "1 0 254:0 / / rw - ext4 /dev/vda rw\n",
        )
        .unwrap();
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
