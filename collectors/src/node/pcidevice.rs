//! `pcidevice`: node_pcidevice_* from `/sys/bus/pci/devices/<location>`, as node_exporter 1.12.1
//! (prometheus/procfs 0.21.1 `PciDevices`) reads them.
//!
//! Each entry of `/sys/bus/pci/devices` is a symlink into `/sys/devices/pci…/`: its target's last
//! component is the device's location (`0000:01:00.0`, the `segment`, `bus`, `device`, `function`
//! labels), the one before it the parent's (`*` labels when it is a root bus, `pci0000:00`). `class`,
//! `vendor`, `device`, `subsystem_vendor`, `subsystem_device` and `revision` must be there; the link,
//! NUMA, SR-IOV and power files are optional, and what a device lacks reads as node_exporter writes it
//! (-1 for a link speed or width, 0 for the SR-IOV and d3cold values, no sample for `power_state` and
//! `numa_node`).
//!
//! With `--collector.pcidevice.names`, `node_pcidevice_info` also has the vendor, device, subsystem
//! and class names from a `pci.ids` file (`--collector.pcidevice.idsfile`, else
//! `/usr/share/misc/pci.ids` or `/usr/share/hwdata/pci.ids`), looked up as node_exporter does.
//!
//! No `/sys/bus/pci/devices`: [`CollectError::NoData`], as node_exporter's `ErrNoData`.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::ParseError;
use crate::read::{parse_go_int, read_dir_sorted, read_file_bytes, sys_read_file, to_valid_utf8};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// node_exporter's default `pci.ids` locations, tried in order.
pub const PCI_IDS_PATHS: [&str; 2] = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"];

/// The power states of `node_pcidevice_power_state`, in node_exporter's order.
pub const POWER_STATES: [&str; 7] = ["D0", "D1", "D2", "D3hot", "D3cold", "unknown", "error"];

/// The pcidevice collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Path to pci.ids file to use for PCI device identification.
    #[arg(
        value_name = "PATH",
        id = "collector.pcidevice.idsfile",
        long = "collector.pcidevice.idsfile",
        default_value = ""
    )]
    pub idsfile: String,
    /// Enable PCI device name resolution (requires pci.ids file).
    #[arg(id = "collector.pcidevice.names", long = "collector.pcidevice.names")]
    pub names: bool,
}

/// Go's `fmt.Sprintf("%0<width>x", v)` of a signed value (a negative one is `-` then the digits, the
/// sign counted in the width).
fn go_hex(v: i64, width: usize) -> String {
    if v < 0 {
        format!("-{:0w$x}", v.unsigned_abs(), w = width.saturating_sub(1))
    } else {
        format!("{v:0width$x}")
    }
}

/// A PCI location `segment:bus:device.function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub segment: i64,
    pub bus: i64,
    pub device: i64,
    pub function: i64,
}

impl Location {
    /// The four labels' values (`0000`, `01`, `00`, `0`).
    pub fn strings(&self) -> [String; 4] {
        [
            go_hex(self.segment, 4),
            go_hex(self.bus, 2),
            go_hex(self.device, 2),
            go_hex(self.function, 1),
        ]
    }

    /// The key procfs files the device under (`0000:01:00:0`).
    pub fn key(&self) -> String {
        self.strings().join(":")
    }
}

/// Go's `strconv.ParseInt(s, base, 32)`.
fn parse_i32(s: &str, base: u32) -> Result<i64, ParseError> {
    let v = i64::from_str_radix(s, base)
        .map_err(|_| ParseError::new(format!("invalid integer {s:?}")))?;
    i32::try_from(v)
        .map(i64::from)
        .map_err(|_| ParseError::new(format!("{s:?} is out of range of a 32-bit integer")))
}

/// Go's `strconv.ParseUint(s, base, bits)`: no sign.
fn parse_uint(s: &str, base: u32, bits: u32) -> Result<u64, ParseError> {
    let bad = || ParseError::new(format!("invalid unsigned integer {s:?}"));
    if s.starts_with('+') {
        return Err(bad());
    }
    let v = u64::from_str_radix(s, base).map_err(|_| bad())?;
    if bits < 64 && v >> bits != 0 {
        return Err(ParseError::new(format!(
            "{s:?} is out of range of a {bits}-bit integer"
        )));
    }
    Ok(v)
}

