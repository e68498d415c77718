//! Pure parsers of the cgroup file formats shared by v1 and v2 (text in, values out), and of the two
//! non-cgroup files the container family needs: `/proc/<pid>/cgroup` and a block device's `uevent`.
//!
//! Formats as documented in the kernel's `Documentation/admin-guide/cgroup-v2.rst` ("Interface Files":
//! single values, flat keyed, nested keyed) and `Documentation/admin-guide/cgroup-v1/{blkio-controller,
//! memory,cpuacct}.rst`.

use crate::error::ParseError;

/// A single-value file (`memory.current`, `cpuacct.usage`, `cpu.shares`): one unsigned integer (the read
/// layer's [`crate::read::parse_u64`]), or `max` (returned as `u64::MAX`, as runc's `GetCgroupParamUint`
/// does).
pub fn parse_u64(text: &str) -> Result<u64, ParseError> {
    if text.trim() == "max" {
        return Ok(u64::MAX);
    }
    crate::read::parse_u64(text)
}

/// Prefix a parse error with the file it came from (`memory.stat: …`).
pub fn in_file<T>(file: &str, r: Result<T, ParseError>) -> Result<T, ParseError> {
    r.map_err(|e| ParseError::new(format!("{file}: {e}")))
}

/// An optional single-value file: its value, or 0 when the file is absent (`None`).
pub fn opt_u64(file: &str, text: Option<&str>) -> Result<u64, ParseError> {
    text.map(|t| in_file(file, parse_u64(t)))
        .transpose()
        .map(|v| v.unwrap_or(0))
}

/// A single signed value (`cpu.cfs_quota_us`, where `-1` means no quota).
pub fn parse_i64(text: &str) -> Result<i64, ParseError> {
    let t = text.trim();
    t.parse()
        .map_err(|_| ParseError::new(format!("not an integer: {t:?}")))
}

/// A flat keyed file (`memory.stat`, `cpu.stat`, `memory.events`, `memory.oom_control`, `cpuacct.stat`):
/// `key value` per line, in file order. Lines with another shape are an error.
pub fn parse_flat_keyed(text: &str) -> Result<Vec<(String, u64)>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(k), Some(v), None) = (f.next(), f.next(), f.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(ParseError::new(format!("not a `key value` line: {line:?}")));
        };
        let v = parse_u64(v).map_err(|e| ParseError::new(format!("{k}: {e}")))?;
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// The value of `key` in parsed flat keyed pairs.
pub fn keyed(pairs: &[(String, u64)], key: &str) -> Option<u64> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// One line of a v1 blkio statistics file: `major:minor op value` (`op` is `Read`, `Write`, `Sync`,
/// `Async`, `Discard` or `Total`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Parse a v1 `blkio.*io_service_bytes*` / `blkio.*io_serviced*` file. The final `Total <n>` line is
/// skipped, as runc does (`libcontainer/cgroups/fs/blkio.go: getBlkioStat`); a file with only that line
/// gives no entries.
pub fn parse_blkio(text: &str) -> Result<Vec<BlkioEntry>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => continue,
            ["Total", _] => continue,
            [dev, op, value] => {
                let (major, minor) = parse_dev(dev)?;
                let value = value
                    .parse()
                    .map_err(|_| ParseError::new(format!("bad value in {line:?}")))?;
                out.push(BlkioEntry {
                    major,
                    minor,
                    op: (*op).to_string(),
                    value,
                });
            }
            _ => return Err(ParseError::new(format!("malformed blkio line {line:?}"))),
        }
    }
    Ok(out)
}

/// `major:minor` → numbers.
pub fn parse_dev(dev: &str) -> Result<(u64, u64), ParseError> {
    let bad = || ParseError::new(format!("not a major:minor device number: {dev:?}"));
    let (ma, mi) = dev.split_once(':').ok_or_else(bad)?;
    Ok((
        ma.parse().map_err(|_| bad())?,
        mi.parse().map_err(|_| bad())?,
    ))
}

/// Block I/O of one device, as cAdvisor keeps it: bytes and operations, read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceIo {
    pub major: u64,
    pub minor: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub reads: u64,
    pub writes: u64,
}

fn device_slot(out: &mut Vec<DeviceIo>, major: u64, minor: u64) -> &mut DeviceIo {
    let i = match out
        .iter()
        .position(|d| d.major == major && d.minor == minor)
    {
        Some(i) => i,
        None => {
            out.push(DeviceIo {
                major,
                minor,
                ..DeviceIo::default()
            });
            out.len() - 1
        }
    };
    &mut out[i]
}

