//! `xfrm`: node_xfrm_*_packets_total from `/proc/net/xfrm_stat` (kernels with
//! `CONFIG_XFRM_STATISTICS`), as node_exporter 1.12.1 (prometheus/procfs 0.21.1) reads it.
//!
//! Every line is `name value`; a line of another shape is an error, a counter procfs does not know (the
//! `*DirError` ones of newer kernels) is skipped, and one the file lacks is exported as 0. A missing file
//! is an error, as in node_exporter. The file is the one of [`Roots::proc_net`] (`--path.netns-pid`).

use crate::error::ParseError;
use crate::read::{parse_i64, read_to_string};
use crate::{CollectError, MetricSet, Roots};

/// (kernel counter, metric name without `node_xfrm_`, help), in node_exporter's order.
#[rustfmt::skip]
pub const COUNTERS: [(&str, &str, &str); 28] = [
    ("XfrmInError", "in_error_packets_total", "All errors not matched by other"),
    ("XfrmInBufferError", "in_buffer_error_packets_total", "No buffer is left"),
    ("XfrmInHdrError", "in_hdr_error_packets_total", "Header error"),
    ("XfrmInNoStates", "in_no_states_packets_total", "No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong"),
    ("XfrmInStateProtoError", "in_state_proto_error_packets_total", "Transformation protocol specific error e.g. SA key is wrong"),
    ("XfrmInStateModeError", "in_state_mode_error_packets_total", "Transformation mode specific error"),
    ("XfrmInStateSeqError", "in_state_seq_error_packets_total", "Sequence error i.e. Sequence number is out of window"),
    ("XfrmInStateExpired", "in_state_expired_packets_total", "State is expired"),
    ("XfrmInStateMismatch", "in_state_mismatch_packets_total", "State has mismatch option e.g. UDP encapsulation type is mismatch"),
    ("XfrmInStateInvalid", "in_state_invalid_packets_total", "State is invalid"),
    ("XfrmInTmplMismatch", "in_tmpl_mismatch_packets_total", "No matching template for states e.g. Inbound SAs are correct but SP rule is wrong"),
    ("XfrmInNoPols", "in_no_pols_packets_total", "No policy is found for states e.g. Inbound SAs are correct but no SP is found"),
    ("XfrmInPolBlock", "in_pol_block_packets_total", "Policy discards"),
    ("XfrmInPolError", "in_pol_error_packets_total", "Policy error"),
    ("XfrmOutError", "out_error_packets_total", "All errors which is not matched others"),
    ("XfrmOutBundleGenError", "out_bundle_gen_error_packets_total", "Bundle generation error"),
    ("XfrmOutBundleCheckError", "out_bundle_check_error_packets_total", "Bundle check error"),
    ("XfrmOutNoStates", "out_no_states_packets_total", "No state is found"),
    ("XfrmOutStateProtoError", "out_state_proto_error_packets_total", "Transformation protocol specific error"),
    ("XfrmOutStateModeError", "out_state_mode_error_packets_total", "Transformation mode specific error"),
    ("XfrmOutStateSeqError", "out_state_seq_error_packets_total", "Sequence error i.e. Sequence number overflow"),
    ("XfrmOutStateExpired", "out_state_expired_packets_total", "State is expired"),
    ("XfrmOutPolBlock", "out_pol_block_packets_total", "Policy discards"),
    ("XfrmOutPolDead", "out_pol_dead_packets_total", "Policy is dead"),
    ("XfrmOutPolError", "out_pol_error_packets_total", "Policy error"),
    ("XfrmFwdHdrError", "fwd_hdr_error_packets_total", "Forward routing of a packet is not allowed"),
    ("XfrmOutStateInvalid", "out_state_invalid_packets_total", "State is invalid, perhaps expired"),
    ("XfrmAcquireError", "acquire_error_packets_total", "State hasn\u{2019}t been fully acquired before use"),
];

/// Parse `/proc/net/xfrm_stat`: the value of each of [`COUNTERS`], in its order (0 when absent).
pub fn parse_xfrm_stat(text: &str) -> Result<[i64; 28], ParseError> {
    let mut out = [0i64; 28];
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, value] = fields[..] else {
            return Err(ParseError::new(format!("unexpected line {line:?}")));
        };
        let v = parse_i64(value).map_err(|e| ParseError::new(format!("{name}: {e}")))?;
        if let Some(i) = COUNTERS.iter().position(|(k, _, _)| *k == name) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// The `xfrm` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let path = roots.proc_net("xfrm_stat");
    let values = parse_xfrm_stat(&read_to_string(&path)?).map_err(|e| e.at(&path))?;
    for ((_, name, help), v) in COUNTERS.iter().zip(values) {
        out.counter(&format!("node_xfrm_{name}"), help, &[], v as f64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{
        assert_fixture, assert_rejects, collect_with, fixture_config_with,
    };

    #[test]
    fn parses_fixture() {
        let v = parse_xfrm_stat(include_str!("../../tests/fixtures/proc/net/xfrm_stat")).unwrap();
        assert_eq!(v[0], 0);
        assert_eq!(v[1], 22);
        assert_eq!(v[27], 308);
    }

    #[test]
    fn missing_and_unknown_counters() {
        let v = parse_xfrm_stat("XfrmOutPolDead -3\nXfrmSomethingNew 7\n").unwrap();
        assert_eq!(v[23], -3);
        assert_eq!(v.iter().filter(|x| **x != 0).count(), 1);
        assert_rejects(
            parse_xfrm_stat,
            &[
                "XfrmInError\n",
                "XfrmInError 1 2\n",
                "XfrmInError 1\n\n",
                "XfrmInError x\n",
            ],
        );
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = assert_fixture(
            "xfrm",
            &[
                ("node_xfrm_acquire_error_packets_total", &[], 308.0),
                ("node_xfrm_in_state_mismatch_packets_total", &[], 99.0),
                ("node_xfrm_fwd_hdr_error_packets_total", &[], 0.0),
            ],
        );
        assert_eq!(out.families().len(), 28);
        assert_eq!(
            out.get("node_xfrm_acquire_error_packets_total")
                .unwrap()
                .help,
            "State hasn’t been fully acquired before use"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = collect_with("xfrm", &fixture_config_with("nonexistent", "sys")).unwrap_err();
        assert!(err.is_no_data(), "{err}");
    }
}
