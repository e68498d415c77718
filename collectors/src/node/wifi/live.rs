//! The live nl80211 client: generic netlink (`netlink-packet-generic` resolves the `nl80211` family) and
//! nl80211's attributes read as mdlayher/wifi v0.8.0 reads them (client_linux.go), the only fields
//! node_exporter uses:
//!
//! - interfaces: an `NL80211_CMD_GET_INTERFACE` dump, one [`Interface`] per message (`IFINDEX`, `IFNAME`,
//!   `MAC`, `IFTYPE`, `WIPHY_FREQ`);
//! - BSS: an `NL80211_CMD_GET_SCAN` dump for the interface; the first `NL80211_ATTR_BSS` that has a
//!   `NL80211_BSS_STATUS` is the one (`BSSID`, `STATUS`, the SSID from the information elements); none is
//!   "not found";
//! - stations: an `NL80211_CMD_GET_STATION` dump for the interface; a message without `STA_INFO` makes the
//!   whole answer "not found"; bitrates are `RATE_INFO_BITRATE32` (else the 16-bit `BITRATE`) in 100 kbit/s;
//!   the 64-bit byte counters win over the 32-bit ones.
//!
//! A kernel `ENOENT` is mdlayher/wifi's `os.ErrNotExist`. No wifi device on the development host: this is
//! tested on hand-built messages only.

use std::fmt::Debug;
use std::io;

use netlink_packet_core::{
    DecodeError, Emitable, NlasIterator, ParseableParametrized, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use super::{Bss, Interface, StationInfo, WifiStater};
use crate::error::ParseError;
use crate::read::netlink::{request_with_flags, NETLINK_GENERIC};
use crate::CollectError;

const CMD_GET_INTERFACE: u8 = 5;
const CMD_GET_STATION: u8 = 17;
const CMD_GET_SCAN: u8 = 32;

const ATTR_IFINDEX: u16 = 3;
const ATTR_IFNAME: u16 = 4;
const ATTR_IFTYPE: u16 = 5;
const ATTR_MAC: u16 = 6;
const ATTR_STA_INFO: u16 = 21;
const ATTR_WIPHY_FREQ: u16 = 38;
const ATTR_BSS: u16 = 47;

const BSS_BSSID: u16 = 1;
const BSS_INFORMATION_ELEMENTS: u16 = 6;
const BSS_STATUS: u16 = 9;

const STA_INFO_INACTIVE_TIME: u16 = 1;
const STA_INFO_RX_BYTES: u16 = 2;
const STA_INFO_TX_BYTES: u16 = 3;
const STA_INFO_SIGNAL: u16 = 7;
const STA_INFO_TX_BITRATE: u16 = 8;
const STA_INFO_RX_PACKETS: u16 = 9;
const STA_INFO_TX_PACKETS: u16 = 10;
const STA_INFO_TX_RETRIES: u16 = 11;
const STA_INFO_TX_FAILED: u16 = 12;
const STA_INFO_RX_BITRATE: u16 = 14;
const STA_INFO_CONNECTED_TIME: u16 = 16;
const STA_INFO_BEACON_LOSS: u16 = 18;
const STA_INFO_RX_BYTES64: u16 = 23;
const STA_INFO_TX_BYTES64: u16 = 24;

const RATE_INFO_BITRATE: u16 = 1;
const RATE_INFO_BITRATE32: u16 = 5;

/// An nl80211 message: its generic netlink command and version, and its attributes as raw bytes (read by
/// the `parse_*` functions here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nl80211 {
    pub cmd: u8,
    pub version: u8,
    pub attrs: Vec<u8>,
}

impl GenlFamily for Nl80211 {
    fn family_name() -> &'static str {
        "nl80211"
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        self.version
    }
}

impl Emitable for Nl80211 {
    fn buffer_len(&self) -> usize {
        self.attrs.len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        buffer[..self.attrs.len()].copy_from_slice(&self.attrs);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for Nl80211 {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Nl80211 {
            cmd: header.cmd,
            version: header.version,
            attrs: buf.to_vec(),
        })
    }
}

