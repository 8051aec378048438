//! Use cases of the web UI: passwords (argon2id), sign-in sessions with their CSRF token, the
//! user's language, and the lead inbox.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::SignedDuration;
use leadgate_core::access::Permission;
use leadgate_core::email::Email;
use leadgate_core::ids::{ContactId, UserId};
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
    /// The IANA time zone the user chose, if any.
    pub time_zone: Option<String>,
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

/// What is wrong with a new password, if anything: too short, too long, or guessable — a
/// common password, a keyboard walk, a date, the user's own e-mail or name (zxcvbn, the
/// maintained port of Dropbox's estimator, which knows the common-password lists).
pub(crate) fn password_problem(password: &str, user_inputs: &[&str]) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Some(format!("is too short: use at least {MIN_PASSWORD} characters"));
    }
    if password.len() > 1024 {
        return Some("is too long: use at most 1024 bytes".into());
    }
    // The estimate's cost grows with the length; past 64 characters a password is not guessed
    // by the patterns it knows anyway.
    let head: String = password.chars().take(64).collect();
    // Each word of the e-mail and name counts, not only the whole: "mary.sales" from
    // "mary@sales.example" is as guessable.
    let words: Vec<&str> = user_inputs
        .iter()
        .flat_map(|i| std::iter::once(*i).chain(i.split(|c: char| !c.is_alphanumeric())))
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let guessable = zxcvbn::zxcvbn(&head, &words).score() < zxcvbn::Score::Two;
    guessable.then(|| {
        "is too easy to guess (a common password, a pattern, or your own name or e-mail): use a few unrelated \
         words or a password manager"
            .to_string()
    })
}

fn check_password(password: &str, user_inputs: &[&str]) -> Result<(), AppError> {
    password_problem(password, user_inputs)
        .map_or(Ok(()), |problem| Err(AppError::invalid("password", problem)))
}

/// The account key of the sign-in throttle: a digest of the e-mail typed (folded), so the
/// table never holds addresses nor tells which accounts exist.
fn throttle_account(email: &str) -> String {
    digest(&leadgate_core::text::fold(email))
}

