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
//! - [`Direct`]: a direct (peer-to-peer, no `Hello`) connection, as go-systemd's
//!   `NewSystemdConnectionContext` to systemd's `/run/systemd/private`. Not zbus' p2p mode: systemd
//!   stamps its replies there with the sender `org.freedesktop.systemd1`, a well-known name where the
//!   spec has a unique name, and zbus 5.19 panics in its reader thread on such a message (zbus 6.2 also
//!   parses the sender as a unique name). So [`Direct`] is a small synchronous client of its own:
//!   EXTERNAL auth, then one method call at a time, the message built by zbus, the reply's header read
//!   here (signals, which systemd sends every private peer, are skipped), its body deserialized by
//!   zvariant. It waits until systemd has read `BEGIN` before the first call, as systemd 252's sd-bus
//!   leaves a message that arrives in the same read in its buffer (see [`Direct::connect`]). systemd also
//!   refuses a peer outside its PID namespace there ("Incoming private connection from unprivileged
//!   client"), node_exporter's included.

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
pub fn system_bus() -> Result<Conn, CollectError> {
    let address = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .unwrap_or_else(|_| "unix:path=/var/run/dbus/system_bus_socket".to_string());
    zbus::blocking::connection::Builder::system()
        .map(|b| b.method_timeout(CALL_TIMEOUT))
        .and_then(|b| b.build())
        .map(Conn::Bus)
        .map_err(|e| err(&format!("connecting to the system bus at {address}"), e))
}

/// A connection to either a bus (zbus) or a direct peer ([`Direct`]).
pub enum Conn {
    Bus(Connection),
    Direct(std::sync::Mutex<Direct>),
}

