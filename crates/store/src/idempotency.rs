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
        self.execute("DELETE FROM idempotency_keys WHERE created_at < $1", args![before]).await
    }
}
