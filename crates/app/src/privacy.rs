//! Personal data use cases: a person's data exported (access and portability), erasure that
//! sticks (the person is deleted everywhere and their e-mail suppressed as a keyed hash, so no
//! import, form or API call brings them back), the retention purge, and the audit log of
//! sensitive actions.

use std::collections::HashSet;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::contact::Contact;
use leadgate_core::email::Email;
use leadgate_core::ids::ContactId;
use leadgate_core::privacy::{RetentionPolicy, inbound_kind_names};
use leadgate_store::Session;
use leadgate_store::cursor::{Cursor, Page};
use leadgate_store::privacy::{AuditEntry, AuditFilter};
use serde::Serialize;
use sha2::Sha256;

use crate::export::{CsvExport, Zip, table_csv};
use crate::{App, AppError, Principal, hex, new_uuid};

/// The secret that keys the suppression list's hashes. Kept outside the database (a file in the
/// data directory, or given by flag or environment), so the list in a stolen database cannot be
/// checked against a list of addresses.
#[derive(Clone)]
pub struct SuppressionKey(Arc<[u8]>);

impl std::fmt::Debug for SuppressionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuppressionKey(…)")
    }
}

/// The settings entry that records which key the database's suppression list was made with.
const KEY_FINGERPRINT: &str = "suppression_key_fingerprint";

impl SuppressionKey {
    /// A key from its bytes (at least 16).
    pub fn new(bytes: &[u8]) -> Result<SuppressionKey, String> {
        if bytes.len() < 16 {
            return Err(format!("the suppression key has {} bytes; it needs at least 16", bytes.len()));
        }
        Ok(SuppressionKey(bytes.into()))
    }

    /// A fresh random key (32 bytes).
    pub fn generate() -> SuppressionKey {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        SuppressionKey(bytes.as_slice().into())
    }

    /// The keyed hash of an e-mail, as the suppression list stores it (of the matching key, so
    /// `Ada@Example.com` and `ada@example.com` are one person).
    pub fn hash(&self, email: &Email) -> String {
        self.mac(email.key().as_bytes())
    }

    fn mac(&self, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }

    /// The key as hexadecimal, as the key file holds it.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// What identifies the key without revealing it.
    fn fingerprint(&self) -> String {
        self.mac(b"leadgate suppression key fingerprint")
    }
}

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureReceipt {
    /// E-mail addresses (or contacts) asked for.
    pub asked: u64,
    /// Those found in Leadgate, and erased.
    pub erased: u64,
    /// Those that were not (or no longer) in Leadgate: suppressed all the same.
    pub already_absent: u64,
    /// Lines that are not e-mail addresses; nothing was done for them.
    pub invalid: Vec<NotAnEmail>,
    /// Addresses added to the suppression list by this erasure.
    pub newly_suppressed: u64,
    /// Stored API answers, rejects report rows and lines of uploaded files that mentioned them.
    pub mentions_scrubbed: u64,
}

/// A line of an erasure list that is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotAnEmail {
    /// Its line number (the item's position plus one, for a list sent as JSON).
    pub line: u64,
    pub value: String,
}

/// How a contact arrives, which decides which suppressions stop it. A person erased at their
/// request never comes back. One the retention rule removed stays out of copies of old data (an
/// import, a sync through the API), but may come back by reaching out again (a form, a visit, a
/// call typed in by a rep): that is a new contact coming from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WayIn {
    /// A file or a sync: old data.
    Copy,
    /// The person reaching out.
    Person,
}

impl WayIn {
    fn reasons(self) -> &'static [&'static str] {
        match self {
            WayIn::Copy => &["erased", "retention"],
            WayIn::Person => &["erased"],
        }
    }
}

/// How people are forgotten: erased at their request, erased or anonymised by the retention
/// rule (their e-mails suppressed with the reason `erased` or `retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forget {
    Erase,
    Retention,
    Anonymise,
}