impl Conn {
    /// Call `iface.method(body)` on `path` of `dest` and deserialize the reply's body as `R`.
    pub fn call<B, R>(
        &self,
        dest: &str,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<R, CollectError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: serde::de::DeserializeOwned + zbus::zvariant::Type,
    {
        let what = || format!("{iface}.{method} on {path}");
        match self {
            Conn::Bus(c) => c
                .call_method(Some(dest), path, Some(iface), method, body)
                .and_then(|reply| reply.body().deserialize::<R>())
                .map_err(|e| err(&what(), e)),
            Conn::Direct(d) => d
                .lock()
                .map_err(|_| CollectError::Other(format!("{}: connection poisoned", what())))?
                .call(dest, path, iface, method, body)
                .map_err(|e| CollectError::Other(format!("{}: {e}", what()))),
        }
    }
}

/// A synchronous direct D-Bus connection over a unix socket (see the module doc): one call at a time.
pub struct Direct {
    stream: std::os::unix::net::UnixStream,
}

/// The `unix:path=…` of a D-Bus address (the only transport [`Direct`] speaks).
fn unix_path(address: &str) -> Option<&str> {
    address
        .strip_prefix("unix:")?
        .split(',')
        .find_map(|kv| kv.strip_prefix("path="))
}

const HEADER_FIELD_ERROR_NAME: u8 = 4;
const HEADER_FIELD_REPLY_SERIAL: u8 = 5;
const HEADER_FIELD_SIGNATURE: u8 = 8;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
/// The D-Bus limit on a message's size.
const MAX_MESSAGE: usize = 128 << 20;

/// What [`Direct`] needs of a reply's header.
#[derive(Debug, Default, PartialEq)]
struct ReplyFields {
    reply_serial: Option<u32>,
    signature: String,
    error_name: Option<String>,
}

/// Parse the header fields array `a(yv)` (it starts 8-aligned, at offset 16, so offsets within `b` align
/// as in the message) for the fields [`Direct`] reads; other fields of string, object path, signature or
/// `u` type are skipped.
fn parse_fields(b: &[u8], little: bool) -> Result<ReplyFields, String> {
    let bad = || "malformed header fields".to_string();
    let u32_at = |p: usize| -> Result<u32, String> {
        let w: [u8; 4] = b
            .get(p..p + 4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        Ok(if little {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        })
    };
    let mut f = ReplyFields::default();
    let mut p = 0usize;
    while p < b.len() {
        p = p.next_multiple_of(8);
        if p >= b.len() {
            break;
        }
        let code = b[p];
        let sig_len = *b.get(p + 1).ok_or_else(bad)? as usize;
        let sig = b.get(p + 2..p + 2 + sig_len).ok_or_else(bad)?;
        p += 2 + sig_len + 1;
        let text = |s: &[u8]| String::from_utf8(s.to_vec()).map_err(|_| bad());
        match sig {
            b"s" | b"o" => {
                p = p.next_multiple_of(4);
                let n = u32_at(p)? as usize;
                let v = b.get(p + 4..p + 4 + n).ok_or_else(bad)?;
                if code == HEADER_FIELD_ERROR_NAME {
                    f.error_name = Some(text(v)?);
                }
                p += 4 + n + 1;
            }
            b"g" => {
                let n = *b.get(p).ok_or_else(bad)? as usize;
                let v = b.get(p + 1..p + 1 + n).ok_or_else(bad)?;
                if code == HEADER_FIELD_SIGNATURE {
                    f.signature = text(v)?;
                }
                p += 1 + n + 1;
            }
            b"u" => {
                p = p.next_multiple_of(4);
                let v = u32_at(p)?;
                if code == HEADER_FIELD_REPLY_SERIAL {
                    f.reply_serial = Some(v);
                }
                p += 4;
            }
            other => {
                return Err(format!(
                    "unexpected header field type {:?}",
                    String::from_utf8_lossy(other)
                ))
            }
        }
    }
    Ok(f)
}

impl Direct {
    /// Connect to `address` (`unix:path=…`) and authenticate with EXTERNAL as the process' uid; no `Hello`.
    pub fn connect(address: &str) -> Result<Direct, CollectError> {
        use std::io::{Read, Write};
        let fail = |e: String| CollectError::Other(format!("connecting to {address}: {e}"));
        let path = unix_path(address).ok_or_else(|| fail("only unix:path= addresses".into()))?;
        let stream =
            std::os::unix::net::UnixStream::connect(path).map_err(|e| fail(e.to_string()))?;
        stream
            .set_read_timeout(Some(CALL_TIMEOUT))
            .and_then(|_| stream.set_write_timeout(Some(CALL_TIMEOUT)))
            .map_err(|e| fail(e.to_string()))?;
        let uid = rustix::process::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        (&stream)
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
            .map_err(|e| fail(format!("authenticating: {e}")))?;
        // Byte by byte, so that nothing after the line is read ahead.
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while line.last() != Some(&b'\n') && line.len() < 512 {
            (&stream)
                .read_exact(&mut byte)
                .map_err(|e| fail(format!("authenticating: {e}")))?;
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line);
        if !line.starts_with("OK ") {
            return Err(fail(format!(
                "authentication refused: {:?}",
                line.trim_end()
            )));
        }
        (&stream)
            .write_all(b"BEGIN\r\n")
            .map_err(|e| fail(format!("authenticating: {e}")))?;
        // systemd 252's sd-bus parses one message per wake-up: a message that reaches it in the same read
        // as `BEGIN` (or as another message) stays in its buffer until more input comes. So the first
        // call waits until systemd has read `BEGIN`: the socket's unread bytes (SIOCOUTQ) drop to 0.
        // Afterwards one call at a time keeps it so; `read_reply` still nudges a stalled peer.
        let start = std::time::Instant::now();
        while unread_bytes(&stream) > 0 && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Direct { stream })
    }

    /// Send a method call to systemd's name; its serial.
    fn send<B>(&mut self, path: &str, iface: &str, method: &str, body: &B) -> Result<u32, String>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.send_to("org.freedesktop.systemd1", path, iface, method, body)
    }

    fn send_to<B>(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<u32, String>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        use std::io::Write;
        let msg = zbus::Message::method_call(path, method)
            .and_then(|b| b.destination(dest))
            .and_then(|b| b.interface(iface))
            .and_then(|b| b.build(body))
            .map_err(|e| e.to_string())?;
        self.stream
            .write_all(msg.data().bytes())
            .map_err(|e| e.to_string())?;
        Ok(msg.primary_header().serial_num().get())
    }

