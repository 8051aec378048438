//! The Leadgate HTTP adapter: the REST API under `/api/v1` with its OpenAPI description, health
//! and metrics. Handlers parse and validate the request, call one application function, and map
//! the result; they make no business decision. [`serve`] takes a bound listener and a shutdown
//! future, so tests run real servers on port 0 and stop them cleanly.

pub mod api;
pub mod client;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod observe;
pub mod problem;
pub mod ratelimit;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leadgate_app::App;
use tokio::net::TcpListener;

use crate::problem::ApiError;

/// The largest request body accepted: a full batch of 1,000 events with generous properties.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<metrics::Metrics>,
    openapi_json: Arc<Vec<u8>>,
    /// Request counts against the rate limits (`WebConfig::rate_limits`).
    pub limiters: Arc<ratelimit::Limiters>,
    /// How the server is reached from outside, and what follows from it.
    pub web: Arc<WebConfig>,
}

/// How browsers reach the server.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The address users type (`--public-url`), when set. With `https`, the session cookie is
    /// always `Secure` and named with the `__Host-` prefix (bound to this host, every path).
    pub public_url: Option<url::Url>,
    /// A bearer token `/metrics` asks for (`--metrics-token`), when set.
    pub metrics_token: Option<String>,
    /// `/metrics` is served on an address of its own (`--metrics-listen`), not on the main one.
    pub metrics_apart: bool,
    /// Proxies whose `X-Forwarded-For` tells the client's address (`--trusted-proxy`).
    pub trusted_proxies: Vec<client::Network>,
    /// How many requests API keys and public clients may make (`--rate-limit-*`).
    pub rate_limits: ratelimit::RateLimits,
}

impl WebConfig {
    /// Checks a `--public-url` value: an http(s) address with a host and no path beyond `/`.
    pub fn parse_public_url(text: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("`{text}` is not an address ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("`{text}` must be an http(s) address such as https://leads.example.com"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(format!("`{text}` must not have a path (Leadgate is served at the root)"));
        }
        Ok(url)
    }

    fn https(&self) -> bool {
        self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }

