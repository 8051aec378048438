//! Typed identifiers. Every entity is identified by a UUIDv7 (time-ordered, so ids sort by
//! creation and index well), wrapped in its own type so a `ContactId` can never be passed where a
//! `CompanyId` is expected. The core never *generates* ids (that needs a clock and randomness);
//! the application layer does, and hands them in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| InvalidId { what: $what, given: s.chars().take(64).collect() })
            }
        }
    };
}

/// A string that is not a valid identifier, kept for the error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a valid {what} id: ids are UUIDs such as 0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e")]
pub struct InvalidId {
    pub what: &'static str,
    pub given: String,
}

typed_id!(
    /// A contact: any known person.
    ContactId,
    "contact"
);
typed_id!(
    /// A company (account) that contacts belong to.
    CompanyId,
    "company"
);
typed_id!(
    /// One event on a contact's timeline.
    EventId,
    "event"
);
typed_id!(
    /// A user of the workspace (admin, marketing or sales).
    UserId,
    "user"
);
typed_id!(
    /// An API key belonging to a user.
    ApiKeyId,
    "API key"
);
typed_id!(
    /// A background job (import, rescore, training, delivery…).
    JobId,
    "job"
);
typed_id!(
    /// One hand-over of a lead to a sales rep (or to the unassigned queue).
    AssignmentId,
    "assignment"
);
typed_id!(
    /// A follow-up task (call, e-mail, meeting) for a rep.
    TaskId,
    "task"
);
typed_id!(
    /// A webhook subscription.
    WebhookId,
    "webhook"
);
typed_id!(
    /// One webhook message to deliver to one subscription.
    DeliveryId,
    "delivery"
);
typed_id!(
    /// A deal (opportunity) in the pipeline.
    DealId,
    "deal"
);
typed_id!(
    /// An e-mail template of the nurture programme.
    TemplateId,
    "template"
);
typed_id!(
    /// A nurture sequence: ordered steps that send, wait and branch on behaviour.
    SequenceId,
    "sequence"
);
typed_id!(
    /// One contact's passage through one sequence.
    EnrolmentId,
    "enrolment"
);
typed_id!(
    /// One e-mail to one recipient: reserved before it is sent, so it is sent at most once.
    MessageId,
    "message"
);
