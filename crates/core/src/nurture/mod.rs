//! Nurture: e-mail sequences for the leads that are not ready for sales yet (cold, rejected by
//! sales, recycled), until their behaviour makes them ready and scoring hands them over.
//!
//! Everything here is a pure function of its inputs and an injected `now`: what a sequence does
//! next ([`sequence::advance`]), when a message may go ([`sending`]: the send window in the
//! contact's time zone and the frequency cap), why a contact leaves ([`exit_reason`]), what a
//! bounce means ([`bounce`]) and whether an open or a click came from a person ([`tracking`]).
//! Sending itself (SMTP, exactly once) is the application's; the states a message goes through
//! are defined here so every layer names them alike.

pub mod bounce;
pub mod sending;
pub mod sequence;
pub mod tracking;

use serde::{Deserialize, Serialize};

use crate::contact::Contact;
use crate::lifecycle::LifecycleStage;
use crate::validation::ValidationErrors;

/// Where one message stands. A message is *reserved* (a row with a unique key per enrolment and
/// step) before any SMTP conversation starts, and marked *sending* in a committed write right
/// before it; so after a crash a message found `sending` may or may not have reached the server
/// and becomes [`MessageState::Ambiguous`]: never resent automatically, shown to the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Reserved; no SMTP conversation has started. Safe to (re)try.
    Reserved,
    /// Handed to the SMTP server, outcome not recorded yet.
    Sending,
    /// The SMTP server accepted it (`250`).
    Sent,
    /// The sender stopped between handing it over and recording the answer: it may have been
    /// delivered. Never resent by Leadgate.
    Ambiguous,
    /// Refused for good by the SMTP server, or given up after temporary failures.
    Failed,
    /// Accepted, then bounced back (a delivery status notification).
    Bounced,
    /// Not sent: at send time the contact could no longer receive it (consent, do-not-email…).
    Skipped,
}

