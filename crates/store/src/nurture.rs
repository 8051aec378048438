//! Nurture storage: templates, sequences, enrolments, and the messages they send.
//!
//! Exactly once rests on three writes, each committed before the next step starts:
//! 1. [`Session::reserve_message`] inserts the message under its unique (enrolment, step) key,
//!    in the transaction that moves the enrolment past the step: re-evaluating a step, on any
//!    server, finds the key taken;
//! 2. [`Session::claim_messages`] gives a sender a lease and a new fencing token, and
//!    [`Session::mark_sending`] moves `reserved` → `sending` under that token, right before the
//!    SMTP conversation: only one sender can make that move;
//! 3. [`Session::mark_sent`] (or a retry, or a failure) records the server's answer under the
//!    token. A message still `sending` when its lease ends is swept to `ambiguous`
//!    ([`Session::sweep_ambiguous`]) and never resent.

use jiff::Timestamp;
use leadgate_core::form::Purpose;
use leadgate_core::ids::{ContactId, EnrolmentId, MessageId, SequenceId, TemplateId};
use leadgate_core::nurture::bounce::BounceKind;
use leadgate_core::nurture::sequence::Step;
use leadgate_core::nurture::{ExitReason, MessageState, SequenceState, Trigger};
use serde::Serialize;
use uuid::Uuid;

use std::collections::HashMap;

use crate::driver::{Arg, Dialect, Row, Session, args};
use crate::error::StoreError;

/// An e-mail template as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateRecord {
    pub id: TemplateId,
    pub name: String,
    /// `en` or `fr`: the language of the unsubscribe footer and preference page links.
    pub language: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub reply_to: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const TEMPLATE_COLUMNS: &str =
    "id, name, language, subject, html, text, from_name, from_address, reply_to, created_at, updated_at";

fn template_from_row(r: &Row) -> Result<TemplateRecord, StoreError> {
    Ok(TemplateRecord {
        id: TemplateId(r.get(0)?),
        name: r.get(1)?,
        language: r.get(2)?,
        subject: r.get(3)?,
        html: r.get(4)?,
        text: r.get(5)?,
        from_name: r.get(6)?,
        from_address: r.get(7)?,
        reply_to: r.get(8)?,
        created_at: r.ts(9)?,
        updated_at: r.ts(10)?,
    })
}

/// A sequence as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceRecord {
    pub id: SequenceId,
    pub name: String,
    pub steps: Vec<Step>,
    /// The consent purpose its messages need (checked at send time).
    pub purpose: Option<Purpose>,
    pub trigger: Option<Trigger>,
    /// Whether a contact that already went through it may be enrolled again.
    pub reenrol: bool,
    pub state: SequenceState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const SEQUENCE_COLUMNS: &str =
    "id, name, steps, purpose, trigger_rule, reenrol, state, created_at, updated_at";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn sequence_from_row(r: &Row) -> Result<SequenceRecord, StoreError> {
    let steps: String = r.get(2)?;
    let purpose: Option<String> = r.get(3)?;
    let trigger: Option<String> = r.get(4)?;
    let state: String = r.get(6)?;
    Ok(SequenceRecord {
        id: SequenceId(r.get(0)?),
        name: r.get(1)?,
        steps: serde_json::from_str(&steps).map_err(|e| corrupt("sequence steps", e))?,
        purpose: purpose
            .map(|p| Purpose::parse(&p).ok_or_else(|| corrupt("sequence purpose", p)))
            .transpose()?,
        trigger: trigger
            .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("sequence trigger", e)))
            .transpose()?,
        reenrol: r.get(5)?,
        state: SequenceState::parse(&state).ok_or_else(|| corrupt("sequence state", &state))?,
        created_at: r.ts(7)?,
        updated_at: r.ts(8)?,
    })
}

/// One contact's passage through one sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnrolmentRecord {
    pub id: EnrolmentId,
    pub sequence_id: SequenceId,
    pub contact_id: ContactId,
    /// Index of the current step.
    pub step: i64,
    pub step_since: Timestamp,
    /// When it is evaluated next (absent once ended).
    pub wake_at: Option<Timestamp>,
    /// `active`, `completed` or `exited`.
    pub state: String,
    pub exit_reason: Option<ExitReason>,
    pub enrolled_at: Timestamp,
    /// `user:<id>`, `trigger:<kind>`, `api`.
    pub enrolled_by: String,
    pub ended_at: Option<Timestamp>,
    /// The evaluator's claim (also its fencing token).
    #[serde(skip)]
    pub locked_until: Option<Timestamp>,
}

const ENROLMENT_COLUMNS: &str = "id, sequence_id, contact_id, step, step_since, wake_at, state, exit_reason, \
    enrolled_at, enrolled_by, ended_at, locked_until";

fn enrolment_from_row(r: &Row) -> Result<EnrolmentRecord, StoreError> {
    let reason: Option<String> = r.get(7)?;
    Ok(EnrolmentRecord {
        id: EnrolmentId(r.get(0)?),
        sequence_id: SequenceId(r.get(1)?),
        contact_id: ContactId(r.get(2)?),
        step: r.get(3)?,
        step_since: r.ts(4)?,
        wake_at: r.opt_ts(5)?,
        state: r.get(6)?,
        exit_reason: reason
            .map(|x| ExitReason::parse(&x).ok_or_else(|| corrupt("exit reason", x)))
            .transpose()?,
        enrolled_at: r.ts(8)?,
        enrolled_by: r.get(9)?,
        ended_at: r.opt_ts(10)?,
        locked_until: r.opt_ts(11)?,
    })
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    pub id: MessageId,
    pub enrolment_id: EnrolmentId,
    pub step_key: String,
    pub contact_id: ContactId,
    pub sequence_id: SequenceId,
    pub template_id: TemplateId,
    pub state: MessageState,
    pub reserved_at: Timestamp,
    pub send_after: Timestamp,
    pub attempts: i64,
    /// The fencing token of the latest claim.
    #[serde(skip)]
    pub fence: i64,
    pub sending_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    /// The SMTP server's last answer.
    pub reply: Option<String>,
    pub error: Option<String>,
    pub skip_reason: Option<String>,
    pub bounce_kind: Option<BounceKind>,
    pub bounced_at: Option<Timestamp>,
    pub opened_at: Option<Timestamp>,
    pub human_opened_at: Option<Timestamp>,
    pub clicked_at: Option<Timestamp>,
}

