//! `filefd`: node_filefd_allocated and node_filefd_maximum from `/proc/sys/fs/file-nr`.

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// The two values node_exporter reports from `file-nr` (the middle one, free handles, is always 0 since
/// Linux 2.6 and is skipped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileNr {
    pub allocated: f64,
    pub maximum: f64,
}

/// Parse `/proc/sys/fs/file-nr` (`577\t0\t2466165\n`): three tab-separated numbers.
pub fn parse_file_nr(text: &str) -> Result<FileNr, ParseError> {
    let parts: Vec<&str> = text.trim().split('\t').collect();
    if parts.len() < 3 {
        return Err(ParseError::new(format!(
            "unexpected number of file stats: {}",
            parts.len()
        )));
    }
    let num = |s: &str| -> Result<f64, ParseError> {
        s.parse()
            .map_err(|_| ParseError::new(format!("invalid value {s:?} in file-nr")))
    };
    Ok(FileNr {
        allocated: num(parts[0])?,
        maximum: num(parts[2])?,
    })
}

/// The `filefd` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc("sys/fs/file-nr");
    let f = parse_file_nr(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    out.gauge(
        "node_filefd_allocated",
        "File descriptor statistics: allocated.",
        &[],
        f.allocated,
    );
    out.gauge(
        "node_filefd_maximum",
        "File descriptor statistics: maximum.",
        &[],
        f.maximum,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects};

    #[test]
    fn parses_fixture() {
        let f = parse_file_nr(include_str!("../../tests/fixtures/proc/sys/fs/file-nr")).unwrap();
        assert_eq!(
            f,
            FileNr {
                allocated: 642.0,
                maximum: 2466165.0
            }
        );
    }

    #[test]
    fn large_maximum_and_garbage() {
        // fs.file-max defaults to LONG_MAX on 64-bit kernels since 5.x when set to unlimited.
        let f = parse_file_nr("1024\t0\t9223372036854775807\n").unwrap();
        assert_eq!(f.maximum, 9223372036854775807.0);
        assert_rejects(parse_file_nr, &["1024 0 2048\n", "", "x\t0\t1"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        assert_fixture(
            "filefd",
            &[
                ("node_filefd_allocated", &[], 642.0),
                ("node_filefd_maximum", &[], 2466165.0),
            ],
        );
    }
}
