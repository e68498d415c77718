//! `edac`: memory controller error counters from `/sys/devices/system/edac/mc/mc*`
//! (Documentation/admin-guide/ras.rst): node_edac_{correctable,uncorrectable}_errors_total{controller} and
//! node_edac_csrow_{correctable,uncorrectable}_errors_total{controller,csrow}, where the errors the driver
//! could not attribute to a csrow (`*_noinfo_count`) go to `csrow="unknown"`; since node_exporter 1.12 also
//! node_edac_channel_{correctable,uncorrectable}_errors_total{controller,csrow,channel,dimm_label} from a
//! csrow's `ch<N>_{ce,ue}_count` (the UE counter optional since 1.12.1).

use std::path::Path;

use crate::{CollectError, MetricSet, Roots};

use crate::read::{glob, glob_numbered, read_u64};

/// The leading digits after `prefix` in a directory name (`mc0` → `0`), as node_exporter's regex takes them.
fn number<'a>(name: &'a str, prefix: &str) -> &'a str {
    let rest = &name[prefix.len()..];
    let end = rest.bytes().take_while(u8::is_ascii_digit).count();
    &rest[..end]
}

/// One channel of a csrow (`ch<N>_ce_count`, node_exporter 1.12 #3720).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub channel: String,
    /// From `ch<N>_dimm_label` (see [`dimm_label`]), `unknown` when it cannot be read.
    pub dimm_label: String,
    pub ce: u64,
    /// `ch<N>_ue_count`, optional (1.12.1 #3734: drivers that have no per-channel UE counter).
    pub ue: Option<u64>,
}

/// One csrow's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrow {
    pub csrow: String,
    pub ce: u64,
    pub ue: u64,
    pub channels: Vec<Channel>,
}

/// One memory controller's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub controller: String,
    pub ce: u64,
    pub ce_noinfo: u64,
    pub ue: u64,
    pub ue_noinfo: u64,
    pub csrows: Vec<Csrow>,
}

/// A `ch<N>_dimm_label` as node_exporter 1.12 turns it into the `dimm_label` label: trimmed, `#` removed,
/// `csrow` and `channel` prefixed with `_` (`mc#0csrow#1channel#0` → `mc0_csrow1_channel0`).
pub fn dimm_label(raw: &str) -> String {
    raw.trim()
        .replace('#', "")
        .replace("csrow", "_csrow")
        .replace("channel", "_channel")
}

/// The channel number of a `ch<N>_ce_count` file name (node_exporter's unanchored `ch([0-9]+)_ce_count`).
fn channel_number(file: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(i) = file[from..].find("ch") {
        let start = from + i + 2;
        let digits = file[start..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && file[start + digits..].starts_with("_ce_count") {
            return Some(&file[start..start + digits]);
        }
        from = start;
    }
    None
}

fn read_count(path: &Path, what: &str) -> Result<u64, CollectError> {
    read_u64(path).map_err(|e| CollectError::Other(format!("couldn't get {what}: {e}")))
}

/// The channels of the csrow directory `r`, in file name order (the glob `ch*_ce_count`).
fn read_channels(r: &Path) -> Result<Vec<Channel>, CollectError> {
    let files = glob(r, |n| n.starts_with("ch") && n.ends_with("_ce_count"))?;
    let mut out = Vec::with_capacity(files.len());
    for file in &files {
        let Some(ch) = channel_number(file) else {
            continue;
        };
        let label = crate::read::read_file_bytes(r.join(format!("ch{ch}_dimm_label")))
            .map(|b| dimm_label(&String::from_utf8_lossy(&b)))
            .unwrap_or_else(|_| "unknown".to_string());
        out.push(Channel {
            channel: ch.to_string(),
            dimm_label: label,
            ce: read_count(&r.join(file), &format!("ce_count of channel {ch}"))?,
            ue: read_u64(r.join(format!("ch{ch}_ue_count"))).ok(),
        });
    }
    Ok(out)
}

/// Read every controller under `dir` (`<sys>/devices/system/edac/mc`); none when EDAC is not loaded.
pub fn read_controllers(dir: &Path) -> Result<Vec<Controller>, CollectError> {
    let names = glob_numbered(dir, "mc")?;
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        let mc = dir.join(name);
        let rows = glob_numbered(&mc, "csrow")?;
        let mut csrows = Vec::with_capacity(rows.len());
        for row in &rows {
            let r = mc.join(row);
            csrows.push(Csrow {
                csrow: number(row, "csrow").to_string(),
                ce: read_count(&r.join("ce_count"), "ce_count")?,
                ue: read_count(&r.join("ue_count"), "ue_count")?,
                channels: read_channels(&r)?,
            });
        }
        out.push(Controller {
            controller: number(name, "mc").to_string(),
            ce: read_count(&mc.join("ce_count"), "ce_count")?,
            ce_noinfo: read_count(&mc.join("ce_noinfo_count"), "ce_noinfo_count")?,
            ue: read_count(&mc.join("ue_count"), "ue_count")?,
            ue_noinfo: read_count(&mc.join("ue_noinfo_count"), "ue_noinfo_count")?,
            csrows,
        });
    }
    Ok(out)
}