const MESSAGE_COLUMNS: &str = "id, enrolment_id, step_key, contact_id, sequence_id, template_id, state, reserved_at, \
    send_after, attempts, fence, sending_at, sent_at, reply, error, skip_reason, bounce_kind, bounced_at, opened_at, \
    human_opened_at, clicked_at";

fn message_from_row(r: &Row) -> Result<MessageRecord, StoreError> {
    let state: String = r.get(6)?;
    let bounce: Option<String> = r.get(16)?;
    Ok(MessageRecord {
        id: MessageId(r.get(0)?),
        enrolment_id: EnrolmentId(r.get(1)?),
        step_key: r.get(2)?,
        contact_id: ContactId(r.get(3)?),
        sequence_id: SequenceId(r.get(4)?),
        template_id: TemplateId(r.get(5)?),
        state: MessageState::parse(&state).ok_or_else(|| corrupt("message state", &state))?,
        reserved_at: r.ts(7)?,
        send_after: r.ts(8)?,
        attempts: r.get(9)?,
        fence: r.get(10)?,
        sending_at: r.opt_ts(11)?,
        sent_at: r.opt_ts(12)?,
        reply: r.get(13)?,
        error: r.get(14)?,
        skip_reason: r.get(15)?,
        bounce_kind: bounce.and_then(|b| BounceKind::parse(&b)),
        bounced_at: r.opt_ts(17)?,
        opened_at: r.opt_ts(18)?,
        human_opened_at: r.opt_ts(19)?,
        clicked_at: r.opt_ts(20)?,
    })
}

/// A message to reserve.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: MessageId,
    pub enrolment_id: EnrolmentId,
    pub step_key: String,
    pub contact_id: ContactId,
    pub sequence_id: SequenceId,
    pub template_id: TemplateId,
    pub send_after: Timestamp,
    /// The recipient's domain, which per-domain rate limits count by.
    pub domain: Option<String>,
}

/// A contact a cold-lead trigger looks at (see [`Session::cold_candidates`]).
#[derive(Debug, Clone)]
pub struct ColdCandidate {
    pub contact: ContactId,
    /// The stored engagement ledger, if kept.
    pub ledger: Option<Vec<u8>>,
    /// The temperature when last scored.
    pub temperature: Option<leadgate_core::scoring::Temperature>,
}

/// A contact's standing as a recipient of marketing e-mail.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecipientRecord {
    pub unsubscribed_at: Option<Timestamp>,
    pub hard_bounced_at: Option<Timestamp>,
    /// Soft bounces since the last delivery.
    pub soft_bounces: i64,
    pub last_delivered_at: Option<Timestamp>,
    pub replied_at: Option<Timestamp>,
}

/// A message's figures per state, for one step of a sequence.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepFigures {
    pub step_key: String,
    pub reserved: i64,
    pub sent: i64,
    pub ambiguous: i64,
    pub failed: i64,
    pub bounced: i64,
    pub skipped: i64,
    pub opened: i64,
    pub human_opened: i64,
    pub clicked: i64,
    /// Sent and not bounced (so far).
    pub delivered: i64,
    /// Unsubscriptions through this step's messages.
    pub unsubscribed: i64,
    /// Messages whose person became MQL or went further soon after (see
    /// [`Session::step_figures`]).
    pub converted: i64,
}

/// A claimed enrolment's new position (see [`Session::save_positions`]).
#[derive(Debug, Clone, Copy)]
pub struct PositionUpdate {
    pub id: EnrolmentId,
    /// The claim's token.
    pub lease: Timestamp,
    pub step: i64,
    pub since: Timestamp,
    /// When to evaluate it next; `None`: it ends (completed, or exited with `reason`).
    pub wake: Option<Timestamp>,
    pub reason: Option<ExitReason>,
}

/// Where a claimed message's sender stands: its id and the token its writes must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub message: MessageId,
    pub token: i64,
}

