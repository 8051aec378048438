//! Idempotency keys. A client that sends `Idempotency-Key: K` with a write gets, on any retry with
//! the same key and body, the answer of the first attempt, and the write happens once. The answer
//! is stored in the write's own transaction (see `leadgate_store::idempotency`), so a crash
//! between "written" and "answered" cannot produce a second write on retry.

use leadgate_core::ids::UserId;
use leadgate_store::Session;
use leadgate_store::idempotency::StoredResponse;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppError;

/// The idempotency key of a request and a fingerprint of the request it was first used with
/// (method, path and body), so a key reused for another request is refused, not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

impl Idempotency {
    /// Checks the key's shape: 1 to 255 visible ASCII characters.
    pub fn new(key: &str, fingerprint: String) -> Result<Idempotency, AppError> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters, e.g. a UUID generated for this request",
            ));
        }
        Ok(Idempotency { key: key.to_string(), fingerprint })
    }
}

/// The result of a write, and whether it is the replayed answer of an earlier identical request.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    pub value: T,
    pub replayed: bool,
}

/// Returns the stored answer for `idem`, if this key was used before by `user`.
pub(crate) async fn replay<T: DeserializeOwned>(
    tx: &mut Session,
    user: UserId,
    operation: &str,
    idem: Option<&Idempotency>,
) -> Result<Option<Recorded<T>>, AppError> {
    let Some(idem) = idem else { return Ok(None) };
    let Some(stored) = tx.find_idempotent_response(user, &idem.key).await? else { return Ok(None) };
    if stored.operation != operation || stored.request_hash != idem.fingerprint {
        return Err(AppError::IdempotencyKeyReused { key: idem.key.clone() });
    }
    let value = serde_json::from_str(&stored.body)
        .map_err(|e| AppError::Internal(format!("stored idempotent answer is unreadable: {e}")))?;
    Ok(Some(Recorded { value, replayed: true }))
}

/// Stores the answer of a first request under its key, in the request's transaction.
pub(crate) async fn remember<T: Serialize>(
    tx: &mut Session,
    user: UserId,
    operation: &str,
    idem: Option<&Idempotency>,
    value: &T,
    now: jiff::Timestamp,
) -> Result<(), AppError> {
    let Some(idem) = idem else { return Ok(()) };
    let body = serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))?;
    let response = StoredResponse {
        operation: operation.to_string(),
        request_hash: idem.fingerprint.clone(),
        status: 200,
        body,
    };
    tx.store_idempotent_response(user, &idem.key, &response, now).await?;
    Ok(())
}