/// Combine a v1 bytes file and an operations file into per-device totals (only the `Read` and `Write`
/// rows matter to cAdvisor's `container_fs_*`), sorted by device number.
pub fn blkio_devices(bytes: &[BlkioEntry], ops: &[BlkioEntry]) -> Vec<DeviceIo> {
    let mut out = Vec::new();
    for e in bytes {
        let d = device_slot(&mut out, e.major, e.minor);
        match e.op.as_str() {
            "Read" => d.read_bytes = e.value,
            "Write" => d.write_bytes = e.value,
            _ => {}
        }
    }
    for e in ops {
        let d = device_slot(&mut out, e.major, e.minor);
        match e.op.as_str() {
            "Read" => d.reads = e.value,
            "Write" => d.writes = e.value,
            _ => {}
        }
    }
    out.sort_by_key(|d| (d.major, d.minor));
    out
}

/// Parse v2 `io.stat` (nested keyed): `8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0
/// dios=0` per device. Unknown keys are ignored, as runc does (`fs2/io.go: statIo`). Sorted by device.
pub fn parse_io_stat(text: &str) -> Result<Vec<DeviceIo>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(dev) = f.next() else { continue };
        let (major, minor) = parse_dev(dev)?;
        let d = device_slot(&mut out, major, minor);
        for item in f {
            let Some((k, v)) = item.split_once('=') else {
                continue;
            };
            let slot = match k {
                "rbytes" => &mut d.read_bytes,
                "wbytes" => &mut d.write_bytes,
                "rios" => &mut d.reads,
                "wios" => &mut d.writes,
                _ => continue,
            };
            *slot = v
                .parse()
                .map_err(|_| ParseError::new(format!("{dev}: bad value in {item:?}")))?;
        }
    }
    out.sort_by_key(|d| (d.major, d.minor));
    Ok(out)
}

/// v2 `cpu.max`: `$MAX $PERIOD` with `$MAX` = `max` for no limit → (quota in µs or `None`, period in µs).
pub fn parse_cpu_max(text: &str) -> Result<(Option<u64>, u64), ParseError> {
    let mut f = text.split_whitespace();
    let (Some(max), Some(period), None) = (f.next(), f.next(), f.next()) else {
        return Err(ParseError::new(format!(
            "cpu.max: expected `$MAX $PERIOD`, got {text:?}"
        )));
    };
    let quota = if max == "max" {
        None
    } else {
        Some(parse_u64(max)?)
    };
    Ok((quota, parse_u64(period)?))
}

/// cgroup v2 `cpu.weight` (1..=10000) → the v1 `cpu.shares` value cAdvisor reports as
/// `container_spec_cpu_shares`: `2 + (weight - 1) * 262142 / 9999` (cadvisor
/// `lib/container/common/helpers.go: convertCPUWeightToCPULimit`); out of range → `None`.
pub fn cpu_weight_to_shares(weight: u64) -> Option<u64> {
    (1..=10000)
        .contains(&weight)
        .then(|| 2 + ((weight - 1) * 262_142) / 9999)
}

/// v1 `cpuacct.stat` (`user <ticks>` / `system <ticks>`, in USER_HZ) → (user ns, system ns), with runc's
/// integer arithmetic `ticks * 1e9 / USER_HZ` (`fs/cpuacct.go: getCpuUsageBreakdown`).
pub fn parse_cpuacct_stat(text: &str, user_hz: u64) -> Result<(u64, u64), ParseError> {
    let pairs = parse_flat_keyed(text)?;
    let get = |k: &str| {
        keyed(&pairs, k).ok_or_else(|| ParseError::new(format!("cpuacct.stat: no `{k}` line")))
    };
    let hz = u128::from(user_hz.max(1));
    let ns = |ticks: u64| u64::try_from(u128::from(ticks) * 1_000_000_000 / hz).unwrap_or(u64::MAX);
    Ok((ns(get("user")?), ns(get("system")?)))
}

/// One line of `/proc/<pid>/cgroup`: `hierarchy-ID:controller-list:cgroup-path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroup {
    pub hierarchy: u32,
    /// Empty for the v2 line (`0::/path`); `["cpu", "cpuacct"]`, `["name=systemd"]` for v1.
    pub controllers: Vec<String>,
    pub path: String,
}