impl Session {
    pub async fn insert_template(&mut self, t: &TemplateRecord) -> Result<(), StoreError> {
        self.execute(
            &format!("INSERT INTO email_templates ({TEMPLATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
            args![
                t.id, t.name.as_str(), t.language.as_str(), t.subject.as_str(), t.html.as_str(), t.text.as_str(),
                t.from_name.as_deref(), t.from_address.as_deref(), t.reply_to.as_deref(), t.created_at, t.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Replaces a template's content. Returns whether it exists.
    pub async fn update_template(&mut self, t: &TemplateRecord) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE email_templates SET name = $2, language = $3, subject = $4, html = $5, text = $6, from_name = $7, \
                 from_address = $8, reply_to = $9, updated_at = $10 WHERE id = $1",
                args![
                    t.id, t.name.as_str(), t.language.as_str(), t.subject.as_str(), t.html.as_str(), t.text.as_str(),
                    t.from_name.as_deref(), t.from_address.as_deref(), t.reply_to.as_deref(), t.updated_at
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn get_template(&mut self, id: TemplateId) -> Result<Option<TemplateRecord>, StoreError> {
        self.fetch_optional(
            &format!("SELECT {TEMPLATE_COLUMNS} FROM email_templates WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(template_from_row)
        .transpose()
    }

    pub async fn templates(&mut self) -> Result<Vec<TemplateRecord>, StoreError> {
        self.fetch_all(&format!("SELECT {TEMPLATE_COLUMNS} FROM email_templates ORDER BY name, id"), vec![])
            .await?
            .iter()
            .map(template_from_row)
            .collect()
    }

    pub async fn insert_sequence(&mut self, s: &SequenceRecord) -> Result<(), StoreError> {
        let (steps, trigger) = sequence_json(s)?;
        self.execute(
            &format!(
                "INSERT INTO sequences ({SEQUENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            args![
                s.id,
                s.name.as_str(),
                steps,
                s.purpose.map(|p| p.as_str()),
                trigger,
                s.reenrol,
                s.state.as_str(),
                s.created_at,
                s.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Replaces a sequence's definition. Returns whether it exists.
    pub async fn update_sequence(&mut self, s: &SequenceRecord) -> Result<bool, StoreError> {
        let (steps, trigger) = sequence_json(s)?;
        let n = self
            .execute(
                "UPDATE sequences SET name = $2, steps = $3, purpose = $4, trigger_rule = $5, reenrol = $6, state = $7, \
                 updated_at = $8 WHERE id = $1",
                args![s.id, s.name.as_str(), steps, s.purpose.map(|p| p.as_str()), trigger, s.reenrol, s.state.as_str(), s.updated_at],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn get_sequence(&mut self, id: SequenceId) -> Result<Option<SequenceRecord>, StoreError> {
        self.fetch_optional(&format!("SELECT {SEQUENCE_COLUMNS} FROM sequences WHERE id = $1"), args![id])
            .await?
            .as_ref()
            .map(sequence_from_row)
            .transpose()
    }

    pub async fn sequences(&mut self) -> Result<Vec<SequenceRecord>, StoreError> {
        self.fetch_all(&format!("SELECT {SEQUENCE_COLUMNS} FROM sequences ORDER BY name, id"), vec![])
            .await?
            .iter()
            .map(sequence_from_row)
            .collect()
    }

    /// Enrols a contact unless it is in the sequence already, or went through it before and the
    /// sequence does not re-enrol. Returns the enrolment when one was made.
    pub async fn enrol(
        &mut self,
        id: EnrolmentId,
        sequence: &SequenceRecord,
        contact: ContactId,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<EnrolmentRecord>, StoreError> {
        let before = if sequence.reenrol {
            "SELECT 1 FROM enrolments WHERE sequence_id = $1 AND contact_id = $2 AND state = 'active'"
        } else {
            "SELECT 1 FROM enrolments WHERE sequence_id = $1 AND contact_id = $2"
        };
        if self.fetch_optional(before, args![sequence.id, contact]).await?.is_some() {
            return Ok(None);
        }
        // The partial unique index settles a race between two enrolling servers.
        let row = self
            .fetch_optional(
                &format!(
                    "INSERT INTO enrolments (id, sequence_id, contact_id, step, step_since, wake_at, state, enrolled_at, enrolled_by) \
                     VALUES ($1, $2, $3, 0, $4, $4, 'active', $4, $5) ON CONFLICT DO NOTHING RETURNING {ENROLMENT_COLUMNS}"
                ),
                args![id, sequence.id, contact, now, by],
            )
            .await?;
        row.as_ref().map(enrolment_from_row).transpose()
    }

    /// Claims up to `limit` active enrolments of active sequences due at `now`, until
    /// `lease_until` (also the claim's token for [`Self::save_position`]).
    pub async fn claim_enrolments(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<EnrolmentRecord>, StoreError> {
        let sql = claim_enrolments_sql(self.dialect());
        self.fetch_all(&sql, args![now, lease_until, limit]).await?.iter().map(enrolment_from_row).collect()
    }

    /// Moves a claimed enrolment to `step` (since `since`), to wake at `wake`, and releases the
    /// claim; `None` for `wake` ends it with `reason` (`None`: completed). Applies only under
    /// the claim `lease` (another evaluator that took over after the lease ended wins).
    #[allow(clippy::too_many_arguments)]
    pub async fn save_position(
        &mut self,
        id: EnrolmentId,
        lease: Timestamp,
        step: i64,
        since: Timestamp,
        wake: Option<Timestamp>,
        reason: Option<ExitReason>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = match wake {
            Some(wake) => {
                self.execute(
                    "UPDATE enrolments SET step = $3, step_since = $4, wake_at = $5, locked_until = NULL \
                     WHERE id = $1 AND locked_until = $2 AND state = 'active'",
                    args![id, lease, step, since, wake],
                )
                .await?
            }
            None => {
                let state = if reason.is_some() { "exited" } else { "completed" };
                self.execute(
                    "UPDATE enrolments SET step = $3, step_since = $4, wake_at = NULL, locked_until = NULL, state = $5, \
                     exit_reason = $6, ended_at = $7 WHERE id = $1 AND locked_until = $2 AND state = 'active'",
                    args![id, lease, step, since, state, reason.map(|r| r.as_str()), now],
                )
                .await?
            }
        };
        Ok(n == 1)
    }

    /// Ends a contact's active enrolments (all, or one sequence's) with `reason`. Returns the
    /// enrolments ended, for the timeline.
    pub async fn exit_enrolments(
        &mut self,
        contact: ContactId,
        sequence: Option<SequenceId>,
        reason: ExitReason,
        now: Timestamp,
    ) -> Result<Vec<EnrolmentRecord>, StoreError> {
        self.fetch_all(
            &format!(
                "UPDATE enrolments SET state = 'exited', exit_reason = $2, ended_at = $3, wake_at = NULL, locked_until = NULL \
                 WHERE contact_id = $1 AND state = 'active' AND ($4 IS NULL OR sequence_id = $4) RETURNING {ENROLMENT_COLUMNS}"
            ),
            args![contact, reason.as_str(), now, sequence],
        )
        .await?
        .iter()
        .map(enrolment_from_row)
        .collect()
    }

    /// Ends every active enrolment of a sequence (archived).
    pub async fn exit_sequence(&mut self, sequence: SequenceId, now: Timestamp) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE enrolments SET state = 'exited', exit_reason = 'sequence_archived', ended_at = $2, wake_at = NULL, \
             locked_until = NULL WHERE sequence_id = $1 AND state = 'active'",
            args![sequence, now],
        )
        .await
    }

    /// Stage entries recorded in `(since, until]`, oldest first: contact, stage entered, when.
    pub async fn stage_entries(
        &mut self,
        since: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<(ContactId, leadgate_core::lifecycle::LifecycleStage, Timestamp)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT contact_id, to_stage, at FROM lifecycle_transitions WHERE at > $1 AND at <= $2 ORDER BY at LIMIT $3",
                args![since, until, limit],
            )
            .await?;
        rows.iter()
            .filter_map(|r| {
                let stage: String = match r.get(1) {
                    Ok(s) => s,
                    Err(e) => return Some(Err(e)),
                };
                let stage = leadgate_core::lifecycle::LifecycleStage::parse(&stage)?;
                Some((|| Ok((ContactId(r.get(0)?), stage, r.ts(2)?)))())
            })
            .collect()
    }

    /// Contacts in `stages` after `after` (by id), with no event since `quiet_since` and created
    /// before it, neither in `sequence` now nor enrolled in it since then: the candidates of a
    /// cold-lead trigger, with what tells whether they are cold now. At most `limit`, by id.
    pub async fn cold_candidates(
        &mut self,
        sequence: SequenceId,
        stages: &[leadgate_core::lifecycle::LifecycleStage],
        quiet_since: Timestamp,
        after: Option<ContactId>,
        limit: i64,
    ) -> Result<Vec<ColdCandidate>, StoreError> {
        let sql = format!(
            "SELECT c.id, s.ledger, s.temperature FROM contacts c JOIN contact_scores s ON s.contact_id = c.id \
             WHERE ($1 IS NULL OR c.id > $1) AND c.lifecycle_stage IN ({}) AND c.email IS NOT NULL AND c.created_at <= $2 \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.occurred_at > $2) \
             AND NOT EXISTS (SELECT 1 FROM enrolments n WHERE n.sequence_id = $3 AND n.contact_id = c.id \
                 AND (n.state = 'active' OR n.enrolled_at > $2)) \
             ORDER BY c.id LIMIT $4",
            Session::placeholders(5, stages.len())
        );
        let mut all = args![after, quiet_since, sequence, limit];
        all.extend(stages.iter().map(|s| Arg::from(s.as_str())));
        self.fetch_all(&sql, all)
            .await?
            .iter()
            .map(|r| {
                let temperature: Option<String> = r.get(2)?;
                Ok(ColdCandidate {
                    contact: ContactId(r.get(0)?),
                    ledger: r.get(1)?,
                    temperature: temperature.as_deref().and_then(leadgate_core::scoring::Temperature::parse),
                })
            })
            .collect()
    }

    /// Replaces a setting's value if it still is `expected`. Returns whether it did.
    pub async fn compare_and_set_setting(
        &mut self,
        key: &str,
        expected: &str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE settings SET value = $3 WHERE key = $1 AND value = $2",
                args![key, expected, value],
            )
            .await?;
        Ok(n == 1)
    }

    /// Makes every active enrolment due now (the sending rules changed).
    pub async fn wake_all_enrolments(&mut self, now: Timestamp) -> Result<u64, StoreError> {
        self.execute("UPDATE enrolments SET wake_at = $1 WHERE state = 'active' AND wake_at > $1", args![now])
            .await
    }

    /// Makes the active enrolments of `contacts` due now: they did something a wait may be
    /// waiting for.
    pub async fn wake_enrolments_of(
        &mut self,
        contacts: &[ContactId],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.execute_for_keys(
            "UPDATE enrolments SET wake_at = $1 WHERE state = 'active' AND wake_at > $1 AND contact_id IN ({keys})",
            args![now],
            contacts,
        )
        .await
    }

    pub async fn enrolments_of(&mut self, contact: ContactId) -> Result<Vec<EnrolmentRecord>, StoreError> {
        self.fetch_all(
            &format!("SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE contact_id = $1 ORDER BY enrolled_at DESC, id DESC"),
            args![contact],
        )
        .await?
        .iter()
        .map(enrolment_from_row)
        .collect()
    }

    pub async fn get_enrolment(&mut self, id: EnrolmentId) -> Result<Option<EnrolmentRecord>, StoreError> {
        self.fetch_optional(&format!("SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE id = $1"), args![id])
            .await?
            .as_ref()
            .map(enrolment_from_row)
            .transpose()
    }

    /// Enrolment counts of a sequence: active, completed, and exited per reason.
    pub async fn enrolment_counts(&mut self, sequence: SequenceId) -> Result<Vec<(String, i64)>, StoreError> {
        self.fetch_all(
            "SELECT CASE WHEN state = 'exited' THEN exit_reason ELSE state END, COUNT(*) FROM enrolments \
             WHERE sequence_id = $1 GROUP BY 1 ORDER BY 1",
            args![sequence],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get::<Option<String>>(0)?.unwrap_or_default(), r.get(1)?)))
        .collect()
    }

    /// Reserves a message under its (enrolment, step) key. Returns false when the key is taken:
    /// the step was reserved before (by this or another server) and must not send again.
    pub async fn reserve_message(&mut self, m: &NewMessage, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self.reserve_messages(std::slice::from_ref(m), now).await? == 1)
    }

    /// Claims up to `limit` reserved messages due at `now` for `sender` until `lease_until`,
    /// each with a new fencing token.
    pub async fn claim_messages(
        &mut self,
        now: Timestamp,
        sender: &str,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let sql = claim_messages_sql(self.dialect());
        self.fetch_all(&sql, args![now, sender, lease_until, limit])
            .await?
            .iter()
            .map(message_from_row)
            .collect()
    }

    /// Makes rate-limited claimers take turns (PostgreSQL: a transaction-scoped advisory lock;
    /// SQLite has one writer already), so two servers do not both spend the same minute's budget.
    pub async fn serialise_claims(&mut self) -> Result<(), StoreError> {
        if self.dialect() == crate::driver::Dialect::Postgres {
            self.execute("SELECT pg_advisory_xact_lock(7813306843574985830)", vec![]).await?;
        }
        Ok(())
    }

    /// Messages claimed since `since` (what rate limits count): in all, and per recipient domain.
    pub async fn claims_since(
        &mut self,
        since: Timestamp,
    ) -> Result<(u64, HashMap<String, u64>), StoreError> {
        let mut total = 0;
        let mut by_domain = HashMap::new();
        for r in self
            .fetch_all(
                "SELECT domain, COUNT(*) FROM email_messages WHERE claimed_at > $1 GROUP BY domain",
                args![since],
            )
            .await?
        {
            let n = r.get::<i64>(1)? as u64;
            total += n;
            if let Some(d) = r.get::<Option<String>>(0)? {
                by_domain.insert(d, n);
            }
        }
        Ok((total, by_domain))
    }

    /// Up to `limit` reserved messages due at `now` and not held by a sender, in the order they
    /// are due, each with its recipient's domain: the candidates a rate-limited claim picks from.
    pub async fn due_messages(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(MessageId, Option<String>)>, StoreError> {
        self.fetch_all(&due_messages_sql(self.dialect()), args![now, limit])
            .await?
            .iter()
            .map(|r| Ok((MessageId(r.get(0)?), r.get(1)?)))
            .collect()
    }

    /// Claims the given messages (chosen from [`Self::due_messages`]) like
    /// [`Self::claim_messages`]; those another sender took meanwhile are left out.
    pub async fn claim_messages_by_id(
        &mut self,
        ids: &[MessageId],
        now: Timestamp,
        sender: &str,
        lease_until: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "UPDATE email_messages SET fence = fence + 1, sender = $2, locked_until = $3, claimed_at = $1 \
                 WHERE state = 'reserved' AND (locked_until IS NULL OR locked_until <= $1) AND id IN ({}) \
                 RETURNING {MESSAGE_COLUMNS}",
                Session::placeholders(4, chunk.len())
            );
            let mut all = args![now, sender, lease_until];
            all.extend(chunk.iter().map(|id| Arg::from(*id)));
            for r in self.fetch_all(&sql, all).await? {
                out.push(message_from_row(&r)?);
            }
        }
        // RETURNING does not keep the order asked for: send in the order they were due.
        let rank: HashMap<MessageId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        out.sort_by_key(|m| rank.get(&m.id).copied().unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Moves reserved messages' due time to `until` (a rate limit holds their domain).
    pub async fn postpone_messages(
        &mut self,
        ids: &[MessageId],
        until: Timestamp,
    ) -> Result<u64, StoreError> {
        self.execute_for_keys(
            "UPDATE email_messages SET send_after = $1 WHERE state = 'reserved' AND send_after < $1 AND id IN ({keys})",
            args![until],
            ids,
        )
        .await
    }

    /// `reserved` → `sending`, under the claim's token, right before the SMTP conversation.
    /// False: another sender holds the message now, do not send.
    pub async fn mark_sending(
        &mut self,
        f: Fence,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE email_messages SET state = 'sending', sending_at = $3, attempts = attempts + 1, locked_until = $4 \
                 WHERE id = $1 AND fence = $2 AND state = 'reserved'",
                args![f.message, f.token, now, lease_until],
            )
            .await?;
        Ok(n == 1)
    }

    /// A sender's write under its fence: `set` (with `$3`… bound to `values`) when the message is
    /// still held under the token `f` and in one of the states `from`, releasing the claim.
    async fn fenced(
        &mut self,
        f: Fence,
        set: &str,
        from: &str,
        values: Vec<Arg>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE email_messages SET {set}, locked_until = NULL WHERE id = $1 AND fence = $2 AND state IN ({from})"
        );
        let mut all = args![f.message, f.token];
        all.extend(values);
        Ok(self.execute(&sql, all).await? == 1)
    }

    /// The server accepted the message. Also from `ambiguous`: a sender paused past its lease
    /// that then got its `250` turns the doubt into certainty.
    pub async fn mark_sent(&mut self, f: Fence, now: Timestamp, reply: &str) -> Result<bool, StoreError> {
        let set = "state = 'sent', sent_at = $3, reply = $4, error = NULL";
        self.fenced(f, set, "'sending', 'ambiguous'", args![now, reply]).await
    }

    /// The server refused before accepting (a temporary failure, or the connection could not be
    /// made): back to `reserved`, tried again at `retry_at`.
    pub async fn mark_retry(
        &mut self,
        f: Fence,
        retry_at: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.fenced(f, "state = 'reserved', send_after = $3, error = $4", "'sending'", args![retry_at, error])
            .await
    }

    /// The server refused for good (or retries were given up).
    pub async fn mark_failed(
        &mut self,
        f: Fence,
        now: Timestamp,
        error: &str,
        bounce: Option<BounceKind>,
    ) -> Result<bool, StoreError> {
        let set = "state = 'failed', error = $3, bounce_kind = $4, bounced_at = $5";
        let values = args![error, bounce.map(|b| b.as_str()), bounce.map(|_| now)];
        self.fenced(f, set, "'reserved', 'sending'", values).await
    }

    /// The conversation broke after the server may have accepted the message: never resent.
    pub async fn mark_ambiguous(&mut self, f: Fence, error: &str) -> Result<bool, StoreError> {
        self.fenced(f, "state = 'ambiguous', error = $3", "'sending'", args![error]).await
    }

    /// Not sent: at send time the contact could not receive it.
    pub async fn mark_skipped(&mut self, f: Fence, reason: &str) -> Result<bool, StoreError> {
        self.fenced(f, "state = 'skipped', skip_reason = $3", "'reserved'", args![reason]).await
    }

    /// Messages still `sending` after their lease: their sender stopped between handing them
    /// over and recording the answer. They become `ambiguous`, never resent. Returns how many.
    pub async fn sweep_ambiguous(&mut self, now: Timestamp) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE email_messages SET state = 'ambiguous', locked_until = NULL WHERE state = 'sending' AND locked_until <= $1",
            args![now],
        )
        .await
    }

    pub async fn get_message(&mut self, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        self.fetch_optional(&format!("SELECT {MESSAGE_COLUMNS} FROM email_messages WHERE id = $1"), args![id])
            .await?
            .as_ref()
            .map(message_from_row)
            .transpose()
    }

    pub async fn messages_of(&mut self, contact: ContactId) -> Result<Vec<MessageRecord>, StoreError> {
        self.fetch_all(
            &format!("SELECT {MESSAGE_COLUMNS} FROM email_messages WHERE contact_id = $1 ORDER BY reserved_at DESC, id DESC"),
            args![contact],
        )
        .await?
        .iter()
        .map(message_from_row)
        .collect()
    }

    /// Messages in a state (the admin's list of ambiguous ones), newest first.
    pub async fn messages_in(
        &mut self,
        state: MessageState,
        limit: i64,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.fetch_all(
            &format!("SELECT {MESSAGE_COLUMNS} FROM email_messages WHERE state = $1 ORDER BY reserved_at DESC, id DESC LIMIT $2"),
            args![state.as_str(), limit],
        )
        .await?
        .iter()
        .map(message_from_row)
        .collect()
    }

    /// Records an open; the first human open is kept apart from machine ones.
    pub async fn record_open(
        &mut self,
        id: MessageId,
        at: Timestamp,
        machine: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE email_messages SET opened_at = COALESCE(opened_at, $2), \
             human_opened_at = CASE WHEN $3 THEN human_opened_at ELSE COALESCE(human_opened_at, $2) END WHERE id = $1",
            args![id, at, machine],
        )
        .await?;
        Ok(())
    }

    /// Records a click on link `link`; the message's first human click is kept on it.
    pub async fn record_click(
        &mut self,
        id: MessageId,
        link: i64,
        url: &str,
        at: Timestamp,
        machine: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO email_clicks (message_id, link, url, at, machine) VALUES ($1, $2, $3, $4, $5)",
            args![id, link, url, at, machine],
        )
        .await?;
        if !machine {
            self.execute(
                "UPDATE email_messages SET clicked_at = COALESCE(clicked_at, $2) WHERE id = $1",
                args![id, at],
            )
            .await?;
        }
        Ok(())
    }

    /// Human clicks on the messages of an enrolment: the step clicked, and when.
    pub async fn enrolment_clicks(
        &mut self,
        enrolment: EnrolmentId,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        self.fetch_all(
            "SELECT m.step_key, c.at FROM email_clicks c JOIN email_messages m ON m.id = c.message_id \
             WHERE m.enrolment_id = $1 AND NOT c.machine ORDER BY c.at",
            args![enrolment],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.ts(1)?)))
        .collect()
    }

