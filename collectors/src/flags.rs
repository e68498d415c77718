//! What the families' flag structs share.

use std::time::Duration;

/// Nanoseconds per unit of Go's `time.ParseDuration`.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // µs, MICRO SIGN
    ("\u{3bc}s", 1_000), // μs, GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

/// Go's `time.ParseDuration` as a signed nanosecond count: a sequence of decimal numbers, each with an
/// optional fraction and a unit (`1h30m`, `1.5s`, `250us`, `-2m`); `0` needs no unit. Out of `i64` range
/// is an error, as in Go.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?}: not a duration (try 5s, 500ms or 1m30s)");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "{s:?}: missing unit in duration (ns, us, ms, s, m, h)"
            ));
        }
        let per = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, n)| *n)
            .ok_or_else(|| format!("{s:?}: unknown unit {unit:?} in duration"))?;
        let range = || format!("{s:?}: duration out of range");
        let whole: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| range())?
        };
        let mut v = whole.checked_mul(per).ok_or_else(range)?;
        // The fraction, as Go: its digits scaled to the unit, extra digits beyond u64 dropped.
        let mut f: u64 = 0;
        let mut scale: u64 = 1;
        for d in frac.bytes() {
            match f
                .checked_mul(10)
                .and_then(|x| x.checked_add(u64::from(d - b'0')))
            {
                Some(x) if scale <= u64::MAX / 10 => {
                    f = x;
                    scale *= 10;
                }
                _ => break,
            }
        }
        if f > 0 {
            v = v
                .checked_add((f as f64 * (per as f64 / scale as f64)) as u64)
                .ok_or_else(range)?;
        }
        total = total.checked_add(v).ok_or_else(range)?;
        rest = after;
    }
    if neg {
        if total > i64::MAX as u64 + 1 {
            return Err(format!("{s:?}: duration out of range"));
        }
        Ok((total as i64).wrapping_neg())
    } else {
        i64::try_from(total).map_err(|_| format!("{s:?}: duration out of range"))
    }
}

/// A positive duration flag in Go's syntax (`500ms`, `5s`, `1m30s`, `1h`, `250us`): node_exporter's
/// kingpin `Duration()` flags take `time.ParseDuration`. Zero and negative durations are refused, as none
/// of our flags means anything with them.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let ns = parse_go_duration(s)?;
    if ns <= 0 {
        return Err(format!("{s:?}: must be positive"));
    }
    Ok(Duration::from_nanos(ns as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("5h"), Ok(Duration::from_secs(5 * 3600)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250μs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("10ns"), Ok(Duration::from_nanos(10)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.s"), Ok(Duration::from_secs(1)));
        assert_eq!(
            parse_duration("1h2m3.5s"),
            Ok(Duration::from_millis(3_723_500))
        );
        assert_eq!(parse_duration("+2s"), Ok(Duration::from_secs(2)));
        for bad in [
            "5",
            "0s",
            "0",
            "-1s",
            "",
            "s",
            ".s",
            "1x",
            "1s2",
            "1.2.3s",
            "9999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-1m"), Ok(-60_000_000_000));
        assert_eq!(parse_go_duration("1.000000001s"), Ok(1_000_000_001));
        assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert!(parse_go_duration("2562047h47m16.854775808s").is_err());
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
    }
}
