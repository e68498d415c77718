//! `infiniband`: node_infiniband_* from `/sys/class/infiniband/<device>/` (Documentation/ABI/stable/sysfs-class-infiniband):
//! node_infiniband_info per device, and per port (`device`, `port` labels) its state, physical state, rate
//! and the counters of `ports/<n>/counters/` and (mlx4) `ports/<n>/counters_ext/`.
//!
//! As node_exporter (prometheus/procfs `InfiniBandClass`): `hca_type` may be missing; the data counters
//! (`port_rcv_data`, `port_xmit_data` and their `_64` variants) count 4-byte words and are multiplied by 4;
//! a counter reading `N/A (no PMA)` is left out; the rate `<n> Gb/sec (…)` becomes bytes per second. Any
//! other missing file makes the scrape a no-data one.

use std::path::Path;
use std::sync::Arc;

use crate::error::ParseError;
use crate::read::{is_absent, parse_go_uint, read_to_string, sorted_entry_names, sys_read_file};
use crate::{CollectError, Kind, MetricSet, Roots};

use super::{DeviceFilter, NodeCollector, NodeConfig};

/// Counter: directory (`counters` or `counters_ext`), file, metric name, help, multiplied by 4.
type CounterSpec = (&'static str, &'static str, &'static str, &'static str, bool);

const COUNTERS: &[CounterSpec] = &[
    ("counters_ext", "port_multicast_rcv_packets", "node_infiniband_legacy_multicast_packets_received_total", "Number of multicast packets received", false),
    ("counters_ext", "port_multicast_xmit_packets", "node_infiniband_legacy_multicast_packets_transmitted_total", "Number of multicast packets transmitted", false),
    ("counters_ext", "port_rcv_data_64", "node_infiniband_legacy_data_received_bytes_total", "Number of data octets received on all links", true),
    ("counters_ext", "port_rcv_packets_64", "node_infiniband_legacy_packets_received_total", "Number of data packets received on all links", false),
    ("counters_ext", "port_unicast_rcv_packets", "node_infiniband_legacy_unicast_packets_received_total", "Number of unicast packets received", false),
    ("counters_ext", "port_unicast_xmit_packets", "node_infiniband_legacy_unicast_packets_transmitted_total", "Number of unicast packets transmitted", false),
    ("counters_ext", "port_xmit_data_64", "node_infiniband_legacy_data_transmitted_bytes_total", "Number of data octets transmitted on all links", true),
    ("counters_ext", "port_xmit_packets_64", "node_infiniband_legacy_packets_transmitted_total", "Number of data packets received on all links", false),
    ("counters", "excessive_buffer_overrun_errors", "node_infiniband_excessive_buffer_overrun_errors_total", "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.", false),
    ("counters", "link_downed", "node_infiniband_link_downed_total", "Number of times the link failed to recover from an error state and went down", false),
    ("counters", "link_error_recovery", "node_infiniband_link_error_recovery_total", "Number of times the link successfully recovered from an error state", false),
    ("counters", "local_link_integrity_errors", "node_infiniband_local_link_integrity_errors_total", "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.", false),
    ("counters", "multicast_rcv_packets", "node_infiniband_multicast_packets_received_total", "Number of multicast packets received (including errors)", false),
    ("counters", "multicast_xmit_packets", "node_infiniband_multicast_packets_transmitted_total", "Number of multicast packets transmitted (including errors)", false),
    ("counters", "port_rcv_constraint_errors", "node_infiniband_port_constraint_errors_received_total", "Number of packets received on the switch physical port that are discarded", false),
    ("counters", "port_xmit_constraint_errors", "node_infiniband_port_constraint_errors_transmitted_total", "Number of packets not transmitted from the switch physical port", false),
    ("counters", "port_rcv_data", "node_infiniband_port_data_received_bytes_total", "Number of data octets received on all links", true),
    ("counters", "port_xmit_data", "node_infiniband_port_data_transmitted_bytes_total", "Number of data octets transmitted on all links", true),
    ("counters", "port_rcv_discards", "node_infiniband_port_discards_received_total", "Number of inbound packets discarded by the port because the port is down or congested", false),
    ("counters", "port_xmit_discards", "node_infiniband_port_discards_transmitted_total", "Number of outbound packets discarded by the port because the port is down or congested", false),
    ("counters", "port_rcv_errors", "node_infiniband_port_errors_received_total", "Number of packets containing an error that were received on this port", false),
    ("counters", "port_rcv_packets", "node_infiniband_port_packets_received_total", "Number of packets received on all VLs by this port (including errors)", false),
    ("counters", "port_xmit_packets", "node_infiniband_port_packets_transmitted_total", "Number of packets transmitted on all VLs from this port (including errors)", false),
    ("counters", "port_xmit_wait", "node_infiniband_port_transmit_wait_total", "Number of ticks during which the port had data to transmit but no data was sent during the entire tick", false),
    ("counters", "unicast_rcv_packets", "node_infiniband_unicast_packets_received_total", "Number of unicast packets received (including errors)", false),
    ("counters", "unicast_xmit_packets", "node_infiniband_unicast_packets_transmitted_total", "Number of unicast packets transmitted (including errors)", false),
    ("counters", "port_rcv_remote_physical_errors", "node_infiniband_port_receive_remote_physical_errors_total", "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.", false),
    ("counters", "port_rcv_switch_relay_errors", "node_infiniband_port_receive_switch_relay_errors_total", "Number of packets that could not be forwarded by the switch.", false),
    ("counters", "symbol_error", "node_infiniband_symbol_error_total", "Number of minor link errors detected on one or more physical lanes.", false),
    ("counters", "VL15_dropped", "node_infiniband_vl15_dropped_total", "Number of incoming VL15 packets dropped due to resource limitations.", false),
];

