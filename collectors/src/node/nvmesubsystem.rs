//! `nvmesubsystem`: node_nvmesubsystem_* from `/sys/class/nvme-subsystem/`, NVMe(-oF) multipath health,
//! as node_exporter 1.12.1 (new in 1.12, node_exporter#3579; prometheus/procfs 0.21.1
//! `NVMeSubsystemClass`) reads it.
//!
//! Per `nvme-subsys*` directory: `subsysnqn`, `model`, `serial`, `iopolicy`; its `nvme<N>` entries are
//! the controllers (paths: `state`, `transport`, `address`), its `nvme<N>n<M>` entries the namespaces.
//! A controller's state is one of node_exporter's states (`deleting (no IO)` counts as `deleting`,
//! anything else as `unknown`), exported as one 0/1 sample per state.
//!
//! No `/sys/class/nvme-subsystem`, or a subsystem missing one of its files: [`CollectError::NoData`], as
//! node_exporter's `ErrNoData`.

use std::io;
use std::path::Path;

use crate::read::{read_dir_sorted, sys_read_file};
use crate::{CollectError, MetricSet, Roots};

/// The states of `node_nvmesubsystem_path_state`, sorted as node_exporter sorts them.
pub const STATES: [&str; 7] = [
    "connecting",
    "dead",
    "deleting",
    "live",
    "new",
    "resetting",
    "unknown",
];

/// A controller's `state` file as a metric state.
pub fn normalize_state(raw: &str) -> &'static str {
    match raw {
        "live" => "live",
        "connecting" => "connecting",
        "resetting" => "resetting",
        "dead" => "dead",
        "deleting" | "deleting (no IO)" => "deleting",
        "new" => "new",
        _ => "unknown",
    }
}

/// Whether `name` is `nvme` and digits (a controller) ...
fn is_controller(name: &str) -> bool {
    name.strip_prefix("nvme")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// ... or `nvme<digits>n<digits>` (a namespace).
fn is_namespace(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("nvme") else {
        return false;
    };
    let Some((ctrl, ns)) = rest.split_once('n') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(ctrl) && digits(ns)
}

/// One controller of a subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub name: String,
    pub state: String,
    pub transport: String,
}

/// One NVMe subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsystem {
    pub name: String,
    pub nqn: String,
    pub model: String,
    pub serial: String,
    pub iopolicy: String,
    pub controllers: Vec<Controller>,
    pub namespaces: Vec<String>,
}

fn attr(path: &Path) -> Result<String, CollectError> {
    sys_read_file(path).map_err(|e| CollectError::io(path, e))
}

/// Read every `nvme-subsys*` under `class` (`<sys>/class/nvme-subsystem`), in name order.
pub fn read_subsystems(class: &Path) -> Result<Vec<Subsystem>, CollectError> {
    let entries = read_dir_sorted(class).map_err(|e| CollectError::io(class, e))?;
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.name.starts_with("nvme-subsys")) {
        let dir = class.join(&e.name);
        let nqn = attr(&dir.join("subsysnqn"))?;
        let model = attr(&dir.join("model"))?;
        let serial = attr(&dir.join("serial"))?;
        let iopolicy = attr(&dir.join("iopolicy"))?;
        let mut controllers = Vec::new();
        let mut namespaces = Vec::new();
        for c in read_dir_sorted(&dir).map_err(|err| CollectError::io(&dir, err))? {
            if is_controller(&c.name) {
                let cdir = dir.join(&c.name);
                let state = attr(&cdir.join("state"))?;
                let transport = attr(&cdir.join("transport"))?;
                // Not exported, but procfs requires it.
                attr(&cdir.join("address"))?;
                controllers.push(Controller {
                    name: c.name,
                    state,
                    transport,
                });
            } else if is_namespace(&c.name) {
                namespaces.push(c.name);
            }
        }
        out.push(Subsystem {
            name: e.name.clone(),
            nqn,
            model,
            serial,
            iopolicy,
            controllers,
            namespaces,
        });
    }
    Ok(out)
}

