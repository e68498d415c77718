//! `mountstats`: node_mountstats_nfs_* from `/proc/self/mountstats`, with the server address from
//! `/proc/self/mountinfo`, as node_exporter 1.12.1 (prometheus/procfs 0.21.1) reads them.
//!
//! - `/proc/self` is the agent's own process, resolved once when the collector is built (procfs'
//!   `FS.Self`): a procfs root without a `self` link fails the set-up, as it fails node_exporter's start.
//! - Only NFS mounts (`fstype nfs`/`nfs4` with a `statvers=`) have statistics; any other mount with a
//!   statistics block makes the whole file an error, as in procfs.
//! - The `mountaddr` label is the `addr=` superblock option of the mountinfo line at the same index (both
//!   files list the mounts in the same order); no such line or option is an empty label.
//! - A mount is exported once per (export, protocol, mountaddr): a second mount of the same export from
//!   the same server (a bind mount, the same export mounted twice) only adds its
//!   `node_mountstats_nfs_mountpoint_info` (new in 1.12, node_exporter#3554) and is otherwise skipped.
//!   Each of a mount's transports (`xprt:` lines) is labelled with its index (`transport`), all under the
//!   protocol of the transport that introduced the mount (node_exporter#3358, 1.11).
//!
//! A host without NFS mounts yields no series and no error; a missing mountstats or mountinfo file is an
//! error, as in node_exporter.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::{parse_u64, with_bytes};
use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

/// One `device … mounted on … with fstype …` entry of a mountstats file.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fstype: String,
    /// The NFS statistics block, when the entry has one.
    pub nfs: Option<NfsStats>,
}

/// The statistics of one NFS mount (procfs' `MountStatsNFS`, the fields node_exporter exports).
#[derive(Debug, Clone, PartialEq)]
pub struct NfsStats {
    pub stat_version: String,
    /// `age:`, in seconds (Go's `time.Duration.Seconds()` of `ParseDuration(age + "s")`).
    pub age_seconds: f64,
    /// `bytes:`: read, write, direct read, direct write, total read, total write, read pages, write pages.
    pub bytes: [u64; BYTES_LEN],
    /// `events:`, the 27 counters in file order.
    pub events: [u64; EVENTS_LEN],
    pub operations: Vec<NfsOperation>,
    pub transports: Vec<NfsTransport>,
}

/// One line of the per-operation statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsOperation {
    pub name: String,
    pub requests: u64,
    pub transmissions: u64,
    pub major_timeouts: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub queue_ms: u64,
    pub response_ms: u64,
    pub request_ms: u64,
}

/// One `xprt:` line, its values put in the TCP layout (UDP has no connect counts or idle times, RDMA no
/// slot and queue counts: those read as zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsTransport {
    pub protocol: String,
    pub port: u64,
    pub bind: u64,
    pub connect: u64,
    pub connect_idle_time: u64,
    pub idle_time_seconds: u64,
    pub sends: u64,
    pub receives: u64,
    pub bad_transaction_ids: u64,
    pub cumulative_active_requests: u64,
    pub cumulative_backlog: u64,
    pub maximum_rpc_slots_used: u64,
    pub cumulative_sending_queue: u64,
    pub cumulative_pending_queue: u64,
}

const BYTES_LEN: usize = 8;
const EVENTS_LEN: usize = 27;
/// Fields of a `device` line up to the fstype; one more is the `statvers=` that opens a statistics block.
const DEVICE_ENTRY_LEN: usize = 8;
/// procfs' room for a transport line's values (the longest RDMA line, plus the three zeros it inserts).
const TRANSPORT_SLOTS: usize = 28 + 3;

fn parse_counters(fields: &[&str], what: &str) -> Result<Vec<u64>, ParseError> {
    fields
        .iter()
        .map(|f| parse_u64(f).map_err(|e| ParseError::new(format!("{what}: {e}"))))
        .collect()
}

/// Parse a `/proc/<pid>/mountstats` file: every `device` entry, with the statistics of the NFS ones.
pub fn parse_mountstats(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut mounts = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        if ss.first() != Some(&"device") {
            continue;
        }
        let mut mount = parse_device_line(&ss)?;
        if ss.len() > DEVICE_ENTRY_LEN {
            if mount.fstype != "nfs" && mount.fstype != "nfs4" {
                return Err(ParseError::new(format!(
                    "cannot parse mount statistics for fstype {:?}",
                    mount.fstype
                )));
            }
            let version = ss[DEVICE_ENTRY_LEN]
                .strip_prefix("statvers=")
                .unwrap_or(ss[DEVICE_ENTRY_LEN]);
            mount.nfs = Some(parse_nfs_stats(&mut lines, version)?);
        }
        mounts.push(mount);
    }
    Ok(mounts)
}

