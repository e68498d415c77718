//! `nfsd`: node_nfsd_* from the NFS server's statistics, `/proc/net/rpc/nfsd`, as node_exporter 1.12.1
//! (procfs 0.21.1 `nfs.ServerRPCStats`) reads them. No data when the file is absent (no nfsd module).
//!
//! Read with [`Roots::proc_net`] like `nfs` (the counters are per network namespace).

use crate::error::ParseError;
use crate::read::read_to_string_or_no_data;
use crate::{CollectError, MetricSet, Roots};

use super::nfs::{
    exact, padded, parse_network, parse_values, proc_values, Network, V2_PROCS, V3_PROCS,
};

/// The NFSv4 server operations node_exporter exports: (method label, operation number in `proc4ops`, i.e.
/// the kernel's `OP_*` number of include/linux/nfs4.h: `OP_ACCESS` = 3 … `OP_RELEASE_LOCKOWNER` = 39).
/// `PutPubFH` (23) and `PutRootFH` (24) are read by procfs but not exported by node_exporter.
const V4_OPS: &[(&str, usize)] = &[
    ("Access", 3),
    ("Close", 4),
    ("Commit", 5),
    ("Create", 6),
    ("DelegPurge", 7),
    ("DelegReturn", 8),
    ("GetAttr", 9),
    ("GetFH", 10),
    ("Link", 11),
    ("Lock", 12),
    ("Lockt", 13),
    ("Locku", 14),
    ("Lookup", 15),
    ("LookupRoot", 16),
    ("Nverify", 17),
    ("Open", 18),
    ("OpenAttr", 19),
    ("OpenConfirm", 20),
    ("OpenDgrd", 21),
    ("PutFH", 22),
    ("Read", 25),
    ("ReadDir", 26),
    ("ReadLink", 27),
    ("Remove", 28),
    ("Rename", 29),
    ("Renew", 30),
    ("RestoreFH", 31),
    ("SaveFH", 32),
    ("SecInfo", 33),
    ("SetAttr", 34),
    ("SetClientID", 35),
    ("SetClientIDConfirm", 36),
    ("Verify", 37),
    ("Write", 38),
    // Only in kernels since 2.6 (a 40th value): 0 when `proc4ops` has 39.
    ("RelLockOwner", 39),
];

/// `/proc/net/rpc/nfsd`, the fields node_exporter exports. Missing lines read as zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRpcStats {
    /// `rc`: hits, misses, nocache.
    pub reply_cache: [u64; 3],
    /// `fh`: the first value, stale file handles (the others are unused by the kernel).
    pub fh_stale: u64,
    /// `io`: bytes read, written.
    pub io: [u64; 2],
    /// `th`: the first value, the number of threads.
    pub threads: u64,
    /// `ra`: cache size and not-found (the histogram between them is not exported).
    pub ra_size: u64,
    pub ra_not_found: u64,
    pub network: Network,
    /// `rpc`: count, bad count, bad format, bad auth, bad client.
    pub rpc: [u64; 5],
    pub v2: [u64; 18],
    pub v3: [u64; 22],
    /// `proc4ops`, the first 40 operations (procfs requires at least 39 values; a 40th reads as 0).
    pub v4_ops: [u64; 40],
    /// `wdeleg_getattr` (kernel 6.x, node_exporter 1.8): 0 when the line is absent.
    pub wdeleg_getattr: u64,
}

impl Default for ServerRpcStats {
    fn default() -> Self {
        ServerRpcStats {
            reply_cache: [0; 3],
            fh_stale: 0,
            io: [0; 2],
            threads: 0,
            ra_size: 0,
            ra_not_found: 0,
            network: Network::default(),
            rpc: [0; 5],
            v2: [0; 18],
            v3: [0; 22],
            v4_ops: [0; 40],
            wdeleg_getattr: 0,
        }
    }
}

