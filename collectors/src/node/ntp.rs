//! `ntp`: node_ntp_* from one SNTP query to a local NTP server, as node_exporter 1.12.1's `ntp` collector
//! (collector/ntp.go, with beevik/ntp v1.5.0 as its client). Off by default; upstream marks it deprecated
//! ("will be removed in the next major version release", logged once when it is set up, as here).
//!
//! Each scrape sends one 48-byte client packet (mode 3, the configured version, a random transmit
//! timestamp the reply must echo as its origin) to `--collector.ntp.server`:`--collector.ntp.server-port`
//! with the IP TTL of `--collector.ntp.ip-ttl` (1: the server must be on this host's link), waits at most
//! one second, and reports the server's stratum, leap indicator, reference time, root delay and
//! dispersion, the round trip and clock offset computed as beevik/ntp does, and a sanity verdict (RFC 5905
//! checks, root distance within `--collector.ntp.max-distance`, minimum error within
//! `--collector.ntp.local-offset-tolerance`, one second more around an announced leap second). A server
//! that does not answer, or answers a packet that does not match the query, fails the collector.
//!
//! The packet code (encode, decode, the timestamp arithmetic) is pure and unit-tested; only [`query`]
//! touches the network. Durations are Go's: signed nanoseconds with Go's rounding and wrap-around, so the
//! values and the sanity verdict are node_exporter's to the nanosecond.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

/// The ntp collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// NTP server to use for ntp collector
    #[arg(
        value_name = "ADDRESS",
        id = "collector.ntp.server",
        long = "collector.ntp.server",
        default_value = "127.0.0.1"
    )]
    pub server: String,
    /// UDP port number to connect to on NTP server
    #[arg(
        value_name = "PORT",
        id = "collector.ntp.server-port",
        long = "collector.ntp.server-port",
        default_value = "123",
        value_parser = go_int_flag
    )]
    pub server_port: i64,
    /// NTP protocol version
    #[arg(
        value_name = "VERSION",
        id = "collector.ntp.protocol-version",
        long = "collector.ntp.protocol-version",
        default_value = "4",
        value_parser = go_int_flag
    )]
    pub protocol_version: i64,
    /// Certify that collector.ntp.server address is not a public ntp server
    #[arg(
        id = "collector.ntp.server-is-local",
        long = "collector.ntp.server-is-local",
        overrides_with = "no-collector.ntp.server-is-local"
    )]
    pub server_is_local: bool,
    /// Negates --collector.ntp.server-is-local (kingpin's --no- form).
    #[arg(
        id = "no-collector.ntp.server-is-local",
        long = "no-collector.ntp.server-is-local",
        overrides_with = "collector.ntp.server-is-local",
        hide = true
    )]
    pub no_server_is_local: bool,
    /// IP TTL to use while sending NTP query
    #[arg(
        value_name = "TTL",
        id = "collector.ntp.ip-ttl",
        long = "collector.ntp.ip-ttl",
        default_value = "1",
        value_parser = go_int_flag
    )]
    pub ip_ttl: i64,
    /// Max accumulated distance to the root
    #[arg(
        value_name = "DURATION",
        id = "collector.ntp.max-distance",
        long = "collector.ntp.max-distance",
        default_value = "3.46608s",
        value_parser = go_duration_flag
    )]
    pub max_distance: GoDuration,
    /// Offset between local clock and local ntpd time to tolerate
    #[arg(
        value_name = "DURATION",
        id = "collector.ntp.local-offset-tolerance",
        long = "collector.ntp.local-offset-tolerance",
        default_value = "1ms",
        value_parser = go_duration_flag
    )]
    pub local_offset_tolerance: GoDuration,
}

/// A Go `time.Duration`: signed nanoseconds (a negative flag value parses, as in Go, and is then refused
/// where node_exporter refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub i64);

const SECOND: i64 = 1_000_000_000;

/// kingpin v2.4's `Int()` flag: Go's `strconv.ParseFloat(s, 64)` converted to `int` (so `123.9` is 123,
/// `1e2` is 100; not a hexadecimal float). A value out of `int`'s range converts as Go on amd64 does, to
/// the minimum.
pub fn kingpin_int(s: &str) -> Result<i64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))?;
    // Go's float-to-int conversion truncates; amd64's CVTTSD2SI gives the minimum for NaN or overflow.
    // (NaN is in no range.)
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
        return Ok(i64::MIN);
    }
    Ok(v.trunc() as i64)
}

fn go_int_flag(s: &str) -> Result<i64, String> {
    kingpin_int(s)
}

fn go_duration_flag(s: &str) -> Result<GoDuration, String> {
    parse_kingpin_duration(s).map(GoDuration)
}

