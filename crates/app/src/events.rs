//! Recording events (single and batch) and reading timelines. A batch is all-or-nothing: either
//! every event is valid and recorded in one transaction, or none is and the answer lists every
//! problem by index. Retrying is always safe: events carrying a client id are stored once, and an
//! `Idempotency-Key` replays the first answer.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::contact::NewContact;
use leadgate_core::event::{ContactRef, Event, EventDraft, EventKind, NewEvent};
use leadgate_core::ids::{ContactId, EventId};
use leadgate_core::validation::ValidationErrors;
use leadgate_store::Session;
use leadgate_store::contacts::LastTouch;
use leadgate_store::cursor::{Cursor, Page};
use serde::{Deserialize, Serialize};

use crate::idempotency::{remember, replay};
use crate::{App, AppError, Idempotency, Principal, Recorded, new_uuid};

/// The most events one batch may carry: large enough for efficient bulk ingest, small enough to
/// keep one transaction short.
pub const MAX_BATCH: usize = 1_000;

/// What happened to one event of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventReceipt {
    pub id: EventId,
    pub contact_id: ContactId,
    /// True when this event id was already recorded (a retry): nothing new was stored.
    pub duplicate: bool,
}

/// The answer to a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchReceipt {
    /// One receipt per event, in the order sent.
    pub events: Vec<EventReceipt>,
    /// Events newly stored.
    pub recorded: usize,
    /// Events already stored before (retries).
    pub duplicates: usize,
    /// Contacts created because an event named an unknown e-mail.
    pub contacts_created: usize,
}

impl App {
    /// Records one event.
    pub async fn record_event(
        &self,
        principal: &Principal,
        draft: EventDraft,
        idem: Option<&Idempotency>,
    ) -> Result<Recorded<EventReceipt>, AppError> {
        principal.require(Permission::RecordEvents)?;
        let now = self.now();
        let event = draft.validate(now)?;
        let mut tx = self.store.begin().await?;
        if let Some(r) = replay(&mut tx, principal.user.id, "events.create", idem).await? {
            return Ok(r);
        }
        let receipt = record(self, &mut tx, vec![event], now, |_, field| field.to_string()).await?;
        let single =
            receipt.events.into_iter().next().ok_or_else(|| AppError::Internal("no receipt".into()))?;
        remember(&mut tx, principal.user.id, "events.create", idem, &single, now).await?;
        tx.commit().await?;
        Ok(Recorded { value: single, replayed: false })
    }

    /// Records up to [`MAX_BATCH`] events at once.
    pub async fn record_events(
        &self,
        principal: &Principal,
        drafts: Vec<EventDraft>,
        idem: Option<&Idempotency>,
    ) -> Result<Recorded<BatchReceipt>, AppError> {
        principal.require(Permission::RecordEvents)?;
        if drafts.is_empty() {
            return Err(AppError::invalid("events", "is empty; send between 1 and 1000 events"));
        }
        if drafts.len() > MAX_BATCH {
            return Err(AppError::invalid(
                "events",
                format!("has {} events; send at most {MAX_BATCH} per batch and split the rest", drafts.len()),
            ));
        }
        let now = self.now();
        let mut errors = ValidationErrors::new();
        let mut events = Vec::with_capacity(drafts.len());
        for (i, draft) in drafts.into_iter().enumerate() {
            match draft.validate(now) {
                Ok(e) => events.push(e),
                Err(e) => errors.extend_prefixed(&format!("events[{i}]"), e),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        if let Some(r) = replay(&mut tx, principal.user.id, "events.batch", idem).await? {
            return Ok(r);
        }
        let receipt = record(self, &mut tx, events, now, |i, field| format!("events[{i}].{field}")).await?;
        remember(&mut tx, principal.user.id, "events.batch", idem, &receipt, now).await?;
        tx.commit().await?;
        Ok(Recorded { value: receipt, replayed: false })
    }

    /// A contact's events, newest first.
    pub async fn timeline(
        &self,
        principal: &Principal,
        contact: ContactId,
        limit: u32,
        before: Option<Cursor>,
    ) -> Result<Page<Event>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        if s.get_contact(contact).await?.is_none() {
            return Err(AppError::not_found("contact", contact));
        }
        Ok(s.timeline(contact, limit, before).await?)
    }
}

/// The shared path of single and batch ingest, inside the caller's transaction.
pub(crate) async fn record(
    app: &App,
    tx: &mut Session,
    events: Vec<NewEvent>,
    now: Timestamp,
    path: impl Fn(usize, &str) -> String,
) -> Result<BatchReceipt, AppError> {
    // Client ids must be unique within the request: two different events cannot share one.
    let mut errors = ValidationErrors::new();
    let mut seen: HashMap<EventId, usize> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(id) = e.id
            && let Some(first) = seen.insert(id, i)
        {
            errors.add(path(i, "id"), format!("repeats the id of event {first} in the same request"));
        }
    }

