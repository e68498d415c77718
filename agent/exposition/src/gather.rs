//! The gather step: the outputs of many collectors become one exposition, as client_golang's
//! `Registry.Gather` makes one (`prometheus/registry.go`, `internal/metric.go`):
//! - label pairs sorted by name within each sample, samples sorted by their label values (fewer labels
//!   first), families sorted by name;
//! - a sample whose name and label set were already collected is dropped (the first one, in collector order,
//!   is kept); Prometheus would otherwise reject the scrape's repeats and count it as partly broken;
//! - a family whose type or help differs from an earlier family of the same name, whose name collides with
//!   a summary's or histogram's `_sum`/`_count`/`_bucket` series, or that has invalid or repeated label names
//!   is dropped whole.
//!
//! What is dropped is reported per collector, so the agent can count and log it.

use std::collections::HashMap;

use crate::model::{Family, Kind, MetricSet, Sample};

/// Why samples were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The same name and label set was collected before (by this or an earlier collector).
    Duplicate,
    /// The family contradicts an earlier one (type, help, a summary's or histogram's series) or is invalid.
    Inconsistent(String),
}

/// Samples one collector lost in the gather step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub collector: String,
    pub family: String,
    pub reason: DropReason,
    pub samples: usize,
}

/// One exposition: families sorted and checked, and what was dropped.
#[derive(Debug, Default)]
pub struct Gathered {
    pub families: Vec<Family>,
    pub dropped: Vec<Dropped>,
}

impl Gathered {
    /// Samples dropped for `collector`, all reasons together.
    pub fn dropped_for(&self, collector: &str) -> usize {
        self.dropped
            .iter()
            .filter(|d| d.collector == collector)
            .map(|d| d.samples)
            .sum()
    }
}

fn valid_metric_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

fn valid_label_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !n.starts_with("__")
}

/// Why a family cannot be served as it is, if it cannot.
fn invalid(f: &Family) -> Option<String> {
    if !valid_metric_name(&f.name) {
        return Some(format!("{:?} is not a valid metric name", f.name));
    }
    let reserved = match f.kind {
        Kind::Histogram => Some("le"),
        Kind::Summary => Some("quantile"),
        _ => None,
    };
    for s in &f.samples {
        for (i, (k, _)) in s.labels.iter().enumerate() {
            if !valid_label_name(k) {
                return Some(format!("{k:?} is not a valid label name"));
            }
            if Some(k.as_str()) == reserved {
                return Some(format!("label {k:?} is reserved in a {}", f.kind.as_str()));
            }
            if s.labels[..i].iter().any(|(o, _)| o == k) {
                return Some(format!("label {k:?} is given twice"));
            }
        }
    }
    None
}

/// client_golang's `MetricSorter`: by label count, then label values in (name-sorted) order; label names
/// break the remaining ties so that equal label sets are adjacent.
fn cmp_labels(a: &[(String, String)], b: &[(String, String)]) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().map(|(_, v)| v).cmp(b.iter().map(|(_, v)| v)))
        .then_with(|| a.iter().map(|(k, _)| k).cmp(b.iter().map(|(k, _)| k)))
}

struct Entry {
    family: Family,
    /// The collector of each sample, by index into the sources.
    from: Vec<usize>,
}

/// Merge the output of `sources` (collector name, its metrics), in this order, into one checked, sorted
/// exposition.
pub fn gather(sources: Vec<(String, MetricSet)>) -> Gathered {
    let mut names: Vec<String> = Vec::with_capacity(sources.len());
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut dropped: Vec<Dropped> = Vec::new();
    for (src, (collector, set)) in sources.into_iter().enumerate() {
        names.push(collector);
        for mut fam in set.into_families() {
            if fam.samples.is_empty() {
                continue;
            }
            let reject = |why: String| Dropped {
                collector: names[src].clone(),
                family: fam.name.clone(),
                reason: DropReason::Inconsistent(why),
                samples: fam.samples.len(),
            };
            if let Some(why) = invalid(&fam) {
                dropped.push(reject(why));
                continue;
            }
            if let Some(&i) = index.get(&fam.name) {
                let have = &entries[i].family;
                if have.kind != fam.kind {
                    dropped.push(reject(format!(
                        "is a {} but {} collected it as a {} before",
                        fam.kind.as_str(),
                        names[entries[i].from[0]],
                        have.kind.as_str()
                    )));
                    continue;
                }
                if have.help != fam.help {
                    dropped.push(reject(format!(
                        "has help {:?} but {} collected it with help {:?} before",
                        fam.help, names[entries[i].from[0]], have.help
                    )));
                    continue;
                }
            } else if let Some(why) = suffix_collision(&fam, &index, &entries) {
                dropped.push(reject(why));
                continue;
            }
            for s in &mut fam.samples {
                s.labels.sort_by(|a, b| a.0.cmp(&b.0));
            }
            match index.get(&fam.name) {
                Some(&i) => {
                    let e = &mut entries[i];
                    e.from.extend(std::iter::repeat_n(src, fam.samples.len()));
                    e.family.samples.append(&mut fam.samples);
                }
                None => {
                    index.insert(fam.name.clone(), entries.len());
                    let from = vec![src; fam.samples.len()];
                    entries.push(Entry { family: fam, from });
                }
            }
        }
    }
    let mut families = Vec::with_capacity(entries.len());
    for Entry { mut family, from } in entries {
        let mut tagged: Vec<(Sample, usize)> = family.samples.drain(..).zip(from).collect();
        // Stable: among equal label sets the first collected stays first, and is the one kept.
        tagged.sort_by(|a, b| cmp_labels(&a.0.labels, &b.0.labels));
        let mut kept: Vec<Sample> = Vec::with_capacity(tagged.len());
        for (s, src) in tagged {
            if kept.last().is_some_and(|k| k.labels == s.labels) {
                match dropped.iter_mut().find(|d| {
                    d.collector == names[src]
                        && d.family == family.name
                        && d.reason == DropReason::Duplicate
                }) {
                    Some(d) => d.samples += 1,
                    None => dropped.push(Dropped {
                        collector: names[src].clone(),
                        family: family.name.clone(),
                        reason: DropReason::Duplicate,
                        samples: 1,
                    }),
                }
                continue;
            }
            kept.push(s);
        }
        family.samples = kept;
        families.push(family);
    }
    families.sort_by(|a, b| a.name.cmp(&b.name));
    Gathered { families, dropped }
}