/// kingpin v2.4's `Duration()` flag (xhit/go-str2duration v2.1.0, Go's older `time.ParseDuration` with
/// days and weeks): `[-+]` then one or more `<decimal><unit>` (`1h2m3.5s`, `300ms`, `-1.5h`, `2d`), units
/// `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`, `d`, `w`, or a bare `0`; nanoseconds, an overflow of
/// `int64` is an error. (The crate's [`crate::flags::parse_duration`] takes only positive `ms`/`s`/`m`.)
pub fn parse_kingpin_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: i64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part.
        let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: i64 = 0;
        for &c in &s[..digits] {
            if v > i64::MAX / 10 {
                return Err(invalid());
            }
            v = (v * 10).wrapping_add(i64::from(c - b'0'));
            if v < 0 {
                return Err(invalid());
            }
        }
        let pre = digits > 0;
        s = &s[digits..];
        // The fraction: digits past what fits are dropped.
        let (mut f, mut scale, mut post) = (0i64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &s[..digits] {
                if overflow {
                    continue;
                }
                if f > i64::MAX / 10 {
                    overflow = true;
                    continue;
                }
                let y = (f * 10).wrapping_add(i64::from(c - b'0'));
                if y < 0 {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = digits > 0;
            s = &s[digits..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let ulen = s
            .iter()
            .take_while(|&&c| !(c == b'.' || c.is_ascii_digit()))
            .count();
        if ulen == 0 {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        const HOUR: i64 = 3_600_000_000_000;
        let unit: i64 = match &s[..ulen] {
            b"ns" => 1,
            b"us" => 1_000,
            u if u == "µs".as_bytes() || u == "μs".as_bytes() => 1_000,
            b"ms" => 1_000_000,
            b"s" => SECOND,
            b"m" => 60 * SECOND,
            b"h" => HOUR,
            b"d" => 24 * HOUR,
            b"w" => 168 * HOUR,
            u => {
                return Err(format!(
                    "time: unknown unit {:?} in duration {orig:?}",
                    String::from_utf8_lossy(u)
                ))
            }
        };
        s = &s[ulen..];
        if v > i64::MAX / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // Go: int64(float64(f) * (float64(unit) / scale)), at most a week's nanoseconds.
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as i64);
            if v < 0 {
                return Err(invalid());
            }
        }
        d = d.wrapping_add(v);
        if d < 0 {
            return Err(invalid());
        }
    }
    Ok(if neg { -d } else { d })
}

/// Go's `Duration.Seconds()`: whole seconds plus the remainder, each converted separately.
pub fn go_seconds(d: i64) -> f64 {
    (d / SECOND) as f64 + (d % SECOND) as f64 / 1e9
}

/// An NTP 64-bit timestamp (Q32.32 seconds).
pub type NtpTime = u64;

/// The duration of a Q32.32 value in nanoseconds, rounded to nearest (beevik/ntp's `ntpTime.Duration`).
pub fn ntp_duration(t: NtpTime) -> i64 {
    let sec = (t >> 32).wrapping_mul(SECOND as u64);
    let frac = (t & 0xffff_ffff).wrapping_mul(SECOND as u64);
    let mut nsec = frac >> 32;
    if frac as u32 >= 0x8000_0000 {
        nsec += 1;
    }
    sec.wrapping_add(nsec) as i64
}

/// The duration of a Q16.16 value (root delay, root dispersion) in nanoseconds (`ntpTimeShort.Duration`).
pub fn ntp_short_duration(t: u32) -> i64 {
    let sec = u64::from(t >> 16) * SECOND as u64;
    let frac = u64::from(t & 0xffff) * SECOND as u64;
    let mut nsec = frac >> 16;
    if frac as u16 >= 0x8000 {
        nsec += 1;
    }
    (sec + nsec) as i64
}

/// 1900-01-01 (NTP era 0) in Unix nanoseconds.
const ERA0_UNIX_NS: i128 = -2_208_988_800 * SECOND as i128;
/// 2036-02-07T06:28:16Z (NTP era 1) in Unix nanoseconds.
const ERA1_UNIX_NS: i128 = ERA0_UNIX_NS + (1i128 << 32) * SECOND as i128;

/// The absolute time of an NTP timestamp, in Unix nanoseconds: era 1 when the raw value would be before
/// 1970, else era 0 (beevik/ntp's `ntpTime.Time`).
pub fn ntp_time_unix_ns(t: NtpTime) -> i128 {
    const T1970: u64 = 0x83aa_7e80_0000_0000;
    let base = if t < T1970 {
        ERA1_UNIX_NS
    } else {
        ERA0_UNIX_NS
    };
    base + i128::from(ntp_duration(t))
}

/// Go's `t.Sub(u)`: the difference in nanoseconds, saturated to a `Duration`'s range.
fn go_sub(t: i128, u: i128) -> i64 {
    (t - u).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The NTP timestamp of a time given in Unix nanoseconds, rounded to nearest (beevik/ntp's `toNtpTime`).
pub fn to_ntp_time(unix_ns: i128) -> NtpTime {
    let nsec = go_sub(unix_ns, ERA0_UNIX_NS) as u64;
    let sec = nsec / SECOND as u64;
    let rem = (nsec - sec * SECOND as u64) << 32;
    let mut frac = rem / SECOND as u64;
    if rem % SECOND as u64 >= SECOND as u64 / 2 {
        frac += 1;
    }
    (sec << 32) | frac
}

/// An NTP packet header (RFC 5905 figure 8), the 48 bytes both sides exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// Leap indicator (2 bits), version (3), mode (3).
    pub li_vn_mode: u8,
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    pub root_delay: u32,
    pub root_dispersion: u32,
    pub reference_id: u32,
    pub reference_time: NtpTime,
    pub origin_time: NtpTime,
    pub receive_time: NtpTime,
    pub transmit_time: NtpTime,
}

pub const HEADER_LEN: usize = 48;
/// The client and server modes.
pub const MODE_CLIENT: u8 = 3;
pub const MODE_SERVER: u8 = 4;

impl Header {
    pub fn leap(&self) -> u8 {
        self.li_vn_mode >> 6
    }

    pub fn version(&self) -> u8 {
        (self.li_vn_mode >> 3) & 7
    }

    pub fn mode(&self) -> u8 {
        self.li_vn_mode & 7
    }

    /// The header in network byte order.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.li_vn_mode;
        b[1] = self.stratum;
        b[2] = self.poll as u8;
        b[3] = self.precision as u8;
        b[4..8].copy_from_slice(&self.root_delay.to_be_bytes());
        b[8..12].copy_from_slice(&self.root_dispersion.to_be_bytes());
        b[12..16].copy_from_slice(&self.reference_id.to_be_bytes());
        b[16..24].copy_from_slice(&self.reference_time.to_be_bytes());
        b[24..32].copy_from_slice(&self.origin_time.to_be_bytes());
        b[32..40].copy_from_slice(&self.receive_time.to_be_bytes());
        b[40..48].copy_from_slice(&self.transmit_time.to_be_bytes());
        b
    }

    /// The header at the start of a datagram (extension fields and MACs after it are ignored); a datagram
    /// shorter than 48 bytes is an error, as Go's `binary.Read` of the header.
    pub fn decode(b: &[u8]) -> Result<Header, String> {
        if b.len() < HEADER_LEN {
            return Err(format!(
                "reply of {} bytes, shorter than an NTP header ({HEADER_LEN})",
                b.len()
            ));
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
        Ok(Header {
            li_vn_mode: b[0],
            stratum: b[1],
            poll: b[2] as i8,
            precision: b[3] as i8,
            root_delay: u32_at(4),
            root_dispersion: u32_at(8),
            reference_id: u32_at(12),
            reference_time: u64_at(16),
            origin_time: u64_at(24),
            receive_time: u64_at(32),
            transmit_time: u64_at(40),
        })
    }
}

/// The client query: no leap warning, `version`, client mode, precision 0x20 (beevik/ntp's), and the
/// random `transmit` value the server echoes back as the origin timestamp.
pub fn query_header(version: u8, transmit: NtpTime) -> Header {
    Header {
        li_vn_mode: ((version & 7) << 3) | MODE_CLIENT,
        precision: 0x20,
        transmit_time: transmit,
        ..Header::default()
    }
}

/// beevik/ntp's checks of a reply to the query whose transmit timestamp was `sent`.
pub fn check_reply(h: &Header, sent: NtpTime) -> Result<(), &'static str> {
    if h.mode() != MODE_SERVER {
        return Err("invalid mode in response");
    }
    if h.transmit_time == 0 {
        return Err("invalid transmit time in response");
    }
    if h.origin_time != sent {
        return Err("server response didn't match request");
    }
    if h.receive_time > h.transmit_time {
        return Err("server clock ticked backwards");
    }
    Ok(())
}

/// What node_exporter takes from beevik/ntp's `Response`: durations in nanoseconds, times in Unix
/// nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub clock_offset: i64,
    /// The server's transmit time.
    pub time: i128,
    pub rtt: i64,
    pub stratum: u8,
    pub reference_time: i128,
    pub root_delay: i64,
    pub root_dispersion: i64,
    pub root_distance: i64,
    pub leap: u8,
    pub min_error: i64,
}

