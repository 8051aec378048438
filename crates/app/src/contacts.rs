//! Contact use cases: create, read, update, delete, list.

use leadgate_core::access::Permission;
use leadgate_core::contact::{Contact, ContactDraft, ContactPatch};
use leadgate_core::custom_field::FieldEntity;
use leadgate_core::filter::ContactFilter;
use leadgate_core::ids::ContactId;
use leadgate_store::cursor::{Cursor, Page};

use crate::fields::{merge_custom, with_custom_values};
use crate::idempotency::{remember, replay};
use crate::{App, AppError, Idempotency, Principal, Recorded, new_uuid};

impl App {
    pub async fn create_contact(
        &self,
        principal: &Principal,
        draft: ContactDraft,
        idem: Option<&Idempotency>,
    ) -> Result<Recorded<Contact>, AppError> {
        principal.require(Permission::CreateContacts)?;
        // Creating a contact at another stage (a customer, an SQL) is a lifecycle decision:
        // customers become training positives.
        if draft.lifecycle_stage.is_some_and(|s| s != leadgate_core::lifecycle::LifecycleStage::Lead) {
            principal.require(Permission::ChangeLifecycle)?;
        }
        let mut draft = draft;
        let custom = draft.custom.take();
        let validated = draft.validate();
        let mut tx = self.store.begin().await?;
        if let Some(r) = replay(&mut tx, principal.user.id, "contacts.create", idem).await? {
            return Ok(r);
        }
        let (mut new, custom) = with_custom_values(&mut tx, FieldEntity::Contact, validated, custom).await?;
        merge_custom(&mut new.custom, custom);
        if let Some(company) = new.company_id
            && tx.get_company(company).await?.is_none()
        {
            return Err(AppError::invalid("company_id", format!("no company has the id {company}")));
        }
        self.refuse_suppressed(&mut tx, new.email.as_ref(), crate::privacy::WayIn::Copy).await?;
        let now = self.now();
        let contact = tx.insert_contact(ContactId(new_uuid()), new, now).await?;
        self.rescore_in(&mut tx, &[contact.id], now, &Default::default()).await?;
        let contact =
            tx.get_contact(contact.id).await?.ok_or_else(|| AppError::not_found("contact", contact.id))?;
        self.emit_in(&mut tx, "contact.created", contact.id, serde_json::json!({ "contact": &contact }), now)
            .await?;
        remember(&mut tx, principal.user.id, "contacts.create", idem, &contact, now).await?;
        tx.commit().await?;
        Ok(Recorded { value: contact, replayed: false })
    }

