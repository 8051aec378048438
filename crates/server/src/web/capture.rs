//! `/t.js` and `/t/collect` (the website tracker), `/f/{slug}` (hosted form page),
//! `/f/{slug}/embed.js` (embeddable form) and `/f/{slug}/submit` (submissions from either).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use leadgate_app::AppError;
use leadgate_app::capture::{Collect, SpamReason, SubmitOutcome};
use leadgate_store::capture::StoredForm;
use serde_json::json;

use super::client_info;
use crate::AppState;
use crate::problem::ApiError;

const TRACKER_JS: &str = include_str!("../../assets/t.js");
const EMBED_JS: &str = include_str!("../../assets/form-embed.js");
/// The largest tracker batch or form submission accepted.
const MAX_PUBLIC_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t.js", get(tracker_js))
        .route("/t/collect", post(collect).options(preflight_any))
        .route("/f/{slug}", get(form_page))
        .route("/f/{slug}/embed.js", get(embed_js))
        .route("/f/{slug}/submit", post(submit).options(preflight_form))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PUBLIC_BODY))
}

fn javascript(body: String, cache: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

async fn tracker_js() -> Response {
    javascript(TRACKER_JS.to_string(), "public, max-age=3600")
}

fn allow_any_origin(mut r: Response) -> Response {
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

async fn preflight_any() -> Response {
    let mut r = allow_any_origin(StatusCode::NO_CONTENT.into_response());
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
    r
}

/// `POST /t/collect`: a batch of page views from the tracker. Anonymous data from any site, so
/// any origin may send it (nothing is returned to read).
async fn collect(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (ip, _) = client_info(&parts.extensions, &parts.headers);
    if let Some(standing) = ip.and_then(|ip| state.limiters.tracker.count(ip))
        && !standing.allowed
    {
        return allow_any_origin(standing.refusal("one address"));
    }
    let bytes = match axum::body::to_bytes(body, MAX_PUBLIC_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return allow_any_origin(
                ApiError::bad_request("the batch is too large or unreadable").into_response(),
            );
        }
    };
    let batch: Collect = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return allow_any_origin(
                ApiError::bad_request(format!("not a tracker batch: {e}")).into_response(),
            );
        }
    };
    match state.app.collect(batch).await {
        Ok(_) => allow_any_origin(StatusCode::NO_CONTENT.into_response()),
        Err(e) => allow_any_origin(ApiError::from(e).into_response()),
    }
}

/// One field as the hosted page shows it.
struct FieldView {
    name: String,
    label: String,
    kind: &'static str,
    required: bool,
    options: Vec<String>,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "form_page.html")]
struct FormPage<'a> {
    lang: &'a str,
    form: &'a leadgate_core::form::FormDefinition,
    fields: Vec<FieldView>,
    consents: Vec<(&'static str, String)>,
    token: String,
    thanks: Option<String>,
    general_errors: Vec<String>,
}

async fn render_page(
    state: &AppState,
    form: &StoredForm,
    values: &HashMap<String, String>,
    errors: &[leadgate_core::validation::FieldError],
    thanks: Option<String>,
) -> Result<Response, ApiError> {
    let def = &form.definition;
    let token = state.app.form_token(&def.slug).await?;
    let fields = def
        .fields
        .iter()
        .map(|f| FieldView {
            name: f.name.clone(),
            label: f.label.clone(),
            kind: f.field_type.as_str(),
            required: f.required,
            options: f.options.clone(),
            value: values.get(&f.name).cloned().unwrap_or_default(),
            error: errors.iter().find(|e| e.field == f.name).map(|e| e.message.clone()),
        })
        .collect();
    let general_errors = errors
        .iter()
        .filter(|e| !def.fields.iter().any(|f| f.name == e.field))
        .map(|e| e.message.clone())
        .collect();
    let page = FormPage {
        lang: "en",
        form: def,
        fields,
        consents: def.consents.iter().map(|c| (c.purpose.as_str(), c.text.clone())).collect(),
        token,
        thanks,
        general_errors,
    };
    let html = page.render().map_err(|e| ApiError::from(AppError::Internal(format!("form page: {e}"))))?;
    let mut r = Html(html).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The hosted page may be framed by the sites the form lists, and by nobody else.
    let mut ancestors = vec!["'self'".to_string()];
    ancestors.extend(def.allowed_origins.iter().filter(|o| o.bytes().all(|b| b.is_ascii_graphic())).cloned());
    if let Ok(v) = HeaderValue::from_str(&format!("frame-ancestors {}", ancestors.join(" "))) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        r.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
    Ok(r)
}

