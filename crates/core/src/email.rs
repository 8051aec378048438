//! E-mail addresses. An address is parsed once at the edge (parse, don't validate) and carried as
//! an [`Email`] from then on. Uniqueness in a workspace is case-insensitive (`Ada@Example.com` and
//! `ada@example.com` are the same person), so the address keeps the spelling the person typed for
//! display and exposes a lower-cased [`Email::key`] for matching.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
const MAX_LEN: usize = 254;
/// The longest local part (before `@`) allowed by RFC 5321.
const MAX_LOCAL_LEN: usize = 64;

/// A syntactically valid e-mail address.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a string is not an e-mail address, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is empty; give an address such as ada@example.com")]
    Empty,
    #[error("is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("has no `@`; an address looks like ada@example.com")]
    MissingAt,
    #[error("has nothing before the `@`")]
    EmptyLocalPart,
    #[error("has more than {MAX_LOCAL_LEN} characters before the `@`")]
    LocalPartTooLong,
    #[error("contains `{0}`, which is not allowed in an address")]
    BadCharacter(char),
    #[error("has a misplaced dot before the `@` (leading, trailing or doubled)")]
    BadDot,
    #[error("has no valid domain after the `@` (expected something like example.com)")]
    BadDomain,
}

impl Email {
    /// Parses an address as typed, trimming surrounding spaces.
    ///
    /// ```
    /// use leadgate_core::email::Email;
    /// let e = Email::parse(" Ada@Example.COM ").unwrap();
    /// assert_eq!(e.as_str(), "Ada@Example.COM");
    /// assert_eq!(e.key(), "ada@example.com");
    /// assert_eq!(e.domain(), "example.com");
    /// assert!(Email::parse("ada.example.com").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if local.chars().count() > MAX_LOCAL_LEN {
            return Err(EmailError::LocalPartTooLong);
        }
        // RFC 5322 "atext" plus dots, and any non-ASCII letter (RFC 6531 internationalised
        // addresses). Quoted local parts are legal but essentially never seen in B2B data, and
        // accepting them would let spaces and `@` into an address.
        for c in local.chars() {
            let ok = c.is_ascii_alphanumeric()
                || "!#$%&'*+/=?^_`{|}~-.".contains(c)
                || (!c.is_ascii() && c.is_alphanumeric());
            if !ok {
                return Err(EmailError::BadCharacter(c));
            }
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(EmailError::BadDot);
        }
        if !valid_domain(domain) {
            return Err(EmailError::BadDomain);
        }
        Ok(Email(s.to_string()))
    }

    /// The address as the person typed it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The matching key: the address lower-cased. Two contacts with the same key are the same
    /// person.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The domain part, lower-cased (`example.com`), used by knock-outs such as personal e-mail
    /// domains or competitors.
    pub fn domain(&self) -> String {
        self.0.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default()
    }
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 || !domain.contains('.') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    // The top-level domain is never numeric: `a@1.2.3.4` is an IP literal typed without brackets.
    let tld_ok = labels.last().is_some_and(|tld| tld.chars().any(|c| c.is_alphabetic()));
    labels_ok && tld_ok
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_unusual_but_valid_addresses() {
        for ok in [
            "ada@example.com",
            "Ada.Lovelace+leads@sub.example.co.uk",
            "o'brien@example.ie",
            "x@a-b.io",
            "jérôme@exemple.fr",
            "user@xn--bcher-kva.example",
            "{}#~@example.org",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn refuses_what_cannot_be_delivered_with_the_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ada.example.com", EmailError::MissingAt),
            ("@example.com", EmailError::EmptyLocalPart),
            ("ada lovelace@example.com", EmailError::BadCharacter(' ')),
            ("ada@localhost", EmailError::BadDomain),
            ("ada@example..com", EmailError::BadDomain),
            ("ada@-example.com", EmailError::BadDomain),
            ("ada@1.2.3.4", EmailError::BadDomain),
            (".ada@example.com", EmailError::BadDot),
            ("a..da@example.com", EmailError::BadDot),
            ("ada@exa mple.com", EmailError::BadDomain),
            ("ada\u{0}@example.com", EmailError::BadCharacter('\u{0}')),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "input {input:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::LocalPartTooLong));
        let long = format!("a@{}.com", "b".repeat(260));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn key_and_domain_are_case_insensitive() {
        let a = Email::parse("Ada@EXAMPLE.com").unwrap();
        let b = Email::parse("ada@example.COM").unwrap();
        assert_ne!(a, b, "the typed spelling is kept");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.domain(), "example.com");
    }
}
