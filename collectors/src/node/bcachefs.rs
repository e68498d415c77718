//! `bcachefs`: node_bcachefs_* from `/sys/fs/bcachefs/<uuid>/`, as node_exporter 1.12.1 (prometheus/procfs
//! 0.21.1 `bcachefs.FS.Stats`) reads them.
//!
//! Per filesystem: `btree_cache_size`, `compression_stats`, `errors`, every file of `counters/` (one
//! family per counter, `node_bcachefs_<counter>_total`, the "since filesystem creation" value),
//! `btree_write_stats`, and per `dev-<n>/` directory `label`, `state`, `bucket_size`, `nbuckets`,
//! `durability`, `io_done` and `io_errors`. A file that is not there reads as empty / zero, as procfs
//! skips it; a file that is there but malformed fails the collector, as procfs' parsers do.
//!
//! No `/sys/fs/bcachefs`, or no filesystem in it: [`CollectError::NoData`] (node_exporter returns
//! `ErrNoData`, so `node_scrape_collector_success{collector="bcachefs"}` is 0 there too).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use crate::error::ParseError;
use crate::metrics::Kind;
use crate::read::{read_dir_sorted, read_file, read_file_bytes, to_valid_utf8};
use crate::{CollectError, MetricSet, Roots};

/// node_exporter's `SanitizeMetricName`: each run of characters that are not `[0-9A-Za-z_]`, with the
/// underscores around it, becomes one `_`.
pub fn sanitize_metric_name(name: &str) -> Result<String, CollectError> {
    static RE: OnceLock<Result<Regex, regex::Error>> = OnceLock::new();
    match RE.get_or_init(|| Regex::new("_*[^0-9A-Za-z_]+_*")) {
        Ok(re) => Ok(re.replace_all(name, "_").into_owned()),
        Err(e) => Err(CollectError::Other(format!("metric name sanitizer: {e}"))),
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: decimal digits only (no sign, no surrounding space).
fn parse_dec_u64(s: &str) -> Result<u64, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(format!("invalid unsigned integer {s:?}")));
    }
    s.parse()
        .map_err(|_| ParseError::new(format!("{s:?} is out of range of a 64-bit integer")))
}

/// A bcachefs "human readable" size (`2.05G`, `28.2k`, `720`) in bytes, as procfs'
/// `parseHumanReadableBytes`: an optional one-letter binary suffix (k, M, G, T, P, E, either case), a
/// float mantissa, the product truncated to an integer.
pub fn parse_human_bytes(s: &str) -> Result<u64, ParseError> {
    let s = s.trim();
    let Some(last) = s.chars().last() else {
        return Err(ParseError::new("empty string"));
    };
    let exp = match last.to_ascii_lowercase() {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => 0,
    };
    let mantissa = if exp > 0 { &s[..s.len() - 1] } else { s };
    let mantissa = mantissa.trim();
    let v: f64 = parse_go_float(mantissa)?;
    Ok((v * 1024f64.powi(exp)) as u64)
}

/// Go's `strconv.ParseFloat(s, 64)` for what bcachefs prints (decimal, optional exponent); Rust's
/// parser accepts a little more (`inf`, `nan` spelled otherwise), Go's a little more too (hex floats,
/// `_`), neither of which the kernel writes.
fn parse_go_float(s: &str) -> Result<f64, ParseError> {
    s.parse()
        .map_err(|_| ParseError::new(format!("invalid number {s:?}")))
}

/// Compression statistics of one algorithm (`compression_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compression {
    pub compressed: u64,
    pub uncompressed: u64,
}

/// `compression_stats`: after the header line, `<algorithm>[:] <compressed> <uncompressed> [<average
/// extent size>]`; lines of fewer than three fields are skipped.
pub fn parse_compression_stats(text: &str) -> Result<BTreeMap<String, Compression>, ParseError> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let algorithm = f[0].strip_suffix(':').unwrap_or(f[0]);
        let compressed = parse_human_bytes(f[1])?;
        let uncompressed = parse_human_bytes(f[2])?;
        if let Some(avg) = f.get(3) {
            // Not exported, but procfs parses it: a bad one is an error.
            parse_human_bytes(avg)?;
        }
        out.insert(
            algorithm.to_string(),
            Compression {
                compressed,
                uncompressed,
            },
        );
    }
    Ok(out)
}

