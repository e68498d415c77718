//! `ethtool`: driver info, link modes and the drivers' own statistics of every interface, as node_exporter
//! 1.12.1's `collector/ethtool_linux.go` (off by default; unchanged since 1.11) with safchain/ethtool v0.7.0
//! underneath.
//!
//! The device list is `/sys/class/net` (procfs' `NetClassDevices`: every entry that is not a regular file);
//! each device is asked with the `SIOCETHTOOL` ioctl, in node_exporter's order:
//! - `ETHTOOL_GSET` (the legacy `ethtool_cmd`, so only the low 32 link-mode bits): `node_network_*`
//!   supported / advertised speeds, port types, autonegotiation and pause;
//! - `ETHTOOL_GDRVINFO`: `node_ethtool_info`;
//! - `ETHTOOL_GDRVINFO` (for `n_stats`), `ETHTOOL_GSTRINGS` (`ETH_SS_STATS`), `ETHTOOL_GSTATS`: one untyped
//!   `node_ethtool_<name>` per statistic, the name sanitized as 1.8 does (#2940: invalid characters to `_`,
//!   lower case, leading `_` trimmed, `rx`/`tx` words spelt out) and every name two statistics sanitize to
//!   dropped (the #3335 fix), a few common ones (`rx_bytes`, …) under their fixed `…_total` names.
//!
//! An ioctl that fails is logged (at debug level for `EOPNOTSUPP`) and that part of the device is left out,
//! as upstream does; the scrape still succeeds. No `/sys/class/net` (or no access): no data; an empty one:
//! an error ("no network devices found"), as 1.12.1.
//!
//! The buffers are parsed by pure functions ([`parse_drvinfo`], [`parse_ethtool_cmd`], [`parse_gstrings`],
//! [`parse_stats`]); the ioctl itself is [`Ioctl`], behind [`EthtoolSource`] so the collector's logic is
//! unit-tested on a fake.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;

use crate::error::ParseError;
use crate::read::read_dir_sorted;
use crate::{CollectError, MetricSet, Roots};

use super::{NodeCollector, NodeConfig};

/// `SIOCETHTOOL` (`linux/sockios.h`).
const SIOCETHTOOL: u64 = 0x8946;
/// `ETHTOOL_GSET`: get settings (`struct ethtool_cmd`).
pub const ETHTOOL_GSET: u32 = 0x01;
/// `ETHTOOL_GDRVINFO`: get driver info (`struct ethtool_drvinfo`).
pub const ETHTOOL_GDRVINFO: u32 = 0x03;
/// `ETHTOOL_GSTRINGS`: get a string set (`struct ethtool_gstrings`).
pub const ETHTOOL_GSTRINGS: u32 = 0x1b;
/// `ETHTOOL_GSTATS`: get the NIC-specific statistics (`struct ethtool_stats`).
pub const ETHTOOL_GSTATS: u32 = 0x1d;
/// The string set of the statistics' names.
pub const ETH_SS_STATS: u32 = 1;
/// The length of one name in a string set.
pub const ETH_GSTRING_LEN: usize = 32;
/// safchain/ethtool's `MAX_GSTRINGS`: more statistics than this are an error.
pub const MAX_GSTRINGS: usize = 32768;
/// `sizeof(struct ethtool_drvinfo)`.
pub const DRVINFO_LEN: usize = 196;
/// `sizeof(struct ethtool_cmd)`.
pub const ETHTOOL_CMD_LEN: usize = 44;
/// The header of `struct ethtool_gstrings` (cmd, string_set, len) before its data.
const GSTRINGS_HEADER: usize = 12;
/// The header of `struct ethtool_stats` (cmd, n_stats) before its data.
const STATS_HEADER: usize = 8;

/// What `ETHTOOL_GDRVINFO` returns that node_exporter uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrvInfo {
    pub driver: String,
    pub version: String,
    pub fw_version: String,
    pub bus_info: String,
    pub erom_version: String,
    pub n_stats: u32,
}

/// What `ETHTOOL_GSET` returns that node_exporter uses: the legacy 32-bit link-mode masks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    pub supported: u32,
    pub advertising: u32,
    pub autoneg: u8,
}

fn u32_at(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_ne_bytes(b)
}

/// A fixed-size C string field: up to its first NUL (all of it without one), as safchain's `goString`.
fn c_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Parse a `struct ethtool_drvinfo` the kernel filled.
pub fn parse_drvinfo(buf: &[u8]) -> Result<DrvInfo, ParseError> {
    if buf.len() < DRVINFO_LEN {
        return Err(ParseError::new(format!(
            "ethtool_drvinfo: {} bytes, want {DRVINFO_LEN}",
            buf.len()
        )));
    }
    Ok(DrvInfo {
        driver: c_field(&buf[4..36]),
        version: c_field(&buf[36..68]),
        fw_version: c_field(&buf[68..100]),
        bus_info: c_field(&buf[100..132]),
        erom_version: c_field(&buf[132..164]),
        n_stats: u32_at(buf, 180),
    })
}

/// Parse a `struct ethtool_cmd` the kernel filled (`supported` at 4, `advertising` at 8, `autoneg` at 18).
pub fn parse_ethtool_cmd(buf: &[u8]) -> Result<LinkInfo, ParseError> {
    if buf.len() < ETHTOOL_CMD_LEN {
        return Err(ParseError::new(format!(
            "ethtool_cmd: {} bytes, want {ETHTOOL_CMD_LEN}",
            buf.len()
        )));
    }
    Ok(LinkInfo {
        supported: u32_at(buf, 4),
        advertising: u32_at(buf, 8),
        autoneg: buf[18],
    })
}

