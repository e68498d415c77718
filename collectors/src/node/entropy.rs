//! `entropy`: node_entropy_available_bits and node_entropy_pool_size_bits from
//! `/proc/sys/kernel/random/{entropy_avail,poolsize}`.

use crate::read::read_u64;
use crate::{CollectError, MetricSet, Roots};

/// The `entropy` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let read = |file: &str| read_u64(roots.proc(&format!("sys/kernel/random/{file}")));
    let avail = read("entropy_avail")?;
    out.gauge(
        "node_entropy_available_bits",
        "Bits of available entropy.",
        &[],
        avail as f64,
    );
    let pool = read("poolsize")?;
    out.gauge(
        "node_entropy_pool_size_bits",
        "Bits of entropy pool.",
        &[],
        pool as f64,
    );
    Ok(())
}

#[cfg(test)]
mod tests {

    use crate::node::testutil::{assert_fixture, assert_rejects};
    use crate::read::parse_u64;

    #[test]
    fn parses_values() {
        assert_eq!(parse_u64("256\n"), Ok(256));
        // Kernels before 5.18 had a 4096-bit pool and a varying entropy count.
        assert_eq!(parse_u64("3771\n"), Ok(3771));
        assert_rejects(parse_u64, &["", "-1"]);
    }

    #[test]
    fn collects_from_fixture_root() {
        assert_fixture(
            "entropy",
            &[
                ("node_entropy_available_bits", &[], 256.0),
                ("node_entropy_pool_size_bits", &[], 256.0),
            ],
        );
    }
}
