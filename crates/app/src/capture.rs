//! Web capture: forms (definitions, submissions with spam checks and consent proof), the website
//! tracker (anonymous page views, merged into the contact's timeline when the visitor identifies
//! itself), and consent records.
//!
//! Spam protection needs no third-party service: a hidden field people leave empty (the
//! honeypot), a signed single-use render token so a form submitted faster than a person can fill
//! it, or submitted twice with one rendering, is refused, a limit per e-mail, and rate limits per
//! address and per form (in the HTTP layer). Refused submissions are counted per reason, never
//! stored as contacts.
//!
//! A submission naming an existing contact's e-mail may come from anyone: it completes the
//! contact's empty fields and adds its event, but changes no stored value, and its consent
//! answers become requests the person must confirm (`core::form::anonymous_consent_effect`).

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::Permission;
use leadgate_core::custom_field::FieldEntity;
use leadgate_core::event::{ContactRef, EventKind, NewEvent};
use leadgate_core::form::{
    ConsentEffect, ConsentRecord, ConsentRequest, ConsentRequestStatus, FormDefinition, Purpose,
    anonymous_consent_effect, current_consent,
};
use leadgate_core::ids::{ContactId, EventId};
use leadgate_core::validation::{ValidationErrors, is_plain_text};
use leadgate_store::Session;
use leadgate_store::capture::StoredForm;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{App, AppError, Principal, hex, new_uuid};

/// How long after the form was shown a person can submit it, at the earliest. Bots post at once.
pub const MIN_FILL_TIME: SignedDuration = SignedDuration::from_secs(3);
/// How long a shown form stays valid.
pub const MAX_FORM_AGE: SignedDuration = SignedDuration::from_hours(24);
/// Submissions naming one e-mail in an hour: a person fills a form a few times at most; more is
/// someone pushing that contact's engagement (and so its score) by typing its e-mail.
pub const MAX_SUBMISSIONS_PER_EMAIL_PER_HOUR: i64 = 5;

/// What the HTTP layer knows about the client, kept as consent proof.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Why a submission was refused as abuse (counted, not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamReason {
    Honeypot,
    TooFast,
    BadToken,
    RateLimited,
    /// Posted from a site the form does not list in its allowed origins.
    Origin,
    /// A render token already used by an accepted submission (a replay, or a double click).
    TokenReused,
    /// Too many submissions naming one e-mail.
    EmailLimit,
    /// Too many submissions to one form from every address together.
    FormLimit,
    /// The e-mail belongs to a person who asked to be erased (it is on the suppression list).
    /// Nothing is stored; the sender is thanked like anyone, so the answer does not tell a
    /// third party who asked to be erased.
    Suppressed,
}

impl SpamReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamReason::Honeypot => "honeypot",
            SpamReason::TooFast => "too_fast",
            SpamReason::BadToken => "bad_token",
            SpamReason::RateLimited => "rate_limited",
            SpamReason::Origin => "origin_not_allowed",
            SpamReason::TokenReused => "token_reused",
            SpamReason::EmailLimit => "email_rate_limited",
            SpamReason::FormLimit => "form_rate_limited",
            SpamReason::Suppressed => "suppressed",
        }
    }
}

/// The outcome of a submission.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    /// Stored.
    Accepted { contact: ContactId, message: String },
    /// Refused as abuse: counted, nothing stored. The page still thanks the sender (a bot learns
    /// nothing from the answer).
    Spam { reason: SpamReason, message: String },
}

/// A form as served by the API.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormView {
    pub id: uuid::Uuid,
    #[serde(flatten)]
    pub definition: FormDefinition,
    /// Accepted submissions.
    pub submissions: i64,
    /// Refused submissions, by reason (honeypot, too_fast, bad_token, token_reused, rate_limited,
    /// form_rate_limited, email_rate_limited, origin_not_allowed).
    pub rejected: HashMap<String, i64>,
    /// The hosted page.
    pub url: String,
    /// HTML to paste into a web page to embed the form.
    pub embed_snippet: String,
}

