//! What imports need from storage: bulk look-ups and inserts of contacts and companies,
//! outcomes, uploaded files, the progress of command-line imports, and rejected rows (deals:
//! `pipeline.rs`).

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::company::Company;
use leadgate_core::contact::Contact;
use leadgate_core::email::Email;
use leadgate_core::ids::{CompanyId, ContactId, JobId, UserId};
use leadgate_core::import::Reject;
use leadgate_core::lifecycle::Reached;
use uuid::Uuid;

use crate::driver::{Arg, Session, args};
use crate::error::StoreError;

/// The progress of a command-line import of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportProgress {
    pub fingerprint: String,
    pub last_line: u64,
    pub counts: serde_json::Value,
    pub finished_at: Option<Timestamp>,
}

/// A new contact to store, with what an import already knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactToInsert {
    /// The contact as stored; `score` is its first score, if computed before the write.
    pub contact: Contact,
    /// When a rule moved it to its stage (set with `score`).
    pub stage_changed_at: Option<Timestamp>,
    /// Whether it converted, as the source said.
    pub outcome: Option<bool>,
}

fn outcome_label(converted: bool) -> &'static str {
    if converted { "converted" } else { "not_converted" }
}

impl Session {
    /// Stores many new contacts, each in one row write with its stage and outcome, and its first
    /// score in its `contact_scores` row (400 per statement): an import writes each row once
    /// instead of inserting, then scoring, then labelling it.
    pub async fn insert_contacts(
        &mut self,
        contacts: &[ContactToInsert],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        const PER_ROW: usize = 25;
        for chunk in contacts.chunks(400) {
            let mut values = Vec::with_capacity(chunk.len() * PER_ROW);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let c = &row.contact;
                    let search = crate::contacts::search_text(c);
                    values.extend([
                        Arg::from(c.id),
                        Arg::from(c.email.as_ref().map(|e| e.as_str())),
                        Arg::from(c.email.as_ref().map(Email::key)),
                        Arg::from(c.first_name.as_deref()),
                        Arg::from(c.last_name.as_deref()),
                        Arg::from(c.phone.as_deref()),
                        Arg::from(c.job_title.as_deref()),
                        Arg::from(c.company_id),
                        Arg::from(c.country.as_deref()),
                        Arg::from(c.city.as_deref()),
                        Arg::from(c.external_id.as_deref()),
                        Arg::from(c.lifecycle_stage.as_str()),
                        Arg::from(c.source.as_deref()),
                        Arg::from(c.campaign.as_deref()),
                        Arg::from(c.last_touch_source.as_deref()),
                        Arg::from(c.last_touch_campaign.as_deref()),
                        Arg::from(c.do_not_email),
                        Arg::from(c.do_not_call),
                        Arg::from(serde_json::to_string(&c.custom).unwrap_or_else(|_| "{}".into())),
                        Arg::from(search),
                        Arg::from(c.created_at),
                        Arg::from(c.updated_at),
                        Arg::from(row.stage_changed_at),
                        Arg::from(row.outcome.map(outcome_label)),
                        Arg::from(row.outcome.map(|_| now)),
                    ]);
                    format!("({})", Session::placeholders(1 + i * PER_ROW, PER_ROW))
                })
                .collect();
            let sql = format!(
                "INSERT INTO contacts (id, email, email_key, first_name, last_name, phone, job_title, company_id, country, \
                 city, external_id, lifecycle_stage, source, campaign, last_touch_source, last_touch_campaign, \
                 do_not_email, do_not_call, custom, search_text, created_at, updated_at, stage_changed_at, \
                 outcome, outcome_at) VALUES {}",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        let scores = contacts
            .iter()
            .map(|row| {
                let mut values = Vec::with_capacity(9);
                values.push(Arg::from(row.contact.id));
                values.extend(crate::scoring::score_values(row.contact.score.as_ref()));
                values
            })
            .collect();
        self.insert_rows(
            &format!("INSERT INTO contact_scores (contact_id, {})", crate::scoring::SCORE_COLUMNS),
            9,
            scores,
            "",
        )
        .await?;
        // Contacts imported past lead (most are leads: nothing to write for them).
        let reached: Vec<(ContactId, Reached)> = contacts
            .iter()
            .map(|row| {
                let c = &row.contact;
                (c.id, Reached::of([(c.lifecycle_stage, row.stage_changed_at.unwrap_or(now))]))
            })
            .collect();
        self.note_reached(&reached).await?;
        Ok(())
    }