/// The first `n` names of a string set's data (`n` × 32 bytes, each up to its first NUL), raw bytes as
/// Go keeps them; fewer when `data` is short.
pub fn parse_gstrings(data: &[u8], n: usize) -> Vec<Vec<u8>> {
    data.chunks_exact(ETH_GSTRING_LEN)
        .take(n)
        .map(|b| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            b[..end].to_vec()
        })
        .collect()
}

/// The first `n` values of an `ethtool_stats` data array (native-endian `u64`s).
pub fn parse_stats(data: &[u8], n: usize) -> Vec<u64> {
    data.chunks_exact(8)
        .take(n)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_ne_bytes(a)
        })
        .collect()
}

/// safchain's `Stats` map: name → value, empty names skipped, a repeated name keeping its last value.
pub fn stats_map(names: &[Vec<u8>], values: &[u64]) -> HashMap<Vec<u8>, u64> {
    names
        .iter()
        .zip(values)
        .filter(|(n, _)| !n.is_empty())
        .map(|(n, v)| (n.clone(), *v))
        .collect()
}

static INVALID_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"_*[^0-9A-Za-z_]+_*").expect("a valid regex"));
static RX_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|_)rx(_|$)").expect("a valid regex"));
static TX_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|_)tx(_|$)").expect("a valid regex"));

/// node_exporter's `SanitizeMetricName`: every run of invalid characters (with the `_` around it) → `_`.
pub fn sanitize_metric_name(name: &str) -> String {
    INVALID_RUN.replace_all(name, "_").into_owned()
}

/// node_exporter's `buildEthtoolFQName` of a sanitized statistic name: lower case, leading `_` trimmed,
/// the words `rx` / `tx` spelt `received` / `transmitted`, under `node_ethtool_`. `None` when nothing is
/// left of the name (Go's `BuildFQName` would give an invalid empty name).
pub fn ethtool_fq_name(metric: &str) -> Option<String> {
    let lower = sanitize_metric_name(metric).to_lowercase();
    let name = lower.trim_start_matches('_');
    if name.is_empty() {
        return None;
    }
    let name = RX_WORD.replace_all(name, "${1}received${2}");
    let name = TX_WORD.replace_all(&name, "${1}transmitted${2}");
    Some(format!("node_ethtool_{name}"))
}

/// The statistics node_exporter names itself (its pre-populated descriptors, keyed by the sanitized name).
const FIXED_STATS: &[(&str, &str, &str)] = &[
    (
        "rx_bytes",
        "node_ethtool_received_bytes_total",
        "Network interface bytes received",
    ),
    (
        "rx_dropped",
        "node_ethtool_received_dropped_total",
        "Number of received frames dropped",
    ),
    (
        "rx_errors",
        "node_ethtool_received_errors_total",
        "Number of received frames with errors",
    ),
    (
        "rx_packets",
        "node_ethtool_received_packets_total",
        "Network interface packets received",
    ),
    (
        "tx_bytes",
        "node_ethtool_transmitted_bytes_total",
        "Network interface bytes sent",
    ),
    (
        "tx_errors",
        "node_ethtool_transmitted_errors_total",
        "Number of sent frames with errors",
    ),
    (
        "tx_packets",
        "node_ethtool_transmitted_packets_total",
        "Network interface packets sent",
    ),
    // The link descriptors share node_exporter's map; a statistic of one of these names gets the
    // descriptor's name and help (one label, so usable).
    (
        "supported_autonegotiate",
        "node_network_autonegotiate_supported",
        "If this port device supports autonegotiate",
    ),
    (
        "supported_pause",
        "node_network_pause_supported",
        "If this port device supports pause frames",
    ),
    (
        "supported_asymmetricpause",
        "node_network_asymmetricpause_supported",
        "If this port device supports asymmetric pause frames",
    ),
    (
        "advertised_autonegotiate",
        "node_network_autonegotiate_advertised",
        "If this port device offers autonegotiate",
    ),
    (
        "advertised_pause",
        "node_network_pause_advertised",
        "If this port device offers pause capability",
    ),
    (
        "advertised_asymmetricpause",
        "node_network_asymmetricpause_advertised",
        "If this port device offers asymmetric pause capability",
    ),
    (
        "autonegotiate",
        "node_network_autonegotiate",
        "If this port is using autonegotiate",
    ),
];

/// Statistic names that hit one of node_exporter's multi-label link descriptors: it would panic on the
/// label count; we leave the statistic out.
const MULTI_LABEL_KEYS: &[&str] = &["supported_port", "supported_speed", "advertised_speed"];

/// One statistic sample to write: exposition name, help, value.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSample {
    pub name: String,
    pub help: String,
    pub value: u64,
}