/// client_golang's `checkSuffixCollisions`: a summary or histogram owns its `_sum`, `_count` (and `_bucket`)
/// names; another family may not use them, nor may a summary or histogram be named after another's series.
fn suffix_collision(
    fam: &Family,
    index: &HashMap<String, usize>,
    entries: &[Entry],
) -> Option<String> {
    let kind_of = |n: &str| index.get(n).map(|&i| entries[i].family.kind);
    for (suffix, owners) in [
        ("_count", &[Kind::Summary, Kind::Histogram][..]),
        ("_sum", &[Kind::Summary, Kind::Histogram][..]),
        ("_bucket", &[Kind::Histogram][..]),
    ] {
        if let Some(base) = fam.name.strip_suffix(suffix) {
            if let Some(k) = kind_of(base).filter(|k| owners.contains(k)) {
                return Some(format!(
                    "collides with the {} {base:?} collected before",
                    k.as_str()
                ));
            }
        }
        if owners.contains(&fam.kind) && kind_of(&format!("{}{suffix}", fam.name)).is_some() {
            return Some(format!(
                "is a {} whose {}{suffix} series was collected before as a metric of its own",
                fam.kind.as_str(),
                fam.name
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(f: impl FnOnce(&mut MetricSet)) -> MetricSet {
        let mut m = MetricSet::new();
        f(&mut m);
        m
    }

    #[test]
    fn sorts_families_samples_and_labels_as_client_golang() {
        let a = set(|m| {
            m.gauge("z", "Z.", &[], 1.0);
            m.gauge("b", "B.", &[("x", "2"), ("a", "1")], 1.0);
            m.gauge("b", "B.", &[("x", "1"), ("a", "1")], 2.0);
            m.gauge("b", "B.", &[("x", "0")], 3.0);
        });
        let g = gather(vec![("c".into(), a)]);
        let names: Vec<_> = g.families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["b", "z"]);
        let b: Vec<Vec<(String, String)>> = g.families[0]
            .samples
            .iter()
            .map(|s| s.labels.clone())
            .collect();
        let l = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            b,
            vec![
                l(&[("x", "0")]),
                l(&[("a", "1"), ("x", "1")]),
                l(&[("a", "1"), ("x", "2")])
            ]
        );
        assert!(g.dropped.is_empty());
    }

    #[test]
    fn keeps_the_first_of_duplicates_and_names_the_collector() {
        let load = set(|m| m.gauge("node_load1", "1m load average.", &[], 0.5));
        let text = set(|m| {
            m.gauge("node_load1", "1m load average.", &[], 42.0);
            m.gauge("other", "O.", &[("a", "1")], 1.0);
            m.gauge("other", "O.", &[("a", "1")], 2.0);
        });
        let g = gather(vec![("loadavg".into(), load), ("textfile".into(), text)]);
        let load1 = &g.families[0];
        assert_eq!(load1.samples.len(), 1);
        assert_eq!(load1.samples[0].value, crate::Value::Scalar(0.5));
        let other = &g.families[1];
        assert_eq!(other.samples[0].value, crate::Value::Scalar(1.0));
        assert_eq!(g.dropped_for("textfile"), 2);
        assert_eq!(g.dropped_for("loadavg"), 0);
        assert!(g
            .dropped
            .iter()
            .all(|d| d.reason == DropReason::Duplicate && d.collector == "textfile"));
    }

    #[test]
    fn drops_families_that_contradict_earlier_ones() {
        let a = set(|m| {
            m.gauge("g", "G.", &[], 1.0);
            let s = crate::Value::Summary {
                quantiles: vec![(0.5, 1.0)],
                sum: 2.0,
                count: 3,
            };
            m.push("s", "S.", Kind::Summary, vec![], s);
        });
        let b = set(|m| {
            m.counter("g", "G.", &[("x", "1")], 1.0);
            m.gauge("s_count", "Clash.", &[], 1.0);
            m.gauge("h", "H one.", &[], 1.0);
        });
        let c = set(|m| {
            m.gauge("h", "H two.", &[("y", "1")], 1.0);
            m.gauge("bad", "Bad.", &[("le-x", "1")], 1.0);
            m.gauge("twice", "T.", &[("a", "1"), ("a", "2")], 1.0);
        });
        let g = gather(vec![("a".into(), a), ("b".into(), b), ("c".into(), c)]);
        let names: Vec<_> = g.families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["g", "h", "s"]);
        assert_eq!(g.dropped_for("b"), 2);
        assert_eq!(g.dropped_for("c"), 3);
        for d in &g.dropped {
            assert!(matches!(d.reason, DropReason::Inconsistent(_)), "{d:?}");
        }
    }
}
