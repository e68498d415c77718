//! `powersupplyclass`: node_power_supply_* from `/sys/class/power_supply/<name>/`
//! (Documentation/ABI/testing/sysfs-class-power), one `power_supply` label per supply plus
//! node_power_supply_info with the supply's string attributes as labels.
//!
//! Units as node_exporter: µA, µV, µWh, µAh and µW attributes are divided by 1e6 (so `energy_watthour` is
//! in Wh and `charge_ampere` in Ah), temperatures in tenths of a degree by 10, the rest is raw.

use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::read::{class_devices, parse_go_int, read_dir_sorted, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// An integer attribute: sysfs file name, metric name suffix, divisor.
const NUMERIC: &[(&str, &str, f64)] = &[
    ("authentic", "authentic", 1.0),
    ("calibrate", "calibrate", 1.0),
    ("capacity", "capacity", 1.0),
    ("capacity_alert_max", "capacity_alert_max", 1.0),
    ("capacity_alert_min", "capacity_alert_min", 1.0),
    ("cycle_count", "cyclecount", 1.0),
    ("online", "online", 1.0),
    ("present", "present", 1.0),
    ("time_to_empty_now", "time_to_empty_seconds", 1.0),
    ("time_to_full_now", "time_to_full_seconds", 1.0),
    ("current_boot", "current_boot", 1e6),
    ("current_max", "current_max", 1e6),
    ("current_now", "current_ampere", 1e6),
    ("energy_empty", "energy_empty", 1e6),
    ("energy_empty_design", "energy_empty_design", 1e6),
    ("energy_full", "energy_full", 1e6),
    ("energy_full_design", "energy_full_design", 1e6),
    ("energy_now", "energy_watthour", 1e6),
    ("voltage_boot", "voltage_boot", 1e6),
    ("voltage_max", "voltage_max", 1e6),
    ("voltage_max_design", "voltage_max_design", 1e6),
    ("voltage_min", "voltage_min", 1e6),
    ("voltage_min_design", "voltage_min_design", 1e6),
    ("voltage_now", "voltage_volt", 1e6),
    ("voltage_ocv", "voltage_ocv", 1e6),
    ("charge_control_limit", "charge_control_limit", 1e6),
    ("charge_control_limit_max", "charge_control_limit_max", 1e6),
    ("charge_counter", "charge_counter", 1e6),
    ("charge_empty", "charge_empty", 1e6),
    ("charge_empty_design", "charge_empty_design", 1e6),
    ("charge_full", "charge_full", 1e6),
    ("charge_full_design", "charge_full_design", 1e6),
    ("charge_now", "charge_ampere", 1e6),
    ("charge_term_current", "charge_term_current", 1e6),
    ("constant_charge_current", "constant_charge_current", 1e6),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    ("constant_charge_voltage", "constant_charge_voltage", 1e6),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    ("precharge_current", "precharge_current", 1e6),
    ("input_current_limit", "input_current_limit", 1e6),
    ("power_now", "power_watt", 1e6),
    ("temp", "temp_celsius", 10.0),
    ("temp_alert_max", "temp_alert_max_celsius", 10.0),
    ("temp_alert_min", "temp_alert_min_celsius", 10.0),
    ("temp_ambient", "temp_ambient_celsius", 10.0),
    ("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    ("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    ("temp_max", "temp_max_celsius", 10.0),
    ("temp_min", "temp_min_celsius", 10.0),
];

/// String attributes that become labels of node_power_supply_info (sorted; `power_supply` is added).
const STRINGS: &[&str] = &[
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "scope",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
];

/// One power supply: its numeric attributes (index into [`NUMERIC`], raw value) and its non-empty string
/// attributes (index into [`STRINGS`], value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSupply {
    pub name: String,
    pub numeric: Vec<(usize, i64)>,
    pub strings: Vec<(usize, String)>,
}

/// Add one attribute file's content to `ps`. Unknown files are ignored; an integer attribute that does
/// not parse is skipped (node_exporter 1.5 fails the whole collector on it).
pub fn add_attribute(ps: &mut PowerSupply, file: &str, value: &str) {
    if let Some(i) = NUMERIC.iter().position(|(f, _, _)| *f == file) {
        if let Ok(v) = parse_go_int(value) {
            ps.numeric.push((i, v));
        }
    } else if let Some(i) = STRINGS.iter().position(|f| *f == file) {
        if !value.is_empty() {
            ps.strings.push((i, value.to_string()));
        }
    }
}

/// Whether a read error of a supply's file is one procfs 0.21.1 skips: the file is gone, or the driver
/// answers "operation not supported" or "no such device". Any other error (`EACCES`, `EINVAL`, `ENODATA`,
/// `EIO`, …) fails the whole collector in node_exporter, so it does here.
fn skippable(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENODEV))
}

