//! Lifecycle use cases: moves made by people (checked against the legal moves), sales accepting
//! or rejecting a lead, the qualification checklist, and the history of a contact's stages.
//! After each, the contact is rescored so the automatic rules can take the next step (a
//! complete checklist on an accepted MQL makes it an SQL at once).

use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::ids::ContactId;
use leadgate_core::lifecycle::{Actor, IllegalTransition, LifecycleStage, Transition, check_manual};
use leadgate_core::qualification::{Answer, Checklist, ChecklistItem, Criterion};
use leadgate_core::validation::is_plain_text;
use leadgate_store::Session;
use serde::{Deserialize, Serialize};

use crate::{App, AppError, Principal};

/// Why sales rejected a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    NotAFit,
    NoBudget,
    /// The contact cannot decide: it becomes an intermediary.
    NoAuthority,
    BadData,
    Duplicate,
    Unreachable,
    /// Say why in the note.
    Other,
}

impl RejectReason {
    /// The code clients send (`no_budget`), kept on the assignment for the figures.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::NotAFit => "not_a_fit",
            RejectReason::NoBudget => "no_budget",
            RejectReason::NoAuthority => "no_authority",
            RejectReason::BadData => "bad_data",
            RejectReason::Duplicate => "duplicate",
            RejectReason::Unreachable => "unreachable",
            RejectReason::Other => "other",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NotAFit => "not a fit",
            RejectReason::NoBudget => "no budget",
            RejectReason::NoAuthority => "no authority",
            RejectReason::BadData => "bad data",
            RejectReason::Duplicate => "duplicate",
            RejectReason::Unreachable => "unreachable",
            RejectReason::Other => "other",
        }
    }
}

/// A contact's stage and how it got there.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifecycleView {
    pub contact_id: ContactId,
    pub stage: LifecycleStage,
    /// Where a person may move it from here.
    pub allowed_moves: Vec<LifecycleStage>,
    pub sales_accepted: bool,
    pub checklist: Checklist,
    /// Oldest first.
    pub history: Vec<Transition>,
}

impl From<IllegalTransition> for AppError {
    fn from(e: IllegalTransition) -> Self {
        AppError::IllegalTransition(e)
    }
}

fn check_reason(reason: Option<&str>, required: bool) -> Result<String, AppError> {
    let reason = reason.map(str::trim).unwrap_or_default();
    if required && reason.is_empty() {
        return Err(AppError::invalid("reason", "is required for this move: say why, for the record"));
    }
    if reason.chars().count() > 500 || !is_plain_text(reason) {
        return Err(AppError::invalid("reason", "must be plain text of at most 500 characters"));
    }
    Ok(reason.to_string())
}

impl App {
    /// A person moves a contact to another stage.
    pub async fn move_contact(
        &self,
        principal: &Principal,
        id: ContactId,
        to: LifecycleStage,
        reason: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        self.retrying(|| self.move_contact_once(principal, id, to, reason)).await
    }

