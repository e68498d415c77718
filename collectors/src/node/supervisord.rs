//! `supervisord`: node_supervisord_*{name,group} from supervisord's XML-RPC `supervisor.getAllProcessInfo`
//! at `--collector.supervisord.url` (or `$SUPERVISORD_URL`), as node_exporter 1.12.1's `supervisord`
//! collector (collector/supervisord.go with mattn/go-xmlrpc v0.0.3). Off by default; upstream marks it
//! deprecated ("will be removed in the next major version release", logged once when it is set up, as
//! here).
//!
//! The URL is `http://host[:port]/path` (user and password in it are sent as basic authentication, as Go's
//! client does) or `unix:///path/to/supervisor.sock`, for which the request goes to `/RPC2` over the
//! socket. Per process: `state` and `exit_status`, `up` (1 in STARTING, RUNNING and STOPPING), and
//! `start_time_seconds` (a counter, as upstream) only while it is up. A process info lacking a field keeps
//! the previous process's value, as upstream's one reused struct does. Any failure (connection, HTTP status
//! other than 2xx, a fault instead of a result, a result that is not a list of process infos) fails the
//! collector; node_exporter panics on the last kind, which is reported as an error here.
//!
//! Pure pieces, unit-tested: [`target`] (the URL), [`request`] / [`parse_http_response`] (HTTP/1.1, one
//! request per connection; `https` is not supported), [`parse_method_response`] (the XML-RPC response)
//! and [`processes`]. Only [`call`] touches the network, with Go's 10 s client timeout.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

/// The supervisord collector's flags.
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// XML RPC endpoint.
    #[arg(
        help = "XML RPC endpoint.",
        value_name = "URL",
        id = "collector.supervisord.url",
        long = "collector.supervisord.url",
        env = "SUPERVISORD_URL",
        default_value = "http://localhost:9001/RPC2"
    )]
    pub url: String,
}

/// Where the request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// TCP to `addr` (`host:port`), with the `Host` header, the request target and the basic
    /// authentication (`user:password`, decoded) of the URL.
    Tcp {
        addr: String,
        host: String,
        path: String,
        auth: Option<String>,
    },
    /// A Unix socket; the request is `POST /RPC2` with `Host: unix`, as upstream's fake `http://unix/RPC2`.
    Unix { socket: String },
}

/// Percent-decoding as Go's URL parser applies it to a path and the user info.
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid URL escape {:?}", &s[i..(i + 3).min(s.len())]))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid UTF-8 in {s:?}"))
}