/// node_exporter's statistic selection for one device: sanitize each name, keep those `include` matches,
/// drop every exposition name two statistics map to, and name each kept one (fixed descriptor or
/// `Network interface <sanitized name>`). In exposition-name order.
pub fn select_stats(stats: &HashMap<Vec<u8>, u64>, include: &Regex) -> Vec<StatSample> {
    // fq name → Some((sanitized name, value)), or None once a second statistic claims it.
    let mut by_fq: BTreeMap<String, Option<(String, u64)>> = BTreeMap::new();
    for (raw, value) in stats {
        let metric = sanitize_metric_name(&String::from_utf8_lossy(raw));
        if !include.is_match(&metric) {
            continue;
        }
        let Some(fq) = ethtool_fq_name(&metric) else {
            tracing::debug!(
                stat = metric,
                "ethtool statistic with no name left after sanitizing"
            );
            continue;
        };
        match by_fq.entry(fq) {
            std::collections::btree_map::Entry::Occupied(mut e) => {
                tracing::debug!(
                    metric_fq_name = e.key().as_str(),
                    metric = metric,
                    "dropping duplicate metric name"
                );
                // Kept as "deleted" so that a third statistic of that name is dropped too.
                e.insert(None);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Some((metric, *value)));
            }
        }
    }
    by_fq
        .into_iter()
        .filter_map(|(fq, e)| {
            let (metric, value) = e?;
            if MULTI_LABEL_KEYS.contains(&metric.as_str()) {
                return None;
            }
            let (name, help) = match FIXED_STATS.iter().find(|(k, _, _)| *k == metric) {
                Some((_, n, h)) => (n.to_string(), h.to_string()),
                None => (fq, format!("Network interface {metric}")),
            };
            Some(StatSample { name, help, value })
        })
        .collect()
}

/// `ethtool_link_mode_bit_indices` (`linux/ethtool.h`) of node_exporter's speed table: bit, speed in
/// Mbit/s, duplex, PHY. The legacy `ethtool_cmd` masks are 32 bits and Go's `uint32(1) << bit` is 0 for a
/// bit ≥ 32, so the modes from bit 32 on never appear (as upstream); they are listed as upstream lists them.
pub const SPEED_MODES: &[(u32, u32, &str, &str)] = &[
    (0, 10, "half", "T"),
    (1, 10, "full", "T"),
    (2, 100, "half", "T"),
    (3, 100, "full", "T"),
    (4, 1000, "half", "T"),
    (5, 1000, "full", "T"),
    (12, 10000, "full", "T"),
    (47, 2500, "full", "T"),
    (17, 1000, "full", "KX"),
    (18, 10000, "full", "KX4"),
    (19, 10000, "full", "KR"),
    (20, 10000, "full", "R_FEC"),
    (21, 20000, "full", "MLD2"),
    (22, 20000, "full", "KR2"),
    (23, 40000, "full", "KR4"),
    (24, 40000, "full", "CR4"),
    (25, 40000, "full", "SR4"),
    (26, 40000, "full", "LR4"),
    (27, 56000, "full", "KR4"),
    (28, 56000, "full", "CR4"),
    (29, 56000, "full", "SR4"),
    (30, 56000, "full", "LR4"),
    (31, 25000, "full", "CR"),
    (32, 25000, "full", "KR"),
    (33, 25000, "full", "SR"),
    (34, 50000, "full", "CR2"),
    (35, 50000, "full", "KR2"),
    (36, 100000, "full", "KR4"),
    (37, 100000, "full", "SR4"),
    (38, 100000, "full", "CR4"),
    (39, 100000, "full", "R4_ER4"),
    (40, 50000, "full", "SR2"),
    (41, 1000, "full", "X"),
    (42, 10000, "full", "CR"),
    (43, 10000, "full", "SR"),
    (44, 10000, "full", "LR"),
    (45, 10000, "full", "LRM"),
    (46, 10000, "full", "ER"),
    (48, 5000, "full", "T"),
    (52, 50000, "full", "KR"),
    (53, 50000, "full", "SR"),
    (54, 50000, "full", "CR"),
    (55, 50000, "full", "LR_ER_FR"),
    (56, 50000, "full", "DR"),
    (57, 100000, "full", "KR2"),
    (58, 100000, "full", "SR2"),
    (59, 100000, "full", "CR2"),
    (60, 100000, "full", "LR2_ER2_FR2"),
    (61, 100000, "full", "DR2"),
    (62, 200000, "full", "KR4"),
    (63, 200000, "full", "SR4"),
    (64, 200000, "full", "LR4_ER4_FR4"),
    (65, 200000, "full", "DR4"),
    (66, 200000, "full", "CR4"),
    (67, 100, "full", "T1"),
    (68, 1000, "full", "T1"),
    (69, 400000, "full", "KR8"),
    (70, 400000, "full", "SR8"),
    (71, 400000, "full", "LR8_ER8_FR8"),
    (72, 400000, "full", "DR8"),
    (73, 400000, "full", "CR8"),
    (75, 100000, "full", "KR"),
    (76, 100000, "full", "SR"),
    (77, 100000, "full", "LR_ER_FR"),
    (78, 100000, "full", "CR"),
    (79, 100000, "full", "DR"),
    (80, 200000, "full", "KR2"),
    (81, 200000, "full", "SR2"),
    (82, 200000, "full", "LR2_ER2_FR2"),
    (83, 200000, "full", "DR2"),
    (84, 200000, "full", "CR2"),
    (85, 400000, "full", "KR4"),
    (86, 400000, "full", "SR4"),
    (87, 400000, "full", "LR4_ER4_FR4"),
    (88, 400000, "full", "DR4"),
    (89, 400000, "full", "CR4"),
    (90, 100, "half", "FX"),
    (91, 100, "full", "FX"),
];

