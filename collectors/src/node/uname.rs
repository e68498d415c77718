//! `uname`: node_uname_info from the uname(2) system call.
//!
//! As in node_exporter, the values are the agent's own: in a container, `nodename` (and `domainname`) are
//! those of the container's UTS namespace unless it runs with the host's (`--uts=host`); `--path.rootfs`
//! does not change them.

use crate::{CollectError, Collector, MetricSet};

use super::NodeConfig;

/// The fields of `struct utsname` node_exporter reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub nodename: String,
    pub domainname: String,
}

/// A NUL-terminated `utsname` field as a string (up to the first NUL, the whole array if there is none).
fn field(raw: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Uname {
    pub fn from_utsname(u: &libc::utsname) -> Self {
        Uname {
            sysname: field(&u.sysname),
            release: field(&u.release),
            version: field(&u.version),
            machine: field(&u.machine),
            nodename: field(&u.nodename),
            domainname: field(&u.domainname),
        }
    }
}

/// Call uname(2).
pub fn uname() -> std::io::Result<Uname> {
    // SAFETY: utsname is plain old data (arrays of c_char); all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    let rc = unsafe { libc::uname(&mut u) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Uname::from_utsname(&u))
}

pub struct UnameCollector;

pub fn new(_cfg: &NodeConfig) -> Result<Box<dyn Collector>, CollectError> {
    Ok(Box::new(UnameCollector))
}

impl Collector for UnameCollector {
    fn name(&self) -> &'static str {
        "uname"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let u = uname().map_err(|e| CollectError::Other(format!("uname: {e}")))?;
        out.gauge(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            &[
                ("domainname", &u.domainname),
                ("machine", &u.machine),
                ("nodename", &u.nodename),
                ("release", &u.release),
                ("sysname", &u.sysname),
                ("version", &u.version),
            ],
            1.0,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::fixture_config;

    fn set(dst: &mut [libc::c_char], s: &str) {
        for (d, b) in dst.iter_mut().zip(s.bytes()) {
            *d = b as libc::c_char;
        }
    }

    #[test]
    fn converts_utsname_fields() {
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        set(&mut u.sysname, "Linux");
        set(&mut u.release, "6.1.0-18-amd64");
        set(
            &mut u.version,
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        );
        set(&mut u.machine, "x86_64");
        set(&mut u.nodename, "db-01");
        set(&mut u.domainname, "(none)");
        let n = Uname::from_utsname(&u);
        assert_eq!(n.sysname, "Linux");
        assert_eq!(
            n.version,
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
        );
        assert_eq!(n.domainname, "(none)");
        // A field filling its whole array has no NUL.
        let full = vec![b'a' as libc::c_char; u.nodename.len()];
        assert_eq!(field(&full).len(), u.nodename.len());
    }

    #[test]
    fn collects_from_this_host() {
        let c = new(&fixture_config()).unwrap();
        let mut out = MetricSet::new();
        c.collect(&mut out).unwrap();
        assert_eq!(
            out.value("node_uname_info", &[("sysname", "Linux")]),
            Some(1.0)
        );
        let fam = out.get("node_uname_info").unwrap();
        let keys: Vec<&str> = fam.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "domainname",
                "machine",
                "nodename",
                "release",
                "sysname",
                "version"
            ]
        );
    }
}
