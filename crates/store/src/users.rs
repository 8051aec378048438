//! Users and their API keys in storage. Keys are stored as a SHA-256 digest of the secret: the
//! plain key is shown once at creation and cannot be recovered from the database.

use jiff::Timestamp;
use leadgate_core::access::Role;
use leadgate_core::email::Email;
use leadgate_core::ids::{ApiKeyId, UserId};
pub use leadgate_core::user::{ApiKey, User};

use crate::driver::{Row, Session, args};
use crate::error::StoreError;

/// What authentication needs to check a presented key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub key: ApiKey,
    pub secret_hash: Vec<u8>,
    pub user: User,
}

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.created_at, u.disabled_at";
const KEY_COLUMNS: &str = "k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at";

pub(crate) fn user_from_row(row: &Row, at: usize) -> Result<User, StoreError> {
    let role: String = row.get(at + 3)?;
    Ok(User {
        id: UserId(row.get(at)?),
        email: row.get(at + 1)?,
        name: row.get(at + 2)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
        created_at: row.ts(at + 4)?,
        disabled_at: row.opt_ts(at + 5)?,
    })
}

fn key_from_row(row: &Row, at: usize) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: ApiKeyId(row.get(at)?),
        user_id: UserId(row.get(at + 1)?),
        name: row.get(at + 2)?,
        prefix: row.get(at + 3)?,
        created_at: row.ts(at + 4)?,
        last_used_at: row.opt_ts(at + 5)?,
        revoked_at: row.opt_ts(at + 6)?,
    })
}

impl Session {
    pub async fn insert_user(
        &mut self,
        id: UserId,
        email: &Email,
        name: Option<&str>,
        role: Role,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        self.execute(
            "INSERT INTO users (id, email, email_key, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![id, email.as_str(), email.key(), name, role.as_str(), password_hash, now],
        )
        .await?;
        Ok(User {
            id,
            email: email.to_string(),
            name: name.map(String::from),
            role,
            created_at: now,
            disabled_at: None,
        })
    }

    pub async fn get_user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        self.fetch_optional(&sql, args![id]).await?.map(|r| user_from_row(&r, 0)).transpose()
    }

    pub async fn find_user_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_key = $1");
        self.fetch_optional(&sql, args![email.key()]).await?.map(|r| user_from_row(&r, 0)).transpose()
    }

    pub async fn list_users(&mut self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
        self.fetch_all(&sql, vec![]).await?.iter().map(|r| user_from_row(r, 0)).collect()
    }

    /// Whether any active admin exists (the first start creates one).
    pub async fn has_admin(&mut self) -> Result<bool, StoreError> {
        let n: i64 = self
            .fetch_one("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL", vec![])
            .await?
            .get(0)?;
        Ok(n > 0)
    }

    pub async fn update_user_role(&mut self, id: UserId, role: Role) -> Result<bool, StoreError> {
        Ok(self.execute("UPDATE users SET role = $2 WHERE id = $1", args![id, role.as_str()]).await? == 1)
    }

    pub async fn set_user_disabled(
        &mut self,
        id: UserId,
        disabled_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute("UPDATE users SET disabled_at = $2 WHERE id = $1", args![id, disabled_at]).await?
            == 1)
    }

    pub async fn insert_api_key(
        &mut self,
        id: ApiKeyId,
        user: UserId,
        name: &str,
        prefix: &str,
        secret_hash: &[u8],
        now: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        self.execute(
            "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![id, user, name, prefix, secret_hash.to_vec(), now],
        )
        .await?;
        Ok(ApiKey {
            id,
            user_id: user,
            name: name.to_string(),
            prefix: prefix.to_string(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// The key with this prefix and its user, for authentication.
    pub async fn find_api_key(&mut self, prefix: &str) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, k.secret_hash, {USER_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.prefix = $1"
        );
        let Some(row) = self.fetch_optional(&sql, args![prefix]).await? else { return Ok(None) };
        Ok(Some(StoredKey {
            key: key_from_row(&row, 0)?,
            secret_hash: row.get(7)?,
            user: user_from_row(&row, 8)?,
        }))
    }

    /// Keys of one user, or of everyone when `user` is `None`.
    pub async fn list_api_keys(&mut self, user: Option<UserId>) -> Result<Vec<ApiKey>, StoreError> {
        let rows = match user {
            Some(u) => {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.user_id = $1 ORDER BY k.id");
                self.fetch_all(&sql, args![u]).await?
            }
            None => {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k ORDER BY k.id");
                self.fetch_all(&sql, vec![]).await?
            }
        };
        rows.iter().map(|r| key_from_row(r, 0)).collect()
    }

    pub async fn get_api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1");
        self.fetch_optional(&sql, args![id]).await?.map(|r| key_from_row(&r, 0)).transpose()
    }

    /// Revokes a key (idempotent: revoking twice keeps the first time).
    pub async fn revoke_api_key(&mut self, id: ApiKeyId, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                args![id, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Notes that a key was used, at most once a minute per key so that reads stay reads.
    pub async fn touch_api_key(&mut self, id: ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
        let a_minute_ago = now - jiff::SignedDuration::from_secs(60);
        self.execute(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            args![id, now, a_minute_ago],
        )
        .await?;
        Ok(())
    }
}
