//! Personal data rules: what counts as a contact *coming from the person* (retention is counted
//! from the last one), when a person's data is due for deletion, and how to tell whether a piece
//! of free text (a stored API answer, an uploaded file, a rejects report) mentions an erased
//! person. Pure functions: the clock and the data are parameters.
//!
//! The retention rule follows the CNIL's for B2B prospects: personal data is kept three years
//! from its collection or from the last contact coming from the person (a click, a form, a
//! visit, a reply, a call or a meeting), then deleted. An e-mail *open* is not such a contact:
//! mail clients and scanners open messages by themselves.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use crate::event::EventKind;
use crate::lifecycle::LifecycleStage;

/// The default retention period: three years (the CNIL's for prospects), in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 3 * 365;

/// Whether an event is a contact coming from the person, which restarts the retention period.
/// Opens, bounces and unsubscribes are not (an unsubscribe asks for less contact, not more); a
/// rep's logged e-mail is outbound; custom kinds are unknown, so they do not count.
pub fn comes_from_the_person(kind: &EventKind) -> bool {
    use EventKind::*;
    matches!(
        kind,
        PageView
            | FormSubmitted
            | ContentDownloaded
            | WhitePaperDownloaded
            | NewsletterSignup
            | WebinarRegistered
            | WebinarAttended
            | EmailClicked
            | TradeFairVisit
            | InformationRequest
            | QuoteRequest
            | DemoRequest
            | ContactSalesRequest
            | CallLogged
            | MeetingLogged
    )
}

/// The names of the kinds that restart the retention period, for a query.
pub fn inbound_kind_names() -> Vec<&'static str> {
    crate::event::BUILT_IN_KINDS.iter().filter(|(_, k)| comes_from_the_person(k)).map(|(n, _)| *n).collect()
}

/// How long personal data is kept after the last contact coming from the person, and what
/// happens then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub days: u32,
    /// Anonymise (keep a row without identity, so the funnel and hand-off figures of past
    /// periods stay right) instead of erasing.
    pub anonymise: bool,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { days: DEFAULT_RETENTION_DAYS, anonymise: false }
    }
}

impl RetentionPolicy {
    /// The instant before which the last contact must lie for a person to be due at `now`.
    pub fn cutoff(self, now: Timestamp) -> Timestamp {
        now.checked_sub(SignedDuration::from_hours(24 * i64::from(self.days))).unwrap_or(Timestamp::MIN)
    }

    /// Whether a contact is due for deletion: created before the cutoff, with no contact coming
    /// from the person since (`last_inbound`), and not in a business relationship (opportunities
    /// and customers are kept for the contract, not under the prospect rule).
    pub fn is_due(
        self,
        now: Timestamp,
        created_at: Timestamp,
        last_inbound: Option<Timestamp>,
        stage: LifecycleStage,
    ) -> bool {
        if !applies_to(stage) {
            return false;
        }
        let last = last_inbound.map_or(created_at, |t| t.max(created_at));
        last < self.cutoff(now)
    }
}

/// Whether the prospect retention rule applies at a stage (not to opportunities and customers).
pub fn applies_to(stage: LifecycleStage) -> bool {
    !matches!(stage, LifecycleStage::Opportunity | LifecycleStage::Customer)
}

/// Whether the consent just recorded (the last of `history`, oldest first, as (purpose,
/// granted)) withdraws the person from e-mail: it withdraws a purpose they had granted, and no
/// purpose is left granted. A refusal of something never granted (an unticked box on a first
/// form) is not a withdrawal: the person still expects an answer to their request.
pub fn withdrawal_stops_email(history: &[(&str, bool)]) -> bool {
    let Some((&(purpose, false), before)) = history.split_last() else { return false };
    let had_granted = before.iter().rev().find(|(p, _)| *p == purpose).is_some_and(|(_, g)| *g);
    let mut latest: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    for (p, g) in history {
        latest.insert(p, *g);
    }
    had_granted && !latest.values().any(|g| *g)
}

/// The identities of erased people, to find them in free text: their ids and e-mail keys.
#[derive(Debug, Default, Clone)]
pub struct Mentions {
    tokens: HashSet<String>,
}