/// `device <device> mounted on <mount point> with fstype <type> [statvers=<v>]`.
fn parse_device_line(ss: &[&str]) -> Result<Mount, ParseError> {
    let words_ok = ss.len() >= DEVICE_ENTRY_LEN
        && [
            (0, "device"),
            (2, "mounted"),
            (3, "on"),
            (5, "with"),
            (6, "fstype"),
        ]
        .iter()
        .all(|(i, w)| ss[*i] == *w);
    if !words_ok {
        return Err(ParseError::new(format!("invalid device entry {ss:?}")));
    }
    Ok(Mount {
        device: ss[1].to_string(),
        mount_point: ss[4].to_string(),
        fstype: ss[7].to_string(),
        nfs: None,
    })
}

/// The statistics block after an NFS `device` line: tagged lines up to a blank line or the
/// `per-op statistics` header, then the per-operation lines up to a blank line.
fn parse_nfs_stats<'a>(
    lines: &mut impl Iterator<Item = &'a str>,
    version: &str,
) -> Result<NfsStats, ParseError> {
    let mut stats = NfsStats {
        stat_version: version.to_string(),
        age_seconds: 0.0,
        bytes: [0; BYTES_LEN],
        events: [0; EVENTS_LEN],
        operations: Vec::new(),
        transports: Vec::new(),
    };
    for line in lines.by_ref() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        let Some(&tag) = ss.first() else { break };
        let incomplete = || ParseError::new(format!("incomplete NFS statistics line {line:?}"));
        match tag {
            // The options are not exported; procfs only insists that they are there.
            "opts:" if ss.len() < 2 => return Err(incomplete()),
            "age:" => {
                let age = ss.get(1).ok_or_else(incomplete)?;
                stats.age_seconds = go_duration_seconds(&format!("{age}s"))
                    .map_err(|e| ParseError::new(format!("age: {e}")))?;
            }
            "bytes:" => {
                if ss.len() < 2 {
                    return Err(incomplete());
                }
                if ss.len() - 1 != BYTES_LEN {
                    return Err(ParseError::new(format!("invalid NFS bytes stats {line:?}")));
                }
                let v = parse_counters(&ss[1..], "bytes")?;
                stats.bytes.copy_from_slice(&v);
            }
            "events:" => {
                if ss.len() < 2 {
                    return Err(incomplete());
                }
                if ss.len() - 1 != EVENTS_LEN {
                    return Err(ParseError::new(format!(
                        "invalid NFS events stats {line:?}"
                    )));
                }
                let v = parse_counters(&ss[1..], "events")?;
                stats.events.copy_from_slice(&v);
            }
            "xprt:" => {
                if ss.len() < 3 {
                    return Err(incomplete());
                }
                stats
                    .transports
                    .push(parse_transport(ss[1], &ss[2..], version)?);
            }
            _ => {}
        }
        if tag == "per-op" {
            break;
        }
    }
    // As in procfs, the per-operation lines are read after whatever ended the tagged lines.
    for line in lines.by_ref() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        if ss.is_empty() {
            break;
        }
        if ss.len() < 9 {
            return Err(ParseError::new(format!(
                "invalid NFS per-operation stats {line:?}"
            )));
        }
        let v = parse_counters(&ss[1..], "per-operation stats")?;
        stats.operations.push(NfsOperation {
            name: ss[0].strip_suffix(':').unwrap_or(ss[0]).to_string(),
            requests: v[0],
            transmissions: v[1],
            major_timeouts: v[2],
            bytes_sent: v[3],
            bytes_received: v[4],
            queue_ms: v[5],
            response_ms: v[6],
            request_ms: v[7],
        });
    }
    Ok(stats)
}

