//! `entropy`: node_entropy_available_bits and node_entropy_pool_size_bits from
//! `/proc/sys/kernel/random/{entropy_avail,poolsize}`.

use std::sync::Arc;

use crate::read::{parse_u64, read_to_string};
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

pub struct Entropy {
    roots: Arc<Roots>,
}

impl Entropy {
    fn read(&self, file: &str) -> Result<u64, CollectError> {
        let path = self.roots.proc(&format!("sys/kernel/random/{file}"));
        parse_u64(&read_to_string(&path)?).map_err(|e| e.at(&path))
    }
}

impl NodeCollector for Entropy {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Entropy {
            roots: cfg.roots.clone(),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let avail = self.read("entropy_avail")?;
        out.gauge(
            "node_entropy_available_bits",
            "Bits of available entropy.",
            &[],
            avail as f64,
        );
        let pool = self.read("poolsize")?;
        out.gauge(
            "node_entropy_pool_size_bits",
            "Bits of entropy pool.",
            &[],
            pool as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects};

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