    /// Figures of each step of a sequence that reserved messages. A message converted when its
    /// person became MQL or went further within `within` of its sending.
    pub async fn step_figures(
        &mut self,
        sequence: SequenceId,
        within: jiff::SignedDuration,
    ) -> Result<Vec<StepFigures>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT step_key, \
                 SUM(CASE WHEN state IN ('reserved', 'sending') THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state IN ('sent', 'bounced') THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state = 'ambiguous' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state = 'bounced' OR bounce_kind IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state = 'skipped' THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN human_opened_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state = 'sent' AND bounce_kind IS NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM lifecycle_transitions l \
                     WHERE l.contact_id = m.contact_id AND l.at > m.sent_at AND l.at <= m.sent_at + $2 \
                     AND l.to_stage IN ('mql', 'sql', 'opportunity', 'customer')) THEN 1 ELSE 0 END) \
                 FROM email_messages m WHERE sequence_id = $1 GROUP BY step_key ORDER BY step_key",
                args![sequence, within.as_micros() as i64],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StepFigures {
                    step_key: r.get(0)?,
                    reserved: r.get(1)?,
                    sent: r.get(2)?,
                    ambiguous: r.get(3)?,
                    failed: r.get(4)?,
                    bounced: r.get(5)?,
                    skipped: r.get(6)?,
                    opened: r.get(7)?,
                    human_opened: r.get(8)?,
                    clicked: r.get(9)?,
                    delivered: r.get(10)?,
                    unsubscribed: r.get(11)?,
                    converted: r.get(12)?,
                })
            })
            .collect()
    }

    /// A contact's standing as a recipient (the default when nothing happened yet).
    pub async fn recipient(&mut self, contact: ContactId) -> Result<RecipientRecord, StoreError> {
        Ok(self.recipients(&[contact]).await?.remove(&contact).unwrap_or_default())
    }

    /// Records that a contact unsubscribed (the first time counts). Returns whether it is new.
    pub async fn record_unsubscribe(
        &mut self,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "INSERT INTO email_recipients (contact_id, unsubscribed_at) VALUES ($1, $2) ON CONFLICT (contact_id) \
                 DO UPDATE SET unsubscribed_at = excluded.unsubscribed_at WHERE email_recipients.unsubscribed_at IS NULL",
                args![contact, at],
            )
            .await?;
        Ok(n == 1)
    }

    /// Notes that the person unsubscribed through this message's link.
    pub async fn credit_unsubscribe(&mut self, message: MessageId, at: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE email_messages SET unsubscribed_at = $2 WHERE id = $1 AND unsubscribed_at IS NULL",
            args![message, at],
        )
        .await?;
        Ok(())
    }

    /// The latest consent decision for `purpose` of each of `contacts` that has one.
    pub async fn latest_consents(
        &mut self,
        contacts: &[ContactId],
        purpose: Purpose,
    ) -> Result<HashMap<ContactId, bool>, StoreError> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT contact_id, granted FROM consents WHERE purpose = $1 AND contact_id IN ({}) ORDER BY at, id",
                Session::placeholders(2, chunk.len())
            );
            let mut values = args![purpose.as_str()];
            values.extend(chunk.iter().map(|c| Arg::from(*c)));
            for r in self.fetch_all(&sql, values).await? {
                // Ordered by time: the last one read is the latest.
                out.insert(ContactId(r.get(0)?), r.get::<bool>(1)?);
            }
        }
        Ok(out)
    }

    /// [`Self::recipient`] of many contacts (those with a record).
    pub async fn recipients(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<HashMap<ContactId, RecipientRecord>, StoreError> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT contact_id, unsubscribed_at, hard_bounced_at, soft_bounces, last_delivered_at, replied_at \
                 FROM email_recipients WHERE contact_id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(|c| Arg::from(*c)).collect()).await? {
                out.insert(
                    ContactId(r.get(0)?),
                    RecipientRecord {
                        unsubscribed_at: r.opt_ts(1)?,
                        hard_bounced_at: r.opt_ts(2)?,
                        soft_bounces: r.get(3)?,
                        last_delivered_at: r.opt_ts(4)?,
                        replied_at: r.opt_ts(5)?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// When marketing messages went (or are about to go) to each of `contacts` since `since`:
    /// what the frequency cap counts.
    pub async fn recent_sends_of(
        &mut self,
        contacts: &[ContactId],
        since: Timestamp,
    ) -> Result<HashMap<ContactId, Vec<Timestamp>>, StoreError> {
        let mut out: HashMap<ContactId, Vec<Timestamp>> = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT contact_id, COALESCE(sent_at, sending_at, send_after) FROM email_messages WHERE contact_id IN ({}) \
                 AND state IN ('reserved', 'sending', 'sent', 'ambiguous', 'bounced') AND COALESCE(sent_at, sending_at, send_after) >= $1",
                Session::placeholders(2, chunk.len())
            );
            let mut values = args![since];
            values.extend(chunk.iter().map(|c| Arg::from(*c)));
            for r in self.fetch_all(&sql, values).await? {
                out.entry(ContactId(r.get(0)?)).or_default().push(r.ts(1)?);
            }
        }
        Ok(out)
    }

    /// Reserves many messages (each under its unique key; taken keys are skipped).
    pub async fn reserve_messages(
        &mut self,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows = messages
            .iter()
            .map(|m| {
                args![
                    m.id,
                    m.enrolment_id,
                    m.step_key.as_str(),
                    m.contact_id,
                    m.sequence_id,
                    m.template_id,
                    "reserved",
                    now,
                    m.send_after,
                    m.domain.as_deref()
                ]
            })
            .collect();
        self.insert_rows(
            "INSERT INTO email_messages (id, enrolment_id, step_key, contact_id, sequence_id, template_id, state, reserved_at, send_after, domain)",
            10,
            rows,
            "ON CONFLICT (enrolment_id, step_key) DO NOTHING",
        )
        .await
    }

    /// [`Self::save_position`] for many claimed enrolments, waiting or ending. Each applies
    /// only under its claim. Returns how many applied.
    pub async fn save_positions(
        &mut self,
        moves: &[PositionUpdate],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        if self.dialect() == crate::driver::Dialect::Sqlite {
            // In-process statements are cheap on SQLite: one prepared UPDATE each.
            let mut n = 0;
            for m in moves {
                n += u64::from(
                    self.save_position(m.id, m.lease, m.step, m.since, m.wake, m.reason, now).await?,
                );
            }
            return Ok(n);
        }
        // One round trip per thousand on PostgreSQL: a network round trip per enrolment was most
        // of the evaluation's time.
        let mut n = 0;
        for chunk in moves.chunks(1000) {
            let rows: Vec<String> =
                (0..chunk.len()).map(|i| format!("({})", Session::placeholders(i * 7 + 2, 7))).collect();
            let sql = format!(
                "UPDATE enrolments SET step = v.step, step_since = v.since, wake_at = v.wake, locked_until = NULL, \
                 state = v.state, exit_reason = v.reason, ended_at = CASE WHEN v.state = 'active' THEN NULL ELSE $1 END \
                 FROM (VALUES {}) AS v(id, lease, step, since, wake, state, reason) \
                 WHERE enrolments.id = v.id AND enrolments.locked_until = v.lease AND enrolments.state = 'active'",
                rows.join(", ")
            );
            let mut values = args![now];
            for m in chunk {
                let state = match (m.wake, m.reason) {
                    (Some(_), _) => "active",
                    (None, Some(_)) => "exited",
                    (None, None) => "completed",
                };
                values.extend(args![
                    m.id,
                    m.lease,
                    m.step,
                    m.since,
                    m.wake,
                    state,
                    m.reason.map(|r| r.as_str())
                ]);
            }
            n += self.execute(&sql, values).await?;
        }
        Ok(n)
    }

    /// Records that a contact replied to a message (the first reply counts).
    pub async fn record_reply(&mut self, contact: ContactId, at: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO email_recipients (contact_id, replied_at) VALUES ($1, $2) ON CONFLICT (contact_id) \
             DO UPDATE SET replied_at = COALESCE(email_recipients.replied_at, excluded.replied_at)",
            args![contact, at],
        )
        .await?;
        Ok(())
    }

    /// A delivery succeeded: the soft bounce count starts again.
    pub async fn record_delivered(&mut self, contact: ContactId, at: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO email_recipients (contact_id, last_delivered_at) VALUES ($1, $2) ON CONFLICT (contact_id) \
             DO UPDATE SET last_delivered_at = excluded.last_delivered_at, soft_bounces = 0",
            args![contact, at],
        )
        .await?;
        Ok(())
    }

    /// Counts a bounce; a hard one (or the soft one reaching `soft_limit`) marks the address hard
    /// bounced. Returns whether the address is hard bounced now.
    pub async fn record_bounce(
        &mut self,
        contact: ContactId,
        kind: BounceKind,
        at: Timestamp,
        soft_limit: i64,
    ) -> Result<bool, StoreError> {
        let soft = i64::from(kind == BounceKind::Soft);
        let row = self
            .fetch_one(
                "INSERT INTO email_recipients (contact_id, soft_bounces, hard_bounced_at) \
                 VALUES ($1, $2, CASE WHEN $3 OR $2 >= $5 THEN $4 ELSE NULL END) ON CONFLICT (contact_id) DO UPDATE SET \
                 soft_bounces = email_recipients.soft_bounces + excluded.soft_bounces, \
                 hard_bounced_at = COALESCE(email_recipients.hard_bounced_at, \
                   CASE WHEN $3 OR email_recipients.soft_bounces + excluded.soft_bounces >= $5 THEN $4 ELSE NULL END) \
                 RETURNING hard_bounced_at",
                args![contact, soft, kind == BounceKind::Hard, at, soft_limit],
            )
            .await?;
        Ok(row.opt_ts(0)?.is_some())
    }

    /// Marks a sent message bounced.
    pub async fn mark_bounced(
        &mut self,
        id: MessageId,
        kind: BounceKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE email_messages SET state = CASE WHEN state = 'sent' OR state = 'ambiguous' THEN 'bounced' ELSE state END, \
             bounce_kind = $2, bounced_at = $3 WHERE id = $1",
            args![id, kind.as_str(), at],
        )
        .await?;
        Ok(())
    }

    /// Keeps a received bounce: matched ones keep the verdict only, unmatched ones the raw text.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_bounce(
        &mut self,
        id: Uuid,
        at: Timestamp,
        message: Option<&MessageRecord>,
        kind: Option<BounceKind>,
        status: Option<&str>,
        diagnostic: Option<&str>,
        raw: Option<&str>,
        state: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO email_bounces (id, received_at, message_id, contact_id, kind, status, diagnostic, raw, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                id,
                at,
                message.map(|m| m.id),
                message.map(|m| m.contact_id),
                kind.map(|k| k.as_str()),
                status,
                diagnostic,
                raw,
                state
            ],
        )
        .await?;
        Ok(())
    }

    /// Bounce messages that matched no message, kept for review (newest first).
    pub async fn unmatched_bounces(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(Uuid, Timestamp, String)>, StoreError> {
        self.fetch_all(
            "SELECT id, received_at, COALESCE(raw, '') FROM email_bounces WHERE state = 'unmatched' \
             ORDER BY received_at DESC LIMIT $1",
            args![limit],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.ts(1)?, r.get(2)?)))
        .collect()
    }
}

