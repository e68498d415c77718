//! `biolatency`: the histogram ebpf_exporter_bio_latency_seconds{device,operation} from a per-CPU hash keyed
//! by `(dev, op)` whose values hold ebpf_exporter's exp2 buckets 0..=27 (le = 2^i µs), an overflow slot
//! and the sum in ns (`biolatency.bpf.c`, next to this file).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aya::maps::PerCpuHashMap;
use hostlens_collectors::{CollectError, Collector, MetricSet, Roots};

use crate::{map_err, read_optional, uevent_path, EbpfConfig, EbpfError, Loaded};

const HELP: &str = "Block IO latency histogram";

/// exp2 buckets 0..=27 (le = 2^i µs), then the overflow slot (> 2^27 µs): `LATENCY_BUCKETS` in
/// biolatency.bpf.c.
pub const LATENCY_BUCKETS: usize = 28;
/// Words of `struct bio_hist`: the slots, the overflow slot, the sum in ns.
pub const BIO_HIST_WORDS: usize = LATENCY_BUCKETS + 2;

/// The value of one `(dev, op)` entry, CPUs summed: `[slot 0..=27, overflow, sum_ns]`.
pub type Hist = [u64; BIO_HIST_WORDS];

/// major and minor of a `new_encode_dev` value (what the program stores; glibc's `major()`/`minor()`).
pub fn decode_dev(dev: u32) -> (u32, u32) {
    let major = (dev >> 8) & 0xfff;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    (major, minor)
}

/// The name `/proc/partitions` gives `major:minor` (ebpf_exporter's majorminor decoder reads this file).
pub fn partitions_name(text: &str, major: u32, minor: u32) -> Option<String> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            [ma, mi, _blocks, name] if ma.parse() == Ok(major) && mi.parse() == Ok(minor) => {
                Some((*name).to_string())
            }
            _ => None,
        }
    })
}

/// `DEVNAME=` of a `<sysfs>/dev/block/M:m/uevent` file.
pub fn uevent_devname(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The `device` label: the disk's name, else ebpf_exporter's `unknown:MAJ:MIN`.
pub fn device_label(roots: &Roots, dev: u32) -> (String, bool) {
    let (major, minor) = decode_dev(dev);
    if let Some(n) = read_optional(&roots.proc("partitions"))
        .and_then(|t| partitions_name(&t, major, minor))
        .or_else(|| {
            read_optional(&uevent_path(roots, major, minor)).and_then(|t| uevent_devname(&t))
        })
    {
        return (n, true);
    }
    (format!("unknown:{major}:{minor}"), false)
}

/// The `operation` label of a `REQ_OP_*` value, as ebpf_exporter's biolatency example maps them
/// (include/linux/blk_types.h); others are `unknown:N`, as its static_map decoder prints them.
pub fn operation_label(op: u32) -> Cow<'static, str> {
    match op {
        0 => "read".into(),
        1 => "write".into(),
        2 => "flush".into(),
        3 => "discard".into(),
        5 => "secure_erase".into(),
        9 => "write_zeroes".into(),
        34 => "drv_in".into(),
        35 => "drv_out".into(),
        n => format!("unknown:{n}").into(),
    }
}

/// The `le` of exp2 bucket `i`: 2^i µs in seconds, the same float ebpf_exporter computes
/// (`math.Exp2(i) * 0.000001`).
pub fn bucket_le(i: usize) -> f64 {
    (i as f64).exp2() * 0.000001
}

/// Per-bucket counts, sum (s) and count of one entry. The overflow slot counts only in `count` (+Inf).
pub fn histogram(h: &Hist) -> (Vec<(f64, u64)>, f64, u64) {
    let buckets: Vec<(f64, u64)> = (0..LATENCY_BUCKETS).map(|i| (bucket_le(i), h[i])).collect();
    let count = h[..=LATENCY_BUCKETS]
        .iter()
        .fold(0u64, |a, v| a.wrapping_add(*v));
    let sum = h[LATENCY_BUCKETS + 1] as f64 / 1e9;
    (buckets, sum, count)
}

/// Sum the per-CPU values of one entry.
pub fn sum_cpus<'a>(values: impl IntoIterator<Item = &'a Hist>) -> Hist {
    let mut total = [0u64; BIO_HIST_WORDS];
    for v in values {
        for (t, x) in total.iter_mut().zip(v.iter()) {
            *t = t.wrapping_add(*x);
        }
    }
    total
}

/// The loaded object; its map is `bio_latency_seconds`.
pub struct Biolatency {
    loaded: Mutex<Loaded>,
    roots: Arc<Roots>,
    /// Names found so far (not the `unknown:` fallbacks: a disk may appear later).
    names: Mutex<HashMap<u32, String>>,
}

/// The collector of a loaded biolatency object.
pub fn reader(loaded: Loaded, cfg: &EbpfConfig) -> Result<Box<dyn Collector>, EbpfError> {
    loaded.expect_maps("biolatency", 1)?;
    Ok(Box::new(Biolatency {
        loaded: Mutex::new(loaded),
        roots: cfg.roots.clone(),
        names: Mutex::new(HashMap::new()),
    }))
}

