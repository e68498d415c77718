//! Directory iteration as node_exporter's sysfs readers do it: a class directory's entries in name order
//! (Go's `os.ReadDir` sorts), or the entries matching a numbered glob (`thermal_zone[0-9]*`).

use std::io;
use std::path::{Path, PathBuf};

use crate::error::CollectError;

/// The names of every entry of `dir`, sorted (as Go's `os.ReadDir` returns them); names that are not
/// UTF-8 are skipped. The error names the directory.
pub fn sorted_entry_names(dir: &Path) -> Result<Vec<String>, CollectError> {
    let io = |e| CollectError::io(dir, e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        if let Some(n) = entry.map_err(io)?.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// The devices of a sysfs class directory (`<sys>/class/infiniband`, …) in name order, each with its
/// path: the "list, sort, read each device" loop of procfs' class readers. A missing class directory is
/// [`CollectError::NoData`] naming it ("the host has no such devices"); any other error names it too.
pub fn class_devices(dir: &Path) -> Result<Vec<(String, PathBuf)>, CollectError> {
    let names = sorted_entry_names(dir).map_err(|e| {
        if e.is_no_data() {
            CollectError::NoData(format!("{} absent", dir.display()))
        } else {
            e
        }
    })?;
    Ok(names
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            (n, p)
        })
        .collect())
}

/// Entries of `dir` whose names are `prefix` followed by at least one ASCII digit (the glob
/// `<prefix>[0-9]*`), sorted by name as Go's `filepath.Glob` returns them. A missing directory gives an
/// empty list, as a glob does.
pub fn glob_numbered(dir: &Path, prefix: &str) -> io::Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name
            .strip_prefix(prefix)
            .and_then(|rest| rest.bytes().next())
            .is_some_and(|b| b.is_ascii_digit())
        {
            names.push(name);
        }
    }
    names.sort_unstable();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_globbed() {
        let dir = std::env::temp_dir().join(format!("hostlens-class-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for n in ["zone10", "zone2", "zonex", "other1", "zone1"] {
            std::fs::create_dir_all(dir.join(n)).unwrap();
        }
        assert_eq!(
            sorted_entry_names(&dir).unwrap(),
            ["other1", "zone1", "zone10", "zone2", "zonex"]
        );
        assert_eq!(
            glob_numbered(&dir, "zone").unwrap(),
            ["zone1", "zone10", "zone2"]
        );
        let devs = class_devices(&dir).unwrap();
        assert_eq!(devs[0], ("other1".to_string(), dir.join("other1")));
        assert!(glob_numbered(&dir.join("missing"), "zone")
            .unwrap()
            .is_empty());
        let e = class_devices(&dir.join("missing")).unwrap_err();
        assert!(
            matches!(e, CollectError::NoData(ref m) if m.ends_with("missing absent")),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