/// How a claim walks what is due: in the order of its due-time index, from the front. On SQLite
/// the index is named (`INDEXED BY`): once every row is due at the same instant (a bulk
/// enrolment), the statistics make the due-time condition look unselective and the planner
/// scanned the whole table and sorted it for every batch of 500 (a million enrolments took
/// 266 s; see BENCHMARKS.md). On PostgreSQL, rows another claimer holds are skipped.
fn due_walk(dialect: Dialect, index: &str, alias: &str) -> (String, String) {
    match dialect {
        Dialect::Sqlite => (format!("INDEXED BY {index}"), String::new()),
        Dialect::Postgres => (String::new(), format!("FOR UPDATE OF {alias} SKIP LOCKED")),
    }
}

/// Only rows of active sequences are due. A test per row rather than a join: with a join the
/// planner may put the sequences outside and then sort every due row to find the first ones.
const ACTIVE_SEQUENCE_OF_E: &str =
    "EXISTS (SELECT 1 FROM sequences s WHERE s.id = e.sequence_id AND s.state = 'active')";
const ACTIVE_SEQUENCE_OF_M: &str =
    "EXISTS (SELECT 1 FROM sequences s WHERE s.id = m.sequence_id AND s.state = 'active')";

fn claim_enrolments_sql(dialect: Dialect) -> String {
    let (indexed, lock) = due_walk(dialect, "ix_enrolments_due", "e");
    format!(
        "UPDATE enrolments SET locked_until = $2 WHERE id IN (SELECT e.id FROM enrolments e {indexed} \
         WHERE e.state = 'active' AND e.wake_at <= $1 AND (e.locked_until IS NULL OR e.locked_until <= $1) \
         AND {ACTIVE_SEQUENCE_OF_E} ORDER BY e.wake_at LIMIT $3 {lock}) RETURNING {ENROLMENT_COLUMNS}"
    )
}

