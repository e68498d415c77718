//! Floats as Go prints them, so our output is byte for byte what client_golang writes.
//!
//! client_golang's text writer (`expfmt/text_create.go`, `writeFloat`) prints `1`, `0`, `-1`, `NaN`, `+Inf`
//! and `-Inf` literally and everything else with `strconv.AppendFloat(f, 'g', -1, 64)`: the shortest digits
//! that round-trip, in exponent form (`1.795565299e+09`, `1e-05`) when the decimal exponent is below -4 or at
//! least 6 (the shortest 'g' form decides with precision 6), else in plain decimal form (`0.25`, `123456`).
//! Rust's `{:e}` gives the same shortest digits; only the layout differs.

use std::fmt::Write;

/// A stack buffer for one formatted float (the longest shortest form is 24 bytes).
struct Buf {
    b: [u8; 40],
    n: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.n + s.len();
        if end > self.b.len() {
            return Err(std::fmt::Error);
        }
        self.b[self.n..end].copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// Append `f` as Go's `strconv.FormatFloat(f, 'g', -1, 64)` writes it (`-0` for negative zero).
pub fn push_go_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Integers below 1e6 are the common case (counts, bytes of small things): plain digits.
    if f.fract() == 0.0 && f.abs() < 1e6 {
        let _ = write!(out, "{}", f as i64);
        return;
    }
    let mut buf = Buf { b: [0; 40], n: 0 };
    if write!(buf, "{f:e}").is_err() {
        // Cannot happen (24 bytes at most); keep a correct if differently laid-out number.
        let _ = write!(out, "{f}");
        return;
    }
    // `{:e}` is `[-]d[.ddd]e[-]x`.
    let s = &buf.b[..buf.n];
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let Some(e_at) = s.iter().position(|&c| c == b'e') else {
        let _ = write!(out, "{f}");
        return;
    };
    let (mant, exp) = (&s[..e_at], &s[e_at + 1..]);
    let exp: i32 = std::str::from_utf8(exp)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    // The significant digits, without the point, on the stack (this runs for every sample of a scrape).
    let mut digit_buf = [0u8; 40];
    let mut nd = 0;
    for &c in mant.iter().filter(|&&c| c != b'.') {
        digit_buf[nd] = c;
        nd += 1;
    }
    let digits = &digit_buf[..nd];
    if neg {
        out.push('-');
    }
    // Only ASCII digits are pushed.
    let push =
        |out: &mut String, d: &[u8]| out.push_str(std::str::from_utf8(d).unwrap_or_default());
    if !(-4..6).contains(&exp) {
        // %e: d[.ddd]e±xx (at least two exponent digits).
        push(out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push(out, &digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp < 0 {
        // 0.000ddd
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push(out, digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            push(out, digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            push(out, &digits[..int_len]);
            out.push('.');
            push(out, &digits[int_len..]);
        }
    }
}

/// `f` as Go's `strconv.FormatFloat(f, 'g', -1, 64)` writes it.
pub fn go_float(f: f64) -> String {
    let mut s = String::new();
    push_go_float(&mut s, f);
    s
}

/// Append `f` as client_golang's text writer does: [`push_go_float`], except that negative zero is `0`
/// (Go's `f == 0` holds for it).
pub fn push_sample_value(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
    } else {
        push_go_float(out, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(f: f64) -> String {
        let mut s = String::new();
        push_sample_value(&mut s, f);
        s
    }

    #[test]
    fn formats_as_go_strconv_g_shortest() {
        // Expected strings are what Go 1.23's strconv.FormatFloat(f, 'g', -1, 64) prints.
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.0, "-1"),
            (0.25, "0.25"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1795565299.0, "1.795565299e+09"),
            (18446744073709551615.0, "1.8446744073709552e+19"),
            (25_000_000_000.0, "2.5e+10"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456.789, "123456.789"),
            (1234567.5, "1.2345675e+06"),
            (-0.5, "-0.5"),
            (-2.5e-10, "-2.5e-10"),
            (100.0, "100"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (-0.0, "-0"),
            (0.00015, "0.00015"),
            (12.0, "12"),
            (4096.5, "4096.5"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(*f), *want, "{f:e}");
        }
    }

    #[test]
    fn sample_values_as_client_golang_writes_them() {
        assert_eq!(sv(0.0), "0");
        assert_eq!(sv(-0.0), "0");
        assert_eq!(sv(1.0), "1");
        assert_eq!(sv(-1.0), "-1");
        assert_eq!(sv(2.5e9), "2.5e+09");
    }
}
