//! Netlink: the one place where the node collectors talk to the kernel over a netlink socket (`arp`,
//! `network_route`, `qdisc`, `tcpstat`, `wifi`), as node_exporter's collectors do through mdlayher/netlink and
//! jsimonetti/rtnetlink.
//!
//! The stack is rust-netlink's: `netlink-sys` (the blocking socket), `netlink-packet-core` (message framing),
//! `netlink-packet-route` (rtnetlink: links, neighbours, routes, qdiscs) and `netlink-packet-sock-diag`
//! (inet_diag), with `netlink-packet-generic` for generic netlink (nl80211's family id; nl80211's own
//! attributes are read by the wifi collector, as mdlayher/wifi reads them). Why these: they are the maintained netlink crates the rest of the Rust ecosystem uses
//! (rtnetlink, iproute2 ports, nmstate), one family of crates sharing one `netlink-packet-core`, with no
//! async runtime required (the collectors are synchronous and run on a blocking thread), and their message
//! types parse from and emit to plain byte slices, so the parsing is unit-tested on captured bytes.
//!
//! [`dump`] sends one `NLM_F_REQUEST | NLM_F_DUMP` request and collects every reply until `NLMSG_DONE`;
//! [`parse_replies`] is its pure half: one datagram of replies into messages, a kernel error into an
//! [`std::io::Error`] with the errno.

use std::fmt::Debug;
use std::io;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr};

pub use netlink_sys::protocols::{NETLINK_GENERIC, NETLINK_ROUTE, NETLINK_SOCK_DIAG};

/// Netlink answers for the network namespace the socket was made in: the agent's own. With `--path.netns-pid`
/// naming another namespace ([`crate::Roots::other_netns`], the stack's container), a collector that can only
/// ask over netlink (or by a socket ioctl, ethtool) would serve the container's interfaces, routes or sockets as the host's: it fails instead,
/// saying why and what to do. (Entering the namespace, setns(2), needs CAP_SYS_ADMIN, which the agent does not
/// get.) arp and netdev have file equivalents under `/proc/<pid>/net` and use them there.
pub fn same_namespace(roots: &crate::Roots, collector: &str) -> Result<(), crate::CollectError> {
    if roots.other_netns() {
        return Err(crate::CollectError::Other(format!(
            "{collector} reads over netlink, which answers for the agent's own network namespace, not for the \
             one of {} (--path.netns-pid): run the agent in that namespace (Compose: network_mode: host, without \
             --path.netns-pid) to use {collector}",
            roots.procfs_net.display()
        )));
    }
    Ok(())
}

/// What one datagram of replies to a dump holds.
#[derive(Debug)]
pub struct Replies<I> {
    /// The messages, in the kernel's order.
    pub messages: Vec<I>,
    /// `NLMSG_DONE` was seen: the dump is complete.
    pub done: bool,
    /// A message carried `NLM_F_DUMP_INTR`: the table changed during the dump (the dump is still used, as
    /// mdlayher/netlink does).
    pub interrupted: bool,
}

/// Split one datagram of netlink replies into messages. A kernel error (`NLMSG_ERROR` with a non-zero
/// code) is that errno; an ACK (code 0) ends the replies as `NLMSG_DONE` does; `NLMSG_NOOP` is skipped; a message that does not decode is
/// an [`io::ErrorKind::InvalidData`] error saying why.
pub fn parse_replies<I>(bytes: &[u8]) -> io::Result<Replies<I>>
where
    I: NetlinkDeserializable + Debug,
{
    let mut replies = Replies {
        messages: Vec::new(),
        done: false,
        interrupted: false,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = NetlinkBuffer::new_checked(rest)
            .map_err(|e| invalid(format!("netlink message header: {e}")))?
            .length() as usize;
        // A header's length counts itself; messages are padded to 4 bytes.
        let (msg_bytes, next) = rest.split_at(len.min(rest.len()));
        rest = next.get(padding(len)..).unwrap_or(&[]);
        let msg = NetlinkMessage::<I>::deserialize(msg_bytes)
            .map_err(|e| invalid(format!("netlink message: {e}")))?;
        if msg.header.flags & NLM_F_DUMP_INTR != 0 {
            replies.interrupted = true;
        }
        match msg.payload {
            NetlinkPayload::InnerMessage(m) => replies.messages.push(m),
            NetlinkPayload::Done(_) => {
                replies.done = true;
                break;
            }
            NetlinkPayload::Error(e) => {
                if e.code.is_some() {
                    return Err(e.to_io());
                }
                // The ACK of a request sent with NLM_F_ACK ends its replies.
                replies.done = true;
                break;
            }
            NetlinkPayload::Overrun(_) => {
                return Err(invalid("netlink overrun".to_string()));
            }
            _ => {}
        }
    }
    Ok(replies)
}

