//! `nfs`: node_nfs_* from the NFS client's RPC statistics, `/proc/net/rpc/nfs`, as node_exporter 1.12.1
//! (procfs 0.21.1 `nfs.ClientRPCStats`) reads them. No data when the file is absent (no NFS client module).
//!
//! node_exporter opens `<procfs>/net/rpc/nfs`; the kernel keeps these counters per network namespace, so
//! we read them with [`Roots::proc_net`], which is the same file unless `--path.netns-pid` is given.
//!
//! The parsing helpers here are shared with the `nfsd` collector (same file format, same procfs rules).

use crate::error::ParseError;
use crate::read::read_to_string_or_no_data;
use crate::{CollectError, MetricSet, Roots};

/// The NFSv2 procedures in `proc2` order (the `method` label values, procfs' field names).
pub const V2_PROCS: [&str; 18] = [
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// The NFSv3 procedures in `proc3` order.
pub const V3_PROCS: [&str; 22] = [
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// The NFSv4 client operations in `proc4` order, as far as procfs 0.21.1 maps them (later ones are ignored),
/// with procfs' names (the `method` label values).
///
/// Values 45 and 46 are labelled as procfs labels them, `GetDeviceInfo` then `LayoutGet`, although the kernel
/// counts them the other way round: `/proc/net/rpc/nfs` prints the client procedures in the order of
/// include/linux/nfs4.h's `NFSPROC4_CLNT_*` enum, which has `NFSPROC4_CLNT_LAYOUTGET` before
/// `NFSPROC4_CLNT_GETDEVICEINFO`. node_exporter (every release so far, 1.12.1 included) exports procfs'
/// field under the field's name, so its `LayoutGet` series is the kernel's GETDEVICEINFO count and the
/// reverse. We keep node_exporter's labelling: the series must be the same series a dashboard or alert
/// written against node_exporter reads (and a fix upstream would then be a fix here too).
pub const CLIENT_V4_PROCS: [&str; 59] = [
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "GetDeviceInfo",
    "LayoutGet",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// The `net` line: packets (all, UDP, TCP) and TCP connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Network {
    pub net_count: u64,
    pub udp_count: u64,
    pub tcp_count: u64,
    pub tcp_connect: u64,
}

/// The client's `rpc` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientRpc {
    pub rpc_count: u64,
    pub retransmissions: u64,
    pub auth_refreshes: u64,
}

/// `/proc/net/rpc/nfs`. A line the file lacks reads as zeros, as procfs' zero-valued structs do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRpcStats {
    pub network: Network,
    pub rpc: ClientRpc,
    pub v2: [u64; 18],
    pub v3: [u64; 22],
    pub v4: [u64; 59],
}

impl Default for ClientRpcStats {
    fn default() -> Self {
        ClientRpcStats {
            network: Network::default(),
            rpc: ClientRpc::default(),
            v2: [0; 18],
            v3: [0; 22],
            v4: [0; 59],
        }
    }
}

/// Split a stats line into its label and its unsigned values; at least one value is required (procfs:
/// "require at least <key> <value>").
pub fn split_line(line: &str) -> Result<(&str, Vec<u64>), ParseError> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    if parts.len() < 2 {
        return Err(ParseError::new(format!("invalid NFS metric line {line:?}")));
    }
    Ok((parts[0], parse_values(&parts[1..], line)?))
}

/// The values of a line, each Go's `strconv.ParseUint(v, 10, 64)` (procfs' `util.ParseUint64s`): decimal
/// digits only, no sign, no overflow.
pub fn parse_values(raw: &[&str], line: &str) -> Result<Vec<u64>, ParseError> {
    raw.iter()
        .map(|v| {
            v.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| v.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| ParseError::new(format!("invalid value {v:?} in line {line:?}")))
        })
        .collect()
}

/// Values of a line that must have exactly `N` of them.
pub fn exact<const N: usize>(label: &str, v: &[u64]) -> Result<[u64; N], ParseError> {
    v.try_into().map_err(|_| {
        ParseError::new(format!(
            "invalid {label} line: {} values, expected {N}",
            v.len()
        ))
    })
}

