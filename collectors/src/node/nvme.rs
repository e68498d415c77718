//! `nvme`: node_nvme_info from `/sys/class/nvme/<controller>/{firmware_rev,model,serial,state,cntlid}`
//! (drivers/nvme/host/core.c), one series per NVMe controller, and the node_nvme_namespace_* series of
//! each namespace directory `<controller>/nvme<C>n<N>` (1.11, #3360), as node_exporter 1.12.1 through
//! procfs 0.21.1's `NVMeClass`.
//!
//! Every entry of the class directory must have the five attributes: a missing one (a controller being
//! removed) makes the scrape a no-data one, any other read error fails it. A namespace is a directory
//! entry whose name contains `nvme<digits>n<digits>`; the `nsid` label is those last digits (procfs 0.21
//! matches `nvme\d+n(\d+)`, so the multipath `nvme0c0n1` paths are not namespaces any more: 1.12's
//! change from 1.11, which matched only those). Its `nuse`, `size` and `queue/logical_block_size` must be
//! there (a value that is not a number is 0); `ana_state` is optional (`unknown` without it). Sizes are
//! blocks × logical block size, `uint64` products as in Go.

use std::path::Path;

use crate::{CollectError, Kind, MetricSet, Roots};

use crate::read::{sorted_entry_names, sys_read_file};

/// One namespace of a controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmeNamespace {
    pub id: String,
    pub ana_state: String,
    pub used_blocks: u64,
    pub size_blocks: u64,
    pub logical_block_size: u64,
}

impl NvmeNamespace {
    pub fn used_bytes(&self) -> u64 {
        self.used_blocks.wrapping_mul(self.logical_block_size)
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_blocks.wrapping_mul(self.logical_block_size)
    }
}

/// One controller's info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmeDevice {
    pub name: String,
    pub firmware_revision: String,
    pub model: String,
    pub serial: String,
    pub state: String,
    pub controller_id: String,
    pub namespaces: Vec<NvmeNamespace>,
}

/// The namespace id of a controller's directory entry `name`: the digits after `nvme<digits>n` found
/// anywhere in it (procfs's unanchored `nvme\d+n(\d+)`); `None` for any other entry.
pub fn namespace_id(name: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let mut from = 0;
    while let Some(i) = name[from..].find("nvme") {
        let start = from + i + 4;
        let rest = &name[start..];
        let n = digits(rest);
        if n > 0 {
            if let Some(after) = rest[n..].strip_prefix('n') {
                let m = digits(after);
                if m > 0 {
                    return Some(&after[..m]);
                }
            }
        }
        from = from + i + 1;
    }
    None
}

fn read(path: &Path) -> Result<String, CollectError> {
    sys_read_file(path).map_err(|e| CollectError::io(path, e))
}

/// Read the namespace directory `dir` with id `id`.
pub fn read_namespace(dir: &Path, id: &str) -> Result<NvmeNamespace, CollectError> {
    let num = |f: &str| -> Result<u64, CollectError> {
        Ok(read(&dir.join(f))?.parse::<u64>().unwrap_or(0))
    };
    let ana = dir.join("ana_state");
    Ok(NvmeNamespace {
        id: id.to_string(),
        used_blocks: num("nuse")?,
        size_blocks: num("size")?,
        logical_block_size: num("queue/logical_block_size")?,
        // procfs skips any error reading ana_state.
        ana_state: sys_read_file(&ana).unwrap_or_else(|_| "unknown".to_string()),
    })
}

/// Read the controller `name` in the class directory `dir`.
pub fn read_device(dir: &Path, name: &str) -> Result<NvmeDevice, CollectError> {
    let cdir = dir.join(name);
    let attr = |f: &str| read(&cdir.join(f));
    let mut d = NvmeDevice {
        name: name.to_string(),
        firmware_revision: attr("firmware_rev")?,
        model: attr("model")?,
        serial: attr("serial")?,
        state: attr("state")?,
        controller_id: attr("cntlid")?,
        namespaces: Vec::new(),
    };
    for entry in sorted_entry_names(&cdir)? {
        if let Some(id) = namespace_id(&entry) {
            d.namespaces.push(read_namespace(&cdir.join(&entry), id)?);
        }
    }
    Ok(d)
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
                ("device".to_string(), d.name.clone()),
                ("firmware_revision".to_string(), d.firmware_revision),
                ("model".to_string(), d.model),
                ("serial".to_string(), d.serial),
                ("state".to_string(), d.state),
                ("cntlid".to_string(), d.controller_id),
            ],
            1.0,
        );
        for ns in &d.namespaces {
            let labels = [("device", d.name.as_str()), ("nsid", ns.id.as_str())];
            out.gauge(
                "node_nvme_namespace_info",
                "Information about NVMe namespaces. Value is always 1",
                &[
                    ("device", d.name.as_str()),
                    ("nsid", ns.id.as_str()),
                    ("ana_state", ns.ana_state.as_str()),
                ],
                1.0,
            );
            for (name, help, v) in [
                (
                    "node_nvme_namespace_capacity_bytes",
                    "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
                    ns.size_bytes(),
                ),
                (
                    "node_nvme_namespace_size_bytes",
                    "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
                    ns.size_bytes(),
                ),
                (
                    "node_nvme_namespace_used_bytes",
                    "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
                    ns.used_bytes(),
                ),
                (
                    "node_nvme_namespace_logical_block_size_bytes",
                    "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
                    ns.logical_block_size,
                ),
            ] {
                out.gauge(name, help, &labels, v as f64);
            }
        }
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
                controller_id: "6".into(),
                namespaces: vec![NvmeNamespace {
                    id: "1".into(),
                    ana_state: "optimized".into(),
                    used_blocks: 1000,
                    size_blocks: 244190646,
                    logical_block_size: 4096,
                }],
            }
        );
        assert_eq!(devs[1].state, "resetting");
        // nvme1: nvme1n2 without ana_state and a bad nuse; the multipath path nvme1c1n1 is skipped.
        assert_eq!(
            devs[1].namespaces,
            [NvmeNamespace {
                id: "2".into(),
                ana_state: "unknown".into(),
                used_blocks: 0,
                size_blocks: 100,
                logical_block_size: 512,
            }]
        );
    }

    #[test]
    fn namespace_ids() {
        assert_eq!(namespace_id("nvme0n1"), Some("1"));
        assert_eq!(namespace_id("nvme12n34"), Some("34"));
        assert_eq!(namespace_id("nvme0c0n1"), None);
        assert_eq!(namespace_id("nvme0"), None);
        assert_eq!(namespace_id("xnvme3n7p1"), Some("7"));
        assert_eq!(namespace_id("nvmenvme1n2"), Some("2"));
        assert_eq!(namespace_id("power"), None);
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
                    ("state", "resetting"),
                    ("cntlid", "0"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(out.get("node_nvme_info").unwrap().samples.len(), 2);
        let ns = [("device", "nvme0"), ("nsid", "1")];
        assert_eq!(
            out.value("node_nvme_namespace_size_bytes", &ns),
            Some(244190646.0 * 4096.0)
        );
        assert_eq!(
            out.value("node_nvme_namespace_used_bytes", &ns),
            Some(4096000.0)
        );
        assert_eq!(
            out.value(
                "node_nvme_namespace_info",
                &[("device", "nvme1"), ("nsid", "2"), ("ana_state", "unknown")]
            ),
            Some(1.0)
        );
    }
}