/// The response computed from a checked reply `h` and the local times the query left (`xmit`) and the
/// reply arrived (`recv`), as beevik/ntp's `generateResponse` (the reply's origin is replaced by `xmit`).
pub fn response(h: &Header, xmit: NtpTime, recv: NtpTime) -> Response {
    let (org, rec, xmt, dst) = (xmit, h.receive_time, h.transmit_time, recv);
    let rtt = {
        let a = dst.wrapping_sub(org) as i64;
        let b = xmt.wrapping_sub(rec) as i64;
        ntp_duration(a.wrapping_sub(b).max(0) as u64)
    };
    let clock_offset = {
        let a = rec.wrapping_sub(org) as i64;
        let b = xmt.wrapping_sub(dst) as i64;
        let offset = a.wrapping_add(b.wrapping_sub(a) / 2);
        if offset < 0 {
            ntp_duration(offset.wrapping_neg() as u64).wrapping_neg()
        } else {
            ntp_duration(offset as u64)
        }
    };
    let min_error = {
        let e0 = org.saturating_sub(rec);
        let e1 = xmt.saturating_sub(dst);
        ntp_duration(e0.max(e1))
    };
    let root_delay = ntp_short_duration(h.root_delay);
    let root_dispersion = ntp_short_duration(h.root_dispersion);
    Response {
        clock_offset,
        time: ntp_time_unix_ns(h.transmit_time),
        rtt,
        stratum: h.stratum,
        reference_time: ntp_time_unix_ns(h.reference_time),
        root_delay,
        root_dispersion,
        root_distance: rtt.wrapping_add(root_delay) / 2 + root_dispersion,
        leap: h.leap(),
        min_error,
    }
}