/// Where `url` points, as upstream decides it: scheme `unix` is a socket path, anything else goes to Go's
/// HTTP client (only `http` here; Go also speaks `https`). The error is what fails each scrape (upstream
/// starts with any URL and fails when it posts).
pub fn target(url: &str) -> Result<Target, String> {
    let (scheme, rest) = url
        .split_once(':')
        .filter(|(s, _)| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
        .ok_or_else(|| format!("Post {url:?}: unsupported protocol scheme \"\""))?;
    let scheme = scheme.to_ascii_lowercase();
    // Fragment and query are not part of a unix socket path.
    let without_fragment = rest.split('#').next().unwrap_or("");
    if scheme == "unix" {
        let no_query = without_fragment.split('?').next().unwrap_or("");
        let path = match no_query.strip_prefix("//") {
            // unix://authority/path: the path starts at the first slash after the authority.
            Some(after) => after.find('/').map_or("", |i| &after[i..]),
            None if no_query.starts_with('/') => no_query,
            // unix:relative is an opaque URL without a path.
            None => "",
        };
        return Ok(Target::Unix {
            socket: percent_decode(path)?,
        });
    }
    if scheme == "https" {
        return Err(format!("Post {url:?}: https is not supported by hostlens"));
    }
    if scheme != "http" {
        return Err(format!(
            "Post {url:?}: unsupported protocol scheme {scheme:?}"
        ));
    }
    let Some(after) = without_fragment.strip_prefix("//") else {
        return Err(format!("Post {url:?}: http: no Host in request URL"));
    };
    let (authority, path) = match after.find(['/', '?']) {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    let (auth, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(format!("Post {url:?}: http: no Host in request URL"));
    }
    let auth = match auth {
        Some(u) => {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            Some(format!(
                "{}:{}",
                percent_decode(user)?,
                percent_decode(pass)?
            ))
        }
        None => None,
    };
    // host, host:port, [v6], [v6]:port; the default port is 80.
    let has_port = match host.rfind(':') {
        Some(i) => !host[..i].contains(':') || host[..i].ends_with(']'),
        None => false,
    };
    let addr = if has_port {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(Target::Tcp {
        addr,
        host: host.to_string(),
        path,
        auth,
    })
}

/// Standard base64 with padding (the basic authentication header).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// go-xmlrpc's request body for a call without parameters.
pub fn method_call(method: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{}</methodName><params></params></methodCall>",
        xml_escape(method)
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTTP/1.1 request posting `body` to `target` (`Content-Type: text/xml`, as go-xmlrpc), one request
/// per connection.
pub fn request(target: &Target, body: &str) -> Vec<u8> {
    let (host, path, auth) = match target {
        Target::Tcp {
            host, path, auth, ..
        } => (host.as_str(), path.as_str(), auth.as_deref()),
        Target::Unix { .. } => ("unix", "/RPC2", None),
    };
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hostlens\r\nContent-Length: {}\r\n\
         Content-Type: text/xml\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(a) = auth {
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(a.as_bytes())
        ));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// An HTTP response read to the end of the connection: the status code and the body (de-chunked, or cut
/// at `Content-Length`).
pub fn parse_http_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response: no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "malformed HTTP response header")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("malformed HTTP status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if k.eq_ignore_ascii_case("content-length") {
            length = Some(
                v.parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {v:?}"))?,
            );
        }
    }
    if chunked {
        return dechunk(body).map(|b| (status, b));
    }
    match length {
        Some(n) if body.len() < n => Err(format!(
            "unexpected EOF: {} of {n} bytes of the body",
            body.len()
        )),
        Some(n) => Ok((status, body[..n].to_vec())),
        None => Ok((status, body.to_vec())),
    }
}

/// A chunked body's data.
fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unexpected EOF in a chunked body")?;
        let size_text = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err("unexpected EOF in a chunked body".into());
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    Array(Vec<Value>),
    /// Members in document order (a repeated name: the last wins when read, as in a Go map).
    Struct(Vec<(String, Value)>),
    /// `base64`, `dateTime.iso8601`, `nil`: types node_exporter has no use for.
    Other(&'static str),
}

/// An XML token: what the XML-RPC parser needs (attributes, comments, processing instructions and
/// doctype are skipped).
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Start(String),
    End(String),
    Text(String),
}

