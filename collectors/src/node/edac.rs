//! `edac`: memory controller error counters from `/sys/devices/system/edac/mc/mc*`
//! (Documentation/admin-guide/ras.rst): node_edac_{correctable,uncorrectable}_errors_total{controller} and
//! node_edac_csrow_{correctable,uncorrectable}_errors_total{controller,csrow}, where the errors the driver
//! could not attribute to a csrow (`*_noinfo_count`) go to `csrow="unknown"`.

use std::path::Path;

use crate::{CollectError, MetricSet, Roots};

use crate::read::{glob_numbered, read_u64};

/// The leading digits after `prefix` in a directory name (`mc0` → `0`), as node_exporter's regex takes them.
fn number<'a>(name: &'a str, prefix: &str) -> &'a str {
    let rest = &name[prefix.len()..];
    let end = rest.bytes().take_while(u8::is_ascii_digit).count();
    &rest[..end]
}

/// One csrow's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrow {
    pub csrow: String,
    pub ce: u64,
    pub ue: u64,
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
                ce: read_u64(r.join("ce_count"))?,
                ue: read_u64(r.join("ue_count"))?,
            });
        }
        out.push(Controller {
            controller: number(name, "mc").to_string(),
            ce: read_u64(mc.join("ce_count"))?,
            ce_noinfo: read_u64(mc.join("ce_noinfo_count"))?,
            ue: read_u64(mc.join("ue_count"))?,
            ue_noinfo: read_u64(mc.join("ue_noinfo_count"))?,
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
            let labels = [("controller", ctl), ("csrow", r.csrow.as_str())];
            out.counter(CSROW_CE, CSROW_CE_HELP, &labels, r.ce as f64);
            out.counter(CSROW_UE, CSROW_UE_HELP, &labels, r.ue as f64);
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
                    ue: 1
                },
                Csrow {
                    csrow: "1".into(),
                    ce: 1,
                    ue: 0
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
    }
}
