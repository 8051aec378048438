//! Events: what a contact did, or what was done with it (DESIGN §4, §6). The timeline of events is
//! the raw material of engagement scoring, temperature and prediction, so each event carries when
//! it happened (`occurred_at`, which scoring decays from), where it came from (source, campaign)
//! and free properties (the URL of a page view, the form's fields).

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{ContactId, EventId};
use crate::validation::{ValidationErrors, clean_text};

/// What happened. The built-in kinds are the ones scoring rules and analytics know about; any
/// other well-formed name is a custom kind, stored and scored like the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    PageView,
    FormSubmitted,
    ContentDownloaded,
    WhitePaperDownloaded,
    NewsletterSignup,
    WebinarRegistered,
    WebinarAttended,
    EmailOpened,
    EmailClicked,
    TradeFairVisit,
    InformationRequest,
    QuoteRequest,
    DemoRequest,
    ContactSalesRequest,
    CallLogged,
    MeetingLogged,
    EmailLogged,
    Unsubscribed,
    EmailBounced,
    Custom(String),
}

/// The built-in kinds with their names, in the order the API documents them.
pub const BUILT_IN_KINDS: [(&str, EventKind); 19] = [
    ("page_view", EventKind::PageView),
    ("form_submitted", EventKind::FormSubmitted),
    ("content_downloaded", EventKind::ContentDownloaded),
    ("white_paper_downloaded", EventKind::WhitePaperDownloaded),
    ("newsletter_signup", EventKind::NewsletterSignup),
    ("webinar_registered", EventKind::WebinarRegistered),
    ("webinar_attended", EventKind::WebinarAttended),
    ("email_opened", EventKind::EmailOpened),
    ("email_clicked", EventKind::EmailClicked),
    ("trade_fair_visit", EventKind::TradeFairVisit),
    ("information_request", EventKind::InformationRequest),
    ("quote_request", EventKind::QuoteRequest),
    ("demo_request", EventKind::DemoRequest),
    ("contact_sales_request", EventKind::ContactSalesRequest),
    ("call_logged", EventKind::CallLogged),
    ("meeting_logged", EventKind::MeetingLogged),
    ("email_logged", EventKind::EmailLogged),
    ("unsubscribed", EventKind::Unsubscribed),
    ("email_bounced", EventKind::EmailBounced),
];

impl EventKind {
    pub fn as_str(&self) -> &str {
        if let EventKind::Custom(name) = self {
            return name;
        }
        BUILT_IN_KINDS.iter().find(|(_, k)| k == self).map(|(n, _)| *n).unwrap_or("custom")
    }

    /// Whether this kind shows buying intent by itself (DESIGN §2 "intent signal").
    pub fn is_intent_signal(&self) -> bool {
        matches!(self, EventKind::QuoteRequest | EventKind::DemoRequest | EventKind::ContactSalesRequest)
    }
}

/// A kind name that is neither built in nor a well-formed custom name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a valid event kind: use a built-in kind (page_view, form_submitted, quote_request, …) or a custom name of lower-case letters, digits, `_`, `.` or `-` (at most 64 characters)"
)]
pub struct InvalidEventKind(pub String);