fn decode_entities(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let semi = after
            .find(';')
            .ok_or_else(|| format!("XML syntax error: unterminated entity in {s:?}"))?;
        let ent = &after[..semi];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = ent.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                n.and_then(char::from_u32)
                    .ok_or_else(|| format!("XML syntax error: invalid character entity &{ent};"))?
            }
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn tokenize(xml: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    // Open elements: an end tag must close the innermost one, as Go's decoder requires.
    let mut open: Vec<String> = Vec::new();
    let mut rest = xml;
    let unterminated = |what: &str| format!("XML syntax error: unterminated {what}");
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            tokens.push(Token::Text(decode_entities(rest)?));
            break;
        };
        if lt > 0 {
            tokens.push(Token::Text(decode_entities(&rest[..lt])?));
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<?") {
            let e = r.find("?>").ok_or_else(|| unterminated("<?"))?;
            rest = &r[e + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            let e = r.find("-->").ok_or_else(|| unterminated("comment"))?;
            rest = &r[e + 3..];
        } else if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let e = r.find("]]>").ok_or_else(|| unterminated("CDATA"))?;
            tokens.push(Token::Text(r[..e].to_string()));
            rest = &r[e + 3..];
        } else if let Some(r) = rest.strip_prefix("<!") {
            let e = r.find('>').ok_or_else(|| unterminated("<!"))?;
            rest = &r[e + 1..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let e = r.find('>').ok_or_else(|| unterminated("end tag"))?;
            let name = r[..e].trim().to_string();
            match open.pop() {
                Some(o) if o == name => {}
                Some(o) => {
                    return Err(format!(
                        "XML syntax error: element <{o}> closed by </{name}>"
                    ))
                }
                None => {
                    return Err(format!(
                        "XML syntax error: unexpected end element </{name}>"
                    ))
                }
            }
            tokens.push(Token::End(name));
            rest = &r[e + 1..];
        } else {
            let r = &rest[1..];
            // The tag ends at the first `>` outside a quoted attribute value.
            let mut quote = None;
            let mut end = None;
            for (i, c) in r.char_indices() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let e = end.ok_or_else(|| unterminated("start tag"))?;
            let inner = &r[..e];
            let self_closing = inner.ends_with('/');
            let inner = inner.strip_suffix('/').unwrap_or(inner);
            let name = inner
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_string();
            if name.is_empty() {
                return Err("XML syntax error: a tag without a name".into());
            }
            tokens.push(Token::Start(name.clone()));
            if self_closing {
                tokens.push(Token::End(name));
            } else {
                open.push(name);
            }
            rest = &r[e + 1..];
        }
    }
    if let Some(o) = open.pop() {
        return Err(format!("XML syntax error: unexpected EOF in <{o}>"));
    }
    Ok(tokens)
}

/// The local part of an element name (`ns:value` is `value`, as Go's `xml.Name.Local`).
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// The next start tag, skipping text and end tags (go-xmlrpc's `nextStart`).
    fn next_start(&mut self) -> Option<String> {
        while let Some(t) = self.next() {
            if let Token::Start(n) = t {
                return Some(local(&n).to_string());
            }
        }
        None
    }

    /// Text up to the end tag of the element just opened; a nested element is an error.
    fn text_until_end(&mut self, element: &str) -> Result<String, String> {
        let mut text = String::new();
        loop {
            match self.next() {
                Some(Token::Text(t)) => text.push_str(&t),
                Some(Token::End(_)) => return Ok(text),
                Some(Token::Start(n)) => {
                    return Err(format!("invalid response: <{n}> inside <{element}>"))
                }
                None => return Err(format!("invalid response: unterminated <{element}>")),
            }
        }
    }

    /// The skipped whitespace and the end tag closing the current element.
    fn expect_end(&mut self, element: &str) -> Result<(), String> {
        loop {
            match self.next() {
                Some(Token::Text(t)) if t.trim().is_empty() => {}
                Some(Token::End(_)) => return Ok(()),
                _ => {
                    return Err(format!(
                        "invalid response: unexpected content in <{element}>"
                    ))
                }
            }
        }
    }

    /// A value whose `<value>` start tag was just read, through its `</value>`.
    fn value(&mut self) -> Result<Value, String> {
        let mut text = String::new();
        let kind = loop {
            match self.next() {
                Some(Token::Text(t)) => text.push_str(&t),
                // <value>text</value>: an untyped string.
                Some(Token::End(_)) => return Ok(Value::Str(text)),
                Some(Token::Start(n)) => break local(&n).to_string(),
                None => return Err("invalid response: unterminated <value>".into()),
            }
        };
        let v = self.typed(&kind)?;
        self.expect_end("value")?;
        Ok(v)
    }

    /// The content of a `<kind>` element just opened, through its end tag.
    fn typed(&mut self, kind: &str) -> Result<Value, String> {
        let number = |s: &str| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| format!("strconv.Atoi: parsing {:?}: invalid syntax", s.trim()))
        };
        Ok(match kind {
            "string" => Value::Str(self.text_until_end(kind)?),
            "int" | "i1" | "i2" | "i4" | "i8" => Value::Int(number(&self.text_until_end(kind)?)?),
            "boolean" => match self.text_until_end(kind)?.trim() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err("invalid boolean value".into()),
            },
            "double" => {
                let t = self.text_until_end(kind)?;
                Value::Double(
                    t.trim()
                        .parse()
                        .map_err(|_| format!("strconv.ParseFloat: parsing {:?}", t.trim()))?,
                )
            }
            "base64" | "dateTime.iso8601" | "nil" => {
                self.text_until_end(kind)?;
                Value::Other(match kind {
                    "base64" => "base64",
                    "nil" => "nil",
                    _ => "dateTime.iso8601",
                })
            }
            "array" => {
                let mut items = Vec::new();
                match self.next_start().as_deref() {
                    Some("data") => {}
                    _ => return Err("invalid response: <array> without <data>".into()),
                }
                loop {
                    match self.next() {
                        Some(Token::Text(t)) if t.trim().is_empty() => {}
                        Some(Token::Start(n)) if local(&n) == "value" => items.push(self.value()?),
                        Some(Token::End(_)) => break, // </data>
                        _ => return Err("invalid response: unexpected content in <data>".into()),
                    }
                }
                self.expect_end("array")?;
                Value::Array(items)
            }
            "struct" => {
                let mut members = Vec::new();
                loop {
                    match self.next() {
                        Some(Token::Text(t)) if t.trim().is_empty() => {}
                        Some(Token::Start(n)) if local(&n) == "member" => {
                            if self.next_start().as_deref() != Some("name") {
                                return Err("invalid response".into());
                            }
                            let name = self.text_until_end("name")?;
                            if self.next_start().as_deref() != Some("value") {
                                return Err("invalid response".into());
                            }
                            let v = self.value()?;
                            self.expect_end("member")?;
                            members.push((name, v));
                        }
                        Some(Token::End(_)) => break, // </struct>
                        _ => return Err("invalid response: unexpected content in <struct>".into()),
                    }
                }
                Value::Struct(members)
            }
            other => return Err(format!("invalid response: unknown value type <{other}>")),
        })
    }
}

