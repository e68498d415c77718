//! `selinux`: node_selinux_enabled and, when SELinux is enabled, node_selinux_config_mode and
//! node_selinux_current_mode.
//!
//! node_exporter decides as opencontainers/selinux does: SELinux is enabled when a writable selinuxfs is
//! mounted (`/sys/fs/selinux`, else any `selinuxfs` in the agent's mountinfo when the kernel knows the
//! filesystem) and the agent's own label (`attr/current`) is not `kernel`. The current mode is
//! `<selinuxfs>/enforce`; the configured mode is `SELINUX=` in `/etc/selinux/config` (read under the
//! rootfs here, so that an agent in a container sees the host's configuration). Modes: 1 enforcing,
//! 0 permissive, -1 disabled.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

const SELINUX_MAGIC: u32 = 0xf97c_ff8c;

pub const ENFORCING: i32 = 1;
pub const PERMISSIVE: i32 = 0;
pub const DISABLED: i32 = -1;

/// The value of `key` in an `/etc/selinux/config`-style file (`KEY=value`, `#` and `;` comments, quotes
/// around the value dropped).
pub fn config_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return None;
        }
        let (k, v) = line.split_once('=')?;
        (k == key).then(|| v.trim_matches('"'))
    })
}

/// The boot-time mode from the config file's `SELINUX=` (`enforcing`, `permissive`, anything else is
/// disabled).
pub fn config_mode(config: Option<&str>) -> i32 {
    match config.and_then(|t| config_value(t, "SELINUX")) {
        Some("enforcing") => ENFORCING,
        Some("permissive") => PERMISSIVE,
        _ => DISABLED,
    }
}

/// The current mode from `<selinuxfs>/enforce` (`1` or `0`, no newline); -1 when unreadable.
pub fn enforce_mode(content: Option<&str>) -> i32 {
    content.and_then(|c| c.parse().ok()).unwrap_or(DISABLED)
}

/// Mount points of `selinuxfs` filesystems in a mountinfo file, in order.
pub fn selinuxfs_mounts(mountinfo: &str) -> Vec<&str> {
    mountinfo
        .lines()
        .filter(|l| l.contains(" - selinuxfs "))
        .filter_map(|l| l.split(' ').nth(4))
        .collect()
}

/// Whether the agent's own SELinux label (`attr/current`, NUL-terminated) leaves SELinux enabled: only a
/// process labelled `kernel` means the policy is not loaded.
pub fn label_enables(label: Option<&[u8]>) -> bool {
    match label {
        Some(l) => l.strip_suffix(b"\0").unwrap_or(l) != b"kernel",
        None => true,
    }
}

