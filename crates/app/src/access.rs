//! Access to leads in the use cases: who holds a lead, whether the caller may read it, change
//! it or take it, and which leads its lists show. The rules are `leadgate_core::access`; this
//! module reads their inputs (the lead's open assignment, the reps' teams and managers, the
//! workspace's visibility setting) inside the caller's transaction, so a check and the change
//! it guards see the same data.
//!
//! A lead the caller may not read answers "not found" (its existence is nobody else's
//! business); one it reads but may not change answers "forbidden".

use leadgate_core::access::{self, LeadScope, Org, Owner, Permission, Visibility};
use leadgate_core::handoff::RepProfile;
use leadgate_core::ids::{ContactId, UserId};
use leadgate_store::Session;
use leadgate_store::handoff::TaskRecord;

use crate::{App, AppError, Principal};

/// The settings key of [`Visibility`].
const VISIBILITY_KEY: &str = "lead_visibility";

fn refused(p: &Principal, action: Permission) -> AppError {
    AppError::Forbidden { role: p.user.role.as_str(), action: leads_of_others(action) }
}

/// The refusal's words: the action, on someone else's lead.
fn leads_of_others(action: Permission) -> &'static str {
    match action {
        Permission::WorkLeads => "accept or reject a lead held by another rep",
        Permission::LogTouches => "log touches on a lead held by another rep",
        Permission::ManageTasks => "create or complete tasks on a lead held by another rep",
        Permission::EditChecklist => "answer the checklist of a lead held by another rep",
        Permission::MoveSalesStages => "move a lead held by another rep",
        Permission::AssignLeads => "hand over a lead held by another rep, or to a rep you do not manage",
        Permission::EditLeads => "edit a lead held by another rep",
        _ => "act on a lead held by another rep",
    }
}