pub const LEAP_ADD_SECOND: u8 = 1;
pub const LEAP_DEL_SECOND: u8 = 2;
pub const LEAP_NOT_IN_SYNC: u8 = 3;

/// beevik/ntp's `Response.Validate`: whether the reply is fit for time synchronisation.
pub fn validate(r: &Response) -> Result<(), &'static str> {
    const MAX_STRATUM: u8 = 16;
    const MAX_POLL_INTERVAL: i64 = (1 << 17) * SECOND;
    const MAX_DISPERSION: i64 = 16 * SECOND;
    if r.stratum == 0 {
        return Err("kiss of death received");
    }
    if r.stratum >= MAX_STRATUM {
        return Err("invalid stratum in response");
    }
    if go_sub(r.time, r.reference_time) > MAX_POLL_INTERVAL {
        return Err("server clock not fresh");
    }
    if r.root_delay / 2 + r.root_dispersion > MAX_DISPERSION {
        return Err("invalid dispersion in response");
    }
    if r.time < r.reference_time {
        return Err("invalid time reported");
    }
    if r.leap == LEAP_NOT_IN_SYNC {
        return Err("invalid leap second in response");
    }
    Ok(())
}

const DAY_NS: i128 = 24 * 3600 * SECOND as i128;

/// node_exporter's sanity verdict. `leap_midnight` is the cached midnight (Unix nanoseconds, UTC) after
/// the last announced leap second: the announcement is dropped right after midnight, and the offset is
/// tolerated one second more from a day before to a day after it (leap smearing).
pub fn sanity(
    r: &Response,
    max_distance: i64,
    offset_tolerance: i64,
    leap_midnight: &mut Option<i128>,
) -> bool {
    let mut maxerr = offset_tolerance;
    if r.leap == LEAP_ADD_SECOND || r.leap == LEAP_DEL_SECOND {
        // Go's Time.Truncate(24h) counts from year 1, a whole number of days before 1970: UTC midnight.
        *leap_midnight = Some(r.time.div_euclid(DAY_NS) * DAY_NS + DAY_NS);
    }
    if let Some(m) = *leap_midnight {
        if m - DAY_NS < r.time && r.time < m + DAY_NS {
            maxerr = maxerr.wrapping_add(SECOND);
        }
    }
    validate(r).is_ok() && r.root_distance <= max_distance && r.min_error <= maxerr
}

/// Append the samples of one response.
pub fn push_response(r: &Response, sane: bool, out: &mut MetricSet) {
    out.gauge(
        "node_ntp_stratum",
        "NTPD stratum.",
        &[],
        f64::from(r.stratum),
    );
    out.gauge(
        "node_ntp_leap",
        "NTPD leap second indicator, 2 bits.",
        &[],
        f64::from(r.leap),
    );
    out.gauge(
        "node_ntp_rtt_seconds",
        "RTT to NTPD.",
        &[],
        go_seconds(r.rtt),
    );
    out.gauge(
        "node_ntp_offset_seconds",
        "ClockOffset between NTP and local clock.",
        &[],
        go_seconds(r.clock_offset),
    );
    // Go's Time.Unix() floors; an "ancient" reference time (before 1970 and not in era 1) reports 0.
    let reftime = if r.reference_time.div_euclid(SECOND as i128) > 0 {
        r.reference_time as f64 / 1e9
    } else {
        0.0
    };
    out.gauge(
        "node_ntp_reference_timestamp_seconds",
        "NTPD ReferenceTime, UNIX timestamp.",
        &[],
        reftime,
    );
    out.gauge(
        "node_ntp_root_delay_seconds",
        "NTPD RootDelay.",
        &[],
        go_seconds(r.root_delay),
    );
    out.gauge(
        "node_ntp_root_dispersion_seconds",
        "NTPD RootDispersion.",
        &[],
        go_seconds(r.root_dispersion),
    );
    out.gauge(
        "node_ntp_sanity",
        "NTPD sanity according to RFC5905 heuristics and configured limits.",
        &[],
        if sane { 1.0 } else { 0.0 },
    );
}

/// beevik/ntp's `fixHostPort`: `address` with `port` appended unless it has one (`host`, `host:port`,
/// `[v6]`, `[v6]:port`, a bare IPv6 address gets brackets).
pub fn host_port(address: &str, port: i64) -> Result<String, String> {
    if address.is_empty() {
        return Err("address string is empty".into());
    }
    if address.starts_with('[') {
        let Some(end) = address.find(']') else {
            return Err("missing ']' in address".into());
        };
        return match address.as_bytes().get(end + 1) {
            None => Ok(format!("{address}:{port}")),
            Some(b':') => Ok(address.to_string()),
            Some(_) => Err("unexpected character following ']' in address".into()),
        };
    }
    match address.rfind(':') {
        None => Ok(format!("{address}:{port}")),
        Some(last) if !address[..last].contains(':') => Ok(address.to_string()),
        Some(_) => Ok(format!("[{address}]:{port}")),
    }
}

