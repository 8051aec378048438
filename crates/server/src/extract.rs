//! Request extractors that turn every way a request can be wrong into a precise problem: a body
//! that is not JSON, a field of the wrong type (named by its path, `events[3].occurred_at`), an
//! unknown query parameter, a missing or bad API key.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use leadgate_app::{Idempotency, Principal};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::ApiError;

/// The authenticated caller (`Authorization: Bearer <api key>`).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::from(leadgate_app::AppError::Unauthenticated(
                "this endpoint needs an API key: send `Authorization: Bearer <key>`".into(),
            ))
        })?;
        let value = header.to_str().unwrap_or_default();
        let key =
            value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or_else(|| {
                ApiError::from(leadgate_app::AppError::Unauthenticated(
                    "the Authorization header must read `Bearer <key>`".into(),
                ))
            })?;
        let mut principal = state.app.authenticate(key).await?;
        principal.address = crate::client::address_of(parts);
        Ok(Auth(principal))
    }
}

/// A JSON body of type `T`, and a digest of the request (method, path, body) for idempotency.
pub struct Json<T> {
    pub value: T,
    pub fingerprint: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(inner)
                if inner.body_text().contains("length limit")
                    || inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                too_large()
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            other => ApiError::bad_request(format!("could not read the request body: {}", other.body_text())),
        })?;
        let value = parse_json(&bytes)?;
        let mut h = Sha256::new();
        h.update(method.as_str().as_bytes());
        h.update(b" ");
        h.update(path.as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        let fingerprint = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Json { value, fingerprint })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Request body too large",
        format!(
            "the body is larger than {} MiB; send fewer items per request (batches hold at most 1000 events)",
            crate::MAX_BODY_BYTES / (1024 * 1024)
        ),
    )
}

/// Parses JSON, telling apart broken syntax (400) from a document of the wrong shape (422, with
/// the path of the field at fault).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body of this API is an object. serde would read a struct from an array too,
    // and then blame `[0]`, which helps nobody.
    if let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && *first != b'{'
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::invalid("body", "must be a JSON object (`{ … }`)"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e)));
    value.map_err(|(path, inner)| match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => ApiError::bad_request(format!(
            "the body is not valid JSON ({inner}); check quotes, commas and brackets"
        )),
        serde_json::error::Category::Data => {
            let field = if path == "." || path.is_empty() { "body".to_string() } else { path };
            let message = strip_position(&inner.to_string());
            ApiError::invalid(field, message)
        }
    })
}

/// serde_json appends "at line 1 column 42": useful for syntax errors, noise once the field path
/// is known.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Query parameters of type `T`, refused with the parameter at fault.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A NUL or control character has no business in a filter, and PostgreSQL refuses NUL.
        if let Some(q) = parts.uri.query()
            && form_decoded_has_control(q)
        {
            return Err(ApiError::invalid(
                "query",
                "parameters cannot contain control characters such as NUL",
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let detail =
                    text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_string();
                Err(ApiError::invalid("query", detail))
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The optional `Idempotency-Key` header.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => match v.to_str() {
                Ok(s) => Ok(IdempotencyKey(Some(s.to_string()))),
                Err(_) => Err(ApiError::invalid("Idempotency-Key", "must be visible ASCII characters")),
            },
        }
    }
}

impl IdempotencyKey {
    /// Combines the header with the request's fingerprint.
    pub fn with(self, fingerprint: &str) -> Result<Option<Idempotency>, ApiError> {
        self.0.map(|k| Idempotency::new(&k, fingerprint.to_string()).map_err(ApiError::from)).transpose()
    }
}

/// Parses an id from a path segment.
pub fn path_id<T: std::str::FromStr<Err = leadgate_core::ids::InvalidId>>(raw: &str) -> Result<T, ApiError> {
    raw.parse::<T>().map_err(|e| ApiError::invalid("id", e.to_string()))
}

fn form_decoded_has_control(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = query.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
            && (b < 0x20 || b == 0x7f)
        {
            return true;
        }
        i += 1;
    }
    false
}
