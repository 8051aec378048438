//! The pipeline's use cases (DESIGN §9): create, edit, move and delete deals, with their
//! contacts and roles, the append-only history of their stages, the board, and the pipeline's
//! settings. A deal drives its contacts' lifecycle (`core::lifecycle::stage_after_deal`):
//! opening one makes an SQL an opportunity, winning it makes the buyers customers, losing it
//! may send them back to nurturing. Who may act on a deal follows the leads' access model: a
//! deal is held by its owner rep (`core::access`), unowned deals are in the open queue.

use jiff::Timestamp;
use leadgate_core::access::{LeadScope, Owner, Permission};
use leadgate_core::ids::{CompanyId, ContactId, DealId, UserId};
use leadgate_core::lifecycle::{Actor, DealEvent, LifecycleStage, Transition, stage_after_deal};
use leadgate_core::pipeline::{
    ContactRole, Deal, DealContact, DealDraft, DealMove, DealPatch, DealStage, PipelineSettings, StageChange,
    is_rotting,
};
use leadgate_store::Session;
use leadgate_store::cursor::{Cursor, Page};
use leadgate_store::pipeline::{DealFilter, StageTotal};
use serde::Serialize;

use crate::{App, AppError, Principal, new_uuid};

const SETTINGS_KEY: &str = "pipeline";

/// The day an instant falls on in UTC (deal dates are days; the workspace has no time zone yet).
fn utc_date(t: Timestamp) -> jiff::civil::Date {
    jiff::tz::Offset::UTC.to_datetime(t).date()
}
/// Cards shown per column of the board (the column's count and value cover all of its deals).
pub const BOARD_CARDS: u32 = 50;

/// A deal as served: the stored deal, its contacts, and what follows from the pipeline's
/// settings (probability, weighted value, rotting).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealView {
    #[serde(flatten)]
    pub deal: Deal,
    pub contacts: Vec<DealContact>,
    /// Win probability of its stage, in percent.
    pub probability: u8,
    /// Value × probability.
    pub weighted_value: Option<f64>,
    /// Open with nothing happening for the pipeline's rotting days.
    pub rotting: bool,
    /// The owner's name (a user's, or the source system's).
    pub owner: Option<String>,
}

/// A deal with its history of stages.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealDetail {
    #[serde(flatten)]
    pub view: DealView,
    /// Every change of stage, oldest first (a deal moved back shows both moves).
    pub history: Vec<StageChange>,
}

/// One column of the board.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardColumn {
    pub stage: DealStage,
    pub probability: u8,
    /// Deals in the stage (all of them, not only the cards shown).
    pub deals: i64,
    pub value: f64,
    /// Σ value × probability.
    pub weighted_value: f64,
    /// The newest deals of the stage, at most [`BOARD_CARDS`].
    pub cards: Vec<DealView>,
}

/// The pipeline board: a column per open stage, then won and lost.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Board {
    pub currency: String,
    pub columns: Vec<BoardColumn>,
}

/// A contact's part in a deal.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDeal {
    pub role: ContactRole,
    pub deal: DealView,
}

/// Which deals a list or the board shows (the caller's visibility applies on top).
#[derive(Debug, Clone, Default)]
pub struct DealQuery {
    pub stage: Option<DealStage>,
    pub open: bool,
    pub owner_id: Option<UserId>,
    pub company_id: Option<CompanyId>,
    pub contact_id: Option<ContactId>,
    pub product: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
}

impl App {
    /// The pipeline's settings (defaults until an admin changes them).
    pub async fn pipeline_settings(&self, principal: &Principal) -> Result<PipelineSettings, AppError> {
        principal.require(Permission::ReadContacts)?;
        self.settings_in(&mut self.store.read().await?).await
    }

    pub(crate) async fn settings_in(&self, s: &mut Session) -> Result<PipelineSettings, AppError> {
        match s.setting(SETTINGS_KEY).await? {
            Some(text) => PipelineSettings::from_stored(&text)
                .map_err(|e| AppError::Internal(format!("the stored pipeline settings are unreadable: {e}"))),
            None => Ok(PipelineSettings::default()),
        }
    }