/// The address Go's `ResolveUDPAddr("udp", hostport)` picks: the first IPv4 one, or the first IPv6 one
/// when the address was written in brackets.
fn resolve(hostport: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = hostport
        .to_socket_addrs()
        .map_err(|e| format!("resolving {hostport}: {e}"))?
        .collect();
    let want6 = hostport.contains('[');
    addrs
        .iter()
        .find(|a| a.is_ipv6() == want6)
        .copied()
        .ok_or_else(|| format!("resolving {hostport}: no suitable address found"))
}

/// The wall clock in Unix nanoseconds (Go's `time.Now()` as `toNtpTime` reads it).
fn now_unix_ns() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// One SNTP exchange with `server:port` (beevik/ntp's `QueryWithOptions` with node_exporter's options:
/// its version, TTL unless 0, a one-second timeout): the checked reply and the local send and receive
/// times.
pub fn query(
    server: &str,
    port: i64,
    version: u8,
    ttl: i64,
    timeout: Duration,
) -> Result<(Header, NtpTime, NtpTime), String> {
    let remote = resolve(&host_port(server, port)?)?;
    let local: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?
    } else {
        "[::]:0".parse().map_err(|e| format!("{e}"))?
    };
    let sock = UdpSocket::bind(local).map_err(|e| format!("dial udp {remote}: {e}"))?;
    sock.connect(remote)
        .map_err(|e| format!("dial udp {remote}: {e}"))?;
    if ttl != 0 {
        // Go hands the int to setsockopt(IP_TTL) as a C int; std does the same with the bits of a u32.
        sock.set_ttl(ttl as i32 as u32)
            .map_err(|e| format!("setsockopt IP_TTL {ttl}: {e}"))?;
    }
    sock.set_read_timeout(Some(timeout))
        .and_then(|()| sock.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("setting the timeout: {e}"))?;
    let mut rnd = [0u8; 8];
    rustix::rand::getrandom(&mut rnd, rustix::rand::GetRandomFlags::empty())
        .map_err(|e| format!("getrandom: {e}"))?;
    let sent = u64::from_be_bytes(rnd);
    let packet = query_header(version, sent).encode();
    let xmit = now_unix_ns();
    sock.send(&packet)
        .map_err(|e| format!("write udp {remote}: {e}"))?;
    let mut buf = [0u8; 8192];
    let n = sock.recv(&mut buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("read udp {remote}: i/o timeout")
        }
        _ => format!("read udp {remote}: {e}"),
    })?;
    let recv = now_unix_ns();
    let h = Header::decode(&buf[..n])?;
    check_reply(&h, sent)?;
    Ok((h, to_ntp_time(xmit), to_ntp_time(recv)))
}

/// The ntp collector: its validated flags and the leap-second state kept between scrapes.
pub struct Ntp {
    server: String,
    port: i64,
    version: u8,
    ttl: i64,
    max_distance: i64,
    offset_tolerance: i64,
    leap_midnight: Mutex<Option<i128>>,
}

/// Whether Go's `net.ParseIP(s).IsLoopback()` holds (an IPv4-mapped IPv6 address counts as IPv4).
fn is_loopback_ip(s: &str) -> bool {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a
            .to_ipv4_mapped()
            .map_or(a.is_loopback(), |v4| v4.is_loopback()),
        Err(_) => false,
    }
}