/// Parse `/proc/net/rpc/nfsd` as procfs 0.21.1 does: every line needs a label and a value, all values are
/// decimal unsigned integers (`th` only its first two, the rest are floats), and a line label procfs does
/// not know is an error (so the collector fails, as node_exporter's does, on a kernel adding a line).
pub fn parse_server_rpc_stats(text: &str) -> Result<ServerRpcStats, ParseError> {
    let mut s = ServerRpcStats::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 2 {
            return Err(ParseError::new(format!(
                "invalid NFSd metric line {line:?}"
            )));
        }
        let label = parts[0];
        let raw = if label == "th" {
            if parts.len() < 3 {
                return Err(ParseError::new(format!(
                    "invalid NFSd th metric line {line:?}"
                )));
            }
            &parts[1..3]
        } else {
            &parts[1..]
        };
        let v = parse_values(raw, line)?;
        match label {
            "rc" => s.reply_cache = exact("rc", &v)?,
            "fh" => s.fh_stale = exact::<5>("fh", &v)?[0],
            "io" => s.io = exact("io", &v)?,
            "th" => {
                let [threads, _full] = exact("th", &v)?;
                s.threads = threads;
            }
            "ra" => {
                let ra = exact::<12>("ra", &v)?;
                s.ra_size = ra[0];
                s.ra_not_found = ra[11];
            }
            "net" => s.network = parse_network(&v)?,
            "rpc" => s.rpc = exact("rpc", &v)?,
            "proc2" => s.v2 = padded(proc_values(label, &v, 18)?),
            "proc3" => s.v3 = padded(proc_values(label, &v, 22)?),
            "proc4" => {
                let v4 = proc_values(label, &v, 2)?;
                if v4.len() != 2 {
                    return Err(ParseError::new(format!("invalid proc4 line {line:?}")));
                }
            }
            "proc4ops" => s.v4_ops = padded(proc_values(label, &v, 39)?),
            "wdeleg_getattr" => s.wdeleg_getattr = v[0],
            _ => {
                return Err(ParseError::new(format!(
                    "unknown NFSd metric line {label:?}"
                )))
            }
        }
    }
    Ok(s)
}

const REQUESTS_HELP: &str = "Total number NFSd Requests by method and protocol.";

