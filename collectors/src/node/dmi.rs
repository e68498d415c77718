//! `dmi`: node_dmi_info from `/sys/class/dmi/id/` (the SMBIOS strings the kernel exposes,
//! Documentation/ABI/testing/sysfs-class-dmi-id), one series whose labels are the attributes present.
//!
//! As node_exporter, the files are read once when the collector is built (they do not change before the
//! next boot); files root alone may read (`product_serial`, `board_serial`, `product_uuid`, …) are left out
//! when permission is denied; invalid UTF-8 is replaced the way Go's `strings.ToValidUTF8` does it (one
//! U+FFFD per run of bad bytes).

use std::path::Path;

use crate::read::{read_attr, read_dir_sorted};
use crate::{CollectError, Kind, MetricSet};

use super::{NodeCollector, NodeConfig};

/// sysfs file name and label name, in label-name order.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
];

const HELP: &str = "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, \
bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, \
chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, product_sku, \
product_uuid, product_version, system_vendor if provided by DMI.";

/// The labels of node_dmi_info (sorted by name) from the directory `dir`: every regular file of
/// [`ATTRIBUTES`] that can be read. A missing directory gives no labels.
pub fn read_dmi(dir: &Path) -> Result<Vec<(String, String)>, CollectError> {
    let entries = match read_dir_sorted(dir) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::io(dir, e)),
    };
    let mut labels = Vec::new();
    for entry in entries.iter().filter(|e| e.file_type.is_file()) {
        let Some(&(_, label)) = ATTRIBUTES.iter().find(|(f, _)| entry.name == *f) else {
            continue;
        };
        if let Some(v) = read_attr(dir.join(&entry.name))? {
            labels.push((label.to_string(), v));
        }
    }
    labels.sort_unstable();
    Ok(labels)
}

pub struct Dmi {
    labels: Vec<(String, String)>,
}

impl NodeCollector for Dmi {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let labels = read_dmi(&cfg.roots.sys("class/dmi/id"))?;
        Ok(Dmi { labels })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.labels.is_empty() {
            return Err(CollectError::NoData(
                "no DMI information in /sys/class/dmi/id".to_string(),
            ));
        }
        out.sample("node_dmi_info", HELP, Kind::Gauge, self.labels.clone(), 1.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_root};

    #[test]
    fn reads_fixture_dmi() {
        let labels = read_dmi(&fixture_root().join("sys/class/dmi/id")).unwrap();
        let get = |k: &str| labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
        assert_eq!(get("system_vendor"), Some("Supermicro"));
        assert_eq!(get("product_name"), Some("SYS-1029P-WTR"));
        // Present but empty files give an empty label; chassis_type, modalias and uevent are not labels.
        assert_eq!(get("chassis_version"), Some(""));
        assert_eq!(get("product_version"), Some("0123456789 \u{FFFD}"));
        assert!(get("chassis_type").is_none() && get("modalias").is_none());
        // board_asset_tag is absent from the fixture, so it is not a label.
        assert!(get("board_asset_tag").is_none());
        assert!(labels.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("dmi");
        let fam = out.get("node_dmi_info").unwrap();
        assert_eq!(fam.samples.len(), 1);
        assert_eq!(fam.samples[0].labels.len(), 19);
        assert_eq!(
            out.value(
                "node_dmi_info",
                &[
                    ("bios_vendor", "American Megatrends Inc."),
                    ("bios_release", "5.14")
                ]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn no_dmi_is_no_data() {
        let cfg = crate::node::testutil::fixture_config_with("proc", "nonexistent");
        let err = collect_with("dmi", &cfg).unwrap_err();
        assert!(err.is_no_data());
    }
}