impl NodeCollector for Ntp {
    /// node_exporter's `NewNtpCollector`: the same checks in the same order, each refusing to start.
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        let f = &cfg.ntp;
        let err = |m: String| Err(CollectError::Other(m));
        if !f.server_is_local && !is_loopback_ip(&f.server) {
            return err(
                "only IP address of local NTP server is valid for --collector.ntp.server".into(),
            );
        }
        if !(2..=4).contains(&f.protocol_version) {
            return err(format!(
                "invalid NTP protocol version {}; must be 2, 3, or 4",
                f.protocol_version
            ));
        }
        if f.local_offset_tolerance.0 < 0 {
            return err("offset tolerance must be non-negative".into());
        }
        if !(1..=65535).contains(&f.server_port) {
            return err(format!(
                "invalid NTP port number {}; must be between 1 and 65535 inclusive",
                f.server_port
            ));
        }
        tracing::warn!(
            collector = "ntp",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Ntp {
            server: f.server.clone(),
            port: f.server_port,
            version: f.protocol_version as u8,
            ttl: f.ip_ttl,
            max_distance: f.max_distance.0,
            offset_tolerance: f.local_offset_tolerance.0,
            leap_midnight: Mutex::new(None),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let (h, xmit, recv) = query(
            &self.server,
            self.port,
            self.version,
            self.ttl,
            Duration::from_secs(1),
        )
        .map_err(|e| CollectError::Other(format!("couldn't get SNTP reply: {e}")))?;
        let r = response(&h, xmit, recv);
        let sane = {
            let mut leap = self
                .leap_midnight
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            sanity(&r, self.max_distance, self.offset_tolerance, &mut leap)
        };
        push_response(&r, sane, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_rejects, assert_values};

    const MS: i64 = 1_000_000;

    #[test]
    fn kingpin_durations() {
        let ok = |s: &str| parse_kingpin_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("3.46608s"), 3_466_080_000);
        assert_eq!(ok("1ms"), MS);
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("-1.5h"), -5_400 * SECOND);
        assert_eq!(ok("1h2m3.5s"), 3723 * SECOND + 500 * MS);
        assert_eq!(ok("+.5us"), 500);
        assert_eq!(ok("2µs"), 2_000);
        assert_eq!(ok("3μs"), 3_000);
        assert_eq!(ok("1d"), 86_400 * SECOND);
        assert_eq!(ok("1w1.5d"), (7 * 86_400 + 129_600) * SECOND);
        assert_eq!(ok("9223372036854775807ns"), i64::MAX);
        assert_eq!(ok("-9223372036854775807ns"), -i64::MAX);
        assert_rejects(
            parse_kingpin_duration,
            &[
                "",
                "5",
                "-",
                ".s",
                "1x",
                "1.5",
                "9223372036854775808ns",
                "-9223372036854775808ns",
                "3000000h",
                "9223372036854775807ns1ns",
                "s",
                "1s2",
            ],
        );
    }

    #[test]
    fn kingpin_ints() {
        assert_eq!(kingpin_int("123"), Ok(123));
        assert_eq!(kingpin_int("123.9"), Ok(123));
        assert_eq!(kingpin_int("-2.5"), Ok(-2));
        assert_eq!(kingpin_int("1e2"), Ok(100));
        assert_eq!(kingpin_int("1e30"), Ok(i64::MIN));
        assert_eq!(kingpin_int("NaN"), Ok(i64::MIN));
        assert_rejects(kingpin_int, &["", "0x7b", "12a", "1 "]);
    }

    #[test]
    fn go_seconds_is_gos() {
        assert_eq!(go_seconds(1_500_000_000), 1.5);
        assert_eq!(go_seconds(-14_842), -1.4842e-05);
        assert_eq!(go_seconds(0), 0.0);
    }

    #[test]
    fn fixed_point_durations_round_to_nearest() {
        assert_eq!(ntp_duration(1 << 32), SECOND);
        assert_eq!(ntp_duration(1 << 31), SECOND / 2);
        // 1/2^32 s = 0.23 ns rounds to 0; 3/2^32 s = 0.698 ns rounds to 1.
        assert_eq!(ntp_duration(1), 0);
        assert_eq!(ntp_duration(3), 1);
        assert_eq!(ntp_short_duration(0x0001_8000), 1_500_000_000);
        assert_eq!(ntp_short_duration(0x0000_0001), 15_259); // 15258.789 ns
    }

    #[test]
    fn timestamps_in_both_eras() {
        // 2026-12-01T00:00:00Z is 3_973_536_000 s after 1900 (era 0).
        let unix = 1_795_996_800i128 * SECOND as i128;
        let t = to_ntp_time(unix);
        assert_eq!(t >> 32, 1_795_996_800 + 2_208_988_800);
        assert_eq!(ntp_time_unix_ns(t), unix);
        // Half a second and a nanosecond survive the round trip.
        let t = to_ntp_time(unix + 500_000_001);
        assert_eq!(ntp_time_unix_ns(t), unix + 500_000_001);
        // A zero timestamp is taken as era 1's start: 2036-02-07T06:28:16Z.
        assert_eq!(ntp_time_unix_ns(0), 2_085_978_496 * SECOND as i128);
    }