    // Resolve who each event is about: known ids must exist; unknown e-mails become new leads
    // (an inbound signal from an unknown person is exactly how a lead is born).
    let ids: Vec<ContactId> = events
        .iter()
        .filter_map(|e| match &e.contact {
            ContactRef::Id(id) => Some(*id),
            ContactRef::Email(_) => None,
        })
        .collect();
    let existing = tx.existing_contact_ids(&ids).await?;
    for (i, e) in events.iter().enumerate() {
        if let ContactRef::Id(id) = &e.contact
            && !existing.contains(id)
        {
            errors.add(
                path(i, "contact_id"),
                format!("no contact has the id {id}; create it first, or send `email` instead"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let keys: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.contact {
            ContactRef::Email(email) => Some(email.key()),
            ContactRef::Id(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut by_email = tx.contact_ids_by_email_keys(&keys).await?;
    let mut contacts_created = 0;
    for e in &events {
        if let ContactRef::Email(email) = &e.contact
            && !by_email.contains_key(&email.key())
        {
            let lead = NewContact {
                source: e.source.clone(),
                campaign: e.campaign.clone(),
                ..NewContact::lead(email.clone())
            };
            let contact = tx.insert_contact(ContactId(new_uuid()), lead, now).await?;
            by_email.insert(email.key(), contact.id);
            contacts_created += 1;
        }
    }

    let stored: Vec<Event> = events
        .into_iter()
        .map(|e| Event {
            id: e.id.unwrap_or_else(|| EventId(new_uuid())),
            contact_id: match &e.contact {
                ContactRef::Id(id) => *id,
                // Present: every e-mail was resolved or created just above.
                ContactRef::Email(email) => by_email[&email.key()],
            },
            kind: e.kind,
            occurred_at: e.occurred_at,
            received_at: now,
            source: e.source,
            campaign: e.campaign,
            properties: e.properties,
        })
        .collect();
    let inserted = tx.insert_events(&stored).await?;

    // An id already stored is fine only if it is the same event (a retry). The same id with
    // other content is a client bug that must not be silently absorbed.
    let repeated: Vec<EventId> = stored.iter().filter(|e| !inserted.contains(&e.id)).map(|e| e.id).collect();
    if !repeated.is_empty() {
        let earlier: HashMap<EventId, Event> =
            tx.get_events(&repeated).await?.into_iter().map(|e| (e.id, e)).collect();
        for (i, e) in stored.iter().enumerate() {
            if let Some(before) = earlier.get(&e.id)
                && !same_event(before, e)
            {
                return Err(AppError::Conflict {
                    field: path(i, "id"),
                    message: format!(
                        "event {} was already recorded with different content; give a new event a new id",
                        e.id
                    ),
                });
            }
        }
    }

    // Last-touch attribution: the newest new event with a source, per contact.
    let mut latest: HashMap<ContactId, &Event> = HashMap::new();
    for e in stored.iter().filter(|e| inserted.contains(&e.id) && e.source.is_some()) {
        let slot = latest.entry(e.contact_id).or_insert(e);
        if e.occurred_at > slot.occurred_at {
            *slot = e;
        }
    }
    let touches: Vec<LastTouch> = latest
        .into_values()
        .map(|e| LastTouch {
            contact: e.contact_id,
            source: e.source.as_deref(),
            campaign: e.campaign.as_deref(),
            at: e.occurred_at,
        })
        .collect();
    tx.record_last_touches(&touches, now).await?;

    // Event-driven scoring: every contact that got a new event is rescored in this transaction,
    // so the next read sees its new score and any stage it moved to.
    let mut affected: Vec<ContactId> =
        stored.iter().filter(|e| inserted.contains(&e.id)).map(|e| e.contact_id).collect();
    affected.sort();
    affected.dedup();
    let mut fresh: HashMap<ContactId, Vec<Event>> = HashMap::new();
    for e in stored.iter().filter(|e| inserted.contains(&e.id)) {
        fresh.entry(e.contact_id).or_default().push(e.clone());
    }
    app.rescore_in(tx, &affected, now, &fresh).await?;

    // A logged call, e-mail or meeting is a touch: it stops the contact's SLA clock.
    let mut touched: Vec<ContactId> = stored
        .iter()
        .filter(|e| inserted.contains(&e.id))
        .filter(|e| {
            matches!(e.kind, EventKind::CallLogged | EventKind::EmailLogged | EventKind::MeetingLogged)
        })
        .map(|e| e.contact_id)
        .collect();
    touched.sort();
    touched.dedup();
    app.touched_in(tx, &touched, now).await?;

    let receipts: Vec<EventReceipt> = stored
        .iter()
        .map(|e| EventReceipt { id: e.id, contact_id: e.contact_id, duplicate: !inserted.contains(&e.id) })
        .collect();
    let recorded = inserted.len();
    Ok(BatchReceipt { duplicates: receipts.len() - recorded, events: receipts, recorded, contacts_created })
}

fn same_event(a: &Event, b: &Event) -> bool {
    a.contact_id == b.contact_id
        && a.kind == b.kind
        && a.occurred_at == b.occurred_at
        && a.source == b.source
        && a.campaign == b.campaign
        && a.properties == b.properties
}
