//! The metric model collectors write into: families of samples, as client_golang's `dto.MetricFamily`.
//!
//! Names are full exposition names (`node_cpu_seconds_total`, `container_memory_failcnt`), exactly as the
//! upstream exporters print them: a counter's name need not end in `_total` (cAdvisor's do not always).

use std::collections::HashMap;

/// The Prometheus type of a family: the five types of the classic text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    /// `untyped` in the text format, as node_exporter's netstat, vmstat and snmp values are.
    Untyped,
    Histogram,
    Summary,
}

impl Kind {
    /// The word of `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// A sample's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter, gauge or untyped value.
    Scalar(f64),
    /// A histogram: `buckets` are `(upper bound, cumulative count)` in increasing bound order. A `+Inf`
    /// bucket may be the last one; without it the encoder writes `le="+Inf"` equal to `count`, as
    /// client_golang does.
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    },
    /// A summary: `quantiles` are `(quantile, value)` in increasing quantile order.
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: f64,
        count: u64,
    },
}

/// One series: label pairs (in the order given) and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: Value,
}

/// A metric family: one name, one help text, one type, many samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// The output of one or more collectors: families in insertion order, samples grouped by family name.
#[derive(Debug, Default, Clone)]
pub struct MetricSet {
    families: Vec<Family>,
    index: HashMap<String, usize>,
}

fn owned_labels(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

impl MetricSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The family named `name`, created with `help` and `kind` on first use.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) -> &mut Family {
        let idx = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.families.push(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    samples: Vec::new(),
                });
                self.index.insert(name.to_string(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        &mut self.families[idx]
    }

    /// Add one sample of any type to the family `name` (created with `help` and `kind` on first use).
    pub fn push(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: Vec<(String, String)>,
        value: Value,
    ) {
        self.family(name, help, kind)
            .samples
            .push(Sample { labels, value });
    }

    /// Add a counter sample, named as the upstream exporter names it (usually, not always, `…_total`).
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, help, Kind::Counter, owned_labels(labels), value);
    }

    /// Add a gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, help, Kind::Gauge, owned_labels(labels), value);
    }

    /// Add an untyped sample.
    pub fn untyped(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, help, Kind::Untyped, owned_labels(labels), value);
    }

    /// Add a sample of the given kind with owned labels (for labels built at run time).
    pub fn sample(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: Vec<(String, String)>,
        value: f64,
    ) {
        self.push(name, help, kind, labels, Value::Scalar(value));
    }

    /// Add a histogram sample; `buckets` are per-bucket (not cumulative) `(upper bound, count)` pairs without
    /// `+Inf`, as eBPF maps hold them.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: Vec<(String, String)>,
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    ) {
        let mut acc = 0u64;
        let buckets = buckets
            .into_iter()
            .map(|(le, n)| {
                acc = acc.saturating_add(n);
                (le, acc)
            })
            .collect();
        let value = Value::Histogram {
            buckets,
            sum,
            count,
        };
        self.push(name, help, Kind::Histogram, labels, value);
    }

    /// Move every family of `other` into `self`, merging families of the same name (within one collector;
    /// merging the output of several collectors, with client_golang's checks, is [`crate::gather`]'s job).
    pub fn extend(&mut self, other: MetricSet) {
        for fam in other.families {
            match self.index.get(&fam.name) {
                Some(&i) => self.families[i].samples.extend(fam.samples),
                None => {
                    self.index.insert(fam.name.clone(), self.families.len());
                    self.families.push(fam);
                }
            }
        }
    }

    /// A set holding `families` (names assumed distinct, as [`crate::gather`] leaves them).
    pub fn from_families(families: Vec<Family>) -> Self {
        let index = families
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        MetricSet { families, index }
    }

    pub fn families(&self) -> &[Family] {
        &self.families
    }

    pub fn into_families(self) -> Vec<Family> {
        self.families
    }

    pub fn get(&self, name: &str) -> Option<&Family> {
        self.index.get(name).map(|&i| &self.families[i])
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// The value of the first sample of `name` whose labels include all of `labels` (for tests).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.get(name)?.samples.iter().find_map(|s| {
            let all = labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v));
            match (&s.value, all) {
                (Value::Scalar(x), true) => Some(*x),
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_group_samples_in_insertion_order() {
        let mut m = MetricSet::new();
        m.gauge("a", "A.", &[("x", "1")], 1.0);
        m.counter("b_total", "B.", &[], 2.0);
        m.gauge("a", "A.", &[("x", "2")], 3.0);
        let names: Vec<_> = m.families().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b_total"]);
        assert_eq!(m.get("a").map(|f| f.samples.len()), Some(2));
        assert_eq!(m.value("a", &[("x", "2")]), Some(3.0));
    }

    #[test]
    fn extend_merges_families_by_name() {
        let mut a = MetricSet::new();
        a.gauge("g", "G.", &[("k", "1")], 1.0);
        let mut b = MetricSet::new();
        b.gauge("g", "G.", &[("k", "2")], 2.0);
        b.gauge("h", "H.", &[], 3.0);
        a.extend(b);
        assert_eq!(a.families().len(), 2);
        assert_eq!(a.get("g").map(|f| f.samples.len()), Some(2));
    }
}
