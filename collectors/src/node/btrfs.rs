//! `btrfs`: node_btrfs_* from `/sys/fs/btrfs/<uuid>/`, as node_exporter 1.12.1 (procfs 0.21.1
//! `btrfs.Stats`) reads them, commit statistics (`commit_stats`, node_exporter 1.9) included. Like
//! node_exporter, a host without btrfs filesystems yields no series and no error.
//!
//! Like node_exporter, each mounted btrfs filesystem (from `/proc/1/mountinfo`) is also opened and asked
//! with the `BTRFS_IOC_FS_INFO` / `BTRFS_IOC_DEV_INFO` / `BTRFS_IOC_GET_DEV_STATS` ioctls (include/uapi/
//! linux/btrfs.h; root only) for per-device usage and error counters ([`ioctl_stats`]). For a
//! filesystem where that worked, node_btrfs_device_size_bytes{device,btrfs_dev_uuid,uuid} comes from the
//! ioctl, with node_btrfs_device_unused_bytes and node_btrfs_device_errors_total{type}; otherwise (not
//! mounted, not root, …) node_btrfs_device_size_bytes{device,uuid} comes from sysfs' `devices/<dev>/size`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::read::sys_read_file;
use crate::{CollectError, MetricSet, Roots};

/// sysfs block sizes are in 512-byte sectors.
const SECTOR_SIZE: u64 = 512;

/// One layout (`single`, `dup`, `raid1`, ...) of an allocation type.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutUsage {
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub ratio: f64,
}

/// `allocation/<data|metadata|system>/`: the parts node_exporter exports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllocationStats {
    pub reserved_bytes: u64,
    pub layouts: BTreeMap<String, LayoutUsage>,
}

/// One btrfs filesystem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BtrfsStats {
    pub uuid: String,
    pub label: String,
    pub global_rsv_size: u64,
    pub data: AllocationStats,
    pub metadata: AllocationStats,
    pub system: AllocationStats,
    /// Device name → size in bytes.
    pub devices: BTreeMap<String, u64>,
    pub commit: CommitStats,
}

/// The data replication ratio of a layout over `devices` devices, as procfs computes it (0 for layouts it
/// does not know).
pub fn layout_ratio(layout: &str, devices: usize) -> f64 {
    let n = devices as f64;
    match layout {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid1c3" => 3.0,
        "raid1c4" => 4.0,
        "raid5" => n / (n - 1.0),
        "raid6" => n / (n - 2.0),
        _ => 0.0,
    }
}

/// `commit_stats` (kernel 6.0+): all 0 when the file is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub commits: u64,
    pub last_commit_ms: u64,
    pub max_commit_ms: u64,
    pub total_commit_ms: u64,
}

/// Parse `commit_stats` as procfs: every line `<key> <value>`, the value a decimal unsigned integer; keys
/// it does not know are ignored.
pub fn parse_commit_stats(text: &str) -> Result<CommitStats, ParseError> {
    let mut c = CommitStats::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [key, value] = parts[..] else {
            return Err(ParseError::new(format!(
                "invalid commit_stats line {line:?}"
            )));
        };
        let v = go_uint(value)
            .ok_or_else(|| ParseError::new(format!("error parsing commit_stats line {line:?}")))?;
        match key {
            "commits" => c.commits = v,
            "last_commit_ms" => c.last_commit_ms = v,
            "max_commit_ms" => c.max_commit_ms = v,
            "total_commit_ms" => c.total_commit_ms = v,
            _ => {}
        }
    }
    Ok(c)
}

/// Go's `strconv.ParseUint(s, 10, 64)`.
fn go_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// procfs' btrfs reader, whose error handling decides what is exported: a file that is missing reads as
/// empty (a number as 0); any other error is remembered, and while one is remembered every further number
/// reads as 0. Each allocation type (`allocation/data`, …) is read by a fresh reader whose outcome then
/// replaces the remembered error, so only an error of `allocation/system` (read last) or of `commit_stats`
/// fails the filesystem; an earlier one (no `devices` directory, say) only zeroes the numbers read while
/// it was remembered (`global_rsv_size`).
struct Reader {
    dir: PathBuf,
    err: Option<CollectError>,
    devices: usize,
}

