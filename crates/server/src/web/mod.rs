//! Pages and endpoints outside the REST API: the web UI for marketing and sales (`ui`, signed in
//! with a session), and the public website tracker and hosted or embedded forms, which need no
//! key (visitors send them), so each checks what it accepts: origins, sizes, a per-address rate
//! limit.

pub mod capture;
pub mod email;
pub mod i18n;
pub mod preferences;
pub mod ui;

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

/// The client's address (the peer of the connection) and browser, for consent proof.
pub fn client_info(
    parts_extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> (Option<IpAddr>, leadgate_app::capture::ClientInfo) {
    let ip = match parts_extensions.get::<crate::client::ClientAddress>() {
        Some(c) => c.0,
        None => parts_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
    };
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(500).collect());
    (ip, leadgate_app::capture::ClientInfo { ip: ip.map(|i| i.to_string()), user_agent })
}