/// Read the attributes of the supply in `dir`: like procfs, every regular file in it is read (one that
/// node_exporter does not export too, so its errors count), subdirectories and links are not followed.
pub fn read_power_supply(dir: &Path, name: &str) -> Result<PowerSupply, CollectError> {
    let mut ps = PowerSupply {
        name: name.to_string(),
        ..PowerSupply::default()
    };
    for entry in read_dir_sorted(dir).map_err(|e| CollectError::io(dir, e))? {
        if !entry.file_type.is_file() {
            continue;
        }
        let fname = entry.name.as_str();
        let path = dir.join(fname);
        match sys_read_file(&path) {
            Ok(v) => add_attribute(&mut ps, fname, &v),
            Err(e) if skippable(&e) => continue,
            Err(e) => return Err(CollectError::io(&path, e)),
        }
    }
    ps.numeric.sort_unstable_by_key(|(i, _)| *i);
    ps.strings.sort_unstable_by_key(|(i, _)| *i);
    Ok(ps)
}

/// Write one supply's metrics.
pub fn write_power_supply(ps: &PowerSupply, out: &mut MetricSet) {
    for &(i, v) in &ps.numeric {
        let (_, suffix, div) = NUMERIC[i];
        out.sample(
            &format!("node_power_supply_{suffix}"),
            &format!("{suffix} value of /sys/class/power_supply/<power_supply>."),
            crate::Kind::Gauge,
            vec![("power_supply".to_string(), ps.name.clone())],
            v as f64 / div,
        );
    }
    // Labels in name order, `power_supply` between `model_name` and `scope`; empty attributes are left out.
    let mut labels: Vec<(String, String)> = Vec::with_capacity(ps.strings.len() + 1);
    for (i, v) in &ps.strings {
        labels.push((STRINGS[*i].to_string(), v.clone()));
    }
    labels.push(("power_supply".to_string(), ps.name.clone()));
    labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.sample(
        "node_power_supply_info",
        "info of /sys/class/power_supply/<power_supply>.",
        crate::Kind::Gauge,
        labels,
        1.0,
    );
}

pub struct PowerSupplyClass {
    roots: Arc<Roots>,
    ignored: Regex,
}

/// The powersupplyclass collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of power supplies to ignore.
    #[arg(
        value_name = "REGEX",
        id = "collector.powersupply.ignored-supplies",
        long = "collector.powersupply.ignored-supplies",
        default_value = "^$"
    )]
    pub ignored_supplies: String,
}

