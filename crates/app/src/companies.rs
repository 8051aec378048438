//! Company (account) use cases: create, read, update, delete, list.

use leadgate_core::access::Permission;
use leadgate_core::company::{Company, CompanyDraft, CompanyPatch};
use leadgate_core::custom_field::FieldEntity;
use leadgate_core::filter::CompanyFilter;
use leadgate_core::ids::CompanyId;
use leadgate_store::cursor::{Cursor, Page};

use crate::fields::{merge_custom, with_custom_values};
use crate::idempotency::{remember, replay};
use crate::{App, AppError, Idempotency, Principal, Recorded, new_uuid};

impl App {
    pub async fn create_company(
        &self,
        principal: &Principal,
        draft: CompanyDraft,
        idem: Option<&Idempotency>,
    ) -> Result<Recorded<Company>, AppError> {
        principal.require(Permission::WriteContacts)?;
        let mut draft = draft;
        let custom = draft.custom.take();
        let validated = draft.validate();
        let mut tx = self.store.begin().await?;
        if let Some(r) = replay(&mut tx, principal.user.id, "companies.create", idem).await? {
            return Ok(r);
        }
        let (mut new, custom) = with_custom_values(&mut tx, FieldEntity::Company, validated, custom).await?;
        merge_custom(&mut new.custom, custom);
        let now = self.now();
        let company = tx.insert_company(CompanyId(new_uuid()), new, now).await?;
        remember(&mut tx, principal.user.id, "companies.create", idem, &company, now).await?;
        tx.commit().await?;
        Ok(Recorded { value: company, replayed: false })
    }

    pub async fn get_company(&self, principal: &Principal, id: CompanyId) -> Result<Company, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        s.get_company(id).await?.ok_or_else(|| AppError::not_found("company", id))
    }

    pub async fn update_company(
        &self,
        principal: &Principal,
        id: CompanyId,
        patch: CompanyPatch,
    ) -> Result<Company, AppError> {
        principal.require(Permission::WriteContacts)?;
        let mut tx = self.store.begin().await?;
        let current = tx.get_company(id).await?.ok_or_else(|| AppError::not_found("company", id))?;
        let mut patch = patch;
        let custom = patch.custom.take();
        let (mut next, custom) =
            with_custom_values(&mut tx, FieldEntity::Company, patch.apply(&current), custom).await?;
        merge_custom(&mut next.custom, custom);
        if next == current {
            return Ok(current);
        }
        let now = self.now();
        next.updated_at = now;
        tx.update_company(&next).await?;
        // Fit reads company fields: its contacts' scores change with it.
        let contacts = tx.contact_ids_of_company(id).await?;
        self.rescore_in(&mut tx, &contacts, now, &Default::default()).await?;
        tx.commit().await?;
        Ok(next)
    }

    pub async fn delete_company(&self, principal: &Principal, id: CompanyId) -> Result<(), AppError> {
        principal.require(Permission::DeleteContacts)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_company(id).await? {
            return Err(AppError::not_found("company", id));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_companies(
        &self,
        principal: &Principal,
        filter: &CompanyFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<Company>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        Ok(s.list_companies(filter, limit, after).await?)
    }

    /// Companies by name, with their contacts and open deals counted (the companies list).
    pub async fn company_lines(
        &self,
        principal: &Principal,
        text: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<leadgate_store::companies::CompanyLine>, AppError> {
        principal.require(Permission::ReadContacts)?;
        let mut s = self.store.read().await?;
        Ok(s.company_lines(text, limit.clamp(1, 200), offset).await?)
    }
}
