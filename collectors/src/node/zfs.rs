//! `zfs`: node_zfs_* from the ZFS on Linux kstats under `/proc/spl/kstat/zfs`, as node_exporter 1.12.1
//! (`collector/zfs_linux.go`, unchanged since 1.11) reads them:
//!
//! - the module-wide kstat files (`arcstats`, `abdstats`, …): one untyped `node_zfs_<subsystem>_<name>`
//!   per `uint64` (type 4) or `int64` (type 3) row, HELP `kstat.zfs.misc.<file>.<name>`. Since 1.9
//!   (node_exporter#2961) an `int64` row is read signed, so a negative value is exported as negative rather
//!   than wrapped to a huge unsigned one;
//! - each pool's `io` (`node_zfs_zpool_<column>{zpool}`), `objset-*` (`node_zfs_zpool_dataset_<name>{zpool,
//!   dataset}`; since 1.9, node_exporter#3186, a dataset name may hold spaces: the name is the rest of the
//!   line) and `state` (`node_zfs_zpool_state{zpool,state}`, one gauge per known state, 1 for the pool's).
//!
//! Without `/proc/spl/kstat/zfs` (no zfs module) the collector reports [`CollectError::NoData`], as
//! node_exporter returns `ErrNoData` (so `node_scrape_collector_success` is 0). A kstat file the module
//! does not have is skipped; a file that does not parse fails the collector, as upstream.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::read::{read_dir_sorted, to_valid_utf8, with_file_bytes};
use crate::{CollectError, MetricSet, Roots};

/// The module-wide kstat files: (metric subsystem, file under `spl/kstat/zfs`), node_exporter's
/// `linuxPathMap`.
const SUBSYSTEMS: &[(&str, &str)] = &[
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    // Deprecated in ZFS, still read.
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    // No consumers of the XUIO interface exist on Linux; still read.
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

/// The pool states node_exporter exports, in its order (`zfsPoolStatesName`).
pub const POOL_STATES: [&str; 7] = [
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

/// kstat data types (`KSTAT_DATA_*` in ZFS' `kstat.h`) node_exporter reads; rows of other types are skipped.
const KSTAT_DATA_INT64: &str = "3";
const KSTAT_DATA_UINT64: &str = "4";

/// One row of a named kstat file: its name (as in the file) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Kstat {
    pub name: String,
    pub value: f64,
}

/// One row of a pool's `objset-*` file: the pool and dataset it is of (empty until the file's
/// `dataset_name` row, as upstream), the row's name and value.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjsetStat {
    pub zpool: String,
    pub dataset: String,
    pub name: String,
    pub value: u64,
}

/// The metric name of a kstat: the part after the key's last `.`, with `-` as `_` (`zfsSysctl.metricName`).
pub fn metric_name(kstat: &str) -> String {
    kstat.rsplit('.').next().unwrap_or(kstat).replace('-', "_")
}

/// Whether the fields are the `name type data` header after which rows are read.
fn is_header(parts: &[&str]) -> bool {
    parts == ["name", "type", "data"]
}

/// Go's `strconv.ParseUint(s, 10, 64)` (no sign accepted).
fn go_uint(s: &str) -> Option<u64> {
    if s.starts_with('+') {
        return None;
    }
    s.parse().ok()
}

/// Parse a module-wide kstat file (`arcstats`, …; `file` names it in errors and HELP keys): every `uint64`
/// and `int64` row after the `name type data` header. A file without the header is an error.
pub fn parse_kstat(text: &str, file: &str) -> Result<Vec<Kstat>, ParseError> {
    let mut out = Vec::new();
    let mut started = false;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if !started && is_header(&parts) {
            started = true;
            continue;
        }
        if !started || parts.len() < 3 {
            continue;
        }
        let value = match parts[1] {
            KSTAT_DATA_UINT64 => go_uint(parts[2]).map(|v| v as f64).ok_or("unsigned"),
            KSTAT_DATA_INT64 => parts[2].parse::<i64>().map(|v| v as f64).map_err(|_| "signed"),
            _ => continue,
        }
        .map_err(|kind| {
            ParseError::new(format!(
                "could not parse expected {kind} integer value for \"kstat.zfs.misc.{file}.{}\": {:?}",
                parts[0], parts[2]
            ))
        })?;
        out.push(Kstat {
            name: parts[0].to_string(),
            value,
        });
    }
    if !started {
        return Err(ParseError::new(format!(
            "did not parse a single \"{file}\" metric"
        )));
    }
    Ok(out)
}