impl Mentions {
    /// From contact ids (hyphenated, as JSON writes them) and e-mail addresses.
    pub fn new<'a>(ids: impl IntoIterator<Item = String>, emails: impl IntoIterator<Item = &'a str>) -> Self {
        let mut tokens: HashSet<String> = ids.into_iter().map(|id| id.to_ascii_lowercase()).collect();
        tokens.extend(emails.into_iter().map(str::to_lowercase));
        Mentions { tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether `text` names one of the people: a whole id or e-mail address, whatever its case,
    /// between characters that cannot be part of either (quotes, slashes, spaces, commas…). One
    /// pass over the text whatever the number of people.
    pub fn in_text(&self, text: &str) -> bool {
        if self.tokens.is_empty() {
            return false;
        }
        let part = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '@');
        text.split(|c: char| !part(c)).any(|token| {
            // A sentence's full stop is not part of the address.
            let token = token.trim_matches('.');
            // Ids and e-mails are at least this long; most tokens are skipped without a copy.
            (token.len() >= 3 && (token.contains('@') || token.len() == 36))
                && self.tokens.contains(&token.to_lowercase())
        })
    }

    /// [`Mentions::in_text`] of bytes of any ASCII-compatible encoding (an uploaded file).
    pub fn in_bytes(&self, bytes: &[u8]) -> bool {
        self.in_text(&String::from_utf8_lossy(bytes))
    }

    /// `bytes` with the lines that mention one of the people (a CSV file's rows) emptied, and
    /// how many. The line breaks stay, so every other line keeps its number (an import resumes
    /// by line number, and its rejects report names lines).
    pub fn remove_lines(&self, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut kept = Vec::with_capacity(bytes.len());
        let mut removed = 0;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if self.in_bytes(line) {
                removed += 1;
                let end = line.len() - line.iter().rev().take_while(|b| matches!(b, b'\n' | b'\r')).count();
                kept.extend_from_slice(&line[end..]);
            } else {
                kept.extend_from_slice(line);
            }
        }
        (kept, removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_open_is_not_a_contact_from_the_person_and_a_click_is() {
        assert!(!comes_from_the_person(&EventKind::EmailOpened));
        assert!(!comes_from_the_person(&EventKind::Unsubscribed));
        assert!(!comes_from_the_person(&EventKind::EmailLogged));
        assert!(comes_from_the_person(&EventKind::EmailClicked));
        assert!(comes_from_the_person(&EventKind::FormSubmitted));
        assert!(comes_from_the_person(&EventKind::CallLogged));
        assert!(!comes_from_the_person(&EventKind::Custom("webinar_poll".into())));
        assert!(inbound_kind_names().contains(&"email_clicked"));
        assert!(!inbound_kind_names().contains(&"email_opened"));
    }

    #[test]
    fn retention_counts_from_the_last_inbound_contact_or_the_creation() {
        let policy = RetentionPolicy::default();
        let now = at("2026-12-06T10:00:00Z");
        let long_ago = at("2023-01-01T00:00:00Z");
        let recent = at("2025-06-01T00:00:00Z");
        assert!(policy.is_due(now, long_ago, None, LifecycleStage::Lead));
        assert!(!policy.is_due(now, long_ago, Some(recent), LifecycleStage::Lead));
        assert!(!policy.is_due(now, recent, None, LifecycleStage::Lead));
        // An inbound event dated before the creation (an imported history) does not shorten it.
        assert!(!policy.is_due(now, recent, Some(long_ago), LifecycleStage::Lead));
        // Customers and opportunities are kept for the business relationship.
        assert!(!policy.is_due(now, long_ago, None, LifecycleStage::Customer));
        assert!(!policy.is_due(now, long_ago, None, LifecycleStage::Opportunity));
        assert!(policy.is_due(now, long_ago, None, LifecycleStage::Churned));
    }

    #[test]
    fn the_cutoff_is_exactly_the_period_before_now() {
        let policy = RetentionPolicy { days: 30, anonymise: false };
        let now = at("2026-12-06T10:00:00Z");
        assert_eq!(policy.cutoff(now), at("2026-11-06T10:00:00Z"));
        let created = at("2026-11-06T10:00:00Z");
        assert!(!policy.is_due(now, created, None, LifecycleStage::Lead), "due only once the period is over");
        assert!(policy.is_due(now, at("2026-11-06T09:59:59Z"), None, LifecycleStage::Lead));
    }

    #[test]
    fn only_withdrawing_the_last_granted_purpose_stops_email() {
        assert!(withdrawal_stops_email(&[("newsletter", true), ("newsletter", false)]));
        // Another purpose still granted: that one may still be used.
        assert!(!withdrawal_stops_email(&[("newsletter", true), ("events", true), ("newsletter", false)]));
        assert!(withdrawal_stops_email(&[
            ("newsletter", true),
            ("events", true),
            ("events", false),
            ("newsletter", false)
        ]));
        // A refusal of what was never granted is not a withdrawal.
        assert!(!withdrawal_stops_email(&[("newsletter", false)]));
        assert!(!withdrawal_stops_email(&[("newsletter", true), ("events", false)]));
        // Granting is never a withdrawal.
        assert!(!withdrawal_stops_email(&[("newsletter", false), ("newsletter", true)]));
        assert!(!withdrawal_stops_email(&[]));
    }

    #[test]
    fn mentions_find_whole_ids_and_addresses_whatever_their_case() {
        let id = "0192f0e4-8c2a-7d41-b3a5-1c2d3e4f5a6b".to_string();
        let m = Mentions::new([id.clone()], ["ada@example.com"]);
        assert!(m.in_text(r#"{"contact":{"id":"0192f0e4-8c2a-7d41-b3a5-1c2d3e4f5a6b"}}"#));
        assert!(m.in_text("line 4: Ada@Example.COM,France"));
        assert!(m.in_text("Write to ada@example.com."));
        assert!(m.in_text("/api/v1/contacts/0192F0E4-8C2A-7D41-B3A5-1C2D3E4F5A6B/export"));
        // A longer address or another id is someone else.
        assert!(!m.in_text("bada@example.com.au"));
        assert!(!m.in_text("ada@example.community"));
        assert!(!m.in_text(r#"{"id":"0192f0e4-8c2a-7d41-b3a5-1c2d3e4f5a6c"}"#));
        assert!(!Mentions::default().in_text("ada@example.com"));
    }

    #[test]
    fn removing_lines_keeps_every_other_line_byte_for_byte_and_at_its_number() {
        let m = Mentions::new([], ["ada@example.com"]);
        let file = b"email,country\r\nbob@example.com,France\r\nADA@example.com,Spain\r\ncaro@example.com,Caf\xe9\r\n";
        let (kept, removed) = m.remove_lines(file);
        assert_eq!(removed, 1);
        assert_eq!(kept, b"email,country\r\nbob@example.com,France\r\n\r\ncaro@example.com,Caf\xe9\r\n");
    }
}