/// One port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbPort {
    pub port: u32,
    pub state_id: u32,
    pub phys_state_id: u32,
    /// Bytes per second.
    pub rate: u64,
    /// Values of [`COUNTERS`]; `None` when the file is missing, unreadable or `N/A (no PMA)`.
    pub counters: Vec<Option<u64>>,
    /// Values of [`HW_COUNTERS`] from `hw_counters/` (1.11, #2827), same rules; all `None` without it.
    pub hw_counters: Vec<Option<u64>>,
}

/// `hw_counters/` file, metric name (`node_infiniband_<name>`), help: node_exporter 1.12.1's, whose
/// `lifespan` (ms) is the gauge `lifespan_seconds` (integer division by 1000); the others are counters.
pub const HW_COUNTERS: &[(&str, &str, &str)] = &[
    ("duplicate_request", "duplicate_requests_packets_total", "The number of received packets. A duplicate request is a request that had been previously executed."),
    ("implied_nak_seq_err", "implied_nak_seq_errors_total", "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for an RDMA read or response."),
    ("lifespan", "lifespan_seconds", "The maximum period in ms which defines the aging of the counter reads. Two consecutive reads within this period might return the same values."),
    ("local_ack_timeout_err", "local_ack_timeout_errors_total", "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP retry limit was not exceed, therefore it is still recoverable error."),
    ("np_cnp_sent", "np_cnp_packets_sent_total", "The number of CNP packets sent by the Notification Point when it noticed congestion experienced in the RoCEv2 IP header (ECN bits). The counters was added in MLNX_OFED 4.1"),
    ("np_ecn_marked_roce_packets", "np_ecn_marked_roce_packets_received_total", "The number of RoCEv2 packets received by the notification point which were marked for experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) . The counters was added in MLNX_OFED 4.1"),
    ("out_of_buffer", "out_of_buffer_drops_total", "The number of drops occurred due to lack of WQE for the associated QPs."),
    ("out_of_sequence", "out_of_sequence_packets_received_total", "The number of out of sequence packets received."),
    ("packet_seq_err", "packet_sequence_errors_total", "The number of received NAK sequence error packets. The QP retry limit was not exceeded."),
    ("req_cqe_error", "req_cqes_errors_total", "The number of times requester detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1"),
    ("req_cqe_flush_error", "req_cqes_flush_errors_total", "The number of times requester detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1"),
    ("req_remote_access_errors", "req_remote_access_errors_total", "The number of times requester detected remote access errors. The counters was added in MLNX_OFED 4.1"),
    ("req_remote_invalid_request", "req_remote_invalid_request_errors_total", "The number of times requester detected remote invalid request errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_cqe_error", "resp_cqes_errors_total", "The number of times responder detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_cqe_flush_error", "resp_cqes_flush_errors_total", "The number of times responder detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_local_length_error", "resp_local_length_errors_total", "The number of times responder detected local length errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_remote_access_errors", "resp_remote_access_errors_total", "The number of times responder detected remote access errors. The counters was added in MLNX_OFED 4.1"),
    ("rnr_nak_retry_err", "rnr_nak_retry_packets_received_total", "The number of received RNR NAK packets. The QP retry limit was not exceeded."),
    ("roce_adp_retrans", "roce_adp_retransmits_total", "The number of adaptive retransmissions for RoCE traffic. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_adp_retrans_to", "roce_adp_retransmits_timeout_total", "The number of times RoCE traffic reached timeout due to adaptive retransmission. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart", "roce_slow_restart_used_total", "The number of times RoCE slow restart was used. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart_cnps", "roce_slow_restart_cnps_total", "The number of times RoCE slow restart generated CNP packets. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart_trans", "roce_slow_restart_total", "The number of times RoCE slow restart changed state to slow restart. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("rp_cnp_handled", "rp_cnp_packets_handled_total", "The number of CNP packets handled by the Reaction Point HCA to throttle the transmission rate. The counters was added in MLNX_OFED 4.1"),
    ("rp_cnp_ignored", "rp_cnp_ignored_packets_received_total", "The number of CNP packets received and ignored by the Reaction Point HCA. This counter should not raise if RoCE Congestion Control was enabled in the network. If this counter raise, verify that ECN was enabled on the adapter."),
    ("rx_atomic_requests", "rx_atomic_requests_total", "The number of received ATOMIC request for the associated QPs."),
    ("rx_dct_connect", "rx_dct_connect_requests_total", "The number of received connection requests for the associated DCTs."),
    ("rx_read_requests", "rx_read_requests_total", "The number of received READ requests for the associated QPs."),
    ("rx_write_requests", "rx_write_requests_total", "The number of received WRITE requests for the associated QPs."),
    ("rx_icrc_encapsulated", "rx_icrc_encapsulated_errors_total", "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and kernel 4.19"),
];

/// The `hw_counters/` directory of a port, as procfs 0.21: only when it exists; each regular file of a
/// known name; an unreadable one (missing, EACCES, EOPNOTSUPP, EINVAL) or `N/A (no PMA)` is absent, any
/// other error or unparsable value fails.
pub fn read_hw_counters(pdir: &Path) -> Result<Vec<Option<u64>>, CollectError> {
    let mut out = vec![None; HW_COUNTERS.len()];
    let dir = pdir.join("hw_counters");
    if std::fs::metadata(&dir).is_err() {
        return Ok(out);
    }
    for e in crate::read::read_dir_sorted(&dir).map_err(|e| CollectError::io(&dir, e))? {
        if !e.file_type.is_file() {
            continue;
        }
        let Some(i) = HW_COUNTERS.iter().position(|(f, _, _)| *f == e.name) else {
            continue;
        };
        let path = dir.join(&e.name);
        match sys_read_file(&path) {
            Ok(v) => match parse_go_uint(&v) {
                Ok(n) => out[i] = Some(n),
                Err(_) if v.contains("N/A (no PMA)") => {}
                Err(err) => return Err(err.at(&path)),
            },
            Err(err) if is_absent(&err) => {}
            Err(err) => return Err(CollectError::io(&path, err)),
        }
    }
    Ok(out)
}

/// One device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbDevice {
    pub name: String,
    pub board_id: String,
    pub firmware_version: String,
    pub hca_type: String,
    pub ports: Vec<IbPort>,
}

