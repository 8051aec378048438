//! Request observation: every request gets an id (taken from a valid incoming `X-Request-Id` or
//! made up), echoed in the response header and in problem bodies; every request produces exactly
//! one log line (method, route, status, latency, id) and one sample in the metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn acceptable_incoming_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    // Only ids that are safe to log and echo: short, visible ASCII.
    (!s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_graphic())).then(|| s.to_string())
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(acceptable_incoming_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let method = request.method().clone();
    // The route template (`/api/v1/contacts/{id}`), not the path: bounded label values for
    // metrics, and no personal data (e-mails in paths) in logs.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    state.metrics.record_request(method.as_str(), &route, status, latency);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(request_id = %id, %method, %route, status, latency_ms, "request");
    } else {
        tracing::info!(request_id = %id, %method, %route, status, latency_ms, "request");
    }
    response
}
