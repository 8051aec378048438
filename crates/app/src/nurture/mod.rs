//! Nurture: templates and sequences, enrolment (by hand and on triggers), the evaluator that
//! moves enrolments through their steps, the sender that hands messages to SMTP exactly once,
//! tracking (clicks, opens, one-click unsubscription) and bounces.
//!
//! Exactly once: a step's message is reserved under its (enrolment, step) key in the
//! transaction that moves the enrolment past the step; a sender claims it (lease + fencing
//! token), marks it `sending` in a committed write, talks SMTP, then records the answer. A
//! message left `sending` by a sender that died becomes `ambiguous` and is never resent
//! (`store::nurture`).

mod inbound;
pub mod mailer;
pub mod render;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use leadgate_core::access::Permission;
use leadgate_core::contact::Contact;
use leadgate_core::event::{ContactRef, EventKind, NewEvent};
use leadgate_core::form::Purpose;
use leadgate_core::ids::{ContactId, EnrolmentId, MessageId, SequenceId, TaskId, TemplateId};
use leadgate_core::nurture::bounce::{self, BounceKind, SOFT_BOUNCE_LIMIT};
use leadgate_core::nurture::sending::{FrequencyCap, RATE_WINDOW, RateLimits, SendWindow};
use leadgate_core::nurture::sequence::{self, Behaviour, Effect, Outcome, Position, Step};
use leadgate_core::nurture::{
    ExitReason, MessageState, Reachability, SequenceState, Trigger, exit_reason, tracking,
};
use leadgate_core::scoring::ledger::Ledger;
use leadgate_core::scoring::{Temperature, temperature_at};
use leadgate_core::validation::ValidationErrors;
use leadgate_store::driver::Session;
use leadgate_store::nurture::{
    EnrolmentRecord, Fence, MessageRecord, NewMessage, PositionUpdate, RecipientRecord, SequenceRecord,
    StepFigures, TemplateRecord,
};
use serde::{Deserialize, Serialize};

use crate::capture::ClientInfo;
use crate::{App, AppError, Principal, new_uuid};

pub use mailer::{Handover, Mailer, MemoryMailer, SmtpMailer};

/// Enrolments evaluated per transaction.
const EVALUATE_BATCH: i64 = 500;
/// Attempts (temporary refusals, no connection) before a message is given up.
const MAX_ATTEMPTS: i64 = 8;
/// The most contacts one enrolment request may name.
pub const MAX_ENROL: usize = 10_000;

/// How this server sends e-mail (`serve --smtp-url …`).
pub struct MailSetup {
    pub mailer: Arc<dyn Mailer>,
    /// The address people's browsers reach (`--public-url`): tracked links, unsubscribe pages.
    pub public_url: String,
    /// The bounce address (`bounces@example.com`): each message's return path is
    /// `bounces+<message>@example.com` (VERP), so a bounce names its message.
    pub return_path: Option<String>,
    /// Messages handed to SMTP at once.
    pub parallel: usize,
    /// DKIM signing of the messages whose sender is in the key's domain.
    pub dkim: Option<render::Dkim>,
}

/// The workspace's sending rules and sender identity (`GET/PUT /api/v1/nurture/settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NurtureSettings {
    #[serde(default)]
    pub window: SendWindow,
    #[serde(default)]
    pub cap: FrequencyCap,
    /// How fast e-mail may leave, in all and per recipient domain (default: no limit).
    #[serde(default)]
    pub rate: RateLimits,
    /// The workspace's time zone (IANA name), for contacts without a `time_zone` field.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Record who clicked and opened (off: links go straight to their target, no pixel).
    #[serde(default = "yes")]
    pub tracking: bool,
    #[serde(default)]
    pub from_name: Option<String>,
    /// The sender address of every template that names none.
    #[serde(default)]
    pub from_address: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

impl Default for NurtureSettings {
    fn default() -> Self {
        NurtureSettings {
            window: SendWindow::default(),
            cap: FrequencyCap::default(),
            rate: RateLimits::default(),
            time_zone: utc(),
            tracking: true,
            from_name: None,
            from_address: None,
            reply_to: None,
        }
    }
}

impl NurtureSettings {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        self.window.validate("window", &mut e);
        self.cap.validate("cap", &mut e);
        self.rate.validate("rate", &mut e);
        if TimeZone::get(&self.time_zone).is_err() {
            e.add(
                "time_zone",
                format!("`{}` is not a time zone: use a name such as Europe/Paris", self.time_zone),
            );
        }
        check_addresses(&mut e, [("from_address", &self.from_address), ("reply_to", &self.reply_to)]);
        if let Some(n) = &self.from_name {
            e.check_text("from_name", n, 1, 100);
        }
        e.into_result(())
    }
}

/// A template as written in the UI or the API.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateDraft {
    pub name: String,
    /// `en` or `fr` (the footer's language). Default `en`.
    #[serde(default)]
    pub language: Option<String>,
    pub subject: String,
    pub html: String,
    /// The plain-text part; derived from the HTML when absent.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default)]
    pub from_address: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl TemplateDraft {
    fn validate(
        self,
        id: TemplateId,
        created_at: Timestamp,
        now: Timestamp,
    ) -> Result<TemplateRecord, ValidationErrors> {
        let mut e = ValidationErrors::default();
        e.check_text("name", &self.name, 1, 120);
        e.check_text("subject", &self.subject, 1, 300);
        if self.html.trim().is_empty() {
            e.add("html", "is required: write the message");
        } else if self.html.len() > 500_000 {
            e.add("html", "is longer than 500 000 characters; shorten it");
        }
        if let Some(what) = render::unsafe_markup(&self.html) {
            e.add("html", format!("contains {what}: mail readers do not run scripts; remove it"));
        }
        let language = self.language.unwrap_or_else(|| "en".into());
        if !matches!(language.as_str(), "en" | "fr") {
            e.add("language", "must be `en` or `fr`");
        }
        check_addresses(&mut e, [("from_address", &self.from_address), ("reply_to", &self.reply_to)]);
        let text =
            self.text.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| render::text_from_html(&self.html));
        for (part, message) in render::check(&self.subject, &self.html, &text) {
            e.add(part, format!("the template does not compile: {message}"));
        }
        e.into_result(TemplateRecord {
            id,
            name: self.name.trim().to_string(),
            language,
            subject: self.subject,
            html: self.html,
            text,
            from_name: self.from_name.filter(|s| !s.trim().is_empty()),
            from_address: self.from_address.filter(|s| !s.trim().is_empty()),
            reply_to: self.reply_to.filter(|s| !s.trim().is_empty()),
            created_at,
            updated_at: now,
        })
    }
}

/// A sequence as written in the UI or the API.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SequenceDraft {
    pub name: String,
    pub steps: Vec<Step>,
    /// The consent purpose contacts must have granted (checked again before each message).
    #[serde(default)]
    pub purpose: Option<Purpose>,
    #[serde(default)]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub reenrol: bool,
    /// Default `active`.
    #[serde(default)]
    pub state: Option<SequenceState>,
}

/// A sequence with its figures.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SequenceView {
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sequence: SequenceRecord,
    /// Per step that sends: reserved, sent, delivered, ambiguous, failed, bounced, skipped,
    /// opened (any and human), clicked, unsubscribed, and converted (the person became MQL or
    /// went further within `conversion_days` of the sending).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub steps_figures: Vec<StepFigures>,
    /// Enrolments by state (`active`, `completed`) and by exit reason.
    pub enrolments: std::collections::BTreeMap<String, i64>,
    /// The window a conversion is counted in, in days.
    pub conversion_days: u32,
}

/// What an enrolment request did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolReceipt {
    pub enrolled: u64,
    /// In the sequence already (or through it, when it does not re-enrol).
    pub already: u64,
    /// Not enrolled because they cannot receive its messages, by reason.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Ids that name no contact the caller may read.
    pub unknown: u64,
}

/// A contact's enrolments and messages.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactNurture {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub enrolments: Vec<EnrolmentView>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub messages: Vec<MessageRecord>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub recipient: RecipientRecord,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnrolmentView {
    #[serde(flatten)]
    pub enrolment: EnrolmentRecord,
    pub sequence_name: String,
}