/// Append the samples of `subsystems`.
pub fn push_subsystems(subsystems: &[Subsystem], out: &mut MetricSet) {
    for s in subsystems {
        let sub = s.name.as_str();
        out.gauge(
            "node_nvmesubsystem_info",
            "Non-numeric information about an NVMe subsystem.",
            &[
                ("subsystem", sub),
                ("nqn", s.nqn.as_str()),
                ("model", s.model.as_str()),
                ("serial", s.serial.as_str()),
                ("iopolicy", s.iopolicy.as_str()),
            ],
            1.0,
        );
        for ns in &s.namespaces {
            out.gauge(
                "node_nvmesubsystem_namespace_info",
                "Maps an NVMe namespace block device to its subsystem.",
                &[("subsystem", sub), ("device", ns.as_str())],
                1.0,
            );
        }
        let mut live = 0.0;
        for c in &s.controllers {
            let state = normalize_state(&c.state);
            if state == "live" {
                live += 1.0;
            }
            for st in STATES {
                out.gauge(
                    "node_nvmesubsystem_path_state",
                    "Current NVMe controller path state (1 for the current state, 0 for all others).",
                    &[
                        ("subsystem", sub),
                        ("controller", c.name.as_str()),
                        ("transport", c.transport.as_str()),
                        ("state", st),
                    ],
                    if st == state { 1.0 } else { 0.0 },
                );
            }
        }
        out.gauge(
            "node_nvmesubsystem_paths",
            "Number of controller paths for an NVMe subsystem.",
            &[("subsystem", sub)],
            s.controllers.len() as f64,
        );
        out.gauge(
            "node_nvmesubsystem_paths_live",
            "Number of controller paths in live state for an NVMe subsystem.",
            &[("subsystem", sub)],
            live,
        );
    }
}

/// The `nvmesubsystem` collector (no state, no flags).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let subsystems = read_subsystems(&roots.sys("class/nvme-subsystem")).map_err(|e| match &e {
        CollectError::Io { source, .. }
            if matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) =>
        {
            CollectError::NoData(format!("could not read NVMe subsystem info: {e}"))
        }
        _ => e,
    })?;
    push_subsystems(&subsystems, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{collect_fixture, collect_with, fixture_config_with};

    #[test]
    fn names_and_states() {
        assert!(is_controller("nvme0") && is_controller("nvme12"));
        assert!(
            !is_controller("nvme") && !is_controller("nvme0n1") && !is_controller("nvme-subsys0")
        );
        assert!(is_namespace("nvme0n1") && is_namespace("nvme10n23"));
        assert!(!is_namespace("nvme0") && !is_namespace("nvme0n") && !is_namespace("nvme0c1n1"));
        assert_eq!(normalize_state("deleting (no IO)"), "deleting");
        assert_eq!(normalize_state("live"), "live");
        assert_eq!(normalize_state("Live"), "unknown");
    }

    #[test]
    fn collects_fixture() {
        let out = collect_fixture("nvmesubsystem");
        let s = [("subsystem", "nvme-subsys0")];
        assert_eq!(out.value("node_nvmesubsystem_paths", &s), Some(2.0));
        assert_eq!(out.value("node_nvmesubsystem_paths_live", &s), Some(1.0));
        assert_eq!(
            out.value(
                "node_nvmesubsystem_info",
                &[
                    ("nqn", "nqn.2014-08.org.example:sub0"),
                    ("iopolicy", "numa")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(
                "node_nvmesubsystem_namespace_info",
                &[("device", "nvme0n1")]
            ),
            Some(1.0)
        );
        let ps = "node_nvmesubsystem_path_state";
        assert_eq!(out.get(ps).map(|f| f.samples.len()), Some(14));
        assert_eq!(
            out.value(
                ps,
                &[
                    ("controller", "nvme1"),
                    ("transport", "tcp"),
                    ("state", "connecting")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(ps, &[("controller", "nvme1"), ("state", "live")]),
            Some(0.0)
        );
        assert!(matches!(
            collect_with("nvmesubsystem", &fixture_config_with("proc", "no-such-sys")),
            Err(CollectError::NoData(_))
        ));
    }
}