impl FromStr for EventKind {
    type Err = InvalidEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((_, kind)) = BUILT_IN_KINDS.iter().find(|(name, _)| *name == s) {
            return Ok(kind.clone());
        }
        let mut chars = s.chars();
        let well_formed = matches!(chars.next(), Some('a'..='z'))
            && s.len() <= 64
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
        if well_formed {
            Ok(EventKind::Custom(s.to_string()))
        } else {
            Err(InvalidEventKind(s.chars().take(80).collect()))
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EventKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let names: Vec<&str> = BUILT_IN_KINDS.iter().map(|(n, _)| *n).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z][a-z0-9_.-]{0,63}$"))
            .description(Some(format!(
                "Built-in kinds: {}. Any other name matching the pattern is a custom kind.",
                names.join(", ")
            )))
            .examples(["page_view", "quote_request"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EventKind {}

/// One event on a contact's timeline, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    pub contact_id: ContactId,
    pub kind: EventKind,
    /// When it happened (scoring decays from here).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: Timestamp,
    /// When Leadgate received it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    pub source: Option<String>,
    pub campaign: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub properties: Map<String, Value>,
}

/// The largest `properties` object accepted, serialised: enough for a form's fields or a page's
/// URL, title and UTM tags; a bigger one is a mistake (a page's HTML, a file) that would bloat
/// every timeline read.
pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;
/// The deepest nesting accepted in `properties`.
pub const MAX_PROPERTIES_DEPTH: usize = 8;
/// How far in the future an `occurred_at` may be: clocks drift, but an event dated next week
/// would sit at full weight in the engagement score until then.
pub const MAX_FUTURE_SKEW: SignedDuration = SignedDuration::from_hours(1);

/// An event to record, as received from a client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventDraft {
    /// Client-chosen id (a UUID). Sending the same id again never creates a second event: use it
    /// to retry safely.
    pub id: Option<EventId>,
    /// The contact it belongs to. Give either `contact_id` or `email`.
    pub contact_id: Option<ContactId>,
    /// The contact's e-mail: the contact is found case-insensitively, or created as a lead.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: Option<String>,
    pub kind: EventKind,
    /// When it happened (RFC 3339); defaults to the time of receipt.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub occurred_at: Option<Timestamp>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub properties: Option<Map<String, Value>>,
}

/// Who an event is about, once validated.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactRef {
    Id(ContactId),
    Email(crate::email::Email),
}

/// A validated event, not yet bound to a stored contact.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: Option<EventId>,
    pub contact: ContactRef,
    pub kind: EventKind,
    /// When it happened: as the sender said (to the microsecond, as stored), or the time of
    /// receipt.
    pub occurred_at: Timestamp,
    /// Whether the sender gave `occurred_at`. A time taken from the clock (left out, or a
    /// tracker's future time taken as now) is the first attempt's on a retry, whatever it was:
    /// it must not make a retry differ.
    pub occurred_at_given: bool,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub properties: Map<String, Value>,
}

impl NewEvent {
    /// Whether this event, sent again under the id of `stored` for `contact`, repeats it: the
    /// same content in everything the sender said (a defaulted time is not compared).
    pub fn repeats(&self, stored: &Event, contact: ContactId) -> bool {
        stored.contact_id == contact
            && stored.kind == self.kind
            && (!self.occurred_at_given || stored.occurred_at == self.occurred_at)
            && stored.source == self.source
            && stored.campaign == self.campaign
            && stored.properties == self.properties
    }
}

impl EventDraft {
    /// Validates against the time of receipt `now`.
    pub fn validate(self, now: Timestamp) -> Result<NewEvent, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let contact = match (self.contact_id, self.email.as_deref()) {
            (Some(id), None) => Some(ContactRef::Id(id)),
            (None, Some(email)) => match crate::email::Email::parse(email) {
                Ok(e) => Some(ContactRef::Email(e)),
                Err(e) => {
                    errors.add("email", e.to_string());
                    None
                }
            },
            (Some(_), Some(_)) => {
                errors.add("email", "give either `contact_id` or `email`, not both");
                None
            }
            (None, None) => {
                errors.add("contact_id", "is required (or give the contact's `email`)");
                None
            }
        };
        // Storage keeps microseconds: a finer time would make an exact retry differ from what
        // was stored.
        let given = self.occurred_at.map(|t| Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t));
        let occurred_at = given.unwrap_or(now);
        if occurred_at > now + MAX_FUTURE_SKEW {
            errors.add(
                "occurred_at",
                "is more than an hour in the future; check the sender's clock and time zone",
            );
        }
        if occurred_at < Timestamp::UNIX_EPOCH {
            errors.add("occurred_at", "is before 1970; check the date");
        }
        let properties = self.properties.unwrap_or_default();
        check_properties(&mut errors, &properties);
        let source = clean_text(&mut errors, "source", self.source.as_deref(), 200);
        let campaign = clean_text(&mut errors, "campaign", self.campaign.as_deref(), 200);
        match contact {
            Some(contact) if errors.is_empty() => Ok(NewEvent {
                id: self.id,
                contact,
                kind: self.kind,
                occurred_at,
                occurred_at_given: given.is_some(),
                source,
                campaign,
                properties,
            }),
            _ => Err(errors),
        }
    }
}

