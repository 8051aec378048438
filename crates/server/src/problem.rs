//! Every error the API returns, as `application/problem+json` (RFC 9457), built in this one place.
//! A client mistake is a 4xx naming the field at fault and what to do; a server fault is a 5xx
//! with the request id that finds the log line.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadgate_app::AppError;
use leadgate_core::validation::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::observe::current_request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem report (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, for programs to switch on.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case, and what to do about it.
    pub detail: String,
    /// The fields at fault, when the request body or query was wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a refused lifecycle move: the stages the contact can move to from where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_moves: Option<Vec<String>>,
    /// The id of this request in the server's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    allowed_moves: Option<Vec<String>>,
    /// Seconds to wait before retrying (429).
    retry_after: Option<u32>,
}

impl ApiError {
    /// Tells the client when it may retry (`Retry-After`).
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(u32::try_from(secs).unwrap_or(u32::MAX));
        self
    }

    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            allowed_moves: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> ApiError {
        self.errors.push(FieldError { field: field.into(), message: message.into() });
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", "The request is malformed", detail)
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let field = field.into();
        let message = message.into();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request has invalid fields",
            format!("{field}: {message}"),
        )
        .with_field(field, message)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// Field errors listed in one answer at most.
const MAX_LISTED_ERRORS: usize = 100;

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::Invalid(mut errors) => {
                // A request with thousands of faults (a batch of bad events) is answered with
                // the first hundred and how many more: enough to fix, small enough to read.
                if errors.errors.len() > MAX_LISTED_ERRORS {
                    let more = errors.errors.len() - MAX_LISTED_ERRORS;
                    errors.errors.truncate(MAX_LISTED_ERRORS);
                    errors.errors.push(leadgate_core::validation::FieldError {
                        field: "body".into(),
                        message: format!("and {more} more problems; fix these first"),
                    });
                }
                ApiError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "validation",
                    title: "The request has invalid fields",
                    detail: errors.to_string(),
                    errors: errors.errors,
                    allowed_moves: None,
                    retry_after: None,
                }
            }
            AppError::IllegalTransition(e) => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "This stage change is not allowed",
                    e.to_string(),
                );
                err.allowed_moves = Some(e.allowed.iter().map(|s| s.as_str().to_string()).collect());
                err
            }
            AppError::StateConflict(detail) => ApiError::new(
                StatusCode::CONFLICT,
                "state-conflict",
                "Not possible in the contact's current state",
                detail,
            ),
            AppError::NotFound { what, id } => ApiError::not_found(format!("no {what} has the id {id}")),
            AppError::Conflict { field, message } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with stored data",
                message.clone(),
            )
            .with_field(field, message),
            AppError::Unauthenticated(detail) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", detail)
            }
            e @ AppError::Forbidden { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed for your role", e.to_string())
            }
            e @ AppError::IdempotencyKeyReused { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
                e.to_string(),
            )
            .with_field("Idempotency-Key", "was used for a different request"),
            AppError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the database is unavailable; retry in a few seconds",
                )
            }
            e @ AppError::TooManyAttempts { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "Too many attempts",
                e.to_string(),
            )
            .retry_after(u64::try_from(retry_after_secs).unwrap_or(1)),
            AppError::Contention(detail) => {
                tracing::warn!(%detail, "transaction aborted by the database after retries");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "contention",
                    "Busy with concurrent changes",
                    "other requests were changing the same records at the same moment; retry in a second",
                )
            }
            AppError::DiskFull(detail) => {
                tracing::error!(%detail, "the disk holding the database is full");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage-full",
                    "The database's disk is full",
                    "the disk holding the database is full: nothing can be saved until an operator frees space; \
                     reads still work",
                )
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the server failed to handle this request; it is logged under the request id below",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!("https://leadgate.dev/problems/{}", self.slug),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
            allowed_moves: self.allowed_moves,
            request_id: current_request_id(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match self.status {
            StatusCode::UNAUTHORIZED => {
                headers
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"leadgate\""));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            StatusCode::INSUFFICIENT_STORAGE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after.unwrap_or(1).max(1)));
            }
            _ => {}
        }
        response
    }
}

impl From<leadgate_store::cursor::InvalidCursor> for ApiError {
    fn from(e: leadgate_store::cursor::InvalidCursor) -> ApiError {
        ApiError::invalid("cursor", e.to_string())
    }
}
