//! Where the host's files are: node_exporter's `--path.procfs`, `--path.sysfs`, `--path.rootfs`.

use std::path::{Path, PathBuf};

use crate::error::CollectError;

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

/// Read a whole file to a string, with the path in the error.
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String, CollectError> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|e| CollectError::io(path, e))
}

/// Read a whole file whose absence means the host has no such subsystem: a missing file is
/// [`CollectError::NoData`] ("<path> absent"), any other failure an error.
pub fn read_to_string_or_no_data(path: impl AsRef<Path>) -> Result<String, CollectError> {
    let path = path.as_ref();
    match read_to_string(path) {
        Err(e) if e.is_no_data() => Err(CollectError::NoData(format!("{} absent", path.display()))),
        r => r,
    }
}

/// Read a small sysfs attribute, trimmed. `Ok(None)` when the file does not exist or the kernel refuses to
/// read it (`EINVAL` on a link that is down, `EOPNOTSUPP`), as node_exporter treats those.
pub fn read_attr(path: impl AsRef<Path>) -> Result<Option<String>, CollectError> {
    let path = path.as_ref();
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput
            ) || matches!(
                e.raw_os_error(),
                Some(libc::EINVAL)
                    | Some(libc::EOPNOTSUPP)
                    | Some(libc::ENODEV)
                    | Some(libc::EBUSY)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(CollectError::io(path, e)),
    }
}