fn check_properties(errors: &mut ValidationErrors, properties: &Map<String, Value>) {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = serde_json::to_vec(properties).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_PROPERTIES_BYTES {
        errors.add(
            "properties",
            format!("is {size} bytes; at most {MAX_PROPERTIES_BYTES} are accepted (send references, not documents)"),
        );
    }
    if properties.values().map(depth).max().unwrap_or(0) + 1 > MAX_PROPERTIES_DEPTH {
        errors.add("properties", format!("is nested deeper than {MAX_PROPERTIES_DEPTH} levels"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn kinds_round_trip_and_custom_names_are_checked() {
        for (name, kind) in BUILT_IN_KINDS {
            assert_eq!(name.parse::<EventKind>().unwrap(), kind);
            assert_eq!(kind.as_str(), name);
        }
        assert_eq!(
            "podcast_listened".parse::<EventKind>().unwrap(),
            EventKind::Custom("podcast_listened".into())
        );
        assert!("Page View".parse::<EventKind>().is_err());
        assert!("".parse::<EventKind>().is_err());
        assert!("x".repeat(65).parse::<EventKind>().is_err());
    }

    #[test]
    fn a_draft_names_its_contact_once() {
        let draft: EventDraft = serde_json::from_value(json!({"kind": "page_view"})).unwrap();
        assert_eq!(draft.validate(now()).unwrap_err().errors[0].field, "contact_id");
        let draft: EventDraft = serde_json::from_value(json!({
            "kind": "page_view", "email": "a@b.co",
            "contact_id": "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e"
        }))
        .unwrap();
        assert!(draft.validate(now()).is_err());
    }

    #[test]
    fn future_dates_and_huge_properties_are_refused() {
        let draft: EventDraft = serde_json::from_value(json!({
            "kind": "page_view", "email": "a@b.co",
            "occurred_at": "2026-06-03T12:00:00Z",
            "properties": {"html": "x".repeat(20_000)}
        }))
        .unwrap();
        let err = draft.validate(now()).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["occurred_at", "properties"]);
    }

    #[test]
    fn a_retry_repeats_an_event_whatever_time_was_defaulted() {
        let draft: EventDraft = serde_json::from_value(
            json!({"kind": "page_view", "email": "a@b.co", "properties": {"url": "/a"}}),
        )
        .unwrap();
        let first = draft.clone().validate(now()).unwrap();
        let stored = Event {
            id: EventId(uuid::Uuid::nil()),
            contact_id: ContactId(uuid::Uuid::nil()),
            kind: first.kind.clone(),
            occurred_at: first.occurred_at,
            received_at: now(),
            source: None,
            campaign: None,
            properties: first.properties.clone(),
        };
        let later = draft.validate(now() + jiff::SignedDuration::from_secs(5)).unwrap();
        assert!(!later.occurred_at_given);
        assert!(later.repeats(&stored, stored.contact_id), "the defaulted time is not compared");
        let mut other = later.clone();
        other.properties.insert("url".into(), json!("/b"));
        assert!(!other.repeats(&stored, stored.contact_id));
        assert!(!later.repeats(&stored, ContactId(uuid::Uuid::max())));
        let mut timed = later;
        timed.occurred_at_given = true;
        assert!(!timed.repeats(&stored, stored.contact_id), "a time the sender gave is compared");
    }

    #[test]
    fn a_given_time_is_kept_to_the_microsecond_as_storage_keeps_it() {
        let draft: EventDraft = serde_json::from_value(
            json!({"kind": "page_view", "email": "a@b.co", "occurred_at": "2026-06-01T10:00:00.123456789Z"}),
        )
        .unwrap();
        let e = draft.validate(now()).unwrap();
        assert!(e.occurred_at_given);
        assert_eq!(e.occurred_at.to_string(), "2026-06-01T10:00:00.123456Z");
    }
}
