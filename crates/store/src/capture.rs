//! Web capture in storage: form definitions and their counters, consent records, anonymous
//! visitors with their page views, and server-wide settings.

use jiff::Timestamp;
use leadgate_core::event::{Event, EventKind};
use leadgate_core::form::{ConsentRecord, ConsentRequest, ConsentRequestStatus, FormDefinition, Purpose};
use leadgate_core::ids::{ContactId, EventId};
use uuid::Uuid;

use crate::driver::{Arg, Row, Session, args};
use crate::error::StoreError;

/// A stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredForm {
    pub id: Uuid,
    pub definition: FormDefinition,
    pub submissions: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn form_from_row(r: &Row) -> Result<StoredForm, StoreError> {
    let def: String = r.get(1)?;
    Ok(StoredForm {
        id: r.get(0)?,
        definition: serde_json::from_str(&def)
            .map_err(|e| StoreError::Corrupt(format!("form definition: {e}")))?,
        submissions: r.get(2)?,
        created_at: r.ts(3)?,
        updated_at: r.ts(4)?,
    })
}

fn purpose_of(text: &str) -> Result<Purpose, StoreError> {
    Purpose::parse(text).ok_or_else(|| StoreError::Corrupt(format!("purpose `{text}`")))
}

const CONSENT_COLUMNS: &str =
    "id, contact_id, purpose, granted, text, version, source, form_id, ip, user_agent, at";

fn consent_from_row(r: &Row) -> Result<ConsentRecord, StoreError> {
    let purpose: String = r.get(2)?;
    Ok(ConsentRecord {
        id: r.get(0)?,
        contact_id: ContactId(r.get(1)?),
        purpose: purpose_of(&purpose)?,
        granted: r.get(3)?,
        text: r.get(4)?,
        version: r.get(5)?,
        source: r.get(6)?,
        form_id: r.get(7)?,
        ip: r.get(8)?,
        user_agent: r.get(9)?,
        at: r.ts(10)?,
    })
}

const REQUEST_COLUMNS: &str = "id, contact_id, purpose, granted, text, version, form_id, ip, user_agent, \
     requested_at, status, resolved_at";

fn request_from_row(r: &Row) -> Result<ConsentRequest, StoreError> {
    let purpose: String = r.get(2)?;
    let status: String = r.get(10)?;
    Ok(ConsentRequest {
        id: r.get(0)?,
        contact_id: ContactId(r.get(1)?),
        purpose: purpose_of(&purpose)?,
        granted: r.get(3)?,
        text: r.get(4)?,
        version: r.get(5)?,
        form_id: r.get(6)?,
        ip: r.get(7)?,
        user_agent: r.get(8)?,
        requested_at: r.ts(9)?,
        status: ConsentRequestStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("consent request status `{status}`")))?,
        resolved_at: r.opt_ts(11)?,
    })
}

