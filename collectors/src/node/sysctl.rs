//! `sysctl`: node_sysctl_* from `/proc/sys/<name with . as />`, the sysctls the flags select, as
//! node_exporter 1.12.1 reads them (procfs' `SysctlInts` / `SysctlStrings`).
//!
//! `--collector.sysctl.include=<name>` exports a numeric sysctl as an untyped `node_sysctl_<name>`; a
//! sysctl of several values gets an `index` label, or, written `<name>:<key1>,<key2>,…`, one metric
//! `node_sysctl_<name>_<key>` per value. `--collector.sysctl.include-info=<name>` exports a sysctl's
//! words as `node_sysctl_info{name,value,index}`. Both flags repeat. A selected sysctl that cannot be
//! read or does not match its flag fails the collector, as in node_exporter.

use std::sync::Arc;

use crate::error::ParseError;
use crate::read::{parse_go_int, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

use super::bcachefs::sanitize_metric_name;
use super::{NodeCollector, NodeConfig};

/// The sysctl collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Select sysctl metrics to include
    #[arg(
        value_name = "NAME[:KEYS]",
        id = "collector.sysctl.include",
        long = "collector.sysctl.include"
    )]
    pub include: Vec<String>,
    /// Select sysctl metrics to include as info metrics
    #[arg(
        value_name = "NAME",
        id = "collector.sysctl.include-info",
        long = "collector.sysctl.include-info"
    )]
    pub include_info: Vec<String>,
}

/// One selected sysctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// Numeric (`include`) or words (`include-info`).
    pub numeric: bool,
    /// The dotted name (`fs.file-nr`).
    pub name: String,
    /// The names of its values, from `name:key1,key2` (empty when not given).
    pub keys: Vec<String>,
}

impl Sysctl {
    /// A flag value: `name` or `name:key1,key2,…`.
    pub fn parse(include: &str, numeric: bool) -> Self {
        let (name, keys) = match include.split_once(':') {
            Some((name, keys)) => (name, keys.split(',').map(str::to_string).collect()),
            None => (include, Vec::new()),
        };
        Sysctl {
            numeric,
            name: name.to_string(),
            keys,
        }
    }
}

/// The words of a sysctl's contents (procfs' `SysctlStrings`).
pub fn sysctl_words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// The values of a numeric sysctl (procfs' `SysctlInts`: each word as Go's `ParseInt(s, 0, 64)`).
pub fn sysctl_ints(name: &str, text: &str) -> Result<Vec<i64>, ParseError> {
    sysctl_words(text)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            parse_go_int(w).map_err(|e| {
                ParseError::new(format!(
                    "field {i} in sysctl {name} is not a valid int: {e}"
                ))
            })
        })
        .collect()
}

/// Append the samples of `s`, whose file holds `text`, as node_exporter's `newMetrics`.
pub fn push_sysctl(s: &Sysctl, text: &str, out: &mut MetricSet) -> Result<(), CollectError> {
    let metric = format!("node_sysctl_{}", sanitize_metric_name(&s.name)?);
    let help = format!("sysctl {}", s.name);
    let err = |msg: String| Err(CollectError::Other(msg));
    let info = |out: &mut MetricSet, i: usize, v: &str| {
        out.gauge(
            "node_sysctl_info",
            "sysctl info",
            &[
                ("name", s.name.as_str()),
                ("value", v),
                ("index", i.to_string().as_str()),
            ],
            1.0,
        );
    };
    let words = sysctl_words(text);
    let ints = if s.numeric {
        sysctl_ints(&s.name, text)
            .map_err(|e| CollectError::Other(format!("error obtaining sysctl info: {e}")))?
    } else {
        Vec::new()
    };
    match words.len() {
        0 => return err(format!("sysctl {} has no values", s.name)),
        1 => {
            if !s.keys.is_empty() {
                return err(format!(
                    "sysctl {} has only one value, but expected {:?}",
                    s.name, s.keys
                ));
            }
            if s.numeric {
                out.untyped(&metric, &help, &[], ints[0] as f64);
            } else {
                info(out, 0, words[0]);
            }
        }
        n if s.keys.is_empty() => {
            for i in 0..n {
                if s.numeric {
                    let idx = i.to_string();
                    out.untyped(&metric, &help, &[("index", idx.as_str())], ints[i] as f64);
                } else {
                    info(out, i, words[i]);
                }
            }
        }
        n if n != s.keys.len() => {
            return err(format!(
                "sysctl {} has {n} keys but only {} defined in f lag",
                s.name,
                s.keys.len()
            ))
        }
        _ if !s.numeric => return err("mapped sysctl string values not supported".to_string()),
        _ => {
            for (i, (key, v)) in s.keys.iter().zip(&ints).enumerate() {
                out.untyped(
                    &format!("{metric}_{key}"),
                    &format!("sysctl {}, field {i}", s.name),
                    &[],
                    *v as f64,
                );
            }
        }
    }
    Ok(())
}