/// Parse a location (`0000:01:00.0`).
pub fn parse_location(loc: &str) -> Result<Location, ParseError> {
    let invalid = || ParseError::new(format!("invalid location '{loc}'"));
    let parts: Vec<&str> = loc.split(':').collect();
    if parts.len() != 3 {
        return Err(invalid());
    }
    let df: Vec<&str> = parts[2].split('.').collect();
    if df.len() != 2 {
        return Err(invalid());
    }
    let field = |what: &str, s: &str| {
        parse_i32(s, 16).map_err(|e| ParseError::new(format!("invalid {what}: {e}")))
    };
    Ok(Location {
        segment: field("segment", parts[0])?,
        bus: field("bus", parts[1])?,
        device: field("device", df[0])?,
        function: field("function", df[1])?,
    })
}

/// `max_link_speed` / `current_link_speed` (`8.0 GT/s PCIe`) in GT/s.
pub fn parse_link_speed(s: &str) -> Result<f64, ParseError> {
    // Go's strings.SplitAfterN(s, " ", 2): the first part keeps its space.
    let Some((num, unit)) = s.split_once(' ') else {
        return Err(ParseError::new(format!("invalid link speed {s:?}")));
    };
    if unit != "GT/s PCIe" {
        return Err(ParseError::new(format!(
            "unknown unit for link speed {s:?}"
        )));
    }
    num.trim()
        .parse()
        .map_err(|_| ParseError::new(format!("invalid link speed {s:?}")))
}

/// One PCI device, what node_exporter exports of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PciDevice {
    /// The parent device's location; `None` under a root bus.
    pub parent: Option<Location>,
    pub class: u32,
    pub vendor: u32,
    pub device: u32,
    pub subsystem_vendor: u32,
    pub subsystem_device: u32,
    pub revision: u32,
    pub numa_node: Option<i64>,
    pub max_link_speed: Option<f64>,
    pub max_link_width: Option<f64>,
    pub current_link_speed: Option<f64>,
    pub current_link_width: Option<f64>,
    pub sriov_drivers_autoprobe: Option<bool>,
    pub sriov_numvfs: Option<u64>,
    pub sriov_totalvfs: Option<u64>,
    pub sriov_vf_total_msix: Option<u64>,
    pub d3cold_allowed: Option<bool>,
    pub power_state: Option<String>,
}