    /// Read messages until the reply (or error) to `serial`: its fields, endianness and body bytes.
    fn read_reply(&mut self, serial: u32) -> Result<(ReplyFields, bool, Vec<u8>), String> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        use std::io::Read;
        let step = Timespec {
            tv_sec: 0,
            tv_nsec: 200_000_000,
        };
        let mut waited = Duration::ZERO;
        loop {
            // Should systemd still stall on a buffered message (see `connect`), a `Peer.Ping` after 200 ms
            // of silence wakes it. The pings' replies are skipped like signals.
            let mut fds = [PollFd::new(&self.stream, PollFlags::IN)];
            if poll(&mut fds, Some(&step)).map_err(|e| e.to_string())? == 0 {
                waited += Duration::from_millis(200);
                if waited >= CALL_TIMEOUT {
                    return Err(format!("no reply within {CALL_TIMEOUT:?}"));
                }
                self.send(PING_PATH, "org.freedesktop.DBus.Peer", "Ping", &())?;
                continue;
            }
            let mut fixed = [0u8; 16];
            self.stream
                .read_exact(&mut fixed)
                .map_err(|e| e.to_string())?;
            let little = match fixed[0] {
                b'l' => true,
                b'B' => false,
                b => return Err(format!("bad endianness byte {b:#x}")),
            };
            let word = |i: usize| {
                let w = [fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]];
                (if little {
                    u32::from_le_bytes(w)
                } else {
                    u32::from_be_bytes(w)
                }) as usize
            };
            let (body_len, fields_len) = (word(4), word(12));
            let header_end = (16 + fields_len).next_multiple_of(8);
            if header_end + body_len > MAX_MESSAGE {
                return Err("message too large".into());
            }
            let mut rest = vec![0u8; header_end - 16 + body_len];
            self.stream
                .read_exact(&mut rest)
                .map_err(|e| e.to_string())?;
            let f = parse_fields(&rest[..fields_len], little)?;
            if f.reply_serial != Some(serial) || !matches!(fixed[1], METHOD_RETURN | ERROR) {
                continue; // a signal (systemd sends every change to its private peers) or a stale reply
            }
            let body = rest.split_off(header_end - 16);
            if fixed[1] == ERROR {
                let text = decode::<String>(body, little, "s").unwrap_or_default();
                return Err(format!(
                    "{}: {text}",
                    f.error_name.unwrap_or_else(|| "error".into())
                ));
            }
            return Ok((f, little, body));
        }
    }

    fn call<B, R>(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        method: &str,
        body: &B,
    ) -> Result<R, String>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: serde::de::DeserializeOwned + zbus::zvariant::Type,
    {
        let serial = self.send_to(dest, path, iface, method, body)?;
        let (f, little, body) = self.read_reply(serial)?;
        decode(body, little, &f.signature)
    }
}

/// Bytes written to `stream` that the peer has not read yet (SIOCOUTQ); 0 when unknown.
fn unread_bytes(stream: &std::os::unix::net::UnixStream) -> i32 {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) on a socket we own writes one int through the valid pointer given.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if r == 0 {
        n
    } else {
        0
    }
}

/// The systemd manager's object, which answers `Peer.Ping` like any object.
const PING_PATH: &str = "/org/freedesktop/systemd1";

/// A message body of `signature` as `R`.
fn decode<R>(body: Vec<u8>, little: bool, signature: &str) -> Result<R, String>
where
    R: serde::de::DeserializeOwned,
{
    let endian = if little {
        zbus::zvariant::Endian::Little
    } else {
        zbus::zvariant::Endian::Big
    };
    let ctxt = zbus::zvariant::serialized::Context::new_dbus(endian, 0);
    zbus::zvariant::serialized::Data::new(body, ctxt)
        .deserialize_for_signature::<_, R>(signature)
        .map(|(v, _)| v)
        .map_err(|e| format!("reply of signature {signature:?}: {e}"))
}