/// Who is due under the retention rule, and what a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionReport {
    /// The retention period, in days.
    pub retention_days: u32,
    /// Last contact coming from the person before this instant: due.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub cutoff: Timestamp,
    /// How many contacts are due (a dry run) or were erased (a purge).
    pub due: u64,
    /// The first ones, for a person to check (id and e-mail).
    pub sample: Vec<DueContact>,
    /// Whether they were erased (false: a dry run).
    pub erased: bool,
    /// Whether they were anonymised rather than erased (rows kept, without identity, for the
    /// figures of past periods).
    pub anonymised: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueContact {
    pub id: ContactId,
    pub email: Option<String>,
}

/// How long someone stays listed as due before the daily pass erases them.
pub const GRACE_DAYS: u32 = 30;

/// How many due contacts a report lists by name.
const SAMPLE: usize = 50;
/// Contacts erased per transaction by a purge or a bulk erasure.
const ERASE_CHUNK: usize = 1000;

impl App {
    /// Sets the key of the suppression list (a random one per process by default, which only
    /// tests should rely on).
    pub fn with_suppression_key(mut self, key: SuppressionKey) -> App {
        self.suppression_key = key;
        self
    }

    /// Sets the retention period (`None`: personal data is kept until erased by hand).
    pub fn with_retention(mut self, policy: Option<RetentionPolicy>) -> App {
        self.retention = policy;
        self
    }