/// The port types of `node_network_supported_port_info`: name, link-mode bit.
pub const PORT_MODES: &[(&str, u32)] = &[
    ("TP", 7),
    ("AUI", 8),
    ("MII", 9),
    ("FIBRE", 10),
    ("BNC", 11),
    ("Backplane", 16),
];
const AUTONEG_BIT: u32 = 6;
const PAUSE_BIT: u32 = 13;
const ASYM_PAUSE_BIT: u32 = 14;

/// Whether `bit` is set in a 32-bit mask, Go's `mask & (1 << bit) != 0` with a `uint32` (0 from bit 32 on).
pub fn mode_set(mask: u32, bit: u32) -> bool {
    mask & 1u32.checked_shl(bit).unwrap_or(0) != 0
}

fn flag(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

/// The `node_network_*` samples of one device's link settings, as node_exporter's `updateSpeeds`,
/// `updatePortInfo` and `updatePortCapabilities`.
pub fn write_link_info(out: &mut MetricSet, device: &str, l: &LinkInfo) {
    const MBPS: f64 = 1_000_000.0 / 8.0;
    let speeds = |out: &mut MetricSet, name: &str, help: &str, mask: u32| {
        for (bit, speed, duplex, phy) in SPEED_MODES {
            if mode_set(mask, *bit) {
                let mode = format!("{speed}base{phy}");
                out.gauge(
                    name,
                    help,
                    &[("device", device), ("duplex", duplex), ("mode", &mode)],
                    f64::from(*speed) * MBPS,
                );
            }
        }
    };
    let caps = |out: &mut MetricSet, prefix: &str, mask: u32| {
        let (a, p, ap) = if prefix == "supported" {
            (
                "If this port device supports autonegotiate",
                "If this port device supports pause frames",
                "If this port device supports asymmetric pause frames",
            )
        } else {
            (
                "If this port device offers autonegotiate",
                "If this port device offers pause capability",
                "If this port device offers asymmetric pause capability",
            )
        };
        let d = [("device", device)];
        out.gauge(
            &format!("node_network_autonegotiate_{prefix}"),
            a,
            &d,
            flag(mode_set(mask, AUTONEG_BIT)),
        );
        out.gauge(
            &format!("node_network_pause_{prefix}"),
            p,
            &d,
            flag(mode_set(mask, PAUSE_BIT)),
        );
        out.gauge(
            &format!("node_network_asymmetricpause_{prefix}"),
            ap,
            &d,
            flag(mode_set(mask, ASYM_PAUSE_BIT)),
        );
    };
    speeds(
        out,
        "node_network_supported_speed_bytes",
        "Combination of speeds and features supported by network device",
        l.supported,
    );
    for (name, bit) in PORT_MODES {
        if mode_set(l.supported, *bit) {
            out.gauge(
                "node_network_supported_port_info",
                "Type of ports or PHYs supported by network device",
                &[("device", device), ("type", name)],
                1.0,
            );
        }
    }
    caps(out, "supported", l.supported);
    speeds(
        out,
        "node_network_advertised_speed_bytes",
        "Combination of speeds and features offered by network device",
        l.advertising,
    );
    caps(out, "advertised", l.advertising);
    out.gauge(
        "node_network_autonegotiate",
        "If this port is using autonegotiate",
        &[("device", device)],
        f64::from(l.autoneg),
    );
}

/// `node_ethtool_info` of one device.
pub fn write_drvinfo(out: &mut MetricSet, device: &str, d: &DrvInfo) {
    out.gauge(
        "node_ethtool_info",
        "A metric with a constant '1' value labeled by bus_info, device, driver, expansion_rom_version, \
         firmware_version, version.",
        &[
            ("bus_info", &d.bus_info),
            ("device", device),
            ("driver", &d.driver),
            ("expansion_rom_version", &d.erom_version),
            ("firmware_version", &d.fw_version),
            ("version", &d.version),
        ],
        1.0,
    );
}

/// Where the ethtool answers come from: the ioctl ([`Ioctl`]) or, in tests, a fake. An `io::Error` with an
/// OS error code is an errno from the kernel.
pub trait EthtoolSource: Send + Sync {
    fn link_info(&self, device: &str) -> io::Result<LinkInfo>;
    fn driver_info(&self, device: &str) -> io::Result<DrvInfo>;
    fn stats(&self, device: &str) -> io::Result<HashMap<Vec<u8>, u64>>;
}

/// `struct ifreq` with the `ifr_data` member of its union (40 bytes on 64-bit Linux).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: *mut u8,
    _pad: [u8; 24 - std::mem::size_of::<usize>()],
}

/// The ioctl's buffers, kept between scrapes as safchain keeps them in a pool (1 MiB of names).
struct Buffers {
    strings: Vec<u8>,
    stats: Vec<u8>,
}

/// The `SIOCETHTOOL` ioctl on an `AF_INET` datagram socket, as safchain/ethtool.
pub struct Ioctl {
    fd: OwnedFd,
    buffers: Mutex<Buffers>,
}

