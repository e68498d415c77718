//! `drm` (off by default, as in node_exporter): node_drm_* of the amdgpu cards under `/sys/class/drm`,
//! as prometheus/procfs' `ClassDRMCardAMDGPUStats` reads them; other drivers' cards are skipped.
//!
//! The cards are the glob `card[0-9]` (one digit: `card10` and the connectors `card0-DP-1` are not
//! read). A card is amdgpu when its `device/uevent` contains `DRIVER=amdgpu`; a uevent that answers
//! `ENODATA` skips the card, any other failure to read it (or to resolve the `device` link) is an error.
//! An attribute that cannot be read is 0 (a label ""), as in procfs; one that is not an unsigned integer
//! (Go's `ParseUint(s, 0, 64)`) makes procfs dereference nil and node_exporter panic, and is an error
//! here. A host without `/sys/class/drm` has no cards: no samples and no error.

use std::path::Path;

use crate::read::{parse_go_uint, read_dir_sorted, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

/// The numeric attributes of `card<N>/device`: file, metric name, help.
pub const GAUGES: [(&str, &str, &str); 7] = [
    (
        "gpu_busy_percent",
        "node_drm_gpu_busy_percent",
        "How busy the GPU is as a percentage.",
    ),
    (
        "mem_info_gtt_total",
        "node_drm_memory_gtt_size_bytes",
        "The size of the graphics translation table (GTT) block in bytes.",
    ),
    (
        "mem_info_gtt_used",
        "node_drm_memory_gtt_used_bytes",
        "The used amount of the graphics translation table (GTT) block in bytes.",
    ),
    (
        "mem_info_vis_vram_total",
        "node_drm_memory_vis_vram_size_bytes",
        "The size of visible VRAM in bytes.",
    ),
    (
        "mem_info_vis_vram_used",
        "node_drm_memory_vis_vram_used_bytes",
        "The used amount of visible VRAM in bytes.",
    ),
    (
        "mem_info_vram_total",
        "node_drm_memory_vram_size_bytes",
        "The size of VRAM in bytes.",
    ),
    (
        "mem_info_vram_used",
        "node_drm_memory_vram_used_bytes",
        "The used amount of VRAM in bytes.",
    ),
];

/// One amdgpu card.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmdGpuCard {
    pub name: String,
    /// The values of [`GAUGES`], in order.
    pub values: [u64; 7],
    pub memory_vram_vendor: String,
    pub power_dpm_force_performance_level: String,
    pub unique_id: String,
}

/// Whether a `device/uevent` is an amdgpu device's.
pub fn is_amdgpu(uevent: &str) -> bool {
    uevent.contains("DRIVER=amdgpu")
}

/// Whether `name` matches the glob `card[0-9]`.
fn is_card(name: &str) -> bool {
    name.len() == 5 && name.starts_with("card") && name.as_bytes()[4].is_ascii_digit()
}

/// An attribute of `card/device`, `None` on any read error (procfs ignores them all).
fn field(card: &Path, name: &str) -> Option<String> {
    sys_read_file(&card.join("device").join(name)).ok()
}

/// Read one card: `None` when it is not amdgpu or its uevent has no data.
pub fn read_card(card: &Path, name: &str) -> Result<Option<AmdGpuCard>, CollectError> {
    let uevent_path = card.join("device/uevent");
    let uevent = match sys_read_file(&uevent_path) {
        Ok(u) => u,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => return Ok(None),
        Err(e) => return Err(CollectError::io(&uevent_path, e)),
    };
    if !is_amdgpu(&uevent) {
        return Ok(None);
    }
    let device = card.join("device");
    std::fs::canonicalize(&device).map_err(|e| CollectError::io(&device, e))?;
    let mut c = AmdGpuCard {
        name: name.to_string(),
        ..AmdGpuCard::default()
    };
    for ((file, _, _), slot) in GAUGES.iter().zip(c.values.iter_mut()) {
        if let Some(v) = field(card, file) {
            let path = device.join(file);
            *slot = parse_go_uint(&v).map_err(|e| e.at(&path))?;
        }
    }
    c.memory_vram_vendor = field(card, "mem_info_vram_vendor").unwrap_or_default();
    c.power_dpm_force_performance_level =
        field(card, "power_dpm_force_performance_level").unwrap_or_default();
    c.unique_id = field(card, "unique_id").unwrap_or_default();
    Ok(Some(c))
}

