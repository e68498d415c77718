//! Small sysfs attribute reads shared by the sysfs collectors (thermal_zone, powersupplyclass, hwmon, time).

use std::io::Read;
use std::path::Path;

/// Read at most 128 bytes of a sysfs attribute with one `read(2)` and trim surrounding whitespace, as
/// prometheus/procfs' `SysReadFile` does: some hwmon drivers answer `EAGAIN` forever, and a single read
/// returns the error at once instead of polling.
pub fn sys_read_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = [0u8; 128];
    let n = loop {
        match f.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok(String::from_utf8_lossy(buf[..n].trim_ascii()).into_owned())
}

/// The names of every entry of a sysfs class directory, sorted (as Go's `ReadDir` returns them); entries
/// whose names are not UTF-8 are skipped.
pub fn sorted_entry_names(dir: &Path) -> Result<Vec<String>, crate::CollectError> {
    let io = |e| crate::CollectError::io(dir, e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        if let Some(n) = entry.map_err(io)?.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Directory entries of `dir` whose names start with `prefix` followed by at least one ASCII digit (the
/// glob `<prefix>[0-9]*`), sorted by name as Go's `filepath.Glob` returns them. A missing directory gives
/// an empty list, as a glob does.
pub fn glob_numbered(dir: &Path, prefix: &str) -> std::io::Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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
