//! `uname`: node_uname_info from the uname(2) system call.
//!
//! As in node_exporter, the values are the agent's own: in a container, `nodename` (and `domainname`) are
//! those of the container's UTS namespace unless it runs with the host's (`--uts=host`); `--path.rootfs`
//! does not change them.

use crate::{CollectError, MetricSet, Roots};

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

impl Uname {
    /// The fields of uname(2)'s answer (rustix' safe wrapper).
    pub fn from_rustix(u: &rustix::system::Uname) -> Self {
        let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
        Uname {
            sysname: s(u.sysname()),
            release: s(u.release()),
            version: s(u.version()),
            machine: s(u.machine()),
            nodename: s(u.nodename()),
            domainname: s(u.domainname()),
        }
    }
}

/// Call uname(2), which cannot fail.
pub fn uname() -> Uname {
    Uname::from_rustix(&rustix::system::uname())
}

/// The `uname` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(_roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let u = uname();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::collect_fixture;

    #[test]
    fn matches_proc_sys_kernel() {
        // The kernel exposes the same strings under /proc/sys/kernel.
        let u = uname();
        let proc = |f: &str| std::fs::read_to_string(format!("/proc/sys/kernel/{f}")).unwrap();
        assert_eq!(u.sysname, proc("ostype").trim());
        assert_eq!(u.release, proc("osrelease").trim());
        assert_eq!(u.version, proc("version").trim());
        assert_eq!(u.nodename, proc("hostname").trim());
        assert_eq!(u.domainname, proc("domainname").trim());
    }

    #[test]
    fn collects_from_this_host() {
        let out = collect_fixture("uname");
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