impl Reader {
    fn new(dir: PathBuf, devices: usize) -> Self {
        Reader {
            dir,
            err: None,
            devices,
        }
    }

    fn text(&mut self, rel: &str) -> String {
        let p = self.dir.join(rel);
        match sys_read_file(&p) {
            Ok(s) => s,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    self.err = Some(CollectError::io(&p, e));
                }
                String::new()
            }
        }
    }

    fn value(&mut self, rel: &str) -> u64 {
        let s = self.text(rel);
        if self.err.is_some() {
            return 0;
        }
        go_uint(&s).unwrap_or(0)
    }

    /// Entry names and whether each is a directory; a read error is remembered (nothing listed).
    fn list(&mut self, rel: &str) -> Vec<(String, bool)> {
        let p = self.dir.join(rel);
        match crate::read::read_dir_sorted(&p) {
            Ok(v) => v
                .into_iter()
                .map(|e| (e.name, e.file_type.is_dir()))
                .collect(),
            Err(e) => {
                self.err = Some(CollectError::io(&p, e));
                Vec::new()
            }
        }
    }

    fn allocation(&mut self, rel: &str) -> AllocationStats {
        let mut sub = Reader::new(self.dir.join(rel), self.devices);
        for f in ["bytes_may_use", "bytes_pinned", "bytes_readonly"] {
            sub.value(f);
        }
        let reserved_bytes = sub.value("bytes_reserved");
        for f in [
            "bytes_used",
            "disk_used",
            "disk_total",
            "flags",
            "total_bytes",
            "total_bytes_pinned",
        ] {
            sub.value(f);
        }
        let mut layouts = BTreeMap::new();
        for (name, is_dir) in sub.list("") {
            if !is_dir {
                continue;
            }
            let total_bytes = sub.value(&format!("{name}/total_bytes"));
            let used_bytes = sub.value(&format!("{name}/used_bytes"));
            let ratio = layout_ratio(&name, sub.devices);
            layouts.insert(
                name,
                LayoutUsage {
                    used_bytes,
                    total_bytes,
                    ratio,
                },
            );
        }
        self.err = sub.err;
        AllocationStats {
            reserved_bytes,
            layouts,
        }
    }

    fn commit_stats(&mut self) -> CommitStats {
        let p = self.dir.join("commit_stats");
        match crate::read::read_file(&p) {
            Ok(t) => match parse_commit_stats(&t) {
                Ok(c) => c,
                Err(e) => {
                    self.err = Some(e.at(&p));
                    CommitStats::default()
                }
            },
            // Kernels before 6.0 have no commit_stats.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CommitStats::default(),
            Err(e) => {
                self.err = Some(CollectError::io(&p, e));
                CommitStats::default()
            }
        }
    }
}

