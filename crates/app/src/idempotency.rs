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

/// What an `Idempotency-Key` sent with a request means for it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyUse {
    /// The key is now this request's: run it, then keep or release its answer.
    Reserved,
    /// The same request answered before: send this answer again.
    Replay { status: u16, content_type: Option<String>, body: Vec<u8> },
    /// The same request answered before, with a secret that is shown once only.
    SecretShownOnce,
    /// The same request is running now.
    InProgress,
    /// The same request started and never answered (its server stopped): it may or may not
    /// have taken effect.
    Unanswered,
    /// The key was used for another request.
    Reused,
}

/// How long a reserved key may wait for its answer before it counts as unanswered.
const ANSWER_WITHIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// The content type kept for an answer holding a secret shown once (nothing of it is kept).
pub const SECRET_ANSWER: &str = "secret";

impl crate::App {
    /// Reserves `idem`'s key for this request, or says what it holds already.
    pub async fn reserve_request_key(
        &self,
        principal: &crate::Principal,
        idem: &Idempotency,
    ) -> Result<KeyUse, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let held = tx.reserve_request_key(principal.user.id, &idem.key, &idem.fingerprint, now).await?;
        tx.commit().await?;
        Ok(match held {
            None => KeyUse::Reserved,
            Some(k) if k.fingerprint != idem.fingerprint => KeyUse::Reused,
            Some(k) if k.done && k.content_type.as_deref() == Some(SECRET_ANSWER) => KeyUse::SecretShownOnce,
            Some(k) if k.done => KeyUse::Replay {
                status: k.status.unwrap_or(200),
                content_type: k.content_type,
                body: k.body.unwrap_or_default(),
            },
            Some(k) if now - k.created_at > ANSWER_WITHIN => KeyUse::Unanswered,
            Some(_) => KeyUse::InProgress,
        })
    }

    /// Keeps the answer of a reserved key's request (a secret's answer is not kept).
    pub async fn complete_request_key(
        &self,
        principal: &crate::Principal,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.complete_request_key(principal.user.id, key, status, content_type, body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Frees a reserved key whose request was refused or failed (it changed nothing).
    pub async fn release_request_key(&self, principal: &crate::Principal, key: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.release_request_key(principal.user.id, key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets idempotency keys older than a day (clients retry within minutes).
    pub async fn purge_idempotency_keys(&self) -> Result<u64, AppError> {
        let mut tx = self.store.begin().await?;
        let day_ago = self.now() - jiff::SignedDuration::from_hours(24);
        let n = tx.purge_idempotency_keys(day_ago).await?
            + tx.purge_sign_in_failures(day_ago).await?
            + tx.purge_used_form_tokens(self.now() - crate::capture::MAX_FORM_AGE).await?;
        tx.commit().await?;
        Ok(n)
    }
}
