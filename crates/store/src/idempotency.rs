//! Stored answers to requests that carried an `Idempotency-Key`. The answer is written in the
//! same transaction as the request's effects, so either both exist or neither does: a client that
//! retries after a timeout or a crash gets the first answer, never a second effect.

use jiff::Timestamp;
use leadgate_core::ids::UserId;

use crate::driver::{Session, args};
use crate::error::StoreError;

/// A previously stored answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub operation: String,
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

impl Session {
    pub async fn find_idempotent_response(
        &mut self,
        user: UserId,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT operation, request_hash, response_status, response_body FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2",
                args![user, key],
            )
            .await?;
        row.map(|r| {
            Ok(StoredResponse {
                operation: r.get(0)?,
                request_hash: r.get(1)?,
                status: u16::try_from(r.get::<i64>(2)?).unwrap_or(200),
                body: r.get(3)?,
            })
        })
        .transpose()
    }

    pub async fn store_idempotent_response(
        &mut self,
        user: UserId,
        key: &str,
        response: &StoredResponse,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response_status, response_body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                user,
                key,
                response.operation.as_str(),
                response.request_hash.as_str(),
                i64::from(response.status),
                response.body.as_str(),
                now
            ],
        )
        .await?;
        Ok(())
    }

    /// Forgets answers older than `before` (clients retry within minutes, not weeks).
    pub async fn purge_idempotency_keys(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        let n = self.execute("DELETE FROM idempotency_keys WHERE created_at < $1", args![before]).await?;
        Ok(n + self.execute("DELETE FROM request_keys WHERE created_at < $1", args![before]).await?)
    }

    /// Reserves `key` for a request of `user` with this fingerprint. Returns `None` when it is
    /// now reserved for this request, or what the key holds already.
    pub async fn reserve_request_key(
        &mut self,
        user: UserId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Option<RequestKey>, StoreError> {
        let inserted = self
            .execute(
                "INSERT INTO request_keys (user_id, key, fingerprint, state, created_at) VALUES ($1, $2, $3, 'pending', $4) \
                 ON CONFLICT (user_id, key) DO NOTHING",
                args![user, key, fingerprint, now],
            )
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        let row = self
            .fetch_one(
                "SELECT fingerprint, state, status, content_type, body, created_at FROM request_keys \
                 WHERE user_id = $1 AND key = $2",
                args![user, key],
            )
            .await?;
        Ok(Some(RequestKey {
            fingerprint: row.get(0)?,
            done: row.get::<String>(1)? == "done",
            status: row.get::<Option<i64>>(2)?.and_then(|s| u16::try_from(s).ok()),
            content_type: row.get(3)?,
            body: row.get(4)?,
            created_at: row.ts(5)?,
        }))
    }

    /// Keeps the answer of the request a key was reserved for.
    pub async fn complete_request_key(
        &mut self,
        user: UserId,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE request_keys SET state = 'done', status = $3, content_type = $4, body = $5 \
             WHERE user_id = $1 AND key = $2",
            args![user, key, i64::from(status), content_type, body.to_vec()],
        )
        .await?;
        Ok(())
    }

    /// Frees a key whose request was refused or failed: it changed nothing, and may be sent
    /// again.
    pub async fn release_request_key(&mut self, user: UserId, key: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM request_keys WHERE user_id = $1 AND key = $2 AND state = 'pending'",
            args![user, key],
        )
        .await?;
        Ok(())
    }
}

/// What an `Idempotency-Key` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestKey {
    pub fingerprint: String,
    /// Whether the first request answered (else it runs, or stopped before answering).
    pub done: bool,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: Timestamp,
}
