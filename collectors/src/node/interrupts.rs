//! `interrupts`: node_interrupts_total{cpu,type,info,devices} from `/proc/interrupts`, as node_exporter
//! 1.12.1 reads it (its own parser, not procfs').
//!
//! The header's column count is the CPU count. Each `name: values…` line with at least one field after
//! the CPU columns is an interrupt (the short `ERR`/`MIS` lines are skipped): for a numbered one `info` is
//! the first field after the counts (the chip) and `devices` the rest joined by single spaces; for a named
//! one (`NMI`, `LOC`, …) `info` is the whole description and `devices` empty. A name repeated keeps its
//! last line. The line is split at its first `:` (aarch64 prints `IPI0:` with no space after it).
//!
//! Since 1.9 the `name;info;devices` string of an interrupt can be filtered with
//! `--collector.interrupts.name-include` / `-exclude`, and `--no-collector.interrupts.include-zeros`
//! drops the zero counts. A count that is not a number is an error (only checked for interrupts the
//! filter keeps, as upstream). A missing file is an error, as in node_exporter.

use std::sync::Arc;

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// One line of `/proc/interrupts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupt {
    pub name: String,
    pub info: String,
    pub devices: String,
    /// The per-CPU counts, as text (parsed when exported, as upstream does).
    pub values: Vec<String>,
}

/// Parse `/proc/interrupts`; the interrupts in file order, a repeated name replacing the earlier line.
pub fn parse_interrupts(text: &str) -> Result<Vec<Interrupt>, ParseError> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| ParseError::new("interrupts empty"))?;
    let cpus = header.split_whitespace().count();
    let mut out: Vec<Interrupt> = Vec::new();
    for line in lines {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let parts: Vec<&str> = rest.split_whitespace().collect();
        if parts.len() < cpus + 1 {
            continue;
        }
        let name = name.trim_start_matches(' ');
        let (info, devices) = if name.parse::<i64>().is_ok() {
            (parts[cpus].to_string(), parts[cpus + 1..].join(" "))
        } else {
            (parts[cpus..].join(" "), String::new())
        };
        let irq = Interrupt {
            name: name.to_string(),
            info,
            devices,
            values: parts[..cpus].iter().map(|s| (*s).to_string()).collect(),
        };
        match out.iter_mut().find(|i| i.name == irq.name) {
            Some(old) => *old = irq,
            None => out.push(irq),
        }
    }
    Ok(out)
}

/// The interrupts collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of interrupts name to include (mutually exclusive to --collector.interrupts.name-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.interrupts.name-include",
        long = "collector.interrupts.name-include",
        default_value = ""
    )]
    pub name_include: String,
    /// Regexp of interrupts name to exclude (mutually exclusive to --collector.interrupts.name-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.interrupts.name-exclude",
        long = "collector.interrupts.name-exclude",
        default_value = ""
    )]
    pub name_exclude: String,
    /// Include interrupts that have a zero value (default; the last of this and
    /// --no-collector.interrupts.include-zeros wins).
    #[arg(
        id = "collector.interrupts.include-zeros",
        long = "collector.interrupts.include-zeros",
        overrides_with = "no-collector.interrupts.include-zeros"
    )]
    pub include_zeros: bool,
    /// Leave out interrupts whose count on a CPU is zero.
    #[arg(
        id = "no-collector.interrupts.include-zeros",
        long = "no-collector.interrupts.include-zeros",
        overrides_with = "collector.interrupts.include-zeros"
    )]
    pub no_include_zeros: bool,
}

/// The `interrupts` collector.
pub struct Interrupts {
    roots: Arc<Roots>,
    include: Option<Regex>,
    exclude: Option<Regex>,
    include_zeros: bool,
}

impl Interrupts {
    /// node_exporter's `deviceFilter.ignored`.
    fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|re| re.is_match(name))
            || self.include.as_ref().is_some_and(|re| !re.is_match(name))
    }
}

