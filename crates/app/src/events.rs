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
use leadgate_store::contacts::Touch;
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

/// One ingest request waiting for its group.
pub(crate) struct Submission {
    user: leadgate_core::ids::UserId,
    operation: &'static str,
    idem: Option<Idempotency>,
    events: Vec<NewEvent>,
    /// How a problem with event `i`'s field is named in the answer.
    path: fn(usize, &str) -> String,
}

type Reply = tokio::sync::oneshot::Sender<Result<Recorded<BatchReceipt>, AppError>>;

/// The most events one group transaction records: it holds the write lock while it runs.
const MAX_GROUP_EVENTS: usize = 8 * MAX_BATCH;

/// Ingest requests waiting to be recorded, and the gate whose holder records them.
#[derive(Default)]
pub(crate) struct IngestQueue {
    waiting: std::sync::Mutex<Vec<(Submission, Reply)>>,
    gate: tokio::sync::Mutex<()>,
    /// Requests recorded and transactions used, since start (for `/metrics`).
    requests: std::sync::atomic::AtomicU64,
    transactions: std::sync::atomic::AtomicU64,
}

/// How event ingest shared its transactions since the server started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestStats {
    pub requests: u64,
    pub transactions: u64,
}

impl IngestQueue {
    /// The next group: the oldest waiting requests, up to [`MAX_GROUP_EVENTS`] events (always at
    /// least one request).
    fn take_group(&self) -> Vec<(Submission, Reply)> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let mut events = 0;
        let mut n = 0;
        for (s, _) in waiting.iter() {
            if n > 0 && events + s.events.len() > MAX_GROUP_EVENTS {
                break;
            }
            events += s.events.len();
            n += 1;
        }
        waiting.drain(..n).collect()
    }
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
        let event = draft.validate(self.now())?;
        let recorded = self
            .ingest(Submission {
                user: principal.user.id,
                operation: "events.create",
                idem: idem.cloned(),
                events: vec![event],
                path: |_, field| field.to_string(),
            })
            .await?;
        let single = recorded
            .value
            .events
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("no receipt".into()))?;
        Ok(Recorded { value: single, replayed: recorded.replayed })
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
        self.ingest(Submission {
            user: principal.user.id,
            operation: "events.batch",
            idem: idem.cloned(),
            events,
            path: |i, field| format!("events[{i}].{field}"),
        })
        .await
    }

    /// Records a request's events together with those of the requests arriving meanwhile, in
    /// one transaction ("group commit"): one durable commit and one rescoring of each contact
    /// for the whole group instead of one per request, which is what lets ingest keep up with
    /// many concurrent senders on a single-writer database. Each request runs inside its own
    /// savepoint, so a request that fails (an unknown contact, an id reused with other content)
    /// is undone alone and gets its own error; the others are recorded. No answer is given
    /// before the group is committed, so an acknowledged event is durable.
    async fn ingest(&self, submission: Submission) -> Result<Recorded<BatchReceipt>, AppError> {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.ingest_queue.waiting.lock().unwrap_or_else(|p| p.into_inner()).push((submission, reply));
        loop {
            tokio::select! {
                // A request recorded by another request's group is answered at once, without
                // queueing for the gate behind the next group.
                biased;
                answered = &mut answer => {
                    return answered.map_err(|_| AppError::Internal("event ingest ended without an answer".into()))?;
                }
                _gate = self.ingest_queue.gate.lock() => {
                    // Whoever holds the gate records everything waiting, its own request included
                    // unless an earlier group took it (then its answer is ready).
                    let group = self.ingest_queue.take_group();
                    if !group.is_empty() {
                        // In a task of its own: a client hanging up must not cancel the others'.
                        let app = self.clone();
                        tokio::spawn(async move { app.record_group(group).await })
                            .await
                            .map_err(|e| AppError::Internal(format!("event ingest task failed: {e}")))?;
                    }
                }
            }
        }
    }

    /// How event ingest shared its transactions since start.
    pub fn ingest_stats(&self) -> IngestStats {
        use std::sync::atomic::Ordering::Relaxed;
        IngestStats {
            requests: self.ingest_queue.requests.load(Relaxed),
            transactions: self.ingest_queue.transactions.load(Relaxed),
        }
    }

    /// Records a group of requests in one transaction and answers each.
    async fn record_group(&self, group: Vec<(Submission, Reply)>) {
        use std::sync::atomic::Ordering::Relaxed;
        self.ingest_queue.requests.fetch_add(group.len() as u64, Relaxed);
        self.ingest_queue.transactions.fetch_add(1, Relaxed);
        let now = self.now();
        let (submissions, replies): (Vec<Submission>, Vec<Reply>) = group.into_iter().unzip();
        match self.record_submissions(submissions, now).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.shared()));
                }
            }
        }
    }

    async fn record_submissions(
        &self,
        submissions: Vec<Submission>,
        now: Timestamp,
    ) -> Result<Vec<Result<Recorded<BatchReceipt>, AppError>>, AppError> {
        let mut tx = self.store.begin().await?;
        // Alone in its group, a request needs no savepoint: its failure rolls everything back.
        let alone = submissions.len() == 1;
        let mut answers = Vec::with_capacity(submissions.len());
        let mut fresh = Vec::new();
        for s in submissions {
            if !alone {
                tx.savepoint("request").await?;
            }
            match self.record_submission(&mut tx, s, now).await {
                Ok((answer, new)) => {
                    if !alone {
                        tx.release_savepoint("request").await?;
                    }
                    fresh.extend(new);
                    answers.push(Ok(answer));
                }
                Err(e) if alone => return Ok(vec![Err(e)]),
                Err(e) => {
                    tx.rollback_to_savepoint("request").await?;
                    answers.push(Err(e));
                }
            }
        }
        score_recorded(self, &mut tx, fresh, now).await?;
        tx.commit().await?;
        Ok(answers)
    }

    /// One request's share of a group: its events stored (not yet scored) and its answer
    /// remembered under its idempotency key.
    async fn record_submission(
        &self,
        tx: &mut Session,
        s: Submission,
        now: Timestamp,
    ) -> Result<(Recorded<BatchReceipt>, Vec<Event>), AppError> {
        if let Some(r) = replay(tx, s.user, s.operation, s.idem.as_ref()).await? {
            return Ok((r, Vec::new()));
        }
        let (receipt, fresh) = store_events(self, tx, s.events, now, s.path).await?;
        remember(tx, s.user, s.operation, s.idem.as_ref(), &receipt, now).await?;
        Ok((Recorded { value: receipt, replayed: false }, fresh))
    }

    /// A contact's events, newest first.
    pub async fn timeline(
        &self,
        principal: &Principal,
        contact: ContactId,
        limit: u32,
        before: Option<Cursor>,
    ) -> Result<Page<Event>, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        if s.get_contact(contact).await?.is_none() {
            return Err(AppError::not_found("contact", contact));
        }
        Ok(s.timeline(contact, limit, before).await?)
    }
}