async fn form_page(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response, ApiError> {
    let form = state.app.public_form(&slug).await?;
    render_page(&state, &form, &HashMap::new(), &[], None).await
}

async fn embed_js(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let form = state.app.public_form(&slug).await?;
    let token = state.app.form_token(&slug).await?;
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            format!("{}://{h}", if headers.contains_key("x-forwarded-proto") { "https" } else { "http" })
        })
        .unwrap_or_default();
    let definition = json!({
        "slug": form.definition.slug,
        "title": form.definition.title,
        "description": form.definition.description,
        "fields": form.definition.fields.iter().map(|f| json!({
            "name": f.name, "label": f.label, "type": f.field_type.as_str(), "required": f.required, "options": f.options,
        })).collect::<Vec<_>>(),
        "consents": form.definition.consents.iter().map(|c| json!({"purpose": c.purpose.as_str(), "text": c.text})).collect::<Vec<_>>(),
        "submit_label": form.definition.submit_label,
    });
    // JSON is valid JavaScript; `</` is escaped so no value can close a script element.
    let js_value = |v: &serde_json::Value| v.to_string().replace("</", "<\\/");
    let body = EMBED_JS
        .replace("__FORM__", &js_value(&definition))
        .replace("__TOKEN__", &js_value(&json!(token)))
        .replace("__BASE__", &js_value(&json!(base)));
    Ok(javascript(body, "no-store"))
}

fn cors_for(form: &StoredForm, headers: &HeaderMap, mut r: Response) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && form.definition.allows_origin(origin)
        && let Ok(v) = HeaderValue::from_str(origin)
    {
        r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        r.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

async fn preflight_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.app.public_form(&slug).await {
        Ok(form) => {
            let mut r = cors_for(&form, &headers, StatusCode::NO_CONTENT.into_response());
            r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, accept"),
            );
            r
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /f/{slug}/submit`, from the hosted page (an HTML answer) or from an embedded form
/// (`Accept: application/json`, a JSON answer readable by allowed origins only).
async fn submit(State(state): State<AppState>, Path(slug): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let wants_json = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let form = match state.app.public_form(&slug).await {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let headers = parts.headers.clone();
    let answer = |r: Response| cors_for(&form, &headers, r);
    // Checked for every content type: a cross-site form post or `text/plain` body is a "simple"
    // request a browser sends without asking first, so a refused origin must not get this far.
    let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("null"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if let Some(origin) = origin
        && !form.definition.accepts_submission_from(Some(origin), host)
    {
        let _ = state.app.count_spam(form.id, SpamReason::Origin).await;
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin-not-allowed",
            "Origin not allowed",
            format!(
                "this form does not accept submissions from {origin}; add it to the form's allowed origins"
            ),
        )
        .into_response();
    }
    let (ip, client) = client_info(&parts.extensions, &parts.headers);
    if let Some(standing) = ip.and_then(|ip| state.limiters.form.count(ip))
        && !standing.allowed
    {
        let _ = state.app.count_spam(form.id, SpamReason::RateLimited).await;
        return answer(standing.refusal("one address"));
    }
    if let Some(standing) = state.limiters.form_total.count(form.id)
        && !standing.allowed
    {
        let _ = state.app.count_spam(form.id, SpamReason::FormLimit).await;
        return answer(standing.refusal("this form's visitors together"));
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_PUBLIC_BODY).await {
        Ok(b) => b,
        Err(_) => return answer(ApiError::bad_request("the submission is too large").into_response()),
    };
    let pairs: Vec<(String, String)> = if parts.method == Method::POST
        && parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    {
        match serde_json::from_slice::<HashMap<String, serde_json::Value>>(&bytes) {
            Ok(m) => m
                .into_iter()
                .map(|(k, v)| (k, v.as_str().map(String::from).unwrap_or_else(|| v.to_string())))
                .collect(),
            Err(e) => {
                return answer(ApiError::bad_request(format!("not a form submission: {e}")).into_response());
            }
        }
    } else {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            Ok(p) => p,
            Err(e) => {
                return answer(ApiError::bad_request(format!("not a form submission: {e}")).into_response());
            }
        }
    };
    let mut values: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs {
        values.entry(k).or_insert(v);
    }
    let token = values.remove("_lg_token");
    let honeypot = values.remove("_lg_hp");
    let visitor = values.remove("_lg_visitor");
    let outcome = state
        .app
        .submit_form(&form, &values, token.as_deref(), honeypot.as_deref(), visitor.as_deref(), &client)
        .await;
    match outcome {
        Ok(SubmitOutcome::Accepted { message, .. } | SubmitOutcome::Spam { message, .. }) => {
            if wants_json {
                answer(axum::Json(json!({"ok": true, "message": message})).into_response())
            } else {
                match render_page(&state, &form, &HashMap::new(), &[], Some(message)).await {
                    Ok(r) => r,
                    Err(e) => e.into_response(),
                }
            }
        }
        Err(AppError::Invalid(errors)) => {
            if wants_json {
                let mut r =
                    axum::Json(json!({"ok": false, "errors": errors.errors, "detail": errors.to_string()}))
                        .into_response();
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                answer(r)
            } else {
                match render_page(&state, &form, &values, &errors.errors, None).await {
                    Ok(mut r) => {
                        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                        r
                    }
                    Err(e) => e.into_response(),
                }
            }
        }
        Err(e) => answer(ApiError::from(e).into_response()),
    }
}