/// `errors`: `<error type> <count> [<timestamp>]` per line; lines of fewer than two fields are skipped.
pub fn parse_errors(text: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 {
            continue;
        }
        let count = parse_dec_u64(f[1])?;
        if let Some(ts) = f.get(2) {
            parse_dec_u64(ts)?;
        }
        out.insert(f[0].to_string(), count);
    }
    Ok(out)
}

/// One file of `counters/`: the `since filesystem creation:` value (0 when only `since mount:` is
/// there); a file with neither line is an error, as in procfs.
pub fn parse_counter(text: &str) -> Result<u64, ParseError> {
    let (mut creation, mut seen) = (0, false);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("since mount:") {
            parse_human_bytes(v)?;
            seen = true;
        } else if let Some(v) = line.strip_prefix("since filesystem creation:") {
            creation = parse_human_bytes(v)?;
            seen = true;
        }
    }
    if !seen {
        return Err(ParseError::new("counter file format not recognized"));
    }
    Ok(creation)
}

/// Btree writes of one type (`btree_write_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BtreeWrites {
    pub count: u64,
    pub size_bytes: u64,
}

/// `btree_write_stats`: after the header line, `<type>[:] <nr> <size>`.
pub fn parse_btree_write_stats(text: &str) -> Result<BTreeMap<String, BtreeWrites>, ParseError> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let kind = f[0].strip_suffix(':').unwrap_or(f[0]);
        let count = parse_dec_u64(f[1])?;
        let size_bytes = parse_human_bytes(f[2])?;
        out.insert(kind.to_string(), BtreeWrites { count, size_bytes });
    }
    Ok(out)
}

/// `dev-<n>/io_done`: `read:` and `write:` sections of `<data type> : <bytes>` lines; keyed by
/// (operation, data type).
pub fn parse_io_done(text: &str) -> Result<BTreeMap<(String, String), u64>, ParseError> {
    let mut out = BTreeMap::new();
    let mut op: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "read:" || line == "write:" {
            op = Some(&line[..line.len() - 1]);
            continue;
        }
        let Some(op) = op else { continue };
        let Some((data_type, value)) = line.split_once(':') else {
            continue;
        };
        let value = parse_dec_u64(value.trim())?;
        out.insert((op.to_string(), data_type.trim().to_string()), value);
    }
    Ok(out)
}

/// `dev-<n>/io_errors`: the `<type>: <count>` lines of the "IO errors since filesystem creation"
/// section (the "since mount" section after it is not read).
pub fn parse_io_errors(text: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    let mut out = BTreeMap::new();
    let mut in_creation = false;
    for line in text.lines() {
        if line.starts_with("IO errors since filesystem creation") {
            in_creation = true;
            continue;
        }
        if line.starts_with("IO errors since ") {
            break;
        }
        if !in_creation {
            continue;
        }
        let trimmed = line.trim();
        let Some((kind, value)) = trimmed.split_once(':') else {
            continue;
        };
        out.insert(kind.trim().to_string(), parse_dec_u64(value.trim())?);
    }
    Ok(out)
}

/// One `dev-<n>` directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub label: String,
    pub state: String,
    pub bucket_size_bytes: u64,
    pub buckets: u64,
    pub durability: u64,
    pub io_done: BTreeMap<(String, String), u64>,
    pub io_errors: BTreeMap<String, u64>,
}

/// One filesystem's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub btree_cache_size_bytes: u64,
    pub compression: BTreeMap<String, Compression>,
    pub errors: BTreeMap<String, u64>,
    pub counters: BTreeMap<String, u64>,
    pub btree_writes: BTreeMap<String, BtreeWrites>,
    pub devices: BTreeMap<String, Device>,
}

/// The text of `path`, `None` when it does not exist (procfs' `openIfExists`); any other error names it.
fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match read_file(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

/// Parse the optional file `path` with `parse`; a missing file is `T::default()`.
fn parse_optional<T: Default>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, CollectError> {
    match read_optional(path)? {
        Some(text) => parse(&text).map_err(|e| e.at(path)),
        None => Ok(T::default()),
    }
}

/// procfs' `readSysfsFile`: the trimmed contents, or "" on any error.
fn read_or_empty(path: &Path) -> String {
    read_file_bytes(path)
        .map(|b| to_valid_utf8(&b).trim().to_string())
        .unwrap_or_default()
}

/// procfs' `readUintFile`: a missing file is 0, anything else must be a decimal number.
fn read_uint(path: &Path) -> Result<u64, CollectError> {
    match read_optional(path)? {
        Some(text) => parse_dec_u64(text.trim()).map_err(|e| e.at(path)),
        None => Ok(0),
    }
}

/// The entries of `dir` that are directories, by name; the raw error.
fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|e| e.file_type.is_dir())
        .map(|e| e.name)
        .collect())
}