/// Records events and rescores their contacts inside the caller's transaction (forms, phone
/// requests and touches record their event this way, in the transaction of what they do).
pub(crate) async fn record(
    app: &App,
    tx: &mut Session,
    events: Vec<NewEvent>,
    now: Timestamp,
    path: impl Fn(usize, &str) -> String,
) -> Result<BatchReceipt, AppError> {
    let (receipt, fresh) = store_events(app, tx, events, now, path).await?;
    score_recorded(app, tx, fresh, now).await?;
    Ok(receipt)
}

/// Stores events (creating the leads named by an unknown e-mail) and returns the receipt with
/// the events that were new: what [`score_recorded`] then scores.
async fn store_events(
    app: &App,
    tx: &mut Session,
    events: Vec<NewEvent>,
    now: Timestamp,
    path: impl Fn(usize, &str) -> String,
) -> Result<(BatchReceipt, Vec<Event>), AppError> {
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
    // An e-mail of an erased person does not bring them back.
    let unknown: Vec<&leadgate_core::email::Email> = events
        .iter()
        .filter_map(|e| match &e.contact {
            ContactRef::Email(email) if !by_email.contains_key(&email.key()) => Some(email),
            _ => None,
        })
        .collect();
    if !unknown.is_empty() {
        let suppressed = app.suppressed_keys(tx, &unknown, crate::privacy::WayIn::Person).await?;
        for (i, e) in events.iter().enumerate() {
            if let ContactRef::Email(email) = &e.contact
                && suppressed.contains(&email.key())
            {
                errors.add(path(i, "email"), crate::privacy::SUPPRESSED.to_string());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
    }
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
        .iter()
        .map(|e| Event {
            id: e.id.unwrap_or_else(|| EventId(new_uuid())),
            contact_id: match &e.contact {
                ContactRef::Id(id) => *id,
                // Present: every e-mail was resolved or created just above.
                ContactRef::Email(email) => by_email[&email.key()],
            },
            kind: e.kind.clone(),
            occurred_at: e.occurred_at,
            received_at: now,
            source: e.source.clone(),
            campaign: e.campaign.clone(),
            properties: e.properties.clone(),
        })
        .collect();
    let inserted = tx.insert_events(&stored).await?;

    // An id already stored is fine only if it is the same event (a retry). The same id with
    // other content is a client bug that must not be silently absorbed.
    let repeated: Vec<EventId> = stored.iter().filter(|e| !inserted.contains(&e.id)).map(|e| e.id).collect();
    if !repeated.is_empty() {
        let earlier: HashMap<EventId, Event> =
            tx.get_events(&repeated).await?.into_iter().map(|e| (e.id, e)).collect();
        for (i, (e, sent)) in stored.iter().zip(&events).enumerate() {
            if let Some(before) = earlier.get(&e.id)
                && !sent.repeats(before, e.contact_id)
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

    let receipts: Vec<EventReceipt> = stored
        .iter()
        .map(|e| EventReceipt { id: e.id, contact_id: e.contact_id, duplicate: !inserted.contains(&e.id) })
        .collect();
    let recorded = inserted.len();
    let fresh: Vec<Event> = stored.into_iter().filter(|e| inserted.contains(&e.id)).collect();
    Ok((
        BatchReceipt { duplicates: receipts.len() - recorded, events: receipts, recorded, contacts_created },
        fresh,
    ))
}

/// First- and last-touch attribution of events just put on timelines (recorded, or a visitor's
/// page views moved onto its contact when it identified itself): a contact without a first touch
/// takes its earliest event with a source; the newest event with a source is the last touch.
pub(crate) async fn attribute(tx: &mut Session, events: &[Event], now: Timestamp) -> Result<(), AppError> {
    let mut first: HashMap<ContactId, &Event> = HashMap::new();
    let mut last: HashMap<ContactId, &Event> = HashMap::new();
    for e in events.iter().filter(|e| e.source.is_some()) {
        let f = first.entry(e.contact_id).or_insert(e);
        if e.occurred_at < f.occurred_at {
            *f = e;
        }
        let l = last.entry(e.contact_id).or_insert(e);
        if e.occurred_at > l.occurred_at {
            *l = e;
        }
    }
    fn touch<'e>(e: &'e Event) -> Touch<'e> {
        Touch {
            contact: e.contact_id,
            source: e.source.as_deref(),
            campaign: e.campaign.as_deref(),
            at: e.occurred_at,
        }
    }
    tx.record_first_touches(&first.values().map(|e| touch(e)).collect::<Vec<_>>(), now).await?;
    tx.record_last_touches(&last.values().map(|e| touch(e)).collect::<Vec<_>>(), now).await?;
    Ok(())
}

/// What new events do to their contacts, once for all events of a transaction: first- and last-touch
/// attribution, event-driven rescoring (the next read sees the new score and any stage it moved
/// to) and, for logged calls, e-mails and meetings, a touch that stops the SLA clock.
async fn score_recorded(
    app: &App,
    tx: &mut Session,
    fresh: Vec<Event>,
    now: Timestamp,
) -> Result<(), AppError> {
    if fresh.is_empty() {
        return Ok(());
    }
    attribute(tx, &fresh, now).await?;
    // An unsubscribe stops e-mail at once, whatever else the batch says.
    let unsubscribed: Vec<ContactId> =
        fresh.iter().filter(|e| e.kind == EventKind::Unsubscribed).map(|e| e.contact_id).collect();
    if !unsubscribed.is_empty() {
        tx.set_do_not_email(&unsubscribed, now).await?;
    }

    // Event-driven scoring: every contact that got a new event is rescored in this transaction,
    // so the next read sees its new score and any stage it moved to.
    let mut affected: Vec<ContactId> = fresh.iter().map(|e| e.contact_id).collect();
    affected.sort();
    // A sequence waiting for what they just did (a visit, a form) moves on now, not at its
    // deadline.
    affected.dedup();
    tx.wake_enrolments_of(&affected, now).await?;
    let mut by_contact: HashMap<ContactId, Vec<Event>> = HashMap::new();
    for e in &fresh {
        by_contact.entry(e.contact_id).or_default().push(e.clone());
    }
    // A logged call, e-mail or meeting is a touch: it stops the contact's SLA clock. Recorded
    // before rescoring (a call that warms the lead up does not tighten a deadline it meets) and
    // after (an assignment the rescore makes is touched by the call that made it).
    let mut touched: Vec<ContactId> = fresh
        .iter()
        .filter(|e| {
            matches!(e.kind, EventKind::CallLogged | EventKind::EmailLogged | EventKind::MeetingLogged)
        })
        .map(|e| e.contact_id)
        .collect();
    touched.sort();
    touched.dedup();
    app.touched_in(tx, &touched, now).await?;
    app.rescore_in(tx, &affected, now, &by_contact).await?;
    app.touched_in(tx, &touched, now).await?;
    // An intermediary asking for something leads to its decision maker.
    app.intermediary_intent_in(tx, &fresh, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use leadgate_core::scoring::Ledger;
    use leadgate_store::testing::{Backend, TestDb};
    use serde_json::json;

    use super::*;
    use crate::ManualClock;

    fn batch(events: serde_json::Value) -> Vec<EventDraft> {
        serde_json::from_value(events).unwrap()
    }

    /// Requests waiting together are recorded in one transaction; the one that fails is undone
    /// alone, and every contact ends with the score a walk of its whole timeline gives.
    async fn waiting_requests_share_one_transaction(backend: Backend) {
        let db = TestDb::new(backend).await;
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let app = App::new(db.store.clone(), Arc::new(ManualClock::new(now)));
        app.ensure_scoring_rules().await.unwrap();
        let principal = app.operator().await.unwrap();

        let known = uuid::Uuid::now_v7();
        let first = json!([{"id": known, "email": "first@acme.example", "kind": "page_view"}]);
        app.record_events(&principal, batch(first), None).await.unwrap();

        // While the gate is held, requests queue up instead of being recorded.
        let gate = app.ingest_queue.gate.lock().await;
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..6_i64 {
            let events = if i == 3 {
                // Fails after writing: a new lead and its event, then an id reused with other
                // content. Both must be undone.
                batch(json!([
                    {"email": "undone@acme.example", "kind": "page_view"},
                    {"id": known, "email": "first@acme.example", "kind": "quote_request"},
                ]))
            } else {
                let at = |h: i64| (now - jiff::SignedDuration::from_hours(h)).to_string();
                batch(json!([
                    {"email": format!("lead{}@acme.example", i % 2), "kind": "page_view",
                     "occurred_at": at(i), "properties": {"url": "/pricing"}},
                    {"email": format!("lead{}@acme.example", i % 2), "kind": "webinar_attended",
                     "occurred_at": at(30 - i), "source": "webinar"},
                ]))
            };
            let (app, principal) = (app.clone(), principal.clone());
            requests.spawn(async move { (i, app.record_events(&principal, events, None).await) });
        }
        while app.ingest_queue.waiting.lock().unwrap().len() < 6 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        drop(gate);
        let mut recorded = 0;
        while let Some(done) = requests.join_next().await {
            let (i, answer) = done.unwrap();
            match answer {
                Ok(r) if i != 3 => recorded += r.value.recorded,
                Err(AppError::Conflict { field, .. }) if i == 3 => {
                    assert_eq!(field, "events[1].id", "the failing request gets its own error")
                }
                other => panic!("request {i}: {other:?}"),
            }
        }
        assert_eq!(recorded, 10);
        assert_eq!(app.ingest_stats(), IngestStats { requests: 7, transactions: 2 }, "the six shared one");

        let mut s = db.store.read().await.unwrap();
        assert_eq!(s.count_events().await.unwrap(), 11, "nothing of the failed request was kept");
        let active = app.active_rules(&mut s).await.unwrap();
        let ids = s.contact_ids_after(None, 10).await.unwrap();
        assert_eq!(ids.len(), 3, "leads created from their e-mails, once each; none for the failed request");
        for input in s.scoring_inputs(&ids).await.unwrap() {
            let events = s.events_of_contact(input.contact.id).await.unwrap();
            let email = input.contact.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default();
            let expected = match email.as_str() {
                "lead0@acme.example" => 6,
                "lead1@acme.example" => 4,
                "first@acme.example" => 1,
                other => panic!("unexpected contact {other}"),
            };
            assert_eq!(events.len(), expected, "{email}");
            let mut walked = Ledger::from_events(&active.rules, active.version, &events);
            walked.prune(&active.rules, now);
            assert_eq!(
                input.ledger.as_deref(),
                Some(&walked.to_bytes()[..]),
                "scored as one walk of the timeline"
            );
            let score = input.contact.score.expect("scored");
            assert!(score.engagement.hundredths() > 0, "{score:?}");
            if expected > 1 {
                assert_eq!(input.contact.last_touch_source.as_deref(), Some("webinar"));
            }
        }
        drop(s);
        db.cleanup().await;
    }

    #[tokio::test]
    async fn waiting_requests_share_one_transaction_on_sqlite() {
        waiting_requests_share_one_transaction(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn waiting_requests_share_one_transaction_on_postgres() {
        waiting_requests_share_one_transaction(Backend::Postgres).await
    }
}