/// The result of an XML-RPC method response (`methodResponse/params/param/value`); a fault is an error,
/// as go-xmlrpc's "missing params".
pub fn parse_method_response(xml: &str) -> Result<Value, String> {
    let mut p = Parser {
        tokens: tokenize(xml)?,
        pos: 0,
    };
    for want in ["methodResponse", "params", "param", "value"] {
        if p.next_start().as_deref() != Some(want) {
            return Err(format!("invalid response: missing {want}"));
        }
    }
    p.value()
}

/// The fields node_exporter reads from one process info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    pub name: String,
    pub group: String,
    pub start: i64,
    pub state: i64,
    pub exit_status: i64,
}

/// The process infos of a `getAllProcessInfo` result, each starting from the previous one's fields (the
/// one struct upstream reuses). Upstream panics on a result that is not an array of structs or a field of
/// another type; that is an error here.
pub fn processes(result: &Value) -> Result<Vec<ProcessInfo>, String> {
    let Value::Array(items) = result else {
        return Err(format!(
            "supervisor.getAllProcessInfo returned {result:?}, not an array"
        ));
    };
    let mut info = ProcessInfo::default();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Struct(members) = item else {
            return Err(format!("a process info is {item:?}, not a struct"));
        };
        for (k, v) in members {
            let bad = || Err(format!("process info field {k:?} is {v:?}"));
            match (k.as_str(), v) {
                ("name", Value::Str(s)) => info.name = s.clone(),
                ("group", Value::Str(s)) => info.group = s.clone(),
                ("start", Value::Int(i)) => info.start = *i,
                ("state", Value::Int(i)) => info.state = *i,
                ("exitstatus", Value::Int(i)) => info.exit_status = *i,
                // Read (and type-checked) upstream, not exported.
                ("stop" | "now" | "pid", Value::Int(_)) | ("statename", Value::Str(_)) => {}
                ("name" | "group" | "statename", _)
                | ("start" | "stop" | "now" | "state" | "exitstatus" | "pid", _) => return bad(),
                _ => {}
            }
        }
        out.push(info.clone());
    }
    Ok(out)
}

