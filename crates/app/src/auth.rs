//! Users, API keys and authentication. An API key is `lg_` followed by 48 random hex digits; the
//! first 12 characters are its public prefix (shown in listings, indexed for look-up), and only a
//! SHA-256 digest of the whole key is stored. A fast digest is enough here because keys are long
//! random secrets, not passwords a person chose: there is nothing to guess.

use jiff::Timestamp;
use leadgate_core::access::{Permission, Role};
use leadgate_core::email::Email;
use leadgate_core::ids::{ApiKeyId, UserId};
use leadgate_core::validation::is_plain_text;
use leadgate_store::users::{ApiKey, User};
use sha2::{Digest, Sha256};

use crate::{App, AppError, hex, new_uuid};

/// Characters of a key that identify it publicly.
pub const KEY_PREFIX_LEN: usize = 12;
/// The shortest key accepted from `--bootstrap-api-key`: shorter secrets can be guessed.
pub const MIN_KEY_LEN: usize = 32;

/// Who is calling: an authenticated user and the key they used.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: User,
    pub api_key: Option<ApiKeyId>,
    /// The network address the request came from, when it came over HTTP (for the audit log).
    pub address: Option<String>,
}

impl Principal {
    /// Succeeds when the caller's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.user.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden { role: self.user.role.as_str(), action: permission.describe() })
        }
    }
}

/// A user to create.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    /// With a password the user can sign in to the web UI at once.
    pub password: Option<&'a str>,
}

/// A key as shown once at creation: the secret is in `key` and nowhere else afterwards.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    /// The key itself. Shown only now: store it safely, it cannot be retrieved later.
    pub key: String,
    pub api_key: ApiKey,
}

fn generate_key() -> Result<String, AppError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness available: {e}")))?;
    Ok(format!("lg_{}", hex(&bytes)))
}

fn digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Compares in time independent of where the inputs differ, so response timing reveals nothing
/// about a stored digest.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_key_shape(key: &str) -> Result<(), AppError> {
    if key.len() < MIN_KEY_LEN || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "api_key",
            format!("an API key must be {MIN_KEY_LEN} to 200 visible ASCII characters without spaces"),
        ));
    }
    Ok(())
}

impl App {
    /// Authenticates a bearer key. Every failure reads the same to the client (which key
    /// prefixes exist is not its business), but is logged with its reason.
    pub async fn authenticate(&self, key: &str) -> Result<Principal, AppError> {
        let refused = || {
            AppError::Unauthenticated(
                "the API key is not valid; send `Authorization: Bearer <key>` with an active key".into(),
            )
        };
        let key = key.trim();
        if key.len() < KEY_PREFIX_LEN || key.len() > 200 {
            return Err(refused());
        }
        let prefix = key.get(..KEY_PREFIX_LEN).ok_or_else(refused)?;
        let mut s = self.store.read().await?;
        let Some(stored) = s.find_api_key(prefix).await? else {
            tracing::debug!(prefix, "unknown API key prefix");
            return Err(refused());
        };
        drop(s);
        if !constant_time_eq(&stored.secret_hash, &digest(key)) {
            tracing::info!(prefix, "API key with a known prefix but a wrong secret");
            return Err(refused());
        }
        if stored.key.revoked_at.is_some() {
            return Err(AppError::Unauthenticated("this API key was revoked; create a new one".into()));
        }
        if stored.user.disabled_at.is_some() {
            return Err(AppError::Unauthenticated("the user owning this API key is disabled".into()));
        }
        let now = self.now();
        if stored.key.last_used_at.is_none_or(|t| t < now - jiff::SignedDuration::from_secs(60)) {
            // Best effort: a full disk must not turn every read into an error.
            let touched = async {
                let mut tx = self.store.begin().await?;
                tx.touch_api_key(stored.key.id, now).await?;
                tx.commit().await
            };
            if let Err(e) = touched.await {
                tracing::warn!(error = %e, "could not record when an API key was last used");
            }
        }
        Ok(Principal { user: stored.user, api_key: Some(stored.key.id), address: None })
    }

