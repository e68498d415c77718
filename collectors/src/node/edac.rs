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

/// The channel files of the csrow directory `r` in name order (the glob `ch*_ce_count`), with their
/// channel numbers.
fn channel_files(r: &Path) -> Result<Vec<(String, String)>, CollectError> {
    Ok(
        glob(r, |n| n.starts_with("ch") && n.ends_with("_ce_count"))?
            .into_iter()
            .filter_map(|f| channel_number(&f).map(str::to_string).map(|c| (f, c)))
            .collect(),
    )
}

/// The `dimm_label` of channel `ch` of the csrow directory `r`: `unknown` when it cannot be read.
fn channel_dimm_label(r: &Path, ch: &str) -> String {
    crate::read::read_file_bytes(r.join(format!("ch{ch}_dimm_label")))
        .map(|b| dimm_label(&String::from_utf8_lossy(&b)))
        .unwrap_or_else(|_| "unknown".to_string())
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

/// Like node_exporter, a host without EDAC controllers succeeds with no series. Each counter is written
/// as soon as it is read, in node_exporter's order, so a failing file fails the collector with what came
/// before it kept, as there.
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("devices/system/edac/mc");
    for name in glob_numbered(&dir, "mc")? {
        let mc = dir.join(&name);
        let ctl = number(&name, "mc");
        let count =
            |file: &str| read_count(&mc.join(file), &format!("{file} for controller {ctl}"));
        out.counter(
            CE,
            CE_HELP,
            &[("controller", ctl)],
            count("ce_count")? as f64,
        );
        let unknown = [("controller", ctl), ("csrow", "unknown")];
        out.counter(
            CSROW_CE,
            CSROW_CE_HELP,
            &unknown,
            count("ce_noinfo_count")? as f64,
        );
        out.counter(
            UE,
            UE_HELP,
            &[("controller", ctl)],
            count("ue_count")? as f64,
        );
        out.counter(
            CSROW_UE,
            CSROW_UE_HELP,
            &unknown,
            count("ue_noinfo_count")? as f64,
        );
        for row in glob_numbered(&mc, "csrow")? {
            let r = mc.join(&row);
            let csrow = number(&row, "csrow");
            let what = |file: &str| format!("{file} for controller/csrow {ctl}/{csrow}");
            let labels = [("controller", ctl), ("csrow", csrow)];
            let ce = read_count(&r.join("ce_count"), &what("ce_count"))?;
            out.counter(CSROW_CE, CSROW_CE_HELP, &labels, ce as f64);
            let ue = read_count(&r.join("ue_count"), &what("ue_count"))?;
            out.counter(CSROW_UE, CSROW_UE_HELP, &labels, ue as f64);
            for (file, ch) in channel_files(&r)? {
                let label = channel_dimm_label(&r, &ch);
                let labels = [
                    ("channel", ch.as_str()),
                    ("controller", ctl),
                    ("csrow", csrow),
                    ("dimm_label", label.as_str()),
                ];
                let ce = read_count(&r.join(&file), &what(&format!("ce_count of channel {ch}")))?;
                out.counter(CHANNEL_CE, CHANNEL_CE_HELP, &labels, ce as f64);
                // Optional since node_exporter 1.12.1 (#3734): logged at debug level there.
                if let Ok(ue) = read_u64(r.join(format!("ch{ch}_ue_count"))) {
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
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config};
    use crate::read::parse_u64;

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
    }

    #[test]
    fn no_edac_is_empty_and_a_bad_counter_keeps_what_came_before() {
        let mut cfg = fixture_config();
        let tmp = std::env::temp_dir().join(format!("hostlens-edac-{}", std::process::id()));
        cfg.roots = std::sync::Arc::new(Roots::new(tmp.clone(), tmp.clone(), tmp.clone(), None));
        assert!(collect_with("edac", &cfg).unwrap().is_empty());
        let mc = tmp.join("devices/system/edac/mc/mc0");
        std::fs::create_dir_all(mc.join("csrow0")).unwrap();
        for (f, v) in [
            ("ce_count", "1"),
            ("ce_noinfo_count", "0"),
            ("ue_count", "2"),
            ("ue_noinfo_count", "0"),
            ("csrow0/ce_count", "1"),
            ("csrow0/ue_count", "x"),
        ] {
            std::fs::write(mc.join(f), format!("{v}\n")).unwrap();
        }
        let mut out = MetricSet::new();
        let r = collect(&cfg.roots, &mut out);
        std::fs::remove_dir_all(&tmp).unwrap();
        assert!(r.is_err());
        assert_eq!(out.value(UE, &[("controller", "0")]), Some(2.0));
        assert_eq!(
            out.value(CSROW_CE, &[("controller", "0"), ("csrow", "0")]),
            Some(1.0)
        );
        assert!(out.get(CSROW_UE).unwrap().samples.len() == 1);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("edac");
        assert_eq!(out.value(CE, &[("controller", "0")]), Some(3.0));
        assert_eq!(out.value(UE, &[("controller", "0")]), Some(1.0));
        // A counter at u64::MAX parses.
        assert_eq!(out.value(CE, &[("controller", "1")]), Some(u64::MAX as f64));
        assert_eq!(
            out.value(CSROW_UE, &[("controller", "1"), ("csrow", "unknown")]),
            Some(2.0)
        );
        assert_eq!(
            out.value(CSROW_CE, &[("controller", "0"), ("csrow", "0")]),
            Some(2.0)
        );
        assert_eq!(
            out.value(CSROW_UE, &[("controller", "0"), ("csrow", "1")]),
            Some(0.0)
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
