//! Reading the JSON fixture files of node_exporter's e2e mode (`--collector.qdisc.fixtures`,
//! `--collector.wifi.fixtures`) as Go's `encoding/json` decodes them into upstream's structs: object keys
//! match field names case-insensitively (a later duplicate wins), a missing key or `null` leaves the zero
//! value, unknown keys are ignored, a number must fit the field's integer type, and a `[]byte` field
//! (`net.HardwareAddr`) is a standard base64 string.

use serde_json::{Map, Value};

use crate::error::ParseError;

/// One JSON object, its keys folded to lower case.
#[derive(Debug, Default)]
pub struct GoObject(Map<String, Value>);

impl GoObject {
    /// `v` as an object (`null` is the zero struct).
    pub fn new(v: &Value, what: &str) -> Result<Self, ParseError> {
        match v {
            Value::Null => Ok(GoObject::default()),
            Value::Object(m) => Ok(GoObject(
                m.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.clone()))
                    .collect(),
            )),
            other => Err(type_error(what, "object", other)),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(&field.to_lowercase()).filter(|v| !v.is_null())
    }

    /// A Go `string` field.
    pub fn string(&self, field: &str) -> Result<String, ParseError> {
        match self.get(field) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(type_error(field, "string", other)),
        }
    }

    /// An unsigned integer field of `bits` bits (`uint32`, `uint64`).
    pub fn uint(&self, field: &str, bits: u32) -> Result<u64, ParseError> {
        match self.get(field) {
            None => Ok(0),
            Some(v) => v
                .as_u64()
                .filter(|n| bits >= 64 || *n < 1u64 << bits)
                .ok_or_else(|| type_error(field, &format!("uint{bits}"), v)),
        }
    }

    /// A signed integer field (`int`, `time.Duration`: 64 bits).
    pub fn int(&self, field: &str) -> Result<i64, ParseError> {
        match self.get(field) {
            None => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| type_error(field, "int", v)),
        }
    }

    /// A `[]byte` field: base64 (standard alphabet, padded) in JSON.
    pub fn bytes(&self, field: &str) -> Result<Vec<u8>, ParseError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => base64_std(s)
                .ok_or_else(|| ParseError::new(format!("{field}: illegal base64 data {s:?}"))),
            Some(other) => Err(type_error(field, "[]byte", other)),
        }
    }
}

/// The elements of a JSON array (`null` is an empty slice).
pub fn array<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], ParseError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        other => Err(type_error(what, "array", other)),
    }
}

/// Parse a fixture file's text as JSON.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    serde_json::from_str(text).map_err(|e| ParseError::new(format!("invalid JSON: {e}")))
}

fn type_error(field: &str, want: &str, got: &Value) -> ParseError {
    ParseError::new(format!(
        "json: cannot unmarshal {got} into field {field} of type {want}"
    ))
}

/// Decode standard base64 with padding (Go's `base64.StdEncoding`, which `encoding/json` uses for
/// `[]byte`); `\r` and `\n` are skipped as Go does.
pub fn base64_std(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    if !digits.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    let chunks = digits.len() / 4;
    for (i, chunk) in digits.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for c in &chunk[..4 - pad] {
            n = n << 6 | value(*c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// Go's `net.HardwareAddr.String()`: lower-case hex bytes joined by `:` ("" when empty).
pub fn hardware_addr(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_mac() {
        assert_eq!(
            hardware_addr(&base64_std("AAECAwQF").unwrap()),
            "00:01:02:03:04:05"
        );
        assert_eq!(base64_std("AQ==").unwrap(), [1]);
        assert_eq!(base64_std("AQI=").unwrap(), [1, 2]);
        assert_eq!(base64_std("").unwrap(), Vec::<u8>::new());
        assert!(base64_std("AQ=").is_none());
        assert!(base64_std("A?==").is_none());
        assert!(base64_std("AQ==AQ==").is_none());
        assert_eq!(hardware_addr(&[]), "");
    }

    #[test]
    fn keys_fold_case_and_types_are_checked() {
        let v = parse(r#"{"IfaceName": "eth0", "bytes": 5, "Drops": null, "x": 1}"#).unwrap();
        let o = GoObject::new(&v, "qdisc").unwrap();
        assert_eq!(o.string("ifacename").unwrap(), "eth0");
        assert_eq!(o.uint("Bytes", 64).unwrap(), 5);
        assert_eq!(o.uint("Drops", 32).unwrap(), 0);
        assert_eq!(o.uint("Missing", 32).unwrap(), 0);
        assert!(o.string("bytes").is_err());
        let big = parse(r#"{"n": 4294967296, "f": 1.5, "neg": -1}"#).unwrap();
        let o = GoObject::new(&big, "x").unwrap();
        assert!(o.uint("n", 32).is_err());
        assert_eq!(o.uint("n", 64).unwrap(), 1 << 32);
        assert!(o.uint("f", 64).is_err() && o.uint("neg", 64).is_err());
        assert_eq!(o.int("neg").unwrap(), -1);
        assert!(GoObject::new(&parse("[1]").unwrap(), "x").is_err());
        assert!(array(&parse("{}").unwrap(), "x").is_err());
    }
}
