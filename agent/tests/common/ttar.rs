//! An extractor of `ttar` archives, the plain-text tar of prometheus/procfs and node_exporter
//! (`collector/fixtures/sys.ttar`, `udev.ttar`), with the rules of the `ttar` script's `extract`: the
//! keywords `Directory:`, `Path:`, `Lines:`, `Mode:`, `SymlinkTo:`, `#` comments between entries; in a
//! file's lines, `NULLBYTE` is a NUL byte and an `EOF` after another character means "no newline at the end",
//! each unless escaped with one backslash (`\NULLBYTE`, `\EOF`), which is then removed.
//!
//! The archives are upstream's data, unpacked at test time from `.cache`, never committed. The script
//! itself (bash, one `sed` per line) takes ~17 s for sys.ttar on the test machine; this takes milliseconds.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// One line of a file's content as `extract` writes it: the bytes, and whether a newline follows.
pub fn decode_line(line: &[u8]) -> (Vec<u8>, bool) {
    // `[[ "$line" =~ [^\\]EOF ]]`: an EOF preceded by any character but a backslash ends the file without
    // a newline.
    let no_newline = line.windows(4).any(|w| w[0] != b'\\' && &w[1..] == b"EOF");
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        if rest.starts_with(b"\\NULLBYTE") {
            out.extend_from_slice(b"NULLBYTE");
            i += 9;
        } else if rest.starts_with(b"NULLBYTE") {
            out.push(0);
            i += 8;
        } else if rest.starts_with(b"\\EOF") {
            out.extend_from_slice(b"EOF");
            i += 4;
        } else if rest.starts_with(b"EOF") && i > 0 {
            // sed's `s/\([^\\]\)EOF/\1/g` needs a character before the EOF; a backslash before it was
            // handled above.
            i += 3;
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    (out, !no_newline)
}

/// A path of the archive, relative and inside `dest` (no `..`, no absolute path).
fn inside(dest: &Path, p: &str, line_no: usize) -> Result<PathBuf, String> {
    let rel = Path::new(p);
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "line {line_no}: path {p:?} leaves the target directory"
        ));
    }
    Ok(dest.join(rel))
}

/// Extract the ttar archive `text` into `dest` (created if needed). Directory modes are applied last, so
/// a read-only directory does not stop its own entries from being written.
pub fn extract_str(text: &[u8], dest: &Path) -> Result<usize, String> {
    fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    let mut lines = text.split(|&b| b == b'\n').enumerate().peekable();
    let mut path: Option<PathBuf> = None;
    let mut dir_modes = Vec::new();
    let mut entries = 0;
    while let Some((no, line)) = lines.next() {
        let line_no = no + 1;
        if line.is_empty() && lines.peek().is_none() {
            break; // the text after the last newline
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| format!("line {line_no}: a keyword line that is not UTF-8"))?;
        let current = || {
            path.clone()
                .ok_or_else(|| format!("line {line_no}: {line:?} before any Path: or Directory:"))
        };
        if let Some(p) = line.strip_prefix("Path: ") {
            let p = inside(dest, p, line_no)?;
            if p.symlink_metadata().is_ok() {
                fs::remove_file(&p).map_err(|e| io("removing", &p, e))?;
            }
            path = Some(p);
            entries += 1;
        } else if let Some(n) = line.strip_prefix("Lines: ") {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("line {line_no}: bad line count {n:?}"))?;
            let p = current()?;
            let mut content = Vec::new();
            for _ in 0..n {
                let (_, l) = lines.next().ok_or_else(|| {
                    format!("line {line_no}: {} ends inside {n} lines", p.display())
                })?;
                let (bytes, newline) = decode_line(l);
                content.extend_from_slice(&bytes);
                if newline {
                    content.push(b'\n');
                }
            }
            fs::write(&p, content).map_err(|e| io("writing", &p, e))?;
        } else if let Some(m) = line.strip_prefix("Mode: ") {
            let mode = u32::from_str_radix(m.trim(), 8)
                .map_err(|_| format!("line {line_no}: bad mode {m:?}"))?;
            let p = current()?;
            if p.is_dir() {
                dir_modes.push((p, mode));
            } else {
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))
                    .map_err(|e| io("chmod", &p, e))?;
            }
        } else if let Some(d) = line.strip_prefix("Directory: ") {
            let p = inside(dest, d, line_no)?;
            fs::create_dir_all(&p).map_err(|e| io("creating", &p, e))?;
            path = Some(p);
            entries += 1;
        } else if let Some(target) = line.strip_prefix("SymlinkTo: ") {
            let p = current()?;
            std::os::unix::fs::symlink(target, &p).map_err(|e| io("symlinking", &p, e))?;
        } else if line.starts_with('#') {
            continue;
        } else {
            return Err(format!("line {line_no}: unknown keyword: {line:?}"));
        }
    }
    for (p, mode) in dir_modes.into_iter().rev() {
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .map_err(|e| io("chmod", &p, e))?;
    }
    Ok(entries)
}

/// Extract the ttar archive at `archive` into `dest`; returns the number of entries.
pub fn extract(archive: &Path, dest: &Path) -> Result<usize, String> {
    let text = fs::read(archive).map_err(|e| format!("reading {}: {e}", archive.display()))?;
    extract_str(&text, dest).map_err(|e| format!("{}: {e}", archive.display()))
}
