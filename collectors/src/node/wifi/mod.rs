//! `wifi`: node_wifi_* of every named nl80211 interface, its BSS and its stations, as node_exporter's
//! collector/wifi_linux.go reads them through mdlayher/wifi, or from the JSON fixture directory of
//! `--collector.wifi.fixtures` (upstream's e2e mode: `interfaces.json`, an array of `wifi.Interface`, and
//! per interface name `<name>/bss.json` (`wifi.BSS`) and `<name>/stationinfo.json` (`[]wifi.StationInfo`),
//! Go-decoded).
//!
//! Upstream's rules, which we follow: an interface without a name is skipped; a missing BSS or station
//! file (the live client's `os.ErrNotExist`) only leaves those samples out, any other error fails the
//! scrape; without nl80211 (no such generic netlink family) or without permission the collector has no
//! data (node_exporter's `ErrNoData`: success 0, logged at debug level).
//!
//! This host has no wifi device: the fixture mode is tested end to end and the decoding of the live path
//! in unit tests only.

use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::read::read_to_string;
use crate::{CollectError, MetricSet};

use super::go_json::{self, hardware_addr, GoObject};
use super::{NodeCollector, NodeConfig};

/// mdlayher/wifi's `Interface`, the fields node_exporter reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub index: i64,
    pub name: String,
    pub hardware_addr: Vec<u8>,
    pub kind: i64,
    /// MHz.
    pub frequency: i64,
}

/// mdlayher/wifi's `BSS`, the fields node_exporter reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bss {
    pub ssid: String,
    pub bssid: Vec<u8>,
    pub status: i64,
}

/// mdlayher/wifi's `StationInfo`; durations in nanoseconds (Go's `time.Duration`), bitrates in bit/s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationInfo {
    pub hardware_addr: Vec<u8>,
    pub connected_ns: i64,
    pub inactive_ns: i64,
    pub received_bytes: i64,
    pub transmitted_bytes: i64,
    pub received_packets: i64,
    pub transmitted_packets: i64,
    pub receive_bitrate: i64,
    pub transmit_bitrate: i64,
    pub signal: i64,
    pub transmit_retries: i64,
    pub transmit_failed: i64,
    pub beacon_loss: i64,
}

/// Parse `interfaces.json`.
pub fn parse_interfaces(text: &str) -> Result<Vec<Interface>, ParseError> {
    let v = go_json::parse(text)?;
    go_json::array(&v, "[]*wifi.Interface")?
        .iter()
        .map(|e| {
            let o = GoObject::new(e, "wifi.Interface")?;
            Ok(Interface {
                index: o.int("Index")?,
                name: o.string("Name")?,
                hardware_addr: o.bytes("HardwareAddr")?,
                kind: o.int("Type")?,
                frequency: o.int("Frequency")?,
            })
        })
        .collect()
}

/// Parse `<name>/bss.json`.
pub fn parse_bss(text: &str) -> Result<Bss, ParseError> {
    let o = GoObject::new(&go_json::parse(text)?, "wifi.BSS")?;
    Ok(Bss {
        ssid: o.string("SSID")?,
        bssid: o.bytes("BSSID")?,
        status: o.int("Status")?,
    })
}

/// Parse `<name>/stationinfo.json`.
pub fn parse_stations(text: &str) -> Result<Vec<StationInfo>, ParseError> {
    let v = go_json::parse(text)?;
    go_json::array(&v, "[]*wifi.StationInfo")?
        .iter()
        .map(|e| {
            let o = GoObject::new(e, "wifi.StationInfo")?;
            Ok(StationInfo {
                hardware_addr: o.bytes("HardwareAddr")?,
                connected_ns: o.int("Connected")?,
                inactive_ns: o.int("Inactive")?,
                received_bytes: o.int("ReceivedBytes")?,
                transmitted_bytes: o.int("TransmittedBytes")?,
                received_packets: o.int("ReceivedPackets")?,
                transmitted_packets: o.int("TransmittedPackets")?,
                receive_bitrate: o.int("ReceiveBitrate")?,
                transmit_bitrate: o.int("TransmitBitrate")?,
                signal: o.int("Signal")?,
                transmit_retries: o.int("TransmitRetries")?,
                transmit_failed: o.int("TransmitFailed")?,
                beacon_loss: o.int("BeaconLoss")?,
            })
        })
        .collect()
}

/// Go's `time.Duration.Seconds()`: whole seconds plus the remainder, so that 0.4 s is exactly 0.4.
pub fn duration_seconds(ns: i64) -> f64 {
    let (sec, nsec) = (ns / 1_000_000_000, ns % 1_000_000_000);
    sec as f64 + nsec as f64 / 1e9
}

/// upstream's `bssStatusMode`: mdlayher/wifi's `BSSStatus` values authenticated (0) and associated (1)
/// are a client, IBSS joined (3) is ad-hoc.
pub fn bss_status_mode(status: i64) -> &'static str {
    match status {
        0 | 1 => "client",
        3 => "ad-hoc",
        _ => "unknown",
    }
}