/// Parse a pool's `io` kstat: the column names of the first line starting with `nread` that has at least
/// 12 fields, then every later line's values by column. A file without that header yields nothing.
pub fn parse_pool_io(text: &str) -> Result<Vec<(String, u64)>, ParseError> {
    let mut out = Vec::new();
    let mut header: Option<Vec<&str>> = None;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(columns) = &header else {
            if parts.len() >= 12 && parts[0] == "nread" {
                header = Some(parts);
            }
            continue;
        };
        // node_exporter indexes the row by the header's columns and panics on a shorter row.
        if parts.len() < columns.len() {
            return Err(ParseError::new(format!(
                "io: a row of {} values for {} columns: {line:?}",
                parts.len(),
                columns.len()
            )));
        }
        for (col, v) in columns.iter().zip(&parts) {
            let value = go_uint(v).ok_or_else(|| {
                ParseError::new(format!(
                    "could not parse expected integer value for \"kstat.zfs.misc.io.{col}\": {v:?}"
                ))
            })?;
            out.push(((*col).to_string(), value));
        }
    }
    Ok(out)
}

/// Parse a pool's `objset-*` kstat (`zpool` is the pool's directory name): the `uint64` rows after the
/// `name type data` header, each with the dataset of the `dataset_name` row before it. The dataset name
/// is the rest of that row from the first occurrence of its first word (node_exporter#3186: names with
/// spaces; as upstream, that occurrence is searched from the start of the line). A file without the
/// header is an error.
pub fn parse_objset(text: &str, zpool: &str) -> Result<Vec<ObjsetStat>, ParseError> {
    let mut out = Vec::new();
    let mut started = false;
    let (mut pool, mut dataset) = (String::new(), String::new());
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if !started && is_header(&parts) {
            started = true;
            continue;
        }
        if !started || parts.len() < 3 {
            continue;
        }
        if parts[0] == "dataset_name" {
            pool = zpool.to_string();
            dataset = line.find(parts[2]).map_or("", |i| &line[i..]).to_string();
            continue;
        }
        if parts[1] == KSTAT_DATA_UINT64 {
            let value = go_uint(parts[2]).ok_or_else(|| {
                ParseError::new(format!(
                    "could not parse expected integer value for \"kstat.zfs.misc.objset.{}\"",
                    parts[0]
                ))
            })?;
            out.push(ObjsetStat {
                zpool: pool.clone(),
                dataset: dataset.clone(),
                name: parts[0].to_string(),
                value,
            });
        }
    }
    if !started {
        return Err(ParseError::new(format!(
            "did not parse a single {pool} {dataset} metric"
        )));
    }
    Ok(out)
}

/// The state of a pool from its `state` file: the first line, lower-cased (`ONLINE` → `online`).
pub fn parse_pool_state(text: &str) -> String {
    text.lines().next().unwrap_or("").to_lowercase()
}

/// Whether a read error is one node_exporter's `os.Open` failing: the kstat is not there (this ZFS version
/// does not have it), so it is skipped.
fn is_open_failure(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::NotADirectory
    )
}

/// Read a kstat file, bytes that are not UTF-8 replaced (kstats are ASCII; Go does not check).
fn read_kstat(path: &Path) -> io::Result<String> {
    with_file_bytes(path, to_valid_utf8)
}

/// Read a pool's kstat file: any failure is an error (a pool being exported races with the scrape; upstream
/// fails the collector then too).
fn read_pool_file(path: &Path) -> Result<String, CollectError> {
    read_kstat(path).map_err(|e| CollectError::io(path, e))
}