/// Read one filesystem's directory, `/sys/fs/btrfs/<uuid>`, with procfs' error handling ([`Reader`]).
pub fn read_btrfs_stats(dir: &Path) -> Result<BtrfsStats, CollectError> {
    let mut r = Reader::new(dir.to_path_buf(), 0);
    let mut devices = BTreeMap::new();
    for (name, _) in r.list("devices") {
        let size = r.value(&format!("devices/{name}/size"));
        // Go's uint64 product wraps (a size of 2^55 sectors or more is reported modulo 2^64).
        devices.insert(name, size.wrapping_mul(SECTOR_SIZE));
    }
    r.devices = devices.len();
    let label = r.text("label");
    let mut uuid = r.text("metadata_uuid");
    r.list("features");
    for f in [
        "clone_alignment",
        "nodesize",
        "quota_override",
        "sectorsize",
    ] {
        r.value(f);
    }
    r.value("allocation/global_rsv_reserved");
    let global_rsv_size = r.value("allocation/global_rsv_size");
    let data = r.allocation("allocation/data");
    let metadata = r.allocation("allocation/metadata");
    let system = r.allocation("allocation/system");
    let commit = r.commit_stats();
    if let Some(e) = r.err {
        return Err(e);
    }
    if uuid.is_empty() {
        // Kernels before 5.0 have no metadata_uuid: the directory name is the UUID.
        uuid = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(BtrfsStats {
        uuid,
        label,
        global_rsv_size,
        data,
        metadata,
        system,
        devices,
        commit,
    })
}

fn export(s: &BtrfsStats, ioctl: Option<&[IoctlDevice]>, out: &mut MetricSet) {
    let uuid = s.uuid.as_str();
    out.gauge(
        "node_btrfs_info",
        "Filesystem information",
        &[("label", &s.label), ("uuid", uuid)],
        1.0,
    );
    out.gauge(
        "node_btrfs_global_rsv_size_bytes",
        "Size of global reserve.",
        &[("uuid", uuid)],
        s.global_rsv_size as f64,
    );
    // node_exporter 1.9 (#3010): commit statistics, 0 on kernels before 6.0.
    let c = &s.commit;
    out.counter(
        "node_btrfs_commits_total",
        "The total number of commits that have occurred.",
        &[("uuid", uuid)],
        c.commits as f64,
    );
    out.gauge(
        "node_btrfs_last_commit_seconds",
        "Duration of the most recent commit, in seconds.",
        &[("uuid", uuid)],
        c.last_commit_ms as f64 / 1000.0,
    );
    out.gauge(
        "node_btrfs_max_commit_seconds",
        "Duration of the slowest commit, in seconds.",
        &[("uuid", uuid)],
        c.max_commit_ms as f64 / 1000.0,
    );
    out.counter(
        "node_btrfs_commit_seconds_total",
        "Sum of the duration of all commits, in seconds.",
        &[("uuid", uuid)],
        c.total_commit_ms as f64 / 1000.0,
    );
    for (kind, a) in [
        ("data", &s.data),
        ("metadata", &s.metadata),
        ("system", &s.system),
    ] {
        out.gauge(
            "node_btrfs_reserved_bytes",
            "Amount of space reserved for a data type",
            &[("block_group_type", kind), ("uuid", uuid)],
            a.reserved_bytes as f64,
        );
        for (mode, l) in &a.layouts {
            let labels = [
                ("block_group_type", kind),
                ("mode", mode.as_str()),
                ("uuid", uuid),
            ];
            out.gauge(
                "node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                &labels,
                l.used_bytes as f64,
            );
            out.gauge(
                "node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                &labels,
                l.total_bytes as f64,
            );
            out.gauge(
                "node_btrfs_allocation_ratio",
                "Data allocation ratio for a layout/data type",
                &labels,
                l.ratio,
            );
        }
    }
    let Some(devices) = ioctl else {
        for (dev, size) in &s.devices {
            out.gauge(
                "node_btrfs_device_size_bytes",
                "Size of a device that is part of the filesystem.",
                &[("device", dev), ("uuid", uuid)],
                *size as f64,
            );
        }
        return;
    };
    for d in devices {
        // The device path's last element (`/dev/sda` → `sda`), as in the sysfs branch.
        let device = d.path.rsplit('/').next().unwrap_or_default();
        let labels = [
            ("btrfs_dev_uuid", d.uuid.as_str()),
            ("device", device),
            ("uuid", uuid),
        ];
        out.gauge(
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            &labels,
            d.total_bytes as f64,
        );
        out.gauge(
            "node_btrfs_device_unused_bytes",
            "Unused bytes unused on a device that is part of the filesystem.",
            &labels,
            d.total_bytes.wrapping_sub(d.bytes_used) as f64,
        );
        for (kind, v) in ERROR_TYPES.iter().zip(d.errors) {
            out.counter(
                "node_btrfs_device_errors_total",
                "Errors reported for the device",
                &[
                    ("btrfs_dev_uuid", d.uuid.as_str()),
                    ("device", device),
                    ("type", kind),
                    ("uuid", uuid),
                ],
                v as f64,
            );
        }
    }
}

/// The `BTRFS_IOC_GET_DEV_STATS` counters in the kernel's order (`btrfs_dev_stat_values`).
const ERROR_TYPES: [&str; 5] = ["write", "read", "flush", "corruption", "generation"];

/// One device of a mounted filesystem, from the ioctls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoctlDevice {
    pub path: String,
    /// The device UUID as dennwc/btrfs prints it (`8-4-4-4-12` hex, `<zero>` when all zero).
    pub uuid: String,
    pub bytes_used: u64,
    pub total_bytes: u64,
    /// write, read, flush, corruption, generation.
    pub errors: [u64; 5],
}

