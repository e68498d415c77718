//! `textfile`: the metrics of every `*.prom` file in `--collector.textfile.directory`, plus
//! `node_textfile_mtime_seconds{file}` and `node_textfile_scrape_error`, as node_exporter 1.5 does.
//!
//! A file that cannot be read or parsed, or that carries client-side timestamps, is skipped whole and sets
//! `node_textfile_scrape_error 1`. Families without `# HELP` get "Metric read from <files>". Series of a
//! family that lack a label another series has get it with an empty value. Without a directory the
//! collector only reports `node_textfile_scrape_error 0`. The directory may be a glob (`*`, `?`).
//!
//! Every type keeps its type: counters (with or without `_total`), gauges, untyped, summaries and
//! histograms (a file's `+Inf` bucket is kept; without one it is the `_count`), as node_exporter serves them.
//! The parser of the text format is [`format`], next to this collector.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::metrics::Kind;
use crate::{CollectError, Collector, MetricSet, Value};
use format::{parse_text_format, TextFamily, TextType, TextValue};

use super::NodeConfig;

pub mod format;

/// The textfile collector's flags.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Directory to read text files with metrics from (`*.prom`; a glob of directories is allowed). Unset:
    /// the collector reports only node_textfile_scrape_error 0.
    #[arg(
        value_name = "DIR",
        id = "collector.textfile.directory",
        long = "collector.textfile.directory"
    )]
    pub directory: Option<PathBuf>,
}

pub struct Textfile {
    directory: Option<PathBuf>,
}

pub fn new(cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
    Ok(Box::new(Textfile {
        directory: cfg.textfile.directory.clone(),
    }))
}

/// Shell-style match of one path component: `*` and `?` (as Go's `filepath.Match`, without classes).
fn wildcard_match(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| wildcard_match(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && wildcard_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && wildcard_match(rest, &s[1..]),
    }
}

