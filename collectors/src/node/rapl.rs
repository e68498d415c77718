//! `rapl`: node_rapl_<zone>_joules_total{index,path} from the powercap RAPL zones
//! `/sys/class/powercap/<zone>/{name,energy_uj,max_energy_range_uj}` (Documentation/power/powercap/powercap.rst).
//!
//! As node_exporter (prometheus/procfs `GetRaplZones`): every class entry with a readable `name` file is a
//! zone; a name `<kind>-<n>` gives index n and kind `<kind>`, any other name is indexed by how often it was
//! seen before (entries in name order). With `--collector.rapl.enable-zone-label` all zones share
//! node_rapl_joules_total{index,path,rapl_zone}. `energy_uj` is root-only since Linux 5.10: permission
//! denied makes the scrape a no-data one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::read::parse_u64;
use crate::{CollectError, Kind, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// One RAPL zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaplZone {
    /// The zone's name without its `-<n>` suffix (`package`, `core`, `dram`, `psys`, …).
    pub name: String,
    pub index: i64,
    /// The zone's directory, as node_exporter prints it in the `path` label.
    pub path: String,
}

/// Split a zone name into (index, kind) as procfs' `getIndexAndName`: `package-0` is (0, `package`); a name
/// without such a suffix gets the number of times it was used before.
pub fn index_and_name(counts: &HashMap<String, i64>, name: &str) -> (i64, String) {
    let mut parts = name.split('-');
    if let (Some(kind), Some(n), None) = (parts.next(), parts.next(), parts.next()) {
        if let Ok(i) = n.parse::<i64>() {
            return (i, kind.to_string());
        }
    }
    (counts.get(name).copied().unwrap_or(0), name.to_string())
}

/// The zones under the powercap class directory `dir`, in directory-name order.
pub fn read_zones(dir: &Path) -> Result<Vec<RaplZone>, CollectError> {
    let entries = crate::read::sorted_entry_names(dir)?;
    let mut counts: HashMap<String, i64> = HashMap::new();
    let mut zones = Vec::new();
    for entry in entries {
        let zdir = dir.join(&entry);
        let Ok(raw) = crate::read::read_file(zdir.join("name")) else {
            continue;
        };
        let (index, name) = index_and_name(&counts, raw.trim());
        // procfs reads max_energy_range_uj for every zone and fails on it; we do not export it.
        let max = zdir.join("max_energy_range_uj");
        let content = crate::read::read_to_string(&max)?;
        parse_u64(&content).map_err(|e| e.at(&max))?;
        counts.insert(name.clone(), index + 1);
        zones.push(RaplZone {
            name,
            index,
            path: zdir.to_string_lossy().into_owned(),
        });
    }
    Ok(zones)
}

pub struct Rapl {
    roots: Arc<Roots>,
    zone_label: bool,
    /// node_exporter's `SanitizeMetricName`.
    sanitize: Regex,
}

/// The rapl collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Export one node_rapl_joules_total with a rapl_zone label instead of one metric per zone.
    #[arg(
        id = "collector.rapl.enable-zone-label",
        long = "collector.rapl.enable-zone-label"
    )]
    pub enable_zone_label: bool,
}