/// The btrfs mounts of a `mountinfo` file: (source device, mount point with `\040` and `\011` decoded).
/// A line node_exporter's parser rejects makes the whole table unusable (the ioctl part is then skipped).
pub fn btrfs_mounts(mountinfo: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let sep = f.iter().skip(6).position(|x| *x == "-")? + 6;
        if f.len() < sep + 3 {
            return None;
        }
        let (major, minor) = f[2].split_once(':')?;
        if major.parse::<i64>().is_err() || minor.parse::<i64>().is_err() {
            return None;
        }
        if f[sep + 1] == "btrfs" {
            let mp = f[4].replace("\\040", " ").replace("\\011", "\t");
            out.push((f[sep + 2].to_string(), mp));
        }
    }
    Some(out)
}

mod ioc {
    //! The three ioctls' argument structs (include/uapi/linux/btrfs.h) and request numbers.

    const MAGIC: libc::c_ulong = 0x94;

    const fn request(dir: libc::c_ulong, nr: libc::c_ulong, size: usize) -> libc::c_ulong {
        (dir << 30) | ((size as libc::c_ulong) << 16) | (MAGIC << 8) | nr
    }
    const READ: libc::c_ulong = 2;
    const READ_WRITE: libc::c_ulong = 3;

    /// `struct btrfs_ioctl_fs_info_args` (1 KiB).
    #[repr(C)]
    pub struct FsInfo {
        pub max_id: u64,
        pub num_devices: u64,
        pub fsid: [u8; 16],
        pub rest: [u8; 1024 - 32],
    }

    /// `struct btrfs_ioctl_dev_info_args` (4 KiB).
    #[repr(C)]
    pub struct DevInfo {
        pub devid: u64,
        pub uuid: [u8; 16],
        pub bytes_used: u64,
        pub total_bytes: u64,
        pub unused: [u64; 379],
        pub path: [u8; 1024],
    }

    /// `struct btrfs_ioctl_get_dev_stats` (1 KiB + 8).
    #[repr(C)]
    pub struct DevStats {
        pub devid: u64,
        pub nr_items: u64,
        pub flags: u64,
        pub values: [u64; 5],
        pub unused: [u64; 121],
    }

    /// An ioctl argument struct and its request number (which encodes the struct's size).
    pub trait Arg {
        const REQUEST: libc::c_ulong;
    }
    impl Arg for FsInfo {
        const REQUEST: libc::c_ulong = request(READ, 31, std::mem::size_of::<FsInfo>());
    }
    impl Arg for DevInfo {
        const REQUEST: libc::c_ulong = request(READ_WRITE, 30, std::mem::size_of::<DevInfo>());
    }
    impl Arg for DevStats {
        const REQUEST: libc::c_ulong = request(READ_WRITE, 52, std::mem::size_of::<DevStats>());
    }

    const _: () = assert!(std::mem::size_of::<FsInfo>() == 1024);
    const _: () = assert!(std::mem::size_of::<DevInfo>() == 4096);
    const _: () = assert!(std::mem::size_of::<DevStats>() == 1032);

