//! Golden test: every file-reading node collector over the fixture tree, encoded, must equal
//! `tests/fixtures/e2e-output.txt` byte for byte. After an intended change, regenerate it with
//! `UPDATE_GOLDEN=1 cargo test -p hostlens-collectors --test golden` and review the diff.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use hostlens_collectors::node::{self, NodeConfig};
use hostlens_collectors::{MetricSet, Roots};

/// Collectors whose values come from system calls, netlink or the clock, not from files: not reproducible.
/// (arp reads `/proc/net/arp` with `--no-collector.arp.netlink`, qdisc and wifi their JSON fixtures below;
/// ethtool asks the host's drivers by ioctl, perf counts the host's events.) Also those that ask a daemon
/// (ntp, supervisord) or read a directory outside the roots (runit's `/etc/service`):
/// agent/tests/node_daemons.rs tests them on the real daemons; logind and systemd ask D-Bus
/// (agent/tests/systemd.rs).
const NOT_FROM_FILES: &[&str] = &[
    "time",
    "timex",
    "uname",
    "filesystem",
    "network_route",
    "tcpstat",
    "ethtool",
    "perf",
    "ntp",
    "runit",
    "supervisord",
    "logind",
    "systemd",
];

#[test]
fn fixture_tree_encodes_to_the_golden_file() {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // The textfile collector reports file mtimes and paths: copy the textfile fixtures to a temporary
    // directory and pin the mtimes there (the committed files are never touched), and write both roots as
    // `<fixtures>` below, so the golden file depends neither on the checkout nor on the clock.
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("golden-{}", std::process::id()));
    let textfile = tmp.join("textfile");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&textfile).expect("creating the temporary textfile directory");
    let pinned = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for entry in std::fs::read_dir(f.join("textfile")).expect("textfile fixtures") {
        let from = entry.expect("dir entry").path();
        let to = textfile.join(from.file_name().expect("a file name"));
        std::fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
        let file = std::fs::File::options()
            .write(true)
            .open(&to)
            .expect("the copy");
        file.set_modified(pinned).expect("setting the mtime");
    }
    let mut cfg = NodeConfig {
        roots: Arc::new(Roots::new(
            f.join("proc"),
            f.join("sys"),
            f.join("root"),
            None,
        )),
        textfile: node::textfile::Flags {
            directory: Some(textfile),
        },
        // netdev's default is a netlink dump of this host: read the fixture's /proc/net/dev.
        netdev: node::netdev::Flags {
            no_netlink: true,
            ..NodeConfig::default().netdev
        },
        ..NodeConfig::default()
    };
    cfg.arp.no_netlink = true;
    cfg.qdisc.fixtures = f.join("qdisc").display().to_string();
    cfg.wifi.fixtures = f.join("wifi").display().to_string();
    let mut all = Vec::new();
    let mut ran = Vec::new();
    for name in node::names().filter(|n| !NOT_FROM_FILES.contains(n)) {
        let c = node::build(name, &cfg).expect("listed").expect("builds");
        let mut out = MetricSet::new();
        match c.collect(&mut out) {
            Ok(()) => ran.push(name),
            Err(e) if e.is_no_data() => continue,
            Err(e) => panic!("collector {name} failed on the fixture tree: {e}"),
        }
        all.push((name.to_string(), out));
    }
    let gathered = hostlens_exposition::gather(all);
    assert!(
        gathered.dropped.is_empty(),
        "duplicate or inconsistent samples: {:?}",
        gathered.dropped
    );
    let text = hostlens_exposition::encode(&gathered.families)
        .replace(&tmp.display().to_string(), "<fixtures>")
        .replace(&f.display().to_string(), "<fixtures>");
    common::assert_golden(
        &f.join("e2e-output.txt"),
        &text,
        &format!("; collectors run: {ran:?}"),
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
