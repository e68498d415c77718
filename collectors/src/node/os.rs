//! `os`: node_os_info and node_os_version from `<rootfs>/etc/os-release`, falling back to
//! `<rootfs>/usr/lib/os-release`.
//!
//! The file is parsed the way node_exporter's envparse does (quotes, JSON-style escapes in double quotes,
//! trailing comments, an `export ` prefix) and re-parsed only when its path or modification time changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::ParseError;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// The os-release fields node_exporter labels its metrics with (empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub name: String,
    pub id: String,
    pub id_like: String,
    pub pretty_name: String,
    pub variant: String,
    pub variant_id: String,
    pub version: String,
    pub version_id: String,
    pub version_codename: String,
    pub build_id: String,
    pub image_id: String,
    pub image_version: String,
}

/// Parse an os-release file (see os-release(5)).
pub fn parse_os_release(text: &str) -> Result<OsRelease, ParseError> {
    let mut env = parse_env(text)?;
    let mut take = |k: &str| env.remove(k).unwrap_or_default();
    Ok(OsRelease {
        name: take("NAME"),
        id: take("ID"),
        id_like: take("ID_LIKE"),
        pretty_name: take("PRETTY_NAME"),
        variant: take("VARIANT"),
        variant_id: take("VARIANT_ID"),
        version: take("VERSION"),
        version_id: take("VERSION_ID"),
        version_codename: take("VERSION_CODENAME"),
        build_id: take("BUILD_ID"),
        image_id: take("IMAGE_ID"),
        image_version: take("IMAGE_VERSION"),
    })
}