impl Ioctl {
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain socket(2); the descriptor is owned right below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Ioctl {
            fd,
            buffers: Mutex::new(Buffers {
                strings: Vec::new(),
                stats: Vec::new(),
            }),
        })
    }

    /// One `SIOCETHTOOL` with `data` (a buffer starting with its `u32` command) for `device`.
    fn ioctl(&self, device: &str, data: &mut [u8]) -> io::Result<()> {
        let mut name = [0u8; 16];
        let n = device.len().min(16);
        name[..n].copy_from_slice(&device.as_bytes()[..n]);
        let mut ifr = IfReq {
            name,
            data: data.as_mut_ptr(),
            _pad: [0; 24 - std::mem::size_of::<usize>()],
        };
        // SAFETY: ifr is a valid `struct ifreq` whose data pointer addresses `data`, a buffer as large as
        // the structure its command makes the kernel fill (the callers size it so).
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn drvinfo_raw(&self, device: &str) -> io::Result<DrvInfo> {
        let mut buf = [0u8; DRVINFO_LEN];
        buf[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
        self.ioctl(device, &mut buf)?;
        parse_drvinfo(&buf).map_err(|e| io::Error::other(e.0))
    }
}

impl EthtoolSource for Ioctl {
    fn link_info(&self, device: &str) -> io::Result<LinkInfo> {
        let mut buf = [0u8; ETHTOOL_CMD_LEN];
        buf[..4].copy_from_slice(&ETHTOOL_GSET.to_ne_bytes());
        self.ioctl(device, &mut buf)?;
        parse_ethtool_cmd(&buf).map_err(|e| io::Error::other(e.0))
    }

    fn driver_info(&self, device: &str) -> io::Result<DrvInfo> {
        self.drvinfo_raw(device)
    }

    fn stats(&self, device: &str) -> io::Result<HashMap<Vec<u8>, u64>> {
        let n = self.drvinfo_raw(device)?.n_stats as usize;
        if n > MAX_GSTRINGS {
            return Err(io::Error::other(format!(
                "ethtool currently doesn't support more than {MAX_GSTRINGS} entries, received {n}"
            )));
        }
        let mut guard = self
            .buffers
            .lock()
            .map_err(|_| io::Error::other("ethtool buffers poisoned"))?;
        let bufs = &mut *guard;
        // The kernel writes as many entries as the driver has now, whatever `len` says: the buffers hold
        // MAX_GSTRINGS, as safchain's.
        bufs.strings
            .resize(GSTRINGS_HEADER + MAX_GSTRINGS * ETH_GSTRING_LEN, 0);
        bufs.stats.resize(STATS_HEADER + MAX_GSTRINGS * 8, 0);
        bufs.strings[..GSTRINGS_HEADER + n * ETH_GSTRING_LEN].fill(0);
        bufs.strings[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
        bufs.strings[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
        bufs.strings[8..12].copy_from_slice(&(n as u32).to_ne_bytes());
        self.ioctl(device, &mut bufs.strings)?;
        bufs.stats[..STATS_HEADER + n * 8].fill(0);
        bufs.stats[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
        bufs.stats[4..8].copy_from_slice(&(n as u32).to_ne_bytes());
        self.ioctl(device, &mut bufs.stats)?;
        let names = parse_gstrings(&bufs.strings[GSTRINGS_HEADER..], n);
        let values = parse_stats(&bufs.stats[STATS_HEADER..], n);
        Ok(stats_map(&names, &values))
    }
}

/// The ethtool collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of ethtool devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.ethtool.device-include",
        long = "collector.ethtool.device-include",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of ethtool devices to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.ethtool.device-exclude",
        long = "collector.ethtool.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
    /// Regexp of ethtool stats to include.
    #[arg(
        value_name = "REGEX",
        id = "collector.ethtool.metrics-include",
        long = "collector.ethtool.metrics-include",
        default_value = ".*"
    )]
    pub metrics_include: String,
}

pub struct Ethtool {
    roots: Arc<Roots>,
    include: Option<Regex>,
    exclude: Option<Regex>,
    metrics: Regex,
    source: Box<dyn EthtoolSource>,
}

/// Log an ethtool failure as node_exporter does: `EOPNOTSUPP` (the driver has no such operation) at debug
/// level, anything else as an error.
fn log_failure(what: &str, device: &str, e: &io::Error) {
    if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
        tracing::debug!(device, "ethtool {what} error: {e}");
    } else {
        tracing::error!(device, "ethtool {what} error: {e}");
    }
}

impl Ethtool {
    /// The collector over any [`EthtoolSource`] (the ioctl, or a test's fake).
    pub fn with_source(
        cfg: &NodeConfig,
        source: Box<dyn EthtoolSource>,
    ) -> Result<Self, CollectError> {
        let f = &cfg.ethtool;
        Ok(Ethtool {
            roots: cfg.roots.clone(),
            include: super::optional_flag_regex(
                "collector.ethtool.device-include",
                &f.device_include,
            )?,
            exclude: super::optional_flag_regex(
                "collector.ethtool.device-exclude",
                &f.device_exclude,
            )?,
            metrics: super::flag_regex("collector.ethtool.metrics-include", &f.metrics_include)?,
            source,
        })
    }

