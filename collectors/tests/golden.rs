//! Golden test: every file-reading node collector over the fixture tree, encoded, must equal
//! `tests/fixtures/e2e-output.txt` byte for byte. After an intended change, regenerate it with
//! `UPDATE_GOLDEN=1 cargo test -p hostlens-collectors --test golden` and review the diff.

use std::path::PathBuf;
use std::sync::Arc;

use hostlens_collectors::node::{self, NodeConfig};
use hostlens_collectors::{MetricSet, Roots};

/// Collectors whose values come from system calls or the clock, not from files: not reproducible.
const NOT_FROM_FILES: &[&str] = &["time", "timex", "uname", "filesystem"];

#[test]
fn fixture_tree_encodes_to_the_golden_file() {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cfg = NodeConfig {
        roots: Arc::new(Roots::new(
            f.join("proc"),
            f.join("sys"),
            f.join("root"),
            None,
        )),
        textfile_directory: Some(f.join("textfile")),
        ..NodeConfig::default()
    };
    let mut all = MetricSet::new();
    let mut ran = Vec::new();
    for name in node::names().filter(|n| !NOT_FROM_FILES.contains(n)) {
        let c = node::build(name, &cfg).expect("listed").expect("builds");
        let mut out = MetricSet::new();
        match c.collect(&mut out) {
            Ok(()) => ran.push(name),
            Err(e) if e.is_no_data() => continue,
            Err(e) => panic!("collector {name} failed on the fixture tree: {e}"),
        }
        all.extend(out);
    }
    let text = hostlens_collectors::encode::encode_text(all.into_families()).expect("encodes");
    // Labels that carry a sysfs path (rapl's `path`) name the checkout: make them relative.
    let text = text.replace(&format!("{}/", f.display()), "collectors/tests/fixtures/");
    let golden = f.join("e2e-output.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).expect("writing the golden file");
        println!("updated {}", golden.display());
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    if want != text {
        let diff: Vec<String> = want
            .lines()
            .zip(text.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}: golden {a:?}\n         got    {b:?}", i + 1))
            .collect();
        panic!(
            "output differs from {} ({} vs {} lines; collectors run: {ran:?}):\n{}\n\
             regenerate with UPDATE_GOLDEN=1 if the change is intended",
            golden.display(),
            want.lines().count(),
            text.lines().count(),
            diff.join("\n")
        );
    }
}