/// The `nfsd` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("rpc/nfsd");
    let text = read_to_string_or_no_data(&path)?;
    let s = parse_server_rpc_stats(&text).map_err(|e| e.at(&path))?;
    let counters: [(&str, &str, u64); 6] = [
        (
            "node_nfsd_reply_cache_hits_total",
            "Total number of NFSd Reply Cache hits (client lost server response).",
            s.reply_cache[0],
        ),
        (
            "node_nfsd_reply_cache_misses_total",
            "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
            s.reply_cache[1],
        ),
        (
            "node_nfsd_reply_cache_nocache_total",
            "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
            s.reply_cache[2],
        ),
        (
            "node_nfsd_file_handles_stale_total",
            "Total number of NFSd stale file handles",
            s.fh_stale,
        ),
        (
            "node_nfsd_disk_bytes_read_total",
            "Total NFSd bytes read.",
            s.io[0],
        ),
        (
            "node_nfsd_disk_bytes_written_total",
            "Total NFSd bytes written.",
            s.io[1],
        ),
    ];
    for (name, help, v) in counters {
        out.counter(name, help, &[], v as f64);
    }
    out.gauge(
        "node_nfsd_server_threads",
        "Total number of NFSd kernel threads that are running.",
        &[],
        s.threads as f64,
    );
    out.gauge(
        "node_nfsd_read_ahead_cache_size_blocks",
        "How large the read ahead cache is in blocks.",
        &[],
        s.ra_size as f64,
    );
    out.counter(
        "node_nfsd_read_ahead_cache_not_found_total",
        "Total number of NFSd read ahead cache not found.",
        &[],
        s.ra_not_found as f64,
    );
    const PACKETS_HELP: &str = "Total NFSd network packets (sent+received) by protocol type.";
    out.counter(
        "node_nfsd_packets_total",
        PACKETS_HELP,
        &[("proto", "udp")],
        s.network.udp_count as f64,
    );
    out.counter(
        "node_nfsd_packets_total",
        PACKETS_HELP,
        &[("proto", "tcp")],
        s.network.tcp_count as f64,
    );
    out.counter(
        "node_nfsd_connections_total",
        "Total number of NFSd TCP connections.",
        &[],
        s.network.tcp_connect as f64,
    );
    const RPC_ERR_HELP: &str = "Total number of NFSd RPC errors by error type.";
    for (kind, v) in [("fmt", s.rpc[2]), ("auth", s.rpc[3]), ("cInt", s.rpc[4])] {
        out.counter(
            "node_nfsd_rpc_errors_total",
            RPC_ERR_HELP,
            &[("error", kind)],
            v as f64,
        );
    }
    out.counter(
        "node_nfsd_server_rpcs_total",
        "Total number of NFSd RPCs.",
        &[],
        s.rpc[0] as f64,
    );
    // v2 and v3 without the Null procedure, as node_exporter lists them.
    for (proto, names, values) in [
        ("2", &V2_PROCS[1..], &s.v2[1..]),
        ("3", &V3_PROCS[1..], &s.v3[1..]),
    ] {
        for (method, v) in names.iter().zip(values) {
            out.counter(
                "node_nfsd_requests_total",
                REQUESTS_HELP,
                &[("method", method), ("proto", proto)],
                *v as f64,
            );
        }
    }
    for (method, op) in V4_OPS {
        out.counter(
            "node_nfsd_requests_total",
            REQUESTS_HELP,
            &[("method", method), ("proto", "4")],
            s.v4_ops[*op] as f64,
        );
    }
    // Since node_exporter 1.8, always (0 on kernels without the line).
    out.counter(
        "node_nfsd_requests_total",
        REQUESTS_HELP,
        &[("method", "WdelegGetattr"), ("proto", "4")],
        s.wdeleg_getattr as f64,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects};

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/net/rpc/nfsd");

    #[test]
    fn parses_fixture() {
        let s = parse_server_rpc_stats(FIXTURE).unwrap();
        assert_eq!(s.reply_cache, [0, 31192, 102]);
        assert_eq!(s.fh_stale, 3);
        assert_eq!(s.io, [1245302, 9812345678]);
        assert_eq!(s.threads, 8);
        assert_eq!((s.ra_size, s.ra_not_found), (32, 7));
        assert_eq!(s.network.tcp_connect, 48);
        assert_eq!(s.rpc[0], 31294);
        assert_eq!(s.v2[4], 4410); // Lookup
        assert_eq!(s.v3[3], 2719); // Lookup
        assert_eq!(s.v4_ops[3], 1098); // ACCESS
        assert_eq!(s.v4_ops[9], 8179); // GETATTR
    }

    #[test]
    fn newer_kernel_without_ra_and_with_new_lines() {
        // proc4ops values 100 + operation number from SETATTR (34) to RELEASE_LOCKOWNER (39).
        let ops: String = (0..40)
            .map(|op| {
                if op >= 34 {
                    format!(" {}", 100 + op)
                } else {
                    " 0".to_string()
                }
            })
            .collect();
        let text = format!("rc 1 2 3\nth 16 0\nwdeleg_getattr 5\nproc4 2 0 9\nproc4ops 40{ops}\n");
        let s = parse_server_rpc_stats(&text).unwrap();
        assert_eq!(s.threads, 16);
        assert_eq!(s.wdeleg_getattr, 5);
        assert_eq!((s.ra_size, s.ra_not_found), (0, 0));
        let mut out = MetricSet::new();
        let path = std::env::temp_dir().join(format!("hostlens-nfsd-{}", std::process::id()));
        std::fs::create_dir_all(path.join("net/rpc")).unwrap();
        std::fs::write(path.join("net/rpc/nfsd"), &text).unwrap();
        let roots = Roots::new(path.clone(), path.clone(), path.clone(), None);
        collect(&roots, &mut out).unwrap();
        std::fs::remove_dir_all(&path).unwrap();
        for (method, v) in [
            ("SetAttr", 134.0),
            ("SetClientID", 135.0),
            ("SetClientIDConfirm", 136.0),
            ("Verify", 137.0),
            ("Write", 138.0),
            ("RelLockOwner", 139.0),
            ("WdelegGetattr", 5.0),
        ] {
            let labels = [("method", method), ("proto", "4")];
            assert_eq!(
                out.value("node_nfsd_requests_total", &labels),
                Some(v),
                "{method}"
            );
        }
        // 39 operations (a 2.6.x kernel): RelLockOwner reads 0.
        let s = parse_server_rpc_stats(&format!("proc4ops 39{}\n", " 1".repeat(39))).unwrap();
        assert_eq!((s.v4_ops[38], s.v4_ops[39]), (1, 0));
        // Strict where procfs is strict, unknown lines and empty lines included.
        assert_rejects(
            parse_server_rpc_stats,
            &[
                "rc 1 2\n",
                "th 8\n",
                "th x 0\n",
                "proc4 3 0 1 2\n",
                "proc4ops 2 0 1\n",
                "ra 1 2 3\n",
                "rc 1 2 3\n\nio 1 2\n",
                "rc 1 2 3\nnewline 1 2\n",
                "rc 1 +2 3\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "nfsd",
            &[
                ("node_nfsd_server_threads", &[], 8.0),
                ("node_nfsd_disk_bytes_written_total", &[], 9812345678.0),
                ("node_nfsd_rpc_errors_total", &[("error", "cInt")], 0.0),
                (
                    "node_nfsd_requests_total",
                    &[("proto", "4"), ("method", "GetAttr")],
                    8179.0,
                ),
                (
                    "node_nfsd_requests_total",
                    &[("proto", "2"), ("method", "Lookup")],
                    4410.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_nfsd_requests_total").unwrap().samples.len(),
            17 + 21 + 36
        );
    }
}
