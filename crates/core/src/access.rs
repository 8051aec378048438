//! Who may do what. Two questions, answered here and nowhere else:
//!
//! 1. **What kind of action a role may take** ([`Role::allows`] over [`Permission`]): one table,
//!    reviewable at a glance (the README prints it).
//! 2. **Which leads a user may read or change** ([`may_read`], [`may_change`], [`may_claim`]):
//!    admins and marketing act on every lead; a sales rep changes only the leads assigned to it
//!    (and, if it manages other reps, theirs), may take a lead waiting in the unassigned queue,
//!    and reads what the workspace's [`Visibility`] lets reps read (its own leads, its team's,
//!    or every contact), like HubSpot's record visibility.
//!
//! The application layer asks these questions in every use case, inside the transaction of
//! the change, so no handler can forget them.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// A user's role in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the workspace: users, keys, settings, the sales agreement, webhooks, and everything
    /// marketing does.
    Admin,
    /// Captures and qualifies: contacts, companies, events, imports, consent, fields, scoring,
    /// forms, models; acts on every lead but does not accept or reject for sales.
    Marketing,
    /// Works the leads handed over: reads what the workspace's visibility allows, and on its
    /// own leads (a manager: also its reports') logs touches, keeps tasks and the checklist,
    /// accepts, rejects and moves them through the sales stages.
    Sales,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Marketing, Role::Sales];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketing => "marketing",
            Role::Sales => "sales",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may perform `permission` (on a lead: see also [`may_change`]).
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Marketing => !matches!(
                permission,
                WorkLeads
                    | ManageUsers
                    | ManageHandoff
                    | ManageWebhooks
                    | ManageSettings
                    | ManageDeals
                    | ReadAuditLog
            ),
            Role::Sales => matches!(
                permission,
                ReadContacts
                    | CreateContacts
                    | EditLeads
                    | LogTouches
                    | ManageTasks
                    | EditChecklist
                    | MoveSalesStages
                    | AssignLeads
                    | WorkLeads
                    | ManageDeals
                    | ManageOwnApiKeys
            ),
        }
    }

    /// Whether the role acts on every lead, whoever it is assigned to.
    pub fn acts_on_every_lead(self) -> bool {
        self.allows(Permission::ChangeAllLeads)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action that needs a right. Those marked *scoped* apply, for a sales rep, only to the
/// leads it may change ([`may_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read contacts, companies and timelines (a sales rep: those its visibility allows).
    ReadContacts,
    /// Read every contact whatever the visibility setting.
    ReadAllLeads,
    /// Act on every lead, whoever it is assigned to.
    ChangeAllLeads,
    /// Create contacts as leads (a new prospect on the phone, a trade-fair sheet).
    CreateContacts,
    /// Edit any contact, and create and edit companies.
    WriteContacts,
    /// Edit a lead's fields (scoped).
    EditLeads,
    /// Delete contacts and companies.
    DeleteContacts,
    /// Record events through the API (integrations: the site, the CRM).
    RecordEvents,
    /// Log calls, e-mails and meetings (scoped).
    LogTouches,
    /// Create and complete follow-up tasks (scoped).
    ManageTasks,
    /// Answer the qualification checklist (scoped).
    EditChecklist,
    /// Move any contact between lifecycle stages, create contacts at any stage, route leads.
    ChangeLifecycle,
    /// Move a lead out of the sales stages (MQL, SQL, opportunity) (scoped).
    MoveSalesStages,
    /// Hand a lead to a rep (scoped: a sales rep takes an unassigned lead, or hands its own).
    AssignLeads,
    /// Accept or reject leads handed to sales (scoped).
    WorkLeads,
    /// Upload and import files (which may declare custom fields and outcomes).
    Import,
    /// Record a consent (or its withdrawal) for a contact.
    RecordConsent,
    /// Declare custom fields.
    ManageFields,
    /// Create and revoke one's own API keys.
    ManageOwnApiKeys,
    /// Create users, change roles, revoke anyone's keys.
    ManageUsers,
    /// Edit the scoring rules and start rescoring.
    ManageScoring,
    /// Create and edit web forms.
    ManageForms,
    /// Train conversion models and choose the active one.
    ManageModels,
    /// Set up sales reps, routing and the marketing–sales agreement.
    ManageHandoff,
    /// Subscribe webhooks and redeliver their messages.
    ManageWebhooks,
    /// Change workspace settings (who reads which leads, the pipeline's stages and reasons).
    ManageSettings,
    /// Create, edit, move and delete deals (scoped: a rep, its own and its reports' deals).
    ManageDeals,
    /// Export a person's data, erase people, run and review the retention purge.
    ManagePersonalData,
    /// Read the audit log of sensitive actions.
    ReadAuditLog,
    /// Write e-mail templates and sequences, enrol contacts, read bounces.
    ManageNurture,
}