impl NodeCollector for Interrupts {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.interrupts;
        Ok(Interrupts {
            roots: cfg.roots.clone(),
            include: super::optional_flag_regex(
                "collector.interrupts.name-include",
                &f.name_include,
            )?,
            exclude: super::optional_flag_regex(
                "collector.interrupts.name-exclude",
                &f.name_exclude,
            )?,
            include_zeros: !f.no_include_zeros,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("interrupts");
        let interrupts = parse_interrupts(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for irq in &interrupts {
            let filter_name = format!("{};{};{}", irq.name, irq.info, irq.devices);
            if self.ignored(&filter_name) {
                continue;
            }
            for (cpu, value) in irq.values.iter().enumerate() {
                // strconv.ParseFloat; the kernel prints decimal counts.
                let v: f64 = value.parse().map_err(|_| {
                    CollectError::parse(&path, format!("invalid value {value} in interrupts"))
                })?;
                if !self.include_zeros && v == 0.0 {
                    continue;
                }
                let cpu = cpu.to_string();
                out.counter(
                    "node_interrupts_total",
                    "Interrupt details.",
                    &[
                        ("cpu", cpu.as_str()),
                        ("type", irq.name.as_str()),
                        ("info", irq.info.as_str()),
                        ("devices", irq.devices.as_str()),
                    ],
                    v,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, assert_values, collect_with, fixture_config,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/interrupts");

    fn with_flags(include: &str, exclude: &str, zeros: bool) -> NodeConfig {
        let mut cfg = fixture_config();
        cfg.interrupts = Flags {
            name_include: include.into(),
            name_exclude: exclude.into(),
            include_zeros: zeros,
            no_include_zeros: !zeros,
        };
        cfg
    }

    #[test]
    fn parses_fixture() {
        let irqs = parse_interrupts(FIXTURE).unwrap();
        let names: Vec<_> = irqs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["0", "4", "24", "25", "NMI", "LOC", "RES", "IPI5"]);
        let virtio = &irqs[2];
        assert_eq!(virtio.info, "PCI-MSI");
        assert_eq!(virtio.devices, "65536-edge virtio0-config, virtio0-input.0");
        assert_eq!(virtio.values, ["150002", "99871"]);
        assert_eq!(irqs[4].info, "Non-maskable interrupts");
        assert_eq!(irqs[4].devices, "");
        // aarch64: no space after the colon.
        assert_eq!(irqs[7].values, ["2", "0"]);
        assert_eq!(irqs[7].info, "Timer broadcast interrupts");
    }

    #[test]
    fn repeated_names_and_empty_files() {
        let irqs = parse_interrupts("CPU0\n 1: 5 A x\n 1: 6 B y z\nNOCOLON 1 2\n").unwrap();
        assert_eq!(irqs.len(), 1);
        assert_eq!(
            (irqs[0].info.as_str(), irqs[0].devices.as_str()),
            ("B", "y z")
        );
        assert_rejects(parse_interrupts, &[""]);
        assert!(parse_interrupts("CPU0 CPU1\n").unwrap().is_empty());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "interrupts",
            &[
                (
                    "node_interrupts_total",
                    &[
                        ("cpu", "1"),
                        ("type", "24"),
                        ("info", "PCI-MSI"),
                        ("devices", "65536-edge virtio0-config, virtio0-input.0"),
                    ],
                    99871.0,
                ),
                (
                    "node_interrupts_total",
                    &[
                        ("cpu", "0"),
                        ("type", "LOC"),
                        ("info", "Local timer interrupts"),
                        ("devices", ""),
                    ],
                    9876543.0,
                ),
            ],
        );
        assert_eq!(out.get("node_interrupts_total").unwrap().samples.len(), 16);
    }

    #[test]
    fn filters_and_zeros() {
        let count = |cfg: &NodeConfig| {
            collect_with("interrupts", cfg)
                .unwrap()
                .get("node_interrupts_total")
                .map_or(0, |f| f.samples.len())
        };
        // The filter sees `name;info;devices`.
        assert_eq!(count(&with_flags("virtio", "", true)), 4);
        assert_eq!(count(&with_flags("^[A-Z]", "^IPI", true)), 6);
        assert_eq!(count(&with_flags("", ";Local timer", true)), 14);
        // Zero counts: 0/cpu1, 4/cpu0, 25 on both CPUs, IPI5/cpu1.
        let out = collect_with("interrupts", &with_flags("", "", false)).unwrap();
        assert_eq!(out.get("node_interrupts_total").unwrap().samples.len(), 11);
        assert_values(
            &out,
            &[(
                "node_interrupts_total",
                &[
                    ("cpu", "1"),
                    ("type", "4"),
                    ("info", "IO-APIC"),
                    ("devices", "4-edge ttyS0"),
                ],
                812.0,
            )],
        );
        assert!(crate::node::testutil::build("interrupts", &with_flags("(", "", true)).is_err());
    }

    #[test]
    fn include_zeros_flag_pair() {
        use clap::{Args, FromArgMatches};
        let parse = |args: &[&str]| {
            let cmd = Flags::augment_args(clap::Command::new("t"));
            let m = cmd.try_get_matches_from(args).unwrap();
            !Flags::from_arg_matches(&m).unwrap().no_include_zeros
        };
        assert!(parse(&["t"]));
        assert!(!parse(&["t", "--no-collector.interrupts.include-zeros"]));
        assert!(parse(&[
            "t",
            "--no-collector.interrupts.include-zeros",
            "--collector.interrupts.include-zeros"
        ]));
        assert!(!parse(&[
            "t",
            "--collector.interrupts.include-zeros",
            "--no-collector.interrupts.include-zeros"
        ]));
    }
}