/// One `xprt: <protocol> <values…>` line, its value count checked against the statistics version.
pub fn parse_transport(
    protocol: &str,
    values: &[&str],
    version: &str,
) -> Result<NfsTransport, ParseError> {
    let n = values.len();
    let ok = match (version, protocol) {
        ("1.0", "tcp") => n == 10,
        ("1.0", "udp") => n == 7,
        ("1.1", "tcp") => n == 13,
        ("1.1", "udp") => n == 10,
        // Kernels since 4.14 print 28 values for RDMA, 4.2 printed 20.
        ("1.1", "rdma") => (20..=TRANSPORT_SLOTS).contains(&n),
        ("1.0" | "1.1", _) => {
            return Err(ParseError::new(format!(
                "invalid NFS protocol {protocol:?} in stats {version} transport line"
            )))
        }
        _ => {
            return Err(ParseError::new(format!(
                "unrecognized NFS transport stats version {version:?}"
            )))
        }
    };
    if !ok {
        return Err(ParseError::new(format!(
            "invalid NFS transport stats {version} line: {protocol} with {n} values"
        )));
    }
    let raw = parse_counters(values, "xprt")?;
    // The TCP layout: port bind connect connect_idle idle sends receives bad_xids active backlog
    // max_slots sending pending. UDP lacks connect, connect_idle and idle; RDMA the last three.
    let mut ns = [0u64; 13];
    match protocol {
        "udp" => {
            ns[..2].copy_from_slice(&raw[..2]);
            for (slot, v) in ns[5..].iter_mut().zip(&raw[2..]) {
                *slot = *v;
            }
        }
        "rdma" => ns[..10].copy_from_slice(&raw[..10]),
        _ => {
            for (slot, v) in ns.iter_mut().zip(&raw) {
                *slot = *v;
            }
        }
    }
    Ok(NfsTransport {
        protocol: protocol.to_string(),
        port: ns[0],
        bind: ns[1],
        connect: ns[2],
        connect_idle_time: ns[3],
        idle_time_seconds: ns[4],
        sends: ns[5],
        receives: ns[6],
        bad_transaction_ids: ns[7],
        cumulative_active_requests: ns[8],
        cumulative_backlog: ns[9],
        maximum_rpc_slots_used: ns[10],
        cumulative_sending_queue: ns[11],
        cumulative_pending_queue: ns[12],
    })
}