impl Biolatency {
    fn device(&self, dev: u32) -> String {
        if let Ok(names) = self.names.lock() {
            if let Some(n) = names.get(&dev) {
                return n.clone();
            }
        }
        let (name, found) = device_label(&self.roots, dev);
        if found {
            if let Ok(mut names) = self.names.lock() {
                names.insert(dev, name.clone());
            }
        }
        name
    }
}

impl Collector for Biolatency {
    fn name(&self) -> &'static str {
        "biolatency"
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut entries: Vec<((u32, u32), Hist)> = Vec::new();
        let loaded = self.loaded.lock().map_err(|_| {
            CollectError::Other("biolatency: a previous collection panicked".into())
        })?;
        let m = &loaded.maps[0];
        {
            let hash: PerCpuHashMap<_, [u32; 2], Hist> =
                PerCpuHashMap::try_from(&m.map).map_err(map_err(m.name))?;
            for item in hash.iter() {
                let (key, per_cpu) = item.map_err(map_err(m.name))?;
                entries.push(((key[0], key[1]), sum_cpus(per_cpu.iter())));
            }
        }
        entries.sort_by_key(|(k, _)| *k);
        for ((dev, op), h) in entries {
            let (buckets, sum, count) = histogram(&h);
            out.histogram(
                &m.metric,
                HELP,
                vec![
                    ("device".to_string(), self.device(dev)),
                    ("operation".to_string(), operation_label(op).into_owned()),
                ],
                buckets,
                sum,
                count,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        // new_encode_dev(MKDEV(254, 0)) and MKDEV(259, 300) (minor > 255)
        assert_eq!(decode_dev(254 << 8), (254, 0));
        let enc = (300 & 0xff) | (259 << 8) | ((300 & !0xff) << 12);
        assert_eq!(decode_dev(enc), (259, 300));
        let parts = "major minor  #blocks  name\n\n 254        0  268435456 vda\n 254        1  1024 vda1\n";
        assert_eq!(partitions_name(parts, 254, 0).as_deref(), Some("vda"));
        assert_eq!(partitions_name(parts, 254, 1).as_deref(), Some("vda1"));
        assert_eq!(partitions_name(parts, 8, 0), None);
        assert_eq!(
            uevent_devname("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n").as_deref(),
            Some("vda")
        );
        let nowhere = Roots::new("/nonexistent", "/nonexistent", "/", None);
        assert_eq!(
            device_label(&nowhere, 8 << 8),
            ("unknown:8:0".to_string(), false)
        );
    }

    #[test]
    fn operations() {
        assert_eq!(operation_label(0), "read");
        assert_eq!(operation_label(1), "write");
        assert_eq!(operation_label(2), "flush");
        assert_eq!(operation_label(3), "discard");
        assert_eq!(operation_label(9), "write_zeroes");
        assert_eq!(operation_label(7), "unknown:7");
    }

    #[test]
    fn buckets_are_ebpf_exporters() {
        assert_eq!(bucket_le(0), 1e-6);
        assert_eq!(bucket_le(10), 0.001024);
        assert_eq!(bucket_le(26), 67.108864);
        assert_eq!(bucket_le(27), 134.217728);
    }

    #[test]
    fn histogram_encoding() {
        let mut h = [0u64; BIO_HIST_WORDS];
        h[0] = 1; // <= 1 µs
        h[3] = 2; // <= 8 µs
        h[27] = 1; // <= 134 s
        h[28] = 1; // overflow: only +Inf
        h[29] = 2_500_000_000; // 2.5 s
        let (buckets, sum, count) = histogram(&h);
        assert_eq!(buckets.len(), 28);
        assert_eq!(count, 5);
        assert_eq!(sum, 2.5);
        let mut out = MetricSet::new();
        out.histogram(
            "ebpf_exporter_bio_latency_seconds",
            HELP,
            vec![
                ("device".into(), "vda".into()),
                ("operation".into(), "write".into()),
            ],
            buckets,
            sum,
            count,
        );
        let text = hostlens_exposition::encode(
            &hostlens_exposition::gather(vec![("t".into(), out)]).families,
        );
        let b = |le: &str| {
            format!("ebpf_exporter_bio_latency_seconds_bucket{{device=\"vda\",operation=\"write\",le=\"{le}\"}}")
        };
        assert!(text.contains(&format!("{} 1\n", b("1e-06"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", b("4e-06"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", b("8e-06"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", b("0.000512"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", b("67.108864"))), "{text}");
        assert!(text.contains(&format!("{} 4\n", b("134.217728"))), "{text}");
        assert!(text.contains(&format!("{} 5\n", b("+Inf"))), "{text}");
        assert!(text.contains(
            "ebpf_exporter_bio_latency_seconds_sum{device=\"vda\",operation=\"write\"} 2.5\n"
        ));
        assert!(text.contains(
            "ebpf_exporter_bio_latency_seconds_count{device=\"vda\",operation=\"write\"} 5\n"
        ));
    }
}
