//! Use cases of the web UI: passwords (argon2id), sign-in sessions with their CSRF token, the
//! user's language, and the lead inbox.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::SignedDuration;
use leadgate_core::access::Permission;
use leadgate_core::email::Email;
use leadgate_core::ids::UserId;
use leadgate_store::web::{InboxFilter, InboxRow};
use sha2::{Digest, Sha256};

use crate::{App, AppError, Principal};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);
/// And in any case after this long.
pub const MAX_SESSION: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// A signed-in user, from their session cookie.
#[derive(Debug, Clone)]
pub struct WebPrincipal {
    pub principal: Principal,
    /// `en` or `fr` when the user chose one.
    pub language: Option<String>,
    /// The token every form of this session must carry.
    pub csrf: String,
}

fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("could not hash the password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// What is wrong with a new password, if anything.
pub(crate) fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Some(format!("is too short: use at least {MIN_PASSWORD} characters"));
    }
    if password.len() > 1024 {
        return Some("is too long: use at most 1024 bytes".into());
    }
    None
}

fn check_password(password: &str) -> Result<(), AppError> {
    password_problem(password).map_or(Ok(()), |problem| Err(AppError::invalid("password", problem)))
}

/// Hashes a new password on the blocking pool: argon2 is slow on purpose, and the async
/// threads serve requests meanwhile.
pub(crate) async fn hash_password_off_thread(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing stopped: {e}")))?
}

/// Why a sign-in failed, in the words the page shows (never which of e-mail or password).
pub const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