/// An optional attribute: `None` when it does not exist (only then, as procfs), trimmed text
/// otherwise.
fn optional(path: &Path) -> Result<Option<String>, CollectError> {
    match sys_read_file(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

/// Set `dev`'s field `file` (an optional attribute) from its non-empty value `v`.
pub fn set_optional(dev: &mut PciDevice, file: &str, v: &str) -> Result<(), ParseError> {
    let ctx = |e: ParseError| ParseError::new(format!("{file}: {e}"));
    match file {
        "max_link_speed" => dev.max_link_speed = Some(parse_link_speed(v)?),
        "current_link_speed" => dev.current_link_speed = Some(parse_link_speed(v)?),
        "max_link_width" => dev.max_link_width = Some(parse_go_dec_i64(v).map_err(ctx)? as f64),
        "current_link_width" => {
            dev.current_link_width = Some(parse_go_dec_i64(v).map_err(ctx)? as f64)
        }
        "numa_node" => dev.numa_node = Some(parse_i32(v, 10).map_err(ctx)?),
        "sriov_drivers_autoprobe" => {
            dev.sriov_drivers_autoprobe = Some(parse_i32(v, 10).map_err(ctx)? != 0)
        }
        "sriov_numvfs" => dev.sriov_numvfs = Some(parse_uint(v, 10, 32).map_err(ctx)?),
        "sriov_offset" | "sriov_stride" => {
            parse_uint(v, 10, 32).map_err(ctx)?;
        }
        "sriov_totalvfs" => dev.sriov_totalvfs = Some(parse_uint(v, 10, 32).map_err(ctx)?),
        "sriov_vf_device" => {
            parse_uint(v, 16, 32).map_err(ctx)?;
        }
        "sriov_vf_total_msix" => {
            dev.sriov_vf_total_msix = Some(parse_uint(v, 10, 64).map_err(ctx)?)
        }
        "d3cold_allowed" => dev.d3cold_allowed = Some(parse_i32(v, 10).map_err(ctx)? != 0),
        "power_state" => dev.power_state = Some(v.to_string()),
        _ => {}
    }
    Ok(())
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
fn parse_go_dec_i64(s: &str) -> Result<i64, ParseError> {
    s.parse()
        .map_err(|_| ParseError::new(format!("invalid integer {s:?}")))
}

/// The optional files, in procfs' order; the link and NUMA ones also skip an `Unknown…` value.
const LINK_FILES: [&str; 5] = [
    "max_link_speed",
    "max_link_width",
    "current_link_speed",
    "current_link_width",
    "numa_node",
];
const OTHER_FILES: [&str; 9] = [
    "sriov_drivers_autoprobe",
    "sriov_numvfs",
    "sriov_offset",
    "sriov_stride",
    "sriov_totalvfs",
    "sriov_vf_device",
    "sriov_vf_total_msix",
    "d3cold_allowed",
    "power_state",
];

/// Read the device `name` of `dir` (`<sys>/bus/pci/devices`): its location and what it has.
pub fn read_device(dir: &Path, name: &str) -> Result<(Location, PciDevice), CollectError> {
    let path = dir.join(name);
    let target = std::fs::read_link(&path).map_err(|e| CollectError::io(&path, e))?;
    let base = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".to_string())
    };
    let loc_str = base(&target);
    let parent_str = target.parent().map(base).unwrap_or_else(|| ".".to_string());
    let location = parse_location(&loc_str)
        .map_err(|e| CollectError::parse(&path, format!("failed to parse device location: {e}")))?;
    let parent = if parent_str.starts_with("pci") {
        None
    } else {
        Some(parse_location(&parent_str).map_err(|e| {
            CollectError::parse(
                &path,
                format!("failed to parse parent device location {parent_str:?}: {e}"),
            )
        })?)
    };
    let mut dev = PciDevice {
        parent,
        ..PciDevice::default()
    };
    for f in [
        "class",
        "vendor",
        "device",
        "subsystem_vendor",
        "subsystem_device",
        "revision",
    ] {
        let p = path.join(f);
        let s = sys_read_file(&p).map_err(|e| CollectError::io(&p, e))?;
        let v = parse_go_int(&s)
            .ok()
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| CollectError::parse(&p, format!("failed to parse {f} {s:?}")))?;
        // Go's uint32(int64): the low 32 bits.
        let v = v as u32;
        match f {
            "class" => dev.class = v,
            "vendor" => dev.vendor = v,
            "device" => dev.device = v,
            "subsystem_vendor" => dev.subsystem_vendor = v,
            "subsystem_device" => dev.subsystem_device = v,
            _ => dev.revision = v,
        }
    }
    for f in LINK_FILES {
        let p = path.join(f);
        let Some(v) = optional(&p)? else { continue };
        // Some devices have an empty value or `Unknown` (drivers/pci/probe.c pci_speed_string).
        if v.is_empty() || v.starts_with("Unknown") {
            continue;
        }
        set_optional(&mut dev, f, &v).map_err(|e| e.at(&p))?;
    }
    for f in OTHER_FILES {
        let p = path.join(f);
        let Some(v) = optional(&p)? else { continue };
        if v.is_empty() {
            continue;
        }
        set_optional(&mut dev, f, &v).map_err(|e| e.at(&p))?;
    }
    Ok((location, dev))
}

/// The `pci.ids` database, as node_exporter's `loadPCIIds` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PciIds {
    pub vendors: HashMap<String, String>,
    pub devices: HashMap<String, HashMap<String, String>>,
    pub subsystems: HashMap<String, HashMap<String, String>>,
    pub classes: HashMap<String, String>,
    pub subclasses: HashMap<String, String>,
    pub prog_ifs: HashMap<String, String>,
}

/// `strings.SplitN(line, "  ", 2)` with both parts trimmed, when there are two.
fn id_and_name(line: &str) -> Option<(String, String)> {
    line.split_once("  ")
        .map(|(id, name)| (id.trim().to_string(), name.trim().to_string()))
}

