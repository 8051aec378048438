//! Declaring custom fields, and checking custom values against the declarations.

use leadgate_core::access::Permission;
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity, check_custom_values};
use leadgate_core::validation::ValidationErrors;
use leadgate_store::Session;
use serde_json::{Map, Value};

use crate::{App, AppError, Principal};

impl App {
    pub async fn declare_custom_field(
        &self,
        principal: &Principal,
        def: CustomFieldDefinition,
    ) -> Result<CustomFieldDefinition, AppError> {
        principal.require(Permission::ManageFields)?;
        def.validate()?;
        let mut tx = self.store.begin().await?;
        let declared = tx.custom_fields(Some(def.entity)).await?.len();
        if declared >= leadgate_core::custom_field::MAX_CUSTOM_FIELDS {
            return Err(AppError::StateConflict(format!(
                "{declared} {} fields are declared, the most a workspace may have; delete one you no longer use first",
                def.entity.as_str()
            )));
        }
        tx.insert_custom_field(&def, self.now()).await.map_err(|e| match e {
            leadgate_store::StoreError::Conflict { .. } => AppError::Conflict {
                field: "key".into(),
                message: format!("a {} field `{}` is already declared", def.entity.as_str(), def.key),
            },
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(def)
    }

    pub async fn custom_fields(
        &self,
        principal: &Principal,
        entity: Option<FieldEntity>,
    ) -> Result<Vec<CustomFieldDefinition>, AppError> {
        principal.require(Permission::ReadContacts)?;
        Ok(self.store.read().await?.custom_fields(entity).await?)
    }

    pub async fn delete_custom_field(
        &self,
        principal: &Principal,
        entity: FieldEntity,
        key: &str,
    ) -> Result<(), AppError> {
        principal.require(Permission::ManageFields)?;
        let mut tx = self.store.begin().await?;
        if !leadgate_core::custom_field::valid_key(key) || !tx.delete_custom_field(entity, key).await? {
            return Err(AppError::not_found("custom field", format!("{}.{key}", entity.as_str())));
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Completes a core validation with the check of custom values against the declared fields, so
/// the client gets every problem (core fields and custom ones) in a single answer. Returns the
/// validated value and the checked custom values (keys set to `null` included, meaning "remove").
pub(crate) async fn with_custom_values<T>(
    tx: &mut Session,
    entity: FieldEntity,
    validated: Result<T, ValidationErrors>,
    custom: Option<Map<String, Value>>,
) -> Result<(T, Map<String, Value>), AppError> {
    let checked = match custom {
        Some(values) if !values.is_empty() => {
            let defs = tx.custom_fields(Some(entity)).await?;
            check_custom_values(&defs, &values)
        }
        _ => Ok(Map::new()),
    };
    match (validated, checked) {
        (Ok(value), Ok(custom)) => Ok((value, custom)),
        (first, second) => {
            let mut all = first.err().unwrap_or_default();
            all.errors.extend(second.err().unwrap_or_default().errors);
            Err(AppError::Invalid(all))
        }
    }
}

pub(crate) use leadgate_core::custom_field::merge_custom_values as merge_custom;