/// The `major.minor` number at the start of `VERSION_ID` (`^[0-9]+\.?[0-9]*`), 0 when there is none
/// (node_exporter then omits node_os_version).
pub fn major_minor(version_id: &str) -> f64 {
    let b = version_id.as_bytes();
    let mut end = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if end == 0 {
        return 0.0;
    }
    if b.get(end) == Some(&b'.') {
        end += 1;
        end += b[end..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    version_id[..end].parse().unwrap_or(0.0)
}

/// Parse `KEY=value` lines into a map, last value of a key winning.
pub fn parse_env(text: &str) -> Result<HashMap<String, String>, ParseError> {
    let mut env = HashMap::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        match parse_env_line(line) {
            Ok(Some((k, v))) => {
                env.insert(k, v);
            }
            Ok(None) => {}
            Err(e) => return Err(ParseError::new(format!("line {}: {e}", i + 1))),
        }
    }
    Ok(env)
}

#[derive(PartialEq)]
enum Mode {
    Normal,
    Double,
    Single,
    Escape,
}

fn hex4(b: &[u8]) -> Result<u16, String> {
    if b.len() < 4 {
        return Err("incomplete hex sequence".into());
    }
    let s = std::str::from_utf8(&b[..4]).map_err(|_| "invalid hex sequence".to_string())?;
    u16::from_str_radix(s, 16).map_err(|_| format!("invalid hex sequence {s:?}"))
}

/// One line: `None` for blank lines and comments.
fn parse_env_line(line: &str) -> Result<Option<(String, String)>, String> {
    let ln = line.trim();
    if ln.is_empty() || ln.starts_with('#') {
        return Ok(None);
    }
    let (key, value) = ln.split_once('=').ok_or("missing =")?;
    let mut key = key.trim();
    let value = value.trim().as_bytes();
    if key.len() > "export ".len() {
        key = key.strip_prefix("export ").unwrap_or(key);
    }
    let kb = key.as_bytes();
    let Some(&first) = kb.first() else {
        return Err("empty key".into());
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return Err(format!(
            "key must start with [A-Za-z_] but found {:?}",
            first as char
        ));
    }
    if let Some(&bad) = kb[1..]
        .iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/')))
    {
        return Err(format!(
            "key characters must be [A-Za-z0-9/_.] but found {:?}",
            bad as char
        ));
    }

    let mut out: Vec<u8> = Vec::with_capacity(value.len());
    let mut last_sig = 0;
    let mut mode = Mode::Normal;
    let mut i = 0;
    while i < value.len() {
        let v = value[i];
        if v < 32 {
            return Err(format!("0x{v:02x} is an invalid value character"));
        }
        if v > 127 {
            if mode == Mode::Escape {
                return Err("multibyte characters disallowed in escape sequences".into());
            }
            out.push(v);
            // Multibyte characters are significant (a trailing comment never cuts them off).
            last_sig = out.len();
            i += 1;
            continue;
        }
        match mode {
            Mode::Normal => match v {
                b'"' => mode = Mode::Double,
                b'\'' => mode = Mode::Single,
                b'#' => {
                    out.truncate(last_sig);
                    return finish(key, out).map(Some);
                }
                b' ' | b'\t' => out.push(v),
                _ => {
                    out.push(v);
                    last_sig = out.len();
                }
            },
            Mode::Double => match v {
                b'"' => mode = Mode::Normal,
                b'\\' => mode = Mode::Escape,
                _ => {
                    out.push(v);
                    last_sig = out.len();
                }
            },
            Mode::Single => match v {
                b'\'' => mode = Mode::Normal,
                _ => {
                    out.push(v);
                    last_sig = out.len();
                }
            },
            Mode::Escape => {
                match v {
                    b'"' | b'\\' | b'/' => out.push(v),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'r' => out.push(b'\r'),
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let hi = hex4(&value[i + 1..])?;
                        i += 4;
                        let mut units = vec![hi];
                        if (0xD800..0xE000).contains(&hi) {
                            if value.len() < i + 6 || value[i + 1] != b'\\' || value[i + 2] != b'u'
                            {
                                return Err("incomplete Unicode surrogate pair".into());
                            }
                            units.push(hex4(&value[i + 3..])?);
                            i += 6;
                        }
                        let c = char::decode_utf16(units)
                            .next()
                            .and_then(Result::ok)
                            .unwrap_or(char::REPLACEMENT_CHARACTER);
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return Err(format!("invalid escape sequence: {:?}", v as char)),
                }
                last_sig = out.len();
                mode = Mode::Double;
            }
        }
        i += 1;
    }
    match mode {
        Mode::Normal => finish(key, out).map(Some),
        Mode::Double => Err("unmatched \"".into()),
        Mode::Single => Err("unmatched '".into()),
        Mode::Escape => Err("incomplete escape sequence".into()),
    }
}

fn finish(key: &str, value: Vec<u8>) -> Result<(String, String), String> {
    let v = String::from_utf8(value).map_err(|e| format!("invalid UTF-8 in value: {e}"))?;
    Ok((key.to_string(), v))
}

struct Cached {
    path: PathBuf,
    mtime: SystemTime,
    release: OsRelease,
    version: f64,
}

pub struct Os {
    files: [PathBuf; 2],
    cache: Mutex<Option<Cached>>,
}

impl Os {
    /// Refresh the cache from `path`; `Ok(false)` when the file does not exist.
    fn update(&self, cache: &mut Option<Cached>, path: &PathBuf) -> Result<bool, CollectError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(CollectError::io(path, e)),
        };
        let mtime = meta.modified().map_err(|e| CollectError::io(path, e))?;
        if let Some(c) = cache {
            if &c.path == path && c.mtime == mtime {
                return Ok(true);
            }
        }
        let text = match crate::read::read_file(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(CollectError::io(path, e)),
        };
        let release = parse_os_release(&text).map_err(|e| e.at(path))?;
        let version = major_minor(&release.version_id);
        *cache = Some(Cached {
            path: path.clone(),
            mtime,
            release,
            version,
        });
        Ok(true)
    }
}

