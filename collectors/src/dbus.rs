//! D-Bus access for the collectors that ask services instead of reading files (node's `systemd` and
//! `logind`), with the `zbus` crate's blocking API.
//!
//! Why blocking: a [`crate::Collector`] is synchronous and the agent runs it on a blocking worker thread
//! under its time bound, so a blocking call is what fits. zbus' blocking API drives its async core on zbus'
//! own small executor (the `async-io` feature, zbus' default) rather than on the agent's tokio runtime,
//! which a worker thread is not inside of. Like node_exporter, each scrape opens its own connection and
//! closes it at the end: a bus or systemd restarted between scrapes costs nothing, and a scrape on a host
//! without a bus fails (`node_scrape_collector_success` 0) as node_exporter's does.
//!
//! The connections are godbus' (node_exporter's D-Bus library) equivalents:
//! - [`system_bus`]: `dbus.SystemBusPrivate` + EXTERNAL auth with the uid + `Hello`: the address is
//!   `DBUS_SYSTEM_BUS_ADDRESS`, else `unix:path=/var/run/dbus/system_bus_socket` (zbus reads the same
//!   variable with the same default).
//! - [`peer`]: a direct (peer-to-peer, no `Hello`) connection, as go-systemd's
//!   `NewSystemdConnectionContext` to systemd's `/run/systemd/private`.

use std::time::Duration;

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

use crate::CollectError;

/// How long one D-Bus call may take. node_exporter sets none (`context.TODO()`); a bound here keeps a hung
/// service from holding the collector past the agent's own scrape bound for ever.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn err(what: &str, e: zbus::Error) -> CollectError {
    CollectError::Other(format!("{what}: {e}"))
}

/// A connection to the system bus (see the module doc).
pub fn system_bus() -> Result<Connection, CollectError> {
    let address = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .unwrap_or_else(|_| "unix:path=/var/run/dbus/system_bus_socket".to_string());
    zbus::blocking::connection::Builder::system()
        .map(|b| b.method_timeout(CALL_TIMEOUT))
        .and_then(|b| b.build())
        .map_err(|e| err(&format!("connecting to the system bus at {address}"), e))
}

/// A direct connection to the peer at `address` (`unix:path=/run/systemd/private`): EXTERNAL auth, no
/// `Hello`, as go-systemd does for systemd's private socket.
pub fn peer(address: &str) -> Result<Connection, CollectError> {
    zbus::blocking::connection::Builder::address(address)
        .map(|b| b.p2p().method_timeout(CALL_TIMEOUT))
        .and_then(|b| b.build())
        .map_err(|e| err(&format!("connecting to {address}"), e))
}

/// `org.freedesktop.DBus.Properties.Get(iface, prop)` on `path` of `dest`.
pub fn get_property(
    conn: &Connection,
    dest: &str,
    path: &str,
    iface: &str,
    prop: &str,
) -> Result<OwnedValue, CollectError> {
    let what = || format!("getting {iface}.{prop} of {path}");
    let reply = conn
        .call_method(
            Some(dest),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(iface, prop),
        )
        .map_err(|e| err(&what(), e))?;
    reply
        .body()
        .deserialize::<OwnedValue>()
        .map_err(|e| err(&what(), e))
}

/// A property value reduced to what the collectors use: a string, a number or a boolean; anything else
/// keeps only its D-Bus signature (for error messages and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    Str(String),
    U32(u32),
    U64(u64),
    Bool(bool),
    Other(String),
}

impl From<&Value<'_>> for Prop {
    fn from(v: &Value<'_>) -> Self {
        match v {
            Value::Str(s) => Prop::Str(s.to_string()),
            Value::U32(n) => Prop::U32(*n),
            Value::U64(n) => Prop::U64(*n),
            Value::Bool(b) => Prop::Bool(*b),
            Value::Value(inner) => Prop::from(&**inner),
            other => Prop::Other(other.value_signature().to_string()),
        }
    }
}

impl From<OwnedValue> for Prop {
    fn from(v: OwnedValue) -> Self {
        Prop::from(&*v)
    }
}

impl Prop {
    /// godbus' `Variant.String()` (GVariant text format) of the value, which go-systemd's
    /// `GetManagerProperty` returns: a string is Go-quoted (`"running"`), a boolean is `true`/`false`, a
    /// `u32`/`u64` is `@u 5`/`@t 5`.
    pub fn gvariant_text(&self) -> String {
        match self {
            Prop::Str(s) => go_quote(s),
            Prop::U32(n) => format!("@u {n}"),
            Prop::U64(n) => format!("@t {n}"),
            Prop::Bool(b) => b.to_string(),
            Prop::Other(sig) => format!("<{sig}>"),
        }
    }
}

/// Go's `strconv.Quote`: double quotes, `\"` and `\\`, the C escapes, `\xNN` for other control bytes and
/// `\u`/`\U` for non-printable code points (printable Unicode is kept).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("running"), "\"running\"");
        assert_eq!(go_quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(Prop::U32(5).gvariant_text(), "@u 5");
        assert_eq!(
            Prop::Str("252.22-1~deb12u1".into()).gvariant_text(),
            "\"252.22-1~deb12u1\""
        );
    }

    #[test]
    fn variants_reduce() {
        assert_eq!(Prop::from(&Value::from("x")), Prop::Str("x".into()));
        assert_eq!(Prop::from(&Value::from(7u32)), Prop::U32(7));
        assert_eq!(Prop::from(&Value::from(7u64)), Prop::U64(7));
        assert_eq!(Prop::from(&Value::from(true)), Prop::Bool(true));
        assert_eq!(Prop::from(&Value::from(7i32)), Prop::Other("i".into()));
    }
}