    /// Finds a contact by id, e-mail or external id (what a person types on the command line).
    pub async fn find_contact(&self, principal: &Principal, key: &str) -> Result<Contact, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        let mut found = None;
        if let Ok(id) = key.parse::<ContactId>() {
            found = s.get_contact(id).await?;
        }
        if found.is_none()
            && let Ok(email) = leadgate_core::email::Email::parse(key)
        {
            found = s.find_contact_by_email(&email).await?;
        }
        if found.is_none() {
            found = s.find_contact_by_external_id(key.trim()).await?;
        }
        let not_found =
            || AppError::NotFound { what: "contact", id: format!("(id, e-mail or external id) `{key}`") };
        let contact = found.ok_or_else(not_found)?;
        self.require_read(&mut s, principal, contact.id).await.map_err(|_| not_found())?;
        Ok(contact)
    }

    pub async fn get_contact(&self, principal: &Principal, id: ContactId) -> Result<Contact, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        s.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))
    }

    pub async fn update_contact(
        &self,
        principal: &Principal,
        id: ContactId,
        patch: ContactPatch,
    ) -> Result<Contact, AppError> {
        let mut tx = self.store.begin().await?;
        if !principal.user.role.allows(Permission::WriteContacts) {
            self.require_change(&mut tx, principal, id, Permission::EditLeads, false).await?;
        }
        let current = tx.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        let mut patch = patch;
        let custom = patch.custom.take();
        let company = patch.company_id.clone();
        let (mut next, custom) =
            with_custom_values(&mut tx, FieldEntity::Contact, patch.apply(&current), custom).await?;
        merge_custom(&mut next.custom, custom);
        if let leadgate_core::patch::Patch::Set(company) = company
            && tx.get_company(company).await?.is_none()
        {
            return Err(AppError::invalid("company_id", format!("no company has the id {company}")));
        }
        if next == current {
            return Ok(current);
        }
        if next.email.as_ref().map(|e| e.key()) != current.email.as_ref().map(|e| e.key()) {
            self.refuse_suppressed(&mut tx, next.email.as_ref(), crate::privacy::WayIn::Copy).await?;
        }
        let now = self.now();
        next.updated_at = now;
        tx.update_contact(&next).await?;
        self.rescore_in(&mut tx, &[id], now, &Default::default()).await?;
        let next = tx.get_contact(id).await?.ok_or_else(|| AppError::not_found("contact", id))?;
        self.emit_in(&mut tx, "contact.updated", next.id, serde_json::json!({ "contact": &next }), now)
            .await?;
        tx.commit().await?;
        Ok(next)
    }

    pub async fn delete_contact(&self, principal: &Principal, id: ContactId) -> Result<(), AppError> {
        principal.require(Permission::DeleteContacts)?;
        let mut tx = self.store.begin().await?;
        // Everything kept about the contact goes with it (the webhook log, stored answers…).
        if self.delete_contacts_in(&mut tx, principal, &[id]).await? == 0 {
            return Err(AppError::not_found("contact", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a free note to a contact (anyone who may edit the lead).
    pub async fn add_note(&self, principal: &Principal, id: ContactId, body: &str) -> Result<Note, AppError> {
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 10_000 || !leadgate_core::validation::is_plain_text(body)
        {
            return Err(AppError::invalid("body", "write the note: 1 to 10,000 characters of text"));
        }
        let mut tx = self.store.begin().await?;
        if tx.lock_contact(id).await?.is_none() {
            return Err(AppError::not_found("contact", id));
        }
        if !principal.user.role.allows(Permission::WriteContacts) {
            self.require_change(&mut tx, principal, id, Permission::EditLeads, false).await?;
        }
        let note = leadgate_store::contacts::ContactNote {
            id: new_uuid(),
            contact_id: id,
            author_id: Some(principal.user.id),
            body: body.to_string(),
            created_at: self.now(),
        };
        tx.insert_note(&note).await?;
        tx.commit().await?;
        Ok(Note::from((
            note,
            Some(principal.user.name.clone().unwrap_or_else(|| principal.user.email.clone())),
        )))
    }

    /// A contact's notes, newest first, with their authors' names.
    pub async fn notes(&self, principal: &Principal, id: ContactId) -> Result<Vec<Note>, AppError> {
        let mut s = self.store.read().await?;
        self.require_read(&mut s, principal, id).await?;
        if s.get_contact(id).await?.is_none() {
            return Err(AppError::not_found("contact", id));
        }
        let names: std::collections::HashMap<_, _> =
            s.list_users().await?.into_iter().map(|u| (u.id, u.name.unwrap_or(u.email))).collect();
        Ok(s.notes_of(id)
            .await?
            .into_iter()
            .map(|n| {
                let author = n.author_id.and_then(|a| names.get(&a).cloned());
                Note::from((n, author))
            })
            .collect())
    }

    pub async fn list_contacts(
        &self,
        principal: &Principal,
        filter: &ContactFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<Contact>, AppError> {
        let mut s = self.store.read().await?;
        let scope = self.lead_scope(&mut s, principal).await?;
        let filter = ContactFilter { scope, ..filter.clone() };
        Ok(s.list_contacts(&filter, limit, after).await?)
    }
}

/// A free note on a contact.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: uuid::Uuid,
    /// Who wrote it (absent: a user since deleted).
    pub author: Option<String>,
    pub body: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: jiff::Timestamp,
}

impl From<(leadgate_store::contacts::ContactNote, Option<String>)> for Note {
    fn from((n, author): (leadgate_store::contacts::ContactNote, Option<String>)) -> Self {
        Note { id: n.id, author, body: n.body, created_at: n.created_at }
    }
}