/// The `drm` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("class/drm");
    let entries = match read_dir_sorted(&dir) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CollectError::io(&dir, e)),
    };
    for entry in entries.iter().filter(|e| is_card(&e.name)) {
        let Some(c) = read_card(&dir.join(&entry.name), &entry.name)? else {
            continue;
        };
        out.gauge(
            "node_drm_card_info",
            "Card information",
            &[
                ("card", &c.name),
                ("memory_vendor", &c.memory_vram_vendor),
                (
                    "power_performance_level",
                    &c.power_dpm_force_performance_level,
                ),
                ("unique_id", &c.unique_id),
                ("vendor", "amd"),
            ],
            1.0,
        );
        for ((_, name, help), v) in GAUGES.iter().zip(c.values) {
            out.gauge(name, help, &[("card", &c.name)], v as f64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with, fixture_root};

    #[test]
    fn globs_one_digit_cards() {
        assert!(is_card("card0") && is_card("card9"));
        assert!(!is_card("card10") && !is_card("card0-DP-1") && !is_card("renderD128"));
        assert!(is_amdgpu("DRIVER=amdgpu\nPCI_CLASS=30000\n"));
        assert!(!is_amdgpu("DRIVER=i915\n"));
    }

    #[test]
    fn reads_amdgpu_card() {
        let drm = fixture_root().join("sys/class/drm");
        let c = read_card(&drm.join("card0"), "card0").unwrap().unwrap();
        assert_eq!(
            c.values,
            [4, 2147483648, 52101120, 8573157376, 1528623104, 8573157376, 1528623104]
        );
        assert_eq!(c.memory_vram_vendor, "samsung");
        assert_eq!(c.power_dpm_force_performance_level, "manual");
        assert_eq!(c.unique_id, "0123456789abcdef");
        assert_eq!(read_card(&drm.join("card1"), "card1").unwrap(), None);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "drm",
            &[
                (
                    "node_drm_card_info",
                    &[
                        ("card", "card0"),
                        ("memory_vendor", "samsung"),
                        ("power_performance_level", "manual"),
                        ("unique_id", "0123456789abcdef"),
                        ("vendor", "amd"),
                    ],
                    1.0,
                ),
                // card2 lacks most attributes: zeros and empty labels.
                (
                    "node_drm_card_info",
                    &[
                        ("card", "card2"),
                        ("memory_vendor", ""),
                        ("power_performance_level", "auto"),
                        ("unique_id", ""),
                        ("vendor", "amd"),
                    ],
                    1.0,
                ),
                ("node_drm_gpu_busy_percent", &[("card", "card0")], 4.0),
                (
                    "node_drm_memory_vram_used_bytes",
                    &[("card", "card0")],
                    1528623104.0,
                ),
                (
                    "node_drm_memory_vram_size_bytes",
                    &[("card", "card2")],
                    4294967296.0,
                ),
                ("node_drm_memory_gtt_used_bytes", &[("card", "card2")], 0.0),
            ],
        );
        assert_eq!(out.families().len(), 8);
        assert_eq!(out.get("node_drm_card_info").unwrap().samples.len(), 2);
    }

    #[test]
    fn no_drm_class_is_no_samples() {
        let out = collect_with("drm", &fixture_config_with("proc", "nonexistent")).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn unreadable_uevent_and_bad_values_are_errors() {
        let dir = std::env::temp_dir().join(format!("hostlens-drm-{}", std::process::id()));
        let card = dir.join("class/drm/card3");
        std::fs::create_dir_all(card.join("device")).unwrap();
        let roots = Roots::new(dir.join("proc"), dir.clone(), dir.join("root"), None);
        let mut out = MetricSet::new();
        assert!(collect(&roots, &mut out).is_err(), "no uevent");
        std::fs::write(card.join("device/uevent"), "DRIVER=amdgpu\n").unwrap();
        std::fs::write(card.join("device/gpu_busy_percent"), "12\n").unwrap();
        assert!(collect(&roots, &mut out).is_ok());
        assert_eq!(
            out.value("node_drm_gpu_busy_percent", &[("card", "card3")]),
            Some(12.0)
        );
        std::fs::write(card.join("device/gpu_busy_percent"), "busy\n").unwrap();
        assert!(collect(&roots, &mut MetricSet::new()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
