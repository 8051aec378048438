//! The links inside nurture e-mails: tracked clicks (`/e/c/…`, a signed redirect), the open
//! pixel (`/e/o/…`) and unsubscription (`/e/u/…`). No account and no cookie: the signed token is
//! the key. A POST to the unsubscription link unsubscribes at once and answers without a
//! redirect (RFC 8058 one-click, as mail clients send it on the person's behalf).

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use leadgate_app::AppError;
use leadgate_app::nurture::Unsubscription;

use super::client_info;
use super::i18n::Lang;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/e/c/{token}", get(click))
        .route("/e/o/{token}", get(open))
        .route("/e/u/{token}", get(unsubscribe_page).post(unsubscribe))
}

#[derive(serde::Deserialize)]
struct Target {
    u: Option<String>,
}

/// A tracked link: recorded, then the browser goes where the link said. A target the token does
/// not sign is refused (404): the server never redirects to an address of a stranger's choosing.
async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(target): Query<Target>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let (_, client) = client_info(&parts.extensions, &parts.headers);
    let Some(url) = target.u.filter(|u| u.starts_with("https://") || u.starts_with("http://")) else {
        return (StatusCode::NOT_FOUND, "This link is incomplete.").into_response();
    };
    match state.app.track_click(&token, &url, &client).await {
        Ok(to) => match HeaderValue::from_str(&to) {
            Ok(location) => {
                let mut r = StatusCode::FOUND.into_response();
                r.headers_mut().insert(header::LOCATION, location);
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                r
            }
            Err(_) => (StatusCode::NOT_FOUND, "This link is broken.").into_response(),
        },
        Err(AppError::NotFound { .. }) => (StatusCode::NOT_FOUND, "This link is not valid.").into_response(),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

async fn open(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (_, client) = client_info(&parts.extensions, &parts.headers);
    let token = token.trim_end_matches(".gif");
    if let Err(e) = state.app.track_open(token, &client).await {
        tracing::warn!(error = %e, "an open could not be recorded");
    }
    let mut r = PIXEL.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn page(lang: Lang, status: StatusCode, token: &str, u: Option<&Unsubscription>) -> Response {
    let t = lang.texts();
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    let body = match u {
        None => format!("<p>{}</p>", t.unsubscribe_gone),
        Some(u) if u.unsubscribed => format!(
            "<p role=\"status\">{}</p><p><a href=\"/p/{}\">{}</a></p>",
            t.unsubscribe_done,
            esc(&u.preferences),
            t.unsubscribe_preferences
        ),
        Some(u) => format!(
            "<p>{}</p><form method=\"post\" action=\"/e/u/{}\"><button type=\"submit\">{}</button></form>\
             <p><a href=\"/p/{}\">{}</a></p>",
            t.unsubscribe_ask,
            esc(token),
            t.unsubscribe_button,
            esc(&u.preferences),
            t.unsubscribe_preferences
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><style>body{{font-family:system-ui,sans-serif;\
         max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.5rem 1rem}}</style>\
         </head><body><main><h1>{}</h1>{body}</main></body></html>",
        lang.code(),
        t.unsubscribe_title,
        t.unsubscribe_title
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// The page in the e-mail's language (the template's), else the browser's.
fn lang_for(u: Option<&Unsubscription>, headers: &axum::http::HeaderMap) -> Lang {
    match u.map(|u| u.language.as_str()) {
        Some("fr") => Lang::Fr,
        Some("en") => Lang::En,
        _ => Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())),
    }
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    match state.app.unsubscription(&token).await {
        Ok(u) => page(lang_for(Some(&u), &headers), StatusCode::OK, &token, Some(&u)),
        Err(AppError::NotFound { .. }) => page(lang_for(None, &headers), StatusCode::NOT_FOUND, &token, None),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

/// One click, no cookie, no authentication, no redirect: unsubscribed now.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (_, client) = client_info(&parts.extensions, &parts.headers);
    match state.app.unsubscribe(&token, &client).await {
        Ok(u) => page(lang_for(Some(&u), &parts.headers), StatusCode::OK, &token, Some(&u)),
        Err(AppError::NotFound { .. }) => {
            page(lang_for(None, &parts.headers), StatusCode::NOT_FOUND, &token, None)
        }
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}