/// Bytes after a message of length `len` before the next one (NLMSG_ALIGN).
fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// A netlink socket of `protocol`, bound and connected to the kernel.
fn open(protocol: isize) -> io::Result<Socket> {
    let mut socket = Socket::new(protocol)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    Ok(socket)
}

/// Send the dump request `request` (message type from the request itself) on a new socket of `protocol`
/// and return every reply message until `NLMSG_DONE`.
pub fn dump<I>(protocol: isize, request: I) -> io::Result<Vec<I>>
where
    I: NetlinkSerializable + NetlinkDeserializable + Debug,
{
    request_with_flags(protocol, request, NLM_F_REQUEST | NLM_F_DUMP)
}

/// Send `request` with `flags` (`NLM_F_REQUEST` and `NLM_F_DUMP` or `NLM_F_ACK`) and return the reply
/// messages until `NLMSG_DONE` or the ACK.
pub fn request_with_flags<I>(protocol: isize, request: I, flags: u16) -> io::Result<Vec<I>>
where
    I: NetlinkSerializable + NetlinkDeserializable + Debug,
{
    let mut out = Vec::new();
    exchange(protocol, request, flags, |bytes| {
        let replies = parse_replies::<I>(bytes)?;
        out.extend(replies.messages);
        Ok(replies.done)
    })?;
    Ok(out)
}

/// The socket half of [`dump`]: send `request` with `flags`, hand each datagram received to `datagram`
/// until it says the replies are complete.
pub fn exchange<I>(
    protocol: isize,
    request: I,
    flags: u16,
    mut datagram: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<()>
where
    I: NetlinkSerializable + Debug,
{
    let socket = open(protocol)?;
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0)?;
    loop {
        let (bytes, _) = socket.recv_from_full()?;
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "netlink socket closed before NLMSG_DONE",
            ));
        }
        if datagram(&bytes)? {
            return Ok(());
        }
    }
}

/// A reply's message type and its undecoded payload.
pub type RawMessage<'a> = (u16, &'a [u8]);

/// One datagram of replies split into `(message type, payload)` without decoding the payloads, for callers
/// that decode attributes one by one (netdev: an attribute the crate cannot decode must not cost the link),
/// and whether `NLMSG_DONE` (or an ACK) ended the replies. A kernel error is that errno.
pub fn parse_raw_replies(bytes: &[u8]) -> io::Result<(Vec<RawMessage<'_>>, bool)> {
    use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR};
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let buf = NetlinkBuffer::new_checked(rest)
            .map_err(|e| invalid(format!("netlink message header: {e}")))?;
        let len = buf.length() as usize;
        let (ty, payload) = (buf.message_type(), buf.payload());
        match ty {
            NLMSG_DONE => return Ok((out, true)),
            NLMSG_ERROR => {
                let code = payload
                    .get(..4)
                    .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
            }
            _ => out.push((ty, payload)),
        }
        rest = rest.get(len + padding(len)..).unwrap_or(&[]);
    }
    Ok((out, false))
}

