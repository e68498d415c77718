//! Knowing a cgroup's files once: which of the files the readers ask for exist in this cgroup is decided at
//! its first read (when the container appears), from the answers of that read, and later scrapes open
//! only those. Which files a cgroup has depends on the cgroup version, the controllers and the kernel
//! (`memory.memsw.*` only with swap accounting, `blkio.io_serviced_recursive` only with CFQ, `cpu.max` not
//! in the v2 root, `memory.peak` from 5.19): the same for every scrape of that cgroup, so a failing open is
//! paid once, not on every scrape.
//!
//! A file that was there at the first read and is gone later means the cgroup is going away (the container
//! stopped) or changed: the read says so ([`CgroupFiles::vanished`]), the caller checks whether the cgroup
//! still exists, and the next read finds the files again.

use std::path::{Path, PathBuf};

use crate::error::CollectError;
use crate::read::{is_gone, FileReader};

/// What the first read of one cgroup found.
#[derive(Debug, Default, Clone)]
pub struct CgroupFiles {
    /// Set once a read finished on an existing cgroup: from then on `absent` and `dirs` are its layout.
    known: bool,
    /// Files that were not there at the first read: a few at most, compared byte for byte (the readers
    /// build the same paths on every scrape), cheaper than hashing paths.
    absent: Vec<PathBuf>,
    /// Directories (the cgroup's in each hierarchy) and whether they were there.
    dirs: Vec<(PathBuf, bool)>,
    /// A file known to be there was missing during the last read.
    vanished: bool,
}

impl CgroupFiles {
    /// True once the layout of this cgroup is known.
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// Whether a file that was there at the first read was missing during the last read.
    pub fn vanished(&self) -> bool {
        self.vanished
    }

    /// Start a read: the first one finds the layout, later ones use it.
    pub(super) fn begin(&mut self) {
        if !self.known {
            self.absent.clear();
            self.dirs.clear();
        }
        self.vanished = false;
    }

    /// The read found the cgroup there from start to end: what it found absent is the layout.
    pub(super) fn settle(&mut self) {
        self.known = true;
    }

    /// Forget the layout (a file vanished, or the cgroup went away during the first read).
    pub(super) fn forget(&mut self) {
        *self = CgroupFiles::default();
    }
}

/// One read of one cgroup: the shared reader and what is known about the cgroup's files.
pub struct Reads<'a> {
    reader: &'a mut FileReader,
    files: &'a mut CgroupFiles,
}

impl<'a> Reads<'a> {
    pub fn new(reader: &'a mut FileReader, files: &'a mut CgroupFiles) -> Self {
        Reads { reader, files }
    }

    /// A cgroup file's text; `Ok(None)` when it is not there (the controller or feature is missing), which
    /// the first read remembers so later reads do not open it.
    pub fn opt(&mut self, path: &Path) -> Result<Option<String>, CollectError> {
        if self.files.known && self.files.absent.iter().any(|a| same(a, path)) {
            return Ok(None);
        }
        match self.reader.attribute(path) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(e) if is_gone(&e) => {
                if self.files.known {
                    self.files.vanished = true;
                } else {
                    self.files.absent.push(path.to_path_buf());
                }
                Ok(None)
            }
            Err(e) => Err(CollectError::io(path, e)),
        }
    }

    /// Whether the cgroup's directory `dir` in one hierarchy is there, looked at on the first read only
    /// (a directory that goes away later shows as vanished files).
    pub fn is_dir(&mut self, dir: &Path) -> bool {
        if self.files.known {
            if let Some((_, there)) = self.files.dirs.iter().find(|(d, _)| same(d, dir)) {
                return *there;
            }
        }
        let there = dir.is_dir();
        if !self.files.known {
            self.files.dirs.push((dir.to_path_buf(), there));
        }
        there
    }
}

/// The same path, byte for byte.
fn same(a: &Path, b: &Path) -> bool {
    a.as_os_str() == b.as_os_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hostlens-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("cg")).expect("temp dir");
        std::fs::write(d.join("cg/present"), "1\n").expect("temp file");
        d
    }

    #[test]
    fn an_absent_file_is_looked_for_once_and_a_vanished_one_is_reported() {
        let d = tree("layout");
        let (present, missing) = (d.join("cg/present"), d.join("cg/missing"));
        let mut reader = FileReader::new();
        let mut files = CgroupFiles::default();

        files.begin();
        let mut r = Reads::new(&mut reader, &mut files);
        assert_eq!(r.opt(&present).expect("reads").as_deref(), Some("1\n"));
        assert_eq!(r.opt(&missing).expect("reads"), None);
        assert!(r.is_dir(&d.join("cg")));
        assert!(!r.is_dir(&d.join("nodir")));
        files.settle();
        assert!(files.is_known() && !files.vanished());

        // Created after the first read: still taken as absent (never opened), so no failing open per scrape.
        std::fs::write(&missing, "2\n").expect("temp file");
        std::fs::create_dir(d.join("nodir")).expect("temp dir");
        files.begin();
        let mut r = Reads::new(&mut reader, &mut files);
        assert_eq!(r.opt(&missing).expect("reads"), None);
        assert!(!r.is_dir(&d.join("nodir")));
        assert!(!files.vanished());

        // A file that was there goes: reported, and after `forget` the next read finds the layout anew.
        std::fs::remove_file(&present).expect("removing");
        files.begin();
        let mut r = Reads::new(&mut reader, &mut files);
        assert_eq!(r.opt(&present).expect("reads"), None);
        assert!(files.vanished());
        files.forget();
        files.begin();
        let mut r = Reads::new(&mut reader, &mut files);
        assert_eq!(r.opt(&missing).expect("reads").as_deref(), Some("2\n"));
        assert!(r.is_dir(&d.join("nodir")));
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn other_errors_name_the_file() {
        let d = tree("errors");
        let mut reader = FileReader::new();
        let mut files = CgroupFiles::default();
        files.begin();
        // A directory cannot be read as a file: EISDIR, not absence.
        let e = Reads::new(&mut reader, &mut files)
            .opt(&d.join("cg"))
            .expect_err("a directory");
        assert!(e.to_string().contains("cg"), "{e}");
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
