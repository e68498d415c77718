//! `hwmon`: node_hwmon_* from `/sys/class/hwmon/hwmon*` (Documentation/hwmon/sysfs-interface.rst), named
//! and scaled as node_exporter does: `<type><n>_<property>` files become
//! `node_hwmon_<type>[_<property>]_<unit>{chip,sensor}` with temperatures, voltages and currents from milli-
//! units, power and energy from micro-units, fans in RPM; plus node_hwmon_chip_names{chip,chip_name} and
//! node_hwmon_sensor_label{chip,sensor,label}.
//!
//! `chip` is derived from the device the hwmon belongs to (`<bus or parent>_<device>`, e.g.
//! `platform_coretemp_0`), else from its `name` file, else from the `hwmonN` directory name. Since
//! node_exporter 1.12 (#3646) chips whose derived name is shared (several hwmon devices of one parent
//! device: `asus-nb-wmi`, a wifi card's phys) get `_<name file>` appended, or `_<hwmonN>` when the name
//! file is empty or shared too (`platform_asus_nb_wmi_asus_wmi_sensors`, `ieee80211_phy0_mt7996_phy0_0`);
//! a chip whose name cannot be derived is skipped. `--collector.hwmon.chip-{include,exclude}` filter on
//! that final chip label, `--collector.hwmon.sensor-{include,exclude}` on `<chip>;<sensor>`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::{CollectError, Kind, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// The sensor types node_exporter reports; other files are ignored.
const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    // node_exporter 1.9: GPU frequencies (amdgpu `freq<N>_input`), exported only with a label.
    "freq",
];

/// Sensor → property (`""` for a bare `<type><n>` file) → raw value.
pub type SensorData = BTreeMap<String, BTreeMap<String, String>>;

/// node_exporter's `cleanMetricName` on raw bytes: Go's `strings.ToLower` (one lower-case rune per rune),
/// every rune outside `[a-z0-9:_]` replaced with `_` (an invalid UTF-8 byte is one rune there), `_`
/// trimmed at both ends.
pub fn clean_name_bytes(name: &[u8]) -> String {
    let mut s = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            let l = if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(c)
            };
            s.push(
                if l.is_ascii_lowercase() || l.is_ascii_digit() || l == ':' || l == '_' {
                    l
                } else {
                    '_'
                },
            );
        }
        for _ in chunk.invalid() {
            s.push('_');
        }
    }
    s.trim_matches('_').to_string()
}

/// [`clean_name_bytes`] of a string.
pub fn clean_name(name: &str) -> String {
    clean_name_bytes(name.as_bytes())
}

/// node_exporter's `deviceFilter`: ignored when the exclude pattern matches or the include pattern does
/// not (an empty flag is no pattern).
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
}

impl DeviceFilter {
    pub fn new(
        exclude_flag: &str,
        exclude: &str,
        include_flag: &str,
        include: &str,
    ) -> Result<Self, CollectError> {
        Ok(DeviceFilter {
            exclude: super::optional_flag_regex(exclude_flag, exclude)?,
            include: super::optional_flag_regex(include_flag, include)?,
        })
    }

    pub fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|re| re.is_match(name))
            || self.include.as_ref().is_some_and(|re| !re.is_match(name))
    }
}

/// Splits sensor file names into type, number and property.
pub struct FilenameParser {
    re: Regex,
}

impl FilenameParser {
    pub fn new() -> Result<Self, regex::Error> {
        Ok(FilenameParser {
            re: Regex::new(r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$")?,
        })
    }

    /// `temp1_crit_alarm` → (`temp`, 1, `crit_alarm`); `beep_enable` → (`beep_enable`, 0, ``).
    /// The number is Go's `strconv.Atoi` of the digits: any value of a 64-bit `int`.
    pub fn explode<'a>(&self, filename: &'a str) -> Option<(&'a str, i64, &'a str)> {
        let caps = self.re.captures(filename)?;
        let kind = caps.name("type").map_or("", |m| m.as_str());
        let num = match caps.name("id").map(|m| m.as_str()) {
            Some(id) if !id.is_empty() => id.parse().ok()?,
            _ => 0,
        };
        let prop = caps.name("property").map_or("", |m| m.as_str());
        Some((kind, num, prop))
    }