/// A `procN` line: `<count> <count values>`; at least `min` values. Returns the values after the count.
pub fn proc_values<'a>(label: &str, v: &'a [u64], min: usize) -> Result<&'a [u64], ParseError> {
    let (count, rest) = v
        .split_first()
        .ok_or_else(|| ParseError::new(format!("invalid {label} line: empty")))?;
    if usize::try_from(*count).ok() != Some(rest.len()) || rest.len() < min {
        return Err(ParseError::new(format!(
            "invalid {label} line: count {count}, {} values",
            rest.len()
        )));
    }
    Ok(rest)
}

/// The first `N` values of `v` (zero-padded).
pub fn padded<const N: usize>(v: &[u64]) -> [u64; N] {
    let mut out = [0; N];
    for (o, x) in out.iter_mut().zip(v) {
        *o = *x;
    }
    out
}

pub fn parse_network(v: &[u64]) -> Result<Network, ParseError> {
    let [net_count, udp_count, tcp_count, tcp_connect] = exact("net", v)?;
    Ok(Network {
        net_count,
        udp_count,
        tcp_count,
        tcp_connect,
    })
}

/// Parse `/proc/net/rpc/nfs` as procfs 0.21.1 does: a line without a value, an empty line included, and a
/// line label procfs does not know are errors (so the collector fails, as node_exporter's does).
pub fn parse_client_rpc_stats(text: &str) -> Result<ClientRpcStats, ParseError> {
    let mut s = ClientRpcStats::default();
    for line in text.lines() {
        let (label, v) = split_line(line)?;
        match label {
            "net" => s.network = parse_network(&v)?,
            "rpc" => {
                let [rpc_count, retransmissions, auth_refreshes] = exact("rpc", &v)?;
                s.rpc = ClientRpc {
                    rpc_count,
                    retransmissions,
                    auth_refreshes,
                };
            }
            "proc2" => s.v2 = padded(proc_values(label, &v, 18)?),
            "proc3" => s.v3 = padded(proc_values(label, &v, 22)?),
            // Older kernels count fewer v4 operations: the missing ones read as zero.
            "proc4" => s.v4 = padded(proc_values(label, &v, 0)?),
            _ => {
                return Err(ParseError::new(format!(
                    "unknown NFS metric line {label:?}"
                )))
            }
        }
    }
    Ok(s)
}

const REQUESTS_HELP: &str = "Number of NFS procedures invoked.";