/// The attributes `(type, value)` of a netlink attribute stream (types without the nested/byte-order
/// flags, as mdlayher/netlink's `UnmarshalAttributes`).
pub fn attributes(bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, ParseError> {
    NlasIterator::new(bytes)
        .map(|nla| {
            let n = nla.map_err(|e| ParseError::new(format!("netlink attributes: {e}")))?;
            let (kind, len) = (n.kind(), n.value_length());
            n.into_inner()
                .get(4..4 + len)
                .map(|v| (kind, v))
                .ok_or_else(|| ParseError::new("netlink attribute longer than its buffer"))
        })
        .collect()
}

/// One attribute's value as a native-endian `u32` / `u16` / `u64` (a short value is an error, where
/// Go's `binary.NativeEndian` would panic).
fn ne_u32(v: &[u8]) -> Result<u32, ParseError> {
    v.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or_else(|| short(v))
}

fn ne_u16(v: &[u8]) -> Result<u16, ParseError> {
    v.get(..2)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_ne_bytes)
        .ok_or_else(|| short(v))
}

fn ne_u64(v: &[u8]) -> Result<u64, ParseError> {
    v.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
        .ok_or_else(|| short(v))
}

fn short(v: &[u8]) -> ParseError {
    ParseError::new(format!("attribute value too short: {} bytes", v.len()))
}

/// mdlayher/netlink's `nlenc.String`: the bytes up to the first NUL.
fn nl_string(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// mdlayher/wifi's `decodeSSID`: UTF-8, every invalid byte one U+FFFD (Go's `utf8.DecodeRune`).
pub fn decode_ssid(mut b: &[u8]) -> String {
    let mut out = String::new();
    while !b.is_empty() {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (valid, rest) = b.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                b = &rest[1..];
            }
        }
    }
    out
}

/// One `NL80211_CMD_GET_INTERFACE` reply.
pub fn parse_interface(attrs: &[u8]) -> Result<Interface, ParseError> {
    let mut ifi = Interface::default();
    for (ty, v) in attributes(attrs)? {
        match ty {
            ATTR_IFINDEX => ifi.index = i64::from(ne_u32(v)?),
            ATTR_IFNAME => ifi.name = nl_string(v),
            ATTR_MAC => ifi.hardware_addr = v.to_vec(),
            ATTR_IFTYPE => ifi.kind = i64::from(ne_u32(v)?),
            ATTR_WIPHY_FREQ => ifi.frequency = i64::from(ne_u32(v)?),
            _ => {}
        }
    }
    Ok(ifi)
}

/// The BSS of an `NL80211_CMD_GET_SCAN` dump (`None`: no BSS has a status).
pub fn parse_bss(msgs: &[Nl80211]) -> Result<Option<Bss>, ParseError> {
    for m in msgs {
        for (ty, v) in attributes(&m.attrs)? {
            if ty != ATTR_BSS {
                continue;
            }
            let nested = attributes(v)?;
            if !nested.iter().any(|(t, _)| *t == BSS_STATUS) {
                continue;
            }
            let mut bss = Bss::default();
            for (t, v) in nested {
                match t {
                    BSS_BSSID => bss.bssid = v.to_vec(),
                    BSS_STATUS => bss.status = i64::from(ne_u32(v)?),
                    BSS_INFORMATION_ELEMENTS => {
                        for (id, data) in parse_ies(v)? {
                            if id == 0 {
                                bss.ssid = decode_ssid(data);
                            }
                        }
                    }
                    _ => {}
                }
            }
            return Ok(Some(bss));
        }
    }
    Ok(None)
}

/// 802.11 information elements: `(id, data)` of each `id, length, data`.
fn parse_ies(mut b: &[u8]) -> Result<Vec<(u8, &[u8])>, ParseError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let invalid = || ParseError::new("invalid 802.11 information element");
        let (&id, rest) = b.split_first().ok_or_else(invalid)?;
        let (&len, rest) = rest.split_first().ok_or_else(invalid)?;
        let len = usize::from(len);
        if rest.len() < len {
            return Err(invalid());
        }
        out.push((id, &rest[..len]));
        b = &rest[len..];
    }
    Ok(out)
}

/// One `NL80211_CMD_GET_STATION` reply (`None`: it has no `STA_INFO`).
pub fn parse_station(attrs: &[u8]) -> Result<Option<StationInfo>, ParseError> {
    let mut info = StationInfo::default();
    for (ty, v) in attributes(attrs)? {
        match ty {
            ATTR_MAC => info.hardware_addr = v.to_vec(),
            ATTR_STA_INFO => {
                station_attrs(&mut info, v)?;
                return Ok(Some(info));
            }
            _ => {}
        }
    }
    Ok(None)
}