    /// Add the sensor files of `names` (in `dir`) to `data`, read with `read`.
    pub fn add_sensor_files(
        &self,
        names: impl IntoIterator<Item = String>,
        mut read: impl FnMut(&str) -> Option<String>,
        data: &mut SensorData,
    ) {
        for name in names {
            let Some((kind, num, prop)) = self.explode(&name) else {
                continue;
            };
            if !SENSOR_TYPES.contains(&kind) {
                continue;
            }
            let Some(value) = read(&name) else { continue };
            data.entry(format!("{kind}{num}"))
                .or_default()
                .insert(prop.to_string(), value);
        }
    }
}

/// node_exporter's hwmon reader takes what one `read(2)` of 128 bytes gives.
const SENSOR_READ_MAX: usize = 128;

/// Read a sensor file with the read layer's one `read(2)` (some drivers answer `EAGAIN` forever), keep its
/// first 128 bytes and trim newlines only, as node_exporter's hwmon reader does; any error skips the file,
/// as there. Invalid UTF-8 becomes one U+FFFD per run (`strings.ToValidUTF8`, what node_exporter does to
/// a label; other values must parse as numbers anyway).
fn read_sensor_file(path: &Path) -> Option<String> {
    crate::read::with_attr_raw(path, |b| {
        let b = &b[..b.len().min(SENSOR_READ_MAX)];
        let start = b.iter().take_while(|&&c| c == b'\n').count();
        let end = b.len() - b[start..].iter().rev().take_while(|&&c| c == b'\n').count();
        crate::read::to_valid_utf8(&b[start..end])
    })
    .ok()
}

/// Read the sensor files of `dir` into `data`.
fn collect_sensor_dir(
    parser: &FilenameParser,
    dir: &Path,
    data: &mut SensorData,
) -> Result<(), CollectError> {
    let names = crate::read::sorted_entry_names(dir)?;
    parser.add_sensor_files(names, |n| read_sensor_file(&dir.join(n)), data);
    Ok(())
}

/// The chip name node_exporter derives for the hwmon directory `dir` (`hwmonName`), before 1.12's
/// disambiguation of shared names (see [`unique_chip_names`]).
pub fn chip_name(dir: &Path) -> Result<String, CollectError> {
    if let Ok(dev) = std::fs::canonicalize(dir.join("device")) {
        let dev_name = dev
            .file_name()
            .map(|n| clean_name_bytes(n.as_encoded_bytes()));
        let dev_type = dev
            .parent()
            .and_then(Path::file_name)
            .map(|n| clean_name_bytes(n.as_encoded_bytes()));
        match (dev_type, dev_name) {
            (Some(t), Some(n)) if !t.is_empty() && !n.is_empty() => return Ok(format!("{t}_{n}")),
            (_, Some(n)) if !n.is_empty() => return Ok(n),
            _ => {}
        }
    }
    if let Some(n) = human_chip_name(dir) {
        return Ok(n);
    }
    let real = std::fs::canonicalize(dir).map_err(|e| CollectError::io(dir, e))?;
    let n = real
        .file_name()
        .map(|n| clean_name_bytes(n.as_encoded_bytes()))
        .unwrap_or_default();
    if n.is_empty() {
        return Err(CollectError::Other(format!(
            "could not derive a monitoring name for {}",
            dir.display()
        )));
    }
    Ok(n)
}

/// The human-readable chip type from the `name` file, if any.
pub fn human_chip_name(dir: &Path) -> Option<String> {
    let raw = crate::read::read_file_bytes(dir.join("name")).ok()?;
    let n = clean_name_bytes(&raw);
    (!n.is_empty()).then_some(n)
}

/// One hwmon directory as node_exporter 1.12's first pass sees it: its derived chip name, the trimmed
/// content of its `name` file (empty when unreadable) and its directory name (`hwmonN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipEntry {
    pub base: String,
    /// Raw bytes: node_exporter cleans the file's bytes, invalid UTF-8 included.
    pub name_file: Vec<u8>,
    pub dir_name: String,
}

