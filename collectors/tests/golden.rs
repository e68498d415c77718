//! Golden test: every file-reading node collector over the fixture tree, encoded, must equal
//! `tests/fixtures/e2e-output.txt` byte for byte. After an intended change, regenerate it with
//! `UPDATE_GOLDEN=1 cargo test -p hostlens-collectors --test golden` and review the diff.

mod common;

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
    // The textfile collector reports file mtimes and paths: pin the mtimes, and write the fixture root as
    // `<fixtures>` below, so the golden file does not depend on the checkout.
    let pinned = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for entry in std::fs::read_dir(f.join("textfile")).expect("textfile fixtures") {
        let path = entry.expect("dir entry").path();
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("fixture");
        file.set_modified(pinned).expect("setting the mtime");
    }
    let mut all = Vec::new();
    let mut ran = Vec::new();
    for name in node::names().filter(|n| !NOT_FROM_FILES.contains(n)) {
        let c = node::build(name, &cfg).expect("listed").expect("builds");
        let mut out = MetricSet::new();
        match c.collect(&mut out) {
            Ok(()) => ran.push(name),
            Err(e) if e.is_no_data() => continue,
            Err(e) => panic!("collector {name} failed on the fixture tree: {e}"),
        }
        all.push((name.to_string(), out));
    }
    let gathered = hostlens_exposition::gather(all);
    assert!(
        gathered.dropped.is_empty(),
        "duplicate or inconsistent samples: {:?}",
        gathered.dropped
    );
    let text = hostlens_exposition::encode(&gathered.families)
        .replace(&f.display().to_string(), "<fixtures>");
    common::assert_golden(
        &f.join("e2e-output.txt"),
        &text,
        &format!("; collectors run: {ran:?}"),
    );
}