fn station_attrs(info: &mut StationInfo, bytes: &[u8]) -> Result<(), ParseError> {
    let u32v = |v: &[u8]| ne_u32(v).map(i64::from);
    let signal = |v: &[u8]| {
        v.first()
            .map(|b| i64::from(*b as i8))
            .ok_or_else(|| short(v))
    };
    for (ty, v) in attributes(bytes)? {
        match ty {
            STA_INFO_CONNECTED_TIME => info.connected_ns = u32v(v)? * 1_000_000_000,
            STA_INFO_INACTIVE_TIME => info.inactive_ns = u32v(v)? * 1_000_000,
            // Go's int(uint64): the bits as a signed 64-bit value.
            STA_INFO_RX_BYTES64 => info.received_bytes = ne_u64(v)? as i64,
            STA_INFO_TX_BYTES64 => info.transmitted_bytes = ne_u64(v)? as i64,
            STA_INFO_SIGNAL => info.signal = signal(v)?,
            STA_INFO_RX_PACKETS => info.received_packets = u32v(v)?,
            STA_INFO_TX_PACKETS => info.transmitted_packets = u32v(v)?,
            STA_INFO_TX_RETRIES => info.transmit_retries = u32v(v)?,
            STA_INFO_TX_FAILED => info.transmit_failed = u32v(v)?,
            STA_INFO_BEACON_LOSS => info.beacon_loss = u32v(v)?,
            STA_INFO_RX_BITRATE => info.receive_bitrate = rate_info(v)?,
            STA_INFO_TX_BITRATE => info.transmit_bitrate = rate_info(v)?,
            _ => {}
        }
        if info.received_bytes == 0 && ty == STA_INFO_RX_BYTES {
            info.received_bytes = u32v(v)?;
        }
        if info.transmitted_bytes == 0 && ty == STA_INFO_TX_BYTES {
            info.transmitted_bytes = u32v(v)?;
        }
    }
    Ok(())
}

/// A nested `nl80211_rate_info`: the bitrate in bit/s.
fn rate_info(bytes: &[u8]) -> Result<i64, ParseError> {
    let mut rate = 0i64;
    for (ty, v) in attributes(bytes)? {
        if ty == RATE_INFO_BITRATE32 {
            rate = i64::from(ne_u32(v)?);
        }
        if rate == 0 && ty == RATE_INFO_BITRATE {
            rate = i64::from(ne_u16(v)?);
        }
    }
    Ok(rate * 100 * 1000)
}

/// The request attributes for one interface: `IFINDEX` and, when it has one, its `MAC`.
fn interface_attrs(ifi: &Interface) -> Vec<u8> {
    let mut out = nla(ATTR_IFINDEX, &(ifi.index as u32).to_ne_bytes());
    if !ifi.hardware_addr.is_empty() {
        out.extend(nla(ATTR_MAC, &ifi.hardware_addr));
    }
    out
}

/// One netlink attribute, padded to 4 bytes.
pub fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + data.len() + 3);
    b.extend(((4 + data.len()) as u16).to_ne_bytes());
    b.extend(ty.to_ne_bytes());
    b.extend(data);
    b.resize(b.len().div_ceil(4) * 4, 0);
    b
}

/// A connection to nl80211: its family id and version.
pub struct Client {
    family: u16,
    version: u8,
}

fn io_err(what: &str, e: io::Error) -> CollectError {
    CollectError::Other(format!("{what}: {e}"))
}