/// Parse `/proc/<pid>/cgroup`. The path may itself contain `:`, so only the first two colons split.
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroup>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ParseError::new(format!("malformed cgroup line {line:?}")));
        };
        let hierarchy = id
            .parse()
            .map_err(|_| ParseError::new(format!("bad hierarchy id in {line:?}")))?;
        let controllers = ctrls
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        out.push(ProcCgroup {
            hierarchy,
            controllers,
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// `DEVNAME=vda` in a `/sys/dev/block/<maj>:<min>/uevent` → `/dev/vda`.
pub fn parse_uevent_devname(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| format!("/dev/{n}"))
}

/// The soft limit of `Max open files` in `/proc/<pid>/limits` (`unlimited` → -1), as cAdvisor's
/// `processLimitsFile` reads it; `None` when the line is missing or malformed (cAdvisor skips it then).
pub fn parse_max_open_files_soft(limits: &str) -> Option<i64> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let [soft, hard, _units] = f.as_slice() else {
        return None;
    };
    let num = |v: &str| -> Option<i64> {
        match v.parse() {
            Ok(n) => Some(n),
            Err(_) if v.eq_ignore_ascii_case("unlimited") => Some(-1),
            Err(_) => None,
        }
    };
    num(hard)?;
    num(soft)
}

/// `cpuacct.usage_percpu`: one nanosecond count per possible CPU, space separated, on one line.
pub fn parse_percpu(text: &str) -> Result<Vec<u64>, ParseError> {
    text.split_whitespace()
        .map(|v| {
            v.parse()
                .map_err(|_| ParseError::new(format!("not an unsigned integer: {v:?}")))
        })
        .collect()
}