/// `org.freedesktop.DBus.Properties.Get(iface, prop)` on `path` of `dest`.
pub fn get_property(
    conn: &Conn,
    dest: &str,
    path: &str,
    iface: &str,
    prop: &str,
) -> Result<OwnedValue, CollectError> {
    conn.call(
        dest,
        path,
        "org.freedesktop.DBus.Properties",
        "Get",
        &(iface, prop),
    )
    .map_err(|e| CollectError::Other(format!("getting {iface}.{prop}: {e}")))
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
    fn reads_reply_header_fields() {
        // a(yv) of a method return: REPLY_SERIAL (5, u) 7, SENDER (7, s) "org.freedesktop.systemd1",
        // SIGNATURE (8, g) "v".
        let mut b: Vec<u8> = vec![5, 1, b'u', 0, 7, 0, 0, 0];
        b.extend([7, 1, b's', 0, 24, 0, 0, 0]);
        b.extend(b"org.freedesktop.systemd1\0");
        while !b.len().is_multiple_of(8) {
            b.push(0);
        }
        b.extend([8, 1, b'g', 0, 1, b'v', 0]);
        let f = parse_fields(&b, true).unwrap();
        assert_eq!(
            f,
            ReplyFields {
                reply_serial: Some(7),
                signature: "v".into(),
                error_name: None
            }
        );
        assert!(parse_fields(&[5, 1, b'u', 0, 7], true).is_err());
        assert_eq!(
            unix_path("unix:path=/run/systemd/private"),
            Some("/run/systemd/private")
        );
        assert_eq!(unix_path("unix:guid=x,path=/a"), Some("/a"));
        assert_eq!(unix_path("tcp:host=a"), None);
    }

    /// A fake systemd private socket: EXTERNAL auth, then one call answered by a signal and a reply with
    /// systemd's well-known sender.
    #[test]
    fn direct_calls_a_peer_like_systemds_private_socket() {
        use std::io::{Read, Write};
        let dir = std::env::temp_dir().join(format!("hostlens-dbus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("private");
        let _ = std::fs::remove_file(&sock);
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 1];
            while !got.ends_with(b"BEGIN\r\n") {
                c.read_exact(&mut b).unwrap();
                got.push(b[0]);
                if got.ends_with(b"\r\n")
                    && got.starts_with(b"\0AUTH EXTERNAL ")
                    && !got.ends_with(b"BEGIN\r\n")
                {
                    c.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
                        .unwrap();
                    got.clear();
                }
            }
            let mut fixed = [0u8; 16];
            c.read_exact(&mut fixed).unwrap();
            let word =
                |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
            let (body_len, fields_len, serial) = (word(4), word(12), word(8));
            let mut rest =
                vec![0u8; (16 + fields_len as usize).next_multiple_of(8) - 16 + body_len as usize];
            c.read_exact(&mut rest).unwrap();
            let message = |kind: u8, fields: &[u8], body: &[u8]| {
                let mut m = vec![b'l', kind, 1, 1];
                m.extend((body.len() as u32).to_le_bytes());
                m.extend(100u32.to_le_bytes());
                m.extend((fields.len() as u32).to_le_bytes());
                m.extend(fields);
                while !m.len().is_multiple_of(8) {
                    m.push(0);
                }
                m.extend(body);
                m
            };
            // A signal first (body "s" "x"), then the reply: REPLY_SERIAL, SENDER, SIGNATURE "v".
            c.write_all(&message(
                4,
                &[8, 1, b'g', 0, 1, b's', 0],
                &[1, 0, 0, 0, b'x', 0],
            ))
            .unwrap();
            let mut fields = vec![5, 1, b'u', 0];
            fields.extend(serial.to_le_bytes());
            fields.extend([7, 1, b's', 0, 24, 0, 0, 0]);
            fields.extend(b"org.freedesktop.systemd1\0");
            while !fields.len().is_multiple_of(8) {
                fields.push(0);
            }
            fields.extend([8, 1, b'g', 0, 1, b'v', 0]);
            let body = [1, b's', 0, 0, 3, 0, 0, 0, b'2', b'5', b'2', 0];
            c.write_all(&message(2, &fields, &body)).unwrap();
        });
        let conn = Conn::Direct(std::sync::Mutex::new(
            Direct::connect(&format!("unix:path={}", sock.display())).unwrap(),
        ));
        let v = get_property(
            &conn,
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "Version",
        )
        .unwrap();
        assert_eq!(Prop::from(v), Prop::Str("252".into()));
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
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