impl Client {
    /// Resolve the nl80211 family. Without it (`ENOENT`: no wifi support) or without permission, the
    /// collector has no data, as upstream's `ErrNoData`.
    pub fn open() -> Result<Self, CollectError> {
        let mut ctrl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                Nl80211::family_name().to_string(),
            )],
        });
        ctrl.finalize();
        let replies = request_with_flags(NETLINK_GENERIC, ctrl, NLM_F_REQUEST | NLM_F_ACK)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => CollectError::NoData(
                    format!("wifi collector metrics are not available for this system: {e}"),
                ),
                _ => io_err("failed to access wifi data", e),
            })?;
        let (mut family, mut version) = (None, 0);
        for m in &replies {
            for a in &m.payload.nlas {
                match a {
                    GenlCtrlAttrs::FamilyId(id) => family = Some(*id),
                    GenlCtrlAttrs::Version(v) => version = *v as u8,
                    _ => {}
                }
            }
        }
        let family = family.ok_or_else(|| {
            CollectError::Other("failed to access wifi data: no nl80211 family id".to_string())
        })?;
        Ok(Client { family, version })
    }

    fn dump(&self, cmd: u8, attrs: Vec<u8>) -> io::Result<Vec<Nl80211>> {
        let mut msg = GenlMessage::from_payload(Nl80211 {
            cmd,
            version: self.version,
            attrs,
        });
        msg.set_resolved_family_id(self.family);
        let replies = request_with_flags(NETLINK_GENERIC, msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(replies.into_iter().map(|m| m.payload).collect())
    }
}

