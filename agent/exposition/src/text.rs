//! The classic Prometheus text format (`text/plain; version=0.0.4`), written as client_golang's
//! `expfmt.MetricFamilyToText` writes it (`expfmt/text_create.go`): per family `# HELP` (backslash and
//! newline escaped) and `# TYPE`, then its samples; label values with backslash, double quote and newline
//! escaped; values as Go formats floats ([`crate::float`]); a histogram's cumulative `_bucket` series with
//! `le` last, a `+Inf` bucket equal to the count unless the histogram has one, then `_sum` and `_count`; a
//! summary's `quantile` series, then `_sum` and `_count`. Families are written in the order given: hand it
//! [`crate::gather`]'s output for client_golang's order.

use crate::float::push_sample_value;
use crate::model::{Family, Value};

/// The `Content-Type` of what [`encode`] writes, as client_golang's `expfmt.FmtText` names it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn push_escaped(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// One sample line: `name[suffix]{labels[,extra="v"]} value`.
fn push_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, f64)>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        out.push('{');
        let mut first = true;
        for (k, v) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            push_escaped(out, v, true);
            out.push('"');
        }
        if let Some((k, v)) = extra {
            if !first {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            push_sample_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    push_sample_value(out, value);
    out.push('\n');
}

/// Append one family in the text format.
pub fn encode_family(out: &mut String, fam: &Family) {
    if fam.samples.is_empty() {
        return;
    }
    out.push_str("# HELP ");
    out.push_str(&fam.name);
    out.push(' ');
    push_escaped(out, &fam.help, false);
    out.push_str("\n# TYPE ");
    out.push_str(&fam.name);
    out.push(' ');
    out.push_str(fam.kind.as_str());
    out.push('\n');
    let name = fam.name.as_str();
    for s in &fam.samples {
        match &s.value {
            Value::Scalar(v) => push_sample(out, name, "", &s.labels, None, *v),
            Value::Histogram {
                buckets,
                sum,
                count,
            } => {
                let mut inf_seen = false;
                for (le, c) in buckets {
                    inf_seen |= *le == f64::INFINITY;
                    push_sample(
                        out,
                        name,
                        "_bucket",
                        &s.labels,
                        Some(("le", *le)),
                        *c as f64,
                    );
                }
                if !inf_seen {
                    let inf = Some(("le", f64::INFINITY));
                    push_sample(out, name, "_bucket", &s.labels, inf, *count as f64);
                }
                push_sample(out, name, "_sum", &s.labels, None, *sum);
                push_sample(out, name, "_count", &s.labels, None, *count as f64);
            }
            Value::Summary {
                quantiles,
                sum,
                count,
            } => {
                for (q, v) in quantiles {
                    push_sample(out, name, "", &s.labels, Some(("quantile", *q)), *v);
                }
                push_sample(out, name, "_sum", &s.labels, None, *sum);
                push_sample(out, name, "_count", &s.labels, None, *count as f64);
            }
        }
    }
}

/// Encode `families`, in the order given, in the classic text format.
pub fn encode(families: &[Family]) -> String {
    let samples: usize = families.iter().map(|f| f.samples.len()).sum();
    let mut out = String::with_capacity(64 * samples + 128 * families.len());
    for f in families {
        encode_family(&mut out, f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{gather, Kind, MetricSet};

    fn text(m: MetricSet) -> String {
        encode(&gather::gather(vec![("t".into(), m)]).families)
    }

    #[test]
    fn writes_all_five_types_as_client_golang() {
        let mut m = MetricSet::new();
        m.counter(
            "container_memory_failcnt",
            "Number of memory usage hits limits",
            &[("id", "/")],
            0.0,
        );
        m.gauge("node_load1", "1m load average.", &[], 0.25);
        m.untyped(
            "node_vmstat_pgfault",
            "/proc/vmstat information field pgfault.",
            &[],
            7.0,
        );
        m.histogram(
            "ebpf_exporter_bio_latency_seconds",
            "Block IO latency.",
            vec![("device".into(), "vda".into())],
            vec![(1e-6, 1), (2e-6, 2)],
            0.5,
            4,
        );
        let quantiles = vec![(0.5, 0.01), (0.99, 1.5e-7)];
        let s = Value::Summary {
            quantiles,
            sum: 2e9,
            count: 3,
        };
        m.push(
            "rpc_seconds",
            "RPC.\nSecond line \\ backslash.",
            Kind::Summary,
            vec![],
            s,
        );
        let want = "\
# HELP container_memory_failcnt Number of memory usage hits limits
# TYPE container_memory_failcnt counter
container_memory_failcnt{id=\"/\"} 0
# HELP ebpf_exporter_bio_latency_seconds Block IO latency.
# TYPE ebpf_exporter_bio_latency_seconds histogram
ebpf_exporter_bio_latency_seconds_bucket{device=\"vda\",le=\"1e-06\"} 1
ebpf_exporter_bio_latency_seconds_bucket{device=\"vda\",le=\"2e-06\"} 3
ebpf_exporter_bio_latency_seconds_bucket{device=\"vda\",le=\"+Inf\"} 4
ebpf_exporter_bio_latency_seconds_sum{device=\"vda\"} 0.5
ebpf_exporter_bio_latency_seconds_count{device=\"vda\"} 4
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.25
# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.
# TYPE node_vmstat_pgfault untyped
node_vmstat_pgfault 7
# HELP rpc_seconds RPC.\\nSecond line \\\\ backslash.
# TYPE rpc_seconds summary
rpc_seconds{quantile=\"0.5\"} 0.01
rpc_seconds{quantile=\"0.99\"} 1.5e-07
rpc_seconds_sum 2e+09
rpc_seconds_count 3
";
        assert_eq!(text(m), want);
    }

    #[test]
    fn escapes_label_values_and_keeps_a_given_inf_bucket() {
        let mut m = MetricSet::new();
        m.gauge("x", "X.", &[("v", "a\"b\\c\nd")], 1.0);
        let buckets = vec![(1.0, 1), (f64::INFINITY, 5)];
        let h = Value::Histogram {
            buckets,
            sum: 1.0,
            count: 6,
        };
        m.push("h", "H.", Kind::Histogram, vec![], h);
        let t = text(m);
        assert!(t.contains("x{v=\"a\\\"b\\\\c\\nd\"} 1\n"), "{t}");
        assert!(
            t.contains("h_bucket{le=\"+Inf\"} 5\nh_sum 1\nh_count 6\n"),
            "{t}"
        );
        assert_eq!(t.matches("le=\"+Inf\"").count(), 1);
    }
}