impl Session {
    pub async fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.fetch_optional("SELECT value FROM settings WHERE key = $1", args![key])
            .await?
            .map(|r| r.get(0))
            .transpose()
    }

    /// Stores (or replaces) a setting.
    pub async fn put_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![key, value],
        )
        .await?;
        Ok(())
    }

    /// Stores `value` unless the key is set, and returns the stored value (servers racing to
    /// create a secret agree on the first one written).
    pub async fn setting_or_insert(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            args![key, value],
        )
        .await?;
        self.setting(key).await?.ok_or_else(|| StoreError::Corrupt(format!("setting `{key}` vanished")))
    }

    /// Claims a once-a-day task for `day` (`YYYY-MM-DD`): true for the one server that moved the
    /// setting `key` to `day`, false for every other (and on the same day again).
    pub async fn claim_daily(&mut self, key: &str, day: &str) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE settings.value < excluded.value",
                args![key, day],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn insert_form(
        &mut self,
        id: Uuid,
        def: &FormDefinition,
        now: Timestamp,
    ) -> Result<StoredForm, StoreError> {
        let text = serde_json::to_string(def).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.execute(
            "INSERT INTO forms (id, slug, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
            args![id, def.slug.as_str(), text, now],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict { field: "slug" },
            other => other,
        })?;
        Ok(StoredForm { id, definition: def.clone(), submissions: 0, created_at: now, updated_at: now })
    }

    pub async fn update_form(
        &mut self,
        id: Uuid,
        def: &FormDefinition,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(def).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let n = self
            .execute(
                "UPDATE forms SET slug = $2, definition = $3, updated_at = $4 WHERE id = $1",
                args![id, def.slug.as_str(), text, now],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => StoreError::Conflict { field: "slug" },
                other => other,
            })?;
        Ok(n == 1)
    }

    pub async fn delete_form(&mut self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM forms WHERE id = $1", args![id]).await? == 1)
    }

    pub async fn get_form(&mut self, id: Uuid) -> Result<Option<StoredForm>, StoreError> {
        self.fetch_optional(
            "SELECT id, definition, submissions, created_at, updated_at FROM forms WHERE id = $1",
            args![id],
        )
        .await?
        .as_ref()
        .map(form_from_row)
        .transpose()
    }

    pub async fn form_by_slug(&mut self, slug: &str) -> Result<Option<StoredForm>, StoreError> {
        self.fetch_optional(
            "SELECT id, definition, submissions, created_at, updated_at FROM forms WHERE slug = $1",
            args![slug],
        )
        .await?
        .as_ref()
        .map(form_from_row)
        .transpose()
    }

    pub async fn list_forms(&mut self) -> Result<Vec<StoredForm>, StoreError> {
        self.fetch_all(
            "SELECT id, definition, submissions, created_at, updated_at FROM forms ORDER BY slug",
            vec![],
        )
        .await?
        .iter()
        .map(form_from_row)
        .collect()
    }

    pub async fn count_form_submission(&mut self, form: Uuid) -> Result<(), StoreError> {
        self.execute("UPDATE forms SET submissions = submissions + 1 WHERE id = $1", args![form]).await?;
        Ok(())
    }

    /// Counts a refused submission under its reason.
    pub async fn count_form_rejection(&mut self, form: Uuid, reason: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO form_rejections (form_id, reason, count) VALUES ($1, $2, 1) \
             ON CONFLICT (form_id, reason) DO UPDATE SET count = form_rejections.count + 1",
            args![form, reason],
        )
        .await?;
        Ok(())
    }

    /// Refused submissions of a form, by reason.
    pub async fn form_rejections(&mut self, form: Uuid) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT reason, count FROM form_rejections WHERE form_id = $1 ORDER BY reason",
                args![form],
            )
            .await?;
        rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
    }

    pub async fn insert_consents(&mut self, records: &[ConsentRecord]) -> Result<(), StoreError> {
        for c in records {
            self.execute(
                &format!("INSERT INTO consents ({CONSENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
                args![
                    c.id,
                    c.contact_id,
                    c.purpose.as_str(),
                    c.granted,
                    c.text.as_str(),
                    c.version.as_str(),
                    c.source.as_str(),
                    c.form_id,
                    c.ip.as_deref(),
                    c.user_agent.as_deref(),
                    c.at
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// A contact's consent history, oldest first.
    pub async fn consents_of(&mut self, contact: ContactId) -> Result<Vec<ConsentRecord>, StoreError> {
        let sql = format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE contact_id = $1 ORDER BY at, id");
        self.fetch_all(&sql, args![contact]).await?.iter().map(consent_from_row).collect()
    }

    /// Keeps a consent change asked for anonymously, to be confirmed by the person.
    pub async fn insert_consent_request(&mut self, r: &ConsentRequest) -> Result<(), StoreError> {
        self.execute(
            &format!("INSERT INTO consent_requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
            args![
                r.id,
                r.contact_id,
                r.purpose.as_str(),
                r.granted,
                r.text.as_str(),
                r.version.as_str(),
                r.form_id,
                r.ip.as_deref(),
                r.user_agent.as_deref(),
                r.requested_at,
                r.status.as_str(),
                r.resolved_at
            ],
        )
        .await?;
        Ok(())
    }

    /// A contact's consent requests, oldest first.
    pub async fn consent_requests_of(
        &mut self,
        contact: ContactId,
    ) -> Result<Vec<ConsentRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM consent_requests WHERE contact_id = $1 ORDER BY requested_at, id"
        );
        self.fetch_all(&sql, args![contact]).await?.iter().map(request_from_row).collect()
    }

    /// Marks a form's render token used; false if it already was (a replay).
    pub async fn use_form_token(
        &mut self,
        form: Uuid,
        signature: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "INSERT INTO used_form_tokens (form_id, signature, used_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (form_id, signature) DO NOTHING",
                args![form, signature, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Forgets tokens used before `before` (they have expired anyway).
    pub async fn purge_used_form_tokens(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        self.execute("DELETE FROM used_form_tokens WHERE used_at < $1", args![before]).await
    }

    /// How many web-form submissions a contact made since `since` (its form events).
    pub async fn count_form_events_since(
        &mut self,
        contact: ContactId,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(
                "SELECT COUNT(*) FROM events WHERE contact_id = $1 AND occurred_at >= $2 AND source = 'web form'",
                args![contact, since],
            )
            .await?;
        row.get(0)
    }

    /// The contact a visitor identified as, if any; notes that the visitor was seen.
    pub async fn touch_visitor(
        &mut self,
        visitor: &str,
        now: Timestamp,
    ) -> Result<Option<ContactId>, StoreError> {
        let row = self
            .fetch_one(
                "INSERT INTO visitors (id, first_seen, last_seen) VALUES ($1, $2, $2) \
                 ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen RETURNING contact_id",
                args![visitor, now],
            )
            .await?;
        Ok(row.get::<Option<Uuid>>(0)?.map(ContactId))
    }

    /// Links a visitor to a contact and moves its anonymous page views to the contact's
    /// timeline. Returns the events moved.
    pub async fn identify_visitor(
        &mut self,
        visitor: &str,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<Vec<Event>, StoreError> {
        self.execute(
            "INSERT INTO visitors (id, contact_id, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, last_seen = excluded.last_seen",
            args![visitor, contact, now],
        )
        .await?;
        let rows = self
            .fetch_all(
                "SELECT id, kind, occurred_at, received_at, source, campaign, properties FROM visitor_events \
                 WHERE visitor_id = $1 ORDER BY occurred_at",
                args![visitor],
            )
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.get(1)?;
            events.push(Event {
                id: EventId(r.get(0)?),
                contact_id: contact,
                kind: kind.parse::<EventKind>().map_err(|e| StoreError::Corrupt(e.to_string()))?,
                occurred_at: r.ts(2)?,
                received_at: r.ts(3)?,
                source: r.get(4)?,
                campaign: r.get(5)?,
                properties: r.json_object(6)?,
            });
        }
        self.insert_events(&events).await?;
        self.execute("DELETE FROM visitor_events WHERE visitor_id = $1", args![visitor]).await?;
        Ok(events)
    }

    /// Stores page views of a visitor not yet identified (by event id, once).
    pub async fn insert_visitor_events(&mut self, visitor: &str, events: &[Event]) -> Result<(), StoreError> {
        for e in events {
            self.execute(
                "INSERT INTO visitor_events (id, visitor_id, kind, occurred_at, received_at, source, campaign, properties) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                vec![
                    Arg::from(e.id),
                    Arg::from(visitor),
                    Arg::from(e.kind.as_str()),
                    Arg::from(e.occurred_at),
                    Arg::from(e.received_at),
                    Arg::from(e.source.as_deref()),
                    Arg::from(e.campaign.as_deref()),
                    Arg::from(serde_json::to_string(&e.properties).unwrap_or_else(|_| "{}".into())),
                ],
            )
            .await?;
        }
        Ok(())
    }

    pub async fn count_visitor_events(&mut self, visitor: &str) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM visitor_events WHERE visitor_id = $1", args![visitor])
            .await?
            .get(0)
    }
}