/// The chip label of each entry (node_exporter 1.12 #3646): the derived name when no other entry shares
/// it, else `<derived>_<clean name file>`, or `<derived>_<clean hwmonN>` when the name file is empty (once
/// cleaned) or shared by another entry of the same derived name.
pub fn unique_chip_names(entries: &[ChipEntry]) -> Vec<String> {
    let mut chips: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut names: std::collections::HashMap<(&str, &[u8]), usize> =
        std::collections::HashMap::new();
    for e in entries {
        *chips.entry(&e.base).or_default() += 1;
        *names.entry((&e.base, &e.name_file)).or_default() += 1;
    }
    entries
        .iter()
        .map(|e| {
            if chips[e.base.as_str()] <= 1 {
                return e.base.clone();
            }
            let mut suffix = clean_name_bytes(&e.name_file);
            if suffix.is_empty() || names[&(e.base.as_str(), e.name_file.as_slice())] > 1 {
                suffix = clean_name(&e.dir_name);
            }
            format!("{}_{suffix}", e.base)
        })
        .collect()
}

fn gauge(out: &mut MetricSet, name: &str, help: &str, chip: &str, sensor: &str, v: f64) {
    out.sample(
        name,
        help,
        Kind::Gauge,
        vec![
            ("chip".to_string(), chip.to_string()),
            ("sensor".to_string(), sensor.to_string()),
        ],
        v,
    );
}

/// Write the metrics of one chip's sensors; a sensor `<chip>;<sensor>` the filter ignores is left out.
pub fn write_chip(
    parser: &FilenameParser,
    chip: &str,
    human_name: Option<&str>,
    data: &SensorData,
    sensors: &DeviceFilter,
    out: &mut MetricSet,
) {
    if let Some(h) = human_name {
        out.sample(
            "node_hwmon_chip_names",
            "Annotation metric for human-readable chip names",
            Kind::Gauge,
            vec![
                ("chip".to_string(), chip.to_string()),
                ("chip_name".to_string(), h.to_string()),
            ],
            1.0,
        );
    }
    for (sensor, props) in data {
        if sensors.ignored(&format!("{chip};{sensor}")) {
            continue;
        }
        let Some((kind, _, _)) = parser.explode(sensor) else {
            continue;
        };
        if let Some(label) = props.get("label") {
            out.sample(
                "node_hwmon_sensor_label",
                "Label for given chip and sensor",
                Kind::Gauge,
                vec![
                    ("chip".to_string(), chip.to_string()),
                    ("label".to_string(), label.clone()),
                    ("sensor".to_string(), sensor.clone()),
                ],
                1.0,
            );
        }
        let bare = props.get("").map(String::as_str);
        match kind {
            "beep_enable" => {
                let v = if bare == Some("1") { 1.0 } else { 0.0 };
                gauge(
                    out,
                    "node_hwmon_beep_enabled",
                    "Hardware beep enabled",
                    chip,
                    sensor,
                    v,
                );
                continue;
            }
            "vrm" => {
                if let Some(v) = bare.and_then(|b| b.parse::<f64>().ok()) {
                    gauge(
                        out,
                        "node_hwmon_voltage_regulator_version",
                        "Hardware voltage regulator",
                        chip,
                        sensor,
                        v,
                    );
                }
                continue;
            }
            "update_interval" => {
                if let Some(v) = bare.and_then(|b| b.parse::<f64>().ok()) {
                    gauge(
                        out,
                        "node_hwmon_update_interval_seconds",
                        "Hardware monitor update interval",
                        chip,
                        sensor,
                        v * 0.001,
                    );
                }
                continue;
            }
            _ => {}
        }
        let prefix = format!("node_hwmon_{kind}");
        for (element, value) in props {
            if element == "label" {
                continue;
            }
            let name = if element == "input" {
                if bare.is_some() {
                    format!("{prefix}_input")
                } else {
                    prefix.clone()
                }
            } else if element.is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}_{}", clean_name(element))
            };
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            let el = element.as_str();
            if el == "fault" || el == "alarm" {
                let help = format!("Hardware sensor {el} status ({kind})");
                gauge(out, &name, &help, chip, sensor, v);
            } else if el == "beep" {
                let help = "Hardware monitor sensor has beeping enabled";
                gauge(out, &format!("{name}_enabled"), help, chip, sensor, v);
            } else if kind == "in" || kind == "cpu" {
                let help = format!("Hardware monitor for voltage ({el})");
                gauge(
                    out,
                    &format!("{name}_volts"),
                    &help,
                    chip,
                    sensor,
                    v * 0.001,
                );
            } else if kind == "temp" && el != "type" {
                let shown = if el.is_empty() { "input" } else { el };
                let help = format!("Hardware monitor for temperature ({shown})");
                gauge(
                    out,
                    &format!("{name}_celsius"),
                    &help,
                    chip,
                    sensor,
                    v * 0.001,
                );
            } else if kind == "curr" {
                let help = format!("Hardware monitor for current ({el})");
                gauge(out, &format!("{name}_amps"), &help, chip, sensor, v * 0.001);
            } else if kind == "energy" {
                out.sample(
                    &format!("{name}_joule_total"),
                    &format!("Hardware monitor for joules used so far ({el})"),
                    Kind::Counter,
                    vec![
                        ("chip".to_string(), chip.to_string()),
                        ("sensor".to_string(), sensor.clone()),
                    ],
                    v / 1e6,
                );
            } else if kind == "power" && el == "accuracy" {
                let help = "Hardware monitor power meter accuracy, as a ratio";
                gauge(out, &name, help, chip, sensor, v / 1e6);
            } else if kind == "power"
                && matches!(
                    el,
                    "average_interval" | "average_interval_min" | "average_interval_max"
                )
            {
                let help = format!("Hardware monitor power usage update interval ({el})");
                gauge(
                    out,
                    &format!("{name}_seconds"),
                    &help,
                    chip,
                    sensor,
                    v * 0.001,
                );
            } else if kind == "power" {
                let help = format!("Hardware monitor for power usage in watts ({el})");
                gauge(out, &format!("{name}_watt"), &help, chip, sensor, v / 1e6);
            } else if kind == "humidity" {
                let help = format!("Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({el})");
                gauge(out, &name, &help, chip, sensor, v / 1e6);
            } else if kind == "fan" && matches!(el, "input" | "min" | "max" | "target") {
                let help = format!("Hardware monitor for fan revolutions per minute ({el})");
                gauge(out, &format!("{name}_rpm"), &help, chip, sensor, v);
            } else if kind == "freq" && el == "input" {
                // The `sensor` label is the cleaned label text (`sclk`, `mclk`); no label, no series.
                // (node_exporter's slice reuse also relabels the sensor's later elements, in Go's random
                // map order; we do not reproduce that.)
                if let Some(label) = props.get("label") {
                    gauge(
                        out,
                        &format!("{name}_freq_mhz"),
                        "Hardware monitor for GPU frequency in MHz",
                        chip,
                        &clean_name(label),
                        v / 1e6,
                    );
                }
            } else {
                let help = format!("Hardware monitor {kind} element {el}");
                gauge(out, &name, &help, chip, sensor, v);
            }
        }
    }
}