/// supervisord's STARTING, RUNNING and STOPPING: the states upstream counts as up.
pub fn is_running(state: i64) -> bool {
    matches!(state, 10 | 20 | 40)
}

/// Append the samples of the processes.
pub fn push_processes(procs: &[ProcessInfo], out: &mut MetricSet) {
    for p in procs {
        let labels = [("name", p.name.as_str()), ("group", p.group.as_str())];
        out.gauge(
            "node_supervisord_state",
            "Process State",
            &labels,
            p.state as f64,
        );
        out.gauge(
            "node_supervisord_exit_status",
            "Process Exit Status",
            &labels,
            p.exit_status as f64,
        );
        if is_running(p.state) {
            out.gauge("node_supervisord_up", "Process Up", &labels, 1.0);
            out.counter(
                "node_supervisord_start_time_seconds",
                "Process start time",
                &labels,
                p.start as f64,
            );
        } else {
            out.gauge("node_supervisord_up", "Process Up", &labels, 0.0);
        }
    }
}

/// Go's `http.Client.Timeout` in go-xmlrpc, and upstream's dial timeout for the socket.
const TIMEOUT: Duration = Duration::from_secs(10);

fn exchange(mut s: impl Read + Write, req: &[u8]) -> std::io::Result<Vec<u8>> {
    s.write_all(req)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    Ok(raw)
}

/// Post `method`'s call to `target` and return its result.
pub fn call(target: &Target, method: &str) -> Result<Value, String> {
    let req = request(target, &method_call(method));
    let raw = match target {
        Target::Unix { socket } => {
            let s = UnixStream::connect(socket).map_err(|e| format!("dial unix {socket}: {e}"))?;
            s.set_read_timeout(Some(TIMEOUT))
                .and_then(|()| s.set_write_timeout(Some(TIMEOUT)))
                .map_err(|e| format!("{socket}: {e}"))?;
            exchange(s, &req).map_err(|e| format!("Post \"http://unix/RPC2\": {e}"))?
        }
        Target::Tcp { addr, .. } => {
            // Every address the name resolves to, in order, until one accepts (as Go's dialer falls back).
            let mut last = format!("dial tcp {addr}: no address");
            let mut conn = None;
            for sa in addr
                .to_socket_addrs()
                .map_err(|e| format!("dial tcp {addr}: {e}"))?
            {
                match TcpStream::connect_timeout(&sa, TIMEOUT) {
                    Ok(s) => {
                        conn = Some(s);
                        break;
                    }
                    Err(e) => last = format!("dial tcp {sa}: {e}"),
                }
            }
            let s = conn.ok_or(last)?;
            s.set_read_timeout(Some(TIMEOUT))
                .and_then(|()| s.set_write_timeout(Some(TIMEOUT)))
                .map_err(|e| format!("{addr}: {e}"))?;
            exchange(s, &req).map_err(|e| format!("Post {addr}: {e}"))?
        }
    };
    let (status, body) = parse_http_response(&raw)?;
    if status / 100 != 2 {
        // go-xmlrpc reports any status other than 2xx as "Bad Request".
        return Err(format!("Bad Request (HTTP status {status})"));
    }
    let body = String::from_utf8(body).map_err(|_| "the response is not UTF-8".to_string())?;
    parse_method_response(&body)
}

pub struct Supervisord {
    target: Result<Target, String>,
}