/// The `nfs` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("rpc/nfs");
    let text = read_to_string_or_no_data(&path)?;
    let s = parse_client_rpc_stats(&text).map_err(|e| e.at(&path))?;
    const PACKETS_HELP: &str = "Total NFSd network packets (sent+received) by protocol type.";
    out.counter(
        "node_nfs_packets_total",
        PACKETS_HELP,
        &[("protocol", "udp")],
        s.network.udp_count as f64,
    );
    out.counter(
        "node_nfs_packets_total",
        PACKETS_HELP,
        &[("protocol", "tcp")],
        s.network.tcp_count as f64,
    );
    out.counter(
        "node_nfs_connections_total",
        "Total number of NFSd TCP connections.",
        &[],
        s.network.tcp_connect as f64,
    );
    out.counter(
        "node_nfs_rpcs_total",
        "Total number of RPCs performed.",
        &[],
        s.rpc.rpc_count as f64,
    );
    out.counter(
        "node_nfs_rpc_retransmissions_total",
        "Number of RPC transmissions performed.",
        &[],
        s.rpc.retransmissions as f64,
    );
    out.counter(
        "node_nfs_rpc_authentication_refreshes_total",
        "Number of RPC authentication refreshes performed.",
        &[],
        s.rpc.auth_refreshes as f64,
    );
    let versions: [(&str, &[&str], &[u64]); 3] = [
        ("2", &V2_PROCS, &s.v2),
        ("3", &V3_PROCS, &s.v3),
        ("4", &CLIENT_V4_PROCS, &s.v4),
    ];
    for (proto, names, values) in versions {
        for (method, v) in names.iter().zip(values) {
            out.counter(
                "node_nfs_requests_total",
                REQUESTS_HELP,
                &[("method", method), ("proto", proto)],
                *v as f64,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/net/rpc/nfs");

    #[test]
    fn parses_fixture() {
        let s = parse_client_rpc_stats(FIXTURE).unwrap();
        assert_eq!(
            s.network,
            Network {
                net_count: 1832,
                udp_count: 0,
                tcp_count: 1832,
                tcp_connect: 17
            }
        );
        assert_eq!(s.rpc.rpc_count, 5817062);
        assert_eq!(s.rpc.retransmissions, 42);
        assert_eq!(s.rpc.auth_refreshes, 7);
        // No proc2 line (kernels without NFSv2): zeros.
        assert_eq!(s.v2, [0; 18]);
        assert_eq!(s.v3[1], 60123); // GetAttr
        assert_eq!(s.v3[21], 5123); // Commit
        assert_eq!(s.v4[1], 40211); // Read
        assert_eq!(s.v4[58], 0); // Clone; the kernel's 10 later operations are ignored
    }

    #[test]
    fn older_kernel_pads_v4_and_rejects_bad_lines() {
        let s = parse_client_rpc_stats(
            "net 0 0 0 0\nrpc 1 2 3\nproc2 18 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\nproc4 3 1 2 3\n",
        )
        .unwrap();
        assert_eq!(s.v2[17], 17);
        assert_eq!(&s.v4[..4], &[1, 2, 3, 0]);
        // Count and values disagree.
        assert!(parse_client_rpc_stats("proc3 22 1 2 3\n").is_err());
        // Too few v2 procedures.
        assert_rejects(
            parse_client_rpc_stats,
            &["proc2 2 1 2\n", "rpc 1 2\n", "net\n", "net 1 x 2 3\n"],
        );
        // A line procfs does not know fails the parse, as an empty line does.
        assert_rejects(
            parse_client_rpc_stats,
            &["net 1 2 3 4\nnew 1 2\n", "net 1 2 3 4\n\n", "rpc 1 +2 3\n"],
        );
    }

    #[test]
    fn v4_values_45_and_46_are_labelled_as_procfs_does() {
        // Value i is i: value 44 is RECLAIM_COMPLETE, 45 the kernel's LAYOUTGET, 46 its GETDEVICEINFO.
        let line: String = (1..=59).map(|i| format!(" {i}")).collect();
        let s = parse_client_rpc_stats(&format!("proc4 59{line}\n")).unwrap();
        let at = |name: &str| {
            let i = CLIENT_V4_PROCS.iter().position(|p| *p == name).unwrap();
            s.v4[i]
        };
        assert_eq!(at("ReclaimComplete"), 44);
        assert_eq!(at("GetDeviceInfo"), 45);
        assert_eq!(at("LayoutGet"), 46);
        assert_eq!(at("Clone"), 59);
    }

    #[test]
    fn huge_counters() {
        let s = parse_client_rpc_stats("rpc 18446744073709551615 0 0\n").unwrap();
        assert_eq!(s.rpc.rpc_count, u64::MAX);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "nfs",
            &[
                ("node_nfs_packets_total", &[("protocol", "tcp")], 1832.0),
                ("node_nfs_connections_total", &[], 17.0),
                (
                    "node_nfs_requests_total",
                    &[("proto", "3"), ("method", "GetAttr")],
                    60123.0,
                ),
                (
                    "node_nfs_requests_total",
                    &[("proto", "2"), ("method", "Null")],
                    0.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_nfs_requests_total").unwrap().samples.len(),
            18 + 22 + 59
        );
    }

    #[test]
    fn no_file_is_no_data() {
        let cfg = fixture_config_with("mdstat", "sys");
        let err = collect_with("nfs", &cfg).unwrap_err();
        assert!(err.is_no_data());
    }
}