    /// Contacts by external id.
    pub async fn contacts_by_external_ids(
        &mut self,
        ids: &[String],
    ) -> Result<HashMap<String, Contact>, StoreError> {
        self.contacts_where("external_id", ids).await
    }

    /// Contacts by e-mail key (lower-cased e-mail).
    pub async fn contacts_by_email_keys(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, Contact>, StoreError> {
        self.contacts_where("email_key", keys).await
    }

    async fn contacts_where(
        &mut self,
        column: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Contact>, StoreError> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(500) {
            let rows = self
                .contacts_matching(
                    column,
                    column,
                    &Session::placeholders(1, chunk.len()),
                    chunk.iter().map(Arg::from).collect(),
                )
                .await?;
            let at = crate::contacts::CONTACT_COLUMNS;
            for (contact, row) in rows {
                if let Some(key) = row.get::<Option<String>>(at)? {
                    out.insert(key, contact);
                }
            }
        }
        Ok(out)
    }

    /// Records whether contacts converted, as a source said.
    pub async fn set_outcomes(
        &mut self,
        outcomes: &[(ContactId, bool)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for (converted, label) in [(true, "converted"), (false, "not_converted")] {
            debug_assert_eq!(label, outcome_label(converted));
            let ids: Vec<Arg> =
                outcomes.iter().filter(|(_, c)| *c == converted).map(|(id, _)| Arg::from(*id)).collect();
            for chunk in ids.chunks(500) {
                let mut values = vec![Arg::from(label), Arg::from(now)];
                values.extend(chunk.iter().cloned());
                let sql = format!(
                    "UPDATE contacts SET outcome = $1, outcome_at = $2 WHERE id IN ({}) AND (outcome IS NULL OR outcome <> $1)",
                    Session::placeholders(3, chunk.len())
                );
                self.execute(&sql, values).await?;
            }
        }
        // A contact that converted reached every step of the funnel (when the source said so).
        let converted: Vec<(ContactId, Reached)> = outcomes
            .iter()
            .filter(|(_, c)| *c)
            .map(|(id, _)| (*id, Reached::of([(leadgate_core::lifecycle::LifecycleStage::Customer, now)])))
            .collect();
        self.note_reached(&converted).await?;
        Ok(())
    }

    /// The import baselines of these contacts (what the last import wrote into each field; see
    /// `core::import::merge`), for those that have one.
    pub async fn import_baselines(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<HashMap<ContactId, serde_json::Map<String, serde_json::Value>>, StoreError> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT contact_id, fields FROM contact_import_baselines WHERE contact_id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            let values = chunk.iter().map(|&c| Arg::from(c)).collect();
            for r in self.fetch_all(&sql, values).await? {
                out.insert(ContactId(r.get(0)?), r.json_object(1)?);
            }
        }
        Ok(out)
    }

    /// Writes (or replaces) import baselines.
    pub async fn save_import_baselines(
        &mut self,
        baselines: &[(ContactId, &serde_json::Map<String, serde_json::Value>)],
    ) -> Result<(), StoreError> {
        let rows = baselines
            .iter()
            .map(|(id, fields)| {
                vec![Arg::from(*id), Arg::from(serde_json::Value::Object((*fields).clone()).to_string())]
            })
            .collect();
        self.insert_rows(
            "INSERT INTO contact_import_baselines (contact_id, fields)",
            2,
            rows,
            "ON CONFLICT (contact_id) DO UPDATE SET fields = excluded.fields",
        )
        .await?;
        Ok(())
    }

    /// Company ids by name key (`core::text::fold` of the name: case and accents do not
    /// matter), the oldest company when several share a key.
    pub async fn company_ids_by_names(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, CompanyId>, StoreError> {
        let mut out = HashMap::new();
        let mut keys: Vec<String> = names.iter().map(|n| leadgate_core::text::fold(n)).collect();
        keys.sort_unstable();
        keys.dedup();
        for chunk in keys.chunks(500) {
            let values: Vec<Arg> = chunk.iter().map(Arg::from).collect();
            let sql = format!(
                "SELECT name_key, id FROM companies WHERE name_key IN ({}) ORDER BY id",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, values).await? {
                out.entry(r.get::<String>(0)?).or_insert(CompanyId(r.get(1)?));
            }
        }
        Ok(out)
    }

    /// Companies by name key (see [`Session::company_ids_by_names`]).
    pub async fn companies_by_names(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, Company>, StoreError> {
        let ids = self.company_ids_by_names(names).await?;
        let list: Vec<CompanyId> = ids.values().copied().collect();
        let mut by_id: HashMap<CompanyId, Company> = HashMap::new();
        for chunk in list.chunks(500) {
            for c in self.companies_by_ids(chunk).await? {
                by_id.insert(c.id, c);
            }
        }
        Ok(ids.into_iter().filter_map(|(name, id)| by_id.remove(&id).map(|c| (name, c))).collect())
    }

    pub async fn insert_upload(
        &mut self,
        id: Uuid,
        name: &str,
        content: Vec<u8>,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO uploads (id, name, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id, name, content, by, now],
        )
        .await?;
        Ok(())
    }

    /// An uploaded file: (name, content).
    pub async fn get_upload(&mut self, id: Uuid) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = self.fetch_optional("SELECT name, content FROM uploads WHERE id = $1", args![id]).await?;
        row.map(|r| Ok((r.get(0)?, r.get(1)?))).transpose()
    }

    pub async fn delete_upload(&mut self, id: Uuid) -> Result<(), StoreError> {
        self.execute("DELETE FROM uploads WHERE id = $1", args![id]).await?;
        Ok(())
    }

    pub async fn import_progress(&mut self, fingerprint: &str) -> Result<Option<ImportProgress>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT fingerprint, last_line, counts, finished_at FROM imports WHERE fingerprint = $1",
                args![fingerprint],
            )
            .await?;
        row.map(|r| {
            let counts: String = r.get(2)?;
            Ok(ImportProgress {
                fingerprint: r.get(0)?,
                last_line: r.get::<i64>(1)? as u64,
                counts: serde_json::from_str(&counts).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                finished_at: r.opt_ts(3)?,
            })
        })
        .transpose()
    }

    /// Records how far an import got, in the transaction of the rows it accounts for.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_import_progress(
        &mut self,
        fingerprint: &str,
        entity: &str,
        file_name: &str,
        last_line: u64,
        counts: &serde_json::Value,
        finished: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let finished_at = finished.then_some(now);
        self.execute(
            "INSERT INTO imports (fingerprint, entity, file_name, last_line, counts, finished_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (fingerprint) DO UPDATE SET last_line = excluded.last_line, \
             counts = excluded.counts, finished_at = excluded.finished_at, updated_at = excluded.updated_at",
            args![fingerprint, entity, file_name, last_line as i64, counts.to_string(), finished_at, now],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_rejects(&mut self, job: JobId, rejects: &[Reject]) -> Result<(), StoreError> {
        for chunk in rejects.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len() * 5);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    values.extend([
                        Arg::from(job),
                        Arg::from(r.line as i64),
                        Arg::from(r.column.as_str()),
                        Arg::from(r.value.as_str()),
                        Arg::from(r.reason.as_str()),
                    ]);
                    format!("({})", Session::placeholders(1 + i * 5, 5))
                })
                .collect();
            let sql = format!(
                "INSERT INTO import_rejects (job_id, line, column_name, value, reason) VALUES {}",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    /// The rows an import job refused, in file order.
    pub async fn rejects_of(&mut self, job: JobId) -> Result<Vec<Reject>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT line, column_name, value, reason FROM import_rejects WHERE job_id = $1 ORDER BY line",
                args![job],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Reject {
                    line: r.get::<i64>(0)? as u64,
                    column: r.get(1)?,
                    value: r.get(2)?,
                    reason: r.get(3)?,
                })
            })
            .collect()
    }

    /// Forgets the rejects of a job (before a retry writes them again).
    pub async fn clear_rejects(&mut self, job: JobId) -> Result<(), StoreError> {
        self.execute("DELETE FROM import_rejects WHERE job_id = $1", args![job]).await?;
        Ok(())
    }
}
