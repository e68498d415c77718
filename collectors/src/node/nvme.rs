//! `nvme`: node_nvme_info from `/sys/class/nvme/<controller>/{firmware_rev,model,serial,state}`
//! (drivers/nvme/host/core.c), one series per NVMe controller.
//!
//! As node_exporter, every entry of the class directory must have the four attributes: a missing one
//! (a controller being removed) makes the scrape a no-data one, any other read error fails it.

use std::path::Path;

use crate::{CollectError, Kind, MetricSet, Roots};

use crate::read::{sorted_entry_names, sys_read_file};

/// One controller's info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmeDevice {
    pub name: String,
    pub firmware_revision: String,
    pub model: String,
    pub serial: String,
    pub state: String,
}

/// Read the controller `name` in the class directory `dir`.
pub fn read_device(dir: &Path, name: &str) -> Result<NvmeDevice, CollectError> {
    let read = |f: &str| {
        let path = dir.join(name).join(f);
        sys_read_file(&path).map_err(|e| CollectError::io(&path, e))
    };
    Ok(NvmeDevice {
        name: name.to_string(),
        firmware_revision: read("firmware_rev")?,
        model: read("model")?,
        serial: read("serial")?,
        state: read("state")?,
    })
}

/// Every controller in the class directory `dir`, sorted by name.
pub fn read_class(dir: &Path) -> Result<Vec<NvmeDevice>, CollectError> {
    sorted_entry_names(dir)?
        .iter()
        .map(|n| read_device(dir, n))
        .collect()
}

/// The `nvme` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    for d in read_class(&roots.sys("class/nvme"))? {
        out.sample(
            "node_nvme_info",
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
            Kind::Gauge,
            vec![
                ("device".to_string(), d.name),
                ("firmware_revision".to_string(), d.firmware_revision),
                ("model".to_string(), d.model),
                ("serial".to_string(), d.serial),
                ("state".to_string(), d.state),
            ],
            1.0,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, fixture_root};

    #[test]
    fn reads_fixture_controllers() {
        let devs = read_class(&fixture_root().join("sys/class/nvme")).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(
            devs[0],
            NvmeDevice {
                name: "nvme0".into(),
                firmware_revision: "5B2QGXA7".into(),
                model: "Samsung SSD 980 PRO 1TB".into(),
                serial: "S5GXNF0R123456K".into(),
                state: "live".into(),
            }
        );
        assert_eq!(devs[1].state, "resetting");
    }

    #[test]
    fn missing_attribute_is_no_data() {
        let dir = std::env::temp_dir().join(format!("hostlens-nvme-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nvme0")).unwrap();
        std::fs::write(dir.join("nvme0/model"), "x\n").unwrap();
        let err = read_class(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.is_no_data());
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("nvme");
        assert_eq!(
            out.value(
                "node_nvme_info",
                &[
                    ("device", "nvme1"),
                    ("firmware_revision", "VDV10170"),
                    ("model", "INTEL SSDPE2KX040T8"),
                    ("serial", "PHLJ9123004L4P0DGN"),
                    ("state", "resetting")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(out.get("node_nvme_info").unwrap().samples.len(), 2);
    }
}