    /// Changes the pipeline's settings (admins).
    pub async fn set_pipeline_settings(
        &self,
        principal: &Principal,
        settings: PipelineSettings,
    ) -> Result<PipelineSettings, AppError> {
        principal.require(Permission::ManageSettings)?;
        settings.validate()?;
        let mut tx = self.store.begin().await?;
        // A stage goes only once no open deal is in it (history keeps its key).
        let open = DealFilter { open: true, ..Default::default() };
        let mut errors = leadgate_core::validation::ValidationErrors::default();
        for t in tx.stage_totals(&open).await? {
            if !settings.has(t.stage) {
                errors.add(
                    "stages",
                    format!(
                        "{} open deal(s) are in `{}`: move them to another stage before removing it",
                        t.deals, t.stage
                    ),
                );
            }
        }
        errors.into_result(())?;
        let text = serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.to_string()))?;
        tx.put_setting(SETTINGS_KEY, &text).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Who holds a deal, for the access rules: its owner rep, or the open queue.
    fn deal_holder(deal: &Deal) -> Owner {
        deal.owner_id.map_or(Owner::Unassigned, Owner::Rep)
    }

    /// Refuses a deal the caller may not read ("not found").
    async fn require_deal_read(&self, s: &mut Session, p: &Principal, deal: &Deal) -> Result<(), AppError> {
        p.require(Permission::ReadContacts)?;
        if self.may_read_held(s, p, Self::deal_holder(deal)).await? {
            Ok(())
        } else {
            Err(AppError::not_found("deal", deal.id))
        }
    }

    /// Refuses a change of a deal the caller may not change: admins every deal; a rep its own,
    /// its reports', and an unowned one (which it then may take).
    async fn require_deal_change(&self, s: &mut Session, p: &Principal, deal: &Deal) -> Result<(), AppError> {
        self.require_deal_read(s, p, deal).await?;
        p.require(Permission::ManageDeals)?;
        if p.user.role.acts_on_every_lead() || deal.owner_id.is_none_or(|o| o == p.user.id) {
            return Ok(());
        }
        let org = self.org(s).await?;
        if leadgate_core::access::may_change(p.user.role, p.user.id, Self::deal_holder(deal), &org) {
            Ok(())
        } else {
            Err(AppError::Forbidden { role: p.user.role.as_str(), action: "change a deal another rep owns" })
        }
    }

    /// Checks a deal's owner: an active user; a rep may give a deal only to itself or to a rep
    /// it manages.
    async fn check_owner(&self, s: &mut Session, p: &Principal, owner: UserId) -> Result<(), AppError> {
        match s.get_user(owner).await? {
            Some(u) if u.disabled_at.is_none() => {}
            _ => return Err(AppError::invalid("owner_id", format!("{owner} is not an active user"))),
        }
        if p.user.role.acts_on_every_lead() || owner == p.user.id {
            return Ok(());
        }
        if self.org(s).await?.manages(p.user.id, owner) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                role: p.user.role.as_str(),
                action: "give a deal to a rep you do not manage",
            })
        }
    }

    /// Checks a deal's contacts: each exists and, for a rep, is one it may work on. Returns
    /// them locked, in the order given.
    async fn check_deal_contacts(
        &self,
        tx: &mut Session,
        p: &Principal,
        contacts: &[DealContact],
    ) -> Result<Vec<leadgate_core::contact::Contact>, AppError> {
        let mut out = Vec::with_capacity(contacts.len());
        let mut missing = leadgate_core::validation::ValidationErrors::default();
        // One lock order for every use case: contacts by id.
        let mut order: Vec<(usize, ContactId)> = contacts.iter().map(|c| c.contact_id).enumerate().collect();
        order.sort_by_key(|(_, id)| *id);
        let mut locked = std::collections::HashMap::new();
        for (i, id) in order {
            match tx.lock_contact(id).await? {
                Some(c) => {
                    locked.insert(i, c);
                }
                None => {
                    missing.add(format!("contacts[{i}].contact_id"), format!("no contact has the id {id}"))
                }
            }
        }
        missing.into_result(())?;
        for (i, c) in contacts.iter().enumerate() {
            if !p.user.role.acts_on_every_lead() {
                self.require_change(tx, p, c.contact_id, Permission::ManageDeals, false).await?;
            }
            out.push(locked.remove(&i).ok_or_else(|| AppError::Internal("contact lock".into()))?);
        }
        Ok(out)
    }

    /// Creates a deal. Its owner is the rep creating it, else the rep its first contact is
    /// assigned to; its company, source and campaign default to its first contact's. An SQL
    /// taking part becomes an opportunity.
    pub async fn create_deal(&self, principal: &Principal, draft: DealDraft) -> Result<DealDetail, AppError> {
        principal.require(Permission::ManageDeals)?;
        self.retrying(|| self.create_deal_once(principal, draft.clone())).await
    }

    async fn create_deal_once(
        &self,
        principal: &Principal,
        draft: DealDraft,
    ) -> Result<DealDetail, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let settings = self.settings_in(&mut tx).await?;
        let new = draft.validate(&settings)?;
        let contacts = self.check_deal_contacts(&mut tx, principal, &new.contacts).await?;
        let first = contacts.first();
        let owner_id = match new.owner_id {
            Some(o) => Some(o),
            None if principal.user.role == leadgate_core::access::Role::Sales => Some(principal.user.id),
            None => match first {
                Some(c) => match self.holder(&mut tx, c.id).await? {
                    Owner::Rep(r) => Some(r),
                    _ => None,
                },
                None => None,
            },
        };
        if let Some(o) = owner_id {
            self.check_owner(&mut tx, principal, o).await?;
        }
        let company_id = new.company_id.or_else(|| first.and_then(|c| c.company_id));
        if let Some(c) = company_id
            && tx.get_company(c).await?.is_none()
        {
            return Err(AppError::invalid("company_id", format!("no company has the id {c}")));
        }
        let deal = Deal {
            id: DealId(new_uuid()),
            external_id: None,
            name: new.name,
            company_id,
            stage: new.stage,
            stage_changed_at: now,
            owner_id,
            owner_name: None,
            product: new.product,
            value: new.value,
            currency: new.currency,
            expected_close_on: new.expected_close_on,
            engaged_on: Some(utc_date(now)),
            closed_on: None,
            lost_reason: None,
            source: new.source.or_else(|| first.and_then(|c| c.source.clone())),
            campaign: new.campaign.or_else(|| first.and_then(|c| c.campaign.clone())),
            custom: Default::default(),
            created_at: now,
            updated_at: now,
        };
        tx.insert_deal(&deal, &new.contacts).await?;
        let change = StageChange {
            deal_id: deal.id,
            from: None,
            to: deal.stage,
            at: now,
            user_id: Some(principal.user.id),
            lost_reason: None,
            note: None,
        };
        tx.insert_stage_change(&change).await?;
        self.deal_moves_contacts(&mut tx, &deal, &new.contacts, DealEvent::Opened, now).await?;
        let detail = self.detail_in(&mut tx, deal, &settings, now).await?;
        self.announce_deal(&mut tx, "deal.created", &detail.view, None, now).await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Changes a deal's fields or contacts (the stage changes by a move).
    pub async fn update_deal(
        &self,
        principal: &Principal,
        id: DealId,
        patch: DealPatch,
    ) -> Result<DealDetail, AppError> {
        principal.require(Permission::ManageDeals)?;
        self.retrying(|| self.update_deal_once(principal, id, patch.clone())).await
    }

    async fn update_deal_once(
        &self,
        principal: &Principal,
        id: DealId,
        patch: DealPatch,
    ) -> Result<DealDetail, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let settings = self.settings_in(&mut tx).await?;
        let before = tx.lock_deal(id).await?.ok_or_else(|| AppError::not_found("deal", id))?;
        self.require_deal_change(&mut tx, principal, &before).await?;
        let mut deal = before.clone();
        let mut contacts = tx.deal_contacts(id).await?;
        let old_contacts = contacts.clone();
        patch.apply(&mut deal, &mut contacts)?;
        if deal.owner_id != before.owner_id
            && let Some(o) = deal.owner_id
        {
            self.check_owner(&mut tx, principal, o).await?;
        }
        if deal.company_id != before.company_id
            && let Some(c) = deal.company_id
            && tx.get_company(c).await?.is_none()
        {
            return Err(AppError::invalid("company_id", format!("no company has the id {c}")));
        }
        if contacts != old_contacts {
            let added: Vec<DealContact> = contacts
                .iter()
                .copied()
                .filter(|c| !old_contacts.iter().any(|o| o.contact_id == c.contact_id))
                .collect();
            self.check_deal_contacts(&mut tx, principal, &added).await?;
            tx.set_deal_contacts(id, &contacts).await?;
            // A buyer joining an open deal is in it like the others.
            if !deal.stage.is_closed() {
                self.deal_moves_contacts(&mut tx, &deal, &added, DealEvent::Opened, now).await?;
            }
        }
        if deal != before {
            deal.updated_at = now;
            tx.update_deal(&deal).await?;
        }
        let detail = self.detail_in(&mut tx, deal, &settings, now).await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Moves a deal to another stage, recording the change; a loss needs one of the pipeline's
    /// reasons. Winning makes its buyers customers; losing with `nurture` sends its contacts
    /// back to nurturing (those with no other open deal); reopening makes an SQL an opportunity.
    pub async fn move_deal(
        &self,
        principal: &Principal,
        id: DealId,
        mv: DealMove,
    ) -> Result<DealDetail, AppError> {
        principal.require(Permission::ManageDeals)?;
        self.retrying(|| self.move_deal_once(principal, id, mv.clone())).await
    }

    async fn move_deal_once(
        &self,
        principal: &Principal,
        id: DealId,
        mv: DealMove,
    ) -> Result<DealDetail, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let settings = self.settings_in(&mut tx).await?;
        let mut deal = tx.lock_deal(id).await?.ok_or_else(|| AppError::not_found("deal", id))?;
        self.require_deal_change(&mut tx, principal, &deal).await?;
        let reason = mv.check(deal.stage, &settings)?;
        let from = deal.stage;
        deal.stage = mv.to;
        deal.stage_changed_at = now;
        deal.lost_reason = reason.clone();
        deal.closed_on = mv.to.is_closed().then(|| utc_date(now));
        deal.updated_at = now;
        tx.update_deal(&deal).await?;
        let note = mv.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(String::from);
        let change = StageChange {
            deal_id: id,
            from: Some(from),
            to: mv.to,
            at: now,
            user_id: Some(principal.user.id),
            lost_reason: reason,
            note,
        };
        tx.insert_stage_change(&change).await?;
        let contacts = tx.deal_contacts(id).await?;
        // Contacts are locked in id order, as every use case does.
        let mut ids: Vec<ContactId> = contacts.iter().map(|c| c.contact_id).collect();
        ids.sort();
        for c in &ids {
            tx.lock_contact(*c).await?;
        }
        let event = match mv.to {
            DealStage::WON => Some(DealEvent::Won),
            DealStage::LOST => Some(DealEvent::Lost { nurture: mv.nurture }),
            _ if from.is_closed() => Some(DealEvent::Opened),
            _ => None,
        };
        if let Some(event) = event {
            self.deal_moves_contacts(&mut tx, &deal, &contacts, event, now).await?;
        }
        let detail = self.detail_in(&mut tx, deal, &settings, now).await?;
        self.announce_deal(&mut tx, "deal.moved", &detail.view, Some(&change), now).await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Moves the contacts of a deal that `event` moves (`stage_after_deal`), each recorded
    /// with the deal as the actor, then routes, announces and rescores them as any move does.
    async fn deal_moves_contacts(
        &self,
        tx: &mut Session,
        deal: &Deal,
        contacts: &[DealContact],
        event: DealEvent,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let mut transitions = Vec::new();
        let mut changes = Vec::new();
        for c in contacts.iter().filter(|c| c.role.buys()) {
            let Some(contact) = tx.get_contact(c.contact_id).await? else { continue };
            let from = contact.lifecycle_stage;
            let Some(to) = stage_after_deal(from, event) else { continue };
            if matches!(event, DealEvent::Lost { .. })
                && tx.open_deals_of_contact(contact.id, deal.id).await? > 0
            {
                continue; // another deal is still open with it: it stays an opportunity
            }
            let reason = match event {
                DealEvent::Opened => format!("deal opened: {}", deal.name),
                DealEvent::Won => format!("deal won: {}", deal.name),
                DealEvent::Lost { .. } => format!(
                    "deal lost: {} ({})",
                    deal.name,
                    deal.lost_reason.as_deref().unwrap_or("no reason")
                ),
            };
            tx.set_stage(contact.id, to, false, now).await?;
            if !matches!(to, LifecycleStage::Sql | LifecycleStage::Opportunity | LifecycleStage::Customer) {
                tx.set_sales_decision(contact.id, None, None).await?;
            }
            let transition = Transition {
                contact_id: contact.id,
                from,
                to,
                at: now,
                actor: Actor::Deal { deal_id: deal.id },
                reason,
            };
            let facts = match tx.scoring_inputs(&[contact.id]).await?.pop() {
                Some(input) => crate::handoff::lead_facts(&input.contact, input.company.as_ref()),
                None => Default::default(),
            };
            changes.push(crate::handoff::StageChange { contact: contact.id, from, to, facts });
            transitions.push(transition);
        }
        if transitions.is_empty() {
            return Ok(());
        }
        tx.insert_transitions(&transitions).await?;
        self.handoff_after_moves(tx, changes, &transitions, now).await?;
        let ids: Vec<ContactId> = transitions.iter().map(|t| t.contact_id).collect();
        self.rescore_in(tx, &ids, now, &Default::default()).await?;
        Ok(())
    }

    /// Deletes a deal (its history goes with it); its contacts keep their stages.
    pub async fn delete_deal(&self, principal: &Principal, id: DealId) -> Result<(), AppError> {
        principal.require(Permission::ManageDeals)?;
        let mut tx = self.store.begin().await?;
        let deal = tx.lock_deal(id).await?.ok_or_else(|| AppError::not_found("deal", id))?;
        self.require_deal_change(&mut tx, principal, &deal).await?;
        tx.delete_deal(id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A deal with its contacts and history.
    pub async fn deal(&self, principal: &Principal, id: DealId) -> Result<DealDetail, AppError> {
        let mut s = self.store.read().await?;
        let deal = s.get_deal(id).await?.ok_or_else(|| AppError::not_found("deal", id))?;
        self.require_deal_read(&mut s, principal, &deal).await?;
        let settings = self.settings_in(&mut s).await?;
        self.detail_in(&mut s, deal, &settings, self.now()).await
    }

    async fn detail_in(
        &self,
        s: &mut Session,
        deal: Deal,
        settings: &PipelineSettings,
        now: Timestamp,
    ) -> Result<DealDetail, AppError> {
        let history = s.stage_changes(deal.id).await?;
        let mut views = self.views_in(s, vec![deal], settings, now).await?;
        let view = views.pop().ok_or_else(|| AppError::Internal("deal view".into()))?;
        Ok(DealDetail { view, history })
    }

    /// Serves deals: their contacts, probability, rotting flag and owner's name.
    async fn views_in(
        &self,
        s: &mut Session,
        deals: Vec<Deal>,
        settings: &PipelineSettings,
        now: Timestamp,
    ) -> Result<Vec<DealView>, AppError> {
        let ids: Vec<DealId> = deals.iter().filter(|d| !d.stage.is_closed()).map(|d| d.id).collect();
        let activity = s.last_deal_activity(&ids).await?;
        let users: std::collections::HashMap<UserId, String> =
            s.list_users().await?.into_iter().map(|u| (u.id, u.name.unwrap_or(u.email))).collect();
        let mut out = Vec::with_capacity(deals.len());
        for deal in deals {
            let contacts = s.deal_contacts(deal.id).await?;
            let probability = settings.probability(deal.stage);
            let rotting = is_rotting(&deal, activity.get(&deal.id).copied(), settings, now);
            let owner =
                deal.owner_id.and_then(|o| users.get(&o).cloned()).or_else(|| deal.owner_name.clone());
            out.push(DealView {
                weighted_value: deal.value.map(|v| v * f64::from(probability) / 100.0),
                probability,
                rotting,
                owner,
                contacts,
                deal,
            });
        }
        Ok(out)
    }

    /// The filter of a query, narrowed to what the caller reads.
    async fn deal_filter(
        &self,
        s: &mut Session,
        p: &Principal,
        q: &DealQuery,
    ) -> Result<DealFilter, AppError> {
        let mut f = DealFilter {
            stage: q.stage,
            open: q.open,
            owner_id: q.owner_id,
            company_id: q.company_id,
            contact_id: q.contact_id,
            product: q.product.clone(),
            created_from: q.created_from,
            created_to: q.created_to,
            ..Default::default()
        };
        if let LeadScope::Held { reps, unassigned } = self.lead_scope(s, p).await? {
            f.visible_owners = Some((reps, unassigned));
        }
        Ok(f)
    }

    /// Deals matching `q` that the caller reads, newest first.
    pub async fn list_deals(
        &self,
        principal: &Principal,
        q: &DealQuery,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<DealView>, AppError> {
        let mut s = self.store.read().await?;
        let filter = self.deal_filter(&mut s, principal, q).await?;
        let settings = self.settings_in(&mut s).await?;
        let deals = s.list_deals(&filter, limit + 1, after.map(|c| DealId(c.id))).await?;
        let views = self.views_in(&mut s, deals, &settings, self.now()).await?;
        Ok(Page::from_rows(views, limit, |d| Cursor { key: 0, id: d.deal.id.as_uuid() }))
    }

    /// A contact's deals, with its role in each.
    pub async fn deals_of_contact(
        &self,
        principal: &Principal,
        contact: ContactId,
    ) -> Result<Vec<ContactDeal>, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        let settings = self.settings_in(&mut s).await?;
        let (deals, roles): (Vec<Deal>, Vec<ContactRole>) =
            s.deals_of_contact(contact).await?.into_iter().unzip();
        let views = self.views_in(&mut s, deals, &settings, self.now()).await?;
        Ok(views.into_iter().zip(roles).map(|(deal, role)| ContactDeal { role, deal }).collect())
    }

    /// The board: each stage's count, value and weighted value, and its newest deals.
    pub async fn board(&self, principal: &Principal, q: &DealQuery) -> Result<Board, AppError> {
        let mut s = self.store.read().await?;
        let filter = self.deal_filter(&mut s, principal, q).await?;
        let settings = self.settings_in(&mut s).await?;
        let totals: Vec<StageTotal> = s.stage_totals(&filter).await?;
        let now = self.now();
        let mut columns = Vec::new();
        // The pipeline's stages, then any it no longer has that deals are still in (a stage
        // removed while a deal moved into it), so no deal drops off the board.
        let mut stages = settings.open_stages();
        stages.extend(totals.iter().map(|t| t.stage).filter(|st| !settings.has(*st)));
        for stage in stages.into_iter().chain(DealStage::CLOSED) {
            let total = totals.iter().find(|t| t.stage == stage);
            let (deals, value) = total.map_or((0, 0.0), |t| (t.deals, t.value));
            let probability = settings.probability(stage);
            let cards = if deals == 0 {
                Vec::new()
            } else {
                let column = DealFilter { stage: Some(stage), ..filter.clone() };
                let rows = s.list_deals(&column, BOARD_CARDS, None).await?;
                self.views_in(&mut s, rows, &settings, now).await?
            };
            columns.push(BoardColumn {
                stage,
                probability,
                deals,
                value,
                weighted_value: value * f64::from(probability) / 100.0,
                cards,
            });
        }
        Ok(Board { currency: settings.currency, columns })
    }

    /// Tells webhook subscribers about a deal (its first contact is the one it is about, so
    /// erasing that contact erases the message).
    async fn announce_deal(
        &self,
        tx: &mut Session,
        event_type: &str,
        deal: &DealView,
        change: Option<&StageChange>,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let data = serde_json::json!({ "deal": deal, "change": change });
        let about = deal.contacts.first().map(|c| c.contact_id);
        self.emit_payloads_in(tx, event_type, vec![(about, data)], now).await
    }
}

/// The purpose of the task that asks a rep to reach a decision maker.
pub const REACH_DECISION_MAKER: &str = "reach_decision_maker";

/// A change of a contact's role in its account's purchase.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BuyingRoleChange {
    /// decision_maker, intermediary, user or other; null forgets the role.
    pub role: Option<ContactRole>,
    /// For an intermediary, user or other: the decision maker it leads to (a contact of the
    /// same company; one without a role becomes the decision maker).
    pub decision_maker_id: Option<ContactId>,
}