    /// On first start, creates the admin user and its API key. Returns the key to print once, or
    /// `None` when an admin already exists (the bootstrap key is then ignored, as documented).
    pub async fn bootstrap_admin(
        &self,
        admin_email: &str,
        bootstrap_key: Option<&str>,
    ) -> Result<Option<NewApiKey>, AppError> {
        let email = Email::parse(admin_email).map_err(|e| AppError::invalid("admin_email", e.to_string()))?;
        let mut tx = self.store.begin().await?;
        if tx.has_admin().await? {
            return Ok(None);
        }
        let now = self.now();
        let user = match tx.find_user_by_email(&email).await? {
            Some(u) => u,
            None => {
                tx.insert_user(UserId(new_uuid()), &email, Some("Administrator"), Role::Admin, None, now)
                    .await?
            }
        };
        let key = match bootstrap_key {
            Some(k) => {
                check_key_shape(k)?;
                k.to_string()
            }
            None => generate_key()?,
        };
        let api_key = insert_key(&mut tx, user.id, "bootstrap", &key, now).await?;
        tx.commit().await?;
        Ok(Some(NewApiKey { key, api_key }))
    }

    /// Who the command line acts as: it has direct access to the database, so it acts with an
    /// admin's rights, recorded under the first admin (or a nameless operator before any exists).
    pub async fn operator(&self) -> Result<Principal, AppError> {
        let mut s = self.store.read().await?;
        let admin =
            s.list_users().await?.into_iter().find(|u| u.role == Role::Admin && u.disabled_at.is_none());
        let user = admin.unwrap_or_else(|| leadgate_core::user::User {
            id: UserId(uuid::Uuid::nil()),
            email: "operator@leadgate.local".into(),
            name: Some("command line".into()),
            role: Role::Admin,
            created_at: self.now(),
            disabled_at: None,
        });
        Ok(Principal { user, api_key: None, address: None })
    }

