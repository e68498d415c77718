//! `cpu_vulnerabilities`: node_cpu_vulnerabilities_info from `/sys/devices/system/cpu/vulnerabilities/*`,
//! as node_exporter 1.12.1 (procfs 0.21.1 `CPUVulnerabilities`) reads them.
//!
//! One sample per file: `codename` is the file name, `state` one of `not affected`, `vulnerable`,
//! `mitigation`, `unknown` (the file's first word(s), case-insensitively), `mitigation` the words after
//! the first for the last three (the whole text for an unrecognised one, whose state is `unknown`).
//! No such directory (an old kernel): no samples and no error, as node_exporter's glob finds nothing.

use crate::read::{read_dir_sorted, read_file_bytes, to_valid_utf8};
use crate::{CollectError, MetricSet, Roots};

const HELP: &str = "Details of each CPU vulnerability reported by sysfs. The value of the series is an int encoded state of the vulnerability. The same state is stored as a string in the label";

/// One vulnerability file's `state` and `mitigation` labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vulnerability {
    pub state: &'static str,
    pub mitigation: String,
}

/// Parse the contents of one vulnerability file.
pub fn parse_vulnerability(raw: &str) -> Vulnerability {
    let raw = raw.trim();
    let lower = raw.to_lowercase();
    let rest = || raw.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
    let (state, mitigation) = if lower.starts_with("not affected") {
        ("not affected", String::new())
    } else if lower.starts_with("vulnerable") {
        ("vulnerable", rest())
    } else if lower.starts_with("mitigation") {
        ("mitigation", rest())
    } else if lower.starts_with("unknown") {
        ("unknown", rest())
    } else {
        ("unknown", raw.to_string())
    };
    Vulnerability { state, mitigation }
}

/// The `cpu_vulnerabilities` collector (no state, no flags).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("devices/system/cpu/vulnerabilities");
    // Go's filepath.Glob ignores errors reading the directory: no such (or no readable) directory
    // matches nothing.
    let names = read_dir_sorted(&dir).unwrap_or_default();
    for name in names.into_iter().map(|e| e.name) {
        let path = dir.join(&name);
        let raw = read_file_bytes(&path).map_err(|e| CollectError::io(&path, e))?;
        let v = parse_vulnerability(&to_valid_utf8(&raw));
        out.gauge(
            "node_cpu_vulnerabilities_info",
            HELP,
            &[
                ("codename", name.as_str()),
                ("state", v.state),
                ("mitigation", v.mitigation.as_str()),
            ],
            1.0,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config_with};

    fn v(state: &'static str, mitigation: &str) -> Vulnerability {
        Vulnerability {
            state,
            mitigation: mitigation.to_string(),
        }
    }

    #[test]
    fn parses_states() {
        assert_eq!(parse_vulnerability("Not affected\n"), v("not affected", ""));
        assert_eq!(parse_vulnerability("Vulnerable\n"), v("vulnerable", ""));
        assert_eq!(
            parse_vulnerability("Vulnerable: Clear CPU buffers attempted,  no microcode\n"),
            v("vulnerable", "Clear CPU buffers attempted, no microcode")
        );
        assert_eq!(
            parse_vulnerability("Mitigation: PTI\n"),
            v("mitigation", "PTI")
        );
        assert_eq!(
            parse_vulnerability("Unknown: No mitigations\n"),
            v("unknown", "No mitigations")
        );
        assert_eq!(
            parse_vulnerability("Processor vulnerable\n"),
            v("unknown", "Processor vulnerable")
        );
    }

    #[test]
    fn collects_fixture() {
        let out = collect_fixture("cpu_vulnerabilities");
        let n = "node_cpu_vulnerabilities_info";
        assert_eq!(out.get(n).map(|f| f.samples.len()), Some(3));
        assert_eq!(
            out.value(
                n,
                &[
                    ("codename", "meltdown"),
                    ("state", "mitigation"),
                    ("mitigation", "PTI")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(n, &[("codename", "l1tf"), ("state", "not affected")]),
            Some(1.0)
        );
        let out = collect_with(
            "cpu_vulnerabilities",
            &fixture_config_with("proc", "no-such-sys"),
        )
        .unwrap();
        assert!(out.is_empty());
    }
}