fn read_device(dir: &Path) -> Result<Device, CollectError> {
    let bucket_size = read_or_empty(&dir.join("bucket_size"));
    let bucket_size_bytes = if bucket_size.is_empty() {
        0
    } else {
        parse_human_bytes(&bucket_size).map_err(|e| e.at(dir.join("bucket_size")))?
    };
    Ok(Device {
        label: read_or_empty(&dir.join("label")),
        state: read_or_empty(&dir.join("state")),
        bucket_size_bytes,
        buckets: read_uint(&dir.join("nbuckets"))?,
        durability: read_uint(&dir.join("durability"))?,
        io_done: parse_optional(&dir.join("io_done"), parse_io_done)?,
        io_errors: parse_optional(&dir.join("io_errors"), parse_io_errors)?,
    })
}

/// Read the statistics of the filesystem directory `dir` (`/sys/fs/bcachefs/<uuid>`).
pub fn read_stats(dir: &Path) -> Result<Stats, CollectError> {
    let cache = dir.join("btree_cache_size");
    let btree_cache_size_bytes = match read_optional(&cache)? {
        Some(s) if !s.trim().is_empty() => parse_human_bytes(&s).map_err(|e| e.at(&cache))?,
        _ => 0,
    };
    let compression = parse_optional(&dir.join("compression_stats"), parse_compression_stats)?;
    let errors = parse_optional(&dir.join("errors"), parse_errors)?;

    let mut counters = BTreeMap::new();
    let counters_dir = dir.join("counters");
    match read_dir_sorted(&counters_dir) {
        Ok(entries) => {
            for e in entries.into_iter().filter(|e| !e.file_type.is_dir()) {
                let path = counters_dir.join(&e.name);
                // A counter file that vanished between the listing and the read is a zero, as in procfs.
                let v = match read_optional(&path)? {
                    Some(text) => parse_counter(&text).map_err(|e| e.at(&path))?,
                    None => 0,
                };
                counters.insert(e.name, v);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(CollectError::io(&counters_dir, e)),
    }

    let btree_writes = parse_optional(&dir.join("btree_write_stats"), parse_btree_write_stats)?;

    let mut devices = BTreeMap::new();
    for name in subdirs(dir).map_err(|e| CollectError::io(dir, e))? {
        let Some(dev) = name.strip_prefix("dev-") else {
            continue;
        };
        devices.insert(dev.to_string(), read_device(&dir.join(&name))?);
    }

    Ok(Stats {
        btree_cache_size_bytes,
        compression,
        errors,
        counters,
        btree_writes,
        devices,
    })
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Append one filesystem's samples.
pub fn push_stats(uuid: &str, s: &Stats, out: &mut MetricSet) -> Result<(), CollectError> {
    let u = [("uuid", uuid)];
    out.gauge("node_bcachefs_info", "Filesystem information.", &u, 1.0);
    out.gauge(
        "node_bcachefs_btree_cache_size_bytes",
        "Btree cache memory usage in bytes.",
        &u,
        s.btree_cache_size_bytes as f64,
    );
    for (algorithm, c) in &s.compression {
        let l = [("uuid", uuid), ("algorithm", algorithm.as_str())];
        out.gauge(
            "node_bcachefs_compression_compressed_bytes",
            "Compressed size by algorithm.",
            &l,
            c.compressed as f64,
        );
        out.gauge(
            "node_bcachefs_compression_uncompressed_bytes",
            "Uncompressed size by algorithm.",
            &l,
            c.uncompressed as f64,
        );
    }
    for (error_type, count) in &s.errors {
        out.counter(
            "node_bcachefs_errors_total",
            "Error count by error type.",
            &[("uuid", uuid), ("error_type", error_type.as_str())],
            *count as f64,
        );
    }
    for (counter, v) in &s.counters {
        let name = format!("node_bcachefs_{}_total", sanitize_metric_name(counter)?);
        let help = format!("Bcachefs counter {counter} since filesystem creation.");
        out.sample(&name, &help, Kind::Counter, labels(&u), *v as f64);
    }
    for (kind, w) in &s.btree_writes {
        let l = [("uuid", uuid), ("type", kind.as_str())];
        out.counter(
            "node_bcachefs_btree_writes_total",
            "Number of btree writes by type.",
            &l,
            w.count as f64,
        );
        out.gauge(
            "node_bcachefs_btree_write_average_size_bytes",
            "Average btree write size by type.",
            &l,
            w.size_bytes as f64,
        );
    }
    for (device, d) in &s.devices {
        let dl = [("uuid", uuid), ("device", device.as_str())];
        out.gauge(
            "node_bcachefs_device_info",
            "Device information.",
            &[
                ("uuid", uuid),
                ("device", device.as_str()),
                ("label", d.label.as_str()),
                ("state", d.state.as_str()),
            ],
            1.0,
        );
        out.gauge(
            "node_bcachefs_device_bucket_size_bytes",
            "Bucket size in bytes.",
            &dl,
            d.bucket_size_bytes as f64,
        );
        out.gauge(
            "node_bcachefs_device_buckets",
            "Total number of buckets.",
            &dl,
            d.buckets as f64,
        );
        out.gauge(
            "node_bcachefs_device_durability",
            "Device durability setting.",
            &dl,
            d.durability as f64,
        );
        for ((op, data_type), v) in &d.io_done {
            out.counter(
                "node_bcachefs_device_io_done_bytes_total",
                "IO bytes by operation type and data type.",
                &[
                    ("uuid", uuid),
                    ("device", device.as_str()),
                    ("operation", op.as_str()),
                    ("data_type", data_type.as_str()),
                ],
                *v as f64,
            );
        }
        for (kind, v) in &d.io_errors {
            out.counter(
                "node_bcachefs_device_io_errors_total",
                "IO errors by error type.",
                &[
                    ("uuid", uuid),
                    ("device", device.as_str()),
                    ("type", kind.as_str()),
                ],
                *v as f64,
            );
        }
    }
    Ok(())
}

/// The `bcachefs` collector (no state, no flags).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let base = roots.sys("fs/bcachefs");
    let filesystems = match subdirs(&base) {
        Ok(v) => v,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CollectError::NoData(format!("{} absent", base.display())))
        }
        Err(e) => return Err(CollectError::io(&base, e)),
    };
    if filesystems.is_empty() {
        return Err(CollectError::NoData(format!(
            "no bcachefs filesystem in {}",
            base.display()
        )));
    }
    // procfs reads every filesystem before node_exporter exports any: one failing fails them all.
    let stats = filesystems
        .iter()
        .map(|uuid| read_stats(&base.join(uuid)).map(|s| (uuid, s)))
        .collect::<Result<Vec<_>, _>>()?;
    for (uuid, s) in &stats {
        push_stats(uuid, s, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, collect_fixture, collect_with, fixture_config_with,
    };

    const FS: &str = "0a1b2c3d-0000-4000-8000-00000000beef";

    #[test]
    fn human_bytes_like_procfs() {
        assert_eq!(parse_human_bytes("720").unwrap(), 720);
        assert_eq!(parse_human_bytes("1.5k").unwrap(), 1536);
        assert_eq!(parse_human_bytes("3K").unwrap(), 3072);
        assert_eq!(
            parse_human_bytes("2.05G").unwrap(),
            (2.05f64 * 1073741824.0) as u64
        );
        assert_eq!(parse_human_bytes(" 7 ").unwrap(), 7);
        assert_eq!(parse_human_bytes("1e").unwrap(), 1 << 60);
        assert_rejects(parse_human_bytes, &["", "  ", "k", "12x", "1.2.3M"]);
    }

    #[test]
    fn sanitizes_like_node_exporter() {
        assert_eq!(sanitize_metric_name("a.b-c").unwrap(), "a_b_c");
        assert_eq!(sanitize_metric_name("a_-_b").unwrap(), "a_b");
        assert_eq!(sanitize_metric_name("plain_name").unwrap(), "plain_name");
    }

    #[test]
    fn parses_sections() {
        let c = parse_compression_stats(
            "type compressed uncompressed average extent size\nnone: 0 0 0\nzstd 1.5k 3k 2k\nshort 1\n",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c["zstd"],
            Compression {
                compressed: 1536,
                uncompressed: 3072
            }
        );
        assert!(c.contains_key("none"));

        let e = parse_errors("a_bad 3 1700000000\nb_bad 18446744073709551615\nlonely\n").unwrap();
        assert_eq!(e["a_bad"], 3);
        assert_eq!(e["b_bad"], u64::MAX);
        assert_rejects(parse_errors, &["x -1\n", "x 1 never\n", "x +1\n"]);

        assert_eq!(
            parse_counter("since mount: 5\nsince filesystem creation: 2.5k\n").unwrap(),
            2560
        );
        assert_eq!(parse_counter("since mount: 5\n").unwrap(), 0);
        assert_rejects(parse_counter, &["", "total: 5\n"]);

        let w = parse_btree_write_stats("  nr size\ninitial: 10 1.5k\nother: 2\n").unwrap();
        assert_eq!(
            w["initial"],
            BtreeWrites {
                count: 10,
                size_bytes: 1536
            }
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn parses_device_io() {
        let d = parse_io_done("read:\nsb   :   10\nuser:20\nwrite:\nsb : 30\n").unwrap();
        assert_eq!(d[&("read".into(), "user".into())], 20);
        assert_eq!(d[&("write".into(), "sb".into())], 30);
        assert_eq!(d.len(), 3);
        assert!(parse_io_done("orphan: 1\n").unwrap().is_empty());
        assert_rejects(parse_io_done, &["read:\nsb: many\n"]);

        let e = parse_io_errors(
            "IO errors since filesystem creation\n  read: 4\n  checksum:1\nIO errors since 2 d ago\n  read: 9\n",
        )
        .unwrap();
        assert_eq!(e["read"], 4);
        assert_eq!(e["checksum"], 1);
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn collects_fixture() {
        let out = collect_fixture("bcachefs");
        let u = [("uuid", FS)];
        assert_eq!(out.value("node_bcachefs_info", &u), Some(1.0));
        assert_eq!(
            out.value("node_bcachefs_btree_cache_size_bytes", &u),
            Some(1572864.0)
        );
        assert_eq!(
            out.value(
                "node_bcachefs_compression_uncompressed_bytes",
                &[("uuid", FS), ("algorithm", "lz4")]
            ),
            Some(3072.0)
        );
        assert_eq!(
            out.value(
                "node_bcachefs_errors_total",
                &[("uuid", FS), ("error_type", "inode_bad")]
            ),
            Some(7.0)
        );
        assert_eq!(out.value("node_bcachefs_data_read_total", &u), Some(42.0));
        let counter = out.get("node_bcachefs_data_read_total").unwrap();
        assert_eq!(
            counter.help,
            "Bcachefs counter data_read since filesystem creation."
        );
        assert_eq!(counter.kind, Kind::Counter);
        assert_eq!(
            out.value(
                "node_bcachefs_btree_writes_total",
                &[("uuid", FS), ("type", "initial")]
            ),
            Some(12.0)
        );
        let dev = [("uuid", FS), ("device", "0")];
        assert_eq!(
            out.value(
                "node_bcachefs_device_info",
                &[("device", "0"), ("label", "ssd.a"), ("state", "rw")]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_bcachefs_device_bucket_size_bytes", &dev),
            Some(524288.0)
        );
        assert_eq!(
            out.value("node_bcachefs_device_buckets", &dev),
            Some(1000.0)
        );
        assert_eq!(
            out.value("node_bcachefs_device_durability", &dev),
            Some(1.0)
        );
        assert_eq!(
            out.value(
                "node_bcachefs_device_io_done_bytes_total",
                &[
                    ("device", "0"),
                    ("operation", "write"),
                    ("data_type", "user")
                ]
            ),
            Some(8192.0)
        );
        assert_eq!(
            out.value(
                "node_bcachefs_device_io_errors_total",
                &[("device", "0"), ("type", "read")]
            ),
            Some(2.0)
        );
    }

    #[test]
    fn no_bcachefs_is_no_data() {
        let cfg = fixture_config_with("proc", "no-such-sys");
        assert!(matches!(
            collect_with("bcachefs", &cfg),
            Err(CollectError::NoData(_))
        ));
    }
}
