//! Shared helpers of the collectors' integration tests.
#![allow(dead_code)]

use std::path::Path;

mod prereq;
#[allow(unused_imports)]
pub use prereq::{is_root, require_root, require_root_and_btf};

/// Compare `text` with the golden file at `path`, or rewrite the file when `UPDATE_GOLDEN` is set. On a
/// difference, panic with the first differing lines, `context` and how to regenerate.
pub fn assert_golden(path: &Path, text: &str, context: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, text).expect("writing the golden file");
        println!("updated {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
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
            "output differs from {} ({} vs {} lines{context}):\n{}\n\
             regenerate with UPDATE_GOLDEN=1 if the change is intended",
            path.display(),
            want.lines().count(),
            text.lines().count(),
            diff.join("\n")
        );
    }
}
