//! `vmstat`: node_vmstat_<field> (untyped) for the `/proc/vmstat` fields matching `--collector.vmstat.fields`
//! (node_exporter 1.12.1's default `^(oom_kill|pgpg|pswp|pg.*fault).*`, unchanged since 1.0).

use std::sync::Arc;

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// Parse `/proc/vmstat` (`name value` lines) and keep the fields whose name `filter` matches.
pub fn parse_vmstat<'a>(text: &'a str, filter: &Regex) -> Result<Vec<(&'a str, f64)>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(name) = parts.next() else { continue };
        let raw = parts
            .next()
            .ok_or_else(|| ParseError::new(format!("invalid line in vmstat: {line:?}")))?;
        // node_exporter parses every value, matching or not.
        let v: f64 = raw
            .parse()
            .map_err(|_| ParseError::new(format!("{name}: not a number: {raw:?}")))?;
        if filter.is_match(name) {
            out.push((name, v));
        }
    }
    Ok(out)
}

pub struct Vmstat {
    roots: Arc<Roots>,
    filter: Regex,
}

/// The vmstat collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of fields to return for vmstat collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.vmstat.fields",
        long = "collector.vmstat.fields",
        default_value = "^(oom_kill|pgpg|pswp|pg.*fault).*"
    )]
    pub fields: String,
}

impl NodeCollector for Vmstat {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let filter = super::flag_regex("collector.vmstat.fields", &cfg.vmstat.fields)?;
        Ok(Vmstat {
            roots: cfg.roots.clone(),
            filter,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("vmstat");
        let text = read_to_string(&path)?;
        for (name, v) in parse_vmstat(&text, &self.filter).map_err(|e| e.at(&path))? {
            out.untyped(
                &format!("node_vmstat_{name}"),
                &format!("/proc/vmstat information field {name}."),
                &[],
                v,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;
    use crate::node::testutil::collect_fixture;

    fn default_filter() -> Regex {
        Regex::new(&NodeConfig::default().vmstat.fields).unwrap()
    }

    #[test]
    fn parses_fixture_with_default_fields() {
        let text = include_str!("../../tests/fixtures/proc/vmstat");
        let v = parse_vmstat(text, &default_filter()).unwrap();
        let names: Vec<&str> = v.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "pgpgin",
                "pgpgout",
                "pswpin",
                "pswpout",
                "pgfault",
                "pgmajfault",
                "oom_kill"
            ]
        );
    }

    #[test]
    fn huge_values_and_garbage() {
        let f = default_filter();
        let v = parse_vmstat("pgfault 18446744073709551615\nnr_free_pages 3\n", &f).unwrap();
        assert_eq!(v, [("pgfault", 18446744073709551615.0)]);
        assert!(parse_vmstat("nr_free_pages x\n", &f).is_err());
        assert!(parse_vmstat("pgfault\n", &f).is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("vmstat");
        assert_eq!(out.value("node_vmstat_pswpin", &[]), Some(0.0));
        assert!(out.value("node_vmstat_pgfault", &[]).unwrap() > 0.0);
        assert!(out.get("node_vmstat_nr_free_pages").is_none());
        assert_eq!(out.get("node_vmstat_oom_kill").unwrap().kind, Kind::Untyped);
    }
}