/// A contact's role in the purchase, its decision maker, and who points to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyingRoleView {
    pub contact_id: ContactId,
    pub role: Option<ContactRole>,
    pub decision_maker_id: Option<ContactId>,
    /// The intermediaries (and others) that lead to this contact.
    pub led_by: Vec<ContactId>,
}

/// A member of an account's buying group.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyingGroupMemberView {
    pub contact_id: ContactId,
    pub email: Option<String>,
    pub name: String,
    pub job_title: Option<String>,
    pub lifecycle_stage: String,
    /// None: not known yet.
    pub role: Option<ContactRole>,
    pub decision_maker_id: Option<ContactId>,
    /// The rep holding the contact's lead, if handed to sales.
    pub owner_id: Option<UserId>,
}

impl App {
    /// A contact's role in the purchase and the links between contacts.
    pub async fn buying_role(
        &self,
        principal: &Principal,
        contact: ContactId,
    ) -> Result<BuyingRoleView, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, contact).await?;
        buying_role_in(&mut s, contact).await
    }

    /// Sets a contact's role in the purchase (and an intermediary's decision maker).
    pub async fn set_buying_role(
        &self,
        principal: &Principal,
        contact: ContactId,
        change: BuyingRoleChange,
    ) -> Result<BuyingRoleView, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let me = tx.get_contact(contact).await?.ok_or_else(|| AppError::not_found("contact", contact))?;
        self.require_change(&mut tx, principal, contact, Permission::EditLeads, false).await?;
        let value = match (change.role, change.decision_maker_id) {
            (None, Some(_)) => {
                return Err(AppError::invalid("role", "give the contact's role to name its decision maker"));
            }
            (None, None) => None,
            (Some(ContactRole::DecisionMaker), Some(_)) => {
                return Err(AppError::invalid(
                    "decision_maker_id",
                    "a decision maker leads to no one; give this only for an intermediary, a user or other",
                ));
            }
            (Some(role), Some(dm)) => {
                if dm == contact {
                    return Err(AppError::invalid("decision_maker_id", "is this contact itself"));
                }
                let them = tx.get_contact(dm).await?.ok_or_else(|| {
                    AppError::invalid("decision_maker_id", format!("no contact has the id {dm}"))
                })?;
                self.require_read(&mut tx, principal, dm).await.map_err(|_| {
                    AppError::invalid("decision_maker_id", format!("no contact has the id {dm}"))
                })?;
                if me.company_id.is_some() && them.company_id != me.company_id {
                    return Err(AppError::invalid(
                        "decision_maker_id",
                        "is a contact of another company; a buying group is one account's",
                    ));
                }
                // The contact it points to decides, unless someone said otherwise.
                if tx.buying_roles_of(&[dm]).await?.is_empty() {
                    tx.set_buying_role(
                        dm,
                        Some((ContactRole::DecisionMaker, None)),
                        Some(principal.user.id),
                        now,
                    )
                    .await?;
                }
                Some((role, Some(dm)))
            }
            (Some(role), None) => Some((role, None)),
        };
        tx.set_buying_role(contact, value, Some(principal.user.id), now).await?;
        let view = buying_role_in(&mut tx, contact).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A company's contacts with their role in the purchase, decision makers first.
    pub async fn buying_group(
        &self,
        principal: &Principal,
        company: CompanyId,
    ) -> Result<Vec<BuyingGroupMemberView>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        s.get_company(company).await?.ok_or_else(|| AppError::not_found("company", company))?;
        let mut out = Vec::new();
        for m in s.buying_group(company).await? {
            // A rep sees the members it may read.
            if self.require_read(&mut s, principal, m.contact_id).await.is_err() {
                continue;
            }
            let name = [m.first_name.as_deref(), m.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let name = match (name.is_empty(), &m.email) {
                (false, _) => name,
                (true, Some(email)) => email.clone(),
                (true, None) => m.contact_id.to_string(),
            };
            out.push(BuyingGroupMemberView {
                contact_id: m.contact_id,
                name,
                email: m.email,
                job_title: m.job_title,
                lifecycle_stage: m.lifecycle_stage,
                role: m.role,
                decision_maker_id: m.decision_maker_id,
                owner_id: m.owner_id,
            });
        }
        Ok(out)
    }

    /// When an intermediary shows intent (asks for a quote, a demo, sales, information), the
    /// rep of its account's decision maker gets a task to reach the decision maker; a decision
    /// maker nobody holds is routed first, under the agreement. An intermediary has no buying
    /// authority: it is not a prospect, but it leads to one. One open task per decision maker.
    pub(crate) async fn intermediary_intent_in(
        &self,
        tx: &mut Session,
        fresh: &[leadgate_core::event::Event],
        now: Timestamp,
    ) -> Result<(), AppError> {
        use leadgate_core::event::EventKind;
        let mut asking: Vec<(ContactId, EventKind)> = fresh
            .iter()
            .filter(|e| e.kind.is_intent_signal() || e.kind == EventKind::InformationRequest)
            .map(|e| (e.contact_id, e.kind.clone()))
            .collect();
        if asking.is_empty() {
            return Ok(());
        }
        asking.sort_by_key(|(c, _)| *c);
        asking.dedup_by_key(|(c, _)| *c);
        let ids: Vec<ContactId> = asking.iter().map(|(c, _)| *c).collect();
        let roles = tx.buying_roles_of(&ids).await?;
        for (contact, kind) in asking {
            let Some(me) = tx.get_contact(contact).await? else { continue };
            let role = roles.iter().find(|r| r.contact_id == contact);
            let intermediary = role.is_some_and(|r| r.role == ContactRole::Intermediary)
                || me.lifecycle_stage == LifecycleStage::Intermediary;
            if !intermediary {
                continue;
            }
            // Its decision maker: the one it points to, else its company's.
            let dm = match role.and_then(|r| r.decision_maker_id) {
                Some(dm) => Some(dm),
                None => match me.company_id {
                    Some(company) => tx
                        .buying_group(company)
                        .await?
                        .into_iter()
                        .find(|m| m.role == Some(ContactRole::DecisionMaker))
                        .map(|m| m.contact_id),
                    None => None,
                },
            };
            let Some(dm) = dm else { continue };
            if tx.has_open_task(dm, REACH_DECISION_MAKER).await? {
                continue;
            }
            let rep = match tx.open_assignment(dm).await? {
                Some(a) => a.rep_id,
                None => {
                    let Some(input) = tx.scoring_inputs(&[dm]).await?.pop() else { continue };
                    let facts = crate::handoff::lead_facts(&input.contact, input.company.as_ref());
                    self.assign_in(tx, dm, facts, &[], now).await?.rep_id
                }
            };
            let Some(rep) = rep else { continue };
            let task = leadgate_store::handoff::TaskRecord {
                id: leadgate_core::ids::TaskId(crate::new_uuid()),
                contact_id: dm,
                assignee_id: rep,
                kind: "call".into(),
                // The intermediary is not named: the title belongs to the decision maker's task
                // and would outlive the intermediary's erasure. The buying group shows who.
                title: format!(
                    "Reach the decision maker: an intermediary of theirs made a {}",
                    kind.as_str().replace('_', " ")
                ),
                due_at: now + jiff::SignedDuration::from_hours(24),
                created_at: now,
                created_by: None,
                done_at: None,
                notified_at: None,
                purpose: Some(REACH_DECISION_MAKER.into()),
            };
            self.save_tasks(tx, vec![task]).await?;
        }
        Ok(())
    }
}

async fn buying_role_in(s: &mut Session, contact: ContactId) -> Result<BuyingRoleView, AppError> {
    let role = s.buying_roles_of(&[contact]).await?.pop();
    Ok(BuyingRoleView {
        contact_id: contact,
        role: role.as_ref().map(|r| r.role),
        decision_maker_id: role.and_then(|r| r.decision_maker_id),
        led_by: s.intermediaries_of(contact).await?,
    })
}