/// Parse `<id>: <name>` (`state`, `phys_state`) into the id.
pub fn parse_state(s: &str) -> Result<u32, ParseError> {
    let mut parts = s.split(':');
    let (Some(id), Some(_name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ParseError::new(format!(
            "failed to split {s:?} into 'ID: NAME'"
        )));
    };
    id.trim()
        .parse::<u32>()
        .map_err(|_| ParseError::new(format!("failed to convert {:?} into uint", id.trim())))
}

/// Parse a rate such as `100 Gb/sec (4X EDR)` into bytes per second (the number is read as a 32-bit float,
/// as procfs does).
pub fn parse_rate(s: &str) -> Result<u64, ParseError> {
    let Some((num, _)) = s.split_once(' ') else {
        return Err(ParseError::new(format!("failed to split {s:?}")));
    };
    let gbps: f32 = num
        .trim()
        .parse()
        .map_err(|_| ParseError::new(format!("failed to convert {:?} into uint", num.trim())))?;
    Ok((f64::from(gbps) * 125_000_000.0) as u64)
}

/// Read one port directory.
pub fn read_port(pdir: &Path, port: u32) -> Result<IbPort, CollectError> {
    let read_whole = |f: &str| {
        let path = pdir.join(f);
        read_to_string(&path).map(|s| (s, path))
    };
    let (s, p) = read_whole("state")?;
    let state_id = parse_state(&s).map_err(|e| e.at(&p))?;
    let (s, p) = read_whole("phys_state")?;
    let phys_state_id = parse_state(&s).map_err(|e| e.at(&p))?;
    let (s, p) = read_whole("rate")?;
    let rate = parse_rate(&s).map_err(|e| e.at(&p))?;
    // counters/ must exist; counters_ext/ is optional.
    let cdir = pdir.join("counters");
    std::fs::metadata(&cdir).map_err(|e| CollectError::io(&cdir, e))?;
    let mut counters = Vec::with_capacity(COUNTERS.len());
    for (dir, file, _, _, times4) in COUNTERS {
        let path = pdir.join(dir).join(file);
        let v = match sys_read_file(&path) {
            Ok(v) => match parse_go_uint(&v) {
                Ok(n) if *times4 => Some(n.wrapping_mul(4)),
                Ok(n) => Some(n),
                Err(_) if v.contains("N/A (no PMA)") => None,
                Err(e) => return Err(e.at(&path)),
            },
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(CollectError::io(&path, e)),
        };
        counters.push(v);
    }
    Ok(IbPort {
        port,
        state_id,
        phys_state_id,
        rate,
        counters,
        hw_counters: read_hw_counters(pdir)?,
    })
}

