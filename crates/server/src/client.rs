//! Who is asking: the client's address, found once per request. It is the connection's peer,
//! unless that peer is a proxy the operator trusts (`--trusted-proxy`), in which case it is the
//! last address in `X-Forwarded-For` that is not one of the trusted proxies. Rate limits, the
//! sign-in throttle and consent proof all read it from here.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The client's address, as a request extension (`None` when the server was not told its
/// peers, as in some tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not an address or a network such as 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Network { base, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u32) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        }
        // An IPv4 client seen through an IPv6 socket is the same client.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let ((a, width_a), (b, width_b)) = (bits(self.base), bits(ip));
        if width_a != width_b {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        a & mask == b & mask
    }
}

/// The client's address from the peer and, when the peer is a trusted proxy, the addresses it
/// forwarded (each proxy appends the address it received from): walking from the right, the
/// first address that is not a trusted proxy is the client. Anything a client wrote itself sits
/// to the left of that and is never believed.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Network]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        // A hop that is not an address (a proxy that writes `unknown`) ends what can be believed.
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// The client's address found by [`find_client`], as text (what the audit log records).
pub fn address_of(parts: &axum::http::request::Parts) -> Option<String> {
    parts.extensions.get::<ClientAddress>().and_then(|c| c.0).map(|ip| ip.to_string())
}

/// Finds the client's address once, for every handler after it.
pub async fn find_client(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let address = client_address(peer, request.headers(), &state.web.trusted_proxies);
    request.extensions_mut().insert(ClientAddress(address));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Network {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses() {
        assert!(net("10.0.0.0/8").contains("10.200.3.4".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("127.0.0.1").contains("::ffff:127.0.0.1".parse().unwrap()), "mapped IPv4");
        assert!(net("fd00::/8").contains("fd12::1".parse().unwrap()));
        assert!(!net("fd00::/8").contains("10.0.0.1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "::/129", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        h.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        let peer = Some("10.0.0.1".parse().unwrap());
        let proxies = [net("10.0.0.0/24")];
        // The client wrote 6.6.6.6 itself; the first proxy saw 203.0.113.7.
        assert_eq!(client_address(peer, &h, &proxies), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(client_address(peer, &h, &[]), peer, "no trusted proxy: the peer");
        let stranger = Some("198.51.100.1".parse().unwrap());
        assert_eq!(client_address(stranger, &h, &proxies), stranger, "an untrusted peer's header is ignored");
        assert_eq!(client_address(peer, &HeaderMap::new(), &proxies), peer, "nothing forwarded");
        let mut junk = HeaderMap::new();
        junk.insert("x-forwarded-for", "unknown, 10.0.0.3".parse().unwrap());
        assert_eq!(client_address(peer, &junk, &proxies), Some("10.0.0.3".parse().unwrap()));
    }
}