    /// Creates a user (admins only), with a password to sign in to the web UI at once when one
    /// is given. Everything is checked first and written in one transaction: a refused request
    /// creates nothing.
    pub async fn create_user(&self, principal: &Principal, new: NewUser<'_>) -> Result<User, AppError> {
        principal.require(Permission::ManageUsers)?;
        let mut errors = leadgate_core::validation::ValidationErrors::new();
        let email = Email::parse(new.email).map_err(|e| errors.add("email", e.to_string())).ok();
        let name = new.name.map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 200 || !is_plain_text(n)) {
            errors.add("name", "must be plain text of at most 200 characters");
        }
        let password = new.password.filter(|p| !p.is_empty());
        if let Some(problem) =
            password.and_then(|p| crate::web::password_problem(p, &[new.email, name.unwrap_or_default()]))
        {
            errors.add("password", problem);
        }
        errors.into_result(())?;
        let Some(email) = email else { return Err(AppError::invalid("email", "is required")) };
        let hash = match password {
            Some(p) => {
                let _permit = self.hash_permit().await?;
                Some(crate::web::hash_password_off_thread(p).await?)
            }
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let user =
            tx.insert_user(UserId(new_uuid()), &email, name, new.role, hash.as_deref(), self.now()).await?;
        let detail = serde_json::json!({ "role": user.role.as_str() });
        self.audit_in(&mut tx, Some(principal), "user.created", Some(user.email.clone()), None, detail)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes a user's role or disables / re-enables them (admins only). The workspace always
    /// keeps an enabled admin, and nobody disables themselves by mistake. Disabling ends their
    /// web sessions (their API keys stop working at once: authentication checks the user).
    pub async fn update_user(
        &self,
        principal: &Principal,
        id: UserId,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<User, AppError> {
        principal.require(Permission::ManageUsers)?;
        let mut tx = self.store.begin().await?;
        let user = tx.get_user(id).await?.ok_or_else(|| AppError::not_found("user", id))?;
        let admins = tx
            .list_users()
            .await?
            .iter()
            .filter(|u| u.role == Role::Admin && u.disabled_at.is_none())
            .count();
        let loses_admin = user.role == Role::Admin
            && user.disabled_at.is_none()
            && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true));
        if loses_admin && admins <= 1 {
            return Err(AppError::StateConflict(
                "this is the last enabled admin; make another user admin first".into(),
            ));
        }
        if disabled == Some(true) && id == principal.user.id {
            return Err(AppError::StateConflict("you cannot disable yourself; ask another admin".into()));
        }
        if let Some(r) = role {
            tx.update_user_role(id, r).await?;
        }
        match disabled {
            Some(true) if user.disabled_at.is_none() => {
                tx.set_user_disabled(id, Some(self.now())).await?;
                tx.delete_web_sessions_of(id).await?;
            }
            Some(false) => {
                tx.set_user_disabled(id, None).await?;
            }
            _ => {}
        }
        let user = tx.get_user(id).await?.ok_or_else(|| AppError::not_found("user", id))?;
        let detail = serde_json::json!({ "role": role.map(Role::as_str), "disabled": disabled });
        self.audit_in(&mut tx, Some(principal), "user.updated", Some(user.email.clone()), None, detail)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn list_users(&self, principal: &Principal) -> Result<Vec<User>, AppError> {
        principal.require(Permission::ManageUsers)?;
        Ok(self.store.read().await?.list_users().await?)
    }

    /// Creates an API key for `owner` (oneself, or anyone for an admin). The key is returned in
    /// clear only here.
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        owner: Option<UserId>,
        name: &str,
    ) -> Result<NewApiKey, AppError> {
        let owner = owner.unwrap_or(principal.user.id);
        if owner == principal.user.id {
            principal.require(Permission::ManageOwnApiKeys)?;
        } else {
            principal.require(Permission::ManageUsers)?;
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || !is_plain_text(name) {
            return Err(AppError::invalid(
                "name",
                "give the key a name of 1 to 100 characters, e.g. `crm-sync`",
            ));
        }
        let mut tx = self.store.begin().await?;
        if tx.get_user(owner).await?.is_none() {
            return Err(AppError::not_found("user", owner));
        }
        let key = generate_key()?;
        let api_key = insert_key(&mut tx, owner, name, &key, self.now()).await?;
        let detail = serde_json::json!({ "name": name, "owner": owner });
        self.audit_in(
            &mut tx,
            Some(principal),
            "api_key.created",
            Some(api_key.id.to_string()),
            None,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(NewApiKey { key, api_key })
    }

    /// Lists keys: one's own, or everyone's for an admin.
    pub async fn list_api_keys(&self, principal: &Principal) -> Result<Vec<ApiKey>, AppError> {
        principal.require(Permission::ManageOwnApiKeys)?;
        let scope =
            if principal.user.role.allows(Permission::ManageUsers) { None } else { Some(principal.user.id) };
        Ok(self.store.read().await?.list_api_keys(scope).await?)
    }

    /// Revokes a key: one's own, or anyone's for an admin. Effective for the next request.
    pub async fn revoke_api_key(&self, principal: &Principal, id: ApiKeyId) -> Result<ApiKey, AppError> {
        principal.require(Permission::ManageOwnApiKeys)?;
        let mut tx = self.store.begin().await?;
        let key = tx.get_api_key(id).await?.ok_or_else(|| AppError::not_found("API key", id))?;
        if key.user_id != principal.user.id {
            // Hide other users' keys from non-admins rather than confirming they exist.
            principal.require(Permission::ManageUsers).map_err(|_| AppError::not_found("API key", id))?;
        }
        tx.revoke_api_key(id, self.now()).await?;
        let key = tx.get_api_key(id).await?.ok_or_else(|| AppError::not_found("API key", id))?;
        let detail = serde_json::json!({ "name": key.name, "owner": key.user_id });
        self.audit_in(&mut tx, Some(principal), "api_key.revoked", Some(id.to_string()), None, detail)
            .await?;
        tx.commit().await?;
        Ok(key)
    }
}

async fn insert_key(
    tx: &mut leadgate_store::Session,
    user: UserId,
    name: &str,
    key: &str,
    now: Timestamp,
) -> Result<ApiKey, AppError> {
    let prefix = key.get(..KEY_PREFIX_LEN).ok_or_else(|| AppError::invalid("api_key", "is too short"))?;
    tx.insert_api_key(ApiKeyId(new_uuid()), user, name, prefix, &digest(key), now).await.map_err(
        |e| match e {
            leadgate_store::StoreError::Conflict { .. } => AppError::Conflict {
                field: "api_key".into(),
                message: "another key starts with the same 12 characters; choose a different key".into(),
            },
            other => other.into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("lg_") && a.len() == 51, "{a}");
        assert!(check_key_shape(&a).is_ok());
        assert!(check_key_shape("short").is_err());
        assert!(check_key_shape(&format!("{} {}", "a".repeat(20), "b".repeat(20))).is_err());
    }

    #[test]
    fn constant_time_eq_compares_fully() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