/// What a received bounce did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BounceReceipt {
    /// `applied` (matched to a message and counted), `unsubscribed` (a mailto unsubscription),
    /// `replied` (the person answered one of our messages: out of its sequences),
    /// `not_a_bounce` (a delay notice or a receipt about one of ours), `unmatched` (kept for
    /// review).
    pub outcome: String,
    pub kind: Option<BounceKind>,
    pub message: Option<MessageId>,
    pub status: Option<String>,
}

/// A person's unsubscription page.
#[derive(Debug, Clone)]
pub struct Unsubscription {
    pub language: String,
    pub unsubscribed: bool,
    /// The preferences page's token (`/p/{token}`).
    pub preferences: String,
}

fn tz_of(contact: &Contact, settings: &NurtureSettings) -> TimeZone {
    contact
        .custom
        .get("time_zone")
        .and_then(|v| v.as_str())
        .and_then(|name| TimeZone::get(name).ok())
        .or_else(|| TimeZone::get(&settings.time_zone).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Template fields: the contact's, its company's name, and its custom fields (also at the top
/// level when they do not shadow a built-in one).
fn context(contact: &Contact, company: Option<&str>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in &contact.custom {
        if !v.is_null() {
            map.insert(k.clone(), v.clone());
        }
    }
    // A missing or empty field is left undefined (not null, which renders "none"), so
    // `default(…)` supplies the fallback.
    let mut put = |k: &str, v: Option<String>| match v.filter(|v| !v.trim().is_empty()) {
        Some(v) => {
            map.insert(k.to_string(), serde_json::Value::String(v));
        }
        None => {
            map.remove(k);
        }
    };
    put("first_name", contact.first_name.clone());
    put("last_name", contact.last_name.clone());
    put("email", contact.email.as_ref().map(|e| e.to_string()));
    put("job_title", contact.job_title.clone());
    put("city", contact.city.clone());
    put("country", contact.country.clone());
    put("company", company.map(str::to_string));
    map.insert("custom".into(), serde_json::Value::Object(contact.custom.clone()));
    serde_json::Value::Object(map)
}

fn hex_id(id: MessageId) -> String {
    id.as_uuid().simple().to_string()
}

fn parse_hex_id(s: &str) -> Option<MessageId> {
    (s.len() == 32).then(|| s.parse::<uuid::Uuid>().ok().map(MessageId)).flatten()
}

fn backoff(attempt: i64) -> SignedDuration {
    SignedDuration::from_mins(5 * (1 << attempt.clamp(0, 6)))
}

impl App {
    /// Sends nurture e-mail through `setup` (without it, messages are reserved but wait).
    pub fn with_mail(mut self, setup: MailSetup) -> App {
        self.mail = Some(Arc::new(setup));
        self
    }

    async fn nurture_settings_in(&self, s: &mut Session) -> Result<NurtureSettings, AppError> {
        match s.setting("nurture").await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("nurture settings: {e}")))
            }
            None => Ok(NurtureSettings::default()),
        }
    }

    pub async fn nurture_settings(&self, principal: &Principal) -> Result<NurtureSettings, AppError> {
        principal.require(Permission::ManageNurture)?;
        self.nurture_settings_in(&mut self.store.read().await?).await
    }

    pub async fn put_nurture_settings(
        &self,
        principal: &Principal,
        settings: NurtureSettings,
    ) -> Result<NurtureSettings, AppError> {
        principal.require(Permission::ManageNurture)?;
        settings.validate()?;
        let mut tx = self.store.begin().await?;
        let json = serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.to_string()))?;
        tx.put_setting("nurture", &json).await?;
        // Waits computed under the old window or cap are computed again under the new ones.
        tx.wake_all_enrolments(self.now()).await?;
        self.audit_in(
            &mut tx,
            Some(principal),
            "nurture.settings",
            None,
            None,
            serde_json::to_value(&settings).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(settings)
    }

    pub async fn create_template(
        &self,
        principal: &Principal,
        draft: TemplateDraft,
    ) -> Result<TemplateRecord, AppError> {
        principal.require(Permission::ManageNurture)?;
        let now = self.now();
        let t = draft.validate(TemplateId(new_uuid()), now, now)?;
        let mut tx = self.store.begin().await?;
        tx.insert_template(&t).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn update_template(
        &self,
        principal: &Principal,
        id: TemplateId,
        draft: TemplateDraft,
    ) -> Result<TemplateRecord, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mut tx = self.store.begin().await?;
        let old = tx.get_template(id).await?.ok_or_else(|| AppError::not_found("template", id))?;
        let t = draft.validate(id, old.created_at, self.now())?;
        tx.update_template(&t).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn templates(&self, principal: &Principal) -> Result<Vec<TemplateRecord>, AppError> {
        principal.require(Permission::ManageNurture)?;
        Ok(self.store.read().await?.templates().await?)
    }

    pub async fn template(&self, principal: &Principal, id: TemplateId) -> Result<TemplateRecord, AppError> {
        principal.require(Permission::ManageNurture)?;
        self.store.read().await?.get_template(id).await?.ok_or_else(|| AppError::not_found("template", id))
    }

    /// The template rendered for a real contact (nothing is sent, links are not tracked).
    pub async fn preview_template(
        &self,
        principal: &Principal,
        id: TemplateId,
        contact: ContactId,
    ) -> Result<render::Rendered, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        let t = s.get_template(id).await?.ok_or_else(|| AppError::not_found("template", id))?;
        let c = s.get_contact(contact).await?.ok_or_else(|| AppError::not_found("contact", contact))?;
        let company = self.company_name_in(&mut s, &c).await?;
        render::render(&t.subject, &t.html, &t.text, &context(&c, company.as_deref()))
            .map_err(|(part, m)| AppError::invalid(part, format!("does not render for this contact: {m}")))
    }

    /// Sends the template once to `to` (rendered for `contact`, or with empty fields): a test
    /// send, not recorded as a message.
    pub async fn test_send(
        &self,
        principal: &Principal,
        id: TemplateId,
        to: &str,
        contact: Option<ContactId>,
    ) -> Result<String, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mail = self.mail.clone().ok_or_else(|| {
            AppError::StateConflict(
                "this server sends no e-mail: start it with --smtp-url (see `leadgate serve --help`)".into(),
            )
        })?;
        let to_box: lettre::message::Mailbox =
            to.parse().map_err(|_| AppError::invalid("to", format!("`{to}` is not an e-mail address")))?;
        let mut s = self.store.read().await?;
        let t = s.get_template(id).await?.ok_or_else(|| AppError::not_found("template", id))?;
        let settings = self.nurture_settings_in(&mut s).await?;
        let ctx = match contact {
            Some(c) => {
                self.require_read(&mut s, principal, c).await?;
                let c = s.get_contact(c).await?.ok_or_else(|| AppError::not_found("contact", c))?;
                let company = self.company_name_in(&mut s, &c).await?;
                context(&c, company.as_deref())
            }
            None => serde_json::json!({}),
        };
        drop(s);
        let mut parts =
            render::render(&t.subject, &t.html, &t.text, &ctx).map_err(|(p, m)| AppError::invalid(p, m))?;
        parts.subject = format!("[TEST] {}", parts.subject);
        let from = sender(&t, &settings).map_err(|m| AppError::invalid("from_address", m))?;
        let message_id = format!("<lg.test.{}@{}>", new_uuid().simple(), from.email.domain());
        let unsubscribe = format!("<{}/e/u/test>", mail.public_url);
        let raw = render::build(
            &parts,
            render::Envelope {
                from: from.clone(),
                reply_to: reply_to(&t, &settings),
                to: to_box.clone(),
                message_id,
                list_unsubscribe: &unsubscribe,
                token_header: "test",
                dkim: mail.dkim.as_ref(),
            },
        )
        .map_err(AppError::Internal)?;
        match mail.mailer.send(from.email.as_ref(), to_box.email.as_ref(), &raw).await {
            Handover::Accepted(reply) => Ok(reply),
            Handover::Refused { code, message, .. } => Err(AppError::StateConflict(format!(
                "the SMTP server refused the test message: {code} {message}"
            ))),
            Handover::NotConnected(e) | Handover::Broken(e) => {
                Err(AppError::StateConflict(format!("the SMTP server could not be reached: {e}")))
            }
        }
    }

    async fn company_name_in(&self, s: &mut Session, c: &Contact) -> Result<Option<String>, AppError> {
        Ok(match c.company_id {
            Some(id) => s.get_company(id).await?.map(|co| co.name),
            None => None,
        })
    }

    fn check_sequence(
        &self,
        draft: &SequenceDraft,
        templates: &[TemplateRecord],
    ) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        e.check_text("name", &draft.name, 1, 120);
        if let Err(steps) = sequence::validate(&draft.steps, &|t| templates.iter().any(|x| x.id == t)) {
            e.errors.extend(steps.errors);
        }
        if let Some(trigger) = &draft.trigger {
            trigger.validate("trigger", &mut e);
        }
        e.into_result(())
    }

    pub async fn create_sequence(
        &self,
        principal: &Principal,
        draft: SequenceDraft,
    ) -> Result<SequenceView, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mut tx = self.store.begin().await?;
        self.check_sequence(&draft, &tx.templates().await?)?;
        let now = self.now();
        let record = SequenceRecord {
            id: SequenceId(new_uuid()),
            name: draft.name.trim().to_string(),
            steps: draft.steps,
            purpose: draft.purpose,
            trigger: draft.trigger,
            reenrol: draft.reenrol,
            state: draft.state.unwrap_or(SequenceState::Active),
            created_at: now,
            updated_at: now,
        };
        tx.insert_sequence(&record).await?;
        tx.commit().await?;
        self.sequence(principal, record.id, None).await
    }

    /// Replaces a sequence's definition. Enrolments keep their step index; messages already
    /// reserved keep their step key, so no step sends twice after an edit. Archiving ends every
    /// enrolment.
    pub async fn update_sequence(
        &self,
        principal: &Principal,
        id: SequenceId,
        draft: SequenceDraft,
    ) -> Result<SequenceView, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mut tx = self.store.begin().await?;
        let old = tx.get_sequence(id).await?.ok_or_else(|| AppError::not_found("sequence", id))?;
        self.check_sequence(&draft, &tx.templates().await?)?;
        let now = self.now();
        let record = SequenceRecord {
            name: draft.name.trim().to_string(),
            steps: draft.steps,
            purpose: draft.purpose,
            trigger: draft.trigger,
            reenrol: draft.reenrol,
            state: draft.state.unwrap_or(old.state),
            updated_at: now,
            ..old
        };
        tx.update_sequence(&record).await?;
        if record.state == SequenceState::Archived {
            tx.exit_sequence(id, now).await?;
        }
        tx.commit().await?;
        self.sequence(principal, id, None).await
    }

    pub async fn sequences(&self, principal: &Principal) -> Result<Vec<SequenceRecord>, AppError> {
        principal.require(Permission::ManageNurture)?;
        Ok(self.store.read().await?.sequences().await?)
    }

    /// A sequence with its figures; a message counts as converted when its person became MQL
    /// (or went further) within `conversion_days` of its sending (default 30, at most 365).
    pub async fn sequence(
        &self,
        principal: &Principal,
        id: SequenceId,
        conversion_days: Option<u32>,
    ) -> Result<SequenceView, AppError> {
        principal.require(Permission::ManageNurture)?;
        let conversion_days = conversion_days.unwrap_or(30);
        if !(1..=365).contains(&conversion_days) {
            let mut e = ValidationErrors::default();
            e.add("conversion_days", "must be from 1 to 365 days");
            return Err(e.into());
        }
        let mut s = self.store.read().await?;
        let sequence = s.get_sequence(id).await?.ok_or_else(|| AppError::not_found("sequence", id))?;
        let within = SignedDuration::from_hours(24 * conversion_days as i64);
        let steps_figures = s.step_figures(id, within).await?;
        let enrolments = s.enrolment_counts(id).await?.into_iter().collect();
        Ok(SequenceView { sequence, steps_figures, enrolments, conversion_days })
    }

    /// Whether `contact` can receive messages needing `purpose`, as recorded now.
    async fn reachability_in(
        &self,
        s: &mut Session,
        contact: ContactId,
        purpose: Option<Purpose>,
    ) -> Result<Reachability, AppError> {
        let consent_granted = match purpose {
            None => true,
            Some(p) => s.latest_consents(&[contact], p).await?.get(&contact) == Some(&true),
        };
        Ok(reachability(consent_granted, &s.recipient(contact).await?))
    }

    /// Enrols contacts by hand. Contacts that cannot receive the sequence's messages (no consent
    /// for its purpose, do-not-email, unsubscribed, bounced, with sales) are refused and counted.
    pub async fn enrol(
        &self,
        principal: &Principal,
        sequence: SequenceId,
        contacts: &[ContactId],
    ) -> Result<EnrolReceipt, AppError> {
        principal.require(Permission::ManageNurture)?;
        if contacts.len() > MAX_ENROL {
            return Err(AppError::invalid("contacts", format!("at most {MAX_ENROL} contacts per request")));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let seq =
            tx.get_sequence(sequence).await?.ok_or_else(|| AppError::not_found("sequence", sequence))?;
        if seq.state != SequenceState::Active {
            return Err(AppError::StateConflict(format!(
                "the sequence is {}: activate it before enrolling contacts",
                seq.state.as_str()
            )));
        }
        let by = format!("user:{}", principal.user.id);
        let mut receipt = EnrolReceipt::default();
        for &id in contacts {
            if self.require_read(&mut tx, principal, id).await.is_err() {
                receipt.unknown += 1;
                continue;
            }
            match self.enrol_in(&mut tx, &seq, id, &by, now).await? {
                Enrolled::Yes => receipt.enrolled += 1,
                Enrolled::Already => receipt.already += 1,
                Enrolled::Refused(reason) => {
                    *receipt.refused.entry(reason.as_str().to_string()).or_default() += 1
                }
                Enrolled::Gone => receipt.unknown += 1,
            }
        }
        let detail = serde_json::json!({ "sequence": sequence, "enrolled": receipt.enrolled });
        self.audit_in(&mut tx, Some(principal), "nurture.enrolled", Some(sequence.to_string()), None, detail)
            .await?;
        tx.commit().await?;
        Ok(receipt)
    }

    async fn enrol_in(
        &self,
        tx: &mut Session,
        seq: &SequenceRecord,
        id: ContactId,
        by: &str,
        now: Timestamp,
    ) -> Result<Enrolled, AppError> {
        let Some(contact) = tx.get_contact(id).await? else { return Ok(Enrolled::Gone) };
        let reach = self.reachability_in(tx, id, seq.purpose).await?;
        if let Some(reason) = exit_reason(&contact, reach) {
            return Ok(Enrolled::Refused(reason));
        }
        Ok(match tx.enrol(EnrolmentId(new_uuid()), seq, id, by, now).await? {
            Some(_) => Enrolled::Yes,
            None => Enrolled::Already,
        })
    }

    /// Enrols `contact` in every active sequence whose trigger `fires`, inside the caller's
    /// transaction (the rejection, the form submission that fired it).
    pub(crate) async fn enrol_on_trigger_in(
        &self,
        tx: &mut Session,
        contact: ContactId,
        fires: impl Fn(&Trigger) -> bool,
        now: Timestamp,
    ) -> Result<u64, AppError> {
        let mut n = 0;
        for seq in tx.sequences().await? {
            let Some(trigger) = &seq.trigger else { continue };
            if seq.state != SequenceState::Active || !fires(trigger) {
                continue;
            }
            let by = format!(
                "trigger:{}",
                serde_json::to_value(trigger)
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_string))
                    .unwrap_or_default()
            );
            if let Enrolled::Yes = self.enrol_in(tx, &seq, contact, &by, now).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Takes a contact out of a sequence by hand.
    pub async fn remove_enrolment(
        &self,
        principal: &Principal,
        id: EnrolmentId,
    ) -> Result<EnrolmentRecord, AppError> {
        principal.require(Permission::ManageNurture)?;
        let mut tx = self.store.begin().await?;
        let e = tx.get_enrolment(id).await?.ok_or_else(|| AppError::not_found("enrolment", id))?;
        let ended =
            tx.exit_enrolments(e.contact_id, Some(e.sequence_id), ExitReason::Removed, self.now()).await?;
        tx.commit().await?;
        // Already ended: it stays as it was.
        Ok(ended.into_iter().find(|x| x.id == id).unwrap_or(e))
    }

    /// A contact's enrolments and every message sent or reserved for it.
    pub async fn contact_nurture(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<ContactNurture, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        let names: HashMap<SequenceId, String> =
            s.sequences().await?.into_iter().map(|q| (q.id, q.name)).collect();
        let enrolments = s
            .enrolments_of(id)
            .await?
            .into_iter()
            .map(|e| EnrolmentView {
                sequence_name: names.get(&e.sequence_id).cloned().unwrap_or_default(),
                enrolment: e,
            })
            .collect();
        Ok(ContactNurture {
            enrolments,
            messages: s.messages_of(id).await?,
            recipient: s.recipient(id).await?,
        })
    }

    /// Messages in a state (`ambiguous` ones for the admin to check at the mail server).
    pub async fn messages_in_state(
        &self,
        principal: &Principal,
        state: MessageState,
    ) -> Result<Vec<MessageRecord>, AppError> {
        principal.require(Permission::ManageNurture)?;
        Ok(self.store.read().await?.messages_in(state, 1000).await?)
    }

    /// One pass of nurture work between jobs: sweep messages whose sender died mid-send to
    /// `ambiguous`, evaluate due enrolments, send due messages. Returns the work done.
    pub async fn run_nurture(&self) -> Result<usize, AppError> {
        let now = self.now();
        let swept = {
            let mut tx = self.store.begin().await?;
            let n = tx.sweep_ambiguous(now).await?;
            tx.commit().await?;
            n
        };
        if swept > 0 {
            tracing::warn!(
                messages = swept,
                "messages left mid-send by a stopped sender are ambiguous: not resent"
            );
        }
        let entered = self.enrol_on_stage_changes().await? + self.enrol_cold_leads().await?;
        let evaluated = self.evaluate_enrolments().await? + entered;
        let sent = self.send_due().await?;
        Ok(evaluated + sent)
    }

    /// Enrols contacts that entered a stage some active sequence is triggered by, reading the
    /// lifecycle history since the last pass (its checkpoint in `settings`, moved forward with a
    /// compare-and-set, so two servers do not read the same moves). The first pass starts now:
    /// a new trigger does not enrol the past.
    async fn enrol_on_stage_changes(&self) -> Result<usize, AppError> {
        const KEY: &str = "nurture_stage_checkpoint";
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(seen) = tx.setting(KEY).await? else {
            tx.put_setting(KEY, &now.as_microsecond().to_string()).await?;
            tx.commit().await?;
            return Ok(0);
        };
        let since = seen.parse::<i64>().ok().and_then(|m| Timestamp::from_microsecond(m).ok()).unwrap_or(now);
        let active: Vec<SequenceRecord> =
            tx.sequences().await?.into_iter().filter(|s| s.state == SequenceState::Active).collect();
        let wanted: Vec<(&SequenceRecord, leadgate_core::lifecycle::LifecycleStage)> = active
            .iter()
            .filter_map(|s| match &s.trigger {
                Some(Trigger::EnteredStage { stage }) => Some((s, *stage)),
                _ => None,
            })
            .collect();
        let moves = if active.is_empty() { Vec::new() } else { tx.stage_entries(since, now, 1000).await? };
        // A contact that moved is looked at again now, not at its next step: one that became
        // an MQL leaves its sequences at once, a branch on its stage sees the new one.
        let moved: Vec<ContactId> = moves.iter().map(|m| m.0).collect();
        tx.wake_enrolments_of(&moved, now).await?;
        // Up to the last move read (a full page), else up to now.
        let upto = if moves.len() == 1000 { moves.last().map_or(now, |m| m.2) } else { now };
        let mut n = 0;
        for (contact, stage, _) in &moves {
            for (seq, _) in wanted.iter().filter(|(_, s)| s == stage) {
                if let Enrolled::Yes =
                    self.enrol_in(&mut tx, seq, *contact, "trigger:entered_stage", now).await?
                {
                    n += 1;
                }
            }
        }
        if !tx.compare_and_set_setting(KEY, &seen, &upto.as_microsecond().to_string()).await? {
            // Another server read these moves meanwhile: its enrolments stand, ours are dropped.
            return Ok(0);
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Enrols leads cold for as long as a sequence's [`Trigger::ColdFor`] says. Each such
    /// sequence sweeps the contacts a page at a time behind a cursor (in `settings`, moved with
    /// a compare-and-set so two servers do not enrol the same page), then rests an hour.
    async fn enrol_cold_leads(&self) -> Result<usize, AppError> {
        const PAGE: i64 = 500;
        let now = self.now();
        let cold_sequences = |all: Vec<SequenceRecord>| -> Vec<(SequenceRecord, u32)> {
            all.into_iter()
                .filter(|s| s.state == SequenceState::Active)
                .filter_map(|s| match s.trigger {
                    Some(Trigger::ColdFor { days }) => Some((s.clone(), days)),
                    _ => None,
                })
                .collect()
        };
        // First on a reader: most passes find no such sequence and take no write lock. Then again
        // in the transaction, which enrols only in what is still active.
        if cold_sequences(self.store.read().await?.sequences().await?).is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        let cold = cold_sequences(tx.sequences().await?);
        let rules = self.active_rules(&mut tx).await?.rules;
        let mut n = 0;
        for (seq, days) in cold {
            let key = format!("nurture_cold_sweep:{}", seq.id);
            let seen = match tx.setting(&key).await? {
                Some(seen) => seen,
                None => {
                    tx.put_setting(&key, "").await?;
                    String::new()
                }
            };
            let sweep = ColdSweep::parse(&seen);
            if sweep.after.is_none() && sweep.rest_until.is_some_and(|t| now < t) {
                continue;
            }
            let quiet_since = now - SignedDuration::from_hours(24 * days as i64);
            let page =
                tx.cold_candidates(seq.id, &Trigger::COLD_STAGES, quiet_since, sweep.after, PAGE).await?;
            for c in &page {
                let cold_now = match c.ledger.as_deref().and_then(Ledger::from_bytes) {
                    Some(ledger) => temperature_at(&rules, &ledger, now) == Temperature::Cold,
                    // No ledger kept: the stored temperature, which only cools without events.
                    None => c.temperature.is_none_or(|t| t == Temperature::Cold),
                };
                if cold_now
                    && let Enrolled::Yes =
                        self.enrol_in(&mut tx, &seq, c.contact, "trigger:cold_for", now).await?
                {
                    n += 1;
                }
            }
            let next = match page.last() {
                Some(last) if page.len() as i64 == PAGE => {
                    ColdSweep { after: Some(last.contact), rest_until: sweep.rest_until }
                }
                _ => ColdSweep { after: None, rest_until: Some(now + SignedDuration::from_hours(1)) },
            };
            if !tx.compare_and_set_setting(&key, &seen, &next.to_string()).await? {
                // Another server swept this page meanwhile: its enrolments stand, ours are dropped.
                return Ok(0);
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Evaluates a batch of due enrolments: exits, effects (messages reserved, fields set, tasks),
    /// next wake-up. What the rules need is read for the whole batch at once (contacts, consents,
    /// recipients, recent sends), and reservations and new positions are written in a few
    /// statements. Returns how many were evaluated.
    pub async fn evaluate_enrolments(&self) -> Result<usize, AppError> {
        let now = self.now();
        let lease = now + self.job_lease;
        let due = {
            let mut tx = self.store.begin().await?;
            let due = tx.claim_enrolments(now, lease, EVALUATE_BATCH).await?;
            tx.commit().await?;
            due
        };
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        let settings = self.nurture_settings_in(&mut tx).await?;
        let mut sequences: HashMap<SequenceId, Option<SequenceRecord>> = HashMap::new();
        for e in &due {
            if let std::collections::hash_map::Entry::Vacant(slot) = sequences.entry(e.sequence_id) {
                slot.insert(tx.get_sequence(e.sequence_id).await?);
            }
        }
        let mut ids: Vec<ContactId> = due.iter().map(|e| e.contact_id).collect();
        ids.sort();
        ids.dedup();
        let mut contacts: HashMap<ContactId, Contact> =
            tx.get_contacts(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut consents: HashMap<Purpose, HashMap<ContactId, bool>> = HashMap::new();
        for purpose in sequences.values().flatten().filter_map(|q| q.purpose) {
            if !consents.contains_key(&purpose) {
                consents.insert(purpose, tx.latest_consents(&ids, purpose).await?);
            }
        }
        let recipients = tx.recipients(&ids).await?;
        let period = SignedDuration::from_hours(settings.cap.hours as i64);
        let mut recent = tx.recent_sends_of(&ids, now - period).await?;
        let mut reservations = Vec::new();
        let mut moves = Vec::new();
        for e in &due {
            let Some(Some(seq)) = sequences.get(&e.sequence_id) else { continue };
            let Some(contact) = contacts.get_mut(&e.contact_id) else { continue };
            let consent_granted =
                seq.purpose.is_none_or(|p| consents.get(&p).and_then(|c| c.get(&contact.id)) == Some(&true));
            let reach = reachability(
                consent_granted,
                recipients.get(&contact.id).unwrap_or(&RecipientRecord::default()),
            );
            if let Some(reason) = exit_reason(contact, reach) {
                let end = PositionUpdate {
                    id: e.id,
                    lease,
                    step: e.step,
                    since: e.step_since,
                    wake: None,
                    reason: Some(reason),
                };
                moves.push(end);
                continue;
            }
            let tz = tz_of(contact, &settings);
            let sends = recent.entry(contact.id).or_default();
            let send_opens = settings.window.next_open(settings.cap.opens_at(sends, now), &tz);
            let (needs_clicks, needs_events) = behaviour_needed(&seq.steps);
            let behaviour = Behaviour {
                clicks: if needs_clicks { tx.enrolment_clicks(e.id).await? } else { Vec::new() },
                events: if needs_events {
                    tx.events_of_contact(contact.id)
                        .await?
                        .into_iter()
                        .filter(|ev| ev.occurred_at >= e.enrolled_at)
                        .map(|ev| {
                            let text =
                                |k: &str| ev.properties.get(k).and_then(|v| v.as_str()).map(str::to_string);
                            (ev.kind.clone(), text("url"), text("form"), ev.occurred_at)
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            };
            let position = Position { step: e.step.max(0) as usize, since: e.step_since };
            let (effects, outcome) =
                sequence::advance(&seq.steps, position, contact, &behaviour, now, send_opens, &tz);
            let mut changed = false;
            for effect in effects {
                match effect {
                    Effect::Send { step, template } => {
                        // Counted at once: a second sequence in this batch sees this message.
                        sends.push(now);
                        reservations.push(NewMessage {
                            id: MessageId(new_uuid()),
                            enrolment_id: e.id,
                            step_key: step,
                            contact_id: contact.id,
                            sequence_id: seq.id,
                            template_id: template,
                            send_after: now,
                            domain: contact.email.as_ref().map(|a| a.domain()),
                        });
                    }
                    Effect::SetField { field, value } => {
                        contact.custom.insert(field, value);
                        changed = true;
                    }
                    Effect::NotifyOwner { task } => {
                        self.notify_owner_in(&mut tx, contact.id, task, now).await?
                    }
                }
            }
            if changed {
                contact.updated_at = now;
                tx.update_contact(contact).await?;
            }
            moves.push(match outcome {
                Outcome::Waiting { position, wake } => PositionUpdate {
                    id: e.id,
                    lease,
                    step: position.step as i64,
                    since: position.since,
                    wake: Some(wake),
                    reason: None,
                },
                Outcome::Completed => PositionUpdate {
                    id: e.id,
                    lease,
                    step: seq.steps.len() as i64,
                    since: now,
                    wake: None,
                    reason: None,
                },
            });
        }
        tx.reserve_messages(&reservations, now).await?;
        tx.save_positions(&moves, now).await?;
        tx.commit().await?;
        Ok(due.len())
    }

    /// A task for the contact's owner (the rep of its open assignment); nobody to tell without one.
    async fn notify_owner_in(
        &self,
        tx: &mut Session,
        contact: ContactId,
        task: String,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let Some(rep) = tx.open_assignment(contact).await?.and_then(|a| a.rep_id) else {
            tracing::info!(%contact, "a sequence's notify step found no owner: nobody to tell");
            return Ok(());
        };
        let t = leadgate_store::handoff::TaskRecord {
            id: TaskId(new_uuid()),
            contact_id: contact,
            assignee_id: rep,
            kind: "follow_up".into(),
            title: task,
            due_at: now + SignedDuration::from_hours(24),
            created_at: now,
            created_by: None,
            done_at: None,
            notified_at: None,
            purpose: None,
        };
        tx.insert_task(&t).await?;
        Ok(())
    }

    /// Sends due messages, several at once. Returns how many were handled.
    pub async fn send_due(&self) -> Result<usize, AppError> {
        let Some(mail) = self.mail.clone() else { return Ok(0) };
        let now = self.now();
        let sender = self.sender_name.clone();
        let claimed = self.claim_due(now, &sender, (mail.parallel * 8) as i64).await?;
        let n = claimed.len();
        let mut queue = claimed.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < mail.parallel.max(1) {
                let Some(m) = queue.next() else { break };
                let (app, mail) = (self.clone(), mail.clone());
                running.spawn(async move { app.send_one(&mail, m).await });
            }
            match running.join_next().await {
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => tracing::error!(error = %e, "a message could not be sent"),
                Some(Err(e)) => tracing::error!(error = %e, "a sender task failed"),
                None => break,
            }
        }
        Ok(n)
    }

    /// Claims up to `batch` due messages for `sender`, within the workspace's rate limits when
    /// it has some: claimers take turns, count what every server claimed in the last minute,
    /// and postpone the messages of a domain at its limit by a minute so the others go past.
    async fn claim_due(
        &self,
        now: Timestamp,
        sender: &str,
        batch: i64,
    ) -> Result<Vec<MessageRecord>, AppError> {
        let lease = now + self.job_lease;
        let mut tx = self.store.begin().await?;
        let rate = self.nurture_settings_in(&mut tx).await?.rate;
        let claimed = if rate.any() {
            tx.serialise_claims().await?;
            let (used, by_domain) = tx.claims_since(now - RATE_WINDOW).await?;
            // Read past the batch: the head of the queue may be one busy domain.
            let due = tx.due_messages(now, batch * 8).await?;
            let admission = rate.admit(used, &by_domain, due.iter().map(|(id, d)| (*id, d.as_deref())));
            tx.postpone_messages(&admission.held, now + RATE_WINDOW).await?;
            let ids: Vec<MessageId> = admission.admitted.into_iter().take(batch as usize).collect();
            tx.claim_messages_by_id(&ids, now, sender, lease).await?
        } else {
            tx.claim_messages(now, sender, lease, batch).await?
        };
        tx.commit().await?;
        Ok(claimed)
    }

    async fn send_one(&self, mail: &MailSetup, m: MessageRecord) -> Result<(), AppError> {
        let fence = Fence { message: m.id, token: m.fence };
        let now = self.now();
        // Render from a read (signing the links may need a write of its own), then check and
        // mark `sending` in one transaction: an unsubscription committed before it stops the
        // message; one committed after it comes too late for this one.
        let mut s = self.store.read().await?;
        let Some(contact) = s.get_contact(m.contact_id).await? else { return Ok(()) };
        let Some(seq) = s.get_sequence(m.sequence_id).await? else { return Ok(()) };
        let settings = self.nurture_settings_in(&mut s).await?;
        let template = s.get_template(m.template_id).await?;
        let company = self.company_name_in(&mut s, &contact).await?;
        drop(s);
        let composed = match &template {
            Some(template) => {
                self.compose(mail, &settings, template, &contact, company.as_deref(), m.id).await
            }
            None => Err("the template was deleted".to_string()),
        };
        let mut tx = self.store.begin().await?;
        let Some(contact) = tx.get_contact(m.contact_id).await? else { return Ok(()) };
        let reach = self.reachability_in(&mut tx, contact.id, seq.purpose).await?;
        if let Some(reason) = exit_reason(&contact, reach) {
            if tx.mark_skipped(fence, reason.as_str()).await? {
                tx.exit_enrolments(contact.id, Some(seq.id), reason, now).await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        let (to, raw, return_path) = match composed {
            Ok(x) => x,
            Err(problem) => {
                tx.mark_failed(fence, now, &problem, None).await?;
                tx.commit().await?;
                return Ok(());
            }
        };
        if !tx.mark_sending(fence, now, now + self.job_lease).await? {
            return Ok(());
        }
        tx.commit().await?;
        count_email("attempted");
        let handover = mail.mailer.send(&return_path, &to, &raw).await;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match handover {
            Handover::Accepted(reply) => {
                if tx.mark_sent(fence, now, &reply).await? {
                    tx.record_delivered(contact.id, now).await?;
                    let data = serde_json::json!({ "message_id": m.id, "sequence_id": m.sequence_id, "step": m.step_key });
                    self.emit_in(&mut tx, "email.sent", contact.id, data, now).await?;
                    count_email("sent");
                }
            }
            Handover::Refused { code, enhanced, message } => {
                let error = format!("{code} {message}");
                match bounce::classify_reply(code, enhanced.as_deref()) {
                    Some(BounceKind::Soft) if m.attempts + 1 < MAX_ATTEMPTS => {
                        tx.mark_retry(fence, now + backoff(m.attempts), &error).await?;
                    }
                    kind => {
                        let kind = kind.unwrap_or(BounceKind::Hard);
                        if tx.mark_failed(fence, now, &error, Some(kind)).await? {
                            self.apply_bounce_in(&mut tx, &m, kind, now).await?;
                        }
                        count_email("refused");
                    }
                }
            }
            Handover::NotConnected(error) => {
                if m.attempts + 1 < MAX_ATTEMPTS {
                    tx.mark_retry(fence, now + backoff(m.attempts), &error).await?;
                } else {
                    tx.mark_failed(fence, now, &error, None).await?;
                }
                count_email("not_connected");
            }
            Handover::Broken(error) => {
                // Left `sending`: the sweep makes it ambiguous when the lease ends (now, if we
                // could write; a crash here gives the same result).
                tracing::warn!(message = %m.id, %error, "the SMTP conversation broke after the message may have been accepted");
                tx.mark_ambiguous(fence, &error).await?;
                count_email("ambiguous");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The recipient, the complete message and its return path.
    async fn compose(
        &self,
        mail: &MailSetup,
        settings: &NurtureSettings,
        template: &TemplateRecord,
        contact: &Contact,
        company: Option<&str>,
        id: MessageId,
    ) -> Result<(String, Vec<u8>, String), String> {
        let to = contact.email.as_ref().ok_or("the contact has no e-mail address")?.to_string();
        let mut parts =
            render::render(&template.subject, &template.html, &template.text, &context(contact, company))
                .map_err(|(part, m)| format!("the template's {part} does not render: {m}"))?;
        let hex = hex_id(id);
        let base = mail.public_url.trim_end_matches('/');
        let sign = |message: String| async move { self.sign(&message).await.map_err(|e| e.to_string()) };
        let unsubscribe = format!("{base}/e/u/{hex}.{}", sign(format!("unsubscribe:{hex}")).await?);
        let preferences =
            format!("{base}/p/{}", self.preferences_token_of(contact.id).await.map_err(|e| e.to_string())?);
        if settings.tracking {
            let mut links = Vec::new();
            parts.html = render::rewrite_links(&parts.html, |i, url| {
                links.push((i, url.to_string()));
                format!("\u{0}{i}\u{0}")
            });
            for (i, url) in links {
                let sig = sign(format!("click:{hex}:{i}:{url}")).await?;
                let target = url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>();
                parts.html = parts.html.replacen(
                    &format!("\u{0}{i}\u{0}"),
                    &format!("{base}/e/c/{hex}.{i}.{sig}?u={target}"),
                    1,
                );
            }
            let pixel = format!(
                "<img src=\"{base}/e/o/{hex}.{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
                sign(format!("open:{hex}")).await?
            );
            parts.html = render::append_to_body(&parts.html, &pixel);
        }
        let (footer_html, footer_text) = render::footer(&template.language, &unsubscribe, &preferences);
        parts.html = render::append_to_body(&parts.html, &footer_html);
        parts.text.push_str(&footer_text);
        let from = sender(template, settings)?;
        let domain = from.email.domain().to_string();
        let (return_path, list_unsubscribe) = match &mail.return_path {
            Some(rp) => {
                let (local, at) = rp.split_once('@').ok_or("the bounce address has no @")?;
                let mailto_sig = sign(format!("mailto-unsubscribe:{hex}")).await?;
                (
                    format!("{local}+{hex}@{at}"),
                    format!("<{unsubscribe}>, <mailto:{local}+unsubscribe.{hex}.{mailto_sig}@{at}>"),
                )
            }
            None => (from.email.to_string(), format!("<{unsubscribe}>")),
        };
        let to_box =
            lettre::message::Mailbox::new(None, to.parse().map_err(|_| format!("`{to}` is not an address"))?);
        let raw = render::build(
            &parts,
            render::Envelope {
                from,
                reply_to: reply_to(template, settings),
                to: to_box,
                message_id: format!("<lg.{hex}@{domain}>"),
                list_unsubscribe: &list_unsubscribe,
                token_header: &hex,
                dkim: mail.dkim.as_ref(),
            },
        )?;
        Ok((to, raw, return_path))
    }

    /// The contact's bounce count, and what a hard bounce means: do-not-email, out of every
    /// sequence, announced.
    async fn apply_bounce_in(
        &self,
        tx: &mut Session,
        m: &MessageRecord,
        kind: BounceKind,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let hard = tx.record_bounce(m.contact_id, kind, now, SOFT_BOUNCE_LIMIT as i64).await?;
        if hard {
            tx.set_do_not_email(&[m.contact_id], now).await?;
            tx.exit_enrolments(m.contact_id, None, ExitReason::HardBounced, now).await?;
        }
        let data = serde_json::json!({ "message_id": m.id, "kind": kind, "address_disabled": hard });
        self.emit_in(tx, "email.bounced", m.contact_id, data, now).await?;
        count_email(if kind == BounceKind::Hard { "bounced_hard" } else { "bounced_soft" });
        Ok(())
    }

    async fn message_of_token(&self, token: &str, purpose: &str) -> Result<MessageRecord, AppError> {
        let gone = || AppError::not_found("message", "for this link");
        let (hex, sig) = token.split_once('.').ok_or_else(gone)?;
        let id = parse_hex_id(hex).ok_or_else(gone)?;
        if !self.verify(&format!("{purpose}:{hex}"), sig).await? {
            return Err(gone());
        }
        self.store.read().await?.get_message(id).await?.ok_or_else(gone)
    }

    /// A click on a tracked link: where to send the browser. A link whose signature does not
    /// cover this exact target is refused (no open redirect). A person's click is recorded as an
    /// `email_clicked` event (scored at once) and wakes the contact's sequences; a scanner's is
    /// recorded on the message only.
    pub async fn track_click(
        &self,
        token: &str,
        target: &str,
        client: &ClientInfo,
    ) -> Result<String, AppError> {
        let gone = || AppError::not_found("link", "for this address");
        let mut parts = token.splitn(3, '.');
        let (hex, index, sig) =
            (parts.next().ok_or_else(gone)?, parts.next().ok_or_else(gone)?, parts.next().ok_or_else(gone)?);
        let id = parse_hex_id(hex).ok_or_else(gone)?;
        let index: i64 = index.parse().map_err(|_| gone())?;
        if !self.verify(&format!("click:{hex}:{index}:{target}"), sig).await? {
            return Err(gone());
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let settings = self.nurture_settings_in(&mut tx).await?;
        let Some(m) = tx.get_message(id).await? else {
            // The person was erased since: the link still leads where it said.
            return Ok(target.to_string());
        };
        if !settings.tracking {
            return Ok(target.to_string());
        }
        let machine = tracking::machine_click(client.user_agent.as_deref(), m.sent_at, now);
        tx.record_click(id, index, target, now, machine).await?;
        if !machine {
            let mut properties = serde_json::Map::new();
            properties.insert("url".into(), target.into());
            properties.insert("message_id".into(), m.id.to_string().into());
            properties.insert("step".into(), m.step_key.clone().into());
            let event = NewEvent {
                id: None,
                contact: ContactRef::Id(m.contact_id),
                kind: EventKind::EmailClicked,
                occurred_at: now,
                occurred_at_given: false,
                source: Some("email".into()),
                campaign: None,
                properties,
            };
            // Recording the event also wakes the contact's sequences (`events::score_recorded`).
            crate::events::record(self, &mut tx, vec![event], now, |_, f| f.to_string()).await?;
            let data = serde_json::json!({ "message_id": m.id, "url": target });
            self.emit_in(&mut tx, "email.clicked", m.contact_id, data, now).await?;
        }
        // On the sender's own site, the page's tracker learns who this browser is.
        let sender = match tx.get_template(m.template_id).await?.and_then(|t| t.from_address) {
            Some(a) => Some(a),
            None => settings.from_address.clone(),
        };
        tx.commit().await?;
        let own = sender.as_deref().and_then(|a| a.rsplit_once('@')).map(|(_, d)| d.to_string());
        if let Some(own) = own {
            let token = self.contact_token(m.contact_id).await?;
            if let Some(tagged) = tracking::identifying_target(target, &own, &token) {
                return Ok(tagged);
            }
        }
        Ok(target.to_string())
    }

    /// The open pixel was loaded (flagged machine for proxies and scanners). Never an error to
    /// the mail reader: a bad token just records nothing.
    pub async fn track_open(&self, token: &str, client: &ClientInfo) -> Result<(), AppError> {
        let Ok(m) = self.message_of_token(token, "open").await else { return Ok(()) };
        let mut tx = self.store.begin().await?;
        if self.nurture_settings_in(&mut tx).await?.tracking {
            tx.record_open(m.id, self.now(), tracking::machine_open(client.user_agent.as_deref())).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The unsubscription page of a message's link.
    pub async fn unsubscription(&self, token: &str) -> Result<Unsubscription, AppError> {
        let m = self.message_of_token(token, "unsubscribe").await?;
        let mut s = self.store.read().await?;
        let language = s.get_template(m.template_id).await?.map_or_else(|| "en".to_string(), |t| t.language);
        let unsubscribed = s.recipient(m.contact_id).await?.unsubscribed_at.is_some();
        drop(s);
        Ok(Unsubscription {
            language,
            unsubscribed,
            preferences: self.preferences_token_of(m.contact_id).await?,
        })
    }

    /// Unsubscribes the person a message went to: one request, no account, no confirmation
    /// (RFC 8058 one-click: mail clients POST here on the person's behalf).
    pub async fn unsubscribe(&self, token: &str, client: &ClientInfo) -> Result<Unsubscription, AppError> {
        let m = self.message_of_token(token, "unsubscribe").await?;
        self.unsubscribe_contact(&m, "unsubscribe link", client).await?;
        self.unsubscription(token).await
    }

    /// Unsubscribes the person `m` went to, crediting the unsubscription to that message (the
    /// sequence's figures per step).
    async fn unsubscribe_contact(
        &self,
        m: &MessageRecord,
        how: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let contact = m.contact_id;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.get_contact(contact).await?.is_none() {
            return Ok(());
        }
        if tx.record_unsubscribe(contact, now).await? {
            tx.credit_unsubscribe(m.id, now).await?;
            // The `unsubscribed` event recorded below makes the contact do-not-email.
            tx.exit_enrolments(contact, None, ExitReason::Unsubscribed, now).await?;
            let mut properties = serde_json::Map::new();
            properties.insert("how".into(), how.into());
            let event = NewEvent {
                id: None,
                contact: ContactRef::Id(contact),
                kind: EventKind::Unsubscribed,
                occurred_at: now,
                occurred_at_given: false,
                source: Some("email".into()),
                campaign: None,
                properties,
            };
            crate::events::record(self, &mut tx, vec![event], now, |_, f| f.to_string()).await?;
            self.emit_in(&mut tx, "contact.unsubscribed", contact, serde_json::json!({ "how": how }), now)
                .await?;
            let actor = crate::privacy::Actor {
                id: None,
                name: format!("the person ({how})"),
                ip: client.ip.clone(),
            };
            self.append_audit(
                &mut tx,
                actor,
                "contact.unsubscribed",
                Some(contact.to_string()),
                Some(contact),
                serde_json::json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads a bounce (or a mailto unsubscription) received by mail: `leadgate bounces <
    /// message` or `POST /api/v1/bounces`. Matched to its message by the return path or the
    /// returned headers; what matches nothing is kept for review.
    pub async fn receive_bounce(&self, raw: &[u8]) -> Result<BounceReceipt, AppError> {
        let text = inbound::readable_text(raw);
        let now = self.now();
        if let Some((hex, sig)) = find_mailto_unsubscribe(&text)
            && self.verify(&format!("mailto-unsubscribe:{hex}"), &sig).await?
            && let Some(id) = parse_hex_id(&hex)
            && let Some(m) = self.store.read().await?.get_message(id).await?
        {
            self.unsubscribe_contact(&m, "mailto unsubscribe", &ClientInfo::default()).await?;
            return Ok(BounceReceipt {
                outcome: "unsubscribed".into(),
                kind: None,
                message: Some(id),
                status: None,
            });
        }
        let report = bounce::read_report(&text);
        // A reply: the person answered one of our messages (its In-Reply-To names it). They
        // leave their sequences: a person is talking to us now.
        if report.action.is_none()
            && report.status.is_none()
            && let Some(hex) = find_reply_ref(&text)
            && let Some(id) = parse_hex_id(&hex)
            && let Some(m) = self.store.read().await?.get_message(id).await?
        {
            let mut tx = self.store.begin().await?;
            tx.record_reply(m.contact_id, now).await?;
            tx.exit_enrolments(m.contact_id, None, ExitReason::Replied, now).await?;
            let data = serde_json::json!({ "message_id": m.id });
            self.emit_in(&mut tx, "email.replied", m.contact_id, data, now).await?;
            tx.commit().await?;
            return Ok(BounceReceipt {
                outcome: "replied".into(),
                kind: None,
                message: Some(id),
                status: None,
            });
        }
        let kind = report.kind();
        let mut tx = self.store.begin().await?;
        let mut message = None;
        for hex in find_message_refs(&text) {
            if let Some(id) = parse_hex_id(&hex)
                && let Some(m) = tx.get_message(id).await?
            {
                message = Some(m);
                break;
            }
        }
        let outcome = match (&message, kind) {
            (Some(m), Some(kind)) => {
                tx.mark_bounced(m.id, kind, now).await?;
                self.apply_bounce_in(&mut tx, m, kind, now).await?;
                tx.insert_bounce(
                    new_uuid(),
                    now,
                    Some(m),
                    Some(kind),
                    report.status.as_deref(),
                    report.diagnostic.as_deref(),
                    None,
                    "applied",
                )
                .await?;
                "applied"
            }
            (Some(m), None) => {
                tx.insert_bounce(
                    new_uuid(),
                    now,
                    Some(m),
                    None,
                    report.status.as_deref(),
                    report.diagnostic.as_deref(),
                    None,
                    "not_a_bounce",
                )
                .await?;
                "not_a_bounce"
            }
            (None, _) => {
                let raw = String::from_utf8_lossy(raw).chars().take(200_000).collect::<String>();
                tx.insert_bounce(
                    new_uuid(),
                    now,
                    None,
                    kind,
                    report.status.as_deref(),
                    report.diagnostic.as_deref(),
                    Some(&raw),
                    "unmatched",
                )
                .await?;
                "unmatched"
            }
        };
        tx.commit().await?;
        Ok(BounceReceipt {
            outcome: outcome.into(),
            kind,
            message: message.map(|m| m.id),
            status: report.status,
        })
    }

    /// Bounce messages that matched none of ours, for review.
    pub async fn unmatched_bounces(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(uuid::Uuid, Timestamp, String)>, AppError> {
        principal.require(Permission::ManageNurture)?;
        Ok(self.store.read().await?.unmatched_bounces(200).await?)
    }
}

/// Messages handed to SMTP and their outcomes since the server started, for `/metrics`.
static EMAIL_COUNTS: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn count_email(outcome: &'static str) {
    if let Ok(mut counts) = EMAIL_COUNTS.lock() {
        *counts.entry(outcome).or_default() += 1;
    }
}

/// The e-mail counters: `attempted`, `sent`, `refused`, `not_connected`, `ambiguous`,
/// `bounced_hard`, `bounced_soft`.
pub fn email_counts() -> Vec<(&'static str, u64)> {
    EMAIL_COUNTS.lock().map(|c| c.iter().map(|(k, v)| (*k, *v)).collect()).unwrap_or_default()
}

/// What a contact's recipient record (and the consent the sequence needs) says about reaching it.
fn reachability(consent_granted: bool, r: &RecipientRecord) -> Reachability {
    Reachability {
        consent_granted,
        unsubscribed: r.unsubscribed_at.is_some(),
        hard_bounced: r.hard_bounced_at.is_some(),
        replied: r.replied_at.is_some(),
    }
}

/// Whether a sequence's conditions look at clicks, and at other behaviour (visits, forms): what
/// the evaluator must read for its enrolments.
fn behaviour_needed(steps: &[Step]) -> (bool, bool) {
    let conditions = steps.iter().filter_map(|s| match &s.action {
        sequence::Action::WaitFor { until, .. } => Some(until),
        sequence::Action::Branch { when, .. } => Some(when),
        _ => None,
    });
    let (mut clicks, mut events) = (false, false);
    for c in conditions {
        match c {
            sequence::Condition::Clicked { .. } => clicks = true,
            sequence::Condition::Visited { .. } | sequence::Condition::SubmittedForm { .. } => events = true,
            _ => {}
        }
    }
    (clicks, events)
}

/// Where a cold-lead sweep of one sequence stands: the contact it stopped after (mid-sweep), or
/// when the next sweep starts. Kept in `settings` as `<rest until, µs>|<contact id>`.
#[derive(Debug, Default, PartialEq)]
struct ColdSweep {
    after: Option<ContactId>,
    rest_until: Option<Timestamp>,
}

impl ColdSweep {
    fn parse(s: &str) -> ColdSweep {
        let (rest, after) = s.split_once('|').unwrap_or((s, ""));
        ColdSweep {
            after: after.parse::<uuid::Uuid>().ok().map(ContactId),
            rest_until: rest.parse::<i64>().ok().and_then(|m| Timestamp::from_microsecond(m).ok()),
        }
    }
}

impl std::fmt::Display for ColdSweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rest = self.rest_until.map(|t| t.as_microsecond().to_string()).unwrap_or_default();
        let after = self.after.map(|c| c.0.to_string()).unwrap_or_default();
        write!(f, "{rest}|{after}")
    }
}

enum Enrolled {
    Yes,
    Already,
    Refused(ExitReason),
    Gone,
}

/// Adds an error for each given address SMTP cannot use.
fn check_addresses<'a>(
    e: &mut ValidationErrors,
    fields: impl IntoIterator<Item = (&'static str, &'a Option<String>)>,
) {
    for (field, value) in fields {
        if let Some(a) = value.as_deref().filter(|a| !is_address(a)) {
            e.add(field, format!("`{a}` is not an e-mail address"));
        }
    }
}

/// Whether `s` is an e-mail address SMTP can use.
pub fn is_address(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok()
}

fn sender(t: &TemplateRecord, s: &NurtureSettings) -> Result<lettre::message::Mailbox, String> {
    let address = t
        .from_address
        .as_ref()
        .or(s.from_address.as_ref())
        .ok_or("no sender address: set one on the template or in the nurture settings (from_address)")?;
    let name = t.from_name.clone().or_else(|| s.from_name.clone());
    Ok(lettre::message::Mailbox::new(
        name,
        address.parse().map_err(|_| format!("`{address}` is not an address"))?,
    ))
}

fn reply_to(t: &TemplateRecord, s: &NurtureSettings) -> Option<lettre::message::Mailbox> {
    t.reply_to.as_ref().or(s.reply_to.as_ref()).and_then(|a| a.parse().ok())
}

/// Our message ids named in a bounce: in the VERP return path (`bounces+<hex>@`), the
/// Message-ID (`<lg.<hex>@`) or the `X-Leadgate-Message` header of the returned headers.
fn find_message_refs(text: &str) -> Vec<String> {
    use std::sync::OnceLock;
    static REFS: OnceLock<regex::Regex> = OnceLock::new();
    let re = REFS.get_or_init(|| {
        regex::Regex::new(r"(?i)(?:\+|<lg\.|X-Leadgate-Message:\s*)([0-9a-f]{32})\b").expect("valid pattern")
    });
    let mut out: Vec<String> = re.captures_iter(text).map(|c| c[1].to_ascii_lowercase()).collect();
    out.dedup();
    out
}

/// The message a reply answers: `In-Reply-To:` or `References:` naming `<lg.<hex>@…>`.
fn find_reply_ref(text: &str) -> Option<String> {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?im)^(?:In-Reply-To|References):[^\n]*<lg\.([0-9a-f]{32})@")
            .expect("valid pattern")
    });
    re.captures(text).map(|c| c[1].to_ascii_lowercase())
}

/// A mailto unsubscription: sent to `<local>+unsubscribe.<hex>.<sig>@…`.
fn find_mailto_unsubscribe(text: &str) -> Option<(String, String)> {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\+unsubscribe\.([0-9a-f]{32})\.([0-9a-f]{32})@").expect("valid pattern")
    });
    re.captures(text).map(|c| (c[1].to_ascii_lowercase(), c[2].to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_name_their_message_by_return_path_message_id_or_header() {
        let hex = "0192f7a45c1e7b3a9d2e4f6a8b0c1d2e";
        assert_eq!(find_message_refs(&format!("To: bounces+{hex}@acme.test")), [hex]);
        assert_eq!(find_message_refs(&format!("Message-ID: <lg.{hex}@acme.test>")), [hex]);
        assert_eq!(find_message_refs(&format!("X-Leadgate-Message: {}", hex.to_uppercase())), [hex]);
        assert!(find_message_refs("nothing of ours").is_empty());
        assert_eq!(
            find_reply_ref(&format!("Subject: Re: Hello\nIn-Reply-To: <lg.{hex}@acme.test>\n")),
            Some(hex.to_string())
        );
        assert_eq!(
            find_reply_ref(&format!("Message-ID: <lg.{hex}@acme.test>\n")),
            None,
            "a returned original is not a reply"
        );
        let sig = "00112233445566778899aabbccddeeff";
        assert_eq!(
            find_mailto_unsubscribe(&format!("To: bounces+unsubscribe.{hex}.{sig}@acme.test")),
            Some((hex.to_string(), sig.to_string()))
        );
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let bad = NurtureSettings {
            time_zone: "Mars/Olympus".into(),
            from_address: Some("not an address".into()),
            ..Default::default()
        };
        let fields: Vec<_> = bad.validate().unwrap_err().errors.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["time_zone", "from_address"]);
        assert!(NurtureSettings::default().validate().is_ok());
    }
}
