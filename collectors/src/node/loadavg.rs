//! `loadavg`: node_load1, node_load5, node_load15 from `/proc/loadavg`.
//!
//! Our parser, not procfs-core's `LoadAverage`: it parses the averages as `f32`, so `0.09` would be served
//! as `0.09000000357627869`; node_exporter parses them as float64.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

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

/// The `loadavg` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("loadavg");
    let l = parse_loadavg(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    out.gauge("node_load1", "1m load average.", &[], l.one);
    out.gauge("node_load5", "5m load average.", &[], l.five);
    out.gauge("node_load15", "15m load average.", &[], l.fifteen);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, collect_fixture};

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
        assert_rejects(parse_loadavg, &["", "0.1 x 0.3"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("loadavg");
        assert_eq!(out.value("node_load15", &[]), Some(0.03));
    }
}
