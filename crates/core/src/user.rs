//! Users of the workspace and their API keys (the listing form: a key's secret never leaves the
//! moment of its creation).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::ids::{ApiKeyId, UserId};

/// A user of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Set when the user was disabled: their keys and sessions stop working.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub disabled_at: Option<Timestamp>,
}

/// An API key as listed: its public prefix, never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
}

/// What a run of failed sign-ins is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInScope {
    /// One account (the e-mail typed, known or not).
    Account,
    /// One network the attempts come from (an IPv4 /24 or an IPv6 /64).
    Address,
}

impl SignInScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInScope::Account => "account",
            SignInScope::Address => "address",
        }
    }
}

/// How long sign-in stays locked after `failures` failed attempts in a row: a few are free (a
/// mistyped password), then the wait doubles with each failure up to a ceiling — 15 s, 30 s …
/// up to 15 minutes for an account after 5 failures; 1 minute, 2 … up to an hour for an address
/// after 20 (many people may share one). Two hundred guesses at one account take days.
///
/// ```
/// use jiff::SignedDuration;
/// use leadgate_core::user::{SignInScope, sign_in_lock};
/// assert_eq!(sign_in_lock(SignInScope::Account, 5), None);
/// assert_eq!(sign_in_lock(SignInScope::Account, 6), Some(SignedDuration::from_secs(15)));
/// assert_eq!(sign_in_lock(SignInScope::Account, 8), Some(SignedDuration::from_secs(60)));
/// assert_eq!(sign_in_lock(SignInScope::Account, 200), Some(SignedDuration::from_mins(15)));
/// assert_eq!(sign_in_lock(SignInScope::Address, 20), None);
/// assert_eq!(sign_in_lock(SignInScope::Address, 21), Some(SignedDuration::from_mins(1)));
/// ```
pub fn sign_in_lock(scope: SignInScope, failures: u32) -> Option<jiff::SignedDuration> {
    let (free, first, ceiling): (u32, u32, u32) = match scope {
        SignInScope::Account => (5, 15, 15 * 60),
        SignInScope::Address => (20, 60, 60 * 60),
    };
    let over = failures.checked_sub(free).filter(|n| *n > 0)?;
    // Doubling past the ceiling (or past what a u32 holds) is the ceiling.
    let secs = if over > 20 { ceiling } else { (first << (over - 1)).min(ceiling) };
    Some(jiff::SignedDuration::from_secs(i64::from(secs)))
}
