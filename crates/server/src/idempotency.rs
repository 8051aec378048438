//! `Idempotency-Key` on every creating request of the API. A `POST` sent with the header
//! reserves the key before it runs: a retry of a request that answered gets the same answer
//! again (`Idempotent-Replayed: true`) and changes nothing; a retry while the first still runs
//! is told to wait; a key reused for another request is refused. A request refused or failed
//! frees its key. (Endpoints that keep their answer in the transaction of their effects do so
//! as well; this layer makes the promise hold for every endpoint.)

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leadgate_app::Idempotency;
use leadgate_app::idempotency::{KeyUse, SECRET_ANSWER};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::ApiError;

/// Answers larger than this are not kept (creating endpoints answer a few kilobytes).
const MAX_KEPT_ANSWER: usize = 1 << 20;

/// Endpoints that keep their answer in the transaction of their effects: they replay it
/// themselves, even after a crash between the effect and the answer, which a reservation made
/// beforehand cannot (it would tell such a retry that the first attempt never answered).
const TRANSACTIONAL: [&str; 4] =
    ["/api/v1/contacts", "/api/v1/companies", "/api/v1/events", "/api/v1/events/batch"];

pub async fn idempotent_posts(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || TRANSACTIONAL.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").map(|k| k.to_str().map(String::from)) else {
        return next.run(request).await;
    };
    let Ok(key) = key else {
        return ApiError::invalid("Idempotency-Key", "must be visible ASCII characters").into_response();
    };
    // Who asks: keys are per user. Without valid credentials the handler answers 401.
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(String::from);
    let Some(principal) = (match bearer {
        Some(b) => state.app.authenticate(&b).await.ok(),
        None => None,
    }) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let limit = if parts.uri.path() == "/api/v1/uploads" {
        leadgate_app::import::MAX_UPLOAD_BYTES
    } else {
        crate::MAX_BODY_BYTES
    };
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Body too large",
            "the body is too large",
        )
        .into_response();
    };
    let mut digest = Sha256::new();
    digest.update(parts.method.as_str().as_bytes());
    digest.update(b" ");
    digest.update(parts.uri.to_string().as_bytes());
    digest.update(b"\n");
    digest.update(&bytes);
    let fingerprint: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let idem = match Idempotency::new(&key, fingerprint) {
        Ok(i) => i,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let refused = |status: StatusCode, slug: &'static str, detail: &str| {
        ApiError::new(status, slug, "Idempotency-Key", detail).into_response()
    };
    match state.app.reserve_request_key(&principal, &idem).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(KeyUse::Reused) => {
            ApiError::from(leadgate_app::AppError::IdempotencyKeyReused { key }).into_response()
        }
        Ok(KeyUse::InProgress) => refused(
            StatusCode::CONFLICT,
            "idempotency-in-progress",
            "a request with this Idempotency-Key is still running; retry in a moment to get its answer",
        ),
        Ok(KeyUse::Unanswered) => refused(
            StatusCode::CONFLICT,
            "idempotency-unanswered",
            "a request with this Idempotency-Key started but never answered (its server stopped); check whether it took \
             effect, then send it again with a new key if needed",
        ),
        Ok(KeyUse::SecretShownOnce) => refused(
            StatusCode::CONFLICT,
            "idempotency-secret",
            "this request already created an API key, whose secret was shown once and is not kept; revoke it and \
             create another",
        ),
        Ok(KeyUse::Replay { status, content_type, body }) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Ok(KeyUse::Reserved) => {
            let secret = parts.uri.path() == "/api/v1/api-keys";
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if !response.status().is_success() {
                // Refused or failed: nothing changed, the key is free again.
                if let Err(e) = state.app.release_request_key(&principal, &key).await {
                    tracing::warn!(error = %e, "could not free an idempotency key");
                }
                return response;
            }
            let (parts, body) = response.into_parts();
            let Ok(answer) = to_bytes(body, MAX_KEPT_ANSWER).await else {
                return (parts.status, "the answer was too large to keep").into_response();
            };
            let content_type = if secret {
                Some(SECRET_ANSWER.to_string())
            } else {
                parts.headers.get(header::CONTENT_TYPE).and_then(|c| c.to_str().ok()).map(String::from)
            };
            let kept = if secret { &[][..] } else { &answer[..] };
            if let Err(e) = state
                .app
                .complete_request_key(&principal, &key, parts.status.as_u16(), content_type.as_deref(), kept)
                .await
            {
                tracing::warn!(error = %e, "could not keep an idempotent answer");
            }
            Response::from_parts(parts, Body::from(answer))
        }
    }
}
