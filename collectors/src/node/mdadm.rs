//! `mdadm`: node_md_* from `/proc/mdstat`, as node_exporter 1.5 (procfs 0.8) parses it. No data when the
//! file is absent (no md driver loaded).

use std::sync::LazyLock;

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string_or_no_data;
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
    LazyLock::new(|| Regex::new(r"\((\d+)/\d+\)").expect("valid regex"));
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
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
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
        let resyncing = sync_line.contains("resync");
        let checking = sync_line.contains("check");
        if recovering || resyncing || checking {
            state = if recovering {
                "recovering"
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
