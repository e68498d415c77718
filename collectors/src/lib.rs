//! hostlens collectors: the metric families the agent serves.
//!
//! Each family (`node`, `container` with the cargo feature `container`; the `ebpf` family is the crate
//! `hostlens-bpf` in `agent-bpf/`) is a set of [`Collector`]s. A collector is split in two:
//! pure parsing functions over text (unit-tested on fixtures under `collectors/tests/fixtures`) and a thin
//! reading layer that opens files under configurable roots ([`Roots`]), so the agent can run in a container
//! with the host's `/proc`, `/sys` and `/` mounted elsewhere.

#[cfg(feature = "container")]
pub mod container;
pub mod dbus;
pub mod error;
pub mod flags;
pub mod node;
pub mod process;
pub mod read;
pub mod roots;

pub use error::CollectError;
/// The metric model collectors write into lives in the output layer (`agent/exposition`).
pub use hostlens_exposition::model as metrics;
pub use hostlens_exposition::{Family, Kind, MetricSet, Sample, Value};
pub use roots::Roots;

/// One unit of collection, run at scrape time under a time bound by the agent.
///
/// `collect` is synchronous and may block (file reads, `statfs`): the agent runs it on a blocking thread.
pub trait Collector: Send + Sync + 'static {
    /// The name used in `--collector.<name>` and in the `collector` label of the scrape metrics.
    fn name(&self) -> &'static str;
    /// Append this collector's metrics to `out`. A collector that finds nothing to report on this host
    /// returns [`CollectError::NoData`].
    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError>;
}