/// Where the data comes from: upstream's `wifiStater`. `Ok(None)` from `bss` / `stations` is
/// `os.ErrNotExist` (not available for that interface).
pub trait WifiStater {
    fn interfaces(&mut self) -> Result<Vec<Interface>, CollectError>;
    fn bss(&mut self, ifi: &Interface) -> Result<Option<Bss>, CollectError>;
    fn stations(&mut self, ifi: &Interface) -> Result<Option<Vec<StationInfo>>, CollectError>;
}

/// The fixture directory (upstream's `mockWifiStater`).
pub struct Fixtures(pub PathBuf);

impl Fixtures {
    fn read<T>(
        &self,
        rel: &Path,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, CollectError> {
        let path = self.0.join(rel);
        match read_to_string(&path) {
            Ok(text) => parse(&text).map(Some).map_err(|e| e.at(&path)),
            Err(e) if e.is_no_data() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl WifiStater for Fixtures {
    fn interfaces(&mut self) -> Result<Vec<Interface>, CollectError> {
        let path = self.0.join("interfaces.json");
        let text = read_to_string(&path)
            .map_err(|e| CollectError::Other(format!("failed to retrieve wifi interfaces: {e}")))?;
        parse_interfaces(&text).map_err(|e| e.at(&path))
    }

    fn bss(&mut self, ifi: &Interface) -> Result<Option<Bss>, CollectError> {
        self.read(&Path::new(&ifi.name).join("bss.json"), parse_bss)
    }

    fn stations(&mut self, ifi: &Interface) -> Result<Option<Vec<StationInfo>>, CollectError> {
        self.read(
            &Path::new(&ifi.name).join("stationinfo.json"),
            parse_stations,
        )
    }
}

/// The samples of one scrape from `stat`, as upstream's `Update`.
pub fn collect_from(stat: &mut dyn WifiStater, out: &mut MetricSet) -> Result<(), CollectError> {
    for ifi in stat.interfaces()? {
        // Some virtual devices have no "name" and should be skipped.
        if ifi.name.is_empty() {
            continue;
        }
        out.gauge(
            "node_wifi_interface_frequency_hertz",
            "The current frequency a WiFi interface is operating at, in hertz.",
            &[("device", &ifi.name)],
            ifi.frequency as f64 * 1000.0 * 1000.0,
        );
        let device = ifi.name.as_str();
        match stat.bss(&ifi) {
            Ok(Some(bss)) => out.gauge(
                "node_wifi_station_info",
                "Labeled WiFi interface station information as provided by the operating system.",
                &[
                    ("device", device),
                    ("bssid", &hardware_addr(&bss.bssid)),
                    ("ssid", &bss.ssid),
                    ("mode", bss_status_mode(bss.status)),
                ],
                1.0,
            ),
            Ok(None) => tracing::debug!(name = device, "BSS information not found for wifi device"),
            Err(e) => {
                return Err(CollectError::Other(format!(
                    "failed to retrieve BSS for device {device}: {e}"
                )))
            }
        }
        match stat.stations(&ifi) {
            Ok(Some(stations)) => {
                for s in &stations {
                    station_samples(out, device, s);
                }
            }
            Ok(None) => {
                tracing::debug!(
                    name = device,
                    "station information not found for wifi device"
                )
            }
            Err(e) => {
                return Err(CollectError::Other(format!(
                    "failed to retrieve station info for device {device:?}: {e}"
                )))
            }
        }
    }
    Ok(())
}

fn station_samples(out: &mut MetricSet, device: &str, s: &StationInfo) {
    let mac = hardware_addr(&s.hardware_addr);
    let l = [("device", device), ("mac_address", mac.as_str())];
    out.counter(
        "node_wifi_station_connected_seconds_total",
        "The total number of seconds a station has been connected to an access point.",
        &l,
        duration_seconds(s.connected_ns),
    );
    out.gauge(
        "node_wifi_station_inactive_seconds",
        "The number of seconds since any wireless activity has occurred on a station.",
        &l,
        duration_seconds(s.inactive_ns),
    );
    out.gauge(
        "node_wifi_station_receive_bits_per_second",
        "The current WiFi receive bitrate of a station, in bits per second.",
        &l,
        s.receive_bitrate as f64,
    );
    out.gauge(
        "node_wifi_station_transmit_bits_per_second",
        "The current WiFi transmit bitrate of a station, in bits per second.",
        &l,
        s.transmit_bitrate as f64,
    );
    out.counter(
        "node_wifi_station_receive_bytes_total",
        "The total number of bytes received by a WiFi station.",
        &l,
        s.received_bytes as f64,
    );
    out.counter(
        "node_wifi_station_transmit_bytes_total",
        "The total number of bytes transmitted by a WiFi station.",
        &l,
        s.transmitted_bytes as f64,
    );
    out.gauge(
        "node_wifi_station_signal_dbm",
        "The current WiFi signal strength, in decibel-milliwatts (dBm).",
        &l,
        s.signal as f64,
    );
    out.counter(
        "node_wifi_station_transmit_retries_total",
        "The total number of times a station has had to retry while sending a packet.",
        &l,
        s.transmit_retries as f64,
    );
    out.counter(
        "node_wifi_station_transmit_failed_total",
        "The total number of times a station has failed to send a packet.",
        &l,
        s.transmit_failed as f64,
    );
    out.counter(
        "node_wifi_station_beacon_loss_total",
        "The total number of times a station has detected a beacon loss.",
        &l,
        s.beacon_loss as f64,
    );
    out.counter(
        "node_wifi_station_transmitted_packets_total",
        "The total number of packets transmitted by a station.",
        &l,
        s.transmitted_packets as f64,
    );
    out.counter(
        "node_wifi_station_received_packets_total",
        "The total number of packets received by a station.",
        &l,
        s.received_packets as f64,
    );
}

/// The wifi collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// test fixtures to use for wifi collector metrics
    #[arg(
        value_name = "DIR",
        id = "collector.wifi.fixtures",
        long = "collector.wifi.fixtures",
        default_value = ""
    )]
    pub fixtures: String,
}

pub struct Wifi {
    roots: std::sync::Arc<crate::Roots>,
    fixtures: Option<PathBuf>,
}

impl NodeCollector for Wifi {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Wifi {
            roots: cfg.roots.clone(),
            fixtures: (!cfg.wifi.fixtures.is_empty()).then(|| PathBuf::from(&cfg.wifi.fixtures)),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        match &self.fixtures {
            Some(dir) => collect_from(&mut Fixtures(dir.clone()), out),
            None => {
                crate::read::netlink::same_namespace(&self.roots, "wifi")?;
                let mut client = live::Client::open()?;
                collect_from(&mut client, out)
            }
        }
    }
}

mod live;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_with, fixture_config, fixture_root};

    fn cfg_with(dir: &str) -> NodeConfig {
        let mut cfg = fixture_config();
        cfg.wifi.fixtures = fixture_root().join(dir).display().to_string();
        cfg
    }

    #[test]
    fn parses_fixture_files() {
        let ifis =
            parse_interfaces(include_str!("../../../tests/fixtures/wifi/interfaces.json")).unwrap();
        assert_eq!(ifis.len(), 3);
        assert_eq!(
            (ifis[0].name.as_str(), ifis[0].frequency, ifis[0].kind),
            ("wlp3s0", 5180, 2)
        );
        assert_eq!(ifis[2].name, "");
        let bss = parse_bss(include_str!("../../../tests/fixtures/wifi/wlp3s0/bss.json")).unwrap();
        assert_eq!(hardware_addr(&bss.bssid), "02:00:5e:10:00:01");
        assert_eq!((bss.ssid.as_str(), bss.status), ("lab", 1));
        let st = parse_stations(include_str!(
            "../../../tests/fixtures/wifi/wlp3s0/stationinfo.json"
        ))
        .unwrap();
        assert_eq!(st[0].connected_ns, 90_500_000_000);
        assert!(parse_bss("[]").is_err());
        assert!(parse_stations(r#"[{"signal": "x"}]"#).is_err());
    }

    #[test]
    fn collects_from_fixture_dir() {
        let out = collect_with("wifi", &cfg_with("wifi")).unwrap();
        let st: &[(&str, &str)] = &[("device", "wlp3s0"), ("mac_address", "02:00:5e:10:00:02")];
        assert_values(
            &out,
            &[
                (
                    "node_wifi_interface_frequency_hertz",
                    &[("device", "wlp3s0")],
                    5.18e9,
                ),
                (
                    "node_wifi_interface_frequency_hertz",
                    &[("device", "wlan9")],
                    2.437e9,
                ),
                (
                    "node_wifi_station_info",
                    &[
                        ("device", "wlp3s0"),
                        ("bssid", "02:00:5e:10:00:01"),
                        ("ssid", "lab"),
                        ("mode", "client"),
                    ],
                    1.0,
                ),
                ("node_wifi_station_connected_seconds_total", st, 90.5),
                ("node_wifi_station_inactive_seconds", st, 0.3),
                ("node_wifi_station_signal_dbm", st, -61.0),
                ("node_wifi_station_receive_bits_per_second", st, 2.4e8),
                ("node_wifi_station_received_packets_total", st, 77.0),
            ],
        );
        // wlan9 has no bss.json nor stationinfo.json: only its frequency.
        assert_eq!(
            out.value(
                "node_wifi_station_signal_dbm",
                &[("device", "wlan9"), ("mac_address", "")]
            ),
            None
        );
    }

    #[test]
    fn missing_interfaces_is_an_error() {
        assert!(collect_with("wifi", &cfg_with("no-such-dir")).is_err());
    }

    #[test]
    fn go_duration_seconds_and_modes() {
        assert_eq!(duration_seconds(400_000_000), 0.4);
        assert_eq!(duration_seconds(30_000_000_000), 30.0);
        assert_eq!(bss_status_mode(0), "client");
        assert_eq!(bss_status_mode(2), "unknown");
        assert_eq!(bss_status_mode(3), "ad-hoc");
    }
}
