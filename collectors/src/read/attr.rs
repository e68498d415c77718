//! The one sysfs attribute reader and the one rule for "this attribute is not there".

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::CollectError;

/// The kernel produces a sysfs attribute in one piece of at most a page.
const PAGE: usize = 4096;

/// Whether a read error of a sysfs attribute means "the device has no such attribute, or does not
/// support it now" rather than a failure. One rule for every collector, the union of what
/// prometheus/procfs' sysfs readers (and so node_exporter) skip:
///
/// - `ENOENT`: the attribute does not exist (every reader: `os.IsNotExist`).
/// - `EACCES`/`EPERM`: the attribute is write-only — kernfs refuses a read open of a file without a show
///   method even to root (`class_infiniband.go`, `net_class.go`: `os.IsPermission`).
/// - `EINVAL`: the driver refuses the value now, e.g. `speed` of a link that is down (every reader:
///   `os.ErrInvalid` / "invalid argument").
/// - `EOPNOTSUPP`: the driver does not implement it (every reader: "operation not supported").
/// - `ENODEV`: the device went away or is not present (`class_power_supply.go`: "no such device").
/// - `ENODATA`: the sensor has no reading yet (`class_thermal.go` skips such a zone; power supplies of an
///   absent battery answer it too).
/// - `EBUSY`: the device is busy (seen on netclass attributes while a link is reconfigured).
///
/// Anything else (`EIO`, `EAGAIN` from a hung hwmon driver, …) is an error the collector reports.
pub fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || matches!(
        e.raw_os_error(),
        Some(
            libc::EACCES
                | libc::EPERM
                | libc::EINVAL
                | libc::EOPNOTSUPP
                | libc::ENODEV
                | libc::ENODATA
                | libc::EBUSY
        )
    )
}

/// Read one sysfs attribute as prometheus/procfs' `SysReadFile` does: one `open`, one `read`, `close`
/// (no polling: some hwmon drivers answer `EAGAIN` forever), surrounding whitespace trimmed, then hand the
/// bytes to `f`. A page-sized answer is read on to the end, which sysfs never needs. Unlike `SysReadFile`,
/// whose buffer is 128 bytes, a longer value (an `ifalias`, a DMI string) is not cut.
pub fn with_attr_bytes<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    with_attr_raw(path, |b| f(b.trim_ascii()))
}

/// [`with_attr_bytes`] without the trimming, for readers that trim as their node_exporter collector does
/// (hwmon trims only newlines).
pub fn with_attr_raw<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    let mut file = File::open(path)?;
    let mut buf = [0u8; PAGE];
    let n = loop {
        match file.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if n < PAGE {
        drop(file);
        return Ok(f(&buf[..n]));
    }
    let mut long = buf.to_vec();
    let total = super::file::read_rest_into(&mut file, &mut long, n)?;
    Ok(f(&long[..total]))
}

/// Read one sysfs attribute (see [`with_attr_bytes`]) as text; each run of bytes that are not UTF-8
/// becomes one U+FFFD (see [`to_valid_utf8`]).
/// The raw I/O error is returned for callers with their own rule for a file (most want [`read_attr`]).
pub fn sys_read_file(path: &Path) -> io::Result<String> {
    with_attr_bytes(path, to_valid_utf8)
}

/// Bytes to a string as Go's `strings.ToValidUTF8(s, "\u{FFFD}")`: each run of invalid bytes becomes one
/// replacement character.
pub fn to_valid_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut in_bad_run = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(chunk.valid());
            in_bad_run = false;
        }
        if !chunk.invalid().is_empty() && !in_bad_run {
            out.push('\u{FFFD}');
            in_bad_run = true;
        }
    }
    out
}

/// Read one sysfs attribute, trimmed: `Ok(None)` when [`is_absent`] says it is not there, any other error
/// with the path.
pub fn read_attr(path: impl AsRef<Path>) -> Result<Option<String>, CollectError> {
    let path = path.as_ref();
    absent_as_none(path, sys_read_file(path))
}

/// The policy applied to any read result: absent → `Ok(None)`, other errors named by `path`.
pub fn absent_as_none<T>(path: &Path, r: io::Result<T>) -> Result<Option<T>, CollectError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        for errno in [
            libc::ENOENT,
            libc::EACCES,
            libc::EPERM,
            libc::EINVAL,
            libc::EOPNOTSUPP,
            libc::ENODEV,
            libc::ENODATA,
            libc::EBUSY,
        ] {
            assert!(is_absent(&io::Error::from_raw_os_error(errno)), "{errno}");
        }
        for errno in [libc::EIO, libc::EAGAIN, libc::ENOMEM, libc::EISDIR] {
            assert!(!is_absent(&io::Error::from_raw_os_error(errno)), "{errno}");
        }
    }

    #[test]
    fn go_style_utf8_repair() {
        assert_eq!(to_valid_utf8(b"abc"), "abc");
        assert_eq!(to_valid_utf8(b"\xff\xfe[\xc3"), "\u{FFFD}[\u{FFFD}");
        assert_eq!(to_valid_utf8(b"a\x80\x80\x80b"), "a\u{FFFD}b");
        assert_eq!(to_valid_utf8("Gr\u{fc}n".as_bytes()), "Gr\u{fc}n");
    }

    #[test]
    fn reads_trims_and_maps() {
        let dir = std::env::temp_dir().join(format!("hostlens-attr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("speed");
        std::fs::write(&p, "  1000\n").unwrap();
        assert_eq!(read_attr(&p).unwrap().as_deref(), Some("1000"));
        std::fs::write(&p, b"a\xffb\n").unwrap();
        assert_eq!(read_attr(&p).unwrap().as_deref(), Some("a\u{FFFD}b"));
        let long = "x".repeat(PAGE + 10);
        std::fs::write(&p, &long).unwrap();
        assert_eq!(read_attr(&p).unwrap().as_deref(), Some(long.as_str()));
        assert_eq!(read_attr(dir.join("missing")).unwrap(), None);
        // A directory is not an attribute: EISDIR is an error, with the path.
        let e = read_attr(&dir).unwrap_err().to_string();
        assert!(e.contains(&dir.display().to_string()), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
