//! `timex`: the kernel's NTP state from adjtimex(2) with `modes = 0` (read only): node_timex_*.
//!
//! Units follow node_exporter: offset and PPS jitter are in ns when `STA_NANO` is set, else in µs;
//! maxerror, esterror and tick are always µs; freq, ppsfreq and stabil are ppm with a 16-bit fraction.

use crate::{CollectError, MetricSet, Roots};

/// adjtimex(2) return value: the clock is not synchronized.
pub const TIME_ERROR: i32 = 5;
/// `status` bit: offset and jitter are in nanoseconds.
pub const STA_NANO: i64 = 0x2000;
const PPM16FRAC: f64 = 1_000_000.0 * 65536.0;

/// The raw fields of `struct timex` node_exporter reports, and adjtimex's return value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timex {
    pub state: i32,
    pub offset: i64,
    pub freq: i64,
    pub maxerror: i64,
    pub esterror: i64,
    pub status: i64,
    pub constant: i64,
    pub tick: i64,
    pub ppsfreq: i64,
    pub jitter: i64,
    pub shift: i64,
    pub stabil: i64,
    pub jitcnt: i64,
    pub calcnt: i64,
    pub errcnt: i64,
    pub stbcnt: i64,
    pub tai: i64,
}

/// Read the kernel's clock state without changing it.
pub fn read_timex() -> std::io::Result<Timex> {
    // SAFETY: struct timex is plain old data; zeroed means modes = 0 (read only).
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid, writable timex.
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Timex {
        state,
        offset: t.offset as i64,
        freq: t.freq as i64,
        maxerror: t.maxerror as i64,
        esterror: t.esterror as i64,
        status: t.status as i64,
        constant: t.constant as i64,
        tick: t.tick as i64,
        ppsfreq: t.ppsfreq as i64,
        jitter: t.jitter as i64,
        shift: t.shift as i64,
        stabil: t.stabil as i64,
        jitcnt: t.jitcnt as i64,
        calcnt: t.calcnt as i64,
        errcnt: t.errcnt as i64,
        stbcnt: t.stbcnt as i64,
        tai: t.tai as i64,
    })
}

/// Write the node_timex_* metrics for `t`.
pub fn write_timex(t: &Timex, out: &mut MetricSet) {
    let sync = if t.state == TIME_ERROR { 0.0 } else { 1.0 };
    let divisor = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
    out.gauge(
        "node_timex_sync_status",
        "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
        &[],
        sync,
    );
    out.gauge(
        "node_timex_offset_seconds",
        "Time offset in between local system and reference clock.",
        &[],
        t.offset as f64 / divisor,
    );
    out.gauge(
        "node_timex_frequency_adjustment_ratio",
        "Local clock frequency adjustment.",
        &[],
        1.0 + t.freq as f64 / PPM16FRAC,
    );
    out.gauge(
        "node_timex_maxerror_seconds",
        "Maximum error in seconds.",
        &[],
        t.maxerror as f64 / 1e6,
    );
    out.gauge(
        "node_timex_estimated_error_seconds",
        "Estimated error in seconds.",
        &[],
        t.esterror as f64 / 1e6,
    );
    out.gauge(
        "node_timex_status",
        "Value of the status array bits.",
        &[],
        t.status as f64,
    );
    out.gauge(
        "node_timex_loop_time_constant",
        "Phase-locked loop time constant.",
        &[],
        t.constant as f64,
    );
    out.gauge(
        "node_timex_tick_seconds",
        "Seconds between clock ticks.",
        &[],
        t.tick as f64 / 1e6,
    );
    out.gauge(
        "node_timex_pps_frequency_hertz",
        "Pulse per second frequency.",
        &[],
        t.ppsfreq as f64 / PPM16FRAC,
    );
    out.gauge(
        "node_timex_pps_jitter_seconds",
        "Pulse per second jitter.",
        &[],
        t.jitter as f64 / divisor,
    );
    // node_exporter reports the raw shift (log2 of the interval in seconds) under this name.
    out.gauge(
        "node_timex_pps_shift_seconds",
        "Pulse per second interval duration.",
        &[],
        t.shift as f64,
    );
    out.gauge(
        "node_timex_pps_stability_hertz",
        "Pulse per second stability, average of recent frequency changes.",
        &[],
        t.stabil as f64 / PPM16FRAC,
    );
    out.counter(
        "node_timex_pps_jitter_total",
        "Pulse per second count of jitter limit exceeded events.",
        &[],
        t.jitcnt as f64,
    );
    out.counter(
        "node_timex_pps_calibration_total",
        "Pulse per second count of calibration intervals.",
        &[],
        t.calcnt as f64,
    );
    out.counter(
        "node_timex_pps_error_total",
        "Pulse per second count of calibration errors.",
        &[],
        t.errcnt as f64,
    );
    out.counter(
        "node_timex_pps_stability_exceeded_total",
        "Pulse per second count of stability limit exceeded events.",
        &[],
        t.stbcnt as f64,
    );
    out.gauge(
        "node_timex_tai_offset_seconds",
        "International Atomic Time (TAI) offset.",
        &[],
        t.tai as f64,
    );
}