/// A pressure file (`cpu.pressure`, `memory.pressure`, `io.pressure`): the `total=` µs of its `some` and
/// `full` lines (`some avg10=0.00 avg60=0.00 avg300=0.00 total=1234`); a missing line gives 0 (the
/// `full` line of `cpu.pressure` before kernel 5.13).
pub fn parse_pressure(text: &str) -> Result<super::Psi, ParseError> {
    let mut psi = super::Psi::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(kind) = f.next() else { continue };
        let slot = match kind {
            "some" => &mut psi.some_us,
            "full" => &mut psi.full_us,
            _ => return Err(ParseError::new(format!("not a pressure line: {line:?}"))),
        };
        let total = f
            .find_map(|kv| kv.strip_prefix("total="))
            .ok_or_else(|| ParseError::new(format!("no total= in {line:?}")))?;
        *slot = total
            .parse()
            .map_err(|_| ParseError::new(format!("total={total:?} is not an integer")))?;
    }
    Ok(psi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values_and_max() {
        assert_eq!(parse_u64("268435456\n"), Ok(268_435_456));
        assert_eq!(parse_u64("max\n"), Ok(u64::MAX));
        assert!(parse_u64("-1").is_err());
        assert_eq!(parse_i64("-1\n"), Ok(-1));
        assert_eq!(parse_i64("50000\n"), Ok(50000));
    }

    #[test]
    fn flat_keyed_memory_events() {
        // cgroup-v2.rst, memory.events
        let p = parse_flat_keyed("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n")
            .unwrap();
        assert_eq!(keyed(&p, "max"), Some(12));
        assert_eq!(keyed(&p, "oom_kill"), Some(1));
        assert_eq!(keyed(&p, "nope"), None);
        assert!(parse_flat_keyed("cache\n").is_err());
        assert!(parse_flat_keyed("cache x\n").is_err());
    }

    #[test]
    fn blkio_skips_total_and_reads_ops() {
        // blkio-controller.rst: "major:minor operation value", then "Total".
        let text = "8:0 Read 1310720\n8:0 Write 4096\n8:0 Sync 1314816\n8:0 Async 0\n\
                    8:0 Discard 0\n8:0 Total 1314816\n253:0 Read 20\n253:0 Write 30\nTotal 1314866\n";
        let e = parse_blkio(text).unwrap();
        assert_eq!(e.len(), 8);
        assert_eq!(
            e[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 1_310_720
            }
        );
        assert!(parse_blkio("Total 0\n").unwrap().is_empty());
        assert!(parse_blkio("8:0 Read\n").is_err());
        let ops = parse_blkio("8:0 Read 40\n8:0 Write 1\nTotal 41\n").unwrap();
        let d = blkio_devices(&e, &ops);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            DeviceIo {
                major: 8,
                minor: 0,
                read_bytes: 1_310_720,
                write_bytes: 4096,
                reads: 40,
                writes: 1
            }
        );
        assert_eq!((d[1].major, d[1].read_bytes, d[1].reads), (253, 20, 0));
    }

    #[test]
    fn io_stat_nested_keyed() {
        // cgroup-v2.rst, io.stat example.
        let text = "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
                    8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021\n";
        let d = parse_io_stat(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            DeviceIo {
                major: 8,
                minor: 0,
                read_bytes: 90_430_464,
                write_bytes: 299_008_000,
                reads: 8950,
                writes: 1252
            }
        );
        assert_eq!(d[1].minor, 16);
        assert!(parse_io_stat("").unwrap().is_empty());
        assert!(parse_io_stat("sda rbytes=1\n").is_err());
        assert!(parse_io_stat("8:0 rbytes=x\n").is_err());
    }

    #[test]
    fn cpu_max_and_weight() {
        assert_eq!(parse_cpu_max("max 100000\n"), Ok((None, 100_000)));
        assert_eq!(parse_cpu_max("50000 100000\n"), Ok((Some(50000), 100_000)));
        assert!(parse_cpu_max("50000\n").is_err());
        // The kernel's default weight 100 (a Docker container started without --cpu-shares on v2) is
        // 2597 shares for cAdvisor; --cpu-shares=1024 becomes weight 39 through runc's conversion
        // (1 + (shares - 2) * 9999 / 262142), which cAdvisor turns back into 998, not 1024.
        assert_eq!(cpu_weight_to_shares(100), Some(2597));
        assert_eq!(cpu_weight_to_shares(1), Some(2));
        assert_eq!(cpu_weight_to_shares(10000), Some(262_144));
        assert_eq!(cpu_weight_to_shares(39), Some(998));
        assert_eq!(cpu_weight_to_shares(0), None);
        assert_eq!(cpu_weight_to_shares(10001), None);
    }

    #[test]
    fn cpuacct_stat_ticks_to_ns() {
        assert_eq!(
            parse_cpuacct_stat("user 27448\nsystem 5073\n", 100),
            Ok((274_480_000_000, 50_730_000_000))
        );
        assert!(parse_cpuacct_stat("user 1\n", 100).is_err());
    }

    #[test]
    fn proc_cgroup_lines() {
        let text = "9:name=systemd:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/docker/abc\n";
        let l = parse_proc_cgroup(text).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].controllers, ["name=systemd"]);
        assert_eq!(l[1].controllers, ["cpu", "cpuacct"]);
        assert_eq!(l[2].hierarchy, 0);
        assert!(l[2].controllers.is_empty());
        assert_eq!(l[2].path, "/docker/abc");
        // A path with a colon keeps it.
        assert_eq!(parse_proc_cgroup("0::/a:b\n").unwrap()[0].path, "/a:b");
        assert!(parse_proc_cgroup("garbage\n").is_err());
    }

    #[test]
    fn uevent_devname() {
        let t = "MAJOR=253\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=1\n";
        assert_eq!(parse_uevent_devname(t), Some("/dev/vda".into()));
        assert_eq!(parse_uevent_devname("MAJOR=1\n"), None);
    }

    #[test]
    fn max_open_files_soft_limit() {
        let limits =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max processes             63451                63451                processes \n\
            Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_open_files_soft(limits), Some(1024));
        assert_eq!(
            parse_max_open_files_soft(
                "Max open files            unlimited            unlimited            files\n"
            ),
            Some(-1)
        );
        assert_eq!(
            parse_max_open_files_soft("Max processes 1 1 processes\n"),
            None
        );
        assert_eq!(
            parse_max_open_files_soft("Max open files x 1 files\n"),
            None
        );
    }

    #[test]
    fn percpu_and_pressure() {
        assert_eq!(parse_percpu("5 0 17 \n").unwrap(), vec![5, 0, 17]);
        assert!(parse_percpu("5 x\n").is_err());
        let p = parse_pressure(
            "some avg10=0.12 avg60=0.05 avg300=0.01 total=123456\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n",
        )
        .unwrap();
        assert_eq!((p.some_us, p.full_us), (123_456, 789));
        let only_some = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").unwrap();
        assert_eq!((only_some.some_us, only_some.full_us), (5, 0));
        assert!(parse_pressure("some avg10=0.00\n").is_err());
        assert!(parse_pressure("other total=1\n").is_err());
    }
}