/// A dump request of message type `ty` with the raw request body `body` on a new socket of `protocol`;
/// `message` is handed every reply's `(type, payload)` until `NLMSG_DONE` ([`parse_raw_replies`]).
pub fn raw_dump(
    protocol: isize,
    ty: u16,
    body: &[u8],
    mut message: impl FnMut(u16, &[u8]),
) -> io::Result<()> {
    let socket = open(protocol)?;
    let len = 16 + body.len();
    let mut req = Vec::with_capacity(len);
    req.extend((len as u32).to_ne_bytes());
    req.extend(ty.to_ne_bytes());
    req.extend((NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend(1u32.to_ne_bytes());
    req.extend(0u32.to_ne_bytes());
    req.extend(body);
    socket.send(&req, 0)?;
    loop {
        let (bytes, _) = socket.recv_from_full()?;
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "netlink socket closed before NLMSG_DONE",
            ));
        }
        let (msgs, done) = parse_raw_replies(&bytes)?;
        for (ty, payload) in msgs {
            message(ty, payload);
        }
        if done {
            return Ok(());
        }
    }
}

/// An rtnetlink dump (`NETLINK_ROUTE`): `request` is one of the `Get*` messages.
pub fn route_dump(request: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
    dump(NETLINK_ROUTE, request)
}

/// The interfaces' names by index (`RTM_GETLINK` dump), what Go's `net.Interfaces()` reads.
pub fn link_names() -> io::Result<Vec<(u32, String)>> {
    use netlink_packet_route::link::LinkMessage;
    let msgs = route_dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(link_names_of(msgs))
}

/// The `(index, name)` of every `RTM_NEWLINK` message (a link without a name has "").
pub fn link_names_of(msgs: Vec<RouteNetlinkMessage>) -> Vec<(u32, String)> {
    use netlink_packet_route::link::LinkAttribute;
    msgs.into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => {
                let name = link
                    .attributes
                    .into_iter()
                    .find_map(|a| match a {
                        LinkAttribute::IfName(n) => Some(n),
                        _ => None,
                    })
                    .unwrap_or_default();
                Some((link.header.index, name))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, NLMSG_DONE};

    /// A netlink message with `payload` bytes, type `ty`, flags `flags`.
    pub fn raw(ty: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut b = Vec::new();
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&1u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(payload);
        b.resize(b.len() + padding(len), 0);
        b
    }

    #[test]
    fn link_dump_and_done() {
        // Two RTM_NEWLINK messages (ifinfomsg + IFLA_IFNAME) and NLMSG_DONE in one datagram.
        let link = |index: u32, name: &str| {
            let mut p = vec![0u8; 16];
            p[4..8].copy_from_slice(&index.to_ne_bytes());
            let mut attr = Vec::new();
            let alen = 4 + name.len() + 1;
            attr.extend_from_slice(&(alen as u16).to_ne_bytes());
            attr.extend_from_slice(&3u16.to_ne_bytes()); // IFLA_IFNAME
            attr.extend_from_slice(name.as_bytes());
            attr.push(0);
            attr.resize(attr.len() + padding(alen), 0);
            p.extend(attr);
            raw(16, 2, &p) // RTM_NEWLINK, NLM_F_MULTI
        };
        let mut bytes = link(1, "lo");
        bytes.extend(link(7, "eth0"));
        bytes.extend(raw(NLMSG_DONE, 2, &0i32.to_ne_bytes()));
        let r = parse_replies::<RouteNetlinkMessage>(&bytes).unwrap();
        assert!(r.done && !r.interrupted);
        assert_eq!(
            link_names_of(r.messages),
            [(1, "lo".to_string()), (7, "eth0".to_string())]
        );
    }

    #[test]
    fn kernel_error_is_the_errno() {
        let mut p = (-libc::EPERM).to_ne_bytes().to_vec();
        p.extend(vec![0u8; 16]); // the request's header
        let bytes = raw(2, 0, &p); // NLMSG_ERROR
        let e = parse_replies::<RouteNetlinkMessage>(&bytes).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        // An ACK (error 0) is not an error.
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend(vec![0u8; 16]);
        let r = parse_replies::<RouteNetlinkMessage>(&raw(2, 0, &ack)).unwrap();
        assert!(r.messages.is_empty() && r.done);
    }

    #[test]
    fn truncated_and_garbage_are_errors() {
        assert!(parse_replies::<RouteNetlinkMessage>(&[1, 2, 3]).is_err());
        let mut bytes = raw(16, 2, &[0u8; 16]);
        bytes.truncate(20);
        assert!(parse_replies::<RouteNetlinkMessage>(&bytes).is_err());
    }

    #[test]
    fn dump_request_serializes() {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut msg = NetlinkMessage::new(
            header,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(Default::default())),
        );
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 18); // RTM_GETLINK
        assert_eq!(u16::from_ne_bytes([buf[6], buf[7]]), 0x301);
    }
}