/// The `zfs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let base = roots.proc("spl/kstat/zfs");
    let entries = read_dir_sorted(&base).map_err(|e| {
        CollectError::NoData(format!(
            "ZFS / ZFS statistics are not available: {}: {e}",
            base.display()
        ))
    })?;

    for (subsystem, file) in SUBSYSTEMS {
        let path = base.join(file);
        let text = match read_kstat(&path) {
            Ok(t) => t,
            // Kstat files come with ZFS features: one this module lacks is skipped.
            Err(e) if is_open_failure(&e) => continue,
            Err(e) => return Err(CollectError::io(&path, e)),
        };
        for k in parse_kstat(&text, file).map_err(|e| e.at(&path))? {
            out.untyped(
                &format!("node_{subsystem}_{}", metric_name(&k.name)),
                &format!("kstat.zfs.misc.{file}.{}", k.name),
                &[],
                k.value,
            );
        }
    }

    // The pools: `<base>/*/{io,objset-*,state}` as Go's `filepath.Glob` finds them (directories, in name
    // order; a directory that cannot be listed matches nothing).
    let pools: Vec<(String, PathBuf, Vec<String>)> = entries
        .into_iter()
        .filter_map(|e| {
            let dir = base.join(&e.name);
            let files = read_dir_sorted(&dir).ok()?;
            Some((e.name, dir, files.into_iter().map(|f| f.name).collect()))
        })
        .collect();
    let pool_files = |matches: fn(&str) -> bool| {
        pools.iter().flat_map(move |(pool, dir, files)| {
            files
                .iter()
                .filter(move |f| matches(f))
                .map(move |f| (pool.as_str(), dir.join(f)))
        })
    };

    for (pool, path) in pool_files(|f| f == "io") {
        for (column, value) in parse_pool_io(&read_pool_file(&path)?).map_err(|e| e.at(&path))? {
            out.untyped(
                &format!("node_zfs_zpool_{}", metric_name(&column)),
                &format!("kstat.zfs.misc.io.{column}"),
                &[("zpool", pool)],
                value as f64,
            );
        }
    }

    for (pool, path) in pool_files(|f| f.starts_with("objset-")) {
        for s in parse_objset(&read_pool_file(&path)?, pool).map_err(|e| e.at(&path))? {
            out.untyped(
                &format!("node_zfs_zpool_dataset_{}", metric_name(&s.name)),
                &format!("kstat.zfs.misc.objset.{}", s.name),
                &[("zpool", &s.zpool), ("dataset", &s.dataset)],
                s.value as f64,
            );
        }
    }

    for (pool, path) in pool_files(|f| f == "state") {
        let state = parse_pool_state(&read_pool_file(&path)?);
        for name in POOL_STATES {
            out.gauge(
                "node_zfs_zpool_state",
                "kstat.zfs.misc.state",
                &[("zpool", pool), ("state", name)],
                if state == name { 1.0 } else { 0.0 },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config_with};

    const ARCSTATS: &str = include_str!("../../tests/fixtures/proc/spl/kstat/zfs/arcstats");
    const IO: &str = include_str!("../../tests/fixtures/proc/spl/kstat/zfs/tank/io");
    const OBJSET: &str = include_str!("../../tests/fixtures/proc/spl/kstat/zfs/tank/objset-0x36");

    #[test]
    fn parses_named_kstats_signed_and_unsigned() {
        let k = parse_kstat(ARCSTATS, "arcstats").unwrap();
        let get = |n: &str| k.iter().find(|k| k.name == n).map(|k| k.value);
        assert_eq!(get("hits"), Some(123456.0));
        // int64 rows are signed (node_exporter#2961): no wrap-around.
        assert_eq!(get("arc_no_grow_delta"), Some(-42.0));
        assert_eq!(get("memory_available_bytes"), Some(-1048576.0));
        // Other kstat types (a string, a uint32) are skipped.
        assert_eq!(get("arc_label"), None);
        assert_eq!(get("small32"), None);
        // The preamble line before the header is not a row.
        assert!(k.iter().all(|k| k.name != "6"));
    }

    #[test]
    fn kstat_errors() {
        assert!(parse_kstat("1 2 3\nhits 4 5\n", "arcstats").is_err());
        let e = parse_kstat("name type data\nhits 4 -5\n", "arcstats").unwrap_err();
        assert!(e.0.contains("kstat.zfs.misc.arcstats.hits"), "{e}");
        assert!(parse_kstat("name type data\nd 3 x\n", "fm").is_err());
        assert!(parse_kstat("name type data\nd 4 +5\n", "fm").is_err());
        // Short rows are skipped; an empty table is fine.
        assert_eq!(parse_kstat("name type data\nd 4\n", "fm").unwrap(), []);
    }

    #[test]
    fn metric_names() {
        assert_eq!(metric_name("erpt-set-failed"), "erpt_set_failed");
        assert_eq!(metric_name("a.b-c"), "b_c");
        assert_eq!(metric_name("hits"), "hits");
    }

    #[test]
    fn parses_pool_io() {
        let io = parse_pool_io(IO).unwrap();
        assert_eq!(io.len(), 12);
        assert_eq!(io[0], ("nread".to_string(), 1000));
        assert_eq!(io[11], ("rcnt".to_string(), 2));
        assert!(parse_pool_io("nread nwritten reads writes wtime wlentime wupdate rtime rlentime rupdate wcnt rcnt\n1 2\n").is_err());
        assert!(parse_pool_io("nread x\n1 2\n").unwrap().is_empty());
    }

    #[test]
    fn parses_objset_with_spaces_in_the_dataset_name() {
        let s = parse_objset(OBJSET, "tank").unwrap();
        assert_eq!(s.len(), 6);
        assert!(s
            .iter()
            .all(|s| s.zpool == "tank" && s.dataset == "tank/my  data set"));
        assert_eq!(s[1].name, "nwritten");
        assert_eq!(s[1].value, 4096);
        // Rows before dataset_name have an empty pool and dataset, as upstream.
        let s = parse_objset("name type data\nwrites 4 1\n", "p").unwrap();
        assert_eq!((s[0].zpool.as_str(), s[0].dataset.as_str()), ("", ""));
        assert!(parse_objset("writes 4 1\n", "p").is_err());
        assert!(parse_objset("name type data\nwrites 4 -1\n", "p").is_err());
    }

    #[test]
    fn pool_state_is_the_first_line_lowercased() {
        assert_eq!(parse_pool_state("DEGRADED\n"), "degraded");
        assert_eq!(parse_pool_state(""), "");
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "zfs",
            &[
                ("node_zfs_arc_hits", &[], 123456.0),
                ("node_zfs_arc_arc_no_grow_delta", &[], -42.0),
                ("node_zfs_fm_erpt_set_failed", &[], 3.0),
                ("node_zfs_zpool_nread", &[("zpool", "tank")], 1000.0),
                (
                    "node_zfs_zpool_dataset_nwritten",
                    &[("zpool", "tank"), ("dataset", "tank/my  data set")],
                    4096.0,
                ),
                (
                    "node_zfs_zpool_state",
                    &[("zpool", "tank"), ("state", "online")],
                    1.0,
                ),
                (
                    "node_zfs_zpool_state",
                    &[("zpool", "tank"), ("state", "suspended")],
                    0.0,
                ),
                (
                    "node_zfs_zpool_state",
                    &[("zpool", "idle"), ("state", "degraded")],
                    1.0,
                ),
            ],
        );
        let fam = out.get("node_zfs_fm_erpt_set_failed").unwrap();
        assert_eq!(fam.help, "kstat.zfs.misc.fm.erpt-set-failed");
        assert_eq!(fam.kind, Kind::Untyped);
        assert_eq!(out.get("node_zfs_zpool_state").unwrap().kind, Kind::Gauge);
        assert_eq!(out.get("node_zfs_zpool_state").unwrap().samples.len(), 14);
        assert_eq!(
            out.get("node_zfs_zpool_dataset_writes").unwrap().help,
            "kstat.zfs.misc.objset.writes"
        );
        assert_eq!(
            out.get("node_zfs_zpool_rcnt").unwrap().help,
            "kstat.zfs.misc.io.rcnt"
        );
    }

    #[test]
    fn no_zfs_module_is_no_data() {
        let e = collect_with("zfs", &fixture_config_with("missing", "sys")).unwrap_err();
        assert!(matches!(e, CollectError::NoData(_)), "{e}");
    }
}
