//! The container family: cAdvisor's `container_*` metrics for Docker containers, read from cgroup files at
//! scrape time, with the names (`name`, `image`) the Docker Engine API gives.
//!
//! Split in two, like every family here:
//! - [`cgroup`]: pure parsers of the cgroup v1 and v2 files and the readers over a configurable cgroup root,
//!   and [`collector`], which turns a [`Snapshot`] of the running containers plus their cgroup files into
//!   cAdvisor's names and labels.
//! - [`docker`]: discovery through the Docker Engine API (bollard over the unix socket), following the
//!   daemon's events instead of polling; it keeps a [`Snapshot`] the collector reads at scrape time.
//!
//! - [`machine`]: cAdvisor's `machine_*` gauges and `cadvisor_version_info`.
//!
//! Its flags are [`ContainerArgs`] (`args.rs`), flattened into the agent's CLI.

pub mod args;
pub mod cgroup;
pub mod collector;
pub mod docker;
pub mod fs;
pub mod machine;
pub mod reason;

pub use args::ContainerArgs;

/// How Docker names the cgroup of a container (`docker info` → `CgroupDriver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupDriver {
    /// `/docker/<id>` (or `<cgroup-parent>/<id>`).
    Cgroupfs,
    /// `/system.slice/docker-<id>.scope` (or `<parent slice path>/docker-<id>.scope`).
    Systemd,
}

/// What the runtime says about one running container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    /// The full container ID (64 hex digits).
    pub id: String,
    /// The container's name as `docker ps` prints it (no leading `/`).
    pub name: String,
    /// The image as the container was created with it (`Config.Image`, e.g. `prom/prometheus:v3.5.0`).
    pub image: String,
    /// The PID of its init process in the host's PID namespace (`State.Pid`); `None` when not running.
    pub pid: Option<u32>,
    /// Creation time, Unix seconds (`Created`).
    pub created: Option<f64>,
    /// Start time, Unix seconds (`State.StartedAt`).
    pub started: Option<f64>,
    /// `HostConfig.CgroupParent`, empty when Docker's default.
    pub cgroup_parent: String,
    /// The container uses the host's or another container's network namespace (`--network host`,
    /// `--network container:<id>`): cAdvisor reports no network series for it (they would be someone else's).
    pub shares_network: bool,
    /// Extra labels, already named as cAdvisor names them (`container_label_<sanitized key>`,
    /// `container_env_<name>`): the Docker labels `--container.store-labels` / `--container.labels` let
    /// through (all by default), sorted by name.
    pub extra_labels: Vec<(String, String)>,
    /// `State.Health.Status` (`starting`, `healthy`, `unhealthy`), "" without a health check:
    /// `container_health_state`.
    pub health_status: String,
}

/// The containers known at one moment, and the state of the runtime connection.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// True while the Docker Engine API answers.
    pub runtime_up: bool,
    /// Why the runtime is not up (logged once by the source; exported as a label of the up metric).
    pub reason: Option<String>,
    /// The daemon's cgroup driver, once known.
    pub driver: Option<CgroupDriver>,
    /// Running containers, sorted by name.
    pub containers: Vec<ContainerInfo>,
}

/// Where the collector gets the running containers from (the Docker watcher, or a fixed list in tests).
pub trait ContainerSource: Send + Sync + 'static {
    fn snapshot(&self) -> Snapshot;

    /// The daemon's storage driver and root directory, once known (for [`fs`]); `None`: no filesystem usage.
    fn storage(&self) -> Option<fs::DockerStorage> {
        None
    }
}

/// A fixed list of containers (tests, fixtures).
impl ContainerSource for Snapshot {
    fn snapshot(&self) -> Snapshot {
        self.clone()
    }
}