/// Read the device `name` of the class directory `dir`.
pub fn read_device(dir: &Path, name: &str) -> Result<IbDevice, CollectError> {
    let ddir = dir.join(name);
    let attr = |f: &str, optional: bool| {
        let path = ddir.join(f);
        match sys_read_file(&path) {
            Ok(v) => Ok(v),
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(CollectError::io(&path, e)),
        }
    };
    let board_id = attr("board_id", false)?;
    let firmware_version = attr("fw_ver", false)?;
    let hca_type = attr("hca_type", true)?;
    let pdir = ddir.join("ports");
    let mut ports = Vec::new();
    for pname in sorted_entry_names(&pdir)? {
        let path = pdir.join(&pname);
        let port: u32 = pname
            .parse()
            .map_err(|_| CollectError::parse(&path, format!("port {pname:?} is not a number")))?;
        ports.push(read_port(&path, port)?);
    }
    ports.sort_unstable_by_key(|p| p.port);
    Ok(IbDevice {
        name: name.to_string(),
        board_id,
        firmware_version,
        hca_type,
        ports,
    })
}

/// Every device of the class directory `dir`, sorted by name.
pub fn read_class(dir: &Path) -> Result<Vec<IbDevice>, CollectError> {
    sorted_entry_names(dir)?
        .iter()
        .map(|n| read_device(dir, n))
        .collect()
}