/// The directories a (possibly globbing) path names, sorted; empty when nothing matches.
pub fn expand_glob(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut found = vec![PathBuf::new()];
    for comp in path.components() {
        let bytes = comp.as_os_str().as_bytes();
        if !bytes.iter().any(|b| *b == b'*' || *b == b'?') {
            found.iter_mut().for_each(|p| p.push(comp));
            continue;
        }
        let mut next = Vec::new();
        for base in &found {
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<_> = rd
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .filter(|n| wildcard_match(bytes, n.as_bytes()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found.retain(|p| p.exists());
    found
}

/// One file read and parsed.
enum FileResult {
    Ok {
        families: Vec<TextFamily>,
        mtime: f64,
    },
    Failed,
}

fn process_file(path: &Path) -> FileResult {
    let Ok(text) = std::fs::read_to_string(path) else {
        return FileResult::Failed;
    };
    let Ok(families) = parse_text_format(&text) else {
        return FileResult::Failed;
    };
    if families
        .iter()
        .any(|f| f.metrics.iter().any(|m| m.timestamp_ms.is_some()))
    {
        return FileResult::Failed;
    }
    let Ok(mtime) = std::fs::metadata(path).and_then(|m| m.modified()) else {
        return FileResult::Failed;
    };
    let secs = match mtime.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as f64,
        Err(e) => -(e.duration().as_secs() as f64),
    };
    FileResult::Ok {
        families,
        mtime: secs,
    }
}

/// Families collected from all files, merged by name.
struct Merged {
    family: TextFamily,
    files: Vec<String>,
}

fn sorted_labels(labels: &[(String, String)], all: &[&str]) -> Vec<(String, String)> {
    let mut out = labels.to_vec();
    for name in all {
        if !labels.iter().any(|(k, _)| k == name) {
            out.push(((*name).to_string(), String::new()));
        }
    }
    out.sort();
    out
}

/// node_exporter hands client_golang a map of bucket bound (or quantile) → value, which it sorts: one entry
/// per key, the last one given winning, in increasing order.
fn last_per_key_sorted<V: Copy>(pairs: &[(f64, V)]) -> Vec<(f64, V)> {
    let mut out: Vec<(f64, V)> = Vec::with_capacity(pairs.len());
    for &(k, v) in pairs {
        match out.iter_mut().find(|(x, _)| *x == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
    }
    out.sort_by(|x, y| x.0.total_cmp(&y.0));
    out
}

fn emit(m: &Merged, out: &mut MetricSet) {
    let f = &m.family;
    let help = match &f.help {
        Some(h) => h.clone(),
        None => format!("Metric read from {}", m.files.join(", ")),
    };
    let mut all: Vec<&str> = Vec::new();
    for metric in &f.metrics {
        for (k, _) in &metric.labels {
            if !all.contains(&k.as_str()) {
                all.push(k);
            }
        }
    }
    for metric in &f.metrics {
        // A series given twice is dropped (and counted) by the gather step, as node_exporter's registry does.
        let labels = sorted_labels(&metric.labels, &all);
        match &metric.value {
            TextValue::Simple(v) => {
                let kind = match f.kind {
                    TextType::Counter => Kind::Counter,
                    TextType::Gauge => Kind::Gauge,
                    _ => Kind::Untyped,
                };
                out.sample(&f.name, &help, kind, labels, *v);
            }
            TextValue::Histogram {
                count,
                sum,
                buckets,
            } => {
                let value = Value::Histogram {
                    buckets: last_per_key_sorted(buckets),
                    sum: *sum,
                    count: *count,
                };
                out.push(&f.name, &help, Kind::Histogram, labels, value);
            }
            TextValue::Summary {
                count,
                sum,
                quantiles,
            } => {
                let value = Value::Summary {
                    quantiles: last_per_key_sorted(quantiles),
                    sum: *sum,
                    count: *count,
                };
                out.push(&f.name, &help, Kind::Summary, labels, value);
            }
        }
    }
}

impl Textfile {
    fn collect_dir(&self, dir: &Path, out: &mut MetricSet) -> bool {
        let mut errored = false;
        let mut paths = expand_glob(dir);
        if paths.is_empty() {
            paths.push(dir.to_path_buf());
        }
        let mut merged: Vec<Merged> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut mtimes: Vec<(String, f64)> = Vec::new();
        for path in &paths {
            let mut names: Vec<_> = match std::fs::read_dir(path) {
                Ok(rd) => rd.filter_map(Result::ok).map(|e| e.file_name()).collect(),
                Err(_) => {
                    errored = true;
                    continue;
                }
            };
            names.sort();
            for name in names {
                if !name.as_encoded_bytes().ends_with(b".prom") {
                    continue;
                }
                let file = path.join(&name);
                let file_str = file.to_string_lossy().into_owned();
                match process_file(&file) {
                    FileResult::Failed => errored = true,
                    FileResult::Ok { families, mtime } => {
                        mtimes.push((file_str.clone(), mtime));
                        for fam in families {
                            match index.get(&fam.name) {
                                Some(&i) => {
                                    let m = &mut merged[i];
                                    m.files.push(file_str.clone());
                                    // A family of another type from another file would be rejected by
                                    // node_exporter's registry; keep the first.
                                    if m.family.kind == fam.kind {
                                        m.family.metrics.extend(fam.metrics);
                                    }
                                    if m.family.help.is_none() {
                                        m.family.help = fam.help;
                                    }
                                }
                                None => {
                                    index.insert(fam.name.clone(), merged.len());
                                    merged.push(Merged {
                                        family: fam,
                                        files: vec![file_str.clone()],
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        for m in &merged {
            emit(m, out);
        }
        mtimes.sort_by(|a, b| a.0.cmp(&b.0));
        for (file, mtime) in mtimes {
            out.gauge(
                "node_textfile_mtime_seconds",
                "Unixtime mtime of textfiles successfully read.",
                &[("file", &file)],
                mtime,
            );
        }
        errored
    }
}

impl Collector for Textfile {
    fn name(&self) -> &'static str {
        "textfile"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let errored = match &self.directory {
            Some(dir) if !dir.as_os_str().is_empty() => self.collect_dir(dir, out),
            _ => false,
        };
        out.gauge(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            &[],
            if errored { 1.0 } else { 0.0 },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::fixture_config;
    use crate::Value;

    #[test]
    fn matches_wildcards() {
        assert!(wildcard_match(b"*.d", b"node.d"));
        assert!(wildcard_match(b"a?c", b"abc"));
        assert!(!wildcard_match(b"a?c", b"ac"));
        assert!(!wildcard_match(b"*.d", b"node.e"));
    }

    #[test]
    fn without_directory_reports_no_error_only() {
        let cfg = NodeConfig {
            textfile: Flags { directory: None },
            ..NodeConfig::default()
        };
        let mut out = MetricSet::new();
        new(&cfg).unwrap().collect(&mut out).unwrap();
        assert_eq!(out.families().len(), 1);
        assert_eq!(out.value("node_textfile_scrape_error", &[]), Some(0.0));
    }

    #[test]
    fn missing_directory_is_an_error() {
        let cfg = NodeConfig {
            textfile: Flags {
                directory: Some("/nonexistent/hostlens-textfile".into()),
            },
            ..NodeConfig::default()
        };
        let mut out = MetricSet::new();
        new(&cfg).unwrap().collect(&mut out).unwrap();
        assert_eq!(out.value("node_textfile_scrape_error", &[]), Some(1.0));
    }

    #[test]
    fn collects_from_fixture_dir() {
        let cfg = fixture_config();
        let dir = cfg.textfile.directory.clone().unwrap();
        let mut out = MetricSet::new();
        new(&cfg).unwrap().collect(&mut out).unwrap();
        // bad.prom fails to parse and timestamp.prom has timestamps: error, and none of their metrics.
        assert_eq!(out.value("node_textfile_scrape_error", &[]), Some(1.0));
        assert!(out.get("bad_metric").is_none());
        assert!(out.get("stamped").is_none());
        // Not a .prom file: ignored.
        assert!(out.get("ignored_metric").is_none());

        let good = dir.join("good.prom").to_string_lossy().into_owned();
        let other = dir.join("other.prom").to_string_lossy().into_owned();
        assert!(out
            .value("node_textfile_mtime_seconds", &[("file", &good)])
            .is_some_and(|t| t > 1.5e9 && t.fract() == 0.0));
        assert!(out
            .value(
                "node_textfile_mtime_seconds",
                &[("file", &dir.join("bad.prom").to_string_lossy())]
            )
            .is_none());

        let jobs = out.get("cron_job_last_success_seconds").unwrap();
        assert_eq!(jobs.kind, Kind::Gauge);
        assert_eq!(jobs.help, "Last success of a cron job.");
        // The series without a `host` label gets it empty.
        assert_eq!(
            out.value(
                "cron_job_last_success_seconds",
                &[("job", "backup"), ("host", "")]
            ),
            Some(1.7e9)
        );
        assert_eq!(
            out.value(
                "cron_job_last_success_seconds",
                &[("job", "say \"hi\"\n"), ("host", "a")]
            ),
            Some(1.0)
        );
        // Untyped without HELP: the default help names every file it came from.
        let shared = out.get("shared_metric").unwrap();
        assert_eq!(shared.kind, Kind::Untyped);
        assert_eq!(shared.help, format!("Metric read from {good}, {other}"));
        assert_eq!(shared.samples.len(), 2);

        let h = out.get("request_seconds").unwrap();
        assert_eq!(
            h.samples[0].value,
            Value::Histogram {
                buckets: vec![(0.1, 2), (1.0, 5), (f64::INFINITY, 6)],
                sum: 2.5,
                count: 6
            }
        );
        let s = out.get("rpc_seconds").unwrap();
        assert_eq!(s.kind, Kind::Summary);
        assert_eq!(
            s.samples[0].value,
            Value::Summary {
                quantiles: vec![(0.5, 0.1), (0.99, 0.3)],
                sum: 1.5,
                count: 10
            }
        );
    }
}