pub struct Hwmon {
    roots: Arc<Roots>,
    parser: FilenameParser,
    chips: DeviceFilter,
    sensors: DeviceFilter,
}

/// The hwmon collector's flags (node_exporter 1.9's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of hwmon chip to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.hwmon.chip-include",
        long = "collector.hwmon.chip-include",
        default_value = ""
    )]
    pub chip_include: String,
    /// Regexp of hwmon chip to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.hwmon.chip-exclude",
        long = "collector.hwmon.chip-exclude",
        default_value = ""
    )]
    pub chip_exclude: String,
    /// Regexp of hwmon sensor to include (mutually exclusive to sensor-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.hwmon.sensor-include",
        long = "collector.hwmon.sensor-include",
        default_value = ""
    )]
    pub sensor_include: String,
    /// Regexp of hwmon sensor to exclude (mutually exclusive to sensor-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.hwmon.sensor-exclude",
        long = "collector.hwmon.sensor-exclude",
        default_value = ""
    )]
    pub sensor_exclude: String,
}

impl Hwmon {
    fn update_chip(&self, dir: &Path, chip: &str, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut data = SensorData::new();
        collect_sensor_dir(&self.parser, dir, &mut data)?;
        let dev = dir.join("device");
        if std::fs::metadata(&dev).is_ok() {
            collect_sensor_dir(&self.parser, &dev, &mut data)?;
        }
        let human = human_chip_name(dir);
        write_chip(
            &self.parser,
            chip,
            human.as_deref(),
            &data,
            &self.sensors,
            out,
        );
        Ok(())
    }
}

