//! `runit`: node_service_*{service,supervisor="runit"} from the `supervise/status` files runsv keeps for
//! each service of `--collector.runit.servicedir`, as node_exporter 1.12.1's `runit` collector
//! (collector/runit.go with prometheus-community/go-runit v0.1.0). Off by default; upstream marks it
//! deprecated ("will be removed in the next major version release", logged once when it is set up, as
//! here).
//!
//! Every directory or symlink in the service directory (name order) is a service. runsv's status record
//! is 20 bytes: a TAI64N label of the last state change (the first 8 bytes, big-endian, TAI64 seconds),
//! the pid (bytes 12–15, little-endian), the wanted state (byte 17, `u` or `d`) and the state (byte 19:
//! 0 down, 1 run, 2 finish). A service whose status cannot be read (no runsv ever ran it, an empty file)
//! is skipped. As go-runit, the "normally up" test looks for `supervise/down`, not runit's `down` beside
//! `run`, so a service is reported normally up unless something created `supervise/down`. An unreadable
//! service directory fails the collector.

use std::path::{Path, PathBuf};

use crate::read::{read_dir_sorted, with_attr_raw, EntryType};
use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

/// The runit collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Path to runit service directory.
    #[arg(
        help = "Path to runit service directory.",
        value_name = "DIR",
        id = "collector.runit.servicedir",
        long = "collector.runit.servicedir",
        default_value = "/etc/service"
    )]
    pub servicedir: PathBuf,
}

/// go-runit's `taiOffset`: 2^62 + 10, the TAI64 label of the Unix epoch (TAI - UTC was 10 s in 1970).
const TAI_OFFSET: i64 = 4_611_686_018_427_387_914;
/// The length of runsv's status record, what go-runit reads.
pub const STATUS_LEN: usize = 20;

/// One service's status, as go-runit's `SvStatus` (the fields node_exporter exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub pid: u32,
    /// The last state change, Unix seconds.
    pub timestamp: i64,
    /// 0 down, 1 run, 2 finish.
    pub state: u8,
    /// 1 when runsv wants it up (`u`), else 0.
    pub want: u8,
}

/// Parse what one `read` of at most [`STATUS_LEN`] bytes returned from `supervise/status`: a shorter
/// record is zero-padded as go-runit's buffer; an empty one is `None` (Go's `io.EOF`).
pub fn parse_status(read: &[u8]) -> Option<Status> {
    if read.is_empty() {
        return None;
    }
    let mut b = [0u8; STATUS_LEN];
    let n = read.len().min(STATUS_LEN);
    b[..n].copy_from_slice(&read[..n]);
    let tai = i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    Some(Status {
        pid: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        timestamp: tai.wrapping_sub(TAI_OFFSET),
        state: b[19],
        want: u8::from(b[17] == b'u'),
    })
}

/// Append one service's samples.
pub fn push_status(service: &str, status: &Status, normally_up: bool, out: &mut MetricSet) {
    let labels = [("service", service), ("supervisor", "runit")];
    out.gauge(
        "node_service_state",
        "State of runit service.",
        &labels,
        f64::from(status.state),
    );
    out.gauge(
        "node_service_desired_state",
        "Desired state of runit service.",
        &labels,
        f64::from(status.want),
    );
    out.gauge(
        "node_service_state_last_change_timestamp_seconds",
        "Unix timestamp of the last runit service state change.",
        &labels,
        status.timestamp as f64,
    );
    out.gauge(
        "node_service_normal_state",
        "Normal state of runit service.",
        &labels,
        if normally_up { 1.0 } else { 0.0 },
    );
}

/// The services of `dir` (go-runit's `GetServices`): its directories and symlinks, in name order.
pub fn services(dir: &Path) -> Result<Vec<String>, CollectError> {
    let entries = read_dir_sorted(dir)
        .map_err(|e| CollectError::Other(format!("open {}: {e}", dir.display())))?;
    Ok(entries
        .into_iter()
        .filter(|e| matches!(e.file_type, EntryType::Dir | EntryType::Symlink))
        .map(|e| e.name)
        .collect())
}