/// A writable selinuxfs is mounted at `path`.
fn is_selinuxfs(path: &Path) -> bool {
    loop {
        match rustix::fs::statfs(path) {
            // The field types differ between architectures.
            #[allow(clippy::unnecessary_cast)]
            Ok(buf) => {
                return buf.f_type as u32 == SELINUX_MAGIC
                    && (buf.f_flags as u64) & (libc::ST_RDONLY as u64) == 0
            }
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Where selinuxfs is mounted, if it is.
fn find_selinuxfs(roots: &Roots) -> Option<PathBuf> {
    let default = roots.sys("fs/selinux");
    if is_selinuxfs(&default) {
        return Some(default);
    }
    let filesystems = crate::read::read_file_bytes(roots.proc("filesystems")).ok()?;
    if !filesystems.windows(11).any(|w| w == b"\tselinuxfs\n") {
        return None;
    }
    let mountinfo = crate::read::read_file(roots.proc("self/mountinfo")).ok()?;
    selinuxfs_mounts(&mountinfo)
        .into_iter()
        .map(PathBuf::from)
        .find(|p| is_selinuxfs(p))
}

pub struct Selinux {
    roots: Arc<Roots>,
    /// The selinuxfs mount when SELinux is enabled, decided once (it cannot change without a reboot).
    state: OnceLock<Option<PathBuf>>,
}

impl Selinux {
    fn enabled_mount(&self) -> Option<&PathBuf> {
        self.state
            .get_or_init(|| {
                let mnt = find_selinuxfs(&self.roots)?;
                let label =
                    crate::read::read_file_bytes(self.roots.proc("thread-self/attr/current"))
                        .or_else(|_| {
                            crate::read::read_file_bytes(self.roots.proc("self/attr/current"))
                        })
                        .ok();
                label_enables(label.as_deref()).then_some(mnt)
            })
            .as_ref()
    }
}

/// Write the metrics: `modes` is `Some((config, current))` when SELinux is enabled.
pub fn write_selinux(modes: Option<(i32, i32)>, out: &mut MetricSet) {
    let Some((config, current)) = modes else {
        out.gauge(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
            &[],
            0.0,
        );
        return;
    };
    out.gauge(
        "node_selinux_enabled",
        "SELinux is enabled, 1 is true, 0 is false",
        &[],
        1.0,
    );
    out.gauge(
        "node_selinux_config_mode",
        "Configured SELinux enforcement mode",
        &[],
        config as f64,
    );
    out.gauge(
        "node_selinux_current_mode",
        "Current SELinux enforcement mode",
        &[],
        current as f64,
    );
}

impl NodeCollector for Selinux {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Selinux {
            roots: cfg.roots.clone(),
            state: OnceLock::new(),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let modes = self.enabled_mount().map(|mnt| {
            let config = crate::read::read_file(self.roots.root("etc/selinux/config")).ok();
            let enforce = crate::read::read_file(mnt.join("enforce")).ok();
            (
                config_mode(config.as_deref()),
                enforce_mode(enforce.as_deref()),
            )
        });
        write_selinux(modes, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_fixture};

    const CONFIG: &str = "# This file controls the state of SELinux on the system.\n\
        # SELINUX= can take one of these three values:\n\
        #     enforcing - SELinux security policy is enforced.\n\
        SELINUX=permissive\n\
        ; old-style comment\n\
        SELINUXTYPE=\"targeted\"\n";

    #[test]
    fn parses_config() {
        assert_eq!(config_value(CONFIG, "SELINUXTYPE"), Some("targeted"));
        assert_eq!(config_mode(Some(CONFIG)), PERMISSIVE);
        assert_eq!(config_mode(Some("SELINUX=enforcing\n")), ENFORCING);
        assert_eq!(config_mode(Some("SELINUX=disabled\n")), DISABLED);
        assert_eq!(config_mode(None), DISABLED);
    }

    #[test]
    fn parses_enforce_and_label() {
        assert_eq!(enforce_mode(Some("1")), ENFORCING);
        assert_eq!(enforce_mode(Some("0")), PERMISSIVE);
        assert_eq!(enforce_mode(Some("1\n")), DISABLED);
        assert_eq!(enforce_mode(None), DISABLED);
        assert!(!label_enables(Some(b"kernel\0")));
        assert!(label_enables(Some(
            b"system_u:system_r:unconfined_service_t:s0\0"
        )));
        assert!(label_enables(None));
    }

    #[test]
    fn finds_selinuxfs_in_mountinfo() {
        let mi = "22 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/rhel-root rw\n\
            23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw,seclabel\n\
            24 23 0:22 / /sys/fs/selinux rw,nosuid,noexec,relatime shared:3 - selinuxfs selinuxfs rw\n";
        assert_eq!(selinuxfs_mounts(mi), ["/sys/fs/selinux"]);
        assert!(selinuxfs_mounts("").is_empty());
    }

    #[test]
    fn writes_enabled_modes() {
        let mut out = MetricSet::new();
        write_selinux(Some((ENFORCING, PERMISSIVE)), &mut out);
        assert_values(
            &out,
            &[
                ("node_selinux_enabled", &[], 1.0),
                ("node_selinux_config_mode", &[], 1.0),
                ("node_selinux_current_mode", &[], 0.0),
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        // The fixture sysfs has no selinuxfs mounted: disabled, and only the enabled gauge.
        let out = collect_fixture("selinux");
        assert_eq!(out.value("node_selinux_enabled", &[]), Some(0.0));
        assert_eq!(out.families().len(), 1);
    }
}