/// A page view sent by the tracker.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageView {
    /// Client-chosen id, so a resent batch stores each view once.
    pub id: Option<EventId>,
    pub url: String,
    pub title: Option<String>,
    pub referrer: Option<String>,
    /// When it happened, in milliseconds since the epoch (the browser's clock).
    pub at: Option<i64>,
}

/// A batch from the tracker.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Collect {
    /// The first-party cookie id of the browser.
    pub visitor: String,
    #[serde(default)]
    pub views: Vec<PageView>,
    /// A signed contact token from a tracked e-mail link (`lg_cid`): identifies the visitor.
    pub identify: Option<String>,
}

/// A consent given or withdrawn through the API.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: Purpose,
    pub granted: bool,
    /// The exact wording the person agreed to (or refused).
    pub text: String,
    pub version: String,
}

type HmacSha256 = Hmac<Sha256>;

/// Records a consent given or withdrawn, whoever records it (staff, the person on their
/// preferences page): withdrawing the last purpose granted stops e-mail at once.
pub(crate) async fn record_consent_in(tx: &mut Session, record: &ConsentRecord) -> Result<(), AppError> {
    tx.insert_consents(std::slice::from_ref(record)).await?;
    let history = tx.consents_of(record.contact_id).await?;
    let history: Vec<(&str, bool)> = history.iter().map(|c| (c.purpose.as_str(), c.granted)).collect();
    if leadgate_core::privacy::withdrawal_stops_email(&history) {
        tx.set_do_not_email(&[record.contact_id], record.at).await?;
    }
    Ok(())
}

