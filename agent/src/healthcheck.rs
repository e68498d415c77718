//! `hostlens-agent --health-check`: ask a running agent's `/healthz` and exit 0 when it answers `200`. The agent's
//! container image holds nothing but the binary (no shell, no wget), so its Docker healthcheck is the agent.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The address to ask: the listen address, with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback.
pub fn target(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// GET `/healthz` from `addr` within `timeout`.
pub fn check(addr: SocketAddr, timeout: Duration) -> Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to the agent at {addr}"))?;
    s.set_read_timeout(Some(timeout))
        .and_then(|()| s.set_write_timeout(Some(timeout)))
        .context("setting socket timeouts")?;
    write!(s, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .with_context(|| format!("sending the request to {addr}"))?;
    let mut head = [0u8; 64];
    let n = s
        .read(&mut head)
        .with_context(|| format!("reading the answer of {addr}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!(
            "{addr}/healthz answered {:?}",
            line.lines().next().unwrap_or("")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_are_asked_on_loopback() {
        let t = target("0.0.0.0:9110".parse().unwrap());
        assert_eq!(t, "127.0.0.1:9110".parse().unwrap());
        let t = target("[::]:9110".parse().unwrap());
        assert_eq!(t, "[::1]:9110".parse().unwrap());
        let t = target("10.1.2.3:9110".parse().unwrap());
        assert_eq!(t, "10.1.2.3:9110".parse().unwrap());
    }

    #[test]
    fn nothing_listening_is_an_error_naming_the_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = check(addr, Duration::from_secs(1)).unwrap_err();
        assert!(format!("{e:#}").contains(&addr.to_string()), "{e:#}");
    }
}