impl Permission {
    pub const ALL: [Permission; 30] = [
        Permission::ReadContacts,
        Permission::ReadAllLeads,
        Permission::ChangeAllLeads,
        Permission::CreateContacts,
        Permission::WriteContacts,
        Permission::EditLeads,
        Permission::DeleteContacts,
        Permission::RecordEvents,
        Permission::LogTouches,
        Permission::ManageTasks,
        Permission::EditChecklist,
        Permission::ChangeLifecycle,
        Permission::MoveSalesStages,
        Permission::AssignLeads,
        Permission::WorkLeads,
        Permission::Import,
        Permission::RecordConsent,
        Permission::ManageFields,
        Permission::ManageOwnApiKeys,
        Permission::ManageUsers,
        Permission::ManageScoring,
        Permission::ManageForms,
        Permission::ManageModels,
        Permission::ManageHandoff,
        Permission::ManageWebhooks,
        Permission::ManageSettings,
        Permission::ManageDeals,
        Permission::ManagePersonalData,
        Permission::ReadAuditLog,
        Permission::ManageNurture,
    ];

    /// What the permission lets one do, for "you may not …" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadContacts => "read contacts",
            Permission::ReadAllLeads => "read every contact",
            Permission::ChangeAllLeads => "act on leads assigned to other reps",
            Permission::CreateContacts => "create contacts",
            Permission::WriteContacts => "edit any contact, or create and edit companies",
            Permission::EditLeads => "edit this lead",
            Permission::DeleteContacts => "delete contacts and companies",
            Permission::RecordEvents => "record events through the API",
            Permission::LogTouches => "log calls, e-mails and meetings",
            Permission::ManageTasks => "create or complete tasks",
            Permission::EditChecklist => "answer the qualification checklist",
            Permission::ChangeLifecycle => "move contacts between any stages or route leads",
            Permission::MoveSalesStages => "move leads out of the sales stages",
            Permission::AssignLeads => "hand leads to reps",
            Permission::WorkLeads => "accept or reject leads (sales only)",
            Permission::Import => "import files",
            Permission::RecordConsent => "record consents",
            Permission::ManageFields => "declare custom fields",
            Permission::ManageOwnApiKeys => "manage your API keys",
            Permission::ManageUsers => "manage users and their keys",
            Permission::ManageScoring => "edit the scoring rules",
            Permission::ManageForms => "create or edit web forms",
            Permission::ManageModels => "train or activate prediction models",
            Permission::ManageHandoff => "set up sales reps, routing and the sales agreement (admins only)",
            Permission::ManageWebhooks => "manage webhooks (admins only)",
            Permission::ManageSettings => "change workspace settings (admins only)",
            Permission::ManageDeals => "create, edit or move deals (admins and sales)",
            Permission::ManagePersonalData => "export or erase a person's data (admins and marketing)",
            Permission::ReadAuditLog => "read the audit log (admins)",
            Permission::ManageNurture => {
                "write e-mail templates and sequences, or enrol contacts (admins and marketing)"
            }
        }
    }
}

/// Which leads sales reps read (a workspace setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Their own leads (and, for a manager, its reports').
    Own,
    /// Their team's leads: reps of the same team (and a manager's reports).
    Team,
    /// Every contact.
    All,
}

/// What sales reps may read: the workspace's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Visibility {
    /// Whose leads a rep reads.
    pub reps_see: Scope,
    /// Whether reps read (and may take) the leads waiting in the unassigned queue.
    pub unassigned: bool,
}

impl Default for Visibility {
    /// A rep reads its team's leads and the unassigned queue.
    fn default() -> Self {
        Visibility { reps_see: Scope::Team, unassigned: true }
    }
}

/// Who holds a lead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Assigned to this rep (an open assignment).
    Rep(UserId),
    /// Handed to sales and waiting for a rep (the unassigned queue).
    Unassigned,
    /// Not in sales' hands.
    NotHanded,
}

/// The reps' teams and managers, from their profiles: what "team" and "manages" mean.
#[derive(Debug, Clone, Default)]
pub struct Org {
    /// Per rep: its team (compared without case) and its manager.
    reps: HashMap<UserId, (Option<String>, Option<UserId>)>,
}

impl Org {
    pub fn new(reps: impl IntoIterator<Item = (UserId, Option<String>, Option<UserId>)>) -> Org {
        Org {
            reps: reps
                .into_iter()
                .map(|(u, team, manager)| (u, (team.map(|t| t.to_lowercase()), manager)))
                .collect(),
        }
    }