impl App {
    /// The server-wide signing secret, created on first use and shared by every server.
    async fn secret(&self) -> Result<Vec<u8>, AppError> {
        if let Some(s) = self.secret.get() {
            return Ok(s.clone());
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let mut tx = self.store.begin().await?;
        let stored = tx.setting_or_insert("signing_secret", &hex(&fresh)).await?;
        tx.commit().await?;
        let bytes = stored.into_bytes();
        let _ = self.secret.set(bytes.clone());
        Ok(bytes)
    }

    pub(crate) async fn sign(&self, message: &str) -> Result<String, AppError> {
        let mut mac = HmacSha256::new_from_slice(&self.secret().await?)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        mac.update(message.as_bytes());
        Ok(hex(&mac.finalize().into_bytes()[..16]))
    }

    pub(crate) async fn verify(&self, message: &str, signature: &str) -> Result<bool, AppError> {
        let expected = self.sign(message).await?;
        Ok(expected.len() == signature.len()
            && expected.bytes().zip(signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    }

    /// The token a form carries from rendering to submission: its render time and a random
    /// nonce, signed. Each rendering gets its own, and an accepted submission uses it up.
    pub async fn form_token(&self, slug: &str) -> Result<String, AppError> {
        let ms = self.now().as_millisecond();
        let nonce = new_uuid().simple().to_string();
        Ok(format!("{ms}.{nonce}.{}", self.sign(&format!("form:{slug}:{ms}:{nonce}")).await?))
    }

    /// The render time and signature of a genuine token of form `slug`. Tokens without a nonce
    /// (shown before nonces existed, at most a day before) are still read.
    async fn read_form_token<'t>(
        &self,
        slug: &str,
        token: &'t str,
    ) -> Result<Option<(Timestamp, &'t str)>, AppError> {
        let parts: Vec<&str> = token.split('.').collect();
        let (ms, signed, sig) = match parts[..] {
            [ms, nonce, sig] => (ms, format!("form:{slug}:{ms}:{nonce}"), sig),
            [ms, sig] => (ms, format!("form:{slug}:{ms}"), sig),
            _ => return Ok(None),
        };
        if !self.verify(&signed, sig).await? {
            return Ok(None);
        }
        Ok(ms.parse::<i64>().ok().and_then(|ms| Timestamp::from_millisecond(ms).ok()).map(|t| (t, sig)))
    }

    /// A token for tracked links to `contact` (`?lg_cid=…`): the tracker identifies the visitor.
    pub async fn tracking_token(
        &self,
        principal: &Principal,
        contact: ContactId,
    ) -> Result<String, AppError> {
        self.require_read(&mut self.store.read().await?, principal, contact).await?;
        self.contact_token(contact).await
    }

    /// The signed token naming `contact` to the website tracker (see [`Self::tracking_token`]).
    pub(crate) async fn contact_token(&self, contact: ContactId) -> Result<String, AppError> {
        let id = contact.as_uuid().simple().to_string();
        Ok(format!("{id}.{}", self.sign(&format!("contact:{id}")).await?))
    }

    async fn contact_of_token(&self, token: &str) -> Result<Option<ContactId>, AppError> {
        let Some((id, sig)) = token.split_once('.') else { return Ok(None) };
        if id.len() != 32 || !self.verify(&format!("contact:{id}"), sig).await? {
            return Ok(None);
        }
        Ok(uuid::Uuid::parse_str(id).ok().map(ContactId))
    }

    pub async fn create_form(
        &self,
        principal: &Principal,
        def: FormDefinition,
    ) -> Result<FormView, AppError> {
        principal.require(Permission::ManageForms)?;
        def.validate()?;
        let mut tx = self.store.begin().await?;
        check_custom_targets(&mut tx, &def).await?;
        let stored = tx.insert_form(new_uuid(), &def, self.now()).await?;
        tx.commit().await?;
        self.form_view(stored).await
    }

    pub async fn update_form(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
        def: FormDefinition,
    ) -> Result<FormView, AppError> {
        principal.require(Permission::ManageForms)?;
        def.validate()?;
        let mut tx = self.store.begin().await?;
        check_custom_targets(&mut tx, &def).await?;
        if !tx.update_form(id, &def, self.now()).await? {
            return Err(AppError::not_found("form", id));
        }
        let stored = tx.get_form(id).await?.ok_or_else(|| AppError::not_found("form", id))?;
        tx.commit().await?;
        self.form_view(stored).await
    }

    pub async fn delete_form(&self, principal: &Principal, id: uuid::Uuid) -> Result<(), AppError> {
        principal.require(Permission::ManageForms)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_form(id).await? {
            return Err(AppError::not_found("form", id));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn forms(&self, principal: &Principal) -> Result<Vec<FormView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let forms = self.store.read().await?.list_forms().await?;
        let mut out = Vec::with_capacity(forms.len());
        for f in forms {
            out.push(self.form_view(f).await?);
        }
        Ok(out)
    }

    pub async fn form(&self, principal: &Principal, id: uuid::Uuid) -> Result<FormView, AppError> {
        principal.require(Permission::ReadContacts)?;
        let f =
            self.store.read().await?.get_form(id).await?.ok_or_else(|| AppError::not_found("form", id))?;
        self.form_view(f).await
    }

    async fn form_view(&self, f: StoredForm) -> Result<FormView, AppError> {
        let rejected = self.store.read().await?.form_rejections(f.id).await?.into_iter().collect();
        let slug = f.definition.slug.clone();
        Ok(FormView {
            id: f.id,
            submissions: f.submissions,
            rejected,
            url: format!("/f/{slug}"),
            embed_snippet: format!(
                "<div data-leadgate-form=\"{slug}\"></div>\n<script src=\"{{LEADGATE_URL}}/f/{slug}/embed.js\" async></script>"
            ),
            definition: f.definition,
        })
    }

    /// A form for public display (hosted page, embed script), by slug.
    pub async fn public_form(&self, slug: &str) -> Result<StoredForm, AppError> {
        self.store.read().await?.form_by_slug(slug).await?.ok_or_else(|| AppError::not_found("form", slug))
    }

    /// Counts a submission refused before reading it (rate limit, in the HTTP layer).
    pub async fn count_spam(&self, form: uuid::Uuid, reason: SpamReason) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.count_form_rejection(form, reason.as_str()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Handles a submission: spam checks, then, in one transaction, the contact (found by e-mail
    /// and completed, or created), the event with every field, one consent record per purpose
    /// with its proof, and the visitor's earlier page views moved to the contact's timeline.
    #[allow(clippy::too_many_arguments)]
    pub async fn submit_form(
        &self,
        form: &StoredForm,
        values: &HashMap<String, String>,
        token: Option<&str>,
        honeypot: Option<&str>,
        visitor: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SubmitOutcome, AppError> {
        let def = &form.definition;
        let now = self.now();
        let spam = |reason| SubmitOutcome::Spam { reason, message: def.success_message.clone() };
        if honeypot.is_some_and(|h| !h.trim().is_empty()) {
            self.count_spam(form.id, SpamReason::Honeypot).await?;
            return Ok(spam(SpamReason::Honeypot));
        }
        let read = match token {
            Some(t) => self.read_form_token(&def.slug, t).await?,
            None => None,
        };
        let Some((rendered_at, signature)) = read.filter(|(t, _)| now - *t <= MAX_FORM_AGE) else {
            self.count_spam(form.id, SpamReason::BadToken).await?;
            return Ok(spam(SpamReason::BadToken));
        };
        if now - rendered_at < self.min_fill_time {
            self.count_spam(form.id, SpamReason::TooFast).await?;
            return Ok(spam(SpamReason::TooFast));
        }
        let submission = def.read(values)?;
        let mut draft = submission.contact;
        let custom = draft.custom.take();
        let new = draft.validate()?;
        let mut tx = self.store.begin().await?;
        let (_, custom) =
            crate::fields::with_custom_values(&mut tx, FieldEntity::Contact, Ok(()), custom).await?;
        let company_id = match &submission.company {
            Some(name) => Some(crate::import::company_id_by_name(&mut tx, name, now).await?),
            None => None,
        };
        let email = new.email.clone().ok_or_else(|| AppError::invalid("email", "is required"))?;
        if !tx.use_form_token(form.id, signature, now).await? {
            drop(tx);
            self.count_spam(form.id, SpamReason::TokenReused).await?;
            return Ok(spam(SpamReason::TokenReused));
        }
        let existing = tx.find_contact_by_email(&email).await?;
        if let Some(c) = &existing {
            let hour_ago = now - SignedDuration::from_hours(1);
            if tx.count_form_events_since(c.id, hour_ago).await? >= MAX_SUBMISSIONS_PER_EMAIL_PER_HOUR {
                drop(tx);
                self.count_spam(form.id, SpamReason::EmailLimit).await?;
                return Ok(spam(SpamReason::EmailLimit));
            }
        }
        if existing.is_none() && self.is_suppressed(&mut tx, &email, crate::privacy::WayIn::Person).await? {
            drop(tx);
            self.count_spam(form.id, SpamReason::Suppressed).await?;
            return Ok(spam(SpamReason::Suppressed));
        }
        let new_contact = existing.is_none();
        let contact_id = match existing {
            Some(mut c) => {
                // Anyone can type an e-mail: an existing contact's data is completed, never
                // changed.
                let before = c.clone();
                macro_rules! fill {
                    ($($f:ident),*) => {$( if c.$f.is_none() { c.$f = new.$f.clone(); } )*};
                }
                fill!(first_name, last_name, phone, job_title, country, city);
                if c.company_id.is_none() {
                    c.company_id = company_id;
                }
                leadgate_core::custom_field::fill_custom_values(&mut c.custom, custom);
                if c != before {
                    c.updated_at = now;
                    tx.update_contact(&c).await?;
                }
                c.id
            }
            None => {
                let mut n = new;
                n.company_id = company_id;
                n.custom = custom;
                // The first touch comes from the visitor's earlier page views (their UTM tags)
                // when it has some, else from the form's own event, recorded below.
                (n.source, n.campaign) = (None, None);
                tx.insert_contact(ContactId(new_uuid()), n, now).await?.id
            }
        };
        if let Some(v) = visitor.filter(|v| valid_visitor(v)) {
            let moved = tx.identify_visitor(v, contact_id, now).await?;
            crate::events::attribute(&mut tx, &moved, now).await?;
            if !moved.is_empty() {
                // Earlier page views joined the timeline out of order: score from the whole
                // timeline next time.
                tx.forget_ledger(contact_id).await?;
            }
        }
        let event = NewEvent {
            id: None,
            contact: ContactRef::Id(contact_id),
            kind: def.event_kind.clone(),
            occurred_at: now,
            occurred_at_given: false,
            source: Some("web form".into()),
            campaign: def.campaign.clone(),
            properties: {
                let mut p = submission.properties;
                p.insert("form".into(), serde_json::Value::String(def.slug.clone()));
                p
            },
        };
        crate::events::record(self, &mut tx, vec![event], now, |_, f| f.to_string()).await?;
        let history = if new_contact { Vec::new() } else { tx.consents_of(contact_id).await? };
        let mut consents = Vec::new();
        for (item, granted) in submission.consents {
            let current = current_consent(&history, item.purpose);
            match anonymous_consent_effect(new_contact, current, granted) {
                ConsentEffect::Record => consents.push(ConsentRecord {
                    id: new_uuid(),
                    contact_id,
                    purpose: item.purpose,
                    granted,
                    text: item.text,
                    version: item.version,
                    source: "form".into(),
                    form_id: Some(form.id),
                    ip: client.ip.clone(),
                    user_agent: client.user_agent.clone(),
                    at: now,
                }),
                ConsentEffect::Request => {
                    let request = ConsentRequest {
                        id: new_uuid(),
                        contact_id,
                        purpose: item.purpose,
                        granted,
                        text: item.text,
                        version: item.version,
                        form_id: Some(form.id),
                        ip: client.ip.clone(),
                        user_agent: client.user_agent.clone(),
                        requested_at: now,
                        status: ConsentRequestStatus::Pending,
                        resolved_at: None,
                    };
                    tx.insert_consent_request(&request).await?;
                }
                ConsentEffect::Nothing => {}
            }
        }
        tx.insert_consents(&consents).await?;
        tx.count_form_submission(form.id).await?;
        let announced = serde_json::json!({ "form_id": form.id, "slug": &form.definition.slug, "contact_id": contact_id });
        self.emit_in(&mut tx, "form.submitted", contact_id, announced, now).await?;
        let slug = &def.slug;
        self.enrol_on_trigger_in(
            &mut tx,
            contact_id,
            |t| matches!(t, leadgate_core::nurture::Trigger::FormSubmitted { form } if form.as_ref().is_none_or(|f| f == slug)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SubmitOutcome::Accepted { contact: contact_id, message: def.success_message.clone() })
    }

    /// Page views from the tracker: stored for the visitor until it identifies itself, on the
    /// contact's timeline (and scored) once it has.
    pub async fn collect(&self, batch: Collect) -> Result<usize, AppError> {
        if !valid_visitor(&batch.visitor) {
            return Err(AppError::invalid("visitor", "must be 8 to 64 letters, digits or `-`"));
        }
        if batch.views.len() > 100 {
            return Err(AppError::invalid("views", "at most 100 page views per batch"));
        }
        let now = self.now();
        let mut errors = ValidationErrors::new();
        let mut events = Vec::with_capacity(batch.views.len());
        for (i, v) in batch.views.iter().enumerate() {
            match page_view_event(v, now) {
                Ok(e) => events.push(e),
                Err(msg) => errors.add(format!("views[{i}]"), msg),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let identified = match batch.identify.as_deref() {
            Some(token) => self.contact_of_token(token).await?,
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let mut contact = tx.touch_visitor(&batch.visitor, now).await?;
        if let Some(c) = identified
            && tx.get_contact(c).await?.is_some()
        {
            let moved = tx.identify_visitor(&batch.visitor, c, now).await?;
            crate::events::attribute(&mut tx, &moved, now).await?;
            if !moved.is_empty() {
                tx.forget_ledger(c).await?;
            }
            contact = Some(c);
        }
        let n = events.len();
        match contact {
            Some(c) => {
                let new: Vec<NewEvent> = events
                    .into_iter()
                    .map(|(id, e)| NewEvent { id: Some(id), contact: ContactRef::Id(c), ..e })
                    .collect();
                if !new.is_empty() {
                    crate::events::record(self, &mut tx, new, now, |i, f| format!("views[{i}].{f}")).await?;
                } else {
                    self.rescore_in(&mut tx, &[c], now, &Default::default()).await?;
                }
            }
            None => {
                let stored: Vec<leadgate_core::event::Event> = events
                    .into_iter()
                    .map(|(id, e)| leadgate_core::event::Event {
                        id,
                        contact_id: ContactId(uuid::Uuid::nil()),
                        kind: e.kind,
                        occurred_at: e.occurred_at,
                        received_at: now,
                        source: e.source,
                        campaign: e.campaign,
                        properties: e.properties,
                    })
                    .collect();
                tx.insert_visitor_events(&batch.visitor, &stored).await?;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    pub async fn consents(
        &self,
        principal: &Principal,
        contact: ContactId,
    ) -> Result<Vec<ConsentRecord>, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        if s.get_contact(contact).await?.is_none() {
            return Err(AppError::not_found("contact", contact));
        }
        Ok(s.consents_of(contact).await?)
    }

    /// A contact's consent changes asked for anonymously, waiting for (or past) the person's
    /// confirmation.
    pub async fn consent_requests(
        &self,
        principal: &Principal,
        contact: ContactId,
    ) -> Result<Vec<ConsentRequest>, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        if s.get_contact(contact).await?.is_none() {
            return Err(AppError::not_found("contact", contact));
        }
        Ok(s.consent_requests_of(contact).await?)
    }

    /// Records a consent given or withdrawn through the API, with the caller's address as proof.
    pub async fn record_consent(
        &self,
        principal: &Principal,
        contact: ContactId,
        input: ConsentInput,
        client: &ClientInfo,
    ) -> Result<ConsentRecord, AppError> {
        principal.require(Permission::RecordConsent)?;
        let mut e = ValidationErrors::new();
        if input.text.trim().is_empty() || input.text.chars().count() > 2_000 || !is_plain_text(&input.text) {
            e.add("text", "must be the exact wording, 1 to 2000 characters");
        }
        if input.version.trim().is_empty() || input.version.chars().count() > 50 {
            e.add("version", "must be 1 to 50 characters");
        }
        e.into_result(())?;
        let record = ConsentRecord {
            id: new_uuid(),
            contact_id: contact,
            purpose: input.purpose,
            granted: input.granted,
            text: input.text,
            version: input.version,
            source: "api".into(),
            form_id: None,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            at: self.now(),
        };
        let mut tx = self.store.begin().await?;
        if tx.get_contact(contact).await?.is_none() {
            return Err(AppError::not_found("contact", contact));
        }
        record_consent_in(&mut tx, &record).await?;
        let detail = serde_json::json!({ "purpose": record.purpose, "granted": record.granted });
        self.audit_in(
            &mut tx,
            Some(principal),
            "consent.recorded",
            Some(contact.to_string()),
            Some(contact),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }
}

/// Custom fields a form writes must be declared.
async fn check_custom_targets(tx: &mut Session, def: &FormDefinition) -> Result<(), AppError> {
    let declared = tx.custom_fields(Some(FieldEntity::Contact)).await?;
    let mut e = ValidationErrors::new();
    for (i, f) in def.fields.iter().enumerate() {
        if let Some(key) = f.maps_to.as_deref().and_then(|m| m.strip_prefix("custom."))
            && !declared.iter().any(|d| d.key == key)
        {
            e.add(
                format!("fields[{i}].maps_to"),
                format!("custom field `{key}` is not declared; declare it first"),
            );
        }
    }
    e.into_result(())?;
    Ok(())
}

fn valid_visitor(v: &str) -> bool {
    (8..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A page view as an event: URL, title, referrer and UTM tags as properties; source and
/// campaign from the UTM tags (or the referrer's host).
fn page_view_event(v: &PageView, now: Timestamp) -> Result<(EventId, NewEvent), String> {
    let url = v.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2_000 {
        return Err("url must be an http(s) address of at most 2000 characters".into());
    }
    let given = match v.at {
        Some(ms) => Some(Timestamp::from_millisecond(ms).map_err(|_| "at is not a valid time".to_string())?),
        None => None,
    };
    // Browsers' clocks drift: a view "in the future" is taken as now (and, taken from the clock,
    // is not compared when the batch is sent again).
    let given = given.filter(|t| *t <= now);
    let occurred_at = given.unwrap_or(now);
    let mut properties = serde_json::Map::new();
    properties.insert("url".into(), url.into());
    let clip = |s: &str, n: usize| -> String { s.chars().filter(|c| !c.is_control()).take(n).collect() };
    if let Some(t) = v.title.as_deref().filter(|t| !t.trim().is_empty()) {
        properties.insert("title".into(), clip(t, 300).into());
    }
    let referrer = v.referrer.as_deref().filter(|r| !r.trim().is_empty()).map(|r| clip(r, 2_000));
    if let Some(r) = &referrer {
        properties.insert("referrer".into(), r.clone().into());
    }
    let query: HashMap<String, String> = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), clip(&percent_decode(v), 200)))
        .collect();
    for key in ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"] {
        if let Some(value) = query.get(key).filter(|v| !v.is_empty()) {
            properties.insert(key.into(), value.clone().into());
        }
    }
    let source = query.get("utm_source").filter(|s| !s.is_empty()).cloned().or_else(|| {
        referrer
            .as_deref()
            .and_then(|r| r.split("://").nth(1))
            .and_then(|rest| rest.split('/').next())
            .map(String::from)
    });
    let event = NewEvent {
        id: None,
        contact: ContactRef::Id(ContactId(uuid::Uuid::nil())),
        kind: EventKind::PageView,
        occurred_at,
        occurred_at_given: given.is_some(),
        source,
        campaign: query.get("utm_campaign").filter(|c| !c.is_empty()).cloned(),
        properties,
    };
    Ok((v.id.unwrap_or_else(|| EventId(new_uuid())), event))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_views_read_utm_tags_and_referrers() {
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let v = PageView {
            id: None,
            url: "https://www.example.com/pricing?utm_source=newsletter&utm_campaign=Black%20Friday#top"
                .into(),
            title: Some("Pricing".into()),
            referrer: Some("https://www.google.com/search?q=x".into()),
            at: Some(now.as_millisecond() + 60_000),
        };
        let (_, e) = page_view_event(&v, now).unwrap();
        assert_eq!(e.source.as_deref(), Some("newsletter"));
        assert_eq!(e.campaign.as_deref(), Some("Black Friday"));
        assert_eq!(e.occurred_at, now, "future clocks are clamped");
        let v = PageView {
            url: "https://x.example/a".into(),
            title: None,
            referrer: Some("https://www.google.com/".into()),
            id: None,
            at: None,
        };
        assert_eq!(page_view_event(&v, now).unwrap().1.source.as_deref(), Some("www.google.com"));
        let bad =
            PageView { url: "javascript:alert(1)".into(), title: None, referrer: None, id: None, at: None };
        assert!(page_view_event(&bad, now).is_err());
        assert_eq!(percent_decode("a%2Fb+c%zz%"), "a/b c%zz%");
    }
}
