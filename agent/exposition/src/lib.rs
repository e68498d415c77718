//! hostlens' output layer, between the collectors and HTTP: read → parse → **model → gather → encode** →
//! HTTP.
//!
//! - [`model`]: the metric model collectors write into ([`MetricSet`]): the five types of the text format.
//! - [`gather`]: the outputs of all collectors become one exposition with client_golang's order and checks
//!   (duplicates dropped and reported per collector).
//! - [`text`]: the classic text format, byte for byte as client_golang writes it ([`float`]: Go's floats).
//!
//! Why our own ~400 lines and not a crate: `prometheus-client` writes OpenMetrics' rules into the classic
//! format (a counter must end in `_total`, which it appends itself; no summary; an untyped family is
//! `unknown`), so cAdvisor's `container_memory_failcnt` (a counter) and a textfile's summary could not be
//! served as the upstream exporters serve them; the `prometheus` crate's `TextEncoder` neither sorts nor
//! checks for duplicates and formats floats as Rust does (`1795565299`, not Go's `1.795565299e+09`).

pub mod float;
pub mod gather;
pub mod model;
pub mod text;

pub use gather::{gather, DropReason, Dropped, Gathered};
pub use model::{Family, Kind, MetricSet, Sample, Value};
pub use text::{encode, CONTENT_TYPE};