    /// Whether `manager` manages `rep`: named as its manager, or as the manager of a manager
    /// up the chain (a cycle in the profiles ends the walk).
    pub fn manages(&self, manager: UserId, rep: UserId) -> bool {
        let mut at = rep;
        for _ in 0..=self.reps.len() {
            match self.reps.get(&at).and_then(|(_, m)| *m) {
                Some(m) if m == manager => return true,
                Some(m) => at = m,
                None => return false,
            }
        }
        false
    }

    /// Whether two users are reps of the same team.
    pub fn teammates(&self, a: UserId, b: UserId) -> bool {
        let team = |u: UserId| self.reps.get(&u).and_then(|(t, _)| t.as_deref());
        matches!((team(a), team(b)), (Some(x), Some(y)) if x == y)
    }

    /// The reps whose leads `actor` reads under `scope` (itself included), or `None` for all.
    pub fn readable_reps(&self, actor: UserId, scope: Scope) -> Option<Vec<UserId>> {
        if scope == Scope::All {
            return None;
        }
        let mut reps: Vec<UserId> = self
            .reps
            .keys()
            .copied()
            .filter(|&r| {
                r != actor && (self.manages(actor, r) || (scope == Scope::Team && self.teammates(actor, r)))
            })
            .collect();
        reps.push(actor);
        reps.sort();
        Some(reps)
    }
}

/// Which leads a list shows its reader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LeadScope {
    /// Every contact.
    #[default]
    All,
    /// Contacts held by these reps, and those waiting unassigned if `unassigned`.
    Held { reps: Vec<UserId>, unassigned: bool },
}

impl LeadScope {
    /// What `actor` (with `role`) reads.
    pub fn of(role: Role, actor: UserId, org: &Org, visibility: Visibility) -> LeadScope {
        if role.allows(Permission::ReadAllLeads) {
            return LeadScope::All;
        }
        match org.readable_reps(actor, visibility.reps_see) {
            None => LeadScope::All,
            Some(reps) => LeadScope::Held { reps, unassigned: visibility.unassigned },
        }
    }
}

/// Whether `actor` (with `role`) may change a lead held by `owner`: every lead for admins and
/// marketing; for a rep, its own and those of the reps it manages.
pub fn may_change(role: Role, actor: UserId, owner: Owner, org: &Org) -> bool {
    role.acts_on_every_lead() || matches!(owner, Owner::Rep(r) if r == actor || org.manages(actor, r))
}

/// Whether a sales rep may take a lead nobody holds (accept, reject or assign it to itself):
/// only if reps see the unassigned queue.
pub fn may_claim(role: Role, owner: Owner, visibility: Visibility) -> bool {
    role == Role::Sales && visibility.unassigned && !matches!(owner, Owner::Rep(_))
}

/// Whether `actor` may read a lead held by `owner`.
pub fn may_read(role: Role, actor: UserId, owner: Owner, org: &Org, visibility: Visibility) -> bool {
    if role.allows(Permission::ReadAllLeads)
        || visibility.reps_see == Scope::All
        || may_change(role, actor, owner, org)
    {
        return true;
    }
    match owner {
        Owner::Rep(r) => visibility.reps_see == Scope::Team && org.teammates(actor, r),
        Owner::Unassigned => visibility.unassigned,
        Owner::NotHanded => false,
    }
}

/// Whether `actor` may see the work lists (queue, tasks) of `user`.
pub fn may_see_work_of(role: Role, actor: UserId, user: UserId, org: &Org, visibility: Visibility) -> bool {
    actor == user || may_read(role, actor, Owner::Rep(user), org, visibility)
}