/// The address key of the sign-in throttle: the client's network (an IPv4 /24, an IPv6 /64),
/// so one machine changing its address within its network is still one.
fn throttle_address(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A password change.
#[derive(Debug, Clone, Copy, Default)]
pub struct PasswordChange<'a> {
    pub password: &'a str,
    /// The user's current password: needed to change one's own, once one has a password.
    pub current: Option<&'a str>,
    /// Also revoke the user's API keys (those of the key used for this request excepted).
    pub revoke_api_keys: bool,
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
        self.change_password(principal, user, PasswordChange { password, ..Default::default() }).await
    }

    /// Changes a user's password: an admin sets anyone's; a user changes its own, giving the
    /// current one once it has one (a stolen session or key must not lock its owner out). Ends
    /// the user's other sessions, and revokes its API keys when asked.
    pub async fn change_password(
        &self,
        principal: &Principal,
        user: UserId,
        change: PasswordChange<'_>,
    ) -> Result<(), AppError> {
        let own = principal.user.id == user;
        if !own {
            principal.require(Permission::ManageUsers)?;
        }
        let target = self
            .store
            .read()
            .await?
            .get_user(user)
            .await?
            .ok_or_else(|| AppError::not_found("user", user))?;
        let name = target.name.clone().unwrap_or_default();
        check_password(change.password, &[&target.email, &name])?;
        if own {
            let email = Email::parse(&target.email).map_err(|e| AppError::Internal(e.to_string()))?;
            let stored = self.store.read().await?.password_hash(&email).await?.and_then(|(_, h)| h);
            if let Some(hash) = stored {
                let current = change.current.unwrap_or_default();
                if current.is_empty() {
                    return Err(AppError::invalid(
                        "current_password",
                        "give your current password to change it",
                    ));
                }
                if !self.verify_throttled(&target.email, None, current, Some(hash)).await? {
                    return Err(AppError::invalid("current_password", "is not your current password"));
                }
            }
        }
        self.store_password(user, change.password, change.revoke_api_keys.then_some(principal.api_key)).await
    }

    /// Writes a new password (checked by the caller), ends the user's sessions and, with
    /// `revoke`, its API keys but the one given.
    async fn store_password(
        &self,
        user: UserId,
        password: &str,
        revoke: Option<Option<leadgate_core::ids::ApiKeyId>>,
    ) -> Result<(), AppError> {
        let hash = {
            let _permit = self.hash_permit().await?;
            hash_password_off_thread(password).await?
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.set_password_hash(user, &hash).await? {
            return Err(AppError::not_found("user", user));
        }
        tx.delete_web_sessions_of(user).await?;
        if let Some(except) = revoke {
            tx.revoke_api_keys_of(user, except, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Waits for one of the few concurrent password hashes: argon2 takes tens of milliseconds
    /// and 19 MiB each, and a flood of sign-ins must not starve the requests that need a core.
    pub(crate) async fn hash_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.password_hashes.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::Unavailable("too many sign-ins at once; retry in a moment".into())),
        }
    }

    /// Checks a password against `hash` (or burns the same time when there is none), under the
    /// sign-in throttle of `email` and `from`: locked attempts are refused before any hashing,
    /// failures are counted, a success clears the account's count.
    async fn verify_throttled(
        &self,
        email: &str,
        from: Option<std::net::IpAddr>,
        password: &str,
        hash: Option<String>,
    ) -> Result<bool, AppError> {
        use leadgate_core::user::{SignInScope, sign_in_lock};
        let now = self.now();
        let account = throttle_account(email);
        let address = from.map(throttle_address);
        let mut keys = vec![(SignInScope::Account.as_str(), account.as_str())];
        if let Some(a) = &address {
            keys.push((SignInScope::Address.as_str(), a.as_str()));
        }
        if let Some(until) = self.store.read().await?.sign_in_locked_until(&keys, now).await? {
            return Err(AppError::TooManyAttempts { retry_after_secs: (until - now).as_secs().max(1) });
        }
        let ok = {
            let _permit = self.hash_permit().await?;
            let password = password.to_string();
            tokio::task::spawn_blocking(move || match hash {
                Some(hash) => verify_password(&password, &hash),
                // The same work for unknown e-mails, so timing does not tell which exist.
                None => {
                    let _ = hash_password(&password);
                    false
                }
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
        };
        let mut tx = self.store.begin().await?;
        if ok {
            tx.clear_sign_in_failures(SignInScope::Account.as_str(), &account).await?;
        } else {
            for (scope, key) in
                [(SignInScope::Account, Some(account.as_str())), (SignInScope::Address, address.as_deref())]
            {
                let Some(key) = key else { continue };
                let failures = tx.record_sign_in_failure(scope.as_str(), key, now).await?;
                if let Some(lock) = sign_in_lock(scope, failures) {
                    tx.lock_sign_in(scope.as_str(), key, now + lock).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(ok)
    }

    /// Sets the password of the user with this e-mail, for the operator (CLI).
    pub async fn set_password_by_email(&self, email: &str, password: &str) -> Result<(), AppError> {
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let user = {
            let mut s = self.store.read().await?;
            s.find_user_by_email(&email).await?.ok_or_else(|| AppError::not_found("user", email.as_str()))?
        };
        // The operator has the machine: no current password asked, the lock lifted.
        let name = user.name.clone().unwrap_or_default();
        check_password(password, &[&user.email, &name])?;
        self.store_password(user.id, password, None).await?;
        let mut tx = self.store.begin().await?;
        tx.clear_sign_in_failures(
            leadgate_core::user::SignInScope::Account.as_str(),
            &throttle_account(&user.email),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks e-mail and password; on success opens a session and returns its cookie token.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<String, AppError> {
        self.sign_in_from(email, password, None).await
    }

    /// [`App::sign_in`] from a client address, throttled per account and per address: after a
    /// few failures in a row sign-in is locked for a growing while (`TooManyAttempts`, with
    /// when to retry), even with the right password.
    pub async fn sign_in_from(
        &self,
        email: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Result<String, AppError> {
        let wrong = || AppError::Unauthenticated(WRONG_CREDENTIALS.into());
        if email.len() > 320 || password.len() > 1024 {
            return Err(wrong());
        }
        let found = match Email::parse(email) {
            Ok(e) => self.store.read().await?.password_hash(&e).await?,
            Err(_) => None,
        };
        let hash = match &found {
            Some((user, Some(hash))) if user.disabled_at.is_none() => Some(hash.clone()),
            _ => None,
        };
        let ok = self.verify_throttled(email, from, password, hash).await?;
        let Some((user, _)) = found.filter(|_| ok) else {
            let mut tx = self.store.begin().await?;
            self.audit_sign_in(&mut tx, None, email, from, "user.sign_in_failed").await?;
            tx.commit().await?;
            return Err(wrong());
        };
        let token = random_hex(32)?;
        let csrf = random_hex(16)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_web_session(&digest(&token), user.id, &csrf, now, now + MAX_SESSION).await?;
        self.audit_sign_in(&mut tx, Some(user.id), &user.email, from, "user.signed_in").await?;
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
            principal: Principal { user: s.user, api_key: None, address: None },
            language: s.language,
            time_zone: s.time_zone,
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

    /// Remembers the user's time zone (an IANA name such as `Europe/Paris`, or `None` for the
    /// browser's).
    pub async fn set_time_zone(&self, principal: &Principal, zone: Option<&str>) -> Result<(), AppError> {
        if let Some(z) = zone
            && jiff::tz::TimeZone::get(z).is_err()
        {
            return Err(AppError::invalid(
                "time_zone",
                format!("`{z}` is not a time zone: use a name such as Europe/Paris"),
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.set_time_zone(principal.user.id, zone).await?;
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

    /// How many leads match the inbox filters, among those the caller sees.
    pub async fn inbox_count(&self, principal: &Principal, filter: &InboxFilter) -> Result<i64, AppError> {
        let mut s = self.store.read().await?;
        let filter = InboxFilter { scope: self.lead_scope(&mut s, principal).await?, ..filter.clone() };
        Ok(s.inbox_count(&filter).await?)
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
        let rows = s.inbox(&filter, max.clamp(1, 100_000) as i64, 0).await?;
        drop(s);
        let mut tx = self.store.begin().await?;
        let detail = serde_json::json!({ "contacts": rows.len() });
        self.audit_in(&mut tx, Some(principal), "contacts.exported", None, None, detail).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Saves the inbox filters under a name, for the user (same name: replaced).
    pub async fn save_view(&self, principal: &Principal, name: &str, query: &str) -> Result<(), AppError> {
        principal.require(Permission::ReadContacts)?;
        let name = view_name(name)?;
        if query.len() > 2000 {
            return Err(AppError::invalid("query", "these filters are too long to save"));
        }
        let mut tx = self.store.begin().await?;
        tx.save_view(uuid::Uuid::now_v7(), principal.user.id, name, query, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds leads picked by hand to the user's saved view `name`, made when it does not exist
    /// (its query then shows its members: `view=<id>`). A view of filters of the same name is
    /// left alone: adding to it would not show the leads. Returns the view and how many were
    /// added (those already in it are not counted).
    pub async fn add_to_saved_view(
        &self,
        principal: &Principal,
        name: &str,
        ids: &[ContactId],
    ) -> Result<(leadgate_store::web::SavedView, u64), AppError> {
        principal.require(Permission::ReadContacts)?;
        let name = view_name(name)?;
        if ids.len() > 1000 {
            return Err(AppError::invalid("ids", "add at most 1000 leads at once"));
        }
        let mut tx = self.store.begin().await?;
        let view = match tx.view_named(principal.user.id, name).await? {
            Some(v) if v.query.split('&').any(|part| part == format!("view={}", v.id)) => v,
            Some(_) => {
                return Err(AppError::Conflict {
                    field: "name".into(),
                    message: "a saved view of filters has this name; choose another name".into(),
                });
            }
            None => {
                let id = uuid::Uuid::now_v7();
                let query = format!("view={id}");
                tx.save_view(id, principal.user.id, name, &query, self.now()).await?;
                leadgate_store::web::SavedView { id, name: name.to_string(), query }
            }
        };
        let added = tx.add_to_view(view.id, ids, self.now()).await?;
        tx.commit().await?;
        Ok((view, added))
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

    /// Open leads by temperature (`None`: not scored), for the dashboard.
    pub async fn temperature_counts(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(Option<String>, i64)>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.temperature_counts().await?)
    }

    /// Records today's open leads by temperature (UTC day), at most once an hour, so each day
    /// keeps the figure of its last hour: the dashboard's chart of temperatures over time reads
    /// these. Returns whether it recorded.
    pub async fn record_temperature_day(&self) -> Result<bool, AppError> {
        let now = self.now();
        let day = jiff::tz::Offset::UTC.to_datetime(now).date().to_string();
        let mut s = self.store.read().await?;
        if s.temperature_day_recorded_at(&day)
            .await?
            .is_some_and(|at| now.duration_since(at) < SignedDuration::from_hours(1))
        {
            return Ok(false);
        }
        let counts = s.temperature_counts().await?;
        drop(s);
        let count = |t: Option<&str>| counts.iter().filter(|(k, _)| k.as_deref() == t).map(|(_, n)| *n).sum();
        let d = leadgate_store::web::TemperatureDay {
            day,
            hot: count(Some("hot")),
            warm: count(Some("warm")),
            cold: count(Some("cold")),
            unscored: count(None),
        };
        let mut tx = self.store.begin().await?;
        tx.record_temperature_day(&d, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Open leads by temperature for each recorded day of `[from, to]`.
    pub async fn temperature_history(
        &self,
        principal: &Principal,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<leadgate_store::web::TemperatureDay>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.temperature_days(&from.to_string(), &to.to_string()).await?)
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

/// A saved view's name as typed, trimmed, or why it is refused.
fn view_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || !leadgate_core::validation::is_plain_text(name) {
        return Err(AppError::invalid("name", "give the view a name of at most 80 characters"));
    }
    Ok(name)
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
        let AppError::Invalid(e) = check_password("short", &[]).unwrap_err() else { panic!() };
        assert!(e.errors[0].message.contains("at least 10"));
    }

    #[test]
    fn guessable_passwords_are_refused() {
        for guessable in
            ["password123", "qwertyuiop", "1234567890", "aaaaaaaaaaaa", "iloveyou2024", "Password2024"]
        {
            assert!(
                password_problem(guessable, &[]).is_some_and(|p| p.contains("guess")),
                "{guessable} was accepted"
            );
        }
        // The user's own e-mail or name is a guess too.
        let me = ["mary@sales.example", "Mary Sales"];
        assert!(password_problem("mary@sales.example", &me).is_some());
        assert!(password_problem("Mary Sales 1", &me).is_some());
        assert_eq!(password_problem("Mary Sales 1", &[]), None, "guessable only from the user's own words");
        for strong in ["correct horse battery staple", "plum-otter-grammar-82", "Tq7#mW9!zR2x"] {
            assert_eq!(password_problem(strong, &[]), None, "{strong} was refused");
        }
    }

    #[test]
    fn throttle_keys_hide_the_address_book_and_group_networks() {
        assert_eq!(throttle_account("Mary@Example.com"), throttle_account("mary@example.com"));
        assert!(!throttle_account("mary@example.com").contains("mary"));
        assert_eq!(throttle_address("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(throttle_address("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
    }
}