    async fn move_contact_once(
        &self,
        principal: &Principal,
        id: ContactId,
        to: LifecycleStage,
        reason: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        let needs_reason = matches!(
            to,
            LifecycleStage::Disqualified
                | LifecycleStage::Nurturing
                | LifecycleStage::Intermediary
                | LifecycleStage::Churned
        );
        let reason = check_reason(reason, needs_reason)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let contact = tx.lock_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        if !principal.user.role.allows(Permission::ChangeLifecycle) {
            // A rep moves its own leads, and only out of the sales stages.
            self.require_change(&mut tx, principal, id, Permission::MoveSalesStages, false).await?;
            if !matches!(
                contact.lifecycle_stage,
                LifecycleStage::Mql | LifecycleStage::Sql | LifecycleStage::Opportunity
            ) {
                return Err(AppError::Forbidden {
                    role: principal.user.role.as_str(),
                    action: "move a contact that is not in the sales stages (MQL, SQL, opportunity)",
                });
            }
        }
        check_manual(contact.lifecycle_stage, to)?;
        self.record_move(&mut tx, principal, id, contact.lifecycle_stage, to, reason, now).await?;
        if !matches!(to, LifecycleStage::Sql | LifecycleStage::Opportunity | LifecycleStage::Customer) {
            tx.set_sales_decision(id, None, None).await?;
        }
        self.rescore_in(&mut tx, &[id], now, &Default::default()).await?;
        let view = lifecycle_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_move(
        &self,
        tx: &mut Session,
        principal: &Principal,
        id: ContactId,
        from: LifecycleStage,
        to: LifecycleStage,
        reason: String,
        now: Timestamp,
    ) -> Result<(), AppError> {
        tx.set_stage(id, to, true, now).await?;
        let transition = Transition {
            contact_id: id,
            from,
            to,
            at: now,
            actor: Actor::User { user_id: principal.user.id },
            reason: if reason.is_empty() { "moved by hand".into() } else { reason },
        };
        tx.insert_transitions(std::slice::from_ref(&transition)).await?;
        let facts = match tx.scoring_inputs(&[id]).await?.pop() {
            Some(input) => crate::handoff::lead_facts(&input.contact, input.company.as_ref()),
            None => Default::default(),
        };
        let change = crate::handoff::StageChange { contact: id, from, to, facts };
        self.handoff_after_moves(tx, vec![change], &[transition], now).await?;
        Ok(())
    }

    /// Sales accepts an MQL. It becomes an SQL as soon as its checklist is complete.
    pub async fn accept_lead(&self, principal: &Principal, id: ContactId) -> Result<LifecycleView, AppError> {
        self.retrying(|| self.accept_lead_once(principal, id)).await
    }

    async fn accept_lead_once(
        &self,
        principal: &Principal,
        id: ContactId,
    ) -> Result<LifecycleView, AppError> {
        principal.require(Permission::WorkLeads)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let contact = tx.lock_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        self.require_change(&mut tx, principal, id, Permission::WorkLeads, true).await?;
        if contact.lifecycle_stage != LifecycleStage::Mql {
            return Err(AppError::StateConflict(format!(
                "only marketing-qualified leads (MQL) can be accepted; this contact is `{}`",
                contact.lifecycle_stage
            )));
        }
        let input =
            tx.scoring_inputs(&[id]).await?.pop().ok_or_else(|| AppError::not_found("contact", id))?;
        if input.sales_accepted {
            // Accepting twice (a double click, a retry) changes nothing.
            let view = lifecycle_view(&mut tx, id).await?;
            return Ok(view);
        }
        tx.set_sales_decision(id, Some((principal.user.id, now)), None).await?;
        let facts = crate::handoff::lead_facts(&input.contact, input.company.as_ref());
        self.accept_assignment_in(&mut tx, id, principal.user.id, facts, now).await?;
        self.rescore_in(&mut tx, &[id], now, &Default::default()).await?;
        let view = lifecycle_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Sales rejects a lead with a reason: it goes back to nurturing (or becomes an intermediary
    /// for lack of authority) and cannot be re-qualified before the recycling period ends.
    pub async fn reject_lead(
        &self,
        principal: &Principal,
        id: ContactId,
        reason: RejectReason,
        note: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        self.retrying(|| self.reject_lead_once(principal, id, reason, note)).await
    }

    async fn reject_lead_once(
        &self,
        principal: &Principal,
        id: ContactId,
        reason: RejectReason,
        note: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        principal.require(Permission::WorkLeads)?;
        let note = check_reason(note, reason == RejectReason::Other)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let contact = tx.lock_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        self.require_change(&mut tx, principal, id, Permission::WorkLeads, true).await?;
        if !matches!(contact.lifecycle_stage, LifecycleStage::Mql | LifecycleStage::Sql) {
            return Err(AppError::StateConflict(format!(
                "only leads handed to sales (MQL or SQL) can be rejected; this contact is `{}`",
                contact.lifecycle_stage
            )));
        }
        let to = if reason == RejectReason::NoAuthority {
            LifecycleStage::Intermediary
        } else {
            LifecycleStage::Nurturing
        };
        let why = if note.is_empty() {
            format!("rejected by sales: {}", reason.as_str())
        } else {
            format!("rejected by sales: {} ({note})", reason.as_str())
        };
        // Closed before the move, so the move does not read as the lead leaving another way.
        self.reject_assignment_in(&mut tx, id, reason.code(), now).await?;
        self.record_move(&mut tx, principal, id, contact.lifecycle_stage, to, why, now).await?;
        let recycle = self.recycle_period(&mut tx).await?;
        tx.set_sales_decision(id, None, Some(now + recycle)).await?;
        // Back with marketing: the recycle sequence (if one is set) takes it from here.
        if to == LifecycleStage::Nurturing {
            use leadgate_core::nurture::Trigger;
            self.enrol_on_trigger_in(&mut tx, id, |t| matches!(t, Trigger::RejectedBySales), now).await?;
        }
        if reason == RejectReason::NoAuthority {
            let item = ChecklistItem {
                answer: Answer::No,
                set_by: Some(principal.user.id),
                set_at: Some(now),
                note: Some("rejected by sales: no authority".into()),
            };
            tx.set_checklist_item(id, Criterion::Authority, &item).await?;
        }
        self.rescore_in(&mut tx, &[id], now, &Default::default()).await?;
        let view = lifecycle_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Sets one checklist answer; authority `no` makes an intermediary, a complete checklist on
    /// an accepted MQL makes an SQL.
    pub async fn set_checklist(
        &self,
        principal: &Principal,
        id: ContactId,
        criterion: Criterion,
        answer: Answer,
        note: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        self.retrying(|| self.set_checklist_once(principal, id, criterion, answer, note)).await
    }

    async fn set_checklist_once(
        &self,
        principal: &Principal,
        id: ContactId,
        criterion: Criterion,
        answer: Answer,
        note: Option<&str>,
    ) -> Result<LifecycleView, AppError> {
        let note = check_reason(note, false)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.lock_contact(id).await?.is_none() {
            return Err(AppError::not_found("contact", id));
        }
        self.require_change(&mut tx, principal, id, Permission::EditChecklist, false).await?;
        let item = ChecklistItem {
            answer,
            set_by: Some(principal.user.id),
            set_at: Some(now),
            note: (!note.is_empty()).then_some(note),
        };
        tx.set_checklist_item(id, criterion, &item).await?;
        self.rescore_in(&mut tx, &[id], now, &Default::default()).await?;
        let view = lifecycle_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn lifecycle(&self, principal: &Principal, id: ContactId) -> Result<LifecycleView, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        lifecycle_view(&mut s, id).await
    }
}

async fn lifecycle_view(s: &mut Session, id: ContactId) -> Result<LifecycleView, AppError> {
    let input = s.scoring_inputs(&[id]).await?.pop().ok_or_else(|| AppError::not_found("contact", id))?;
    let stage = input.contact.lifecycle_stage;
    Ok(LifecycleView {
        contact_id: id,
        stage,
        allowed_moves: leadgate_core::lifecycle::manual_targets(stage).to_vec(),
        sales_accepted: input.sales_accepted,
        checklist: input.checklist,
        history: s.transitions_of(id).await?,
    })
}
