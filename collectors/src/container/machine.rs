//! cAdvisor's machine group (`lib/metrics/prometheus_machine.go`) and `cadvisor_version_info`, served with
//! the container family as cAdvisor serves them next to its `container_*` series.
//!
//! What cAdvisor 0.60 takes from where (`lib/machine/{info,machine}.go`, `lib/utils/sysinfo`):
//! - `machine_cpu_cores`: the logical CPUs of its topology (the online ones), here
//!   `<sysfs>/devices/system/cpu/online`, else the `processor` entries of `/proc/cpuinfo`.
//! - `machine_cpu_physical_cores`: the distinct `core id` values of `/proc/cpuinfo` (not per socket: two
//!   sockets with cores 0..7 each count 8, as cAdvisor counts), else of `cpu*/topology/core_id`.
//! - `machine_cpu_sockets`: the distinct `physical id` values, else `cpu*/topology/physical_package_id`.
//! - `machine_cpu_books` / `_drawers`: s390x only (`book id`, `drawer id`), 0 elsewhere.
//! - `machine_memory_bytes` / `machine_swap_bytes`: `MemTotal` / `SwapTotal` of `/proc/meminfo`, × 1024.
//! - `machine_nvm_capacity{mode}` and `machine_nvm_avg_power_budget_watts`: cAdvisor fills them only when
//!   built with Intel's libipmctl (cgo); its release builds print 0, and so does hostlens.
//! - Not served: `machine_dimm_*` (only with EDAC DIMM entries, which cAdvisor reads from
//!   `/sys/devices/system/edac/mc`; absent on most hosts) and the `cpu_topology` group (off by default).
//! - Labels `boot_id` (`/proc/sys/kernel/random/boot_id`), `machine_id` (`<rootfs>/etc/machine-id`, else
//!   `<rootfs>/var/lib/dbus/machine-id`), `system_uuid` (`<sysfs>/class/dmi/id/product_uuid`, readable by
//!   root only: "" otherwise, as cAdvisor gives when it cannot read it).
//! - `cadvisor_version_info`: `kernelVersion` (uname release), `osVersion` (the agent's own
//!   `/etc/os-release` `PRETTY_NAME`, cAdvisor's "container OS"), `dockerVersion` "" (0.60 no longer fills
//!   it), `cadvisorVersion`/`cadvisorRevision` hostlens's own.
//!
//! cAdvisor reads the machine once and again every `--update_machine_info_interval` (5 min); so does this.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::ParseError;
use crate::read::parse_u64;
use crate::Roots;

/// How long machine facts are kept (cAdvisor's `--update_machine_info_interval` default).
pub const REFRESH: Duration = Duration::from_secs(300);

/// What the machine group reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MachineInfo {
    pub cores: u64,
    pub physical_cores: u64,
    pub sockets: u64,
    pub books: u64,
    pub drawers: u64,
    pub memory_bytes: u64,
    pub swap_bytes: u64,
    pub boot_id: String,
    pub machine_id: String,
    pub system_uuid: String,
    pub kernel_version: String,
    pub os_version: String,
}