/// The status of service `name` in `dir`, or why it is skipped.
fn read_status(dir: &Path, name: &str) -> Result<Status, String> {
    let path = dir.join(name).join("supervise/status");
    match with_attr_raw(&path, |b| parse_status(&b[..b.len().min(STATUS_LEN)])) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(format!("{}: EOF", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub struct Runit {
    servicedir: PathBuf,
}

impl NodeCollector for Runit {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        tracing::warn!(
            collector = "runit",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Runit {
            servicedir: cfg.runit.servicedir.clone(),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = &self.servicedir;
        for name in services(dir)? {
            let status = match read_status(dir, &name) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(collector = "runit", service = %name, "Couldn't get status: {e}");
                    continue;
                }
            };
            // go-runit's NormallyUp: `stat` of supervise/down fails.
            let normally_up = std::fs::metadata(dir.join(&name).join("supervise/down")).is_err();
            push_status(&name, &status, normally_up, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::collect_with;

    /// A status record as runsv writes it: TAI64N of `unix` seconds, `pid`, paused 0, want, term 0, state.
    fn record(unix: i64, pid: u32, want: u8, state: u8) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((unix + TAI_OFFSET).to_be_bytes());
        b.extend(123_456_789u32.to_be_bytes());
        b.extend(pid.to_le_bytes());
        b.extend([0, want, 0, state]);
        b
    }

    #[test]
    fn parses_runsv_records() {
        let s = parse_status(&record(1_795_996_800, 4242, b'u', 1)).expect("a record");
        assert_eq!(
            s,
            Status {
                pid: 4242,
                timestamp: 1_795_996_800,
                state: 1,
                want: 1
            }
        );
        let s = parse_status(&record(1_700_000_000, 0, b'd', 0)).expect("a record");
        assert_eq!((s.want, s.state, s.pid), (0, 0, 0));
        // Any other wanted state counts as down; a short record is zero-padded; an empty one is none.
        assert_eq!(
            parse_status(&record(5, 1, b'x', 2)).map(|s| s.want),
            Some(0)
        );
        let short = parse_status(&record(7, 0x0102_0304, b'u', 1)[..14]).expect("short");
        assert_eq!(
            (short.timestamp, short.pid, short.want, short.state),
            (7, 0x0304, 0, 0)
        );
        assert_eq!(parse_status(&[]), None);
        // All zeros: TAI label 0, far before the epoch, as go-runit computes it.
        assert_eq!(
            parse_status(&[0; 20]).map(|s| s.timestamp),
            Some(-TAI_OFFSET)
        );
    }

    /// A service directory in a temporary directory (the status records are binary, so the test writes
    /// them): `web` (up, want up), `cron` (down, want down, `supervise/down` present), `empty` (an empty
    /// status: skipped), `nosupervise` (never run: skipped), `notaservice` (a plain file: not a service),
    /// `link` (a symlink to `web`).
    fn service_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hostlens-runit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sv = |name: &str, rec: Vec<u8>| {
            let s = dir.join(name).join("supervise");
            std::fs::create_dir_all(&s).expect("mkdir");
            std::fs::write(s.join("status"), rec).expect("write status");
        };
        sv("web", record(1_795_996_800, 4242, b'u', 1));
        sv("cron", record(1_795_990_000, 0, b'd', 0));
        std::fs::write(dir.join("cron/supervise/down"), "").expect("write down");
        sv("empty", Vec::new());
        std::fs::create_dir_all(dir.join("nosupervise")).expect("mkdir");
        std::fs::write(dir.join("notaservice"), "").expect("write");
        std::os::unix::fs::symlink("web", dir.join("link")).expect("symlink");
        dir
    }

    #[test]
    fn collects_a_service_directory() {
        let mut cfg = NodeConfig::default();
        let dir = service_dir("collect");
        cfg.runit.servicedir = dir.clone();
        let out = collect_with("runit", &cfg);
        let _ = std::fs::remove_dir_all(&dir);
        let out = out.expect("collects");
        let v =
            |name: &str, svc: &str| out.value(name, &[("service", svc), ("supervisor", "runit")]);
        assert_eq!(v("node_service_state", "web"), Some(1.0));
        assert_eq!(v("node_service_desired_state", "web"), Some(1.0));
        assert_eq!(
            v("node_service_state_last_change_timestamp_seconds", "web"),
            Some(1_795_996_800.0)
        );
        assert_eq!(v("node_service_normal_state", "web"), Some(1.0));
        assert_eq!(v("node_service_state", "link"), Some(1.0));
        assert_eq!(v("node_service_state", "cron"), Some(0.0));
        assert_eq!(v("node_service_desired_state", "cron"), Some(0.0));
        assert_eq!(v("node_service_normal_state", "cron"), Some(0.0));
        for skipped in ["empty", "nosupervise", "notaservice"] {
            assert_eq!(v("node_service_state", skipped), None, "{skipped}");
        }
        assert_eq!(
            out.get("node_service_state").map(|f| f.samples.len()),
            Some(3)
        );
    }

    #[test]
    fn a_missing_service_dir_fails() {
        let mut cfg = NodeConfig::default();
        cfg.runit.servicedir = std::env::temp_dir().join("hostlens-runit-absent-dir");
        let e = collect_with("runit", &cfg).expect_err("no such directory");
        assert!(e.to_string().starts_with("open "), "{e}");
    }
}
