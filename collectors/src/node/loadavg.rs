//! `loadavg`: node_load1, node_load5, node_load15 from `/proc/loadavg`.

use std::sync::Arc;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, Collector, MetricSet, Roots};

use super::NodeConfig;

/// The three load averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// Parse the contents of `/proc/loadavg` (`0.09 0.08 0.03 2/102 3580`).
pub fn parse_loadavg(text: &str) -> Result<LoadAvg, ParseError> {
    let mut fields = text.split_whitespace();
    let mut next = |what: &str| -> Result<f64, ParseError> {
        let f = fields
            .next()
            .ok_or_else(|| ParseError::new(format!("missing {what}")))?;
        f.parse()
            .map_err(|_| ParseError::new(format!("{what}: not a number: {f:?}")))
    };
    Ok(LoadAvg {
        one: next("load1")?,
        five: next("load5")?,
        fifteen: next("load15")?,
    })
}

pub struct Loadavg {
    roots: Arc<Roots>,
}

pub fn new(cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
    Ok(Box::new(Loadavg {
        roots: cfg.roots.clone(),
    }))
}

impl Collector for Loadavg {
    fn name(&self) -> &'static str {
        "loadavg"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("loadavg");
        let l = parse_loadavg(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        out.gauge("node_load1", "1m load average.", &[], l.one);
        out.gauge("node_load5", "5m load average.", &[], l.five);
        out.gauge("node_load15", "15m load average.", &[], l.fifteen);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::fixture_config;

    #[test]
    fn parses_fixture() {
        let l = parse_loadavg(include_str!("../../tests/fixtures/proc/loadavg")).unwrap();
        assert_eq!(
            l,
            LoadAvg {
                one: 0.09,
                five: 0.08,
                fifteen: 0.03
            }
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_loadavg("").is_err());
        assert!(parse_loadavg("0.1 x 0.3").is_err());
    }

    #[test]
    fn collects_from_fixture_root() {
        let c = new(&fixture_config()).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        assert_eq!(out.value("node_load15", &[]), Some(0.03));
    }
}