    #[test]
    fn query_packet_layout() {
        let b = query_header(4, 0x0102_0304_0506_0708).encode();
        assert_eq!(b.len(), 48);
        assert_eq!(b[0], 0x23); // LI 0, VN 4, mode 3
        assert_eq!(b[3], 0x20);
        assert!(b[1..3].iter().chain(&b[4..40]).all(|&x| x == 0));
        assert_eq!(&b[40..], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(query_header(2, 0).encode()[0], 0x13);
        assert_eq!(query_header(3, 0).encode()[0], 0x1b);
    }

    /// A server reply written by hand: leap 0, version 4, mode 4, stratum 2, poll 6, precision -20, sent
    /// 2026-12-01T01:00:00Z, its reference time 800 s before.
    fn reply_bytes() -> Vec<u8> {
        let mut b = vec![0x24, 2, 6, 0xec];
        b.extend(0x0000_8000u32.to_be_bytes()); // root delay 0.5 s
        b.extend(0x0000_4000u32.to_be_bytes()); // root dispersion 0.25 s
        b.extend(*b"\x7f\x00\x00\x01"); // reference id
        let era0 = 2_208_988_800u64;
        for secs in [1_795_999_600u64, 42, 1_796_000_400, 1_796_000_400] {
            b.extend(((secs + era0) << 32).to_be_bytes());
        }
        b
    }

    #[test]
    fn decodes_and_reencodes_a_reply() {
        let b = reply_bytes();
        let h = Header::decode(&b).expect("decodes");
        assert_eq!((h.leap(), h.version(), h.mode()), (0, 4, MODE_SERVER));
        assert_eq!((h.stratum, h.poll, h.precision), (2, 6, -20));
        assert_eq!((h.root_delay, h.root_dispersion), (0x8000, 0x4000));
        assert_eq!(h.reference_id, 0x7f00_0001);
        assert_eq!(h.encode().as_slice(), &b[..]);
        // Extension fields after the header are ignored; a short datagram is an error.
        let mut long = b.clone();
        long.extend([0u8; 20]);
        assert_eq!(Header::decode(&long), Ok(h));
        assert!(Header::decode(&b[..47]).is_err());
        assert!(Header::decode(&[]).is_err());
    }

    #[test]
    fn checks_reply_against_query() {
        let h = Header::decode(&reply_bytes()).expect("decodes");
        let sent = h.origin_time;
        assert_eq!(check_reply(&h, sent), Ok(()));
        assert_eq!(
            check_reply(&h, sent + 1),
            Err("server response didn't match request")
        );
        let client = Header {
            li_vn_mode: 0x23,
            ..h
        };
        assert_eq!(check_reply(&client, sent), Err("invalid mode in response"));
        let zero = Header {
            transmit_time: 0,
            ..h
        };
        assert_eq!(
            check_reply(&zero, sent),
            Err("invalid transmit time in response")
        );
        let backwards = Header {
            receive_time: h.transmit_time + 1,
            ..h
        };
        assert_eq!(
            check_reply(&backwards, sent),
            Err("server clock ticked backwards")
        );
    }

    /// The reply's server times are both T; the client sent at T - 3 ms and received at T + 1 ms (its
    /// clock 1 ms behind the server's, a 2 ms round trip).
    fn exchange() -> (Header, Response) {
        let h = Header::decode(&reply_bytes()).expect("decodes");
        let server = ntp_time_unix_ns(h.transmit_time);
        let xmit = to_ntp_time(server - 3 * MS as i128);
        let recv = to_ntp_time(server + MS as i128);
        (h, response(&h, xmit, recv))
    }

    #[test]
    fn offset_rtt_and_distance() {
        let (h, r) = exchange();
        assert_eq!(r.rtt, 4 * MS);
        assert_eq!(r.clock_offset, MS);
        assert_eq!(r.min_error, 0);
        assert_eq!(r.root_delay, SECOND / 2);
        assert_eq!(r.root_dispersion, SECOND / 4);
        assert_eq!(r.root_distance, (4 * MS + SECOND / 2) / 2 + SECOND / 4);
        assert_eq!(r.time, ntp_time_unix_ns(h.transmit_time));
        assert_eq!(r.reference_time, 1_795_999_600 * SECOND as i128);
        // The client clock ahead by 10 ms: a causality violation, so a minimum error, and a negative offset.
        let server = r.time;
        let r = response(
            &h,
            to_ntp_time(server + 9 * MS as i128),
            to_ntp_time(server + 11 * MS as i128),
        );
        assert_eq!(r.clock_offset, -10 * MS);
        assert_eq!(r.min_error, 9 * MS);
        assert_eq!(r.rtt, 2 * MS);
    }

    #[test]
    fn validation_and_sanity() {
        let (_, r) = exchange();
        let (max_distance, tolerance) = (3_466_080_000, MS);
        let mut leap = None;
        assert_eq!(validate(&r), Ok(()));
        assert!(sanity(&r, max_distance, tolerance, &mut leap));
        assert!(!sanity(&r, r.root_distance - 1, tolerance, &mut leap));
        let cases: &[(Response, &str)] = &[
            (Response { stratum: 0, ..r }, "kiss of death received"),
            (Response { stratum: 16, ..r }, "invalid stratum in response"),
            (
                Response {
                    reference_time: r.time - (1i128 << 17) * SECOND as i128 - 1,
                    ..r
                },
                "server clock not fresh",
            ),
            (
                Response {
                    root_dispersion: 16 * SECOND,
                    ..r
                },
                "invalid dispersion in response",
            ),
            (
                Response {
                    reference_time: r.time + 1,
                    ..r
                },
                "invalid time reported",
            ),
            (Response { leap: 3, ..r }, "invalid leap second in response"),
        ];
        for (bad, why) in cases {
            assert_eq!(validate(bad), Err(*why));
            assert!(!sanity(bad, max_distance, tolerance, &mut None));
        }
        // A 0.5 s minimum error is insane, except within a day of an announced leap second's midnight,
        // which is remembered after the announcement is gone.
        let off = Response {
            min_error: SECOND / 2,
            ..r
        };
        assert!(!sanity(&off, max_distance, tolerance, &mut leap));
        assert!(sanity(
            &Response { leap: 1, ..off },
            max_distance,
            tolerance,
            &mut leap
        ));
        let midnight = r.time.div_euclid(DAY_NS) * DAY_NS + DAY_NS;
        assert_eq!(leap, Some(midnight));
        assert!(sanity(&off, max_distance, tolerance, &mut leap));
        let later = Response {
            time: midnight + DAY_NS,
            reference_time: midnight + DAY_NS - SECOND as i128,
            ..off
        };
        assert!(!sanity(&later, max_distance, tolerance, &mut leap));
    }

    #[test]
    fn samples() {
        let (_, r) = exchange();
        let mut out = MetricSet::new();
        push_response(&r, true, &mut out);
        assert_values(
            &out,
            &[
                ("node_ntp_stratum", &[], 2.0),
                ("node_ntp_leap", &[], 0.0),
                ("node_ntp_rtt_seconds", &[], 0.004),
                ("node_ntp_offset_seconds", &[], 0.001),
                ("node_ntp_reference_timestamp_seconds", &[], 1_795_999_600.0),
                ("node_ntp_root_delay_seconds", &[], 0.5),
                ("node_ntp_root_dispersion_seconds", &[], 0.25),
                ("node_ntp_sanity", &[], 1.0),
            ],
        );
        // A reference time before 1970 in era 0 is reported as 0.
        let mut out = MetricSet::new();
        let old = Response {
            reference_time: -SECOND as i128,
            ..r
        };
        push_response(&old, false, &mut out);
        assert_values(
            &out,
            &[
                ("node_ntp_reference_timestamp_seconds", &[], 0.0),
                ("node_ntp_sanity", &[], 0.0),
            ],
        );
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port("127.0.0.1", 123).as_deref(), Ok("127.0.0.1:123"));
        assert_eq!(host_port("127.0.0.1:5", 123).as_deref(), Ok("127.0.0.1:5"));
        assert_eq!(host_port("::1", 123).as_deref(), Ok("[::1]:123"));
        assert_eq!(host_port("[::1]", 123).as_deref(), Ok("[::1]:123"));
        assert_eq!(host_port("[::1]:7", 123).as_deref(), Ok("[::1]:7"));
        assert!(host_port("", 1).is_err());
        assert!(host_port("[::1", 1).is_err());
        assert!(host_port("[::1]x", 1).is_err());
    }

