//! `time`: node_time_seconds, node_time_zone_offset_seconds{time_zone} and the clocksources of
//! `/sys/devices/system/clocksource/clocksource*`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{CollectError, MetricSet, Roots};

use crate::read::{glob_numbered, sys_read_file};

/// One `clocksource<N>` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSource {
    pub available: Vec<String>,
    pub current: String,
}

/// Build a clocksource from `available_clocksource` (`tsc kvm-clock \n`) and `current_clocksource`.
pub fn parse_clocksource(available: &str, current: &str) -> ClockSource {
    ClockSource {
        available: available.split_whitespace().map(str::to_string).collect(),
        current: current.trim().to_string(),
    }
}

/// The local time zone's abbreviation and offset east of UTC in seconds at `secs` since the epoch, from
/// the C library (`TZ`, else `/etc/localtime`, else UTC: the rules Go's `time.Local` follows).
pub fn local_zone(secs: i64) -> (String, i64) {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: tm is plain old data; all-zero is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        return ("UTC".to_string(), 0);
    }
    let name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: tm_zone points to a NUL-terminated string owned by the C library's time zone state.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (name, tm.tm_gmtoff as i64)
}

/// The `time` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| CollectError::Other(format!("system time before 1970: {e}")))?;
    out.gauge(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
        &[],
        now.as_nanos() as f64 / 1e9,
    );
    let (zone, offset) = local_zone(now.as_secs() as i64);
    out.gauge(
        "node_time_zone_offset_seconds",
        "System time zone offset in seconds.",
        &[("time_zone", &zone)],
        offset as f64,
    );

    let dir = roots.sys("devices/system/clocksource");
    let names = glob_numbered(&dir, "clocksource")?;
    for (i, name) in names.iter().enumerate() {
        let read = |f: &str| {
            let p = dir.join(name).join(f);
            sys_read_file(&p).map_err(|e| CollectError::io(&p, e))
        };
        let cs = parse_clocksource(
            &read("available_clocksource")?,
            &read("current_clocksource")?,
        );
        // node_exporter's `device` label is the position in the sorted glob, not the directory number.
        let device = i.to_string();
        for a in &cs.available {
            out.gauge(
                "node_time_clocksource_available_info",
                "Available clocksources read from '/sys/devices/system/clocksource'.",
                &[("clocksource", a), ("device", &device)],
                1.0,
            );
        }
        out.gauge(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            &[("clocksource", &cs.current), ("device", &device)],
            1.0,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_fixture};

    #[test]
    fn parses_clocksource_files() {
        let cs = parse_clocksource(
            include_str!("../../tests/fixtures/sys/devices/system/clocksource/clocksource0/available_clocksource"),
            include_str!("../../tests/fixtures/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        );
        assert_eq!(cs.available, ["tsc", "kvm-clock"]);
        assert_eq!(cs.current, "tsc");
        let empty = parse_clocksource("\n", "jiffies\n");
        assert!(empty.available.is_empty());
        assert_eq!(empty.current, "jiffies");
    }

    #[test]
    fn zone_has_a_name() {
        let (name, offset) = local_zone(0);
        assert!(!name.is_empty());
        assert!(offset.abs() <= 14 * 3600);
    }

    #[test]
    fn collects_from_fixture_root() {
        let out = collect_fixture("time");
        assert!(out.value("node_time_seconds", &[]).unwrap() > 1.7e9);
        assert!(out.get("node_time_zone_offset_seconds").is_some());
        assert_values(
            &out,
            &[
                (
                    "node_time_clocksource_available_info",
                    &[("device", "0"), ("clocksource", "kvm-clock")],
                    1.0,
                ),
                (
                    "node_time_clocksource_current_info",
                    &[("device", "0"), ("clocksource", "tsc")],
                    1.0,
                ),
            ],
        );
        assert_eq!(
            out.get("node_time_clocksource_available_info")
                .unwrap()
                .samples
                .len(),
            2
        );
    }
}
