//! Typed errors of the collectors library.

use std::path::{Path, PathBuf};

/// Why a collector could not produce its metrics.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what the kernel documents.
    #[error("parsing {path}: {msg}")]
    Parse { path: PathBuf, msg: String },
    /// The host has nothing for this collector (no such subsystem, module not loaded).
    #[error("no data: {0}")]
    NoData(String),
    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}

impl CollectError {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        CollectError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn parse(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        CollectError::Parse {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
        }
    }

    /// A "nothing here" error (see [`is_no_data`](Self::is_no_data)) becomes [`CollectError::NoData`] saying
    /// why in the collector's terms (`conntrack probably not loaded: …`); any other error is kept.
    pub fn no_data_because(self, why: &str) -> Self {
        if self.is_no_data() {
            CollectError::NoData(format!("{why}: {self}"))
        } else {
            self
        }
    }

    /// True when the error only means "nothing here" (a missing file or an explicit no-data).
    pub fn is_no_data(&self) -> bool {
        match self {
            CollectError::NoData(_) => true,
            CollectError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// A parse error without a path yet; readers attach the path with [`ParseError::at`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }

    pub fn at(self, path: impl AsRef<Path>) -> CollectError {
        CollectError::parse(path, self.0)
    }
}