    /// Run `T`'s ioctl on `fd` with `arg` in and out.
    pub fn call<T: Arg>(fd: &std::fs::File, arg: &mut T) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: `arg` is one of the `#[repr(C)]` structs above, of the size `T::REQUEST` encodes and
        // checked against the kernel's, exclusively borrowed for the call; the kernel reads and writes only
        // that many bytes.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), T::REQUEST as _, arg as *mut T) };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// dennwc/btrfs' `UUID.String()`.
fn uuid_string(b: &[u8; 16]) -> String {
    if b.iter().all(|&x| x == 0) {
        return "<zero>".to_string();
    }
    let hex = |r: &[u8]| r.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..])
    )
}

/// Open a mount point as dennwc/btrfs' `Open(path, true)`: it must be a subvolume root (inode 256, a
/// directory) of a btrfs (`statfs` magic `0x9123683E`).
fn open_btrfs(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let md = std::fs::metadata(path)?;
    if md.ino() != 256 || !md.is_dir() {
        return Ok(None);
    }
    let st = rustix::fs::statfs(path)?;
    #[allow(clippy::unnecessary_cast)]
    if st.f_type as u32 != 0x9123_683E {
        return Ok(None);
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)?;
    Ok(Some(f))
}

/// The devices of the filesystem open as `f`: device ids 0 to `max_id` (gaps answer `ENODEV`), until
/// `num_devices` were found.
fn ioctl_devices(f: &std::fs::File, info: &ioc::FsInfo) -> std::io::Result<Vec<IoctlDevice>> {
    let mut out = Vec::new();
    for id in 0..=info.max_id {
        let mut dev = ioc::DevInfo {
            devid: id,
            uuid: [0; 16],
            bytes_used: 0,
            total_bytes: 0,
            unused: [0; 379],
            path: [0; 1024],
        };
        match ioc::call(f, &mut dev) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
            Err(e) => return Err(e),
        }
        let mut st = ioc::DevStats {
            devid: id,
            nr_items: 5,
            flags: 0,
            values: [0; 5],
            unused: [0; 121],
        };
        ioc::call(f, &mut st)?;
        let path: Vec<u8> = dev.path.iter().copied().take_while(|&b| b != 0).collect();
        out.push(IoctlDevice {
            path: String::from_utf8_lossy(&path).into_owned(),
            uuid: uuid_string(&dev.uuid),
            bytes_used: dev.bytes_used,
            total_bytes: dev.total_bytes,
            errors: st.values,
        });
        if out.len() as u64 == info.num_devices {
            break;
        }
    }
    Ok(out)
}

/// The ioctl view of every mounted btrfs, by filesystem UUID in hex without dashes, as node_exporter's
/// `getIoctlStats`: each mount (the first that works per source device and per filesystem) of the mount
/// table `/proc/1/mountinfo` (`/proc/self/mountinfo` when that is missing); a mount that cannot be opened
/// or asked is skipped. Empty when the mount table cannot be read.
pub fn ioctl_stats(roots: &Roots) -> BTreeMap<String, Vec<IoctlDevice>> {
    let mut fs_stats = BTreeMap::new();
    let text = match crate::read::read_file(roots.proc("1/mountinfo")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::read::read_file(roots.proc("self/mountinfo"))
        }
        r => r,
    };
    let Some(mounts) = text.ok().as_deref().and_then(btrfs_mounts) else {
        return fs_stats;
    };
    let mut devices_done = std::collections::BTreeSet::new();
    for (device, mount_point) in mounts {
        if devices_done.contains(&device) {
            continue;
        }
        let stripped = super::filesystem::strip_rootfs(mount_point.as_bytes(), &roots.rootfs);
        // Bytes, not UTF-8: a mount point may have any name.
        let path = {
            use std::os::unix::ffi::OsStrExt;
            let rel = stripped.strip_prefix(b"/").unwrap_or(stripped);
            roots.rootfs.join(std::ffi::OsStr::from_bytes(rel))
        };
        let Ok(Some(f)) = open_btrfs(&path) else {
            continue;
        };
        let mut info = ioc::FsInfo {
            max_id: 0,
            num_devices: 0,
            fsid: [0; 16],
            rest: [0; 1024 - 32],
        };
        if ioc::call(&f, &mut info).is_err() {
            continue;
        }
        let fsid: String = info.fsid.iter().map(|x| format!("{x:02x}")).collect();
        if fs_stats.contains_key(&fsid) {
            continue;
        }
        let Ok(devs) = ioctl_devices(&f, &info) else {
            continue;
        };
        devices_done.insert(device);
        fs_stats.insert(fsid, devs);
    }
    fs_stats
}