impl NodeCollector for Rapl {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let sanitize = Regex::new("_*[^0-9A-Za-z_]+_*")
            .map_err(|e| CollectError::Other(format!("rapl: {e}")))?;
        Ok(Rapl {
            roots: cfg.roots.clone(),
            zone_label: cfg.rapl.enable_zone_label,
            sanitize,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let zones = match read_zones(&self.roots.sys("class/powercap")) {
            Ok(z) => z,
            Err(CollectError::Io { path, source })
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                return Err(CollectError::NoData(format!(
                    "cannot access {}: {source}",
                    path.display()
                )))
            }
            Err(e) => return Err(e),
        };
        for z in zones {
            let file = Path::new(&z.path).join("energy_uj");
            let uj = match crate::read::read_file(&file) {
                Ok(s) => parse_u64(&s).map_err(|e| e.at(&file))?,
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(CollectError::NoData(format!(
                        "cannot read {}: {e}",
                        file.display()
                    )))
                }
                Err(e) => return Err(CollectError::io(&file, e)),
            };
            let joules = uj as f64 / 1_000_000.0;
            let index = z.index.to_string();
            if self.zone_label {
                out.sample(
                    "node_rapl_joules_total",
                    "Current RAPL value in joules",
                    Kind::Counter,
                    vec![
                        ("index".to_string(), index),
                        ("path".to_string(), z.path),
                        ("rapl_zone".to_string(), z.name),
                    ],
                    joules,
                );
            } else {
                let name = format!(
                    "node_rapl_{}_joules_total",
                    self.sanitize.replace_all(&z.name, "_")
                );
                out.sample(
                    &name,
                    &format!("Current RAPL {} value in joules", z.name),
                    Kind::Counter,
                    vec![("index".to_string(), index), ("path".to_string(), z.path)],
                    joules,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_with, fixture_config, fixture_root};

    #[test]
    fn names_and_indexes() {
        let mut counts = HashMap::new();
        assert_eq!(index_and_name(&counts, "package-1"), (1, "package".into()));
        assert_eq!(index_and_name(&counts, "dram"), (0, "dram".into()));
        counts.insert("dram".to_string(), 1);
        assert_eq!(index_and_name(&counts, "dram"), (1, "dram".into()));
        // Not `<kind>-<n>`: the whole name, counted.
        assert_eq!(index_and_name(&counts, "a-b-1"), (0, "a-b-1".into()));
        assert_eq!(index_and_name(&counts, "pkg-x"), (0, "pkg-x".into()));
    }

    #[test]
    fn reads_fixture_zones() {
        let dir = fixture_root().join("sys/class/powercap");
        let zones = read_zones(&dir).unwrap();
        let got: Vec<(&str, i64)> = zones.iter().map(|z| (z.name.as_str(), z.index)).collect();
        assert_eq!(
            got,
            [
                ("package", 0), // intel-rapl-mmio:0
                ("package", 0),
                ("core", 0),
                ("uncore", 0),
                ("dram", 0),
                ("package", 1),
                ("dram", 1), // second unnumbered dram
                ("psys", 0),
            ]
        );
        assert!(zones[1].path.ends_with("sys/class/powercap/intel-rapl:0"));
    }

    #[test]
    fn collects_from_fixture_root() {
        let cfg = fixture_config();
        let out = collect_with("rapl", &cfg).unwrap();
        let base = cfg.roots.sys("class/powercap");
        let p = |z: &str| base.join(z).to_string_lossy().into_owned();
        assert_values(
            &out,
            &[
                (
                    "node_rapl_package_joules_total",
                    &[("index", "0"), ("path", &p("intel-rapl:0"))],
                    240422.366267,
                ),
                (
                    "node_rapl_dram_joules_total",
                    &[("index", "0"), ("path", &p("intel-rapl:0:2"))],
                    18_446_744_073_709_551_615.0 / 1e6,
                ),
            ],
        );
        assert_eq!(
            out.get("node_rapl_package_joules_total").unwrap().kind,
            Kind::Counter
        );
        assert_eq!(
            out.get("node_rapl_dram_joules_total")
                .unwrap()
                .samples
                .len(),
            2
        );
        assert!(out.get("node_rapl_psys_joules_total").is_some());
    }

    #[test]
    fn zone_label_variant() {
        let mut cfg = fixture_config();
        cfg.rapl.enable_zone_label = true;
        let out = collect_with("rapl", &cfg).unwrap();
        assert_eq!(out.families().len(), 1);
        let fam = out.get("node_rapl_joules_total").unwrap();
        assert_eq!(fam.samples.len(), 8);
        assert_eq!(
            out.value(
                "node_rapl_joules_total",
                &[("rapl_zone", "core"), ("index", "0")]
            ),
            Some(118821.284256)
        );
    }
}
