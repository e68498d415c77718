//! `mdadm`: node_md_* from `/proc/mdstat`, as node_exporter 1.12.1 (procfs 0.21.1) parses it, then (since
//! node_exporter 1.10, #3031) node_md_raid_disks and node_md_degraded from `/sys/block/md*/md/`. No data
//! when `/proc/mdstat` is absent (no md driver loaded), nor when a sysfs file procfs requires is missing
//! (the mdstat series are kept then, as node_exporter sends them first).

use std::sync::LazyLock;

use regex::Regex;

use crate::error::ParseError;
use std::path::Path;

use crate::read::{glob, read_to_string, read_to_string_or_no_data, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

/// One md device.
#[derive(Debug, Clone, PartialEq)]
pub struct MdStat {
    pub name: String,
    /// `active`, `inactive`, `recovering`, `resyncing` or `checking` (or what the device line says).
    pub state: String,
    pub disks_active: i64,
    pub disks_total: i64,
    pub disks_failed: i64,
    pub disks_down: i64,
    pub disks_spare: i64,
    pub blocks_total: i64,
    pub blocks_synced: i64,
}

#[allow(clippy::expect_used)] // constant patterns
static STATUS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]").expect("valid regex")
});
#[allow(clippy::expect_used)]
static RECOVERY_BLOCKS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\((\d+)/(\d+)\)").expect("valid regex"));
#[allow(clippy::expect_used)]
static RECOVERY_PCT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"= (.+)%").expect("valid regex"));
#[allow(clippy::expect_used)]
static RECOVERY_FINISH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"finish=(.+)min").expect("valid regex"));
#[allow(clippy::expect_used)]
static RECOVERY_SPEED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"speed=(.+)[A-Z]").expect("valid regex"));

fn parse_i64(s: &str, line: &str) -> Result<i64, ParseError> {
    s.parse()
        .map_err(|_| ParseError::new(format!("unexpected statusLine {line:?}")))
}

/// `(active, total, down, size)` from a device line and its status line.
fn eval_status_line(
    device_line: &str,
    status_line: &str,
) -> Result<(i64, i64, i64, i64), ParseError> {
    let size_str = status_line
        .split_whitespace()
        .next()
        .ok_or_else(|| ParseError::new(format!("unexpected statusLine {status_line:?}")))?;
    let size = parse_i64(size_str, status_line)?;
    if device_line.contains("raid0") || device_line.contains("linear") {
        // Only member disks carry a number in brackets on the device line.
        let total = device_line.matches('[').count() as i64;
        return Ok((total, total, 0, size));
    }
    if device_line.contains("inactive") {
        return Ok((0, 0, 0, size));
    }
    let caps = STATUS_LINE.captures(status_line).ok_or_else(|| {
        ParseError::new(format!(
            "couldn't find all the substring matches: {status_line}"
        ))
    })?;
    let total = parse_i64(&caps[2], status_line)?;
    let active = parse_i64(&caps[3], status_line)?;
    let down = caps[4].matches('_').count() as i64;
    Ok((active, total, down, size))
}

/// The synced blocks of a recovery/resync/check line; the percentage, finish time and speed must parse too,
/// as procfs requires.
fn eval_recovery_line(line: &str) -> Result<i64, ParseError> {
    let bad = |what: &str| ParseError::new(format!("unexpected recoveryLine{what}: {line}"));
    let blocks = RECOVERY_BLOCKS.captures(line).ok_or_else(|| bad(""))?;
    let synced: i64 = blocks[1].parse().map_err(|_| bad(""))?;
    blocks[2]
        .parse::<i64>()
        .map_err(|_| bad(" blocks to be synced"))?;
    let pct = RECOVERY_PCT
        .captures(line)
        .ok_or_else(|| bad(" matching percentage"))?;
    pct[1]
        .trim()
        .parse::<f64>()
        .map_err(|_| bad(" matching percentage"))?;
    let finish = RECOVERY_FINISH
        .captures(line)
        .ok_or_else(|| bad(" matching est. finish time"))?;
    finish[1]
        .parse::<f64>()
        .map_err(|_| bad(" matching est. finish time"))?;
    let speed = RECOVERY_SPEED
        .captures(line)
        .ok_or_else(|| bad(" matching speed"))?;
    speed[1]
        .parse::<f64>()
        .map_err(|_| bad(" matching speed"))?;
    Ok(synced)
}