/// The `btrfs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("fs/btrfs");
    let entries: Vec<(String, bool)> = match crate::read::read_dir_sorted(&dir) {
        Ok(v) => v
            .into_iter()
            .map(|e| (e.name, e.file_type.is_dir()))
            .collect(),
        // No btrfs module: nothing, and no error, as node_exporter's glob finds nothing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CollectError::io(&dir, e)),
    };
    // node_exporter globs `*-*`: the filesystem UUIDs, not `features`. One failing filesystem fails the
    // collector with no series at all (procfs' `Stats` returns nothing then).
    let mut all = Vec::new();
    for (name, _) in entries.iter().filter(|(n, _)| n.contains('-')) {
        all.push(read_btrfs_stats(&dir.join(name))?);
    }
    if all.is_empty() {
        return Ok(());
    }
    let ioctl = ioctl_stats(roots);
    for s in &all {
        // Matched by filesystem UUID without dashes.
        let key = s.uuid.replace('-', "");
        export(s, ioctl.get(&key).map(Vec::as_slice), out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with, fixture_root};

    const FS1: &str = "0abb23a9-579b-43e6-ad30-227ef47fcb9d";
    const FS2: &str = "7f07c59f-6136-449c-ab87-e1cf2328731b";

    #[test]
    fn ratios() {
        assert_eq!(layout_ratio("raid1", 2), 2.0);
        assert_eq!(layout_ratio("raid5", 3), 1.5);
        assert_eq!(layout_ratio("raid6", 4), 2.0);
        assert_eq!(layout_ratio("raid1c3", 3), 3.0);
        assert_eq!(layout_ratio("raid1c4", 4), 4.0);
        assert_eq!(layout_ratio("raid1c5", 5), 0.0);
    }

    #[test]
    fn reads_fixture_filesystems() {
        let base = fixture_root().join("sys/fs/btrfs");
        let s = read_btrfs_stats(&base.join(FS1)).unwrap();
        assert_eq!(s.uuid, FS1);
        assert_eq!(s.label, "fixture");
        assert_eq!(s.global_rsv_size, 16777216);
        assert_eq!(s.devices.get("loop25"), Some(&(20971520 * 512)));
        assert_eq!(s.metadata.reserved_bytes, 16384);
        let l = &s.data.layouts["raid1"];
        assert_eq!(
            (l.used_bytes, l.total_bytes, l.ratio),
            (808189952, 2147483648, 2.0)
        );

        // Older kernel: no metadata_uuid; empty label; a global reserve of 2^64-1 that reads as 0, as in
        // node_exporter: the missing `features` directory is remembered as an error until allocation/data
        // is read, and every number read meanwhile is 0 ([`Reader`]).
        let s = read_btrfs_stats(&base.join(FS2)).unwrap();
        assert_eq!(s.uuid, FS2);
        assert_eq!(s.label, "");
        assert_eq!(s.global_rsv_size, 0);
        assert_eq!(s.devices.len(), 3);
        assert_eq!(s.data.layouts["raid5"].ratio, 1.5);
        assert_eq!(s.data.layouts.len(), 2);
        assert_eq!(s.system.layouts["dup"].ratio, 2.0);
    }

    #[test]
    fn errors_as_procfs() {
        // No devices directory (and no allocation): only allocation/system's error counts.
        let base = fixture_root().join("sys/fs/btrfs");
        assert!(read_btrfs_stats(&base.join("features")).is_err());
        let dir = std::env::temp_dir().join(format!("hostlens-btrfs-{}", std::process::id()));
        for t in ["data", "metadata", "system"] {
            std::fs::create_dir_all(dir.join("allocation").join(t).join("single")).unwrap();
        }
        std::fs::write(dir.join("allocation/global_rsv_size"), "4096\n").unwrap();
        std::fs::write(dir.join("allocation/data/single/total_bytes"), "8192\n").unwrap();
        // No devices directory: remembered until allocation/data replaces it; global_rsv_size reads 0.
        let s = read_btrfs_stats(&dir).unwrap();
        assert_eq!((s.global_rsv_size, s.devices.len()), (0, 0));
        assert_eq!(s.data.layouts["single"].total_bytes, 8192);
        assert_eq!(s.commit, CommitStats::default());
        std::fs::create_dir_all(dir.join("devices/loop0")).unwrap();
        std::fs::create_dir_all(dir.join("features")).unwrap();
        // 2^55 sectors: the byte count wraps to 0 as Go's uint64 product does.
        std::fs::write(dir.join("devices/loop0/size"), "36028797018963968\n").unwrap();
        std::fs::write(
            dir.join("commit_stats"),
            "commits 3\nlast_commit_ms 1500\nnew 1\n",
        )
        .unwrap();
        let s = read_btrfs_stats(&dir).unwrap();
        assert_eq!((s.global_rsv_size, s.devices["loop0"]), (4096, 0));
        assert_eq!((s.commit.commits, s.commit.last_commit_ms), (3, 1500));
        std::fs::write(dir.join("commit_stats"), "commits x\n").unwrap();
        let bad_commit = read_btrfs_stats(&dir);
        std::fs::write(dir.join("commit_stats"), "").unwrap();
        std::fs::remove_dir(dir.join("allocation/system/single")).unwrap();
        std::fs::remove_dir(dir.join("allocation/system")).unwrap();
        let no_system = read_btrfs_stats(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(bad_commit.is_err());
        assert!(no_system.is_err());
        assert!(parse_commit_stats("commits 1 2\n").is_err());
    }

    #[test]
    fn mount_table_and_uuids() {
        let table = "22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n\
                     44 27 0:39 / /srv/my\\040data rw,relatime - btrfs /dev/loop0 rw,subvolid=5,subvol=/\n\
                     45 27 0:40 /sub /mnt/sub rw - btrfs /dev/loop1 rw\n";
        assert_eq!(
            btrfs_mounts(table).unwrap(),
            [
                ("/dev/loop0".to_string(), "/srv/my data".to_string()),
                ("/dev/loop1".to_string(), "/mnt/sub".to_string())
            ]
        );
        assert!(btrfs_mounts("44 27 0:39 / /srv rw\n").is_none());
        assert!(btrfs_mounts("44 27 x / /srv rw - btrfs /dev/loop0 rw\n").is_none());
        let mut id = [0u8; 16];
        assert_eq!(uuid_string(&id), "<zero>");
        id[0] = 0xae;
        id[15] = 0x04;
        assert_eq!(uuid_string(&id), "ae000000-0000-0000-0000-000000000004");
        // Not a mounted btrfs: no ioctl view, the sysfs sizes are exported.
        assert!(open_btrfs(&fixture_root()).unwrap().is_none());
    }

    /// A btrfs of the test's own: a sparse 300 MiB image, `mkfs.btrfs`, loop-mounted in a temp dir; unmounted
    /// and removed on drop.
    struct LoopBtrfs {
        dir: std::path::PathBuf,
        mounted: bool,
    }

    impl LoopBtrfs {
        fn new() -> LoopBtrfs {
            let dir = std::env::temp_dir().join(format!("hostlens-btrfs-{}", std::process::id()));
            let _ = std::fs::create_dir_all(dir.join("mnt"));
            let mut fs = LoopBtrfs {
                dir: dir.clone(),
                mounted: false,
            };
            let img = dir.join("image");
            std::fs::File::create(&img)
                .and_then(|f| f.set_len(300 << 20))
                .unwrap_or_else(|e| panic!("creating {}: {e}", img.display()));
            let run = |cmd: &str, args: &[&std::ffi::OsStr]| {
                let out = std::process::Command::new(cmd)
                    .args(args)
                    .output()
                    .unwrap_or_else(|e| {
                        panic!("prerequisite missing: {cmd}: {e} (make test-deps installs btrfs-progs)")
                    });
                assert!(
                    out.status.success(),
                    "{cmd} {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            run(
                "mkfs.btrfs",
                &[
                    "-q".as_ref(),
                    "-L".as_ref(),
                    "hostlens".as_ref(),
                    img.as_os_str(),
                ],
            );
            run(
                "mount",
                &[
                    "-o".as_ref(),
                    "loop".as_ref(),
                    img.as_os_str(),
                    dir.join("mnt").as_os_str(),
                ],
            );
            fs.mounted = true;
            fs
        }
    }

    impl Drop for LoopBtrfs {
        fn drop(&mut self) {
            if self.mounted {
                let _ = std::process::Command::new("umount")
                    .arg(self.dir.join("mnt"))
                    .status();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// As root, on a btrfs the test makes and loop-mounts: every btrfs in sysfs has its ioctl view, each
    /// device with a size and a UUID.
    #[test]
    #[ignore = "needs root and mkfs.btrfs (make test-deps): it loop-mounts a btrfs of its own"]
    fn ioctls_on_a_mounted_btrfs() {
        let _fs = LoopBtrfs::new();
        let roots = Roots::default();
        let stats = ioctl_stats(&roots);
        let sysfs: Vec<String> = crate::read::read_dir_sorted(&roots.sys("fs/btrfs"))
            .unwrap()
            .into_iter()
            .filter(|e| e.name.contains('-'))
            .map(|e| {
                read_btrfs_stats(&roots.sys("fs/btrfs").join(&e.name))
                    .unwrap()
                    .uuid
            })
            .collect();
        assert!(
            !sysfs.is_empty(),
            "the loop-mounted btrfs is not in /sys/fs/btrfs"
        );
        for uuid in sysfs {
            let devs = &stats[&uuid.replace('-', "")];
            assert!(!devs.is_empty());
            for d in devs {
                assert!(d.total_bytes > 0 && d.total_bytes >= d.bytes_used, "{d:?}");
                assert_eq!(d.uuid.len(), 36, "{d:?}");
                assert!(d.path.starts_with("/dev/"), "{d:?}");
            }
        }
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "btrfs",
            &[
                (
                    "node_btrfs_info",
                    &[("label", "fixture"), ("uuid", FS1)],
                    1.0,
                ),
                (
                    "node_btrfs_size_bytes",
                    &[
                        ("block_group_type", "metadata"),
                        ("mode", "single"),
                        ("uuid", FS2),
                    ],
                    268435456.0,
                ),
                (
                    "node_btrfs_device_size_bytes",
                    &[("device", "sdc"), ("uuid", FS2)],
                    2097152000.0 * 512.0,
                ),
            ],
        );
        assert_eq!(out.get("node_btrfs_info").unwrap().samples.len(), 2);
        assert_eq!(
            out.get("node_btrfs_reserved_bytes").unwrap().samples.len(),
            6
        );
    }

    #[test]
    fn no_btrfs_module_is_empty() {
        let cfg = fixture_config_with("proc", "mdstat");
        let out = collect_with("btrfs", &cfg).unwrap();
        assert!(out.get("node_btrfs_info").is_none());
    }
}