    /// Checks that the suppression key is the one this database's list was made with (and
    /// records it on first use): with another key, erased people would silently come back.
    pub async fn check_suppression_key(&self) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        let fingerprint = self.suppression_key.fingerprint();
        let stored = tx.setting_or_insert(KEY_FINGERPRINT, &fingerprint).await?;
        tx.commit().await?;
        if stored == fingerprint {
            Ok(())
        } else {
            Err(AppError::StateConflict(
                "the suppression key is not the one this database's suppression list was made with: \
                 erased people would not be recognised. Give every server the same key (the file \
                 `suppression.key` of the first server's data directory, with --suppression-key-file \
                 or LEADGATE_SUPPRESSION_KEY_FILE)"
                    .into(),
            ))
        }
    }

    /// Refuses an e-mail on the suppression list: the person asked to be erased.
    pub(crate) async fn refuse_suppressed(
        &self,
        s: &mut Session,
        email: Option<&Email>,
        way: WayIn,
    ) -> Result<(), AppError> {
        if let Some(email) = email
            && self.is_suppressed(s, email, way).await?
        {
            return Err(suppressed_error());
        }
        Ok(())
    }

    pub(crate) async fn is_suppressed(
        &self,
        s: &mut Session,
        email: &Email,
        way: WayIn,
    ) -> Result<bool, AppError> {
        let hash = self.suppression_key.hash(email);
        Ok(!s.suppressed_among(std::slice::from_ref(&hash), way.reasons()).await?.is_empty())
    }

    /// The e-mails of `emails` on the suppression list (by matching key).
    pub(crate) async fn suppressed_keys(
        &self,
        s: &mut Session,
        emails: &[&Email],
        way: WayIn,
    ) -> Result<HashSet<String>, AppError> {
        let hashes: Vec<String> = emails.iter().map(|e| self.suppression_key.hash(e)).collect();
        let found = s.suppressed_among(&hashes, way.reasons()).await?;
        Ok(emails.iter().zip(hashes).filter(|(_, h)| found.contains(h)).map(|(e, _)| e.key()).collect())
    }

    /// Erases one person (GDPR art. 17) and suppresses their e-mail.
    pub async fn erase_contact(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<ErasureReceipt, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        let mut tx = self.store.begin().await?;
        let contact = tx.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        let receipt =
            self.erase_in(&mut tx, principal, &[id], contact.email.iter().collect(), Forget::Erase).await?;
        tx.commit().await?;
        Ok(ErasureReceipt { asked: 1, ..receipt })
    }

    /// Erases everyone whose e-mail is listed (one per line, or the first column of a CSV file
    /// with or without a header), and suppresses every listed e-mail, found or not.
    pub async fn erase_emails(&self, principal: &Principal, list: &str) -> Result<ErasureReceipt, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        let mut emails = Vec::new();
        let mut invalid = Vec::new();
        let mut seen = HashSet::new();
        for (n, line) in list.lines().enumerate() {
            let cell = line.split([',', ';', '\t']).next().unwrap_or("").trim().trim_matches('"').trim();
            if cell.is_empty() {
                continue;
            }
            match Email::parse(cell) {
                Ok(email) => {
                    if seen.insert(email.key()) {
                        emails.push(email);
                    }
                }
                // A header line (`email`, `E-mail`) is not an address, and not a mistake.
                Err(_) if n == 0 && !cell.contains('@') => {}
                Err(_) => invalid.push(NotAnEmail { line: n as u64 + 1, value: cell.to_string() }),
            }
        }
        if emails.is_empty() && invalid.is_empty() {
            return Err(AppError::invalid("emails", "the list holds no e-mail address: give one per line"));
        }
        let mut receipt = ErasureReceipt { asked: emails.len() as u64, invalid, ..Default::default() };
        for chunk in emails.chunks(ERASE_CHUNK) {
            let mut tx = self.store.begin().await?;
            let keys: Vec<String> = chunk.iter().map(Email::key).collect();
            let ids: Vec<ContactId> =
                tx.contact_ids_by_email_keys(&keys).await?.into_iter().map(|(_, id)| id).collect();
            let part = self.erase_in(&mut tx, principal, &ids, chunk.iter().collect(), Forget::Erase).await?;
            tx.commit().await?;
            receipt.erased += part.erased;
            receipt.newly_suppressed += part.newly_suppressed;
            receipt.mentions_scrubbed += part.mentions_scrubbed;
        }
        receipt.already_absent = receipt.asked - receipt.erased;
        Ok(receipt)
    }

    /// The erasure cascade in a transaction: every table (see
    /// `leadgate_store::Session::erase_contacts`), the suppression list, the audit log and the
    /// webhook subscribers (`contact.erased`, with the id only).
    async fn erase_in(
        &self,
        tx: &mut Session,
        principal: &Principal,
        ids: &[ContactId],
        emails: Vec<&Email>,
        how: Forget,
    ) -> Result<ErasureReceipt, AppError> {
        let now = self.now();
        let keys: Vec<String> = emails.iter().map(|e| e.key()).collect();
        let erased = match how {
            Forget::Anonymise => tx.anonymise_contacts(ids, &keys, now).await?,
            Forget::Erase | Forget::Retention => tx.erase_people(ids, &keys, now).await?,
        };
        let reason = match how {
            Forget::Erase => "erased",
            Forget::Retention | Forget::Anonymise => "retention",
        };
        let hashes: Vec<String> = emails.iter().map(|e| self.suppression_key.hash(e)).collect();
        let newly_suppressed = tx.suppress(&hashes, reason, now).await?;
        let events = erased.contacts.iter().map(|id| (*id, serde_json::json!({ "contact_id": id })));
        self.emit_many_in(tx, "contact.erased", events, now).await?;
        let detail = serde_json::json!({
            "contacts": erased.contacts.len(),
            "emails_suppressed": hashes.len(),
            "reason": reason,
        });
        let action = if how == Forget::Anonymise { "contact.anonymised" } else { "contact.erased" };
        self.audit_in(tx, Some(principal), action, None, None, detail).await?;
        Ok(ErasureReceipt {
            asked: ids.len() as u64,
            erased: erased.contacts.len() as u64,
            already_absent: (ids.len() - erased.contacts.len()) as u64,
            invalid: Vec::new(),
            newly_suppressed,
            mentions_scrubbed: erased.mentions_scrubbed,
        })
    }

    /// Records a person's objection to direct marketing (GDPR art. 21), which is absolute: no
    /// marketing e-mail or call any more, and no scoring or prediction for marketing. The contact
    /// stays (a customer keeps being served), shown as objected.
    pub async fn record_objection(&self, principal: &Principal, id: ContactId) -> Result<Contact, AppError> {
        principal.require(Permission::RecordConsent)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        self.require_read(&mut tx, principal, id).await?;
        if !tx.record_objection(id, now).await? {
            return Err(AppError::not_found("contact", id));
        }
        let contact = tx.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        self.emit_in(&mut tx, "contact.updated", id, serde_json::json!({ "contact": &contact }), now).await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "contact.objected",
            Some(id.to_string()),
            Some(id),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// The link a person follows to their preferences page (`/p/{token}`): the contact's id,
    /// signed, so nobody else's page can be reached by guessing.
    pub async fn preferences_token(&self, principal: &Principal, id: ContactId) -> Result<String, AppError> {
        principal.require(Permission::RecordConsent)?;
        self.require_read(&mut self.store.read().await?, principal, id).await?;
        self.preferences_token_of(id).await
    }

    /// The preferences link's token of a contact, for the footer of the messages it is sent.
    pub(crate) async fn preferences_token_of(&self, id: ContactId) -> Result<String, AppError> {
        let id = id.as_uuid().simple().to_string();
        Ok(format!("{id}.{}", self.sign(&format!("preferences:{id}")).await?))
    }

    async fn contact_of_preferences_token(&self, token: &str) -> Result<ContactId, AppError> {
        let gone = || AppError::NotFound { what: "preferences page", id: "for this link".into() };
        let (id, sig) = token.split_once('.').ok_or_else(gone)?;
        if id.len() != 32 || !self.verify(&format!("preferences:{id}"), sig).await? {
            return Err(gone());
        }
        id.parse::<uuid::Uuid>().map(ContactId).map_err(|_| gone())
    }

    /// A person's preferences, from the link they were given (no account: the link is the key).
    pub async fn preferences(&self, token: &str) -> Result<Preferences, AppError> {
        let id = self.contact_of_preferences_token(token).await?;
        let mut s = self.store.read().await?;
        let contact = s
            .get_contact(id)
            .await?
            .ok_or_else(|| AppError::NotFound { what: "preferences page", id: "for this link".into() })?;
        let history = s.consents_of(id).await?;
        let purposes = leadgate_core::form::Purpose::ALL
            .into_iter()
            .map(|p| (p, history.iter().rev().find(|c| c.purpose == p).is_some_and(|c| c.granted)))
            .collect();
        Ok(Preferences {
            purposes,
            do_not_email: contact.do_not_email,
            objected: contact.objected_at.is_some(),
        })
    }

    /// A person withdraws a purpose, or objects to all direct marketing, from their preferences
    /// page: as easy as giving it (one click, no account), recorded with its proof (when, from
    /// which address and browser), and in effect at once.
    pub async fn change_preferences(
        &self,
        token: &str,
        change: PreferenceChange,
        client: &crate::capture::ClientInfo,
    ) -> Result<Preferences, AppError> {
        let id = self.contact_of_preferences_token(token).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.get_contact(id).await?.is_none() {
            return Err(AppError::NotFound { what: "preferences page", id: "for this link".into() });
        }
        let action = match change {
            PreferenceChange::Withdraw(purpose) => {
                let record = leadgate_core::form::ConsentRecord {
                    id: new_uuid(),
                    contact_id: id,
                    purpose,
                    granted: false,
                    text: "Withdrawn by the person on their preferences page".into(),
                    version: "preferences-page".into(),
                    source: "preferences".into(),
                    form_id: None,
                    ip: client.ip.clone(),
                    user_agent: client.user_agent.clone(),
                    at: now,
                };
                crate::capture::record_consent_in(&mut tx, &record).await?;
                "consent.withdrawn"
            }
            PreferenceChange::Object => {
                tx.record_objection(id, now).await?;
                "contact.objected"
            }
        };
        let detail = match change {
            PreferenceChange::Withdraw(p) => serde_json::json!({ "purpose": p }),
            PreferenceChange::Object => serde_json::json!({}),
        };
        let actor = Actor { id: None, name: "the person (preferences page)".into(), ip: client.ip.clone() };
        self.append_audit(&mut tx, actor, action, Some(id.to_string()), Some(id), detail).await?;
        tx.commit().await?;
        self.preferences(token).await
    }

    /// Deletes contacts without suppressing them (a duplicate, a test entry): the same cascade
    /// as an erasure, so nothing of theirs stays behind, but they may be recorded again.
    pub(crate) async fn delete_contacts_in(
        &self,
        tx: &mut Session,
        principal: &Principal,
        ids: &[ContactId],
    ) -> Result<u64, AppError> {
        let erased = tx.erase_contacts(ids, self.now()).await?;
        let detail = serde_json::json!({ "contacts": erased.contacts.len() });
        self.audit_in(tx, Some(principal), "contact.deleted", None, None, detail).await?;
        Ok(erased.contacts.len() as u64)
    }

    /// Who is due under the retention rule (a dry run: nothing changes). With retention off, a
    /// report of nobody with a period of 0 days.
    pub async fn retention_due(&self, principal: &Principal) -> Result<RetentionReport, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        let Some(policy) = self.retention else {
            return Ok(RetentionReport { cutoff: self.now(), ..Default::default() });
        };
        let cutoff = policy.cutoff(self.now());
        let kinds = inbound_kind_names();
        let mut s = self.store.read().await?;
        let mut report = RetentionReport { retention_days: policy.days, cutoff, ..Default::default() };
        let mut after = None;
        loop {
            let page = s.retention_due(cutoff, &kinds, after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.0);
            report.due += page.len() as u64;
            let room = SAMPLE.saturating_sub(report.sample.len());
            report.sample.extend(page.into_iter().take(room).map(|(id, email)| DueContact { id, email }));
        }
        Ok(report)
    }

    /// Erases everyone due under the retention rule, a chunk per transaction; their e-mails are
    /// suppressed (reason `retention`), so an old file imported again does not bring them back.
    pub async fn purge(&self, principal: &Principal) -> Result<RetentionReport, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        let policy = self.retention.ok_or_else(|| {
            AppError::StateConflict(
                "retention is off on this server (--retention-days 0): nobody is erased for inactivity"
                    .into(),
            )
        })?;
        self.purge_with(principal, policy).await
    }

    async fn purge_with(
        &self,
        principal: &Principal,
        policy: RetentionPolicy,
    ) -> Result<RetentionReport, AppError> {
        let cutoff = policy.cutoff(self.now());
        let kinds = inbound_kind_names();
        let mut report = RetentionReport {
            retention_days: policy.days,
            cutoff,
            erased: true,
            anonymised: policy.anonymise,
            ..Default::default()
        };
        loop {
            let mut tx = self.store.begin().await?;
            let page = tx.retention_due(cutoff, &kinds, None, ERASE_CHUNK as u32).await?;
            if page.is_empty() {
                tx.commit().await?;
                break;
            }
            let ids: Vec<ContactId> = page.iter().map(|(id, _)| *id).collect();
            let emails: Vec<Email> =
                page.iter().filter_map(|(_, e)| e.as_deref()).filter_map(|e| Email::parse(e).ok()).collect();
            let how = if policy.anonymise { Forget::Anonymise } else { Forget::Retention };
            self.erase_in(&mut tx, principal, &ids, emails.iter().collect(), how).await?;
            tx.commit().await?;
            report.due += ids.len() as u64;
            let room = SAMPLE.saturating_sub(report.sample.len());
            report.sample.extend(page.into_iter().take(room).map(|(id, email)| DueContact { id, email }));
        }
        Ok(report)
    }

    /// The daily retention pass: one server a day (claimed through the database) erases who is
    /// due. Returns how many were erased, or `None` when it was not this server's turn.
    ///
    /// The daily pass waits [`GRACE_DAYS`] more than the period: whoever it erases was listed as
    /// due (on the Personal data page, `GET /api/v1/retention`, `leadgate purge --dry-run`) for
    /// that long before, so a new installation or a shorter period never erases at once.
    pub(crate) async fn daily_retention(&self) -> Result<Option<u64>, AppError> {
        let Some(policy) = self.retention else { return Ok(None) };
        let today = jiff::tz::TimeZone::UTC.to_datetime(self.now()).date().to_string();
        let mut tx = self.store.begin().await?;
        let claimed = tx.claim_daily("retention_purged_on", &today).await?;
        tx.commit().await?;
        if !claimed {
            return Ok(None);
        }
        let operator = self.operator().await?;
        let after_grace = RetentionPolicy { days: policy.days.saturating_add(GRACE_DAYS), ..policy };
        let report = self.purge_with(&system(operator), after_grace).await?;
        Ok(Some(report.due))
    }

    /// Everything Leadgate holds about one person (GDPR art. 15 and 20), as one JSON document.
    pub async fn export_person(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<serde_json::Value, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        let detail = self.contact_detail(principal, id).await?;
        let company = match detail.contact.company_id {
            Some(c) => self.store.read().await?.get_company(c).await?,
            None => None,
        };
        // A person who objected is not scored: their export says so instead of a score.
        let explanation = match detail.contact.objected_at {
            Some(at) => serde_json::json!({ "objected_at": at, "scored": false }),
            None => json(&self.explain(principal, id).await?)?,
        };
        let prediction = self.contact_prediction(principal, id).await.ok();
        let lifecycle = self.lifecycle(principal, id).await?;
        let assignments = self.assignments(principal, id).await?;
        let consents = self.consents(principal, id).await?;
        let consent_requests = self.consent_requests(principal, id).await?;
        let deals = self.deals_of_contact(principal, id).await?;
        let buying_role = self.buying_role(principal, id).await?;
        let notes = self.notes(principal, id).await?;
        // The e-mail sequences they were in and every message reserved or sent to them, with
        // its opens and clicks, and their standing as a recipient (unsubscribed, bounces).
        let nurture = self.contact_nurture(principal, id).await?;
        let now = self.now();
        let mut s = self.store.read().await?;
        let events = s.events_of_contact(id).await?;
        let tasks: Vec<_> =
            s.tasks_of_contact(id).await?.into_iter().map(|t| crate::handoff::task_view(t, now)).collect();
        drop(s);
        let mut tx = self.store.begin().await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "contact.exported",
            Some(id.to_string()),
            Some(id),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(serde_json::json!({
            "exported_at": now,
            "contact": detail.contact,
            "company": company,
            "score": explanation,
            "prediction": prediction,
            "lifecycle": lifecycle,
            "buying_role": buying_role,
            "assignments": assignments,
            "tasks": tasks,
            "consents": consents,
            "consent_requests": consent_requests,
            "deals": deals,
            "notes": notes,
            "events": events,
            "sequences": nurture.enrolments,
            "email_messages": nurture.messages,
            "email_recipient": nurture.recipient,
        }))
    }

    /// [`App::export_person`] as a zip: `person.json`, and a readable CSV per list (events,
    /// consents, lifecycle history, tasks, deals) with the contact's own fields.
    pub async fn export_person_zip(&self, principal: &Principal, id: ContactId) -> Result<Vec<u8>, AppError> {
        let doc = self.export_person(principal, id).await?;
        let mut zip = Zip::default();
        let json = serde_json::to_vec_pretty(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
        zip.add("person.json", &json);
        let contact = doc.get("contact").cloned().unwrap_or_default();
        zip.add("contact.csv", &table_csv(std::slice::from_ref(&contact))?);
        let lists = [
            ("events.csv", doc.get("events")),
            ("consents.csv", doc.get("consents")),
            ("lifecycle_history.csv", doc.pointer("/lifecycle/history")),
            ("assignments.csv", doc.get("assignments")),
            ("tasks.csv", doc.get("tasks")),
            ("deals.csv", doc.get("deals")),
            ("notes.csv", doc.get("notes")),
            ("sequences.csv", doc.get("sequences")),
            ("email_messages.csv", doc.get("email_messages")),
        ];
        for (name, list) in lists {
            let rows = list.and_then(|l| l.as_array()).cloned().unwrap_or_default();
            zip.add(name, &table_csv(&rows)?);
        }
        Ok(zip.finish())
    }

    /// Every contact, company, deal and event of the workspace (for leaving the product, or a
    /// warehouse), handed to `sink` one record at a time with its kind (`contacts`,
    /// `companies`, `deals`, `events`), a page at a time. Returns how many of each.
    pub async fn export_workspace(
        &self,
        principal: &Principal,
        sink: &mut dyn FnMut(&'static str, serde_json::Value) -> Result<(), AppError>,
    ) -> Result<Vec<(&'static str, u64)>, AppError> {
        principal.require(Permission::ManagePersonalData)?;
        principal.require(Permission::ReadAllLeads)?;
        let (mut contacts, mut events, mut companies, mut deals) = (0, 0, 0, 0);
        let mut after = None;
        loop {
            let page = self.list_contacts(principal, &Default::default(), 500, after).await?;
            let ids: Vec<ContactId> = page.items.iter().map(|c| c.id).collect();
            let mut timelines = self.store.read().await?.events_of_contacts(&ids).await?;
            for c in &page.items {
                sink("contacts", json(c)?)?;
                contacts += 1;
                for e in timelines.remove(&c.id).unwrap_or_default() {
                    sink("events", json(&e)?)?;
                    events += 1;
                }
            }
            after = after_page(page.next_cursor.as_deref());
            if after.is_none() {
                break;
            }
        }
        let mut after = None;
        loop {
            let page = self.list_companies(principal, &Default::default(), 500, after).await?;
            for c in &page.items {
                sink("companies", json(c)?)?;
                companies += 1;
            }
            after = after_page(page.next_cursor.as_deref());
            if after.is_none() {
                break;
            }
        }
        let mut after = None;
        loop {
            let page = self.list_deals(principal, &Default::default(), 500, after).await?;
            for d in &page.items {
                sink("deals", json(d)?)?;
                deals += 1;
            }
            after = after_page(page.next_cursor.as_deref());
            if after.is_none() {
                break;
            }
        }
        let counts =
            vec![("contacts", contacts), ("events", events), ("companies", companies), ("deals", deals)];
        let mut tx = self.store.begin().await?;
        let detail = serde_json::json!({ "contacts": contacts, "events": events, "companies": companies, "deals": deals });
        self.audit_in(&mut tx, Some(principal), "workspace.exported", None, None, detail).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Appends an entry to the audit log, in the transaction of the action it records.
    pub(crate) async fn audit_in(
        &self,
        tx: &mut Session,
        principal: Option<&Principal>,
        action: &str,
        target: Option<String>,
        contact: Option<ContactId>,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let actor = Actor {
            id: principal.map(|p| p.user.id),
            name: principal.map_or_else(|| "anonymous".to_string(), |p| p.user.email.clone()),
            ip: principal.and_then(|p| p.address.clone()),
        };
        self.append_audit(tx, actor, action, target, contact, detail).await
    }

    /// The one place audit entries are made.
    pub(crate) async fn append_audit(
        &self,
        tx: &mut Session,
        actor: Actor,
        action: &str,
        target: Option<String>,
        contact: Option<ContactId>,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let entry = AuditEntry {
            id: new_uuid(),
            at: self.now(),
            actor_id: actor.id,
            actor: actor.name,
            action: action.to_string(),
            target,
            contact_id: contact,
            detail,
            ip: actor.ip,
        };
        tx.insert_audit(&entry).await?;
        Ok(())
    }

    /// Records a bulk action of the inbox (each row was changed by its own use case).
    pub async fn audit_bulk(&self, principal: &Principal, detail: serde_json::Value) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        self.audit_in(&mut tx, Some(principal), "contacts.bulk_action", None, None, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An audit entry about a sign-in attempt, before anyone is signed in: `who` is what was typed.
    pub(crate) async fn audit_sign_in(
        &self,
        tx: &mut Session,
        user: Option<leadgate_core::ids::UserId>,
        who: &str,
        from: Option<std::net::IpAddr>,
        action: &str,
    ) -> Result<(), AppError> {
        let actor = Actor {
            id: user,
            name: leadgate_core::validation::printable(who).chars().take(320).collect(),
            ip: from.map(|ip| ip.to_string()),
        };
        self.append_audit(tx, actor, action, None, None, serde_json::json!({})).await
    }

    /// The audit log, newest first (admins).
    pub async fn audit_log(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<AuditView>, AppError> {
        principal.require(Permission::ReadAuditLog)?;
        let page = self.store.read().await?.list_audit(filter, limit, after).await?;
        Ok(Page {
            items: page.items.into_iter().map(AuditView::from).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: uuid::Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The user's e-mail, `system` (a scheduled job), or what was typed at a failed sign-in.
    pub actor: String,
    /// e.g. `contact.erased`, `user.signed_in`, `api_key.created`, `scoring_rules.changed`.
    pub action: String,
    /// What was acted on: a user's e-mail, a key's, model's or webhook's id, a version.
    pub target: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
    /// The address the request came from.
    pub ip: Option<String>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            ip: e.ip,
        }
    }
}

impl App {
    /// The audit log as CSV (admins), newest first, up to `max` entries.
    pub async fn audit_csv(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        max: u32,
    ) -> Result<Vec<u8>, AppError> {
        let mut out = CsvExport::new(Vec::new());
        out.row(["at", "actor", "action", "target", "ip", "detail"])?;
        let mut after = None;
        let mut left = max;
        while left > 0 {
            let page = self.audit_log(principal, filter, left.min(500), after).await?;
            for e in &page.items {
                let at = e.at.to_string();
                let detail = e.detail.to_string();
                out.row([
                    at.as_str(),
                    &e.actor,
                    &e.action,
                    e.target.as_deref().unwrap_or(""),
                    e.ip.as_deref().unwrap_or(""),
                    &detail,
                ])?;
            }
            left = left.saturating_sub(page.items.len() as u32);
            after = after_page(page.next_cursor.as_deref());
            if after.is_none() {
                break;
            }
        }
        out.finish()
    }
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// What a person sees on their preferences page: each purpose and whether it is granted now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// The purposes, each with whether the person's latest answer granted it.
    pub purposes: Vec<(leadgate_core::form::Purpose, bool)>,
    pub do_not_email: bool,
    pub objected: bool,
}

/// What a person asks on their preferences page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferenceChange {
    /// Withdraw one purpose.
    Withdraw(leadgate_core::form::Purpose),
    /// Object to all direct marketing (GDPR art. 21).
    Object,
}

/// Who did what the audit log records.
pub(crate) struct Actor {
    /// The user, when one acted.
    pub(crate) id: Option<leadgate_core::ids::UserId>,
    /// Their e-mail, `system`, what was typed at a sign-in, or who acted without an account.
    pub(crate) name: String,
    pub(crate) ip: Option<String>,
}

/// The cursor of the page after one whose `next_cursor` this is (`None`: it was the last).
fn after_page(next_cursor: Option<&str>) -> Option<Cursor> {
    next_cursor.and_then(|c| Cursor::decode(c).ok())
}

/// The operator acting as the scheduled system (the audit log says `system`).
fn system(mut operator: Principal) -> Principal {
    operator.user.email = "system".to_string();
    operator
}

/// Why an e-mail is refused when its person was erased.
pub(crate) const SUPPRESSED: &str = "this e-mail address belongs to a person who asked to be erased: \
    Leadgate keeps it on its suppression list and does not record them again";

fn suppressed_error() -> AppError {
    AppError::Conflict { field: "email".into(), message: SUPPRESSED.into() }
}
