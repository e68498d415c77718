//! A file reader that owns its buffer, for a collector that reads many small files per scrape from one
//! place (the container family's cgroup files): one `openat`, one `read` into the buffer reused from file
//! to file, a second `read` only when the buffer filled, one `close` — and no `statx`. The reading loop is
//! the read layer's ([`super::file`]); only the buffer's owner and the end-of-file rule differ.
//!
//! Two ways a file ends:
//! - [`FileReader::attribute`]: a kernfs file (every cgroup file the family reads, sysfs attributes). The
//!   kernel shows such a file as one `seq_file` record and hands the whole record to a read whose buffer
//!   is large enough, so a read that leaves room in the buffer has reached the end.
//! - [`FileReader::stream`]: a procfs file of many records (`/proc/<pid>/net/dev`, `/proc/meminfo`): a
//!   read returns at most one page of whole records, so a short read is not the end; read until 0.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Bytes the buffer starts with: every cgroup file read here fits (`memory.stat` is ~1.5 KiB), and so do a
/// container's `net/dev` and the host's `meminfo`.
const INITIAL: usize = 16 * 1024;

/// A reader that keeps one buffer for all the files it reads.
#[derive(Debug)]
pub struct FileReader {
    buf: Vec<u8>,
}

impl Default for FileReader {
    fn default() -> Self {
        FileReader::new()
    }
}

impl FileReader {
    pub fn new() -> Self {
        FileReader::with_capacity(INITIAL)
    }

    /// A reader whose buffer starts at `bytes` (at least 1); it grows when a file does not fit and keeps
    /// its size for the next files.
    pub fn with_capacity(bytes: usize) -> Self {
        FileReader {
            buf: vec![0; bytes.max(1)],
        }
    }

    /// The buffer's size now.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// A kernfs file (cgroup, sysfs): a read that leaves room in the buffer is the end of the file.
    pub fn attribute(&mut self, path: &Path) -> io::Result<&str> {
        self.read(path, false)
    }

    /// A file that may come in several reads (procfs `seq_file`s of many records): read until 0.
    pub fn stream(&mut self, path: &Path) -> io::Result<&str> {
        self.read(path, true)
    }

    fn read(&mut self, path: &Path, until_eof: bool) -> io::Result<&str> {
        let mut f = File::open(path)?;
        let filled = loop {
            match f.read(&mut self.buf) {
                Ok(n) if n < self.buf.len() && !(until_eof && n > 0) => break n,
                // The buffer filled (or a stream goes on): read the rest with the read layer's loop.
                Ok(n) => break super::file::read_rest_into(&mut f, &mut self.buf, n)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        drop(f);
        std::str::from_utf8(&self.buf[..filled]).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text ({e})"))
        })
    }
}

/// Whether a read error means "the file is gone": ENOENT, or ENODEV, which reads of a cgroup being removed
/// return. Narrower than [`super::is_absent`], the sysfs attribute policy: a cgroup file that answers
/// EACCES or EINVAL is an error to report, not an absent file.
pub fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENODEV)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hostlens-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::write(&p, content).expect("temp file");
        p
    }

    #[test]
    fn a_file_larger_than_the_buffer_is_read_whole_and_the_buffer_grows() {
        let text: String = (0..500).map(|i| format!("line {i}\n")).collect();
        let p = temp("large", text.as_bytes());
        let mut r = FileReader::with_capacity(8);
        assert_eq!(r.attribute(&p).expect("reads"), text);
        assert!(r.capacity() > text.len(), "{}", r.capacity());
        let grown = r.capacity();
        assert_eq!(r.stream(&p).expect("reads"), text);
        // The next, smaller file reuses the grown buffer and sees none of the previous content.
        let small = temp("small", b"42\n");
        assert_eq!(r.attribute(&small).expect("reads"), "42\n");
        assert_eq!(r.capacity(), grown);
    }

    #[test]
    fn a_file_that_fills_the_buffer_exactly_is_read_to_its_end() {
        let p = temp("exact", b"12345678");
        let mut r = FileReader::with_capacity(8);
        assert_eq!(r.attribute(&p).expect("reads"), "12345678");
        assert_eq!(r.stream(&p).expect("reads"), "12345678");
    }

    #[test]
    fn an_empty_file_is_empty() {
        let p = temp("empty", b"");
        let mut r = FileReader::new();
        assert_eq!(r.attribute(&p).expect("reads"), "");
        assert_eq!(r.stream(&p).expect("reads"), "");
    }

    #[test]
    fn a_vanished_file_is_not_found_and_absent() {
        let p = temp("vanishing", b"1\n");
        std::fs::remove_file(&p).expect("removing");
        let mut r = FileReader::new();
        let e = r.attribute(&p).expect_err("gone");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(is_gone(&e));
        assert!(!is_gone(&io::Error::from_raw_os_error(libc::EACCES)));
        assert!(is_gone(&io::Error::from_raw_os_error(libc::ENODEV)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_invalid_data() {
        let p = temp("binary", &[0xff, 0xfe, b'\n']);
        let e = FileReader::new().attribute(&p).expect_err("not text");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn an_attribute_takes_one_short_read_as_the_whole_file() {
        // A FIFO whose writer keeps it open after "abc" until the read returned: a second read would block
        // (the test would hang), so returning "abc" shows the short read was taken as the end.
        let dir = temp("fifo-dir-marker", b"");
        let fifo = dir.with_file_name("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", fifo.display());
        let (done, wait_done) = std::sync::mpsc::channel::<()>();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut w = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo)
                    .expect("opens the fifo");
                w.write_all(b"abc").expect("writes");
                wait_done.recv().expect("the reader reports");
            })
        };
        let mut r = FileReader::new();
        assert_eq!(r.attribute(&fifo).expect("reads"), "abc");
        done.send(()).expect("the writer waits");
        writer.join().expect("writer");
        std::fs::remove_file(&fifo).expect("removing the fifo");
    }

    #[test]
    fn procfs_files_of_many_records_are_read_whole() {
        // A seq_file of many records (one page per read), compared with std's reader; mounts may change
        // meanwhile on a busy host, so it compares only when std's two reads around ours agree.
        let p = Path::new("/proc/self/mountinfo");
        let mut r = FileReader::with_capacity(64);
        for _ in 0..10 {
            let before = std::fs::read_to_string(p).expect("/proc/self/mountinfo");
            let ours = r.stream(p).expect("reads").to_string();
            if std::fs::read_to_string(p).expect("/proc/self/mountinfo") == before {
                assert_eq!(ours, before);
                return;
            }
        }
        panic!("/proc/self/mountinfo changed during each of 10 reads");
    }
}
