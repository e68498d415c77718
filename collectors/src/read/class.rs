//! Directory iteration as node_exporter's readers do it: entries in name order (Go's `os.ReadDir` and
//! `filepath.Glob` sort), a class directory's devices, the entries matching a glob.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::CollectError;

/// One directory entry: its name and its type as `getdents64` reports it (a symlink is a symlink, not
/// followed: no `stat` per entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub file_type: EntryType,
}

/// What `getdents64`'s `d_type` says an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    Dir,
    Symlink,
    /// A device, socket or FIFO.
    Other,
}

impl EntryType {
    pub fn is_file(self) -> bool {
        self == EntryType::File
    }

    pub fn is_dir(self) -> bool {
        self == EntryType::Dir
    }

    fn of(t: rustix::fs::FileType) -> Option<Self> {
        use rustix::fs::FileType as T;
        match t {
            T::RegularFile => Some(EntryType::File),
            T::Directory => Some(EntryType::Dir),
            T::Symlink => Some(EntryType::Symlink),
            T::Unknown => None,
            _ => Some(EntryType::Other),
        }
    }
}

/// The entries of `dir` (without `.` and `..`) sorted by name, as Go's `os.ReadDir` returns them; names
/// that are not UTF-8 are skipped. `open` + `getdents64` until it is empty + `close`: unlike
/// `std::fs::read_dir` (glibc's `opendir`), no `fstat` of the directory. The raw I/O error, for callers
/// with their own rule for a missing directory.
pub fn read_dir_sorted(dir: &Path) -> io::Result<Vec<Entry>> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut entries = Vec::new();
    let mut stream = rustix::fs::Dir::new(fd)?;
    while let Some(entry) = stream.read() {
        let entry = entry?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        let file_type = match EntryType::of(entry.file_type()) {
            Some(t) => t,
            // A filesystem without d_type: ask, as std does.
            None => {
                let t = std::fs::symlink_metadata(dir.join(name))?.file_type();
                if t.is_file() {
                    EntryType::File
                } else if t.is_dir() {
                    EntryType::Dir
                } else if t.is_symlink() {
                    EntryType::Symlink
                } else {
                    EntryType::Other
                }
            }
        };
        entries.push(Entry {
            name: name.to_string(),
            file_type,
        });
    }
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// The names of every entry of `dir`, sorted; the error names the directory (a missing one is a
/// "no data" error, see [`CollectError::is_no_data`]).
pub fn sorted_entry_names(dir: &Path) -> Result<Vec<String>, CollectError> {
    Ok(read_dir_sorted(dir)
        .map_err(|e| CollectError::io(dir, e))?
        .into_iter()
        .map(|e| e.name)
        .collect())
}

/// The devices of a sysfs class directory (`<sys>/class/power_supply`, …) in name order: the "list,
/// sort, read each device" loop of procfs' class readers. A missing class directory is
/// [`CollectError::NoData`] (`<dir> absent`: the host has no such devices), any other error names it.
pub fn class_devices(dir: &Path) -> Result<Vec<Entry>, CollectError> {
    match read_dir_sorted(dir) {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(CollectError::NoData(format!("{} absent", dir.display())))
        }
        Err(e) => Err(CollectError::io(dir, e)),
    }
}

/// The names of the entries of `dir` that `matches` accepts, sorted, as Go's `filepath.Glob` returns
/// them: a missing directory matches nothing.
pub fn glob(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<Vec<String>, CollectError> {
    match read_dir_sorted(dir) {
        Ok(v) => Ok(v
            .into_iter()
            .map(|e| e.name)
            .filter(|n| matches(n))
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CollectError::io(dir, e)),
    }
}

/// Whether `name` is `prefix` followed by at least one ASCII digit (the glob `<prefix>[0-9]*`).
pub fn is_numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_digit())
}

/// [`glob`] for `<dir>/<prefix>[0-9]*`.
pub fn glob_numbered(dir: &Path, prefix: &str) -> Result<Vec<String>, CollectError> {
    glob(dir, |n| is_numbered(n, prefix))
}

/// `dir` joined with each name.
pub fn paths_of(dir: &Path, names: Vec<String>) -> Vec<(String, PathBuf)> {
    names
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            (n, p)
        })
        .collect()
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
        std::fs::write(dir.join("a_file"), "").unwrap();
        assert_eq!(
            sorted_entry_names(&dir).unwrap(),
            ["a_file", "other1", "zone1", "zone10", "zone2", "zonex"]
        );
        assert_eq!(
            glob_numbered(&dir, "zone").unwrap(),
            ["zone1", "zone10", "zone2"]
        );
        let devs = class_devices(&dir).unwrap();
        assert!(devs[0].file_type.is_file() && devs[1].file_type.is_dir());
        assert_eq!(
            paths_of(&dir, vec!["zone1".into()]),
            [("zone1".to_string(), dir.join("zone1"))]
        );
        let missing = dir.join("missing");
        assert!(glob_numbered(&missing, "zone").unwrap().is_empty());
        let e = class_devices(&missing).unwrap_err();
        assert!(
            matches!(e, CollectError::NoData(ref m) if m.ends_with("missing absent")),
            "{e}"
        );
        let e = sorted_entry_names(&missing).unwrap_err();
        assert!(e.is_no_data() && e.to_string().contains("missing"), "{e}");
        // A file is not a directory: an error naming it, also for a glob.
        let e = glob(&dir.join("a_file"), |_| true).unwrap_err();
        assert!(e.to_string().contains("a_file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
