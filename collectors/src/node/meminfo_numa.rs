//! `meminfo_numa` (off by default, as in node_exporter): node_memory_numa_<field>{node} gauges from each
//! NUMA node's `/sys/devices/system/node/node<N>/meminfo` and node_memory_numa_<field>_total{node}
//! counters from its `numastat`.
//!
//! node_exporter's own parser (not procfs'): a meminfo line is `Node <n> <key>: <value> [kB]`, the value
//! a float, `kB` × 1024, no `_bytes` suffix; the `node` label of a meminfo field is the line's `<n>`, that
//! of a numastat field the directory's number. A host without `/sys/devices/system/node` has no nodes:
//! no samples and no error; a node directory without either file is an error.

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::{glob_numbered, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// One sample: metric name after `node_memory_numa_`, type, `node` label, value.
#[derive(Debug, Clone, PartialEq)]
pub struct NumaSample {
    pub name: String,
    pub kind: Kind,
    pub node: String,
    pub value: f64,
}

/// node_exporter's renaming of a meminfo key: the first `(` up to the last `)` after it becomes `_` and
/// what was inside (the greedy `\((.*)\)` → `_${1}`): `Active(anon)` → `Active_anon`.
pub fn rename_key(key: &str) -> String {
    if let Some(open) = key.find('(') {
        if let Some(close) = key.rfind(')').filter(|&c| c > open) {
            return format!(
                "{}_{}{}",
                &key[..open],
                &key[open + 1..close],
                &key[close + 1..]
            );
        }
    }
    key.to_string()
}

fn parse_float(raw: &str, what: &str) -> Result<f64, ParseError> {
    raw.parse()
        .map_err(|_| ParseError::new(format!("invalid value in {what}: {raw:?}")))
}

/// Parse a node's `meminfo` (`Node 0 Active(anon):  1568 kB`) into gauges. Empty lines are skipped; a
/// line of fewer than four fields, which makes node_exporter index out of range, is an error here.
pub fn parse_meminfo_numa(text: &str) -> Result<Vec<NumaSample>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        let Some(raw) = parts.get(3) else {
            return Err(ParseError::new(format!(
                "invalid line in meminfo: {line:?}"
            )));
        };
        let mut value = parse_float(raw, "meminfo")?;
        match parts.len() {
            4 => {}
            5 if parts[4] == "kB" => value *= 1024.0,
            _ => {
                return Err(ParseError::new(format!(
                    "invalid line in meminfo: {:?}",
                    line.trim()
                )))
            }
        }
        out.push(NumaSample {
            name: rename_key(parts[2].trim_end_matches(':')),
            kind: Kind::Gauge,
            node: parts[1].to_string(),
            value,
        });
    }
    Ok(out)
}

/// Parse a node's `numastat` (`numa_hit 193460335812`) into `<key>_total` counters of node `node`.
pub fn parse_numastat(text: &str, node: &str) -> Result<Vec<NumaSample>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [] => continue,
            [key, raw] => out.push(NumaSample {
                name: format!("{key}_total"),
                kind: Kind::Counter,
                node: node.to_string(),
                value: parse_float(raw, "numastat")?,
            }),
            _ => {
                return Err(ParseError::new(format!(
                    "line scan did not return 2 fields: {:?}",
                    line.trim()
                )))
            }
        }
    }
    Ok(out)
}

/// The `meminfo_numa` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("devices/system/node");
    for name in glob_numbered(&dir, "node")? {
        let node_dir = dir.join(&name);
        let path = node_dir.join("meminfo");
        let mut samples = parse_meminfo_numa(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        let path = node_dir.join("numastat");
        let text = read_to_string(&path)?;
        // node_exporter's `node([0-9]*)` on the directory: the digits after `node` (the glob
        // `node[0-9]*` guarantees at least one).
        let number: String = name["node".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        samples.extend(parse_numastat(&text, &number).map_err(|e| e.at(&path))?);
        for s in samples {
            out.sample(
                &format!("node_memory_numa_{}", s.name),
                &format!("Memory information field {}.", s.name),
                s.kind,
                vec![("node".to_string(), s.node)],
                s.value,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    const NODE0: &str = include_str!("../../tests/fixtures/sys/devices/system/node/node0/meminfo");

    #[test]
    fn renames_like_node_exporter() {
        assert_eq!(rename_key("Active(anon)"), "Active_anon");
        assert_eq!(rename_key("MemTotal"), "MemTotal");
        assert_eq!(rename_key("a(b)c(d)"), "a_b)c(d");
        assert_eq!(rename_key("a)b(c"), "a)b(c");
    }

    #[test]
    fn parses_meminfo_fixture() {
        let m = parse_meminfo_numa(NODE0).unwrap();
        let get = |k: &str| m.iter().find(|s| s.name == k).cloned();
        let total = get("MemTotal").unwrap();
        assert_eq!(total.value, 4026532.0 * 1024.0);
        assert_eq!((total.node.as_str(), total.kind), ("0", Kind::Gauge));
        assert_eq!(get("Active_anon").unwrap().value, 212344.0 * 1024.0);
        assert_eq!(get("HugePages_Total").unwrap().value, 8.0);
        assert_eq!(m.len(), 12);
    }

    #[test]
    fn parses_numastat() {
        let s = parse_numastat("numa_hit 12\n\n  other_node 1.5e3  \n", "3").unwrap();
        assert_eq!(
            s,
            [
                NumaSample {
                    name: "numa_hit_total".into(),
                    kind: Kind::Counter,
                    node: "3".into(),
                    value: 12.0
                },
                NumaSample {
                    name: "other_node_total".into(),
                    kind: Kind::Counter,
                    node: "3".into(),
                    value: 1500.0
                },
            ]
        );
        assert!(parse_numastat("numa_hit\n", "0").is_err());
        assert!(parse_numastat("numa_hit 1 2\n", "0").is_err());
        assert!(parse_numastat("numa_hit x\n", "0").is_err());
    }

    #[test]
    fn rejects_bad_meminfo_lines() {
        assert_rejects(
            parse_meminfo_numa,
            &[
                "Node 0 MemTotal:\n",
                "Node 0 MemTotal: x kB\n",
                "Node 0 MemTotal: 1 MB\n",
                "Node 0 MemTotal: 1 kB x\n",
            ],
        );
        assert!(parse_meminfo_numa("\n  \nNode 0 HugePages_Free: 0\n").is_ok());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "meminfo_numa",
            &[
                (
                    "node_memory_numa_MemFree",
                    &[("node", "0")],
                    1785412.0 * 1024.0,
                ),
                (
                    "node_memory_numa_MemFree",
                    &[("node", "1")],
                    3902880.0 * 1024.0,
                ),
                (
                    "node_memory_numa_numa_hit_total",
                    &[("node", "0")],
                    77066473.0,
                ),
                (
                    "node_memory_numa_local_node_total",
                    &[("node", "1")],
                    41532711.0,
                ),
            ],
        );
        let f = out.get("node_memory_numa_interleave_hit_total").unwrap();
        assert_eq!(f.kind, Kind::Counter);
        assert_eq!(f.help, "Memory information field interleave_hit_total.");
        let f = out.get("node_memory_numa_Active_file").unwrap();
        assert_eq!(f.kind, Kind::Gauge);
        assert_eq!(f.help, "Memory information field Active_file.");
        assert_eq!(out.families().len(), 12 + 6);
    }

    #[test]
    fn no_numa_directory_is_no_samples() {
        let out =
            collect_with("meminfo_numa", &fixture_config_with("proc", "nonexistent")).unwrap();
        assert!(out.is_empty());
    }
}