const CE: &str = "node_edac_correctable_errors_total";
const CE_HELP: &str = "Total correctable memory errors.";
const UE: &str = "node_edac_uncorrectable_errors_total";
const UE_HELP: &str = "Total uncorrectable memory errors.";
const CSROW_CE: &str = "node_edac_csrow_correctable_errors_total";
const CSROW_CE_HELP: &str = "Total correctable memory errors for this csrow.";
const CSROW_UE: &str = "node_edac_csrow_uncorrectable_errors_total";
const CSROW_UE_HELP: &str = "Total uncorrectable memory errors for this csrow.";
const CHANNEL_CE: &str = "node_edac_channel_correctable_errors_total";
const CHANNEL_CE_HELP: &str = "Total correctable memory errors for this channel.";
const CHANNEL_UE: &str = "node_edac_channel_uncorrectable_errors_total";
const CHANNEL_UE_HELP: &str = "Total uncorrectable memory errors for this channel.";

/// Like node_exporter, a host without EDAC controllers succeeds with no series.
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    for c in read_controllers(&roots.sys("devices/system/edac/mc"))? {
        let ctl = c.controller.as_str();
        out.counter(CE, CE_HELP, &[("controller", ctl)], c.ce as f64);
        out.counter(
            CSROW_CE,
            CSROW_CE_HELP,
            &[("controller", ctl), ("csrow", "unknown")],
            c.ce_noinfo as f64,
        );
        out.counter(UE, UE_HELP, &[("controller", ctl)], c.ue as f64);
        out.counter(
            CSROW_UE,
            CSROW_UE_HELP,
            &[("controller", ctl), ("csrow", "unknown")],
            c.ue_noinfo as f64,
        );
        for r in &c.csrows {
            let csrow = r.csrow.as_str();
            let labels = [("controller", ctl), ("csrow", csrow)];
            out.counter(CSROW_CE, CSROW_CE_HELP, &labels, r.ce as f64);
            out.counter(CSROW_UE, CSROW_UE_HELP, &labels, r.ue as f64);
            for ch in &r.channels {
                let labels = [
                    ("channel", ch.channel.as_str()),
                    ("controller", ctl),
                    ("csrow", csrow),
                    ("dimm_label", ch.dimm_label.as_str()),
                ];
                out.counter(CHANNEL_CE, CHANNEL_CE_HELP, &labels, ch.ce as f64);
                if let Some(ue) = ch.ue {
                    out.counter(CHANNEL_UE, CHANNEL_UE_HELP, &labels, ue as f64);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, fixture_root};
    use crate::read::parse_u64;

    #[test]
    fn reads_fixture_controllers() {
        let cs = read_controllers(&fixture_root().join("sys/devices/system/edac/mc")).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].controller, "0");
        assert_eq!(
            cs[0].csrows,
            [
                Csrow {
                    csrow: "0".into(),
                    ce: 2,
                    ue: 1,
                    channels: vec![
                        Channel {
                            channel: "0".into(),
                            dimm_label: "mc0_csrow0_channel0".into(),
                            ce: 5,
                            ue: Some(1)
                        },
                        Channel {
                            channel: "1".into(),
                            dimm_label: "unknown".into(),
                            ce: 0,
                            ue: None
                        }
                    ]
                },
                Csrow {
                    csrow: "1".into(),
                    ce: 1,
                    ue: 0,
                    channels: vec![]
                }
            ]
        );
        // A counter at u64::MAX parses.
        assert_eq!(cs[1].ce, u64::MAX);
        assert!(cs[1].csrows.is_empty());
    }

    #[test]
    fn numbers_and_garbage() {
        assert_eq!(number("mc12", "mc"), "12");
        assert_eq!(number("csrow3", "csrow"), "3");
        assert_eq!(channel_number("ch12_ce_count"), Some("12"));
        assert_eq!(channel_number("chx_ch3_ce_count"), Some("3"));
        assert_eq!(channel_number("ch_ce_count"), None);
        assert_eq!(dimm_label(" CPU#1Channel#0_DIMM#0\n"), "CPU1Channel0_DIMM0");
        assert_eq!(dimm_label("mc#0csrow#2channel#1"), "mc0_csrow2_channel1");
        assert!(parse_u64("-1").is_err());
        assert!(read_controllers(Path::new("/nonexistent/edac/mc"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("edac");
        assert_eq!(out.value(CE, &[("controller", "0")]), Some(3.0));
        assert_eq!(out.value(UE, &[("controller", "0")]), Some(1.0));
        assert_eq!(
            out.value(CSROW_UE, &[("controller", "1"), ("csrow", "unknown")]),
            Some(2.0)
        );
        assert_eq!(
            out.value(CSROW_CE, &[("controller", "0"), ("csrow", "0")]),
            Some(2.0)
        );
        assert_eq!(out.get(CSROW_CE).unwrap().samples.len(), 4);
        let ch0 = [
            ("channel", "0"),
            ("controller", "0"),
            ("csrow", "0"),
            ("dimm_label", "mc0_csrow0_channel0"),
        ];
        assert_eq!(out.value(CHANNEL_CE, &ch0), Some(5.0));
        assert_eq!(out.value(CHANNEL_UE, &ch0), Some(1.0));
        let ch1 = [
            ("channel", "1"),
            ("controller", "0"),
            ("csrow", "0"),
            ("dimm_label", "unknown"),
        ];
        assert_eq!(out.value(CHANNEL_CE, &ch1), Some(0.0));
        assert_eq!(out.get(CHANNEL_UE).unwrap().samples.len(), 1);
    }
}
