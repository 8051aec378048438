//! Pages and endpoints outside the REST API: the web UI for marketing and sales (`ui`, signed in
//! with a session), and the public website tracker and hosted or embedded forms, which need no
//! key (visitors send them), so each checks what it accepts: origins, sizes, a per-address rate
//! limit.

pub mod capture;
pub mod i18n;
pub mod ui;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

/// Counts requests per client address in fixed windows.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Whether `ip` may make one more request now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            // Forget old windows rather than grow without bound under a flood of addresses.
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

/// The client's address (the peer of the connection) and browser, for consent proof.
pub fn client_info(
    parts_extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> (Option<IpAddr>, leadgate_app::capture::ClientInfo) {
    let ip = parts_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(500).collect());
    (ip, leadgate_app::capture::ClientInfo { ip: ip.map(|i| i.to_string()), user_agent })
}
