//! `slabinfo` (off by default, as in node_exporter): node_slabinfo_*{slab} from `/proc/slabinfo` (version
//! 2.1, readable by root only), as prometheus/procfs' `SlabInfo` reads it, filtered by node_exporter 1.9's
//! `--collector.slabinfo.slabs-include` / `--collector.slabinfo.slabs-exclude`.
//!
//! A missing or unreadable file is an error, as in node_exporter.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::error::ParseError;
use crate::read::{parse_i64, read_to_string};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// procfs' `\s+`, with Go's ASCII class.
static SPACES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\t\n\x0c\r ]+").expect("a valid regex"));

/// One slab cache line: `name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables
/// <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slab {
    pub name: String,
    pub active_objects: i64,
    pub objects: i64,
    pub object_size: i64,
    pub objects_per_slab: i64,
    pub pages_per_slab: i64,
}

/// Parse `/proc/slabinfo` as procfs does: the `slabinfo -` version line and the `# name` header are
/// skipped; every other line (an empty one too) must have exactly 16 fields once each run of whitespace
/// is one space, and its 11 numbers must be decimal integers, the tunables and slab counts included.
pub fn parse_slabinfo(text: &str) -> Result<Vec<Slab>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.contains("slabinfo -") || line.contains("# name") {
            continue;
        }
        // Go's `\s+` → " " then a split at " ": leading or trailing whitespace makes an empty field.
        let squeezed = SPACES.replace_all(line, " ");
        let s: Vec<&str> = squeezed.split(' ').collect();
        if s.len() != 16 {
            return Err(ParseError::new(format!("unable to parse: {line:?}")));
        }
        let num = |i: usize| parse_i64(s[i]).map_err(|e| ParseError::new(format!("{line:?}: {e}")));
        for i in [8, 9, 10, 13, 14, 15] {
            num(i)?;
        }
        out.push(Slab {
            name: s[0].to_string(),
            active_objects: num(1)?,
            objects: num(2)?,
            object_size: num(3)?,
            objects_per_slab: num(4)?,
            pages_per_slab: num(5)?,
        });
    }
    Ok(out)
}

/// The slabinfo collector's flags (node_exporter 1.9).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of slabs to include in slabinfo collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.slabinfo.slabs-include",
        long = "collector.slabinfo.slabs-include",
        default_value = ".*"
    )]
    pub slabs_include: String,
    /// Regexp of slabs to exclude in slabinfo collector.
    #[arg(
        value_name = "REGEX",
        id = "collector.slabinfo.slabs-exclude",
        long = "collector.slabinfo.slabs-exclude",
        default_value = ""
    )]
    pub slabs_exclude: String,
}

pub struct Slabinfo {
    roots: Arc<Roots>,
    include: Option<Regex>,
    exclude: Option<Regex>,
}

impl Slabinfo {
    /// node_exporter's `deviceFilter.ignored`: excluded by a non-empty exclude, or not matched by a
    /// non-empty include.
    fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

const METRICS: [(&str, &str); 5] = [
    (
        "node_slabinfo_active_objects",
        "The number of objects that are currently active (i.e., in use).",
    ),
    (
        "node_slabinfo_objects",
        "The total number of allocated objects (i.e., objects that are both in use and not in use).",
    ),
    (
        "node_slabinfo_object_size_bytes",
        "The size of objects in this slab, in bytes.",
    ),
    (
        "node_slabinfo_objects_per_slab",
        "The number of objects stored in each slab.",
    ),
    (
        "node_slabinfo_pages_per_slab",
        "The number of pages allocated for each slab.",
    ),
];

impl NodeCollector for Slabinfo {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.slabinfo;
        Ok(Slabinfo {
            roots: cfg.roots.clone(),
            include: super::optional_flag_regex(
                "collector.slabinfo.slabs-include",
                &f.slabs_include,
            )?,
            exclude: super::optional_flag_regex(
                "collector.slabinfo.slabs-exclude",
                &f.slabs_exclude,
            )?,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = self.roots.proc("slabinfo");
        let slabs = parse_slabinfo(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
        for s in slabs.iter().filter(|s| !self.ignored(&s.name)) {
            let labels = [("slab", s.name.as_str())];
            let values = [
                s.active_objects,
                s.objects,
                s.object_size,
                s.objects_per_slab,
                s.pages_per_slab,
            ];
            for ((name, help), v) in METRICS.iter().zip(values) {
                out.gauge(name, help, &labels, v as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects, collect_with, fixture_config};

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/slabinfo");

    #[test]
    fn parses_fixture() {
        let s = parse_slabinfo(FIXTURE).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["ext4_inode_cache", "kmalloc-rcl-96", "dentry", "kmalloc-64"]
        );
        assert_eq!(
            s[0],
            Slab {
                name: "ext4_inode_cache".into(),
                active_objects: 61326,
                objects: 61530,
                object_size: 1160,
                objects_per_slab: 28,
                pages_per_slab: 8,
            }
        );
    }

    #[test]
    fn rejects_what_procfs_rejects() {
        let ok = "dentry 1 2 3 4 5 : tunables 0 0 0 : slabdata 6 7 0";
        assert_eq!(
            parse_slabinfo(&format!("{ok}\n")).unwrap()[0].pages_per_slab,
            5
        );
        assert_eq!(parse_slabinfo(&ok.replace(' ', "\t  ")).unwrap().len(), 1);
        assert_rejects(
            parse_slabinfo,
            &[
                &format!(" {ok}\n"),
                &format!("{ok} \n"),
                &format!("{ok}\n\n"),
                "dentry 1 2 3 4 5 : tunables 0 0 0 : slabdata 6 7\n",
                &ok.replace("tunables 0", "tunables x"),
                &ok.replace("slabdata 6", "slabdata 0x6"),
                &ok.replace("dentry 1", "dentry 1.0"),
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "slabinfo",
            &[
                (
                    "node_slabinfo_active_objects",
                    &[("slab", "dentry")],
                    120651.0,
                ),
                ("node_slabinfo_objects", &[("slab", "dentry")], 121485.0),
                (
                    "node_slabinfo_object_size_bytes",
                    &[("slab", "kmalloc-64")],
                    64.0,
                ),
                (
                    "node_slabinfo_objects_per_slab",
                    &[("slab", "kmalloc-rcl-96")],
                    42.0,
                ),
                (
                    "node_slabinfo_pages_per_slab",
                    &[("slab", "ext4_inode_cache")],
                    8.0,
                ),
            ],
        );
        assert_eq!(out.families().len(), 5);
        assert_eq!(out.get("node_slabinfo_objects").unwrap().samples.len(), 4);
    }

    #[test]
    fn include_and_exclude() {
        let mut cfg = fixture_config();
        cfg.slabinfo.slabs_include = "^kmalloc".into();
        cfg.slabinfo.slabs_exclude = "rcl".into();
        let out = collect_with("slabinfo", &cfg).unwrap();
        let f = out.get("node_slabinfo_objects").unwrap();
        assert_eq!(f.samples.len(), 1);
        assert_eq!(
            f.samples[0].labels,
            [("slab".to_string(), "kmalloc-64".to_string())]
        );
        cfg.slabinfo.slabs_include = String::new();
        let out = collect_with("slabinfo", &cfg).unwrap();
        assert_eq!(out.get("node_slabinfo_objects").unwrap().samples.len(), 3);
        cfg.slabinfo.slabs_exclude = "(".into();
        assert!(collect_with("slabinfo", &cfg).is_err());
    }
}
