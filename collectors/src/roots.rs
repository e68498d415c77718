//! Where the host's files are: node_exporter's `--path.procfs`, `--path.sysfs`, `--path.rootfs`.

use std::path::{Path, PathBuf};

/// The roots every reader resolves its paths against.
#[derive(Debug, Clone)]
pub struct Roots {
    /// `/proc` of the host (`--path.procfs`).
    pub procfs: PathBuf,
    /// `/sys` of the host (`--path.sysfs`).
    pub sysfs: PathBuf,
    /// `/` of the host (`--path.rootfs`), used for mount points and `/etc/os-release`.
    pub rootfs: PathBuf,
    /// Where the host's network files are read: `<procfs>/net` by default (the agent's own network
    /// namespace, as node_exporter does), or `<procfs>/<pid>/net` with `--path.netns-pid` so that an agent in
    /// a container with the host's PID namespace reports the host's interfaces without host networking.
    pub procfs_net: PathBuf,
    /// Where `udev` keeps its device database (`--path.udev.data`), for disk info labels.
    pub udev_data: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots::new("/proc", "/sys", "/", None)
    }
}

impl Roots {
    pub fn new(
        procfs: impl Into<PathBuf>,
        sysfs: impl Into<PathBuf>,
        rootfs: impl Into<PathBuf>,
        netns_pid: Option<u32>,
    ) -> Self {
        let procfs = procfs.into();
        let procfs_net = match netns_pid {
            Some(pid) => procfs.join(pid.to_string()).join("net"),
            None => procfs.join("net"),
        };
        let rootfs: PathBuf = rootfs.into();
        Roots {
            udev_data: rootfs.join("run/udev/data"),
            procfs,
            sysfs: sysfs.into(),
            rootfs,
            procfs_net,
        }
    }

    /// A path under the proc root: `roots.proc("meminfo")`.
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.procfs.join(rel)
    }

    /// Whether the network files are another network namespace's than the agent's own (`--path.netns-pid`
    /// names a process outside the agent's namespace, as in the stack's container): per-namespace values that
    /// the kernel shows only to a reader *in* the namespace (`/proc/sys/net/*`, netlink) must then be taken
    /// from `/proc/<pid>/net` files instead.
    pub fn other_netns(&self) -> bool {
        self.procfs_net != self.procfs.join("net")
    }

    /// A path under the proc root's network directory: `roots.proc_net("dev")`.
    pub fn proc_net(&self, rel: &str) -> PathBuf {
        self.procfs_net.join(rel)
    }

    /// A path under the sys root: `roots.sys("class/net")`.
    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sysfs.join(rel)
    }

    /// A path under the host's root: `roots.root("etc/os-release")`.
    pub fn root(&self, rel: &str) -> PathBuf {
        self.rootfs.join(rel.trim_start_matches('/'))
    }

    /// A host mount point as seen by the agent (`/var/lib/docker` → `<rootfs>/var/lib/docker`).
    pub fn host_mount_point(&self, mount_point: &str) -> PathBuf {
        if self.rootfs == Path::new("/") {
            PathBuf::from(mount_point)
        } else {
            self.root(mount_point)
        }
    }
}

// The readers live in the read layer; these names stay for the families that import them from here.
pub use crate::read::{read_attr, read_to_string, read_to_string_or_no_data};