impl MessageState {
    pub const ALL: [MessageState; 7] = [
        MessageState::Reserved,
        MessageState::Sending,
        MessageState::Sent,
        MessageState::Ambiguous,
        MessageState::Failed,
        MessageState::Bounced,
        MessageState::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Reserved => "reserved",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Ambiguous => "ambiguous",
            MessageState::Failed => "failed",
            MessageState::Bounced => "bounced",
            MessageState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<MessageState> {
        MessageState::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Whether a sequence runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SequenceState {
    /// Enrols (by hand and on its trigger) and sends.
    Active,
    /// Keeps its enrolments where they are: nothing is sent, nobody new is enrolled.
    Paused,
    /// Finished with: its enrolments were ended (reason `sequence_archived`).
    Archived,
}

impl SequenceState {
    pub const ALL: [SequenceState; 3] =
        [SequenceState::Active, SequenceState::Paused, SequenceState::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            SequenceState::Active => "active",
            SequenceState::Paused => "paused",
            SequenceState::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<SequenceState> {
        SequenceState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What enrols contacts in a sequence automatically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// Sales rejected the lead (it went back to nurturing): the recycle sequence.
    RejectedBySales,
    /// The contact submitted a form (this one, by its slug, if given).
    FormSubmitted {
        #[serde(default)]
        form: Option<String>,
    },
    /// The contact entered a lifecycle stage (however it got there: a rule, a person, an import).
    EnteredStage { stage: LifecycleStage },
    /// A lead (or a contact being nurtured) has been cold for `days` days: its temperature is
    /// cold now and nothing happened on its timeline for that long. Enrolled at most once per
    /// `days` in the sequence, however long it stays cold.
    ColdFor { days: u32 },
}

impl Trigger {
    /// The stages a [`Trigger::ColdFor`] looks at: before sales' (an MQL or an SQL belongs to
    /// sales; a customer is not a lead).
    pub const COLD_STAGES: [LifecycleStage; 2] = [LifecycleStage::Lead, LifecycleStage::Nurturing];

    pub fn validate(&self, field: &str, errors: &mut ValidationErrors) {
        if let Trigger::ColdFor { days } = self
            && !(1..=3650).contains(days)
        {
            errors.add(format!("{field}.days"), "must be from 1 to 3650 days");
        }
    }
}

/// Why a contact left a sequence (recorded on the enrolment and the timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Went through every step.
    Completed,
    /// Became MQL or further: sales takes over.
    Qualified,
    /// Unsubscribed from marketing e-mail.
    Unsubscribed,
    /// Withdrew the consent the sequence requires.
    ConsentWithdrawn,
    /// An address that bounced for good.
    HardBounced,
    /// Marked do-not-email, or objected to direct marketing.
    DoNotEmail,
    /// Replied to a message.
    Replied,
    /// Taken out by a user.
    Removed,
    /// The sequence was archived.
    SequenceArchived,
}

impl ExitReason {
    pub const ALL: [ExitReason; 9] = [
        ExitReason::Completed,
        ExitReason::Qualified,
        ExitReason::Unsubscribed,
        ExitReason::ConsentWithdrawn,
        ExitReason::HardBounced,
        ExitReason::DoNotEmail,
        ExitReason::Replied,
        ExitReason::Removed,
        ExitReason::SequenceArchived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Completed => "completed",
            ExitReason::Qualified => "qualified",
            ExitReason::Unsubscribed => "unsubscribed",
            ExitReason::ConsentWithdrawn => "consent_withdrawn",
            ExitReason::HardBounced => "hard_bounced",
            ExitReason::DoNotEmail => "do_not_email",
            ExitReason::Replied => "replied",
            ExitReason::Removed => "removed",
            ExitReason::SequenceArchived => "sequence_archived",
        }
    }

    pub fn parse(s: &str) -> Option<ExitReason> {
        ExitReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What the contact's record says about receiving marketing e-mail, gathered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reachability {
    /// The sequence's consent purpose is granted (or the sequence requires none).
    pub consent_granted: bool,
    pub unsubscribed: bool,
    pub hard_bounced: bool,
    pub replied: bool,
}

/// Why `contact` must leave (or must not be sent) a marketing e-mail now, if it must. Checked at
/// every evaluation and again at send time, so a withdrawal between the two stops the message.
/// The order is the order of the reasons' weight on the timeline: a person who unsubscribed is
/// shown as such even if they are also do-not-email.
pub fn exit_reason(contact: &Contact, reach: Reachability) -> Option<ExitReason> {
    if reach.unsubscribed {
        Some(ExitReason::Unsubscribed)
    } else if reach.hard_bounced {
        Some(ExitReason::HardBounced)
    } else if !reach.consent_granted {
        // Before do-not-email: withdrawing the last purpose also sets it, and the withdrawal is
        // the reason a person recognises.
        Some(ExitReason::ConsentWithdrawn)
    } else if contact.do_not_email || contact.objected_at.is_some() {
        Some(ExitReason::DoNotEmail)
    } else if reach.replied {
        Some(ExitReason::Replied)
    } else if is_with_sales(contact.lifecycle_stage) {
        Some(ExitReason::Qualified)
    } else if contact.email.is_none() {
        Some(ExitReason::DoNotEmail)
    } else {
        None
    }
}

/// Stages where sales has the contact: nurture stops (DESIGN §8: marketing nurtures until MQL).
pub fn is_with_sales(stage: LifecycleStage) -> bool {
    matches!(
        stage,
        LifecycleStage::Mql | LifecycleStage::Sql | LifecycleStage::Opportunity | LifecycleStage::Customer
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::Email;

    fn contact() -> Contact {
        let mut c = crate::contact::NewContact::lead(Email::parse("ana@example.com").unwrap())
            .into_contact(crate::ids::ContactId(uuid::Uuid::nil()), jiff::Timestamp::UNIX_EPOCH);
        c.lifecycle_stage = LifecycleStage::Nurturing;
        c
    }

    fn reachable() -> Reachability {
        Reachability { consent_granted: true, ..Default::default() }
    }

    #[test]
    fn a_nurtured_contact_with_consent_stays() {
        assert_eq!(exit_reason(&contact(), reachable()), None);
    }

    #[test]
    fn every_stop_signal_makes_the_contact_leave() {
        let c = contact();
        assert_eq!(
            exit_reason(&c, Reachability { unsubscribed: true, ..reachable() }),
            Some(ExitReason::Unsubscribed)
        );
        assert_eq!(
            exit_reason(&c, Reachability { hard_bounced: true, ..reachable() }),
            Some(ExitReason::HardBounced)
        );
        assert_eq!(
            exit_reason(&c, Reachability { consent_granted: false, ..reachable() }),
            Some(ExitReason::ConsentWithdrawn)
        );
        assert_eq!(exit_reason(&c, Reachability { replied: true, ..reachable() }), Some(ExitReason::Replied));
        let mut dne = contact();
        dne.do_not_email = true;
        assert_eq!(exit_reason(&dne, reachable()), Some(ExitReason::DoNotEmail));
        let mut objected = contact();
        objected.objected_at = Some(jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(exit_reason(&objected, reachable()), Some(ExitReason::DoNotEmail));
        for stage in
            [LifecycleStage::Mql, LifecycleStage::Sql, LifecycleStage::Opportunity, LifecycleStage::Customer]
        {
            let mut q = contact();
            q.lifecycle_stage = stage;
            assert_eq!(exit_reason(&q, reachable()), Some(ExitReason::Qualified), "{stage:?}");
        }
        let mut no_address = contact();
        no_address.email = None;
        assert_eq!(exit_reason(&no_address, reachable()), Some(ExitReason::DoNotEmail));
    }

    #[test]
    fn states_and_reasons_read_back_from_their_names() {
        for s in MessageState::ALL {
            assert_eq!(MessageState::parse(s.as_str()), Some(s));
        }
        for r in ExitReason::ALL {
            assert_eq!(ExitReason::parse(r.as_str()), Some(r));
        }
    }
}