/// Parse `/proc/mdstat`.
pub fn parse_mdstat(text: &str) -> Result<Vec<MdStat>, ParseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut seen_personalities = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || line.starts_with(' ') || line.starts_with("unused") {
            continue;
        }
        // procfs 0.21 skips the first `Personalities : [raid1] …` line only (it reads the known RAID types
        // from it); another line starting so is parsed as a device line.
        if !seen_personalities && line.starts_with("Personalities : ") {
            seen_personalities = line["Personalities : ".len()..]
                .split_whitespace()
                .next()
                .is_some();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(ParseError::new(format!(
                "not enough fields in mdline (expected at least 3): {line}"
            )));
        }
        let name = fields[0];
        let mut state = fields[2].to_string();
        if lines.len() <= i + 3 {
            return Err(ParseError::new(format!(
                "error parsing {name:?}: too few lines for md device"
            )));
        }
        let failed = line.matches("(F)").count() as i64;
        let spare = line.matches("(S)").count() as i64;
        let (active, total, down, size) = eval_status_line(line, lines[i + 1])?;

        let mut sync_idx = i + 2;
        if lines[i + 2].contains("bitmap") {
            sync_idx += 1;
        }
        let sync_line = lines[sync_idx];
        let mut synced = size;
        let recovering = sync_line.contains("recovery");
        let reshaping = sync_line.contains("reshape");
        let resyncing = sync_line.contains("resync");
        let checking = sync_line.contains("check");
        // procfs 0.21: a reshape is its own state, "reshaping", which no node_md_state series reports.
        if recovering || resyncing || checking || reshaping {
            state = if recovering {
                "recovering"
            } else if reshaping {
                "reshaping"
            } else if checking {
                "checking"
            } else {
                "resyncing"
            }
            .to_string();
            synced = if sync_line.contains("PENDING") || sync_line.contains("DELAYED") {
                0
            } else {
                eval_recovery_line(sync_line)?
            };
        }
        out.push(MdStat {
            name: name.to_string(),
            state,
            disks_active: active,
            disks_total: total,
            disks_failed: failed,
            disks_down: down,
            disks_spare: spare,
            blocks_total: size,
            blocks_synced: synced,
        });
    }
    Ok(out)
}

/// What node_exporter exports of one `/sys/block/<md>/md` directory (procfs 0.21.1 `sysfs.Mdraid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mdraid {
    pub device: String,
    /// `raid_disks`; `None` for containers (`container`, `imsm`, `ddf`), an empty `level` or an empty or
    /// unparsable `raid_disks` (procfs 0.21.1, node_exporter 1.12: no node_md_raid_disks series then).
    pub disks: Option<u64>,
    /// `degraded`, read for the redundant levels (raid1/4/5/6/10); 0 for the others.
    pub degraded: u64,
}

/// A sysfs attribute as procfs' `SysReadFile`: trimmed, every error kept.
fn attr(path: &Path) -> Result<String, CollectError> {
    sys_read_file(path).map_err(|e| CollectError::io(path, e))
}

/// A file holding a decimal unsigned number as procfs' `ReadUintFromFile`.
fn uint_file(path: &Path) -> Result<u64, CollectError> {
    let text = read_to_string(path)?;
    let t = text.trim();
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CollectError::parse(
            path,
            format!("not an unsigned integer: {t:?}"),
        ));
    }
    t.parse()
        .map_err(|_| CollectError::parse(path, format!("not an unsigned integer: {t:?}")))
}

