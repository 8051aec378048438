//! Who may do what. Users have one role; every API endpoint and UI action names the
//! [`Permission`] it needs, and [`Role::allows`] is the single table that answers. Keeping the
//! table here (not scattered over handlers) makes it reviewable at a glance and testable.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's role in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the workspace: users, keys, settings, and everything the others do.
    Admin,
    /// Captures and qualifies: contacts, companies, events, fields, scoring, imports, models.
    Marketing,
    /// Works the prospects handed over: reads contacts, logs touches, accepts or rejects leads.
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

    /// Whether this role may perform `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Marketing => {
                !matches!(permission, ManageUsers | WorkLeads | ManageHandoff | ManageWebhooks)
            }
            Role::Sales => matches!(
                permission,
                ReadContacts | WriteContacts | RecordEvents | ManageOwnApiKeys | ChangeLifecycle | WorkLeads
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action that needs a right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read contacts, companies and timelines.
    ReadContacts,
    /// Create and edit contacts and companies.
    WriteContacts,
    /// Delete contacts and companies.
    DeleteContacts,
    /// Record events on timelines.
    RecordEvents,
    /// Declare custom fields.
    ManageFields,
    /// Create and revoke one's own API keys.
    ManageOwnApiKeys,
    /// Create users, change roles, revoke anyone's keys.
    ManageUsers,
    /// Edit the scoring rules and start rescoring.
    ManageScoring,
    /// Move contacts between lifecycle stages by hand.
    ChangeLifecycle,
    /// Accept or reject leads handed to sales.
    WorkLeads,
    /// Create and edit web forms.
    ManageForms,
    /// Train conversion models and choose the active one.
    ManageModels,
    /// Set up sales reps, routing rules and the marketing–sales agreement.
    ManageHandoff,
    /// Subscribe webhooks and redeliver their messages.
    ManageWebhooks,
}

impl Permission {
    /// What the permission lets one do, for "you may not …" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadContacts => "read contacts",
            Permission::WriteContacts => "create or edit contacts and companies",
            Permission::DeleteContacts => "delete contacts and companies",
            Permission::RecordEvents => "record events",
            Permission::ManageFields => "declare custom fields",
            Permission::ManageOwnApiKeys => "manage your API keys",
            Permission::ManageUsers => "manage users and their keys",
            Permission::ManageScoring => "edit the scoring rules",
            Permission::ChangeLifecycle => "change a contact's lifecycle stage",
            Permission::WorkLeads => "accept or reject leads (sales only)",
            Permission::ManageForms => "create or edit web forms",
            Permission::ManageModels => "train or activate prediction models",
            Permission::ManageHandoff => "set up sales reps, routing and the sales agreement (admins only)",
            Permission::ManageWebhooks => "manage webhooks (admins only)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_roles_described() {
        use Permission::*;
        assert!(Role::Admin.allows(ManageUsers));
        assert!(!Role::Marketing.allows(ManageUsers));
        assert!(Role::Marketing.allows(ManageFields));
        assert!(Role::Marketing.allows(DeleteContacts));
        assert!(Role::Sales.allows(ReadContacts));
        assert!(Role::Sales.allows(RecordEvents));
        assert!(!Role::Sales.allows(DeleteContacts));
        assert!(!Role::Sales.allows(ManageFields));
        assert!(!Role::Sales.allows(ManageUsers));
        assert!(Role::Marketing.allows(ManageScoring) && !Role::Sales.allows(ManageScoring));
        assert!(Role::Sales.allows(WorkLeads) && !Role::Marketing.allows(WorkLeads));
        assert!(Role::Marketing.allows(ManageModels) && !Role::Sales.allows(ManageModels));
    }
}