/// Captures of this development host's replies (`collectors/tests/fixtures/netlink/*.bin`: the datagrams of
/// one dump, concatenated), written by the ignored test below and parsed by the collectors' unit tests.
#[cfg(test)]
pub mod capture {
    use std::path::PathBuf;

    use netlink_packet_route::link::LinkMessage;
    use netlink_packet_route::neighbour::NeighbourMessage;
    use netlink_packet_route::route::RouteMessage;
    use netlink_packet_route::tc::TcMessage;
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, IPPROTO_TCP};

    use super::*;

    /// `collectors/tests/fixtures/netlink/<name>.bin`.
    pub fn path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/netlink")
            .join(format!("{name}.bin"))
    }

    /// The messages of the capture `name`.
    pub fn read<I: NetlinkDeserializable + Debug>(name: &str) -> Vec<I> {
        let bytes = std::fs::read(path(name)).unwrap();
        let r = parse_replies::<I>(&bytes).unwrap();
        assert!(r.done, "{name}: no NLMSG_DONE");
        r.messages
    }

    fn save<I: NetlinkSerializable + Debug>(name: &str, protocol: isize, request: I) {
        let mut all = Vec::new();
        exchange(protocol, request, NLM_F_REQUEST | NLM_F_DUMP, |d| {
            all.extend_from_slice(d);
            Ok(ends_with_done(d))
        })
        .unwrap();
        std::fs::write(path(name), all).unwrap();
    }

    fn ends_with_done(d: &[u8]) -> bool {
        // The last message of a datagram: NLMSG_DONE (type 3) ends the dump.
        let mut rest = d;
        let mut last = 0u16;
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            last = u16::from_ne_bytes([rest[4], rest[5]]);
            let step = len.div_ceil(4) * 4;
            if len < 16 || step > rest.len() {
                break;
            }
            rest = &rest[step..];
        }
        last == netlink_packet_core::NLMSG_DONE
    }

    /// `NETLINK_CAPTURE=1 cargo test -p hostlens-collectors --lib capture_this_host -- --ignored`
    #[test]
    #[ignore]
    fn capture_this_host() {
        if std::env::var_os("NETLINK_CAPTURE").is_none() {
            return;
        }
        save(
            "links",
            NETLINK_ROUTE,
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        );
        save(
            "qdiscs",
            NETLINK_ROUTE,
            RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default()),
        );
        save(
            "routes",
            NETLINK_ROUTE,
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        );
        save(
            "neighbours",
            NETLINK_ROUTE,
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
        );
        save(
            "tcp4",
            NETLINK_SOCK_DIAG,
            SockDiagMessage::InetRequest(InetRequest {
                family: AF_INET,
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::empty(),
                states: StateFlags::from_bits_retain(0xFFF),
                socket_id: SocketId::new_v4(),
            }),
        );
    }
}

#[cfg(test)]
mod namespace_tests {
    use super::same_namespace;
    use crate::Roots;

    #[test]
    fn another_namespace_is_refused_with_the_fix() {
        assert!(same_namespace(&Roots::new("/proc", "/sys", "/", None), "qdisc").is_ok());
        let err = same_namespace(
            &Roots::new("/host/proc", "/host/sys", "/", Some(1)),
            "qdisc",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/host/proc/1/net") && err.contains("network_mode: host"),
            "{err}"
        );
    }
}