    fn cfg_with(args: &[&str]) -> NodeConfig {
        use clap::{Args, FromArgMatches};
        let cmd = NodeConfig::augment_args(clap::Command::new("node"));
        let m = cmd
            .try_get_matches_from(std::iter::once("node").chain(args.iter().copied()))
            .expect("flags parse");
        NodeConfig::from_arg_matches(&m).expect("flags parse")
    }

    #[test]
    fn flags_and_their_checks() {
        let d = NodeConfig::default().ntp;
        assert_eq!(d.server, "127.0.0.1");
        assert_eq!((d.server_port, d.protocol_version, d.ip_ttl), (123, 4, 1));
        assert!(!d.server_is_local);
        assert_eq!(d.max_distance, GoDuration(3_466_080_000));
        assert_eq!(d.local_offset_tolerance, GoDuration(MS));
        assert!(Ntp::new(&NodeConfig::default()).is_ok());
        for ok in [
            &["--collector.ntp.server=::1"][..],
            &["--collector.ntp.server=::ffff:127.0.0.2"],
            &[
                "--collector.ntp.server=ntp.example",
                "--collector.ntp.server-is-local",
            ],
            &[
                "--collector.ntp.server-port=123.5",
                "--collector.ntp.protocol-version=2",
            ],
            &["--collector.ntp.local-offset-tolerance=0"],
        ] {
            assert!(Ntp::new(&cfg_with(ok)).is_ok(), "{ok:?}");
        }
        for bad in [
            &["--collector.ntp.server=192.0.2.1"][..],
            &["--collector.ntp.server=localhost"],
            &[
                "--collector.ntp.server=localhost",
                "--collector.ntp.server-is-local",
                "--no-collector.ntp.server-is-local",
            ],
            &["--collector.ntp.protocol-version=5"],
            &["--collector.ntp.protocol-version=1"],
            &["--collector.ntp.local-offset-tolerance=-1ms"],
            &["--collector.ntp.server-port=0"],
            &["--collector.ntp.server-port=65536"],
            &["--collector.ntp.server-port=0.9"],
        ] {
            assert!(Ntp::new(&cfg_with(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_server_fails_the_collector() {
        // A UDP port on loopback nobody listens on: the query fails (refused or timed out), no samples.
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = probe.local_addr().expect("addr").port();
        drop(probe);
        let cfg = cfg_with(&[&format!("--collector.ntp.server-port={port}")]);
        let mut out = MetricSet::new();
        let e = Ntp::new(&cfg)
            .expect("valid flags")
            .collect(&mut out)
            .expect_err("nobody answers");
        assert!(
            e.to_string().starts_with("couldn't get SNTP reply: "),
            "{e}"
        );
        assert!(!e.is_no_data());
        assert!(out.is_empty());
    }
}