/// A kernel `ENOENT` (`os.ErrNotExist`) is "not available for this interface".
fn not_found_is_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl WifiStater for Client {
    fn interfaces(&mut self) -> Result<Vec<Interface>, CollectError> {
        let err =
            |e: String| CollectError::Other(format!("failed to retrieve wifi interfaces: {e}"));
        let msgs = self
            .dump(CMD_GET_INTERFACE, Vec::new())
            .map_err(|e| err(e.to_string()))?;
        msgs.iter()
            .map(|m| parse_interface(&m.attrs).map_err(|e| err(e.to_string())))
            .collect()
    }

    fn bss(&mut self, ifi: &Interface) -> Result<Option<Bss>, CollectError> {
        let Some(msgs) = not_found_is_none(self.dump(CMD_GET_SCAN, interface_attrs(ifi)))
            .map_err(|e| io_err("GET_SCAN", e))?
        else {
            return Ok(None);
        };
        parse_bss(&msgs).map_err(|e| CollectError::Other(e.to_string()))
    }

    fn stations(&mut self, ifi: &Interface) -> Result<Option<Vec<StationInfo>>, CollectError> {
        let Some(msgs) = not_found_is_none(self.dump(CMD_GET_STATION, interface_attrs(ifi)))
            .map_err(|e| io_err("GET_STATION", e))?
        else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(msgs.len());
        for m in &msgs {
            match parse_station(&m.attrs).map_err(|e| CollectError::Other(e.to_string()))? {
                Some(s) => out.push(s),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::go_json::hardware_addr;
    use crate::read::netlink::parse_replies;

    fn genl_msg(family: u16, cmd: u8, attrs: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((16 + 4 + attrs.len()) as u32).to_ne_bytes());
        m.extend(family.to_ne_bytes());
        m.extend(2u16.to_ne_bytes());
        m.extend([0u8; 8]);
        m.extend([cmd, 1, 0, 0]);
        m.extend(attrs);
        m
    }

    fn parse(bytes: &[u8]) -> Vec<Nl80211> {
        parse_replies::<GenlMessage<Nl80211>>(bytes)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.payload)
            .collect()
    }

    #[test]
    fn interface_reply() {
        let mut a = nla(ATTR_IFINDEX, &3u32.to_ne_bytes());
        a.extend(nla(ATTR_IFNAME, b"wlp3s0\0"));
        a.extend(nla(ATTR_IFTYPE, &2u32.to_ne_bytes()));
        a.extend(nla(ATTR_MAC, &[2, 0, 0x5e, 0x10, 0, 9]));
        a.extend(nla(ATTR_WIPHY_FREQ, &5180u32.to_ne_bytes()));
        let msgs = parse(&genl_msg(0x1c, 7, &a));
        let ifi = parse_interface(&msgs[0].attrs).unwrap();
        assert_eq!(
            ifi,
            Interface {
                index: 3,
                name: "wlp3s0".into(),
                hardware_addr: vec![2, 0, 0x5e, 0x10, 0, 9],
                kind: 2,
                frequency: 5180,
            }
        );
        assert!(parse_interface(&nla(ATTR_IFINDEX, &[1])).is_err());
    }

    #[test]
    fn scan_reply_bss_with_status() {
        let ies = [&[0u8, 3][..], b"lab", &[1, 2, 0x82, 0x84]].concat();
        let mut without = nla(BSS_BSSID, &[2, 0, 0x5e, 0, 0, 7]);
        without.extend(nla(
            BSS_INFORMATION_ELEMENTS,
            &[0, 5, b'o', b't', b'h', b'e', b'r'],
        ));
        let mut with = nla(BSS_BSSID, &[2, 0, 0x5e, 0x10, 0, 1]);
        with.extend(nla(BSS_INFORMATION_ELEMENTS, &ies));
        with.extend(nla(BSS_STATUS, &1u32.to_ne_bytes()));
        let mut bytes = genl_msg(0x1c, 34, &nla(ATTR_BSS, &without));
        bytes.extend(genl_msg(0x1c, 34, &nla(ATTR_BSS, &with)));
        let bss = parse_bss(&parse(&bytes)).unwrap().unwrap();
        assert_eq!(hardware_addr(&bss.bssid), "02:00:5e:10:00:01");
        assert_eq!((bss.ssid.as_str(), bss.status), ("lab", 1));
        assert_eq!(
            parse_bss(&parse(&genl_msg(0x1c, 34, &nla(ATTR_BSS, &without)))).unwrap(),
            None
        );
        let bad = nla(BSS_INFORMATION_ELEMENTS, &[0, 9, 1]);
        let bad = [bad, nla(BSS_STATUS, &0u32.to_ne_bytes())].concat();
        assert!(parse_bss(&parse(&genl_msg(0x1c, 34, &nla(ATTR_BSS, &bad)))).is_err());
    }

    #[test]
    fn station_reply() {
        let rate = |r32: Option<u32>, r16: u16| {
            let mut r = nla(RATE_INFO_BITRATE, &r16.to_ne_bytes());
            if let Some(v) = r32 {
                r.extend(nla(RATE_INFO_BITRATE32, &v.to_ne_bytes()));
            }
            r
        };
        let mut sta = nla(STA_INFO_INACTIVE_TIME, &300u32.to_ne_bytes());
        sta.extend(nla(STA_INFO_RX_BYTES, &5u32.to_ne_bytes()));
        sta.extend(nla(STA_INFO_RX_BYTES64, &4096u64.to_ne_bytes()));
        sta.extend(nla(STA_INFO_TX_BYTES, &8192u32.to_ne_bytes()));
        sta.extend(nla(STA_INFO_SIGNAL, &[(-61i8) as u8]));
        sta.extend(nla(STA_INFO_RX_BITRATE, &rate(Some(2400), 1)));
        sta.extend(nla(STA_INFO_TX_BITRATE, &rate(None, 3000)));
        sta.extend(nla(STA_INFO_RX_PACKETS, &77u32.to_ne_bytes()));
        sta.extend(nla(STA_INFO_CONNECTED_TIME, &90u32.to_ne_bytes()));
        sta.extend(nla(STA_INFO_BEACON_LOSS, &2u32.to_ne_bytes()));
        let mut a = nla(ATTR_IFINDEX, &3u32.to_ne_bytes());
        a.extend(nla(ATTR_MAC, &[2, 0, 0x5e, 0x10, 0, 2]));
        a.extend(nla(ATTR_STA_INFO, &sta));
        let msgs = parse(&genl_msg(0x1c, 20, &a));
        let s = parse_station(&msgs[0].attrs).unwrap().unwrap();
        assert_eq!(hardware_addr(&s.hardware_addr), "02:00:5e:10:00:02");
        assert_eq!(
            (s.connected_ns, s.inactive_ns),
            (90_000_000_000, 300_000_000)
        );
        assert_eq!((s.received_bytes, s.transmitted_bytes), (4096, 8192));
        assert_eq!(
            (s.receive_bitrate, s.transmit_bitrate),
            (240_000_000, 300_000_000)
        );
        assert_eq!((s.signal, s.received_packets, s.beacon_loss), (-61, 77, 2));
        assert_eq!(
            parse_station(&nla(ATTR_IFINDEX, &3u32.to_ne_bytes())).unwrap(),
            None
        );
    }

    #[test]
    fn ssid_invalid_bytes_are_replacement_characters() {
        assert_eq!(decode_ssid(b"caf\xc3\xa9"), "café");
        assert_eq!(decode_ssid(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn request_attrs() {
        let ifi = Interface {
            index: 3,
            ..Interface::default()
        };
        assert_eq!(
            interface_attrs(&ifi),
            nla(ATTR_IFINDEX, &3u32.to_ne_bytes())
        );
    }
}