/// The `timex` collector (no state, no flags: registered in [`super::COLLECTORS`] by this function).
pub fn collect(_roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let t = match read_timex() {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(CollectError::NoData(format!("adjtimex: {e}")))
        }
        Err(e) => return Err(CollectError::Other(format!("adjtimex: {e}"))),
    };
    write_timex(&t, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_values, collect_fixture};

    #[test]
    fn unsynchronized_microsecond_clock() {
        // What an unsynchronized VM reports (STA_UNSYNC, USER_HZ 100).
        let t = Timex {
            state: TIME_ERROR,
            status: 0x40,
            maxerror: 16_000_000,
            esterror: 16_000_000,
            constant: 2,
            tick: 10_000,
            ..Timex::default()
        };
        let mut out = MetricSet::new();
        write_timex(&t, &mut out);
        assert_values(
            &out,
            &[
                ("node_timex_sync_status", &[], 0.0),
                ("node_timex_maxerror_seconds", &[], 16.0),
                ("node_timex_tick_seconds", &[], 0.01),
                ("node_timex_frequency_adjustment_ratio", &[], 1.0),
                ("node_timex_status", &[], 64.0),
            ],
        );
    }

    #[test]
    fn synchronized_nanosecond_clock() {
        // chronyd sets STA_PLL|STA_NANO; offset and jitter are then in ns, freq in 2^-16 ppm.
        let t = Timex {
            state: 0,
            status: 0x2001,
            offset: -12_345,
            jitter: 2_000,
            freq: -1_468_006, // about -22.4 ppm
            ppsfreq: 65536,
            stabil: 131072,
            maxerror: 1_500,
            tick: 10_000,
            shift: 2,
            tai: 37,
            jitcnt: 3,
            ..Timex::default()
        };
        let mut out = MetricSet::new();
        write_timex(&t, &mut out);
        assert_values(
            &out,
            &[
                ("node_timex_sync_status", &[], 1.0),
                ("node_timex_offset_seconds", &[], -12_345.0 / 1e9),
                ("node_timex_pps_jitter_seconds", &[], 2e-6),
                (
                    "node_timex_frequency_adjustment_ratio",
                    &[],
                    1.0 + -1_468_006.0 / PPM16FRAC,
                ),
                ("node_timex_pps_frequency_hertz", &[], 1e-6),
                ("node_timex_pps_stability_hertz", &[], 2e-6),
                ("node_timex_maxerror_seconds", &[], 0.0015),
                ("node_timex_pps_shift_seconds", &[], 2.0),
                ("node_timex_tai_offset_seconds", &[], 37.0),
                ("node_timex_pps_jitter_total", &[], 3.0),
            ],
        );
        // Microsecond mode divides offset by 1e6.
        let us = Timex { status: 0x1, ..t };
        let mut out = MetricSet::new();
        write_timex(&us, &mut out);
        assert_eq!(out.value("node_timex_offset_seconds", &[]), Some(-0.012345));
    }

    #[test]
    fn collects_from_this_host() {
        let out = collect_fixture("timex");
        assert!(out.value("node_timex_tick_seconds", &[]).unwrap() > 0.0);
        assert_eq!(out.families().len(), 17);
    }
}