/// The infiniband collector's flags (1.12, #3694).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of infiniband devices to include (mutually exclusive to device-exclude).
    #[arg(
        value_name = "REGEX",
        id = "collector.infiniband.device-include",
        long = "collector.infiniband.device-include",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of infiniband devices to exclude (mutually exclusive to device-include).
    #[arg(
        value_name = "REGEX",
        id = "collector.infiniband.device-exclude",
        long = "collector.infiniband.device-exclude",
        default_value = ""
    )]
    pub device_exclude: String,
}

/// The `infiniband` collector: every device of `/sys/class/infiniband` but those the device filter drops.
pub struct InfiniBand {
    roots: Arc<Roots>,
    filter: DeviceFilter,
}

impl NodeCollector for InfiniBand {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        // Upstream does not check that only one of the two is set: both apply.
        Ok(InfiniBand {
            roots: cfg.roots.clone(),
            filter: DeviceFilter::new(
                "collector.infiniband.device",
                &cfg.infiniband.device_exclude,
                &cfg.infiniband.device_include,
            )?,
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        collect_filtered(&self.roots, &self.filter, out)
    }
}

/// Write the metrics of every device not ignored by `filter`. As upstream (procfs reads the whole class
/// first), an ignored device that cannot be read still fails the scrape.
pub fn collect_filtered(
    roots: &Roots,
    filter: &DeviceFilter,
    out: &mut MetricSet,
) -> Result<(), CollectError> {
    for dev in read_class(&roots.sys("class/infiniband"))? {
        if filter.ignored(&dev.name) {
            continue;
        }
        out.sample(
            "node_infiniband_info",
            "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
            Kind::Gauge,
            vec![
                ("board_id".to_string(), dev.board_id),
                ("device".to_string(), dev.name.clone()),
                ("firmware_version".to_string(), dev.firmware_version),
                ("hca_type".to_string(), dev.hca_type),
            ],
            1.0,
        );
        for port in &dev.ports {
            let labels = || {
                vec![
                    ("device".to_string(), dev.name.clone()),
                    ("port".to_string(), port.port.to_string()),
                ]
            };
            out.sample(
                "node_infiniband_state_id",
                "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
                Kind::Gauge,
                labels(),
                f64::from(port.state_id),
            );
            out.sample(
                "node_infiniband_physical_state_id",
                "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
                Kind::Gauge,
                labels(),
                f64::from(port.phys_state_id),
            );
            out.sample(
                "node_infiniband_rate_bytes_per_second",
                "Maximum signal transfer rate",
                Kind::Gauge,
                labels(),
                port.rate as f64,
            );
            for ((_, _, metric, help, _), v) in COUNTERS.iter().zip(&port.counters) {
                if let Some(v) = v {
                    out.sample(metric, help, Kind::Counter, labels(), *v as f64);
                }
            }
            for ((file, name, help), v) in HW_COUNTERS.iter().zip(&port.hw_counters) {
                let Some(v) = v else { continue };
                let metric = format!("node_infiniband_{name}");
                if *file == "lifespan" {
                    out.sample(&metric, help, Kind::Gauge, labels(), (v / 1000) as f64);
                } else {
                    out.sample(&metric, help, Kind::Counter, labels(), *v as f64);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_rejects, collect_fixture, collect_with, fixture_config, fixture_root,
    };

    #[test]
    fn device_filter() {
        let mut cfg = fixture_config();
        cfg.infiniband.device_include = "^mlx".into();
        let out = collect_with("infiniband", &cfg).unwrap();
        let devices = |out: &MetricSet| -> Vec<String> {
            out.get("node_infiniband_info")
                .unwrap()
                .samples
                .iter()
                .map(|s| s.labels[1].1.clone())
                .collect()
        };
        assert_eq!(devices(&out), ["mlx4_0", "mlx5_0"]);
        cfg.infiniband.device_exclude = "4".into();
        let out = collect_with("infiniband", &cfg).unwrap();
        assert_eq!(devices(&out), ["mlx5_0"]);
    }

    #[test]
    fn states_and_rates() {
        assert_eq!(parse_state("4: ACTIVE\n"), Ok(4));
        assert_eq!(parse_state("5: LinkUp"), Ok(5));
        assert_rejects(parse_state, &["ACTIVE", "x: ACTIVE"]);
        assert_eq!(parse_rate("100 Gb/sec (4X EDR)\n"), Ok(12_500_000_000));
        assert_eq!(parse_rate("2.5 Gb/sec (1X SDR)"), Ok(312_500_000));
        assert_eq!(parse_rate("40 Gb/sec (4X QDR)"), Ok(5_000_000_000));
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn reads_fixture_devices() {
        let devs = read_class(&fixture_root().join("sys/class/infiniband")).unwrap();
        let names: Vec<_> = devs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["irdma0", "mlx4_0", "mlx5_0"]);
        assert_eq!(devs[0].hca_type, "");
        let mlx4 = &devs[1];
        assert_eq!(mlx4.ports.len(), 2);
        assert_eq!(mlx4.ports[1].state_id, 1);
        let idx = |f: &str| COUNTERS.iter().position(|c| c.1 == f).unwrap();
        // Data counters are in 4-byte words; all-ones wraps as in Go.
        assert_eq!(
            mlx4.ports[0].counters[idx("port_rcv_data")],
            Some(18_527_668)
        );
        assert_eq!(
            mlx4.ports[1].counters[idx("port_rcv_data")],
            Some(u64::MAX.wrapping_mul(4))
        );
        assert_eq!(mlx4.ports[0].counters[idx("VL15_dropped")], None);
        assert_eq!(
            mlx4.ports[0].counters[idx("port_rcv_data_64")],
            Some(18_527_668)
        );
        assert_eq!(devs[2].ports[0].counters[idx("port_rcv_packets_64")], None);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("infiniband");
        assert_eq!(
            out.value(
                "node_infiniband_info",
                &[
                    ("board_id", "MT_0000000010"),
                    ("device", "mlx5_0"),
                    ("firmware_version", "16.35.2000"),
                    ("hca_type", "MT4119")
                ]
            ),
            Some(1.0)
        );
        let l = |d: &'static str, p: &'static str| [("device", d), ("port", p)];
        assert_eq!(
            out.value("node_infiniband_rate_bytes_per_second", &l("mlx5_0", "1")),
            Some(12.5e9)
        );
        assert_eq!(
            out.value("node_infiniband_physical_state_id", &l("mlx4_0", "2")),
            Some(3.0)
        );
        assert_eq!(
            out.value(
                "node_infiniband_port_transmit_wait_total",
                &l("mlx5_0", "1")
            ),
            Some(4_294_967_295.0)
        );
        assert_eq!(
            out.value(
                "node_infiniband_legacy_unicast_packets_transmitted_total",
                &l("mlx4_0", "2")
            ),
            Some(61239.0)
        );
        assert_eq!(
            out.value("node_infiniband_vl15_dropped_total", &l("irdma0", "1")),
            Some(0.0)
        );
        // hw_counters (1.11): lifespan in whole seconds, N/A left out, unknown files ignored.
        assert_eq!(
            out.value("node_infiniband_lifespan_seconds", &l("mlx5_0", "1")),
            Some(2.0)
        );
        assert_eq!(
            out.value(
                "node_infiniband_out_of_buffer_drops_total",
                &l("mlx5_0", "1")
            ),
            Some(12.0)
        );
        assert_eq!(
            out.get("node_infiniband_lifespan_seconds").unwrap().kind,
            Kind::Gauge
        );
        assert!(out.get("node_infiniband_rx_read_requests_total").is_none());
        assert_eq!(
            out.get("node_infiniband_vl15_dropped_total")
                .unwrap()
                .samples
                .len(),
            2
        );
    }
}