    /// The session cookie's name: `__Host-lg_session` behind a public https address (browsers
    /// then refuse it from anything but this host over TLS), `lg_session` otherwise.
    pub fn cookie_name(&self) -> &'static str {
        if self.https() { "__Host-lg_session" } else { "lg_session" }
    }

    /// Whether the cookie gets `Secure`: always behind a public https address, else when a
    /// proxy says the request came over TLS.
    pub fn secure_cookie(&self, headers: &axum::http::HeaderMap) -> bool {
        self.https()
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

impl AppState {
    pub fn new(app: App) -> AppState {
        let (_, doc) = api::router().split_for_parts();
        let doc = api::finish_openapi(doc);
        let openapi_json = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        AppState {
            app,
            metrics: Arc::default(),
            openapi_json: Arc::new(openapi_json),
            limiters: Arc::new(ratelimit::Limiters::new(ratelimit::RateLimits::default())),
            web: Arc::default(),
        }
    }

    /// Sets how browsers reach the server (`--public-url`, `--metrics-token`).
    pub fn with_web(mut self, web: WebConfig) -> AppState {
        self.limiters = Arc::new(ratelimit::Limiters::new(web.rate_limits));
        self.web = Arc::new(web);
        self
    }
}

/// Serves `/metrics` alone on `listener` (`--metrics-listen`) until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new().route("/metrics", get(metrics::metrics)).with_state(state);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer as Header;
    let (api_routes, _) = api::router().split_for_parts();
    let api_routes = api_routes
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent_posts))
        // Outside idempotency: a refused request reserves no key.
        .layer(axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit_api));
    let mut routes = Router::new().route("/healthz", get(healthz));
    if !state.web.metrics_apart {
        routes = routes.route("/metrics", get(metrics::metrics));
    }
    routes
        .route("/api/openapi.json", get(openapi))
        .merge(api_routes)
        .merge(web::capture::routes())
        .merge(web::preferences::routes())
        .merge(web::email::routes())
        .merge(web::ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // What every answer carries unless it says otherwise: no sniffing of types, no framing
        // by other sites (clickjacking), no referrer leaking contact ids to other sites, and
        // nothing kept by caches (pages and CSVs hold personal data; the tracker script and the
        // form embed say how long they may be cached).
        .layer(Header::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(Header::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(Header::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(Header::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
        ))
        .layer(Header::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::find_client))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

/// Serves until `shutdown` completes, then stops accepting connections and lets requests in
/// flight finish: every request that got an answer had its writes committed before it.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is kept for rate limits and consent proof.
    let service = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}

/// `GET /healthz`: 200 when the database answers and this server's job runner works; 503 with
/// what is wrong otherwise (database unavailable, job runner crashed or stuck). Jobs whose lease
/// ran out (a stopped server's, not yet taken over) are listed, the status then "degraded" but
/// still 200: another runner takes them over in time.
async fn healthz(State(state): State<AppState>) -> Response {
    use leadgate_app::jobs::RunnerState;
    let runner = state.app.runner.status();
    let runner_text = match runner.state {
        RunnerState::NotStarted => "not started",
        RunnerState::Running if state.app.runner.is_failing() => "stuck",
        RunnerState::Running => "running",
        RunnerState::Stopped => "stopped",
        RunnerState::Crashed => "crashed",
    };
    let mut body =
        serde_json::json!({"status": "ok", "job_runner": runner_text, "job_panics": runner.panics});
    if let Some(p) = &runner.last_panic {
        body["last_panic"] = serde_json::json!(p);
    }
    let mut healthy = !state.app.runner.is_failing();
    if !healthy {
        body["status"] = serde_json::json!(format!("job runner {runner_text}"));
    }
    if let Some((since, message)) = state.app.store.disk_full() {
        healthy = false;
        body["status"] = serde_json::json!("disk full");
        body["disk_full"] = serde_json::json!({"since": since, "detail": message});
    }
    match state.app.store.ping().await {
        Ok(()) => {
            let overdue = match state.app.store.read().await {
                Ok(mut s) => s.overdue_jobs(state.app.now()).await.unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            if !overdue.is_empty() {
                let list: Vec<_> = overdue
                    .iter()
                    .map(|(id, kind, until)| serde_json::json!({"id": id, "kind": kind, "lease_expired_at": until}))
                    .collect();
                body["overdue_jobs"] = serde_json::json!(list);
                if healthy {
                    body["status"] = serde_json::json!("degraded");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            healthy = false;
            body["status"] = serde_json::json!("database unavailable");
        }
    }
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 description, generated from the handlers.
async fn openapi(State(state): State<AppState>) -> Response {
    let mut response = state.openapi_json.as_ref().clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Whether a request went astray from a browser page (an HTML answer, inside the UI) rather
/// than from an API client (a problem document).
fn wants_page(parts: &axum::http::request::Parts) -> bool {
    let path = parts.uri.path();
    let machine = ["/api/", "/t/", "/healthz", "/metrics"].iter().any(|p| path.starts_with(p));
    !machine
        && parts
            .headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

async fn not_found(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if wants_page(&parts) {
        let text = |t: &web::i18n::Texts| t.page_not_found.to_string();
        return web::ui::page_error(&mut parts, &state, StatusCode::NOT_FOUND, text).await;
    }
    ApiError::not_found("no such route; the API lives under /api/v1 and is described at /api/openapi.json")
        .into_response()
}

async fn method_not_allowed(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if wants_page(&parts) {
        let text = |t: &web::i18n::Texts| t.page_not_found.to_string();
        return web::ui::page_error(&mut parts, &state, StatusCode::METHOD_NOT_ALLOWED, text).await;
    }
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not accept this method; see /api/openapi.json",
    )
    .into_response()
}