/// `raid_disks` as procfs 0.21.1 reads it: a number, or `current (previous)` during a reshape (the first
/// number); anything else, an empty file included, is `None`.
pub fn parse_raid_disks(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = |s: &str| -> Option<u64> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    if t.is_empty() {
        return None;
    }
    digits(t).or_else(|| match t.find(' ') {
        Some(i) if i > 0 => digits(&t[..i]),
        _ => None,
    })
}

/// `sync_completed`: `none`, or `<done> / <total>` (Go's `fmt.Sscanf(val, "%d / %d")`); anything else
/// (`delayed` included) is an error, as in procfs.
fn check_sync_completed(path: &Path, val: &str) -> Result<(), CollectError> {
    if val == "none" {
        return Ok(());
    }
    let bad = || CollectError::parse(path, format!("unexpected sync_completed {val:?}"));
    let number = |s: &str| -> Option<usize> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0 && s[..n].parse::<u64>().is_ok()).then_some(n)
    };
    let n = number(val).ok_or_else(bad)?;
    let rest = val[n..].trim_start_matches(' ');
    let rest = rest.strip_prefix('/').ok_or_else(bad)?;
    number(rest.trim_start_matches(' ')).ok_or_else(bad)?;
    Ok(())
}

/// Read one `/sys/block/<device>/md` directory, with every file procfs 0.21.1 requires (`level`,
/// `array_state`, `metadata_version`, `raid_disks`, `uuid`, each component's `state`, `chunk_size` of the
/// striped levels, `degraded`, `sync_action` and `sync_completed` of the redundant ones).
pub fn read_mdraid(device: &str, md: &Path) -> Result<Mdraid, CollectError> {
    let level = attr(&md.join("level"))?;
    attr(&md.join("array_state"))?;
    attr(&md.join("metadata_version"))?;
    let disks = match level.as_str() {
        "container" | "imsm" | "ddf" | "" => None,
        _ => parse_raid_disks(&read_to_string(md.join("raid_disks"))?),
    };
    attr(&md.join("uuid"))?;
    for dev in glob(md, |n| n.starts_with("dev-"))? {
        attr(&md.join(dev).join("state"))?;
    }
    if matches!(
        level.as_str(),
        "raid0" | "raid4" | "raid5" | "raid6" | "raid10"
    ) {
        uint_file(&md.join("chunk_size"))?;
    }
    let mut degraded = 0;
    if matches!(
        level.as_str(),
        "raid1" | "raid4" | "raid5" | "raid6" | "raid10"
    ) {
        degraded = uint_file(&md.join("degraded"))?;
        attr(&md.join("sync_action"))?;
        let p = md.join("sync_completed");
        check_sync_completed(&p, &attr(&p)?)?;
    }
    Ok(Mdraid {
        device: device.to_string(),
        disks,
        degraded,
    })
}

/// Every `<sys>/block/md*/md` (the glob: an `md` entry of any kind), in name order.
pub fn read_mdraids(block: &Path) -> Result<Vec<Mdraid>, CollectError> {
    let mut out = Vec::new();
    for device in glob(block, |n| n.starts_with("md"))? {
        let md = block.join(&device).join("md");
        if std::fs::symlink_metadata(&md).is_err() {
            continue;
        }
        out.push(read_mdraid(&device, &md)?);
    }
    Ok(out)
}

const STATE_HELP: &str = "Indicates the state of md-device.";
const DISKS_HELP: &str = "Number of active/failed/spare disks of device.";