    /// node_exporter's `deviceFilter.ignored`.
    fn ignored(&self, device: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(device))
            || self.include.as_ref().is_some_and(|r| !r.is_match(device))
    }

    fn collect_device(&self, out: &mut MetricSet, device: &str) {
        match self.source.link_info(device) {
            Ok(l) => write_link_info(out, device, &l),
            Err(e) => log_failure("link info", device, &e),
        }
        match self.source.driver_info(device) {
            Ok(d) => write_drvinfo(out, device, &d),
            Err(e) => log_failure("driver info", device, &e),
        }
        let stats = match self.source.stats(device) {
            Ok(s) => s,
            Err(e) => {
                log_failure("stats", device, &e);
                return;
            }
        };
        for s in select_stats(&stats, &self.metrics) {
            out.untyped(&s.name, &s.help, &[("device", device)], s.value as f64);
        }
    }
}

impl NodeCollector for Ethtool {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let source = Ioctl::new().map_err(|e| {
            CollectError::Other(format!("failed to initialize ethtool library: {e}"))
        })?;
        Self::with_source(cfg, Box::new(source))
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        // The ioctl names a device of the socket's network namespace, the agent's own: the same refusal as
        // the netlink collectors' under --path.netns-pid.
        crate::read::netlink::same_namespace(&self.roots, "ethtool")?;
        let base = self.roots.sys("class/net");
        let entries = match read_dir_sorted(&base) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(CollectError::NoData(format!(
                    "could not read netclass: {}: {e}",
                    base.display()
                )));
            }
            Err(e) => return Err(CollectError::io(&base, e)),
        };
        let devices: Vec<&str> = entries
            .iter()
            .filter(|e| !e.file_type.is_file())
            .map(|e| e.name.as_str())
            .collect();
        if devices.is_empty() {
            return Err(CollectError::Other(format!(
                "no network devices found in {}",
                base.display()
            )));
        }
        for device in devices {
            if !self.ignored(device) {
                self.collect_device(out, device);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, fixture_config, fixture_config_with};

    /// A fake device's statistics, or the errno of the ioctl.
    type FakeStats = Result<Vec<(&'static str, u64)>, i32>;

    /// A fake ethtool: per device, each answer or an errno.
    #[derive(Default)]
    struct Fake {
        link: HashMap<String, LinkInfo>,
        drv: HashMap<String, DrvInfo>,
        stats: HashMap<String, FakeStats>,
    }

    fn eopnotsupp() -> io::Error {
        io::Error::from_raw_os_error(libc::EOPNOTSUPP)
    }

    impl EthtoolSource for Fake {
        fn link_info(&self, device: &str) -> io::Result<LinkInfo> {
            self.link.get(device).copied().ok_or_else(eopnotsupp)
        }
        fn driver_info(&self, device: &str) -> io::Result<DrvInfo> {
            self.drv.get(device).cloned().ok_or_else(eopnotsupp)
        }
        fn stats(&self, device: &str) -> io::Result<HashMap<Vec<u8>, u64>> {
            match self.stats.get(device) {
                None => Err(eopnotsupp()),
                Some(Err(errno)) => Err(io::Error::from_raw_os_error(*errno)),
                Some(Ok(s)) => Ok(s.iter().map(|(k, v)| (k.as_bytes().to_vec(), *v)).collect()),
            }
        }
    }

    /// The interfaces of the fixture tree's `sys/class/net`.
    fn fixture_devices() -> Vec<String> {
        let base = crate::node::testutil::fixture_root().join("sys/class/net");
        read_dir_sorted(&base)
            .expect("the fixture's class/net")
            .into_iter()
            .filter(|e| !e.file_type.is_file())
            .map(|e| e.name)
            .collect()
    }

    fn bit(b: u32) -> u32 {
        1 << b
    }

    /// A fake where the first fixture interface is a 1G copper NIC with statistics.
    fn nic_fake(dev: &str) -> Fake {
        let mut f = Fake::default();
        f.link.insert(
            dev.to_string(),
            LinkInfo {
                supported: bit(0) | bit(1) | bit(3) | bit(5) | bit(6) | bit(7) | bit(9) | bit(13),
                advertising: bit(5) | bit(6) | bit(14),
                autoneg: 1,
            },
        );
        f.drv.insert(
            dev.to_string(),
            DrvInfo {
                driver: "e1000e".into(),
                version: "6.1.0".into(),
                fw_version: "0.5-4".into(),
                bus_info: "0000:00:1f.6".into(),
                erom_version: String::new(),
                n_stats: 0,
            },
        );
        f.stats.insert(
            dev.to_string(),
            Ok(vec![
                ("rx_packets", 1200),
                ("tx_bytes", 3400),
                ("rx_broadcast", 7),
                ("port.rx_dropped", 12),
                ("Queue[0] AllocFails", 2),
                ("tx-lpi", 1),
                ("tx_lpi", 5),
                ("TX_lpi", 6),
                ("rx0_drops", 4),
            ]),
        );
        f
    }

    fn collect(cfg: &NodeConfig, fake: Fake) -> Result<MetricSet, CollectError> {
        let c = Ethtool::with_source(cfg, Box::new(fake))?;
        let mut out = MetricSet::new();
        c.collect(&mut out)?;
        Ok(out)
    }

    #[test]
    fn names_are_sanitized_as_node_exporter_does() {
        let cases = [
            ("port.rx_errors", "node_ethtool_port_received_errors"),
            ("rx_errors", "node_ethtool_received_errors"),
            ("Queue[0] AllocFails", "node_ethtool_queue_0_allocfails"),
            (
                "Tx LPI entry count",
                "node_ethtool_transmitted_lpi_entry_count",
            ),
            ("[3]: tx_bytes", "node_ethtool_3_transmitted_bytes"),
            ("     err", "node_ethtool_err"),
            ("rx0_drops", "node_ethtool_rx0_drops"),
            ("tx_xdp_tx", "node_ethtool_transmitted_xdp_transmitted"),
            // Non-overlapping matches, as Go's ReplaceAllString: the `_` between two words is used once.
            ("rx_rx", "node_ethtool_received_rx"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                ethtool_fq_name(&sanitize_metric_name(raw)).as_deref(),
                Some(want),
                "{raw}"
            );
        }
        assert_eq!(
            sanitize_metric_name("Queue[0] AllocFails"),
            "Queue_0_AllocFails"
        );
        assert_eq!(ethtool_fq_name("___"), None);
    }

    #[test]
    fn buffers_parse() {
        let mut d = [0u8; DRVINFO_LEN];
        d[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
        d[4..14].copy_from_slice(b"virtio_net");
        d[36..41].copy_from_slice(b"1.0.0");
        d[100..112].copy_from_slice(b"0000:00:03.0");
        // A field without NUL is taken whole.
        d[68..100].copy_from_slice(&[b'f'; 32]);
        d[180..184].copy_from_slice(&7u32.to_ne_bytes());
        let info = parse_drvinfo(&d).expect("parses");
        assert_eq!(info.driver, "virtio_net");
        assert_eq!(info.version, "1.0.0");
        assert_eq!(info.bus_info, "0000:00:03.0");
        assert_eq!(info.fw_version, "f".repeat(32));
        assert_eq!(info.erom_version, "");
        assert_eq!(info.n_stats, 7);
        assert!(parse_drvinfo(&d[..100]).is_err());

        let mut c = [0u8; ETHTOOL_CMD_LEN];
        c[4..8].copy_from_slice(&0x20ffu32.to_ne_bytes());
        c[8..12].copy_from_slice(&0x40u32.to_ne_bytes());
        c[18] = 1;
        assert_eq!(
            parse_ethtool_cmd(&c),
            Ok(LinkInfo {
                supported: 0x20ff,
                advertising: 0x40,
                autoneg: 1
            })
        );
        assert!(parse_ethtool_cmd(&c[..20]).is_err());

        let mut s = vec![0u8; 3 * ETH_GSTRING_LEN];
        s[..8].copy_from_slice(b"rx_bytes");
        s[64..96].copy_from_slice(&[b'x'; 32]);
        let names = parse_gstrings(&s, 3);
        assert_eq!(
            names,
            vec![b"rx_bytes".to_vec(), Vec::new(), vec![b'x'; 32]]
        );
        assert_eq!(parse_gstrings(&s, 10).len(), 3, "short data: what is there");

        let mut v = Vec::new();
        for x in [5u64, 0, u64::MAX] {
            v.extend_from_slice(&x.to_ne_bytes());
        }
        assert_eq!(parse_stats(&v, 3), vec![5, 0, u64::MAX]);
        // Empty names are skipped; a repeated name keeps its last value.
        let names = vec![b"a".to_vec(), Vec::new(), b"a".to_vec()];
        let m = stats_map(&names, &[1, 2, 3]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[b"a".as_slice()], 3);
    }

    #[test]
    fn link_modes_from_the_32_bit_masks() {
        assert!(mode_set(bit(31), 31));
        assert!(!mode_set(u32::MAX, 32), "Go's uint32 shift past 31 is 0");
        assert!(!mode_set(u32::MAX, 47));
    }

    #[test]
    fn a_nic_with_link_settings_driver_info_and_stats() {
        let devs = fixture_devices();
        let dev = devs[0].as_str();
        let out = collect(&fixture_config(), nic_fake(dev)).expect("collects");
        let d = [("device", dev)];
        assert_values(
            &out,
            &[
                (
                    "node_network_supported_speed_bytes",
                    &[("device", dev), ("duplex", "half"), ("mode", "10baseT")],
                    1.25e6,
                ),
                (
                    "node_network_supported_speed_bytes",
                    &[("device", dev), ("duplex", "full"), ("mode", "1000baseT")],
                    1.25e8,
                ),
                (
                    "node_network_advertised_speed_bytes",
                    &[("device", dev), ("duplex", "full"), ("mode", "1000baseT")],
                    1.25e8,
                ),
                (
                    "node_network_supported_port_info",
                    &[("device", dev), ("type", "TP")],
                    1.0,
                ),
                (
                    "node_network_supported_port_info",
                    &[("device", dev), ("type", "MII")],
                    1.0,
                ),
                ("node_network_autonegotiate_supported", &d, 1.0),
                ("node_network_pause_supported", &d, 1.0),
                ("node_network_asymmetricpause_supported", &d, 0.0),
                ("node_network_autonegotiate_advertised", &d, 1.0),
                ("node_network_pause_advertised", &d, 0.0),
                ("node_network_asymmetricpause_advertised", &d, 1.0),
                ("node_network_autonegotiate", &d, 1.0),
                (
                    "node_ethtool_info",
                    &[
                        ("bus_info", "0000:00:1f.6"),
                        ("device", dev),
                        ("driver", "e1000e"),
                        ("expansion_rom_version", ""),
                        ("firmware_version", "0.5-4"),
                        ("version", "6.1.0"),
                    ],
                    1.0,
                ),
                ("node_ethtool_received_packets_total", &d, 1200.0),
                ("node_ethtool_transmitted_bytes_total", &d, 3400.0),
                ("node_ethtool_received_broadcast", &d, 7.0),
                ("node_ethtool_port_received_dropped", &d, 12.0),
                ("node_ethtool_queue_0_allocfails", &d, 2.0),
                ("node_ethtool_rx0_drops", &d, 4.0),
            ],
        );
        // Only the modes set: no 100baseT half, no 10000baseT.
        let speeds = out
            .get("node_network_supported_speed_bytes")
            .expect("speeds");
        assert_eq!(speeds.samples.len(), 4);
        // `tx-lpi`, `tx_lpi` and `TX_lpi` give the same name: all three are dropped.
        assert!(out.get("node_ethtool_transmitted_lpi").is_none());
        let f = out.get("node_ethtool_received_broadcast").expect("family");
        assert_eq!(f.kind, crate::Kind::Untyped);
        assert_eq!(f.help, "Network interface rx_broadcast");
        let f = out
            .get("node_ethtool_port_received_dropped")
            .expect("family");
        assert_eq!(f.help, "Network interface port_rx_dropped");
        let f = out
            .get("node_ethtool_transmitted_bytes_total")
            .expect("family");
        assert_eq!(f.help, "Network interface bytes sent");
        // The other fixture interfaces answer EOPNOTSUPP to everything: nothing of them.
        for other in &devs[1..] {
            assert_eq!(
                out.value("node_network_autonegotiate", &[("device", other)]),
                None
            );
        }
    }

    #[test]
    fn metrics_include_filters_on_the_sanitized_name() {
        let devs = fixture_devices();
        let dev = devs[0].as_str();
        let mut cfg = fixture_config();
        cfg.ethtool.metrics_include = "^rx_".into();
        let out = collect(&cfg, nic_fake(dev)).expect("collects");
        assert!(out.get("node_ethtool_received_packets_total").is_some());
        assert!(out.get("node_ethtool_received_broadcast").is_some());
        assert!(out.get("node_ethtool_transmitted_bytes_total").is_none());
        assert!(out.get("node_ethtool_port_received_dropped").is_none());
        // The link settings and driver info are not statistics: not filtered.
        assert!(out.get("node_ethtool_info").is_some());
    }

    #[test]
    fn device_include_and_exclude() {
        let devs = fixture_devices();
        let dev = devs[0].clone();
        let mut cfg = fixture_config();
        cfg.ethtool.device_exclude = format!("^{dev}$");
        let out = collect(&cfg, nic_fake(&dev)).expect("collects");
        assert!(out.is_empty(), "the only answering device is excluded");
        let mut cfg = fixture_config();
        cfg.ethtool.device_include = "^nomatch$".into();
        let out = collect(&cfg, nic_fake(&dev)).expect("collects");
        assert!(out.is_empty());
        let mut cfg = fixture_config();
        cfg.ethtool.device_include = format!("^{dev}$");
        assert!(!collect(&cfg, nic_fake(&dev)).expect("collects").is_empty());
        let mut cfg = fixture_config();
        cfg.ethtool.metrics_include = "(".into();
        assert!(Ethtool::with_source(&cfg, Box::new(Fake::default())).is_err());
    }

    #[test]
    fn stats_errors_leave_only_the_stats_out() {
        let devs = fixture_devices();
        let dev = devs[0].as_str();
        let mut fake = nic_fake(dev);
        fake.stats.insert(dev.to_string(), Err(libc::ENODEV));
        let out = collect(&fixture_config(), fake).expect("a device error is not the scrape's");
        assert!(out.get("node_ethtool_info").is_some());
        assert!(out.get("node_ethtool_received_packets_total").is_none());
    }

    #[test]
    fn no_class_net_is_no_data() {
        let cfg = fixture_config_with("proc", "no-such-sys");
        let err = collect(&cfg, Fake::default()).expect_err("no /sys/class/net");
        assert!(err.is_no_data(), "{err}");
    }

    #[test]
    fn flag_defaults_are_node_exporters() {
        let d = NodeConfig::default().ethtool;
        assert_eq!(
            (
                d.device_include.as_str(),
                d.device_exclude.as_str(),
                d.metrics_include.as_str()
            ),
            ("", "", ".*")
        );
    }

    /// The ioctl's errors are the kernel's errnos (no privilege needed): `lo` has no driver info
    /// (EOPNOTSUPP, logged at debug level), a device that does not exist is ENODEV.
    #[test]
    fn ioctl_errors_are_errnos() {
        let e = Ioctl::new().expect("an AF_INET datagram socket");
        let err = e
            .driver_info("lo")
            .expect_err("lo has no ethtool driver info");
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{err}");
        let err = e.link_info("hl-nodev0").expect_err("no such device");
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
        let err = e.stats("hl-nodev0").expect_err("no such device");
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
    }

    #[test]
    fn multi_label_descriptor_names_are_left_out() {
        let mut stats = HashMap::new();
        stats.insert(b"supported_port".to_vec(), 1u64);
        stats.insert(b"autonegotiate".to_vec(), 1u64);
        let all = Regex::new(".*").expect("regex");
        let s = select_stats(&stats, &all);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "node_network_autonegotiate");
    }
}