impl NodeCollector for Os {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let roots: &Arc<Roots> = &cfg.roots;
        Ok(Os {
            files: [
                roots.root("etc/os-release"),
                roots.root("usr/lib/os-release"),
            ],
            cache: Mutex::new(None),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut guard = self
            .cache
            .lock()
            .map_err(|_| CollectError::Other("os: cache lock poisoned".into()))?;
        let mut found = false;
        for path in &self.files {
            if self.update(&mut guard, path)? {
                found = true;
                break;
            }
        }
        let Some(c) = guard.as_ref().filter(|_| found) else {
            return Err(CollectError::NoData(
                "no os-release file found (etc/os-release, usr/lib/os-release)".into(),
            ));
        };
        let r = &c.release;
        out.gauge(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
            &[
                ("build_id", &r.build_id),
                ("id", &r.id),
                ("id_like", &r.id_like),
                ("image_id", &r.image_id),
                ("image_version", &r.image_version),
                ("name", &r.name),
                ("pretty_name", &r.pretty_name),
                ("variant", &r.variant),
                ("variant_id", &r.variant_id),
                ("version", &r.version),
                ("version_codename", &r.version_codename),
                ("version_id", &r.version_id),
            ],
            1.0,
        );
        if c.version > 0.0 {
            out.gauge(
                "node_os_version",
                "Metric containing the major.minor part of the OS version.",
                &[("id", &r.id), ("id_like", &r.id_like), ("name", &r.name)],
                c.version,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, assert_values, build, fixture_config};

    #[test]
    fn parses_debian_fixture() {
        let r = parse_os_release(include_str!("../../tests/fixtures/root/etc/os-release")).unwrap();
        assert_eq!(r.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(r.version_codename, "bookworm");
        assert_eq!(r.id, "debian");
        assert_eq!(r.id_like, "");
        assert_eq!(major_minor(&r.version_id), 12.0);
    }

    #[test]
    fn parses_quoting_comments_and_escapes() {
        let text = "# comment\n\nNAME='Ubuntu'\nID=ubuntu\nID_LIKE=debian # trailing\r\nexport VERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy \\\"J\\\" Jellyfish) \\u00e9\"\nVARIANT = Server Edition  \n";
        let r = parse_os_release(text).unwrap();
        assert_eq!(r.name, "Ubuntu");
        assert_eq!(r.id_like, "debian");
        assert_eq!(r.version_id, "22.04");
        assert_eq!(r.version, "22.04.3 LTS (Jammy \"J\" Jellyfish) é");
        assert_eq!(r.variant, "Server Edition");
        assert_rejects(
            parse_os_release,
            &["NAME=\"unterminated\n", "just words\n", "1KEY=x\n"],
        );
    }

    #[test]
    fn version_numbers() {
        assert_eq!(major_minor("12"), 12.0);
        assert_eq!(major_minor("22.04"), 22.04);
        assert_eq!(major_minor("8.6.2"), 8.6);
        assert_eq!(major_minor("3."), 3.0);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(major_minor(""), 0.0);
    }

    #[test]
    fn collects_from_fixture_root() {
        let c = build("os", &fixture_config()).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        assert_values(
            &out,
            &[
                (
                    "node_os_info",
                    &[("id", "debian"), ("version_id", "12"), ("build_id", "")],
                    1.0,
                ),
                (
                    "node_os_version",
                    &[("name", "Debian GNU/Linux"), ("id_like", "")],
                    12.0,
                ),
            ],
        );
        // Cached second scrape gives the same.
        let mut again = MetricSet::new();
        c.collect(&mut again).unwrap();
        assert_eq!(again.value("node_os_version", &[]), Some(12.0));
    }

    #[test]
    fn falls_back_to_usr_lib_and_reports_no_data() {
        let dir = std::env::temp_dir().join(format!("hostlens-os-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("usr/lib")).unwrap();
        let cfg = NodeConfig {
            roots: Arc::new(Roots::new("/proc", "/sys", &dir, None)),
            ..NodeConfig::default()
        };
        let c = build("os", &cfg).unwrap();
        let err = c.collect(&mut MetricSet::new()).unwrap_err();
        assert!(err.is_no_data());
        std::fs::write(
            dir.join("usr/lib/os-release"),
            "ID=arch\nNAME=\"Arch Linux\"\nBUILD_ID=rolling\n",
        )
        .unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        assert_eq!(
            out.value("node_os_info", &[("id", "arch"), ("build_id", "rolling")]),
            Some(1.0)
        );
        assert!(out.get("node_os_version").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
