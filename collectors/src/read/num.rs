//! Integer parsing as node_exporter does it: Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)`
//! (procfs' `util.ValueParser`, `ReadUintFromFile`, …) and plain decimal counters.

use crate::error::ParseError;

/// Go's `strconv.ParseUint(s, 0, 64)`: decimal; `0x`/`0X` hex, `0o`/`0O` or a leading `0` octal,
/// `0b`/`0B` binary; `_` between digits as in a Go literal (`1_000`, `0x_ff`; not leading, trailing or
/// doubled); no sign; an overflow is an error (Go's `ErrRange`).
pub fn parse_go_uint(s: &str) -> Result<u64, ParseError> {
    let syntax = || ParseError::new(format!("invalid unsigned integer {s:?}"));
    if s.is_empty() {
        return Err(syntax());
    }
    let b = s.as_bytes();
    let (radix, digits): (u32, &[u8]) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u32::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return Err(syntax()),
        };
        if d >= radix {
            return Err(syntax());
        }
        n = n
            .checked_mul(u64::from(radix))
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or_else(|| ParseError::new(format!("{s:?} is out of range of a 64-bit integer")))?;
    }
    if underscores && !underscore_ok(s) {
        return Err(syntax());
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)`: an optional `+`/`-`, then [`parse_go_uint`]'s syntax, within
/// `i64`.
pub fn parse_go_int(s: &str) -> Result<i64, ParseError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let range = || ParseError::new(format!("{s:?} is out of range of a 64-bit integer"));
    let mag = parse_go_uint(body).map_err(|e| {
        if e.0.contains("out of range") {
            range()
        } else {
            ParseError::new(format!("invalid integer {s:?}"))
        }
    })?;
    if neg {
        0i64.checked_sub_unsigned(mag).ok_or_else(range)
    } else {
        i64::try_from(mag).map_err(|_| range())
    }
}

/// Go's `underscoreOK`: `_` only between digits (a base prefix counts as a digit), never at either end.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let b = match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    };
    // What the previous byte was: ^ start, 0 digit or prefix, _ underscore, ! anything else.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// A decimal unsigned counter, surrounding whitespace ignored (`/proc/sys/…` values, sysfs counters read
/// whole): Go's `strconv.ParseUint(strings.TrimSpace(s), 10, 64)`.
pub fn parse_u64(s: &str) -> Result<u64, ParseError> {
    let t = s.trim();
    t.parse()
        .map_err(|_| ParseError::new(format!("not an unsigned integer: {t:?}")))
}

/// A decimal signed integer, surrounding whitespace ignored: Go's `strconv.ParseInt(strings.TrimSpace(s),
/// 10, 64)`.
pub fn parse_i64(s: &str) -> Result<i64, ParseError> {
    let t = s.trim();
    t.parse()
        .map_err(|_| ParseError::new(format!("not an integer: {t:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_uint_bases_and_prefixes() {
        let ok = |s: &str| parse_go_uint(s).unwrap();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("00"), 0);
        assert_eq!(ok("42"), 42);
        assert_eq!(ok("0x1F"), 31);
        assert_eq!(ok("0X1f"), 31);
        assert_eq!(ok("0o17"), 15);
        assert_eq!(ok("0O17"), 15);
        assert_eq!(ok("017"), 15);
        assert_eq!(ok("0b101"), 5);
        assert_eq!(ok("0B101"), 5);
        assert_eq!(ok("18446744073709551615"), u64::MAX);
        assert_eq!(ok("0xffffffffffffffff"), u64::MAX);
        for bad in [
            "", "0x", "0o", "0b", "08", "0b2", "0xg", "12a", " 1", "1 ", "+1", "-1", "0x-1",
        ] {
            assert!(parse_go_uint(bad).is_err(), "{bad:?}");
        }
        let e = parse_go_uint("18446744073709551616").unwrap_err();
        assert!(e.0.contains("out of range"), "{e}");
        assert!(parse_go_uint("0x10000000000000000").is_err());
    }

    #[test]
    fn go_underscores_as_in_go_literals() {
        let ok = |s: &str| parse_go_uint(s).unwrap();
        // Base 0 takes `_` wherever a Go literal does, with or without a prefix.
        assert_eq!(ok("1_000"), 1000);
        assert_eq!(ok("0x_ff"), 255);
        assert_eq!(ok("0xf_f"), 255);
        assert_eq!(ok("0b_1_0"), 2);
        assert_eq!(ok("0_17"), 15);
        for bad in ["_1", "1_", "1__0", "0x__f", "0xf_", "_", "0_", "0x_"] {
            assert!(parse_go_uint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn go_int_sign_and_range() {
        let ok = |s: &str| parse_go_int(s).unwrap();
        assert_eq!(ok("-42"), -42);
        assert_eq!(ok("+42"), 42);
        assert_eq!(ok("-0x10"), -16);
        assert_eq!(ok("-010"), -8);
        assert_eq!(ok("-1_000"), -1000);
        assert_eq!(ok("9223372036854775807"), i64::MAX);
        assert_eq!(ok("-9223372036854775808"), i64::MIN);
        assert_eq!(ok("-0x8000000000000000"), i64::MIN);
        for bad in ["", "-", "+", "+-1", "-+1", "--1", "- 1", "1.5", "0x"] {
            assert!(parse_go_int(bad).is_err(), "{bad:?}");
        }
        for over in [
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
        ] {
            let e = parse_go_int(over).unwrap_err();
            assert!(e.0.contains("out of range"), "{over}: {e}");
        }
    }

    #[test]
    fn decimal_counters() {
        assert_eq!(parse_u64(" 42\n").unwrap(), 42);
        assert_eq!(parse_u64("18446744073709551615").unwrap(), u64::MAX);
        assert!(parse_u64("0x10").is_err());
        assert!(parse_u64("-1").is_err());
        assert!(parse_u64("").is_err());
        assert_eq!(parse_i64(" -7\n").unwrap(), -7);
        assert!(parse_i64("7.0").is_err());
    }
}
