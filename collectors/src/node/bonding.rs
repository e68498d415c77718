//! `bonding`: node_bonding_slaves{master} and node_bonding_active{master} from
//! `/sys/class/net/bonding_masters`, `<master>/bonding/slaves` and each slave's
//! `<master>/lower_<slave>/bonding_slave/mii_status` (`slave_<slave>` on older kernels). Without the bonding
//! driver `bonding_masters` does not exist: no data.

use std::path::Path;

use crate::read::read_to_string;
use crate::{CollectError, MetricSet, Roots};

/// Configured and active (MII status `up`) slaves of one bond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondStatus {
    pub master: String,
    pub slaves: u32,
    pub active: u32,
}

/// Read the status of every bond under `class_net` (`/sys/class/net`).
pub fn read_bonding(class_net: &Path) -> Result<Vec<BondStatus>, CollectError> {
    let masters = read_to_string(class_net.join("bonding_masters"))?;
    let mut out = Vec::new();
    for master in masters.split_whitespace() {
        let dir = class_net.join(master);
        let slaves = read_to_string(dir.join("bonding/slaves"))?;
        let mut st = BondStatus {
            master: master.to_string(),
            slaves: 0,
            active: 0,
        };
        for slave in slaves.split_whitespace() {
            let lower = dir.join(format!("lower_{slave}/bonding_slave/mii_status"));
            let state = match read_to_string(&lower) {
                Err(e) if e.is_no_data() => {
                    read_to_string(dir.join(format!("slave_{slave}/bonding_slave/mii_status")))?
                }
                r => r?,
            };
            st.slaves += 1;
            if state.trim() == "up" {
                st.active += 1;
            }
        }
        out.push(st);
    }
    Ok(out)
}

/// The `bonding` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let class_net = roots.sys("class/net");
    let bonds = read_bonding(&class_net).map_err(|e| e.no_data_because("no bonding"))?;
    for b in &bonds {
        out.gauge(
            "node_bonding_slaves",
            "Number of configured slaves per bonding interface.",
            &[("master", &b.master)],
            f64::from(b.slaves),
        );
        out.gauge(
            "node_bonding_active",
            "Number of active slaves per bonding interface.",
            &[("master", &b.master)],
            f64::from(b.active),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, collect_with, fixture_config, fixture_root};
    use std::sync::Arc;

    #[test]
    fn reads_fixture_with_old_slave_prefix() {
        let b = read_bonding(&fixture_root().join("sys/class/net")).unwrap();
        assert_eq!(
            b,
            [BondStatus {
                master: "bond0".into(),
                slaves: 2,
                active: 1
            }]
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        assert_fixture(
            "bonding",
            &[
                ("node_bonding_slaves", &[("master", "bond0")], 2.0),
                ("node_bonding_active", &[("master", "bond0")], 1.0),
            ],
        );
    }

    #[test]
    fn no_bonding_driver_is_no_data() {
        let mut cfg = fixture_config();
        cfg.roots = Arc::new(Roots::new("/nonexistent", "/nonexistent", "/", None));
        let err = collect_with("bonding", &cfg).unwrap_err();
        assert!(matches!(err, CollectError::NoData(_)), "{err}");
    }
}