/// The distinct values of `key` lines (`core id : 3`) in `/proc/cpuinfo`.
pub fn cpuinfo_distinct(cpuinfo: &str, key: &str) -> u64 {
    cpuinfo
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim())
        })
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// The number of CPUs in a CPU list (`0-3,5,7-8` → 7), as in `/sys/devices/system/cpu/online`.
pub fn parse_cpu_list(text: &str) -> Result<u64, ParseError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    for part in t.split(',') {
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| ParseError::new(format!("not a CPU list: {t:?}")))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    return Err(ParseError::new(format!("not a CPU list: {t:?}")));
                }
                n += b - a + 1;
            }
            None => {
                num(part)?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// `MemTotal` and `SwapTotal` of `/proc/meminfo`, in bytes (kB × 1024); a missing line is an error, as
/// cAdvisor's machine info fails without them.
pub fn parse_meminfo_totals(meminfo: &str) -> Result<(u64, u64), ParseError> {
    let get = |key: &str| -> Result<u64, ParseError> {
        let line = meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .ok_or_else(|| ParseError::new(format!("meminfo: no {key}")))?;
        let kb = line.trim().trim_end_matches("kB").trim();
        Ok(parse_u64(kb)
            .map_err(|e| ParseError::new(format!("meminfo {key}: {e}")))?
            .saturating_mul(1024))
    };
    Ok((get("MemTotal")?, get("SwapTotal")?))
}

/// `PRETTY_NAME` of an os-release file without its quotes; `Linux` when the file has none (cAdvisor's
/// `getOperatingSystem`).
pub fn os_pretty_name(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".to_string())
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The distinct values of `cpu*/topology/<attr>` under `<sysfs>/devices/system/cpu`.
fn sysfs_distinct(roots: &Roots, attr: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir(roots.sys("devices/system/cpu")) else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.strip_prefix("cpu")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| read_trimmed(&e.path().join("topology").join(attr)))
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// Read the machine facts; an error only when `/proc/cpuinfo` or `/proc/meminfo` cannot be read or
/// parsed (cAdvisor then reports `machine_scrape_error 1`).
/// `own_root` is the agent's own filesystem root (`/`; a fixture in tests), whose os-release cAdvisor
/// reports as the "container OS".
pub fn read(roots: &Roots, own_root: &Path) -> Result<MachineInfo, String> {
    let cpuinfo_path = roots.proc("cpuinfo");
    let cpuinfo = std::fs::read_to_string(&cpuinfo_path)
        .map_err(|e| format!("{}: {e}", cpuinfo_path.display()))?;
    let meminfo_path = roots.proc("meminfo");
    let meminfo = std::fs::read_to_string(&meminfo_path)
        .map_err(|e| format!("{}: {e}", meminfo_path.display()))?;
    let (memory_bytes, swap_bytes) =
        parse_meminfo_totals(&meminfo).map_err(|e| format!("{}: {e}", meminfo_path.display()))?;
    let online = roots.sys("devices/system/cpu/online");
    let cores = match read_trimmed(&online) {
        Some(t) => parse_cpu_list(&t).map_err(|e| format!("{}: {e}", online.display()))?,
        None => cpuinfo_distinct(&cpuinfo, "processor"),
    };
    let or_sysfs = |n: u64, attr: &str| {
        if n == 0 {
            sysfs_distinct(roots, attr)
        } else {
            n
        }
    };
    let s390x = cfg!(target_arch = "s390x");
    let machine_id = ["etc/machine-id", "var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| read_trimmed(&roots.root(p)))
        .unwrap_or_default();
    let os_version = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(own_root.join(p)).ok())
        .map_or_else(|| "Unknown".to_string(), |t| os_pretty_name(&t));
    Ok(MachineInfo {
        cores,
        physical_cores: or_sysfs(cpuinfo_distinct(&cpuinfo, "core id"), "core_id"),
        sockets: or_sysfs(
            cpuinfo_distinct(&cpuinfo, "physical id"),
            "physical_package_id",
        ),
        books: if s390x {
            or_sysfs(cpuinfo_distinct(&cpuinfo, "book id"), "book_id")
        } else {
            0
        },
        drawers: if s390x {
            or_sysfs(cpuinfo_distinct(&cpuinfo, "drawer id"), "drawer_id")
        } else {
            0
        },
        memory_bytes,
        swap_bytes,
        boot_id: read_trimmed(&roots.proc("sys/kernel/random/boot_id")).unwrap_or_default(),
        machine_id,
        system_uuid: read_trimmed(&roots.sys("class/dmi/id/product_uuid")).unwrap_or_default(),
        kernel_version: read_trimmed(&roots.proc("sys/kernel/osrelease"))
            .unwrap_or_else(|| "Unknown".to_string()),
        os_version,
    })
}

/// The last read and when it was made.
#[derive(Debug, Default)]
pub struct Cached {
    at: Option<Instant>,
    info: Option<MachineInfo>,
}

impl Cached {
    /// The machine facts, read again when older than [`REFRESH`]; a failed read is retried at the next
    /// scrape.
    pub fn get(&mut self, roots: &Roots, own_root: &Path) -> Result<MachineInfo, String> {
        if let (Some(at), Some(info)) = (self.at, &self.info) {
            if at.elapsed() < REFRESH {
                return Ok(info.clone());
            }
        }
        let info = read(roots, own_root)?;
        self.at = Some(Instant::now());
        self.info = Some(info.clone());
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sockets of two cores with two threads each; core ids repeat across sockets.
    const CPUINFO: &str = "processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\n\n\
        processor\t: 1\nphysical id\t: 0\ncore id\t\t: 1\n\n\
        processor\t: 2\nphysical id\t: 1\ncore id\t\t: 0\n\n\
        processor\t: 3\nphysical id\t: 1\ncore id\t\t: 1\n\n\
        processor\t: 4\nphysical id\t: 0\ncore id\t\t: 0\n\n\
        processor\t: 5\nphysical id\t: 0\ncore id\t\t: 1\n\n\
        processor\t: 6\nphysical id\t: 1\ncore id\t\t: 0\n\n\
        processor\t: 7\nphysical id\t: 1\ncore id\t\t: 1\n";

    #[test]
    fn cpuinfo_counts_as_cadvisor() {
        assert_eq!(cpuinfo_distinct(CPUINFO, "processor"), 8);
        // Distinct `core id` values, not cores per socket × sockets: cAdvisor's count.
        assert_eq!(cpuinfo_distinct(CPUINFO, "core id"), 2);
        assert_eq!(cpuinfo_distinct(CPUINFO, "physical id"), 2);
        assert_eq!(
            cpuinfo_distinct("processor : 0\nBogoMIPS : 50.00\n", "core id"),
            0
        );
    }

    #[test]
    fn cpu_lists_and_meminfo() {
        assert_eq!(parse_cpu_list("0-3,5,7-8\n").unwrap(), 7);
        assert_eq!(parse_cpu_list("0\n").unwrap(), 1);
        assert_eq!(parse_cpu_list("\n").unwrap(), 0);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("a-b").is_err());
        let (mem, swap) = parse_meminfo_totals(
            "MemTotal:       16316412 kB\nMemFree:  1 kB\nSwapTotal:       2097148 kB\n",
        )
        .unwrap();
        assert_eq!((mem, swap), (16_316_412 * 1024, 2_097_148 * 1024));
        assert!(parse_meminfo_totals("MemTotal: 1 kB\n").is_err());
        assert!(parse_meminfo_totals("MemTotal: x kB\nSwapTotal: 0 kB\n").is_err());
    }

    #[test]
    fn os_release_pretty_name() {
        assert_eq!(
            os_pretty_name(
                "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
            ),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(os_pretty_name("NAME=x\n"), "Linux");
    }
}