/// Go's `time.ParseDuration(s).Seconds()`: a possibly signed sequence of decimal numbers, each with an
/// optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); beyond ±2^63 ns is an error.
fn go_duration_seconds(s: &str) -> Result<f64, String> {
    const LIMIT: u64 = 1 << 63;
    let invalid = || format!("invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let is_num = |c: char| c == '.' || c.is_ascii_digit();
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(is_num) {
            return Err(invalid());
        }
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mut v: u64 = 0;
        for d in rest[..int_len].bytes() {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(d - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        rest = &rest[int_len..];
        let (mut frac, mut scale, mut frac_len) = (0u64, 1f64, 0usize);
        if let Some(after) = rest.strip_prefix('.') {
            frac_len = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            let mut overflow = false;
            for d in after[..frac_len].bytes() {
                if overflow || frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = frac * 10 + u64::from(d - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = y;
                scale *= 10.0;
            }
            rest = &after[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = rest.find(is_num).unwrap_or(rest.len());
        let unit: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {s:?}")),
            u => return Err(format!("unknown unit {u:?} in duration {s:?}")),
        };
        rest = &rest[unit_len..];
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            // Go converts the fraction through float64 and truncates, as here.
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        total += v;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if !neg && total > LIMIT - 1 {
        return Err(invalid());
    }
    // Duration.Seconds(): whole seconds plus the nanoseconds, as Go computes it.
    let nanos = if neg {
        (total as i64).wrapping_neg()
    } else {
        total as i64
    };
    let (secs, sub) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    Ok(secs as f64 + sub as f64 / 1e9)
}

/// The `addr=` superblock option of each line of a mountinfo file ("" without one), validating each
/// line as procfs does: at least 10 space-separated fields, the `-` separator 4th from the end, numeric
/// mount and parent ids.
pub fn parse_mountinfo_addrs(text: &str) -> Result<Vec<String>, ParseError> {
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let n = f.len();
            if n < 10 {
                return Err(ParseError::new(format!(
                    "too few fields in mount string {line:?}"
                )));
            }
            if f[n - 4] != "-" {
                return Err(ParseError::new(format!(
                    "couldn't find separator in expected field {:?}",
                    f[n - 4]
                )));
            }
            for (what, id) in [("mount ID", f[0]), ("parent ID", f[1])] {
                id.parse::<i64>()
                    .map_err(|_| ParseError::new(format!("{what}: {id:?}")))?;
            }
            // The last `addr=` wins and a value ends at the next '=', as procfs splits options.
            let mut addr = String::new();
            for opt in f[n - 1].split(',') {
                let mut kv = opt.split('=');
                if kv.next() == Some("addr") {
                    addr = kv.next().unwrap_or("").to_string();
                }
            }
            Ok(addr)
        })
        .collect()
}

/// `Proc.MountInfo`, which node_exporter calls, reads mountinfo with procfs' `ReadFileNoStat`: at most
/// 1 MiB, the rest ignored (procfs 0.21 lifted the cap for `FS.GetMounts` only); so do we.
const MOUNTINFO_LIMIT: usize = 1024 * 1024;

/// The `mountstats` collector: the agent's own `/proc/<pid>`, found once.
pub struct MountStats {
    /// `<procfs>/<pid>` of `<procfs>/self`.
    proc_dir: PathBuf,
}

/// `<procfs>/self` resolved as procfs' `FS.Self`: the link's target with the procfs path removed is the
/// pid, and `<procfs>/<pid>` must exist.
fn resolve_self(procfs: &Path) -> Result<PathBuf, CollectError> {
    let link = procfs.join("self");
    let target = std::fs::read_link(&link).map_err(|e| CollectError::io(&link, e))?;
    let target = target.to_string_lossy();
    let pid_text = target.replace(procfs.to_string_lossy().as_ref(), "");
    let pid: i64 = pid_text
        .parse()
        .map_err(|_| CollectError::parse(&link, format!("not a pid: {target:?}")))?;
    let dir = procfs.join(pid.to_string());
    std::fs::metadata(&dir).map_err(|e| CollectError::io(&dir, e))?;
    Ok(dir)
}

impl NodeCollector for MountStats {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let proc_dir = resolve_self(&cfg.roots.procfs)
            .map_err(|e| CollectError::Other(format!("failed to open /proc/self: {e}")))?;
        Ok(MountStats { proc_dir })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        // Both files are read as bytes: a path that is not UTF-8 (the kernel escapes only blanks and
        // backslashes) must not fail the mounts that are.
        let path = self.proc_dir.join("mountstats");
        let mounts = with_bytes(&path, |b| parse_mountstats(&String::from_utf8_lossy(b)))?
            .map_err(|e| e.at(&path))?;
        let info_path = self.proc_dir.join("mountinfo");
        let addrs = with_bytes(&info_path, |b| {
            let b = &b[..b.len().min(MOUNTINFO_LIMIT)];
            parse_mountinfo_addrs(&String::from_utf8_lossy(b))
        })?
        .map_err(|e| e.at(&info_path))?;
        emit(&mounts, &addrs, out);
        Ok(())
    }
}

/// The samples of `mounts`, with `addrs[i]` the server address of `mounts[i]`.
pub fn emit(mounts: &[Mount], addrs: &[String], out: &mut MetricSet) {
    let mut devices: HashSet<(&str, &str, &str)> = HashSet::new();
    let mut mount_points: HashSet<(&str, &str, &str, &str)> = HashSet::new();
    for (idx, m) in mounts.iter().enumerate() {
        let Some(stats) = &m.nfs else { continue };
        let addr = addrs.get(idx).map(String::as_str).unwrap_or("");
        for t in &stats.transports {
            let proto = t.protocol.as_str();
            if mount_points.insert((&m.device, proto, addr, &m.mount_point)) {
                out.sample(
                    "node_mountstats_nfs_mountpoint_info",
                    "Info metric for an NFS mountpoint.",
                    Kind::Gauge,
                    labels(
                        &[&m.device, proto, addr],
                        Some(("mountpoint", &m.mount_point)),
                    ),
                    1.0,
                );
            }
            // A device already exported ends this mount's transports, as upstream's `break`.
            if !devices.insert((&m.device, proto, addr)) {
                break;
            }
            emit_nfs(stats, &m.device, proto, addr, out);
        }
    }
}

/// `export`, `protocol`, `mountaddr` and an optional fourth label.
fn labels(base: &[&str; 3], extra: Option<(&str, &str)>) -> Vec<(String, String)> {
    let mut l: Vec<(String, String)> = ["export", "protocol", "mountaddr"]
        .iter()
        .zip(base)
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    if let Some((k, v)) = extra {
        l.push((k.to_string(), v.to_string()));
    }
    l
}

/// 2^53: upstream takes time counters modulo the float64 mantissa.
const MANTISSA: u64 = 1 << 53;

#[rustfmt::skip]
const BYTES: [(&str, &str); BYTES_LEN] = [
    ("read_bytes_total", "Number of bytes read using the read() syscall."),
    ("write_bytes_total", "Number of bytes written using the write() syscall."),
    ("direct_read_bytes_total", "Number of bytes read using the read() syscall in O_DIRECT mode."),
    ("direct_write_bytes_total", "Number of bytes written using the write() syscall in O_DIRECT mode."),
    ("total_read_bytes_total", "Number of bytes read from the NFS server, in total."),
    ("total_write_bytes_total", "Number of bytes written to the NFS server, in total."),
    ("read_pages_total", "Number of pages read directly via mmap()'d files."),
    ("write_pages_total", "Number of pages written directly via mmap()'d files."),
];

/// (index in `events:`, name, help); index 18 (congestion wait) is not exported. The help texts are
/// upstream's, repeated ones included.
#[rustfmt::skip]
const EVENTS: [(usize, &str, &str); 26] = [
    (0, "event_inode_revalidate_total", "Number of times cached inode attributes are re-validated from the server."),
    (1, "event_dnode_revalidate_total", "Number of times cached dentry nodes are re-validated from the server."),
    (2, "event_data_invalidate_total", "Number of times an inode cache is cleared."),
    (3, "event_attribute_invalidate_total", "Number of times cached inode attributes are invalidated."),
    (4, "event_vfs_open_total", "Number of times cached inode attributes are invalidated."),
    (5, "event_vfs_lookup_total", "Number of times a directory lookup has occurred."),
    (6, "event_vfs_access_total", "Number of times permissions have been checked."),
    (7, "event_vfs_update_page_total", "Number of updates (and potential writes) to pages."),
    (8, "event_vfs_read_page_total", "Number of pages read directly via mmap()'d files."),
    (9, "event_vfs_read_pages_total", "Number of times a group of pages have been read."),
    (10, "event_vfs_write_page_total", "Number of pages written directly via mmap()'d files."),
    (11, "event_vfs_write_pages_total", "Number of times a group of pages have been written."),
    (12, "event_vfs_getdents_total", "Number of times directory entries have been read with getdents()."),
    (13, "event_vfs_setattr_total", "Number of times directory entries have been read with getdents()."),
    (14, "event_vfs_flush_total", "Number of pending writes that have been forcefully flushed to the server."),
    (15, "event_vfs_fsync_total", "Number of times fsync() has been called on directories and files."),
    (16, "event_vfs_lock_total", "Number of times locking has been attempted on a file."),
    (17, "event_vfs_file_release_total", "Number of times files have been closed and released."),
    (19, "event_truncation_total", "Number of times files have been truncated."),
    (20, "event_write_extension_total", "Number of times a file has been grown due to writes beyond its existing end."),
    (21, "event_silly_rename_total", "Number of times a file was removed while still open by another process."),
    (22, "event_short_read_total", "Number of times the NFS server gave less data than expected while reading."),
    (23, "event_short_write_total", "Number of times the NFS server wrote less data than expected while writing."),
    (24, "event_jukebox_delay_total", "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage."),
    (25, "event_pnfs_read_total", "Number of NFS v4.1+ pNFS reads."),
    (26, "event_pnfs_write_total", "Number of NFS v4.1+ pNFS writes."),
];

fn emit_nfs(s: &NfsStats, export: &str, protocol: &str, addr: &str, out: &mut MetricSet) {
    let base = [export, protocol, addr];
    let mut put = |name: &str, help: &str, kind: Kind, extra: Option<(&str, &str)>, v: f64| {
        out.sample(
            &format!("node_mountstats_nfs_{name}"),
            help,
            kind,
            labels(&base, extra),
            v,
        );
    };
    put(
        "age_seconds_total",
        "The age of the NFS mount in seconds.",
        Kind::Counter,
        None,
        s.age_seconds,
    );
    for ((name, help), v) in BYTES.iter().zip(s.bytes) {
        put(name, help, Kind::Counter, None, v as f64);
    }
    for (i, t) in s.transports.iter().enumerate() {
        let index = i.to_string();
        let tl = Some(("transport", index.as_str()));
        #[rustfmt::skip]
        let values: [(&str, &str, Kind, u64); 10] = [
            ("transport_bind_total", "Number of times the client has had to establish a connection from scratch to the NFS server.", Kind::Counter, t.bind),
            ("transport_connect_total", "Number of times the client has made a TCP connection to the NFS server.", Kind::Counter, t.connect),
            ("transport_idle_time_seconds", "Duration since the NFS mount last saw any RPC traffic, in seconds.", Kind::Gauge, t.idle_time_seconds % MANTISSA),
            ("transport_sends_total", "Number of RPC requests for this mount sent to the NFS server.", Kind::Counter, t.sends),
            ("transport_receives_total", "Number of RPC responses for this mount received from the NFS server.", Kind::Counter, t.receives),
            ("transport_bad_transaction_ids_total", "Number of times the NFS server sent a response with a transaction ID unknown to this client.", Kind::Counter, t.bad_transaction_ids),
            ("transport_backlog_queue_total", "Total number of items added to the RPC backlog queue.", Kind::Counter, t.cumulative_backlog),
            ("transport_maximum_rpc_slots", "Maximum number of simultaneously active RPC requests ever used.", Kind::Gauge, t.maximum_rpc_slots_used),
            ("transport_sending_queue_total", "Total number of items added to the RPC transmission sending queue.", Kind::Counter, t.cumulative_sending_queue),
            ("transport_pending_queue_total", "Total number of items added to the RPC transmission pending queue.", Kind::Counter, t.cumulative_pending_queue),
        ];
        for (name, help, kind, v) in values {
            put(name, help, kind, tl, v as f64);
        }
    }
    for op in &s.operations {
        let ol = Some(("operation", op.name.as_str()));
        let ms = |v: u64| (v % MANTISSA) as f64 / 1000.0;
        #[rustfmt::skip]
        let values: [(&str, &str, f64); 8] = [
            ("operations_requests_total", "Number of requests performed for a given operation.", op.requests as f64),
            ("operations_transmissions_total", "Number of times an actual RPC request has been transmitted for a given operation.", op.transmissions as f64),
            ("operations_major_timeouts_total", "Number of times a request has had a major timeout for a given operation.", op.major_timeouts as f64),
            ("operations_sent_bytes_total", "Number of bytes sent for a given operation, including RPC headers and payload.", op.bytes_sent as f64),
            ("operations_received_bytes_total", "Number of bytes received for a given operation, including RPC headers and payload.", op.bytes_received as f64),
            ("operations_queue_time_seconds_total", "Duration all requests spent queued for transmission for a given operation before they were sent, in seconds.", ms(op.queue_ms)),
            ("operations_response_time_seconds_total", "Duration all requests took to get a reply back after a request for a given operation was transmitted, in seconds.", ms(op.response_ms)),
            ("operations_request_time_seconds_total", "Duration all requests took from when a request was enqueued to when it was completely handled for a given operation, in seconds.", ms(op.request_ms)),
        ];
        for (name, help, v) in values {
            put(name, help, Kind::Counter, ol, v);
        }
    }
    for (i, name, help) in EVENTS {
        put(name, help, Kind::Counter, None, s.events[i] as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::node::testutil::{
        assert_rejects, assert_values, collect_with, fixture_config, fixture_config_with,
    };
    use crate::Roots;

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/4242/mountstats");
    const MOUNTINFO: &str = include_str!("../../tests/fixtures/proc/4242/mountinfo");

    #[test]
    fn parses_fixture() {
        let mounts = parse_mountstats(FIXTURE).unwrap();
        assert_eq!(mounts.len(), 7);
        assert!(mounts[..3].iter().all(|m| m.nfs.is_none()));
        assert_eq!(mounts[6].fstype, "tmpfs");
        let home = &mounts[3];
        assert_eq!(home.device, "files.example:/export/home");
        assert_eq!(home.mount_point, "/home");
        let s = home.nfs.as_ref().unwrap();
        assert_eq!(s.stat_version, "1.1");
        assert_eq!(s.age_seconds, 86400.0);
        assert_eq!(s.bytes, [1000, 2000, 3000, 4000, 5000, 6000, 7, 8]);
        assert_eq!(s.events[18], 190);
        assert_eq!(s.transports.len(), 2);
        assert_eq!(s.transports[1].port, 902);
        assert_eq!(s.transports[1].cumulative_pending_queue, 1000);
        assert_eq!(s.operations.len(), 4);
        assert_eq!(s.operations[3].name, "GETATTR");
        assert_eq!(s.operations[2].queue_ms, 9007199254741992);
        // Version 1.0 over UDP: no connect counts, idle times or slot counts.
        let udp = &mounts[5].nfs.as_ref().unwrap().transports[0];
        assert_eq!(
            (
                udp.port,
                udp.bind,
                udp.connect,
                udp.idle_time_seconds,
                udp.sends
            ),
            (800, 3, 0, 0, 70)
        );
        assert_eq!((udp.cumulative_backlog, udp.maximum_rpc_slots_used), (2, 0));
    }

    #[test]
    fn transport_layouts() {
        let tcp11: Vec<String> = (1..=13).map(|i| i.to_string()).collect();
        let tcp11: Vec<&str> = tcp11.iter().map(String::as_str).collect();
        let t = parse_transport("tcp", &tcp11, "1.1").unwrap();
        assert_eq!((t.idle_time_seconds, t.cumulative_pending_queue), (5, 13));
        let t = parse_transport("udp", &tcp11[..10], "1.1").unwrap();
        assert_eq!(
            (t.bind, t.connect, t.sends, t.cumulative_pending_queue),
            (2, 0, 3, 10)
        );
        // RDMA: the TCP 1.0 fields, then the RDMA counters; no slot or queue counts.
        let rdma: Vec<String> = (1..=28).map(|i| i.to_string()).collect();
        let rdma: Vec<&str> = rdma.iter().map(String::as_str).collect();
        let t = parse_transport("rdma", &rdma, "1.1").unwrap();
        assert_eq!((t.cumulative_backlog, t.maximum_rpc_slots_used), (10, 0));
        assert!(parse_transport("rdma", &rdma[..20], "1.1").is_ok());
        for (proto, n, version) in [
            ("tcp", 13, "1.0"),
            ("tcp", 12, "1.1"),
            ("udp", 13, "1.1"),
            ("rdma", 19, "1.1"),
            ("rdma", 10, "1.0"),
            ("tcp", 13, "1.2"),
            ("local", 13, "1.1"),
        ] {
            assert!(
                parse_transport(proto, &rdma[..n], version).is_err(),
                "{proto} {n} {version}"
            );
        }
        assert!(parse_transport("tcp", &["1"; 13], "1.1").is_ok());
        let mut bad = ["1"; 13];
        bad[4] = "-1";
        assert!(parse_transport("tcp", &bad, "1.1").is_err());
    }

    #[test]
    fn rejects_malformed_entries() {
        let nfs = "device s:/e mounted on /m with fstype nfs statvers=1.1\n";
        assert_rejects(
            parse_mountstats,
            &[
                "device sda mounted on /\n",
                "device sda mounted at / with fstype ext4\n",
                // A statistics block on a filesystem procfs has no parser for.
                "device sda mounted on / with fstype ext4 statvers=1.1\n",
                &format!("{nfs}\tage:\n"),
                &format!("{nfs}\tage:\tsoon\n"),
                &format!("{nfs}\topts:\n"),
                &format!("{nfs}\tbytes:\t1 2 3\n"),
                &format!("{nfs}\tevents:\t1 2 3\n"),
                &format!("{nfs}\txprt:\ttcp\n"),
                &format!("{nfs}\tper-op statistics\n\tNULL: 0 0 0\n"),
                &format!("{nfs}\tper-op statistics\n\tNULL: 0 0 0 0 0 0 0 x\n"),
            ],
        );
        // Without per-op statistics the tagged lines end at a blank line, and then (as in procfs) the
        // per-operation lines are read up to the next blank line: a stray line there is an error.
        assert!(parse_mountstats(&format!("{nfs}\tage:\t5\n\nnot a device line\n")).is_err());
        let m = parse_mountstats(&format!(
            "{nfs}\tage:\t5\n\tnfsv4:\tbm0=0x1\n\n\nnot a device line\n"
        ))
        .unwrap();
        assert_eq!(m[0].nfs.as_ref().unwrap().age_seconds, 5.0);
        assert!(m[0].nfs.as_ref().unwrap().operations.is_empty());
    }

    #[test]
    fn go_durations() {
        let ok = |s: &str| go_duration_seconds(s).unwrap();
        assert_eq!(ok("13968s"), 13968.0);
        assert_eq!(ok("1.5s"), 1.5);
        assert_eq!(ok("-2s"), -2.0);
        assert_eq!(ok("0"), 0.0);
        // What `ParseDuration(age + "s")` makes of odd ages.
        assert_eq!(ok("5ms"), 0.005);
        assert_eq!(ok("1m30s"), 90.0);
        assert_eq!(ok("9223372036s"), 9223372036.0);
        for bad in ["s", "", ".s", "1xs", "ss", "9223372037s", "1_000s"] {
            assert!(go_duration_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mountinfo_addresses() {
        let addrs = parse_mountinfo_addrs(MOUNTINFO).unwrap();
        assert_eq!(addrs, ["", "", "", "10.0.0.2", "10.0.0.2", "192.0.2.9"]);
        let line = |opts: &str| format!("1 0 0:1 / / rw - nfs s:/e {opts}\n");
        assert_eq!(
            parse_mountinfo_addrs(&line("addr=a,addr=b=c")).unwrap(),
            ["b"]
        );
        assert_rejects(
            parse_mountinfo_addrs,
            &[
                "1 0 0:1 / / rw - nfs\n",
                "1 0 0:1 / / rw shared:1 nfs s:/e rw\n",
                "x 0 0:1 / / rw - nfs s:/e rw\n",
                "\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_with("mountstats", &fixture_config()).unwrap();
        let home = [
            ("export", "files.example:/export/home"),
            ("protocol", "tcp"),
            ("mountaddr", "10.0.0.2"),
        ];
        let pub_ = [
            ("export", "old.example:/pub"),
            ("protocol", "udp"),
            ("mountaddr", "192.0.2.9"),
        ];
        let with = |base: &[(&'static str, &'static str); 3], k, v| {
            let mut l = base.to_vec();
            l.push((k, v));
            l
        };
        let t1 = with(&home, "transport", "1");
        let write = with(&home, "operation", "WRITE");
        let lookup = with(&pub_, "operation", "LOOKUP");
        let bind = with(&home, "mountpoint", "/srv/home-bind");
        assert_values(
            &out,
            &[
                ("node_mountstats_nfs_age_seconds_total", &home, 86400.0),
                ("node_mountstats_nfs_age_seconds_total", &pub_, 120.0),
                ("node_mountstats_nfs_write_pages_total", &home, 8.0),
                (
                    "node_mountstats_nfs_event_vfs_file_release_total",
                    &home,
                    180.0,
                ),
                ("node_mountstats_nfs_event_truncation_total", &home, 200.0),
                ("node_mountstats_nfs_event_pnfs_write_total", &pub_, 27.0),
                ("node_mountstats_nfs_transport_sends_total", &t1, 600.0),
                ("node_mountstats_nfs_transport_idle_time_seconds", &t1, 12.0),
                ("node_mountstats_nfs_transport_maximum_rpc_slots", &t1, 8.0),
                (
                    "node_mountstats_nfs_operations_requests_total",
                    &write,
                    400.0,
                ),
                // (2^53 + 1000) ms taken modulo 2^53.
                (
                    "node_mountstats_nfs_operations_queue_time_seconds_total",
                    &write,
                    1.0,
                ),
                (
                    "node_mountstats_nfs_operations_request_time_seconds_total",
                    &write,
                    75.0,
                ),
                (
                    "node_mountstats_nfs_operations_major_timeouts_total",
                    &lookup,
                    1.0,
                ),
                ("node_mountstats_nfs_mountpoint_info", &bind, 1.0),
            ],
        );
        // The bind mount adds its mountpoint only; the second transport of /home no new one.
        let info = out.get("node_mountstats_nfs_mountpoint_info").unwrap();
        assert_eq!(info.samples.len(), 3);
        assert_eq!(info.kind, Kind::Gauge);
        let age = out.get("node_mountstats_nfs_age_seconds_total").unwrap();
        assert_eq!(age.samples.len(), 2);
        let sends = out
            .get("node_mountstats_nfs_transport_sends_total")
            .unwrap();
        assert_eq!(sends.samples.len(), 3);
        assert_eq!(out.families().len(), 1 + 1 + 8 + 10 + 8 + 26);
    }

    #[test]
    fn transports_of_two_protocols_each_export_the_mount() {
        let text = "device s:/e mounted on /m with fstype nfs4 statvers=1.1\n\
                    \txprt:\ttcp 1 2 3 4 5 6 7 8 9 10 11 12 13\n\
                    \txprt:\tudp 1 2 3 4 5 6 7 8 9 10\n\
                    \tper-op statistics\n\tNULL: 0 0 0 0 0 0 0 0\n";
        let mounts = parse_mountstats(text).unwrap();
        let mut out = MetricSet::new();
        // No mountinfo line for the mount: an empty mountaddr.
        emit(&mounts, &[], &mut out);
        let sends = out
            .get("node_mountstats_nfs_transport_sends_total")
            .unwrap();
        assert_eq!(sends.samples.len(), 4);
        let l = [
            ("export", "s:/e"),
            ("protocol", "udp"),
            ("mountaddr", ""),
            ("transport", "0"),
        ];
        assert_eq!(
            out.value("node_mountstats_nfs_transport_sends_total", &l),
            Some(6.0)
        );
    }

    #[test]
    fn non_utf8_paths_and_the_mountinfo_cap() {
        let dir = std::env::temp_dir().join(format!("hostlens-mountstats-{}", std::process::id()));
        let pid_dir = dir.join("proc/7");
        std::fs::create_dir_all(&pid_dir).unwrap();
        std::os::unix::fs::symlink("7", dir.join("proc/self")).unwrap();
        let mut stats = b"device /dev/sdb1 mounted on /data/caf\xe9 with fstype ext4\n".to_vec();
        stats.extend_from_slice(
            b"device s:/e mounted on /m with fstype nfs statvers=1.1\n\tage:\t9\n\
              \txprt:\tudp 1 2 3 4 5 6 7 8 9 10\n\tper-op statistics\n",
        );
        std::fs::write(pid_dir.join("mountstats"), stats).unwrap();
        let line = "1 0 0:1 / /x rw - ext4 /dev/x rw\n";
        let nfs = "2 0 0:2 / /m rw - nfs s:/e rw,addr=192.0.2.1\n";
        let cfg = NodeConfig {
            roots: Arc::new(Roots::new(dir.join("proc"), "/nonexistent", "/", None)),
            ..NodeConfig::default()
        };
        // Up to 1 MiB the whole file is read; past it the cut line is an error, as in procfs.
        let fits = format!(
            "{line}{nfs}{}",
            line.repeat(MOUNTINFO_LIMIT / line.len() - 3)
        );
        assert!(fits.len() <= MOUNTINFO_LIMIT);
        std::fs::write(pid_dir.join("mountinfo"), &fits).unwrap();
        let out = collect_with("mountstats", &cfg);
        let cut = format!("{fits}{line}");
        std::fs::write(pid_dir.join("mountinfo"), &cut).unwrap();
        let err = collect_with("mountstats", &cfg);
        std::fs::remove_dir_all(&dir).unwrap();
        let out = out.unwrap();
        let l = [
            ("export", "s:/e"),
            ("protocol", "udp"),
            ("mountaddr", "192.0.2.1"),
        ];
        assert_eq!(
            out.value("node_mountstats_nfs_age_seconds_total", &l),
            Some(9.0)
        );
        assert!(err.unwrap_err().to_string().contains("mountinfo"));
    }

    #[test]
    fn procfs_without_self_fails_the_setup() {
        let err =
            collect_with("mountstats", &fixture_config_with("nonexistent", "sys")).unwrap_err();
        assert!(err.to_string().contains("/proc/self"), "{err}");
    }
}
