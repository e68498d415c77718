//! Encoding in the classic Prometheus text format (`text/plain; version=0.0.4`) with prometheus-client's
//! `prometheus_text` encoder: the format node_exporter serves (`le="1"`, not OpenMetrics' `le="1.0"`).

use prometheus_client::collector::Collector as PcCollector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::metrics::{Family, Kind, Value};

/// The `Content-Type` of what [`encode_text`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Families handed to prometheus-client as one collector.
#[derive(Debug)]
struct Families(Vec<Family>);

impl PcCollector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for fam in &self.0 {
            // prometheus-client appends `_total` to counters itself: hand it the base name. A counter whose
            // name does not end in `_total` cannot be written as a counter by this encoder; it goes out
            // untyped rather than renamed.
            let (name, ty) = match fam.kind {
                Kind::Counter => match fam.name.strip_suffix("_total") {
                    Some(base) => (base, MetricType::Counter),
                    None => (fam.name.as_str(), MetricType::Unknown),
                },
                Kind::Gauge => (fam.name.as_str(), MetricType::Gauge),
                Kind::Untyped => (fam.name.as_str(), MetricType::Unknown),
                Kind::Histogram => (fam.name.as_str(), MetricType::Histogram),
            };
            let mut metric = encoder.encode_descriptor(name, &fam.help, None, ty)?;
            for s in &fam.samples {
                let labels: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let mut m = metric.encode_family(&labels)?;
                match (&s.value, ty) {
                    // Whole numbers are written as integers (`1`, not `1.0`), as the Go exporters do.
                    (Value::Scalar(v), MetricType::Counter) => match as_integer(*v) {
                        Some(i) if i >= 0 => {
                            m.encode_counter::<NoLabelSet, _, f64>(&i.unsigned_abs(), None)?
                        }
                        _ => m.encode_counter::<NoLabelSet, _, f64>(v, None)?,
                    },
                    (Value::Scalar(v), _) => match as_integer(*v) {
                        Some(i) => m.encode_gauge(&i)?,
                        None => m.encode_gauge(v)?,
                    },
                    (
                        Value::Histogram {
                            buckets,
                            sum,
                            count,
                        },
                        _,
                    ) => m.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?,
                }
            }
        }
        Ok(())
    }
}

/// `v` as an integer when it is one and converts exactly (|v| < 2^53).
fn as_integer(v: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (v.fract() == 0.0 && v.abs() < EXACT).then_some(v as i64)
}

/// Encode `families` in the classic text format.
pub fn encode_text(families: Vec<Family>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families)));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetricSet;

    #[test]
    fn writes_classic_text_with_upstream_names() {
        let mut m = MetricSet::new();
        m.counter(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            &[("cpu", "0"), ("mode", "idle")],
            12.5,
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
        let text = encode_text(m.into_families()).unwrap();
        assert!(text.contains("# TYPE node_cpu_seconds_total counter\n"));
        assert!(text.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12.5\n"));
        assert!(text.contains("# TYPE node_load1 gauge\nnode_load1 0.25\n"));
        assert!(text.contains("# TYPE node_vmstat_pgfault untyped\nnode_vmstat_pgfault 7\n"));
        assert!(text
            .contains("ebpf_exporter_bio_latency_seconds_bucket{device=\"vda\",le=\"2e-06\"} 3\n"));
        assert!(text
            .contains("ebpf_exporter_bio_latency_seconds_bucket{device=\"vda\",le=\"+Inf\"} 4\n"));
        assert!(text.contains("ebpf_exporter_bio_latency_seconds_count{device=\"vda\"} 4\n"));
    }

    #[test]
    fn escapes_label_values() {
        let mut m = MetricSet::new();
        m.gauge("x", "X.", &[("v", "a\"b\\c\nd")], 1.0);
        let text = encode_text(m.into_families()).unwrap();
        assert!(text.contains(r#"x{v="a\"b\\c\nd"} 1"#), "{text}");
    }
}
