//! `watchdog`: node_watchdog_* from `/sys/class/watchdog/<name>/*`, as node_exporter 1.12.1
//! (`collector/watchdog.go`; procfs' `sysfs.WatchdogClass`).
//!
//! Each numeric attribute a device has is one gauge `{name}`; `node_watchdog_info` carries the text
//! attributes as labels (empty when absent). As procfs, only a missing attribute is skipped: any other
//! read failure, or a number that does not parse, fails the whole class. node_exporter reports "no data"
//! when that failure (or listing the class directory) is "does not exist" or "permission denied", so do we
//! ([`CollectError::NoData`]); anything else is an error.

use std::io;
use std::path::Path;

use crate::error::ParseError;
use crate::read::{parse_go_int, read_dir_sorted, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

/// The attributes procfs reads, in its order.
const ATTRIBUTES: [&str; 12] = [
    "bootstatus",
    "options",
    "fw_version",
    "identity",
    "nowayout",
    "state",
    "status",
    "timeleft",
    "timeout",
    "pretimeout",
    "pretimeout_governor",
    "access_cs0",
];

/// The numeric attributes and their metric names (HELP: `Value of /sys/class/watchdog/<watchdog>/<attribute>`).
const GAUGES: [(&str, &str); 7] = [
    ("bootstatus", "node_watchdog_bootstatus"),
    ("fw_version", "node_watchdog_fw_version"),
    ("nowayout", "node_watchdog_nowayout"),
    ("timeleft", "node_watchdog_timeleft_seconds"),
    ("timeout", "node_watchdog_timeout_seconds"),
    ("pretimeout", "node_watchdog_pretimeout_seconds"),
    ("access_cs0", "node_watchdog_access_cs0"),
];

/// The text attributes, in the order of `node_watchdog_info`'s labels after `name`.
const INFO_LABELS: [&str; 5] = [
    "options",
    "identity",
    "state",
    "status",
    "pretimeout_governor",
];

/// One watchdog device: the attributes it has, as read (trimmed).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Watchdog {
    pub name: String,
    pub attributes: Vec<(&'static str, String)>,
}

impl Watchdog {
    fn get(&self, attr: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(a, _)| *a == attr)
            .map(|(_, v)| v.as_str())
    }

    /// The numeric attributes it has: (metric name, HELP, value). A value that is not a Go integer literal
    /// (`ParseInt(s, 0, 64)`) is an error, as procfs' `ValueParser`.
    pub fn gauges(&self) -> Result<Vec<(&'static str, String, f64)>, ParseError> {
        let mut out = Vec::new();
        for (attr, name) in GAUGES {
            if let Some(v) = self.get(attr) {
                let n = parse_go_int(v)
                    .map_err(|e| ParseError::new(format!("watchdog {}: {attr}: {e}", self.name)))?;
                let help = format!("Value of /sys/class/watchdog/<watchdog>/{attr}");
                out.push((name, help, n as f64));
            }
        }
        Ok(out)
    }

    /// The labels of `node_watchdog_info`: `name` and each text attribute, `""` when absent.
    pub fn info_labels(&self) -> Vec<(String, String)> {
        let mut labels = vec![("name".to_string(), self.name.clone())];
        for attr in INFO_LABELS {
            labels.push((attr.to_string(), self.get(attr).unwrap_or("").to_string()));
        }
        labels
    }
}

/// A failure node_exporter counts as "no data": `os.ErrNotExist` or `os.ErrPermission`.
fn no_data_or_error(path: &Path, e: io::Error) -> CollectError {
    let missing = e.kind() == io::ErrorKind::NotFound
        || matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM));
    if missing {
        CollectError::NoData(format!(
            "could not read watchdog stats: {}: {e}",
            path.display()
        ))
    } else {
        CollectError::io(path, e)
    }
}

/// Read one device's attributes: a missing one is skipped, any other failure is returned.
fn read_watchdog(dir: &Path, name: &str) -> Result<Watchdog, CollectError> {
    let mut wd = Watchdog {
        name: name.to_string(),
        attributes: Vec::new(),
    };
    for attr in ATTRIBUTES {
        let path = dir.join(attr);
        match sys_read_file(&path) {
            Ok(v) => wd.attributes.push((attr, v)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(no_data_or_error(&path, e)),
        }
    }
    Ok(wd)
}

/// The `watchdog` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let class = roots.sys("class/watchdog");
    let entries = read_dir_sorted(&class).map_err(|e| no_data_or_error(&class, e))?;
    // procfs reads every device before node_exporter exports any.
    let mut devices = Vec::with_capacity(entries.len());
    for e in entries {
        let wd = read_watchdog(&class.join(&e.name), &e.name)?;
        let gauges = wd.gauges().map_err(|err| err.at(class.join(&e.name)))?;
        devices.push((wd, gauges));
    }
    for (wd, gauges) in devices {
        for (name, help, v) in gauges {
            out.gauge(name, &help, &[("name", &wd.name)], v);
        }
        out.push(
            "node_watchdog_info",
            "Info of /sys/class/watchdog/<watchdog>",
            crate::Kind::Gauge,
            wd.info_labels(),
            crate::Value::Scalar(1.0),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with};

    #[test]
    fn gauges_parse_as_go_integers() {
        let wd = Watchdog {
            name: "w".into(),
            attributes: vec![("bootstatus", "0x20".into()), ("timeout", "-1".into())],
        };
        let g = wd.gauges().unwrap();
        assert_eq!(
            g[0],
            (
                "node_watchdog_bootstatus",
                "Value of /sys/class/watchdog/<watchdog>/bootstatus".to_string(),
                32.0
            )
        );
        assert_eq!(g[1].2, -1.0);
        let bad = Watchdog {
            name: "w".into(),
            attributes: vec![("timeleft", "soon".into())],
        };
        assert!(bad.gauges().is_err());
        let labels = bad.info_labels();
        assert_eq!(labels.len(), 6);
        assert!(labels[1..].iter().all(|(_, v)| v.is_empty()));
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "watchdog",
            &[
                (
                    "node_watchdog_timeout_seconds",
                    &[("name", "watchdog0")],
                    30.0,
                ),
                (
                    "node_watchdog_timeleft_seconds",
                    &[("name", "watchdog0")],
                    12.0,
                ),
                ("node_watchdog_bootstatus", &[("name", "watchdog0")], 0.0),
                (
                    "node_watchdog_info",
                    &[
                        ("name", "watchdog0"),
                        ("identity", "iTCO_wdt"),
                        ("options", "0x8100"),
                        ("state", "inactive"),
                        ("status", ""),
                        ("pretimeout_governor", ""),
                    ],
                    1.0,
                ),
                (
                    "node_watchdog_info",
                    &[("name", "watchdog1"), ("identity", "")],
                    1.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_watchdog_timeout_seconds")
                .unwrap()
                .samples
                .len(),
            1
        );
        assert!(out.get("node_watchdog_access_cs0").is_none());
    }

    #[test]
    fn missing_class_is_no_data() {
        let e = collect_with("watchdog", &fixture_config_with("proc", "missing")).unwrap_err();
        assert!(matches!(e, CollectError::NoData(_)), "{e}");
    }
}
