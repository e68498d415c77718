//! The one file reader: `open`, `read` until end of file into a reused buffer, `close`.
//!
//! `std::fs::read_to_string` costs two syscalls more per file on `/proc` and `/sys`: it `statx`es the file
//! to size its buffer (procfs reports 0, sysfs 4096, neither the real size) and, with a size hint of 0,
//! starts with a 32-byte probe `read`. This reader keeps one buffer per thread (collectors run on the
//! agent's blocking threads, which are reused), so a file costs `openat` + one `read` per kernel chunk +
//! the `read` that returns 0 + `close`.
//!
//! The final 0-byte read cannot be skipped on procfs: a multi-record `seq_file` (mountinfo, net/dev,
//! maps, …) returns at most one kernel page per `read` even when the buffer is larger, so a short read
//! is not the end of the file there. sysfs attributes, which the kernel produces in one piece of at most
//! a page, are read with one `read` by [`super::attr`].

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::CollectError;

/// The buffer's first size: most `/proc` files fit (meminfo, stat, vmstat, net/netstat are 1–5 KiB).
const INITIAL_BUFFER: usize = 16 * 1024;

/// The buffer is kept between calls unless a file made it larger than this (a huge textfile, a host
/// with thousands of mounts): then it is dropped after the call so one big file does not pin memory.
const KEPT_BUFFER: usize = 1024 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Read everything from `reader` into `buf` (kept at its full, initialised length) and return how many
/// bytes were read. Grows `buf` only when a read filled it.
pub(crate) fn read_to_end_into(reader: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<usize> {
    read_rest_into(reader, buf, 0)
}

/// [`read_to_end_into`] for a `buf` whose first `filled` bytes are already read.
pub(crate) fn read_rest_into(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    mut filled: usize,
) -> io::Result<usize> {
    loop {
        if filled == buf.len() {
            let grown = (buf.len() * 2).max(INITIAL_BUFFER);
            buf.resize(grown, 0);
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Run `f` on the bytes of the file at `path`, read with the thread's reused buffer; the raw I/O error,
/// for callers with their own rule for a missing file (most want [`with_bytes`]).
pub fn with_file_bytes<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    let mut file = File::open(path)?;
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let n = read_to_end_into(&mut file, &mut buf)?;
            drop(file);
            let out = f(&buf[..n]);
            if buf.len() > KEPT_BUFFER {
                *buf = Vec::new();
            }
            Ok(out)
        }
        // `f` itself reads a file: give the inner read a buffer of its own.
        Err(_) => {
            let mut buf = Vec::new();
            let n = read_to_end_into(&mut file, &mut buf)?;
            drop(file);
            Ok(f(&buf[..n]))
        }
    })
}

/// [`with_file_bytes`] with the path in the error.
pub fn with_bytes<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> Result<T, CollectError> {
    with_file_bytes(path, f).map_err(|e| CollectError::io(path, e))
}

/// `std::fs::read_to_string` without its `statx` and probe read: the raw I/O error (a file that is not
/// UTF-8 is `InvalidData`), for callers with their own rule for a missing file.
pub fn read_file(path: impl AsRef<Path>) -> io::Result<String> {
    with_file_bytes(path.as_ref(), |b| std::str::from_utf8(b).map(str::to_owned))?.map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e}); the file is not what the kernel documents"),
        )
    })
}

/// `std::fs::read` without its `statx`: the raw bytes and the raw I/O error.
pub fn read_file_bytes(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    with_file_bytes(path.as_ref(), <[u8]>::to_vec)
}

/// Run `f` on the contents of the text file at `path`; a file that is not UTF-8 is an error naming it.
pub fn with_str<T>(path: &Path, f: impl FnOnce(&str) -> T) -> Result<T, CollectError> {
    with_bytes(path, |b| std::str::from_utf8(b).map(f))?.map_err(|e| not_utf8(path, e))
}

/// Read a whole text file into a `String` of its exact size, with the path in the error.
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String, CollectError> {
    let path = path.as_ref();
    read_file(path).map_err(|e| CollectError::io(path, e))
}

/// Read a file holding one decimal unsigned number (`/proc/sys/…`, a sysfs counter), with the path in
/// the error.
pub fn read_u64(path: impl AsRef<Path>) -> Result<u64, CollectError> {
    let path = path.as_ref();
    super::parse_u64(&read_to_string(path)?).map_err(|e| e.at(path))
}

/// Read a whole file whose absence means the host has no such subsystem: a missing file is
/// [`CollectError::NoData`] (`<path> absent`), any other failure an error.
pub fn read_to_string_or_no_data(path: impl AsRef<Path>) -> Result<String, CollectError> {
    let path = path.as_ref();
    match read_to_string(path) {
        Err(e) if e.is_no_data() => Err(CollectError::NoData(format!("{} absent", path.display()))),
        r => r,
    }
}

fn not_utf8(path: &Path, e: std::str::Utf8Error) -> CollectError {
    CollectError::io(
        path,
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e}); the file is not what the kernel documents"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per call, as a procfs seq_file does (one page).
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
        calls: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            let n = self.data.len().min(self.chunk).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_are_not_the_end() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = Chunked {
            data: &data,
            chunk: 4096,
            calls: 0,
        };
        let mut buf = Vec::new();
        let n = read_to_end_into(&mut r, &mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..]);
        // 13 chunks of a page and the read that returns 0.
        assert_eq!(r.calls, 50_000usize.div_ceil(4096) + 1);
    }

    #[test]
    fn small_file_is_one_read_and_eof() {
        let mut r = Chunked {
            data: b"0.09 0.08 0.03 2/102 3580\n",
            chunk: 4096,
            calls: 0,
        };
        let mut buf = Vec::new();
        let n = read_to_end_into(&mut r, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"0.09 0.08 0.03 2/102 3580\n");
        assert_eq!(r.calls, 2);
        // The buffer is reused as it is: a second, shorter file leaves no trace of the first.
        let mut r = Chunked {
            data: b"1\n",
            chunk: 4096,
            calls: 0,
        };
        let n = read_to_end_into(&mut r, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"1\n");
    }

    #[test]
    fn errors_name_the_path_and_nested_reads_work() {
        let dir = std::env::temp_dir().join(format!("hostlens-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a");
        let b = dir.join("b");
        std::fs::write(&a, "outer\n").unwrap();
        std::fs::write(&b, "inner\n").unwrap();
        let both = with_str(&a, |outer| {
            let inner = read_to_string(&b).unwrap();
            format!("{outer}{inner}")
        })
        .unwrap();
        assert_eq!(both, "outer\ninner\n");

        std::fs::write(&b, [0xff, 0xfe]).unwrap();
        let e = read_to_string(&b).unwrap_err().to_string();
        assert!(
            e.contains(&b.display().to_string()) && e.contains("UTF-8"),
            "{e}"
        );

        let missing = dir.join("missing");
        let e = read_to_string(&missing).unwrap_err();
        assert!(e.is_no_data() && e.to_string().contains("missing"), "{e}");
        let e = read_to_string_or_no_data(&missing).unwrap_err();
        assert!(
            matches!(e, CollectError::NoData(ref m) if m.ends_with("missing absent")),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