fn claim_messages_sql(dialect: Dialect) -> String {
    let (indexed, lock) = due_walk(dialect, "ix_email_messages_due", "m");
    format!(
        "UPDATE email_messages SET fence = fence + 1, sender = $2, locked_until = $3, claimed_at = $1 WHERE id IN \
         (SELECT m.id FROM email_messages m {indexed} \
         WHERE m.state = 'reserved' AND m.send_after <= $1 AND (m.locked_until IS NULL OR m.locked_until <= $1) \
         AND {ACTIVE_SEQUENCE_OF_M} ORDER BY m.send_after LIMIT $4 {lock}) RETURNING {MESSAGE_COLUMNS}"
    )
}

fn due_messages_sql(dialect: Dialect) -> String {
    let (indexed, _) = due_walk(dialect, "ix_email_messages_due", "m");
    format!(
        "SELECT m.id, m.domain FROM email_messages m {indexed} \
         WHERE m.state = 'reserved' AND m.send_after <= $1 AND (m.locked_until IS NULL OR m.locked_until <= $1) \
         AND {ACTIVE_SEQUENCE_OF_M} ORDER BY m.send_after LIMIT $2"
    )
}

fn sequence_json(s: &SequenceRecord) -> Result<(String, Option<String>), StoreError> {
    let steps = serde_json::to_string(&s.steps).map_err(|e| corrupt("sequence steps", e))?;
    let trigger = s
        .trigger
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| corrupt("sequence trigger", e))?;
    Ok((steps, trigger))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every enrolment and message due at one instant (a bulk enrolment) with fresh statistics:
    /// the claims must still walk the due-time index from its front, not scan and sort the
    /// table for each batch (which made a million enrolments take minutes on SQLite).
    #[test]
    fn claims_walk_the_due_index_when_everything_is_due_at_once() {
        let db = crate::migrate::sqlite_schema();
        db.execute_batch(
            "INSERT INTO sequences (id, name, steps, reenrol, state, created_at, updated_at) \
             VALUES (x'01', 's', '[]', 0, 'active', 0, 0);",
        )
        .unwrap();
        for i in 0..3000u32 {
            let id = i.to_be_bytes();
            db.execute(
                "INSERT INTO contacts (id, lifecycle_stage, search_text, created_at, updated_at) VALUES (?1, 'lead', '', 0, 0)",
                [&id[..]],
            )
            .unwrap();
            db.execute(
                "INSERT INTO enrolments (id, sequence_id, contact_id, step, step_since, wake_at, state, enrolled_at, enrolled_by) \
                 VALUES (?1, x'01', ?1, 0, 0, 100, 'active', 0, 'api')",
                [&id[..]],
            )
            .unwrap();
            db.execute(
                "INSERT INTO email_messages (id, enrolment_id, step_key, contact_id, sequence_id, template_id, state, reserved_at, send_after) \
                 VALUES (?1, ?1, 'a', ?1, x'01', x'03', 'reserved', 0, 100)",
                [&id[..]],
            )
            .unwrap();
        }
        db.execute_batch("ANALYZE").unwrap();
        for (sql, index) in [
            (claim_enrolments_sql(Dialect::Sqlite), "ix_enrolments_due"),
            (claim_messages_sql(Dialect::Sqlite), "ix_email_messages_due"),
            (due_messages_sql(Dialect::Sqlite), "ix_email_messages_due"),
        ] {
            let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let unbound = rusqlite::params_from_iter(vec![rusqlite::types::Null; plan.parameter_count()]);
            let steps: Vec<String> =
                plan.query_map(unbound, |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            assert!(steps.iter().any(|s| s.contains(index)), "{steps:?}");
            assert!(
                !steps.iter().any(|s| s == "SCAN e" || s == "SCAN m" || s.contains("TEMP B-TREE")),
                "{steps:?}"
            );
        }
    }
}
