//! `meminfo`: one node_memory_* gauge per line of `/proc/meminfo`.
//!
//! node_exporter's renaming: the trailing `:` goes, a parenthesised part becomes `_part`
//! (`Active(anon)` → `Active_anon`), a line with a unit (always `kB`) is multiplied by 1024 and gets `_bytes`
//! (`node_memory_Active_anon_bytes`), a line without a unit keeps its name (`node_memory_HugePages_Total`).

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// Turn a meminfo key (without `:`) into node_exporter's name part: the first `(` up to the last `)` after it
/// is replaced by `_` and what was inside (node_exporter's greedy `\((.*)\)` → `_${1}`).
pub fn rename_key(key: &str) -> String {
    if let Some(open) = key.find('(') {
        if let Some(close) = key.rfind(')').filter(|&c| c > open) {
            let mut s = String::with_capacity(key.len());
            s.push_str(&key[..open]);
            s.push('_');
            s.push_str(&key[open + 1..close]);
            s.push_str(&key[close + 1..]);
            return s;
        }
    }
    key.to_string()
}

/// Parse `/proc/meminfo` into `(metric name suffix, value)` pairs in file order: `("Active_anon_bytes",
/// 1585152.0)`. A key that appears twice keeps the last value (node_exporter uses a map).
pub fn parse_meminfo(text: &str) -> Result<Vec<(String, f64)>, ParseError> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(key) = parts.next() else {
            // Empty lines occur on some CentOS 6 kernels.
            continue;
        };
        let raw = parts
            .next()
            .ok_or_else(|| ParseError::new(format!("invalid line in meminfo: {line:?}")))?;
        let mut v: f64 = raw
            .parse()
            .map_err(|_| ParseError::new(format!("invalid value in meminfo: {raw:?}")))?;
        // node_exporter drops the last character of the key, which is the `:`.
        let key = match key.char_indices().last() {
            Some((i, _)) => &key[..i],
            None => key,
        };
        let mut name = rename_key(key);
        match (parts.next(), parts.next()) {
            (None, _) => {}
            // Has a unit: always kB.
            (Some(_), None) => {
                v *= 1024.0;
                name.push_str("_bytes");
            }
            _ => {
                return Err(ParseError::new(format!(
                    "invalid line in meminfo: {line:?}"
                )))
            }
        }
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => out.push((name, v)),
        }
    }
    Ok(out)
}

/// The `meminfo` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("meminfo");
    let fields = parse_meminfo(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for (k, v) in fields {
        // node_exporter types a field ending in `_total` as a counter (none does on Linux today).
        let kind = if k.ends_with("_total") {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        out.sample(
            &format!("node_memory_{k}"),
            &format!("Memory information field {k}."),
            kind,
            Vec::new(),
            v,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects};

    #[test]
    fn renames_like_node_exporter() {
        assert_eq!(rename_key("Active(anon)"), "Active_anon");
        assert_eq!(rename_key("Inactive(file)"), "Inactive_file");
        assert_eq!(rename_key("MemTotal"), "MemTotal");
        assert_eq!(rename_key("a(b)c(d)"), "a_b)c(d");
    }

    #[test]
    fn parses_fixture() {
        let m = parse_meminfo(include_str!("../../tests/fixtures/proc/meminfo")).unwrap();
        let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        assert_eq!(get("MemTotal_bytes"), Some(24683656.0 * 1024.0));
        assert_eq!(get("Active_anon_bytes"), Some(1568.0 * 1024.0));
        assert_eq!(get("HugePages_Total"), Some(0.0));
        assert_eq!(get("VmallocTotal_bytes"), Some(34359738367.0 * 1024.0));
        assert_eq!(m.len(), 54);
    }

    #[test]
    fn edge_cases() {
        // Empty line (CentOS 6), a duplicate key, an old kernel's short file.
        let m = parse_meminfo("MemTotal: 1 kB\n\nHugePages_Free: 3\nMemTotal: 2 kB\n").unwrap();
        assert_eq!(
            m,
            [
                ("MemTotal_bytes".to_string(), 2048.0),
                ("HugePages_Free".to_string(), 3.0)
            ]
        );
        assert_rejects(
            parse_meminfo,
            &["MemTotal:\n", "MemTotal: x kB\n", "MemTotal: 1 kB extra\n"],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "meminfo",
            &[
                ("node_memory_Inactive_file_bytes", &[], 850756.0 * 1024.0),
                ("node_memory_HugePages_Rsvd", &[], 0.0),
            ],
        );
        let f = out.get("node_memory_MemFree_bytes").unwrap();
        assert_eq!(f.kind, Kind::Gauge);
        assert_eq!(f.help, "Memory information field MemFree_bytes.");
    }
}