/// Parse a `pci.ids` file (vendors, devices, subsystems; `C` classes, subclasses, programming
/// interfaces), line by line as node_exporter does.
pub fn parse_pci_ids(text: &str) -> PciIds {
    let mut ids = PciIds::default();
    let (mut vendor, mut device) = (String::new(), String::new());
    let (mut base_class, mut subclass) = (String::new(), String::new());
    let mut in_class = false;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let one_tab = line.starts_with('\t') && !line.starts_with("\t\t");
        let two_tabs = line.starts_with("\t\t") && !line.starts_with("\t\t\t");
        if line.starts_with("C ") {
            if let Some((id, name)) = id_and_name(line) {
                let id = id[1..].trim().to_string();
                ids.classes.insert(id.clone(), name);
                base_class = id;
                in_class = true;
            }
            continue;
        }
        if one_tab && in_class {
            if let Some((id, name)) = id_and_name(&line[1..]) {
                if !base_class.is_empty() {
                    let full = format!("{base_class}{id}");
                    ids.subclasses.insert(full.clone(), name);
                    subclass = full;
                }
            }
            continue;
        }
        if two_tabs && in_class {
            if let Some((id, name)) = id_and_name(&line[2..]) {
                if !subclass.is_empty() {
                    ids.prog_ifs.insert(format!("{subclass}{id}"), name);
                }
            }
            continue;
        }
        if !line.starts_with('\t') {
            if let Some((id, name)) = id_and_name(line) {
                ids.vendors.insert(id.clone(), name);
                vendor = id;
                device.clear();
                in_class = false;
            }
            continue;
        }
        if one_tab {
            if let Some((id, name)) = id_and_name(&line[1..]) {
                if !vendor.is_empty() {
                    ids.devices
                        .entry(vendor.clone())
                        .or_default()
                        .insert(id.clone(), name);
                    device = id;
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("\t\t") {
            if let Some((id, name)) = id_and_name(rest) {
                if !vendor.is_empty() && !device.is_empty() {
                    let map = ids
                        .subsystems
                        .entry(format!("{vendor}:{device}"))
                        .or_default();
                    let f: Vec<&str> = id.split_whitespace().collect();
                    if f.len() == 2 {
                        map.insert(format!("{}:{}", f[0], f[1]), name);
                    }
                }
            }
        }
    }
    ids
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x").unwrap_or(s)
}

impl PciIds {
    /// A vendor's name, or its ID without `0x`.
    pub fn vendor_name(&self, vendor_id: &str) -> String {
        let v = strip_0x(vendor_id).to_lowercase();
        self.vendors.get(&v).cloned().unwrap_or(v)
    }

    /// A device's name, or its ID without `0x`.
    pub fn device_name(&self, vendor_id: &str, device_id: &str) -> String {
        let v = strip_0x(vendor_id).to_lowercase();
        let d = strip_0x(device_id).to_lowercase();
        self.devices
            .get(&v)
            .and_then(|m| m.get(&d))
            .cloned()
            .unwrap_or(d)
    }

    /// A subsystem's name, or the subsystem device ID without `0x`.
    pub fn subsystem_name(
        &self,
        vendor: &str,
        device: &str,
        sub_vendor: &str,
        sub_device: &str,
    ) -> String {
        let key = format!("{}:{}", strip_0x(vendor), strip_0x(device));
        let sub = format!("{}:{}", strip_0x(sub_vendor), strip_0x(sub_device));
        self.subsystems
            .get(&key)
            .and_then(|m| m.get(&sub))
            .cloned()
            .unwrap_or_else(|| strip_0x(sub_device).to_string())
    }

    /// A class's name: the programming interface's, else the subclass', else the base class', else
    /// `Unknown class (<id>)`.
    pub fn class_name(&self, class_id: &str) -> String {
        let c = strip_0x(class_id).to_lowercase();
        for (len, map) in [
            (6, &self.prog_ifs),
            (4, &self.subclasses),
            (2, &self.classes),
        ] {
            if let Some(name) = c.get(..len).and_then(|k| map.get(k)) {
                return name.clone();
            }
        }
        format!("Unknown class ({c})")
    }
}

pub struct Pcidevice {
    roots: Arc<Roots>,
    /// The names database when `--collector.pcidevice.names` is on.
    names: Option<PciIds>,
}

/// Load the names database as node_exporter does: the flag's file, else the first default that opens;
/// one that cannot be read leaves the database empty (logged at debug level there).
fn load_pci_ids(idsfile: &str) -> PciIds {
    let candidates: Vec<PathBuf> = if idsfile.is_empty() {
        PCI_IDS_PATHS.iter().map(PathBuf::from).collect()
    } else {
        vec![PathBuf::from(idsfile)]
    };
    for path in candidates {
        if let Ok(bytes) = read_file_bytes(&path) {
            return parse_pci_ids(&to_valid_utf8(&bytes));
        }
    }
    PciIds::default()
}

fn go_hex_u(v: u32, width: usize) -> String {
    format!("0x{v:0width$x}")
}

impl Pcidevice {
    fn push_device(&self, dev: &PciDevice, loc: &Location, out: &mut MetricSet) {
        let [seg, bus, d, func] = loc.strings();
        let base = [
            ("segment", seg.as_str()),
            ("bus", bus.as_str()),
            ("device", d.as_str()),
            ("function", func.as_str()),
        ];
        let parent = match &dev.parent {
            Some(p) => p.strings(),
            None => ["*", "*", "*", "*"].map(String::from),
        };
        let class_id = go_hex_u(dev.class, 6);
        let vendor_id = go_hex_u(dev.vendor, 4);
        let device_id = go_hex_u(dev.device, 4);
        let sub_vendor_id = go_hex_u(dev.subsystem_vendor, 4);
        let sub_device_id = go_hex_u(dev.subsystem_device, 4);
        let revision = go_hex_u(dev.revision, 2);
        let mut info: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in [
            ("parent_segment", parent[0].as_str()),
            ("parent_bus", parent[1].as_str()),
            ("parent_device", parent[2].as_str()),
            ("parent_function", parent[3].as_str()),
            ("class_id", class_id.as_str()),
            ("vendor_id", vendor_id.as_str()),
            ("device_id", device_id.as_str()),
            ("subsystem_vendor_id", sub_vendor_id.as_str()),
            ("subsystem_device_id", sub_device_id.as_str()),
            ("revision", revision.as_str()),
        ] {
            info.push((k.to_string(), v.to_string()));
        }
        if let Some(ids) = &self.names {
            for (k, v) in [
                ("vendor_name", ids.vendor_name(&vendor_id)),
                ("device_name", ids.device_name(&vendor_id, &device_id)),
                ("subsystem_vendor_name", ids.vendor_name(&sub_vendor_id)),
                (
                    "subsystem_device_name",
                    ids.subsystem_name(&vendor_id, &device_id, &sub_vendor_id, &sub_device_id),
                ),
                ("class_name", ids.class_name(&class_id)),
            ] {
                info.push((k.to_string(), v));
            }
        }
        out.sample(
            "node_pcidevice_info",
            "Non-numeric data from /sys/bus/pci/devices/<location>, value is always 1.",
            crate::metrics::Kind::Gauge,
            info,
            1.0,
        );

        let or = |v: Option<f64>, d: f64| v.unwrap_or(d);
        let flag = |v: Option<bool>| if v == Some(true) { 1.0 } else { 0.0 };
        let gauges: [(&str, &str, f64); 9] = [
            (
                "node_pcidevice_max_link_transfers_per_second",
                "Value of maximum link's transfers per second (T/s)",
                dev.max_link_speed.map_or(-1.0, |v| v * 1e9),
            ),
            (
                "node_pcidevice_max_link_width",
                "Value of maximum link's width (number of lanes)",
                or(dev.max_link_width, -1.0),
            ),
            (
                "node_pcidevice_current_link_transfers_per_second",
                "Value of current link's transfers per second (T/s)",
                dev.current_link_speed.map_or(-1.0, |v| v * 1e9),
            ),
            (
                "node_pcidevice_current_link_width",
                "Value of current link's width (number of lanes)",
                or(dev.current_link_width, -1.0),
            ),
            (
                "node_pcidevice_d3cold_allowed",
                "Whether the PCIe device supports D3cold power state (0/1).",
                flag(dev.d3cold_allowed),
            ),
            (
                "node_pcidevice_sriov_drivers_autoprobe",
                "Whether SR-IOV drivers autoprobe is enabled for the device (0/1).",
                flag(dev.sriov_drivers_autoprobe),
            ),
            (
                "node_pcidevice_sriov_numvfs",
                "Number of Virtual Functions (VFs) currently enabled for SR-IOV.",
                dev.sriov_numvfs.map_or(0.0, |v| v as f64),
            ),
            (
                "node_pcidevice_sriov_totalvfs",
                "Total number of Virtual Functions (VFs) supported by the device.",
                dev.sriov_totalvfs.map_or(0.0, |v| v as f64),
            ),
            (
                "node_pcidevice_sriov_vf_total_msix",
                "Total number of MSI-X vectors for Virtual Functions.",
                dev.sriov_vf_total_msix.map_or(0.0, |v| v as f64),
            ),
        ];
        for (name, help, v) in gauges {
            out.gauge(name, help, &base, v);
        }
        if let Some(current) = &dev.power_state {
            for st in POWER_STATES {
                let mut l = base.to_vec();
                l.push(("state", st));
                out.gauge(
                    "node_pcidevice_power_state",
                    "PCIe device power state, one of: D0, D1, D2, D3hot, D3cold, unknown or error.",
                    &l,
                    if st == current { 1.0 } else { 0.0 },
                );
            }
        }
        if let Some(n) = dev.numa_node.filter(|&n| n != -1) {
            out.gauge(
                "node_pcidevice_numa_node",
                "NUMA node number for the PCI device. -1 indicates unknown or not available.",
                &base,
                n as f64,
            );
        }
    }
}

impl NodeCollector for Pcidevice {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.pcidevice;
        Ok(Pcidevice {
            roots: cfg.roots.clone(),
            names: f.names.then(|| load_pci_ids(&f.idsfile)),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = self.roots.sys("bus/pci/devices");
        // node_exporter: a "not exist" anywhere (the directory, a device's link or a file it must have,
        // procfs wrapping the error) is ErrNoData.
        let devices = read_devices(&dir).map_err(|e| match &e {
            CollectError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                CollectError::NoData(format!("PCI device not found: {e}"))
            }
            _ => e,
        })?;
        for (loc, dev) in devices.values() {
            self.push_device(dev, loc, out);
        }
        Ok(())
    }
}

/// Every device of `dir` (`<sys>/bus/pci/devices`). procfs keys the devices by location: two links to
/// one location are one device (the last).
pub fn read_devices(dir: &Path) -> Result<BTreeMap<String, (Location, PciDevice)>, CollectError> {
    let entries = read_dir_sorted(dir).map_err(|e| CollectError::io(dir, e))?;
    let mut devices = BTreeMap::new();
    for e in entries {
        let (loc, dev) = read_device(dir, &e.name)?;
        devices.insert(loc.key(), (loc, dev));
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config, fixture_root};

    #[test]
    fn parses_locations_and_speeds() {
        let l = parse_location("0000:3a:1f.7").unwrap();
        assert_eq!(l.strings(), ["0000", "3a", "1f", "7"]);
        assert_eq!(l.key(), "0000:3a:1f:7");
        crate::node::testutil::assert_rejects(
            parse_location,
            &[
                "0000:00.0",
                "0000:00:00",
                "0000:00:00.0.1",
                "zz:00:00.0",
                "pci0000:00",
            ],
        );
        assert_eq!(parse_link_speed("8.0 GT/s PCIe").unwrap(), 8.0);
        assert_eq!(parse_link_speed("2.5 GT/s PCIe").unwrap(), 2.5);
        crate::node::testutil::assert_rejects(
            parse_link_speed,
            &["8.0 GT/s", "8.0", "x GT/s PCIe"],
        );
        assert_eq!(go_hex(-1, 4), "-001");
    }

    #[test]
    fn parses_pci_ids() {
        let ids = parse_pci_ids(
            "# comment\n\
             8086  Intel Corporation\n\
             \t1521  I350 Gigabit Network Connection\n\
             \t\t8086 00a3  I350-T4 adapter\n\
             1af4  Red Hat, Inc.\n\
             \n\
             C 02  Network controller\n\
             \t00  Ethernet controller\n\
             C 01  Mass storage controller\n\
             \t08  Non-Volatile memory controller\n\
             \t\t02  NVM Express\n",
        );
        assert_eq!(ids.vendor_name("0x8086"), "Intel Corporation");
        assert_eq!(ids.vendor_name("0xabcd"), "abcd");
        assert_eq!(
            ids.device_name("0x8086", "0x1521"),
            "I350 Gigabit Network Connection"
        );
        assert_eq!(ids.device_name("0x1af4", "0x1000"), "1000");
        assert_eq!(
            ids.subsystem_name("0x8086", "0x1521", "0x8086", "0x00a3"),
            "I350-T4 adapter"
        );
        assert_eq!(
            ids.subsystem_name("0x8086", "0x1521", "0x8086", "0x0001"),
            "0001"
        );
        assert_eq!(ids.class_name("0x020000"), "Ethernet controller");
        assert_eq!(ids.class_name("0x010802"), "NVM Express");
        assert_eq!(ids.class_name("0x020800"), "Network controller");
        assert_eq!(ids.class_name("0x0c0330"), "Unknown class (0c0330)");
    }

    #[test]
    fn collects_fixture() {
        let out = collect_fixture("pcidevice");
        let a = [
            ("segment", "0000"),
            ("bus", "00"),
            ("device", "1c"),
            ("function", "0"),
        ];
        let b = [
            ("segment", "0000"),
            ("bus", "02"),
            ("device", "00"),
            ("function", "1"),
        ];
        assert_eq!(
            out.value(
                "node_pcidevice_info",
                &[
                    ("bus", "02"),
                    ("parent_bus", "00"),
                    ("parent_device", "1c"),
                    ("class_id", "0x020000"),
                    ("vendor_id", "0x8086"),
                    ("revision", "0x03"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_pcidevice_info", &[("bus", "00"), ("parent_bus", "*")]),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_pcidevice_max_link_transfers_per_second", &b),
            Some(5e9)
        );
        assert_eq!(
            out.value("node_pcidevice_current_link_width", &b),
            Some(2.0)
        );
        assert_eq!(out.value("node_pcidevice_max_link_width", &a), Some(-1.0));
        assert_eq!(
            out.value("node_pcidevice_current_link_transfers_per_second", &a),
            Some(-1.0)
        );
        assert_eq!(out.value("node_pcidevice_sriov_totalvfs", &b), Some(8.0));
        assert_eq!(
            out.value("node_pcidevice_sriov_drivers_autoprobe", &a),
            Some(0.0)
        );
        let mut d3 = b.to_vec();
        d3.push(("state", "D3hot"));
        assert_eq!(out.value("node_pcidevice_power_state", &d3), Some(1.0));
        assert_eq!(
            out.get("node_pcidevice_power_state")
                .map(|f| f.samples.len()),
            Some(7)
        );
        assert_eq!(out.value("node_pcidevice_numa_node", &b), Some(1.0));
        assert_eq!(out.value("node_pcidevice_numa_node", &a), None);
        assert!(out.get("node_pcidevice_info").unwrap().samples[0]
            .labels
            .iter()
            .all(|(k, _)| !k.ends_with("_name")));
    }

    #[test]
    fn no_pci_bus_is_no_data() {
        let cfg = crate::node::testutil::fixture_config_with("proc", "no-such-sys");
        assert!(matches!(
            collect_with("pcidevice", &cfg),
            Err(CollectError::NoData(_))
        ));
    }

    #[test]
    fn names_from_an_ids_file() {
        let mut cfg = fixture_config();
        cfg.pcidevice.names = true;
        cfg.pcidevice.idsfile = fixture_root().join("pci.ids").display().to_string();
        let out = collect_with("pcidevice", &cfg).unwrap();
        assert_eq!(
            out.value(
                "node_pcidevice_info",
                &[
                    ("bus", "02"),
                    ("vendor_name", "Example Networks"),
                    ("device_name", "EX-1 Ethernet"),
                    ("subsystem_vendor_name", "Example Networks"),
                    ("subsystem_device_name", "EX-1 dual port"),
                    ("class_name", "Ethernet controller"),
                ]
            ),
            Some(1.0)
        );
        // An ids file that is not there: IDs for names, as node_exporter.
        cfg.pcidevice.idsfile = "/nonexistent/pci.ids".into();
        let out = collect_with("pcidevice", &cfg).unwrap();
        assert_eq!(
            out.value(
                "node_pcidevice_info",
                &[
                    ("bus", "02"),
                    ("vendor_name", "8086"),
                    ("class_name", "Unknown class (020000)")
                ]
            ),
            Some(1.0)
        );
    }
}