impl NodeCollector for Hwmon {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let parser =
            FilenameParser::new().map_err(|e| CollectError::Other(format!("hwmon regex: {e}")))?;
        let f = &cfg.hwmon;
        Ok(Hwmon {
            roots: cfg.roots.clone(),
            parser,
            chips: DeviceFilter::new(
                "collector.hwmon.chip-exclude",
                &f.chip_exclude,
                "collector.hwmon.chip-include",
                &f.chip_include,
            )?,
            sensors: DeviceFilter::new(
                "collector.hwmon.sensor-exclude",
                &f.sensor_exclude,
                "collector.hwmon.sensor-include",
                &f.sensor_include,
            )?,
        })
    }

    /// Every chip is reported even when another fails; the last error is returned then.
    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let class = self.roots.sys("class/hwmon");
        // Pass 1: the directories (following the class symlinks) and their derived names.
        let mut dirs = Vec::new();
        let mut entries = Vec::new();
        for dev in crate::read::class_devices(&class)? {
            let path = class.join(&dev.name);
            if !(dev.file_type.is_dir() || path.is_dir()) {
                continue;
            }
            // node_exporter 1.12: a chip whose name cannot be derived is skipped (logged at debug).
            let Ok(base) = chip_name(&path) else {
                continue;
            };
            let name_file = crate::read::read_file_bytes(path.join("name"))
                .map(|b| b.trim_ascii().to_vec())
                .unwrap_or_default();
            entries.push(ChipEntry {
                base,
                name_file,
                dir_name: dev.name.clone(),
            });
            dirs.push(path);
        }
        // Pass 2: unique chip labels, filtered, then each chip's sensors.
        let mut last_err = None;
        for (dir, chip) in dirs.iter().zip(unique_chip_names(&entries)) {
            if self.chips.ignored(&chip) {
                continue;
            }
            if let Err(e) = self.update_chip(dir, &chip, out) {
                last_err = Some(e);
            }
        }
        last_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, fixture_root};

    fn labels<'a>(chip: &'a str, sensor: &'a str) -> [(&'a str, &'a str); 2] {
        [("chip", chip), ("sensor", sensor)]
    }

    #[test]
    fn explodes_file_names() {
        let p = FilenameParser::new().unwrap();
        assert_eq!(
            p.explode("temp1_crit_alarm"),
            Some(("temp", 1, "crit_alarm"))
        );
        assert_eq!(p.explode("in0_input"), Some(("in", 0, "input")));
        assert_eq!(p.explode("pwm1"), Some(("pwm", 1, "")));
        assert_eq!(p.explode("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(
            p.explode("update_interval"),
            Some(("update_interval", 0, ""))
        );
        assert_eq!(p.explode("temp01_input"), Some(("temp", 1, "input")));
        assert_eq!(p.explode("1abc"), None);
        assert_eq!(
            p.explode("temp99999999999_input"),
            Some(("temp", 99999999999, "input"))
        );
        assert_eq!(p.explode("temp99999999999999999999_input"), None);
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean_name("coretemp\n"), "coretemp");
        assert_eq!(clean_name("0000:00:18.3"), "0000:00:18_3");
        assert_eq!(clean_name("Package id 0"), "package_id_0");
        assert_eq!(clean_name("__x__"), "x");
    }

    #[test]
    fn bare_value_and_input_naming() {
        // A sensor with both a bare `in1` file and `in1_input`: the input gets its own name.
        let p = FilenameParser::new().unwrap();
        let mut data = SensorData::new();
        let files = ["in1", "in1_input", "temp3", "temp3_type", "fan2_pulses"].map(String::from);
        let values = BTreeMap::from([
            ("in1", "1200"),
            ("in1_input", "1300"),
            ("temp3", "40000"),
            ("temp3_type", "3"),
            ("fan2_pulses", "2"),
        ]);
        p.add_sensor_files(files, |n| values.get(n).map(|v| v.to_string()), &mut data);
        let mut out = MetricSet::new();
        write_chip(&p, "c", None, &data, &DeviceFilter::default(), &mut out);
        assert_eq!(
            out.value("node_hwmon_in_volts", &labels("c", "in1")),
            Some(1.2)
        );
        assert_eq!(
            out.value("node_hwmon_in_input_volts", &labels("c", "in1")),
            Some(1.3)
        );
        assert_eq!(
            out.value("node_hwmon_temp_celsius", &labels("c", "temp3")),
            Some(40.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_type", &labels("c", "temp3")),
            Some(3.0)
        );
        assert_eq!(
            out.value("node_hwmon_fan_pulses", &labels("c", "fan2")),
            Some(2.0)
        );
        assert!(out.get("node_hwmon_chip_names").is_none());
    }

    #[test]
    fn shared_chip_names_are_made_unique() {
        let e = |base: &str, name: &[u8], dir: &str| ChipEntry {
            base: base.to_string(),
            name_file: name.to_vec(),
            dir_name: dir.to_string(),
        };
        let entries = [
            // Two hwmons of one platform device, distinct names: the name is appended.
            e("platform_asus_nb_wmi", b"asus", "hwmon5"),
            e("platform_asus_nb_wmi", b"asus-wmi-sensors", "hwmon6"),
            // Three of one phy, the same name: the hwmonN directory is appended.
            e("ieee80211_phy0", b"mt7996_phy0", "hwmon7"),
            e("ieee80211_phy0", b"mt7996_phy0", "hwmon8"),
            // A shared base with an empty (once cleaned) name: the directory too.
            e("pci_x", b"--", "hwmon9"),
            e("pci_x", b"y", "hwmon10"),
            // Unique: unchanged.
            e("platform_coretemp_0", b"coretemp", "hwmon1"),
        ];
        assert_eq!(
            unique_chip_names(&entries),
            [
                "platform_asus_nb_wmi_asus",
                "platform_asus_nb_wmi_asus_wmi_sensors",
                "ieee80211_phy0_hwmon7",
                "ieee80211_phy0_hwmon8",
                "pci_x_hwmon9",
                "pci_x_y",
                "platform_coretemp_0",
            ]
        );
        // Invalid UTF-8: one `_` per byte, as Go's regexp sees one rune per invalid byte.
        assert_eq!(clean_name_bytes(b"a\xff\xfeb"), "a__b");
        assert_eq!(clean_name("K\u{212A}"), "kk");
    }

    #[test]
    fn freq_sensors_and_filters() {
        let p = FilenameParser::new().unwrap();
        let mut data = SensorData::new();
        let values = BTreeMap::from([
            ("freq1_input", "1800000000"),
            ("freq1_label", "SCLK"),
            ("freq2_input", "5"),
            ("temp1_input", "40000"),
            ("temp2_input", "41000"),
        ]);
        let files = values.keys().map(|k| k.to_string()).collect::<Vec<_>>();
        p.add_sensor_files(files, |n| values.get(n).map(|v| v.to_string()), &mut data);
        let none = DeviceFilter::default();
        let mut out = MetricSet::new();
        write_chip(&p, "gpu", None, &data, &none, &mut out);
        // The sensor label is the cleaned label; freq2 has no label: no series.
        assert_eq!(
            out.value("node_hwmon_freq_freq_mhz", &labels("gpu", "sclk")),
            Some(1800.0)
        );
        assert_eq!(
            out.get("node_hwmon_freq_freq_mhz").unwrap().samples.len(),
            1
        );
        let only_temp1 = DeviceFilter::new("x", "", "y", "^gpu;temp1$").unwrap();
        let mut out = MetricSet::new();
        write_chip(&p, "gpu", None, &data, &only_temp1, &mut out);
        assert_eq!(out.get("node_hwmon_temp_celsius").unwrap().samples.len(), 1);
        assert!(out.get("node_hwmon_freq_freq_mhz").is_none());
        let chips = DeviceFilter::new("x", "coretemp", "y", "").unwrap();
        assert!(chips.ignored("platform_coretemp_0") && !chips.ignored("nct6779"));
    }

    #[test]
    fn chip_filters_from_flags() {
        let mut cfg = crate::node::testutil::fixture_config();
        cfg.hwmon.chip_include = "coretemp".to_string();
        let out = crate::node::testutil::collect_with("hwmon", &cfg).unwrap();
        let names = out.get("node_hwmon_chip_names").unwrap();
        assert!(names.samples.iter().all(|s| s
            .labels
            .iter()
            .any(|(k, v)| k == "chip" && v.contains("coretemp"))));
        cfg.hwmon.chip_include = "(".to_string();
        assert!(crate::node::testutil::build("hwmon", &cfg).is_err());
    }

    #[test]
    fn chip_names_from_fixture() {
        let class = fixture_root().join("sys/class/hwmon");
        assert_eq!(
            chip_name(&class.join("hwmon1")).unwrap(),
            "platform_coretemp_0"
        );
        assert_eq!(chip_name(&class.join("hwmon2")).unwrap(), "acpitz");
        assert_eq!(
            chip_name(&class.join("hwmon3")).unwrap(),
            "lnxsystm:00_acpi000d:00"
        );
        assert_eq!(
            human_chip_name(&class.join("hwmon0")).as_deref(),
            Some("nct6779")
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("hwmon");
        let core = "platform_coretemp_0";
        let nct = "platform_nct6775_656";
        let pm = "lnxsystm:00_acpi000d:00";
        assert_eq!(
            out.value(
                "node_hwmon_chip_names",
                &[("chip", core), ("chip_name", "coretemp")]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_celsius", &labels(core, "temp1")),
            Some(55.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_crit_celsius", &labels(core, "temp1")),
            Some(100.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_crit_alarm_celsius", &labels(core, "temp2")),
            Some(0.0)
        );
        assert_eq!(
            out.value(
                "node_hwmon_sensor_label",
                &[
                    ("chip", core),
                    ("sensor", "temp1"),
                    ("label", "Package id 0")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_hwmon_in_volts", &labels(nct, "in0")),
            Some(1.016)
        );
        assert_eq!(
            out.value("node_hwmon_in_max_volts", &labels(nct, "in0")),
            Some(1.744)
        );
        assert_eq!(
            out.value("node_hwmon_in_alarm", &labels(nct, "in0")),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_hwmon_in_beep_enabled", &labels(nct, "in0")),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_hwmon_fan_rpm", &labels(nct, "fan1")),
            Some(1205.0)
        );
        assert_eq!(
            out.value("node_hwmon_fan_target_rpm", &labels(nct, "fan1")),
            Some(1200.0)
        );
        assert_eq!(
            out.value("node_hwmon_fan_pulses", &labels(nct, "fan1")),
            Some(2.0)
        );
        assert_eq!(
            out.value("node_hwmon_pwm", &labels(nct, "pwm1")),
            Some(153.0)
        );
        assert_eq!(
            out.value("node_hwmon_pwm_enable", &labels(nct, "pwm1")),
            Some(5.0)
        );
        assert_eq!(
            out.value("node_hwmon_beep_enabled", &labels(nct, "beep_enable0")),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_hwmon_voltage_regulator_version", &labels(nct, "vrm0")),
            Some(12.0)
        );
        assert_eq!(
            out.value("node_hwmon_intrusion_alarm", &labels(nct, "intrusion0")),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_hwmon_cpu_vid_volts", &labels(nct, "cpu0")),
            Some(1.55)
        );
        assert_eq!(
            out.value("node_hwmon_temp_type", &labels(nct, "temp7")),
            Some(4.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_fault", &labels(nct, "temp7")),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_hwmon_temp_celsius", &labels("acpitz", "temp1")),
            Some(27.8)
        );
        // Old-style attributes in the device directory.
        assert_eq!(
            out.value("node_hwmon_power_average_watt", &labels(pm, "power1")),
            Some(345.0)
        );
        assert_eq!(
            out.value(
                "node_hwmon_power_average_interval_seconds",
                &labels(pm, "power1")
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_hwmon_power_accuracy", &labels(pm, "power1")),
            Some(0.095)
        );
        assert_eq!(
            out.value("node_hwmon_energy_joule_total", &labels(pm, "energy1")),
            Some(123456.789)
        );
        assert_eq!(
            out.value("node_hwmon_curr_amps", &labels(pm, "curr1")),
            Some(1.5)
        );
        assert_eq!(
            out.value("node_hwmon_humidity", &labels(pm, "humidity1")),
            Some(0.0455)
        );
        assert_eq!(
            out.value(
                "node_hwmon_update_interval_seconds",
                &labels(pm, "update_interval0")
            ),
            Some(2.0)
        );
        // A non-numeric attribute is skipped.
        assert!(out.get("node_hwmon_power_model_number_watt").is_none());
        assert_eq!(
            out.get("node_hwmon_energy_joule_total").unwrap().kind,
            Kind::Counter
        );
    }
}