impl NodeCollector for Supervisord {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        tracing::warn!(
            collector = "supervisord",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Supervisord {
            target: target(&cfg.supervisord.url),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let fail = |e: String| CollectError::Other(format!("unable to call supervisord: {e}"));
        let target = self.target.clone().map_err(fail)?;
        let result = call(&target, "supervisor.getAllProcessInfo").map_err(fail)?;
        let procs = processes(&result).map_err(CollectError::Other)?;
        push_processes(&procs, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::fixture_root;

    fn fixture(name: &str) -> String {
        let p = fixture_root().join("supervisord").join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn urls() {
        let tcp = |addr: &str, host: &str, path: &str, auth: Option<&str>| Target::Tcp {
            addr: addr.into(),
            host: host.into(),
            path: path.into(),
            auth: auth.map(str::to_string),
        };
        assert_eq!(
            target("http://localhost:9001/RPC2"),
            Ok(tcp("localhost:9001", "localhost:9001", "/RPC2", None))
        );
        assert_eq!(
            target("HTTP://u%40x:p%3A@127.0.0.1/RPC2?a=1#frag"),
            Ok(tcp(
                "127.0.0.1:80",
                "127.0.0.1",
                "/RPC2?a=1",
                Some("u@x:p:")
            ))
        );
        assert_eq!(
            target("http://[::1]:9001"),
            Ok(tcp("[::1]:9001", "[::1]:9001", "/", None))
        );
        assert_eq!(
            target("http://[::1]"),
            Ok(tcp("[::1]:80", "[::1]", "/", None))
        );
        let unix = |p: &str| Ok(Target::Unix { socket: p.into() });
        assert_eq!(
            target("unix:///run/supervisor.sock"),
            unix("/run/supervisor.sock")
        );
        assert_eq!(target("unix:/run/s%20v.sock"), unix("/run/s v.sock"));
        assert_eq!(target("unix://host/tmp/x.sock?q"), unix("/tmp/x.sock"));
        assert_eq!(target("unix:relative"), unix(""));
        for bad in [
            "localhost:9001",
            "ftp://x/",
            "https://x/",
            "http://",
            "http:x",
            "/RPC2",
        ] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_bytes() {
        let t = target("http://admin:secret@localhost:9001/RPC2").expect("valid");
        let body = method_call("supervisor.getAllProcessInfo");
        assert_eq!(
            body,
            "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName>\
             <params></params></methodCall>"
        );
        let req = String::from_utf8(request(&t, &body)).expect("text");
        assert!(
            req.starts_with("POST /RPC2 HTTP/1.1\r\nHost: localhost:9001\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nContent-Type: text/xml\r\n"));
        assert!(req.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(req.contains("\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n"));
        assert!(req.ends_with(&format!("\r\n\r\n{body}")));
        let u = String::from_utf8(request(
            &Target::Unix {
                socket: "/s".into(),
            },
            "x",
        ))
        .expect("text");
        assert!(
            u.starts_with("POST /RPC2 HTTP/1.1\r\nHost: unix\r\n"),
            "{u}"
        );
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn http_responses() {
        let r = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more");
        assert_eq!(r, Ok((200, b"hello".to_vec())));
        let r = parse_http_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=1\r\n, w\r\n0\r\n\r\n",
        );
        assert_eq!(r, Ok((200, b"hello, w".to_vec())));
        let r = parse_http_response(b"HTTP/1.0 401 Unauthorized\r\nServer: x\r\n\r\nno");
        assert_eq!(r, Ok((401, b"no".to_vec())));
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_http_response(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn parses_supervisors_response() {
        let v = parse_method_response(&fixture("getAllProcessInfo.xml")).expect("parses");
        let procs = processes(&v).expect("process infos");
        let p = |name: &str, group: &str, start, state, exit_status| ProcessInfo {
            name: name.into(),
            group: group.into(),
            start,
            state,
            exit_status,
        };
        assert_eq!(
            procs,
            vec![
                p("web", "apps", 1_795_996_700, 20, 0),
                p("idle", "idle", 0, 0, 0),
                p("oneshot", "oneshot", 1_795_996_750, 100, 3),
                // No exitstatus: the previous process's, as upstream's reused struct.
                p("<worker&1>", "workers", 1_795_996_760, 10, 3),
            ]
        );
        let mut out = MetricSet::new();
        push_processes(&procs, &mut out);
        let l = |n, g| [("name", n), ("group", g)];
        assert_eq!(
            out.value("node_supervisord_up", &l("web", "apps")),
            Some(1.0)
        );
        assert_eq!(
            out.value("node_supervisord_start_time_seconds", &l("web", "apps")),
            Some(1_795_996_700.0)
        );
        assert_eq!(
            out.value("node_supervisord_state", &l("web", "apps")),
            Some(20.0)
        );
        assert_eq!(
            out.value("node_supervisord_up", &l("idle", "idle")),
            Some(0.0)
        );
        assert_eq!(
            out.value("node_supervisord_start_time_seconds", &l("idle", "idle")),
            None
        );
        assert_eq!(
            out.value("node_supervisord_exit_status", &l("oneshot", "oneshot")),
            Some(3.0)
        );
        assert_eq!(
            out.value("node_supervisord_up", &l("<worker&1>", "workers")),
            Some(1.0)
        );
        assert_eq!(
            out.get("node_supervisord_start_time_seconds")
                .map(|f| f.kind),
            Some(crate::Kind::Counter)
        );
    }

    #[test]
    fn values() {
        let v = |x: &str| {
            parse_method_response(&format!(
                "<methodResponse><params><param><value>{x}</value></param></params></methodResponse>"
            ))
        };
        assert_eq!(v("<int> 42 </int>"), Ok(Value::Int(42)));
        assert_eq!(v("<i8>-7</i8>"), Ok(Value::Int(-7)));
        assert_eq!(
            v("plain &amp; simple"),
            Ok(Value::Str("plain & simple".into()))
        );
        assert_eq!(v("<string/>"), Ok(Value::Str(String::new())));
        assert_eq!(v("<boolean>1</boolean>"), Ok(Value::Bool(true)));
        assert_eq!(v("<double>1.5</double>"), Ok(Value::Double(1.5)));
        assert_eq!(v("<nil/>"), Ok(Value::Other("nil")));
        assert_eq!(v("<array><data></data></array>"), Ok(Value::Array(vec![])));
        assert_eq!(
            v("<struct><member><name>a</name><value><i4>1</i4></value></member></struct>"),
            Ok(Value::Struct(vec![("a".into(), Value::Int(1))]))
        );
        assert!(v("<int>x</int>").is_err());
        assert!(v("<boolean>yes</boolean>").is_err());
        assert!(v("<int>1").is_err());
        // An empty list is no processes; a fault or another shape is an error.
        assert_eq!(processes(&Value::Array(vec![])), Ok(vec![]));
        assert!(processes(&Value::Int(1)).is_err());
        assert!(processes(&Value::Array(vec![Value::Int(1)])).is_err());
        let wrong = Value::Array(vec![Value::Struct(vec![(
            "state".into(),
            Value::Str("RUNNING".into()),
        )])]);
        assert!(processes(&wrong).is_err());
        let fault = fixture("fault.xml");
        assert_eq!(
            parse_method_response(&fault),
            Err("invalid response: missing params".into())
        );
    }

    #[test]
    fn unreachable_supervisord_fails_the_collector() {
        let mut cfg = NodeConfig::default();
        cfg.supervisord.url = "unix:///nonexistent/hostlens-supervisor.sock".into();
        let mut out = MetricSet::new();
        let e = Supervisord::new(&cfg)
            .expect("any URL is accepted at start")
            .collect(&mut out)
            .expect_err("no socket");
        assert!(
            e.to_string().starts_with("unable to call supervisord: "),
            "{e}"
        );
        cfg.supervisord.url = "ftp://x/".into();
        assert!(Supervisord::new(&cfg)
            .expect("starts")
            .collect(&mut out)
            .is_err());
        assert!(out.is_empty());
    }
}
