//! Requests that arrive by hand: a trade-fair sheet, a phone call, an e-mail asking for
//! information or a quote. Each creates (or completes) the contact and records the event kind
//! that says what happened, with the channel as its source, so these channels compare with the
//! web ones in analytics.

use leadgate_core::access::Permission;
use leadgate_core::contact::{Contact, ContactDraft};
use leadgate_core::custom_field::FieldEntity;
use leadgate_core::event::{EventDraft, EventKind};
use leadgate_core::ids::ContactId;
use leadgate_core::validation::{ValidationErrors, clean_text};
use serde::{Deserialize, Serialize};

use crate::events::EventReceipt;
use crate::{App, AppError, Principal, new_uuid};

/// How the request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A sheet filled at a trade-fair stand.
    TradeFair,
    Phone,
    Email,
    /// Met in person.
    Meeting,
    Other,
}

impl Channel {
    /// The source recorded on the contact and the event.
    pub fn source(self) -> &'static str {
        match self {
            Channel::TradeFair => "trade fair",
            Channel::Phone => "phone",
            Channel::Email => "e-mail",
            Channel::Meeting => "meeting",
            Channel::Other => "manual entry",
        }
    }

    /// What the request is, when the user does not say.
    fn default_kind(self) -> EventKind {
        match self {
            Channel::TradeFair => EventKind::TradeFairVisit,
            Channel::Meeting => EventKind::MeetingLogged,
            _ => EventKind::InformationRequest,
        }
    }
}

/// A request entered by hand.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    pub channel: Channel,
    /// What was asked: `information_request`, `quote_request`, `demo_request`…; by default a
    /// trade-fair visit for a fair, an information request otherwise.
    pub kind: Option<EventKind>,
    /// Who asked. Matched to a stored contact by external id, then e-mail; completed, not
    /// overwritten.
    pub contact: ContactDraft,
    /// The company's name: found, or created.
    pub company: Option<String>,
    /// What the person said.
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub occurred_at: Option<jiff::Timestamp>,
    /// The campaign (e.g. the fair's name).
    pub campaign: Option<String>,
}

/// The answer to a manual request.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManualRequestReceipt {
    pub contact: Contact,
    /// True when the contact was created by this request.
    pub contact_created: bool,
    pub event: EventReceipt,
}

impl App {
    pub async fn record_manual_request(
        &self,
        principal: &Principal,
        request: ManualRequest,
    ) -> Result<ManualRequestReceipt, AppError> {
        principal.require(Permission::WriteContacts)?;
        principal.require(Permission::RecordEvents)?;
        let mut errors = ValidationErrors::new();
        let note = clean_text(&mut errors, "note", request.note.as_deref(), 4_000);
        let company_name = clean_text(&mut errors, "company", request.company.as_deref(), 200);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut draft = request.contact;
        if draft.source.is_none() {
            draft.source = Some(request.channel.source().into());
        }
        if draft.campaign.is_none() {
            draft.campaign = request.campaign.clone();
        }
        let custom = draft.custom.take();
        let new = draft.validate().map_err(|e| {
            let mut prefixed = ValidationErrors::new();
            prefixed.extend_prefixed("contact", e);
            AppError::Invalid(prefixed)
        })?;
        let now = self.now();
        let kind = request.kind.clone().unwrap_or_else(|| request.channel.default_kind());
        let event_draft = |contact_id: ContactId| EventDraft {
            id: None,
            contact_id: Some(contact_id),
            email: None,
            kind: kind.clone(),
            occurred_at: request.occurred_at,
            source: Some(request.channel.source().into()),
            campaign: request.campaign.clone(),
            properties: note.clone().map(|n| {
                let mut m = serde_json::Map::new();
                m.insert("note".into(), serde_json::Value::String(n));
                m
            }),
        };
        // Check the event before writing anything: the contact and its event are stored together.
        event_draft(ContactId(uuid::Uuid::nil())).validate(now)?;
        let mut tx = self.store.begin().await?;
        let (_, custom) =
            crate::fields::with_custom_values(&mut tx, FieldEntity::Contact, Ok(()), custom).await?;
        let company_id = match &company_name {
            Some(name) => Some(crate::import::company_id_by_name(&mut tx, name, now).await?),
            None => new.company_id,
        };
        let stored = match (&new.external_id, &new.email) {
            (Some(ext), _) if let Some(c) = tx.find_contact_by_external_id(ext).await? => Some(c),
            (_, Some(email)) => tx.find_contact_by_email(email).await?,
            _ => None,
        };
        let (contact_id, created) = match stored {
            Some(mut c) => {
                if c.email.is_none() {
                    self.refuse_suppressed(&mut tx, new.email.as_ref(), crate::privacy::WayIn::Person)
                        .await?;
                }
                let before = c.clone();
                macro_rules! fill {
                    ($($f:ident),*) => {$( if c.$f.is_none() { c.$f = new.$f.clone(); } )*};
                }
                fill!(email, first_name, last_name, phone, job_title, country, city, external_id);
                if c.company_id.is_none() {
                    c.company_id = company_id;
                }
                leadgate_core::custom_field::merge_custom_values(&mut c.custom, custom);
                if c != before {
                    c.updated_at = now;
                    tx.update_contact(&c).await?;
                }
                (c.id, false)
            }
            None => {
                self.refuse_suppressed(&mut tx, new.email.as_ref(), crate::privacy::WayIn::Person).await?;
                let mut n = new;
                n.company_id = company_id;
                n.custom = custom;
                (tx.insert_contact(ContactId(new_uuid()), n, now).await?.id, true)
            }
        };
        let event = event_draft(contact_id).validate(now)?;
        let receipt =
            crate::events::record(self, &mut tx, vec![event], now, |_, f| format!("event.{f}")).await?;
        let event =
            receipt.events.into_iter().next().ok_or_else(|| AppError::Internal("no event receipt".into()))?;
        let contact =
            tx.get_contact(contact_id).await?.ok_or_else(|| AppError::not_found("contact", contact_id))?;
        tx.commit().await?;
        Ok(ManualRequestReceipt { contact, contact_created: created, event })
    }
}