/// Whether `actor` may give a lead held by `owner` to `target`: anyone with the right to change
/// every lead; a rep, a lead it may change or take, to itself or to a rep it manages.
pub fn may_assign(
    role: Role,
    actor: UserId,
    owner: Owner,
    target: UserId,
    org: &Org,
    visibility: Visibility,
) -> bool {
    if role.acts_on_every_lead() {
        return true;
    }
    let lead_ok = may_change(role, actor, owner, org) || may_claim(role, owner, visibility);
    lead_ok && (target == actor || org.manages(actor, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn the_table_matches_the_roles_described() {
        use Permission::*;
        assert!(Role::Admin.allows(ManageUsers) && Role::Admin.allows(ManageSettings));
        assert!(!Role::Marketing.allows(ManageUsers));
        assert!(Role::Marketing.allows(ManageFields) && Role::Marketing.allows(DeleteContacts));
        assert!(Role::Marketing.allows(Import) && Role::Marketing.allows(RecordConsent));
        assert!(Role::Sales.allows(ReadContacts) && Role::Sales.allows(LogTouches));
        // What the sales role's description does not say, it may not do.
        for p in [
            Import,
            RecordConsent,
            RecordEvents,
            ChangeLifecycle,
            WriteContacts,
            DeleteContacts,
            ManageFields,
            ReadAllLeads,
            ChangeAllLeads,
        ] {
            assert!(!Role::Sales.allows(p), "{p:?}");
        }
        assert!(Role::Marketing.allows(ManageScoring) && !Role::Sales.allows(ManageScoring));
        assert!(Role::Sales.allows(WorkLeads) && !Role::Marketing.allows(WorkLeads));
        assert!(Role::Marketing.allows(ManageModels) && !Role::Sales.allows(ManageModels));
        assert!(Role::Marketing.acts_on_every_lead() && !Role::Sales.acts_on_every_lead());
    }

    #[test]
    fn reps_change_their_own_and_their_reports_leads_only() {
        let (ada, bob, cid, boss, top) = (u(1), u(2), u(3), u(4), u(5));
        let org = Org::new([
            (ada, Some("Inside".into()), Some(boss)),
            (bob, Some("inside".into()), None),
            (cid, Some("field".into()), None),
            (boss, None, Some(top)),
        ]);
        assert!(may_change(Role::Sales, ada, Owner::Rep(ada), &org));
        assert!(!may_change(Role::Sales, bob, Owner::Rep(ada), &org), "a teammate's lead");
        assert!(may_change(Role::Sales, boss, Owner::Rep(ada), &org), "a report's lead");
        assert!(may_change(Role::Sales, top, Owner::Rep(ada), &org), "a report of a report");
        assert!(!may_change(Role::Sales, ada, Owner::Unassigned, &org));
        assert!(may_change(Role::Marketing, cid, Owner::Rep(ada), &org));
        let vis = Visibility::default();
        assert!(may_claim(Role::Sales, Owner::Unassigned, vis));
        assert!(!may_claim(Role::Sales, Owner::Rep(ada), vis));
        assert!(!may_claim(Role::Sales, Owner::Unassigned, Visibility { unassigned: false, ..vis }));
        assert!(may_assign(Role::Sales, bob, Owner::Unassigned, bob, &org, vis), "take an unassigned lead");
        assert!(!may_assign(Role::Sales, bob, Owner::Rep(ada), bob, &org, vis), "take a teammate's lead");
        assert!(may_assign(Role::Sales, boss, Owner::Rep(ada), bob, &org, vis) == org.manages(boss, bob));
    }

    #[test]
    fn what_reps_read_follows_the_visibility_setting() {
        let (ada, bob, cid, boss) = (u(1), u(2), u(3), u(4));
        let org = Org::new([
            (ada, Some("inside".into()), Some(boss)),
            (bob, Some("Inside".into()), None),
            (cid, Some("field".into()), None),
        ]);
        let team = Visibility { reps_see: Scope::Team, unassigned: true };
        let own = Visibility { reps_see: Scope::Own, unassigned: false };
        let all = Visibility { reps_see: Scope::All, unassigned: false };
        assert!(may_read(Role::Sales, bob, Owner::Rep(ada), &org, team), "a teammate's");
        assert!(!may_read(Role::Sales, cid, Owner::Rep(ada), &org, team), "another team's");
        assert!(!may_read(Role::Sales, bob, Owner::Rep(ada), &org, own));
        assert!(may_read(Role::Sales, boss, Owner::Rep(ada), &org, own), "a manager reads its reports'");
        assert!(may_read(Role::Sales, cid, Owner::Rep(ada), &org, all));
        assert!(may_read(Role::Sales, cid, Owner::Unassigned, &org, team));
        assert!(!may_read(Role::Sales, cid, Owner::Unassigned, &org, own));
        assert!(!may_read(Role::Sales, cid, Owner::NotHanded, &org, team));
        assert!(may_read(Role::Marketing, cid, Owner::NotHanded, &org, own));
        let mut readable = org.readable_reps(bob, Scope::Team).unwrap();
        readable.sort();
        assert_eq!(readable, vec![ada, bob]);
        assert_eq!(org.readable_reps(boss, Scope::Own).unwrap(), vec![ada, boss]);
        assert_eq!(org.readable_reps(bob, Scope::All), None);
        assert!(
            may_see_work_of(Role::Sales, bob, ada, &org, team)
                && !may_see_work_of(Role::Sales, bob, ada, &org, own)
        );
    }
}