impl NodeCollector for PowerSupplyClass {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let ignored = super::flag_regex(
            "collector.powersupply.ignored-supplies",
            &cfg.powersupplyclass.ignored_supplies,
        )?;
        Ok(PowerSupplyClass {
            roots: cfg.roots.clone(),
            ignored,
        })
    }

    /// As node_exporter: every supply is read first, the ignored ones too (procfs reads the whole class,
    /// the collector filters afterwards), and one failing supply fails the collector with no series.
    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = self.roots.sys("class/power_supply");
        let mut all = Vec::new();
        for dev in class_devices(&dir)? {
            all.push(read_power_supply(&dir.join(&dev.name), &dev.name)?);
        }
        for ps in all.iter().filter(|ps| !self.ignored.is_match(&ps.name)) {
            write_power_supply(ps, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config, fixture_root};

    #[test]
    fn reads_fixture_battery() {
        let dir = fixture_root().join("sys/class/power_supply/BAT0");
        let ps = read_power_supply(&dir, "BAT0").unwrap();
        let get = |file: &str| {
            ps.numeric
                .iter()
                .find(|(i, _)| NUMERIC[*i].0 == file)
                .map(|(_, v)| *v)
        };
        assert_eq!(get("energy_now"), Some(31_440_000));
        assert_eq!(get("cycle_count"), Some(112));
        // Attributes node_exporter does not know are not exported.
        assert!(ps.numeric.iter().all(|(i, _)| NUMERIC[*i].0 != "alarm"));
        assert!(ps
            .strings
            .iter()
            .any(|(i, v)| STRINGS[*i] == "serial_number" && v == "3408"));
    }

    #[test]
    fn bad_integer_is_skipped() {
        let mut ps = PowerSupply::default();
        add_attribute(&mut ps, "capacity", "unknown");
        add_attribute(&mut ps, "status", "");
        add_attribute(&mut ps, "temp", "-52");
        assert_eq!(ps.numeric.len(), 1);
        assert!(ps.strings.is_empty());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "powersupplyclass",
            &[
                ("node_power_supply_online", &[("power_supply", "AC")], 1.0),
                (
                    "node_power_supply_energy_watthour",
                    &[("power_supply", "BAT0")],
                    31.44,
                ),
                (
                    "node_power_supply_voltage_volt",
                    &[("power_supply", "BAT0")],
                    12.707,
                ),
                (
                    "node_power_supply_cyclecount",
                    &[("power_supply", "BAT0")],
                    112.0,
                ),
                (
                    "node_power_supply_current_max",
                    &[("power_supply", "ucsi-source-psy-USBC000:001")],
                    3.0,
                ),
            ],
        );
        let info = out.get("node_power_supply_info").unwrap();
        let ac: Vec<_> = info.samples[0]
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(ac, [("power_supply", "AC"), ("type", "Mains")]);
        assert_eq!(
            out.value(
                "node_power_supply_info",
                &[
                    ("power_supply", "BAT0"),
                    ("status", "Discharging"),
                    ("technology", "Li-ion"),
                    ("capacity_level", "Normal")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(
                "node_power_supply_info",
                &[("usb_type", "[C] PD PD_PPS"), ("scope", "System")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn read_errors_as_procfs() {
        // A directory answers EISDIR to read(2): not skipped by procfs, but directories are not read.
        let dir = std::env::temp_dir().join(format!("hostlens-psu-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("BAT1/power")).unwrap();
        std::fs::write(dir.join("BAT1/capacity"), "50\n").unwrap();
        std::fs::write(dir.join("BAT1/model_name"), b"LNV\xff\xfe-1\xc3\n").unwrap();
        let ps = read_power_supply(&dir.join("BAT1"), "BAT1");
        std::fs::remove_dir_all(&dir).unwrap();
        let ps = ps.unwrap();
        assert_eq!(ps.numeric.len(), 1);
        // One U+FFFD per run of invalid bytes, as strings.ToValidUTF8 (what node_exporter applies).
        assert_eq!(ps.strings[0].1, "LNV\u{FFFD}-1\u{FFFD}");
        let e = |errno| std::io::Error::from_raw_os_error(errno);
        assert!(skippable(&e(libc::ENOENT)) && skippable(&e(libc::ENODEV)));
        assert!(!skippable(&e(libc::ENODATA)) && !skippable(&e(libc::EINVAL)));
    }

    #[test]
    fn ignored_supplies_are_skipped() {
        let mut cfg = fixture_config();
        cfg.powersupplyclass.ignored_supplies = "^(AC|ucsi.*)$".to_string();
        let out = collect_with("powersupplyclass", &cfg).unwrap();
        assert_eq!(out.get("node_power_supply_info").unwrap().samples.len(), 1);
        assert!(out.get("node_power_supply_online").is_none());
    }
}