impl App {
    /// Sets a user's password: their own, or anyone's for an admin. Ends their other sessions.
    pub async fn set_password(
        &self,
        principal: &Principal,
        user: UserId,
        password: &str,
    ) -> Result<(), AppError> {
        if principal.user.id != user {
            principal.require(Permission::ManageUsers)?;
        }
        check_password(password)?;
        let hash = hash_password_off_thread(password).await?;
        let mut tx = self.store.begin().await?;
        if !tx.set_password_hash(user, &hash).await? {
            return Err(AppError::not_found("user", user));
        }
        tx.delete_web_sessions_of(user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the password of the user with this e-mail, for the operator (CLI).
    pub async fn set_password_by_email(&self, email: &str, password: &str) -> Result<(), AppError> {
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let user = {
            let mut s = self.store.read().await?;
            s.find_user_by_email(&email).await?.ok_or_else(|| AppError::not_found("user", email.as_str()))?
        };
        let operator = Principal { user: user.clone(), api_key: None };
        self.set_password(&operator, user.id, password).await
    }

    /// Checks e-mail and password; on success opens a session and returns its cookie token.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<String, AppError> {
        let wrong = || AppError::Unauthenticated(WRONG_CREDENTIALS.into());
        let Ok(email) = Email::parse(email) else {
            return Err(wrong());
        };
        let found = self.store.read().await?.password_hash(&email).await?;
        let ok = match &found {
            Some((user, Some(hash))) if user.disabled_at.is_none() => {
                let (password, hash) = (password.to_string(), hash.clone());
                // argon2id is deliberately slow: off the async threads.
                tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?
            }
            _ => {
                // The same work for unknown e-mails, so timing does not tell which exist.
                let password = password.to_string();
                let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
                false
            }
        };
        let Some((user, _)) = found.filter(|_| ok) else {
            return Err(wrong());
        };
        let token = random_hex(32)?;
        let csrf = random_hex(16)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_web_session(&digest(&token), user.id, &csrf, now, now + MAX_SESSION).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The signed-in user of a session cookie, or why not (expired, unknown, disabled).
    pub async fn web_session(&self, token: &str) -> Result<WebPrincipal, AppError> {
        let key = digest(token);
        let now = self.now();
        let session = self.store.read().await?.web_session(&key).await?;
        let Some(s) = session else {
            return Err(AppError::Unauthenticated("you are signed out; sign in again".into()));
        };
        if s.user.disabled_at.is_some() {
            return Err(AppError::Unauthenticated("your account is disabled; ask an admin".into()));
        }
        if now >= s.expires_at || now.duration_since(s.last_seen_at) > IDLE_TIMEOUT {
            let mut tx = self.store.begin().await?;
            tx.delete_web_session(&key).await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated("your session expired; sign in again".into()));
        }
        // Written at most once a minute: a page view should not always cost a write.
        if now.duration_since(s.last_seen_at) > SignedDuration::from_secs(60) {
            // Best effort: a full disk must not sign everyone out.
            let touched = async {
                let mut tx = self.store.begin().await?;
                tx.touch_web_session(&key, now).await?;
                tx.commit().await
            };
            if let Err(e) = touched.await {
                tracing::warn!(error = %e, "could not record when a web session was last used");
            }
        }
        Ok(WebPrincipal {
            principal: Principal { user: s.user, api_key: None },
            language: s.language,
            csrf: s.csrf,
        })
    }

    /// Forgets sessions that ended (expired or idle too long); the job runner calls it.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let n = tx.purge_web_sessions(now, now - IDLE_TIMEOUT).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.delete_web_session(&digest(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers the user's language (`en`, `fr`, or `None` for the browser's).
    pub async fn set_language(&self, principal: &Principal, language: Option<&str>) -> Result<(), AppError> {
        if language.is_some_and(|l| !matches!(l, "en" | "fr")) {
            return Err(AppError::invalid("language", "must be en or fr"));
        }
        let mut tx = self.store.begin().await?;
        tx.set_language(principal.user.id, language).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One page of the lead inbox.
    pub async fn inbox(
        &self,
        principal: &Principal,
        filter: &InboxFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<InboxRow>, AppError> {
        let mut s = self.store.read().await?;
        let filter = InboxFilter { scope: self.lead_scope(&mut s, principal).await?, ..filter.clone() };
        Ok(s.inbox(&filter, limit.clamp(1, 200) as i64, offset as i64).await?)
    }

    /// Every lead matching the inbox filters (up to `max`), in inbox order, for a CSV export.
    pub async fn inbox_export(
        &self,
        principal: &Principal,
        filter: &InboxFilter,
        max: u32,
    ) -> Result<Vec<InboxRow>, AppError> {
        let mut s = self.store.read().await?;
        let filter = InboxFilter { scope: self.lead_scope(&mut s, principal).await?, ..filter.clone() };
        Ok(s.inbox(&filter, max.clamp(1, 100_000) as i64, 0).await?)
    }

    /// Saves the inbox filters under a name, for the user (same name: replaced).
    pub async fn save_view(&self, principal: &Principal, name: &str, query: &str) -> Result<(), AppError> {
        principal.require(Permission::ReadContacts)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || !leadgate_core::validation::is_plain_text(name) {
            return Err(AppError::invalid("name", "give the view a name of at most 80 characters"));
        }
        if query.len() > 2000 {
            return Err(AppError::invalid("query", "these filters are too long to save"));
        }
        let mut tx = self.store.begin().await?;
        tx.save_view(uuid::Uuid::now_v7(), principal.user.id, name, query, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn saved_views(
        &self,
        principal: &Principal,
    ) -> Result<Vec<leadgate_store::web::SavedView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.saved_views(principal.user.id).await?)
    }

    pub async fn delete_view(&self, principal: &Principal, id: uuid::Uuid) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_view(id, principal.user.id).await? {
            return Err(AppError::not_found("saved view", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The funnel of a period by source, and open leads by temperature, for the dashboard.
    pub async fn dashboard(
        &self,
        principal: &Principal,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<(Vec<leadgate_store::web::FunnelRow>, Vec<(Option<String>, i64)>), AppError> {
        principal.require(Permission::ReadContacts)?;
        if from >= to {
            return Err(AppError::invalid("from", "must be before `to`"));
        }
        let mut s = self.store.read().await?;
        Ok((s.funnel(from, to).await?, s.temperature_counts().await?))
    }

    /// The users of the workspace (for names of owners), for anyone who reads contacts.
    pub async fn user_directory(
        &self,
        principal: &Principal,
    ) -> Result<Vec<leadgate_core::user::User>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.list_users().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule() {
        let AppError::Invalid(e) = check_password("short").unwrap_err() else { panic!() };
        assert!(e.errors[0].message.contains("at least 10"));
    }
}
