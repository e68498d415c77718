//! `cgroups` (off by default, as in node_exporter): node_cgroups_cgroups{subsys_name} and
//! node_cgroups_enabled{subsys_name} from the controller summary `/proc/cgroups`, as prometheus/procfs'
//! `CgroupSummarys` reads it.
//!
//! Both gauges carry node_exporter's help text, the same for the two ("Current cgroup number of the
//! subsystem."). A missing file is an error, as in node_exporter.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// One line: `subsys_name hierarchy num_cgroups enabled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupSummary {
    pub subsys_name: String,
    pub hierarchy: i64,
    pub cgroups: i64,
    pub enabled: i64,
}

/// Parse `/proc/cgroups`: lines starting with `#` are comments; every other line (an empty one too)
/// needs at least four fields, the last three Go `Atoi` integers.
pub fn parse_cgroups(text: &str) -> Result<Vec<CgroupSummary>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            return Err(ParseError::new(format!(
                "4+ fields required, found {} fields in cgroup info string: {line:?}",
                f.len()
            )));
        }
        let int = |i: usize, what: &str| {
            f[i].parse::<i64>()
                .map_err(|_| ParseError::new(format!("unable to parse {what} from {:?}", f[i])))
        };
        out.push(CgroupSummary {
            subsys_name: f[0].to_string(),
            hierarchy: int(1, "hierarchy ID")?,
            cgroups: int(2, "cgroup num")?,
            enabled: int(3, "enabled")?,
        });
    }
    Ok(out)
}

const HELP: &str = "Current cgroup number of the subsystem.";

/// The `cgroups` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("cgroups");
    for c in parse_cgroups(&read_to_string(&path)?).map_err(|e| e.at(&path))? {
        let labels = [("subsys_name", c.subsys_name.as_str())];
        out.gauge("node_cgroups_cgroups", HELP, &labels, c.cgroups as f64);
        out.gauge("node_cgroups_enabled", HELP, &labels, c.enabled as f64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/cgroups");

    #[test]
    fn parses_fixture() {
        let c = parse_cgroups(FIXTURE).unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(
            c[0],
            CgroupSummary {
                subsys_name: "cpuset".into(),
                hierarchy: 0,
                cgroups: 97,
                enabled: 1
            }
        );
        assert_eq!((c[4].subsys_name.as_str(), c[4].enabled), ("misc", 0));
    }

    #[test]
    fn rejects_short_and_bad_lines() {
        // Extra fields are allowed; an empty line is not.
        assert_eq!(parse_cgroups("cpu 1 2 3 extra\n").unwrap()[0].enabled, 3);
        assert_rejects(
            parse_cgroups,
            &["cpu 1 2\n", "cpu 1 2 x\n", "cpu x 2 1\n", "cpu 1 2 1\n\n"],
        );
        // Only a `#` in the first column makes a comment.
        assert_eq!(
            parse_cgroups(" #cpu 1 2 1\n").unwrap()[0].subsys_name,
            "#cpu"
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "cgroups",
            &[
                ("node_cgroups_cgroups", &[("subsys_name", "memory")], 112.0),
                ("node_cgroups_enabled", &[("subsys_name", "memory")], 1.0),
                ("node_cgroups_enabled", &[("subsys_name", "misc")], 0.0),
            ],
        );
        assert_eq!(out.get("node_cgroups_enabled").unwrap().help, HELP);
        assert_eq!(out.get("node_cgroups_cgroups").unwrap().samples.len(), 5);
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(collect_with("cgroups", &fixture_config_with("nonexistent", "sys")).is_err());
    }
}