pub struct SysctlCollector {
    roots: Arc<Roots>,
    sysctls: Vec<Sysctl>,
}

impl SysctlCollector {
    /// A sysctl's file, read as procfs' `SysReadFile` (one read, trimmed; unlike `SysReadFile` a value
    /// longer than 128 bytes is not cut, the read layer's rule for every attribute).
    fn read(&self, s: &Sysctl) -> Result<String, CollectError> {
        let path = self
            .roots
            .proc(&format!("sys/{}", s.name.replace('.', "/")));
        sys_read_file(&path).map_err(|e| CollectError::io(&path, e))
    }
}

impl NodeCollector for SysctlCollector {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.sysctl;
        let sysctls = (f.include.iter().map(|i| Sysctl::parse(i, true)))
            .chain(f.include_info.iter().map(|i| Sysctl::parse(i, false)))
            .collect();
        Ok(SysctlCollector {
            roots: cfg.roots.clone(),
            sysctls,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for s in &self.sysctls {
            let text = self.read(s)?;
            push_sysctl(s, &text, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;
    use crate::node::testutil::{collect_with, fixture_config};

    fn run(s: &str, numeric: bool, text: &str) -> Result<MetricSet, CollectError> {
        let mut out = MetricSet::new();
        push_sysctl(&Sysctl::parse(s, numeric), text, &mut out).map(|()| out)
    }

    #[test]
    fn parses_flag_values() {
        assert_eq!(
            Sysctl::parse("fs.file-nr:total,current,max", true),
            Sysctl {
                numeric: true,
                name: "fs.file-nr".into(),
                keys: vec!["total".into(), "current".into(), "max".into()],
            }
        );
        assert!(Sysctl::parse("kernel.pid_max", true).keys.is_empty());
    }

    #[test]
    fn single_indexed_and_mapped() {
        let out = run("kernel.pid_max", true, "4194304").unwrap();
        assert_eq!(
            out.value("node_sysctl_kernel_pid_max", &[]),
            Some(4194304.0)
        );
        let f = out.get("node_sysctl_kernel_pid_max").unwrap();
        assert_eq!(
            (f.help.as_str(), f.kind),
            ("sysctl kernel.pid_max", Kind::Untyped)
        );

        let out = run("net.ipv4.ip_local_port_range", true, "32768\t60999").unwrap();
        let n = "node_sysctl_net_ipv4_ip_local_port_range";
        assert_eq!(out.value(n, &[("index", "1")]), Some(60999.0));

        let out = run("fs.file-nr:total,current,max", true, "10\t0\t0x10").unwrap();
        assert_eq!(out.value("node_sysctl_fs_file_nr_max", &[]), Some(16.0));
        assert_eq!(
            out.get("node_sysctl_fs_file_nr_current").unwrap().help,
            "sysctl fs.file-nr, field 1"
        );

        let out = run("kernel.core_pattern", false, "core").unwrap();
        let l = [
            ("name", "kernel.core_pattern"),
            ("value", "core"),
            ("index", "0"),
        ];
        assert_eq!(out.value("node_sysctl_info", &l), Some(1.0));
        let out = run("kernel.seccomp.actions_avail", false, "kill trap allow").unwrap();
        assert_eq!(
            out.value("node_sysctl_info", &[("index", "2"), ("value", "allow")]),
            Some(1.0)
        );
    }

    #[test]
    fn mismatches_are_errors() {
        assert!(run("a", true, "").is_err());
        assert!(run("a:x", true, "1").is_err());
        assert!(run("a:x,y", true, "1 2 3").is_err());
        assert!(run("a:x,y", false, "p q").is_err());
        assert!(run("a", true, "1 two").is_err());
    }

    #[test]
    fn collects_fixture() {
        let mut cfg = fixture_config();
        cfg.sysctl.include = vec![
            "kernel.threads-max".into(),
            "fs.file-nr:total,current,max".into(),
        ];
        cfg.sysctl.include_info = vec!["kernel.seccomp.actions_avail".into()];
        let out = collect_with("sysctl", &cfg).unwrap();
        assert_eq!(
            out.value("node_sysctl_kernel_threads_max", &[]),
            Some(7801.0)
        );
        assert_eq!(out.value("node_sysctl_fs_file_nr_total", &[]), Some(642.0));
        assert_eq!(
            out.value(
                "node_sysctl_info",
                &[("index", "1"), ("value", "kill_thread")]
            ),
            Some(1.0)
        );
        cfg.sysctl.include = vec!["no.such.sysctl".into()];
        assert!(collect_with("sysctl", &cfg).is_err());
        // Nothing selected: nothing exported, no error.
        let out = collect_with("sysctl", &fixture_config()).unwrap();
        assert!(out.is_empty());
    }
}