/// The `mdadm` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("mdstat");
    let text = read_to_string_or_no_data(&path)?;
    let mds = parse_mdstat(&text).map_err(|e| e.at(&path))?;
    for md in &mds {
        let dev = md.name.as_str();
        out.gauge(
            "node_md_disks_required",
            "Total number of disks of device.",
            &[("device", dev)],
            md.disks_total as f64,
        );
        for (state, n) in [
            ("active", md.disks_active),
            ("failed", md.disks_failed),
            ("spare", md.disks_spare),
        ] {
            out.gauge(
                "node_md_disks",
                DISKS_HELP,
                &[("device", dev), ("state", state)],
                n as f64,
            );
        }
        // The label value and the parsed activity state it reflects.
        for (label, parsed) in [
            ("active", "active"),
            ("inactive", "inactive"),
            ("recovering", "recovering"),
            ("resync", "resyncing"),
            ("check", "checking"),
        ] {
            out.gauge(
                "node_md_state",
                STATE_HELP,
                &[("device", dev), ("state", label)],
                if md.state == parsed { 1.0 } else { 0.0 },
            );
        }
        out.gauge(
            "node_md_blocks",
            "Total number of blocks on device.",
            &[("device", dev)],
            md.blocks_total as f64,
        );
        out.gauge(
            "node_md_blocks_synced",
            "Number of blocks synced on device.",
            &[("device", dev)],
            md.blocks_synced as f64,
        );
    }
    // node_exporter: a missing file (anywhere in procfs' errors) is no data, any other error an error.
    let raids = read_mdraids(&roots.sys("block")).map_err(|e| {
        if matches!(&e, CollectError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        {
            CollectError::NoData(format!("mdraids: {e}"))
        } else {
            e
        }
    })?;
    for r in &raids {
        let dev = [("device", r.device.as_str())];
        if let Some(n) = r.disks {
            out.gauge(
                "node_md_raid_disks",
                "Number of raid disks on device.",
                &dev,
                n as f64,
            );
        }
        out.gauge(
            "node_md_degraded",
            "Number of degraded disks on device.",
            &dev,
            r.degraded as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, assert_values, collect_with, fixture_config, fixture_config_with,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/mdstat/mdstat");

    fn md<'a>(v: &'a [MdStat], name: &str) -> &'a MdStat {
        v.iter().find(|m| m.name == name).unwrap()
    }

    #[test]
    fn parses_fixture() {
        let v = parse_mdstat(FIXTURE).unwrap();
        assert_eq!(v.len(), 8);
        let m = md(&v, "md0");
        assert_eq!(
            (
                m.disks_active,
                m.disks_total,
                m.disks_down,
                m.disks_failed,
                m.disks_spare
            ),
            (1, 2, 1, 1, 1)
        );
        assert_eq!(m.state, "active");
        let m = md(&v, "md3");
        assert_eq!(
            (m.state.as_str(), m.blocks_synced),
            ("recovering", 16775552)
        );
        assert_eq!(m.blocks_total, 5853468288);
        let m = md(&v, "md11");
        assert_eq!((m.state.as_str(), m.blocks_synced), ("resyncing", 0));
        assert_eq!(md(&v, "md201").state, "checking");
        let m = md(&v, "md8");
        assert_eq!((m.disks_active, m.disks_total), (2, 2));
        let m = md(&v, "md9");
        assert_eq!(
            (m.state.as_str(), m.disks_total, m.disks_spare),
            ("inactive", 0, 1)
        );
        assert_eq!(md(&v, "md10").blocks_synced, 34559232);
    }

    #[test]
    fn reshape_and_personalities_as_procfs_0_21() {
        let text = "Personalities : [raid1] [raid6] [raid5] [raid4]\n\
                    md4 : active raid5 sdd[3] sdc[1] sdb[0]\n      \
                    1953260544 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]\n      \
                    [==>..................]  reshape = 12.5% (122078976/976630272) finish=300.0min speed=47428K/sec\n\
                    \n\
                    unused devices: <none>\n";
        let v = parse_mdstat(text).unwrap();
        assert_eq!(
            (v[0].state.as_str(), v[0].blocks_synced),
            ("reshaping", 122078976)
        );
        // A second Personalities line is parsed as a device line.
        assert!(parse_mdstat(&format!("{text}Personalities : [raid1]\n")).is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert_rejects(
            parse_mdstat,
            &[
                "md0 : active raid1 sda1[0]\n",
                "md0 : active raid1 sda1[0]\n      x blocks\n\n\n",
                "md0 :\n",
            ],
        );
        assert!(parse_mdstat("Personalities : \nunused devices: <none>\n")
            .unwrap()
            .is_empty());
    }

    /// A `/sys/block` with one md array per `(device, level, raid_disks, degraded, sync_completed)`.
    fn sys_block(arrays: &[(&str, &str, &str, &str, &str)]) -> std::path::PathBuf {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hostlens-md-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        for (dev, level, raid_disks, degraded, sync) in arrays {
            let md = dir.join(dev).join("md");
            std::fs::create_dir_all(md.join("dev-sda")).unwrap();
            for (f, v) in [
                ("level", *level),
                ("array_state", "clean"),
                ("metadata_version", "1.2"),
                ("raid_disks", *raid_disks),
                ("uuid", "0f5c7a2b-0000-0000-0000-000000000001"),
                ("dev-sda/state", "in_sync"),
                ("chunk_size", "524288"),
                ("degraded", *degraded),
                ("sync_action", "idle"),
                ("sync_completed", *sync),
            ] {
                std::fs::write(md.join(f), format!("{v}\n")).unwrap();
            }
        }
        std::fs::create_dir_all(dir.join("sda")).unwrap();
        dir
    }

    #[test]
    fn reads_sysfs_arrays() {
        let dir = sys_block(&[
            ("md0", "raid1", "2", "1", "none"),
            ("md1", "raid5", "4 (3)", "0", "1024 / 4096"),
            ("md127", "container", "0", "x", "x"),
            ("md2", "raid0", "", "x", "x"),
        ]);
        let got = read_mdraids(&dir);
        std::fs::write(dir.join("md0/md/sync_completed"), "delayed\n").unwrap();
        let delayed = read_mdraids(&dir);
        std::fs::remove_file(dir.join("md0/md/uuid")).unwrap();
        let missing = read_mdraids(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let md = |device: &str, disks, degraded| Mdraid {
            device: device.to_string(),
            disks,
            degraded,
        };
        assert_eq!(
            got.unwrap(),
            [
                md("md0", Some(2), 1),
                md("md1", Some(4), 0),
                md("md127", None, 0),
                md("md2", None, 0)
            ]
        );
        assert!(delayed.is_err());
        assert!(missing.unwrap_err().is_no_data());
        assert_eq!(parse_raid_disks("11 (10)\n"), Some(11));
        assert_eq!(parse_raid_disks("x y"), None);
        assert_eq!(parse_raid_disks("+3"), None);
    }

    #[test]
    fn no_mdstat_is_no_data() {
        let err = collect_with("mdadm", &fixture_config()).unwrap_err();
        assert!(err.is_no_data());
    }

    #[test]
    fn collects_from_fixture_root() {
        let cfg = fixture_config_with("mdstat", "sys");
        let out = collect_with("mdadm", &cfg).unwrap();
        assert_values(
            &out,
            &[
                (
                    "node_md_state",
                    &[("device", "md11"), ("state", "resync")],
                    1.0,
                ),
                (
                    "node_md_state",
                    &[("device", "md11"), ("state", "active")],
                    0.0,
                ),
                (
                    "node_md_disks",
                    &[("device", "md0"), ("state", "failed")],
                    1.0,
                ),
                ("node_md_disks_required", &[("device", "md0")], 2.0),
                ("node_md_blocks_synced", &[("device", "md201")], 114176.0),
            ],
        );
        assert_eq!(out.get("node_md_state").unwrap().samples.len(), 8 * 5);
    }
}