impl App {
    /// The workspace's visibility setting (the default until an admin sets one).
    pub(crate) async fn visibility(&self, s: &mut Session) -> Result<Visibility, AppError> {
        match s.setting(VISIBILITY_KEY).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| AppError::Internal(format!("the stored lead visibility is unreadable: {e}"))),
            None => Ok(Visibility::default()),
        }
    }

    /// Which leads sales reps read (everyone may read the setting).
    pub async fn lead_visibility(&self, principal: &Principal) -> Result<Visibility, AppError> {
        principal.require(Permission::ReadContacts)?;
        self.visibility(&mut self.store.read().await?).await
    }

    /// Sets which leads sales reps read (admins).
    pub async fn set_lead_visibility(
        &self,
        principal: &Principal,
        v: Visibility,
    ) -> Result<Visibility, AppError> {
        principal.require(Permission::ManageSettings)?;
        let text = serde_json::to_string(&v).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        tx.put_setting(VISIBILITY_KEY, &text).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// The reps' teams and managers, from their profiles.
    pub(crate) async fn org(&self, s: &mut Session) -> Result<Org, AppError> {
        let profiles = s.rep_profiles().await?;
        let mut reps = Vec::with_capacity(profiles.len());
        for (user, text) in profiles {
            let p: RepProfile = serde_json::from_str(&text).map_err(|e| {
                AppError::Internal(format!("stored profile of rep {user} is unreadable: {e}"))
            })?;
            reps.push((user, p.team, p.manager_id));
        }
        Ok(Org::new(reps))
    }

    /// Who holds a contact now.
    pub(crate) async fn holder(&self, s: &mut Session, id: ContactId) -> Result<Owner, AppError> {
        Ok(match s.open_assignment(id).await? {
            Some(a) => a.rep_id.map_or(Owner::Unassigned, Owner::Rep),
            None => Owner::NotHanded,
        })
    }

    /// Refuses a contact the caller may not read ("not found").
    pub(crate) async fn require_read(
        &self,
        s: &mut Session,
        p: &Principal,
        id: ContactId,
    ) -> Result<(), AppError> {
        p.require(Permission::ReadContacts)?;
        if p.user.role.allows(Permission::ReadAllLeads) {
            return Ok(());
        }
        let owner = self.holder(s, id).await?;
        if self.may_read_held(s, p, owner).await? { Ok(()) } else { Err(AppError::not_found("contact", id)) }
    }

    /// Whether the caller may read what `owner` holds (a lead, a deal), under the workspace's
    /// visibility setting.
    pub(crate) async fn may_read_held(
        &self,
        s: &mut Session,
        p: &Principal,
        owner: Owner,
    ) -> Result<bool, AppError> {
        if p.user.role.allows(Permission::ReadAllLeads) || owner == Owner::Rep(p.user.id) {
            return Ok(true);
        }
        let (org, vis) = (self.org(s).await?, self.visibility(s).await?);
        Ok(access::may_read(p.user.role, p.user.id, owner, &org, vis))
    }

    /// Refuses a change (`action`, a permission scoped to the caller's leads) of a lead the caller
    /// may not change; with `claim`, a lead nobody holds may be taken by a rep.
    pub(crate) async fn require_change(
        &self,
        s: &mut Session,
        p: &Principal,
        id: ContactId,
        action: Permission,
        claim: bool,
    ) -> Result<Owner, AppError> {
        p.require(action)?;
        let owner = self.holder(s, id).await?;
        if p.user.role.acts_on_every_lead() || owner == Owner::Rep(p.user.id) {
            return Ok(owner);
        }
        let (org, vis) = (self.org(s).await?, self.visibility(s).await?);
        let role = p.user.role;
        if access::may_change(role, p.user.id, owner, &org) || (claim && access::may_claim(role, owner, vis))
        {
            Ok(owner)
        } else if access::may_read(role, p.user.id, owner, &org, vis) {
            Err(refused(p, action))
        } else {
            Err(AppError::not_found("contact", id))
        }
    }

    /// Refuses handing a lead to `target` that the caller may not hand over.
    pub(crate) async fn require_assign(
        &self,
        s: &mut Session,
        p: &Principal,
        id: ContactId,
        target: UserId,
    ) -> Result<Owner, AppError> {
        p.require(Permission::AssignLeads)?;
        let owner = self.holder(s, id).await?;
        if p.user.role.acts_on_every_lead() {
            return Ok(owner);
        }
        let (org, vis) = (self.org(s).await?, self.visibility(s).await?);
        let role = p.user.role;
        if access::may_assign(role, p.user.id, owner, target, &org, vis) {
            Ok(owner)
        } else if access::may_read(role, p.user.id, owner, &org, vis) {
            Err(refused(p, Permission::AssignLeads))
        } else {
            Err(AppError::not_found("contact", id))
        }
    }

    /// Refuses a change of a task the caller may not touch: its own tasks, those of the reps it
    /// manages, and any for those acting on every lead.
    pub(crate) async fn require_task(
        &self,
        s: &mut Session,
        p: &Principal,
        t: &TaskRecord,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageTasks)?;
        if p.user.role.acts_on_every_lead() || t.assignee_id == p.user.id {
            return Ok(());
        }
        let org = self.org(s).await?;
        if org.manages(p.user.id, t.assignee_id) { Ok(()) } else { Err(AppError::not_found("task", t.id)) }
    }

    /// Refuses reading the work lists (queue, tasks) of another user the caller may not see.
    pub(crate) async fn require_work_of(
        &self,
        s: &mut Session,
        p: &Principal,
        user: UserId,
    ) -> Result<(), AppError> {
        p.require(Permission::ReadContacts)?;
        if user == p.user.id || p.user.role.allows(Permission::ReadAllLeads) {
            return Ok(());
        }
        let (org, vis) = (self.org(s).await?, self.visibility(s).await?);
        if access::may_see_work_of(p.user.role, p.user.id, user, &org, vis) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                role: p.user.role.as_str(),
                action: "see the queue or tasks of a rep outside your team",
            })
        }
    }

    /// Refuses the unassigned queue to reps when the setting hides it.
    pub(crate) async fn require_unassigned_queue(
        &self,
        s: &mut Session,
        p: &Principal,
    ) -> Result<(), AppError> {
        p.require(Permission::ReadContacts)?;
        if p.user.role.allows(Permission::ReadAllLeads) || self.visibility(s).await?.unassigned {
            Ok(())
        } else {
            Err(AppError::Forbidden { role: p.user.role.as_str(), action: "see the unassigned queue" })
        }
    }

    /// Which leads the caller's lists show.
    pub(crate) async fn lead_scope(&self, s: &mut Session, p: &Principal) -> Result<LeadScope, AppError> {
        p.require(Permission::ReadContacts)?;
        if p.user.role.allows(Permission::ReadAllLeads) {
            return Ok(LeadScope::All);
        }
        let (org, vis) = (self.org(s).await?, self.visibility(s).await?);
        Ok(LeadScope::of(p.user.role, p.user.id, &org, vis))
    }
}
