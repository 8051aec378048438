//! Errors of the use cases, in the caller's terms. Each variant maps to one kind of answer
//! (the HTTP layer turns them into problem+json in one place; the CLI prints them).

use leadgate_core::validation::ValidationErrors;
use leadgate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; every problem is listed with its field.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The thing asked for does not exist.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    /// The input clashes with stored data (an e-mail already taken, an id reused with other
    /// content).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// A lifecycle move that the rules do not allow.
    #[error("{0}")]
    IllegalTransition(leadgate_core::lifecycle::IllegalTransition),
    /// The request does not fit the record's current state (e.g. accepting a lead that is not
    /// an MQL).
    #[error("{0}")]
    StateConflict(String),
    /// No valid credentials were presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts in a row: locked for a while.
    #[error("too many failed sign-ins in a row; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: i64 },
    /// The caller is known but may not do this.
    #[error("your role ({role}) may not {action}")]
    Forbidden { role: &'static str, action: &'static str },
    /// An `Idempotency-Key` was reused for a different request.
    #[error(
        "the Idempotency-Key `{key}` was already used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused { key: String },
    /// The database cannot be reached; retry later.
    #[error("the database is unavailable, retry in a moment: {0}")]
    Unavailable(String),
    /// The database kept aborting the transaction to let concurrent ones finish; retry.
    #[error("the database is busy with concurrent changes of the same records; retry in a moment")]
    Contention(String),
    /// The disk holding the database is full: nothing can be saved until an operator frees
    /// space; reads still work.
    #[error(
        "the disk holding the database is full: nothing can be saved until an operator frees space ({0})"
    )]
    DiskFull(String),
    /// A bug or inconsistent data. Logged with details; the client gets a request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The same failure for each of several requests that shared the failing work (a group of
    /// ingest requests in one transaction): an unreachable database stays "retry later",
    /// anything else is reported as internal.
    pub fn shared(&self) -> AppError {
        match self {
            AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
            AppError::Contention(m) => AppError::Contention(m.clone()),
            AppError::DiskFull(m) => AppError::DiskFull(m.clone()),
            other => AppError::Internal(other.to_string()),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid(ValidationErrors::single(field, message))
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> AppError {
        AppError::NotFound { what, id: id.to_string() }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field } => AppError::Conflict {
                field: field.to_string(),
                message: format!(
                    "{field} is already used by another record; use another value or update that record"
                ),
            },
            StoreError::MissingReference => AppError::invalid(
                "company_id",
                "refers to a record that does not exist; create it first or check the id",
            ),
            StoreError::InvalidText => {
                AppError::invalid("body", "text values cannot contain NUL characters; remove them")
            }
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Contention(m) => AppError::Contention(m),
            StoreError::DiskFull(m) => AppError::DiskFull(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}
