//! Custom field declarations in storage.

use jiff::Timestamp;
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity, FieldType};

use crate::driver::{Row, Session, args};
use crate::error::StoreError;

fn from_row(row: &Row) -> Result<CustomFieldDefinition, StoreError> {
    let entity: String = row.get(0)?;
    let field_type: String = row.get(3)?;
    let choices: String = row.get(4)?;
    Ok(CustomFieldDefinition {
        entity: FieldEntity::parse(&entity)
            .ok_or_else(|| StoreError::Corrupt(format!("entity `{entity}`")))?,
        key: row.get(1)?,
        label: row.get(2)?,
        field_type: FieldType::parse(&field_type)
            .ok_or_else(|| StoreError::Corrupt(format!("field type `{field_type}`")))?,
        choices: serde_json::from_str(&choices).map_err(|e| StoreError::Corrupt(format!("choices: {e}")))?,
    })
}

impl Session {
    /// Declares a custom field; [`StoreError::Conflict`] on `key` if it exists for that entity.
    pub async fn insert_custom_field(
        &mut self,
        def: &CustomFieldDefinition,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO custom_fields (entity, key, label, field_type, choices, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                def.entity.as_str(),
                def.key.as_str(),
                def.label.as_str(),
                def.field_type.as_str(),
                serde_json::to_string(&def.choices).unwrap_or_else(|_| "[]".into()),
                now
            ],
        )
        .await?;
        Ok(())
    }

    /// The declared fields of one entity, or of all when `entity` is `None`.
    pub async fn custom_fields(
        &mut self,
        entity: Option<FieldEntity>,
    ) -> Result<Vec<CustomFieldDefinition>, StoreError> {
        let rows = match entity {
            Some(e) => {
                self.fetch_all(
                    "SELECT entity, key, label, field_type, choices FROM custom_fields WHERE entity = $1 ORDER BY key",
                    args![e.as_str()],
                )
                .await?
            }
            None => {
                self.fetch_all(
                    "SELECT entity, key, label, field_type, choices FROM custom_fields ORDER BY entity, key",
                    vec![],
                )
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// Removes a declaration. Stored values stay in the records (they reappear if the field is
    /// declared again) but are no longer accepted in writes.
    pub async fn delete_custom_field(&mut self, entity: FieldEntity, key: &str) -> Result<bool, StoreError> {
        let n = self
            .execute("DELETE FROM custom_fields WHERE entity = $1 AND key = $2", args![entity.as_str(), key])
            .await?;
        Ok(n == 1)
    }
}
