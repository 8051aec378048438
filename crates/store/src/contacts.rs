//! Contacts in storage: insert, read, update, delete, list with filters and cursor pagination, and
//! the look-ups capture needs (by e-mail key, by external id).

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::contact::{Contact, NewContact};
use leadgate_core::email::Email;
use leadgate_core::filter::ContactFilter;
use leadgate_core::ids::ContactId;
use leadgate_core::lifecycle::LifecycleStage;
use leadgate_core::scoring::{FitGrade, Points, ScoreSummary, Temperature};
use uuid::Uuid;

use crate::cursor::{Cursor, Page};
use crate::driver::{Arg, Columns, Row, Session, Where, args, like_pattern};
use crate::error::StoreError;

/// The columns of `contacts` itself, in the order [`from_row`] reads them (a contact's score
/// follows them in [`COLUMNS`]).
pub(crate) const OWN_COLUMNS: &str = "id, email, first_name, last_name, phone, job_title, company_id, country, \
    city, external_id, lifecycle_stage, source, campaign, last_touch_source, last_touch_campaign, do_not_email, \
    do_not_call, custom, created_at, updated_at, objected_at";

/// How many columns [`OWN_COLUMNS`] reads.
pub(crate) const OWN_COLUMN_COUNT: usize = 21;

/// A contact's own columns, then its score's ([`crate::scoring::SCORE_COLUMNS`]).
const COLUMNS: &str = "id, email, first_name, last_name, phone, job_title, company_id, country, city, \
    external_id, lifecycle_stage, source, campaign, last_touch_source, last_touch_campaign, do_not_email, \
    do_not_call, custom, created_at, updated_at, objected_at, fit_points, fit_grade, engagement, \
    temperature, temperature_reason, knockouts, rules_version, scored_at";

/// A free note on a contact, by a member of the team.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactNote {
    pub id: Uuid,
    pub contact_id: ContactId,
    pub author_id: Option<leadgate_core::ids::UserId>,
    pub body: String,
    pub created_at: Timestamp,
}

/// What a work list shows of a contact ([`Session::contact_labels`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactLabel {
    pub name: String,
    pub company: Option<String>,
    pub temperature: Option<Temperature>,
    pub grade: Option<String>,
    pub probability: Option<f64>,
}

/// A dated source and campaign of one contact (from its earliest or newest event with a
/// source), for first- and last-touch attribution.
#[derive(Debug, Clone, Copy)]
pub struct Touch<'a> {
    pub contact: ContactId,
    pub source: Option<&'a str>,
    pub campaign: Option<&'a str>,
    pub at: Timestamp,
}

/// How many columns [`COLUMNS`] reads.
pub(crate) const CONTACT_COLUMNS: usize = 29;

/// Contacts with their scores. Every contact has a `contact_scores` row from its creation on; the
/// outer join still returns a contact whose row went missing, unscored. The two tables share no
/// column name, so [`COLUMNS`] and filters need no table prefix.
pub(crate) const CONTACTS_SCORED: &str =
    "contacts LEFT JOIN contact_scores ON contact_scores.contact_id = contacts.id";

pub(crate) fn from_row(row: &impl Columns) -> Result<Contact, StoreError> {
    from_own_row(row, score_from_row(row, OWN_COLUMN_COUNT)?)
}

/// A contact from its [`OWN_COLUMNS`] (the first of `row`), with a score read elsewhere.
pub(crate) fn from_own_row(row: &impl Columns, score: Option<ScoreSummary>) -> Result<Contact, StoreError> {
    let email: Option<String> = row.get(1)?;
    let stage: String = row.get(10)?;
    Ok(Contact {
        id: ContactId(row.get(0)?),
        email: email
            .map(|e| {
                Email::parse(&e).map_err(|err| StoreError::Corrupt(format!("stored e-mail `{e}`: {err}")))
            })
            .transpose()?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        phone: row.get(4)?,
        job_title: row.get(5)?,
        company_id: row.get::<Option<Uuid>>(6)?.map(leadgate_core::ids::CompanyId),
        country: row.get(7)?,
        city: row.get(8)?,
        external_id: row.get(9)?,
        lifecycle_stage: LifecycleStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown lifecycle stage `{stage}`")))?,
        source: row.get(11)?,
        campaign: row.get(12)?,
        last_touch_source: row.get(13)?,
        last_touch_campaign: row.get(14)?,
        do_not_email: row.get(15)?,
        do_not_call: row.get(16)?,
        custom: row.json_object(17)?,
        created_at: row.ts(18)?,
        updated_at: row.ts(19)?,
        objected_at: row.opt_ts(20)?,
        score,
    })
}

/// The score read from [`crate::scoring::SCORE_COLUMNS`] starting at column `at` (`None` for a
/// contact not scored yet).
pub(crate) fn score_from_row(row: &impl Columns, at: usize) -> Result<Option<ScoreSummary>, StoreError> {
    let Some(scored_at) = row.opt_ts(at + 7)? else { return Ok(None) };
    let grade: String = row.get(at + 1)?;
    let temperature: String = row.get(at + 3)?;
    let knockouts: Option<String> = row.get(at + 5)?;
    Ok(Some(ScoreSummary {
        fit_points: Points::from_hundredths(row.get(at)?),
        fit_grade: FitGrade::parse(&grade)
            .ok_or_else(|| StoreError::Corrupt(format!("fit grade `{grade}`")))?,
        engagement: Points::from_hundredths(row.get(at + 2)?),
        temperature: Temperature::parse(&temperature)
            .ok_or_else(|| StoreError::Corrupt(format!("temperature `{temperature}`")))?,
        temperature_reason: row.get::<Option<String>>(at + 4)?.unwrap_or_default(),
        knockouts: knockouts
            .filter(|k| !k.is_empty())
            .map(|k| k.split(',').map(String::from).collect())
            .unwrap_or_default(),
        rules_version: row.get(at + 6)?,
        scored_at,
    }))
}

/// The folded text free-text search looks into (names and e-mail, `core::text`), kept in the row
/// so the same `LIKE` works on both databases.
pub(crate) fn search_text(c: &Contact) -> String {
    leadgate_core::text::search_text([
        c.first_name.as_deref(),
        c.last_name.as_deref(),
        c.email.as_ref().map(|e| e.as_str()),
    ])
}

impl Session {
    /// Stores a new contact. Fails with [`StoreError::Conflict`] on a taken e-mail or external id.
    pub async fn insert_contact(
        &mut self,
        id: ContactId,
        new: NewContact,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        let contact = Contact {
            id,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            phone: new.phone,
            job_title: new.job_title,
            company_id: new.company_id,
            country: new.country,
            city: new.city,
            external_id: new.external_id,
            lifecycle_stage: new.lifecycle_stage,
            last_touch_source: new.source.clone(),
            last_touch_campaign: new.campaign.clone(),
            source: new.source,
            campaign: new.campaign,
            do_not_email: new.do_not_email,
            do_not_call: new.do_not_call,
            objected_at: None,
            custom: new.custom,
            score: None,
            created_at: now,
            updated_at: now,
        };
        let reached = leadgate_core::lifecycle::Reached::of([(contact.lifecycle_stage, now)]);
        self.execute(
            "INSERT INTO contacts (id, email, email_key, first_name, last_name, phone, job_title, company_id, \
             country, city, external_id, lifecycle_stage, source, campaign, last_touch_source, \
             last_touch_campaign, last_touch_at, do_not_email, do_not_call, custom, search_text, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23)",
            args![
                contact.id,
                contact.email.as_ref().map(|e| e.as_str()),
                contact.email.as_ref().map(Email::key),
                contact.first_name.as_deref(),
                contact.last_name.as_deref(),
                contact.phone.as_deref(),
                contact.job_title.as_deref(),
                contact.company_id,
                contact.country.as_deref(),
                contact.city.as_deref(),
                contact.external_id.as_deref(),
                contact.lifecycle_stage.as_str(),
                contact.source.as_deref(),
                contact.campaign.as_deref(),
                contact.last_touch_source.as_deref(),
                contact.last_touch_campaign.as_deref(),
                // The time of the last touch is set by the events that carry one; a creation
                // alone leaves it open so that the first such event counts.
                Option::<Timestamp>::None,
                contact.do_not_email,
                contact.do_not_call,
                serde_json::Value::Object(contact.custom.clone()).to_string(),
                search_text(&contact),
                now,
                now
            ],
        )
        .await?;
        self.execute("INSERT INTO contact_scores (contact_id) VALUES ($1)", args![contact.id]).await?;
        self.note_reached(&[(contact.id, reached)]).await?;
        Ok(contact)
    }

    pub async fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {CONTACTS_SCORED} WHERE id = $1 AND anonymised_at IS NULL");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(from_row).transpose()
    }

    /// Many contacts at once (those that exist and are not anonymised), in no particular order.
    pub async fn get_contacts(&mut self, ids: &[ContactId]) -> Result<Vec<Contact>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {COLUMNS} FROM {CONTACTS_SCORED} WHERE id IN ({}) AND anonymised_at IS NULL",
                Session::placeholders(1, chunk.len())
            );
            let rows =
                self.fetch_all(&sql, chunk.iter().map(|c| crate::driver::Arg::from(*c)).collect()).await?;
            for r in &rows {
                out.push(from_row(r)?);
            }
        }
        Ok(out)
    }

    /// The contact, locked until the transaction ends (on PostgreSQL; SQLite's write transaction
    /// already excludes other writers). Use cases that change a contact together with its
    /// assignments or tasks take this first, so that all lock in one order — contact, then
    /// assignments, then tasks — and two of them on one lead wait for each other instead of
    /// deadlocking. `NO KEY UPDATE` (what an UPDATE of the row takes anyway) does not block the
    /// foreign-key checks of rows inserted for the contact.
    pub async fn lock_contact(&mut self, id: ContactId) -> Result<Option<Contact>, StoreError> {
        let lock = match self.dialect() {
            crate::driver::Dialect::Postgres => " FOR NO KEY UPDATE OF contacts",
            crate::driver::Dialect::Sqlite => "",
        };
        let sql =
            format!("SELECT {COLUMNS} FROM {CONTACTS_SCORED} WHERE id = $1 AND anonymised_at IS NULL{lock}");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(from_row).transpose()
    }

    /// Contacts whose `key_column` is one of the values bound to `placeholders`, with `extra`.
    pub(crate) async fn contacts_matching(
        &mut self,
        extra: &str,
        key_column: &str,
        placeholders: &str,
        values: Vec<Arg>,
    ) -> Result<Vec<(Contact, Row)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, {extra} FROM {CONTACTS_SCORED} WHERE {key_column} IN ({placeholders}) \
             AND anonymised_at IS NULL"
        );
        self.fetch_all(&sql, values).await?.into_iter().map(|r| Ok((from_row(&r)?, r))).collect()
    }

    /// Finds a contact by e-mail, case-insensitively.
    pub async fn find_contact_by_email(&mut self, email: &Email) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {CONTACTS_SCORED} WHERE email_key = $1");
        self.fetch_optional(&sql, args![email.key()]).await?.as_ref().map(from_row).transpose()
    }

    pub async fn find_contact_by_external_id(
        &mut self,
        external_id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {CONTACTS_SCORED} WHERE external_id = $1");
        self.fetch_optional(&sql, args![external_id]).await?.as_ref().map(from_row).transpose()
    }

    /// Writes every editable field of `contact` (the result of applying a patch) and bumps
    /// `updated_at`. Returns false when the contact no longer exists.
    pub async fn update_contact(&mut self, contact: &Contact) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE contacts SET email = $2, email_key = $3, first_name = $4, last_name = $5, phone = $6, \
                 job_title = $7, company_id = $8, country = $9, city = $10, external_id = $11, source = $12, \
                 campaign = $13, do_not_email = $14, do_not_call = $15, custom = $16, search_text = $17, \
                 updated_at = $18 WHERE id = $1",
                args![
                    contact.id,
                    contact.email.as_ref().map(|e| e.as_str()),
                    contact.email.as_ref().map(Email::key),
                    contact.first_name.as_deref(),
                    contact.last_name.as_deref(),
                    contact.phone.as_deref(),
                    contact.job_title.as_deref(),
                    contact.company_id,
                    contact.country.as_deref(),
                    contact.city.as_deref(),
                    contact.external_id.as_deref(),
                    contact.source.as_deref(),
                    contact.campaign.as_deref(),
                    contact.do_not_email,
                    contact.do_not_call,
                    serde_json::Value::Object(contact.custom.clone()).to_string(),
                    search_text(contact),
                    contact.updated_at
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Deletes a contact and (by cascade) its timeline. Returns false when it did not exist.
    pub async fn delete_contact(&mut self, id: ContactId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM contacts WHERE id = $1", args![id]).await? == 1)
    }

    /// Lists contacts matching `filter`, in creation order (ids are time-ordered), `limit` at a
    /// time.
    pub async fn list_contacts(
        &mut self,
        filter: &ContactFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<Contact>, StoreError> {
        let mut w = Where::new();
        w.add_plain("anonymised_at IS NULL");
        if let Some(email) = &filter.email {
            w.add("email_key = ?", email.to_lowercase());
        }
        if let Some(company) = filter.company_id {
            w.add("company_id = ?", company);
        }
        if let Some(source) = &filter.source {
            w.add("source = ?", source);
        }
        if let Some(stage) = filter.lifecycle_stage {
            w.add("lifecycle_stage = ?", stage.as_str());
        }
        if let Some(t) = filter.created_after {
            w.add("created_at >= ?", t);
        }
        if let Some(t) = filter.created_before {
            w.add("created_at < ?", t);
        }
        if let Some(t) = filter.updated_after {
            w.add("updated_at >= ?", t);
        }
        if let Some(t) = filter.updated_before {
            w.add("updated_at < ?", t);
        }
        if let Some(text) = &filter.text {
            // Names and e-mail, or the name of the contact's company (both `?` are one value).
            w.add(
                "(search_text LIKE ? ESCAPE '\\' \
                 OR company_id IN (SELECT id FROM companies WHERE search_text LIKE ? ESCAPE '\\'))",
                like_pattern(&leadgate_core::text::fold(text)),
            );
        }
        // A reader limited to some reps' leads: contacts with an open assignment of theirs (or
        // waiting unassigned).
        if let leadgate_core::access::LeadScope::Held { reps, unassigned } = &filter.scope {
            let mut held = Vec::new();
            if !reps.is_empty() {
                held.push("rep_id IN ({})");
            }
            if *unassigned {
                held.push("rep_id IS NULL");
            }
            if held.is_empty() {
                w.add_plain("1 = 0");
            } else {
                let sql = format!(
                    "id IN (SELECT contact_id FROM assignments WHERE closed_at IS NULL AND ({}))",
                    held.join(" OR ")
                );
                w.add_list(&sql, reps.iter().map(|r| Arg::from(*r)));
            }
        }
        if let Some(c) = after {
            w.add("id > ?", c.id);
        }
        let (where_clause, values) = w.finish();
        // One row more than asked tells whether there is a next page.
        let sql =
            format!("SELECT {COLUMNS} FROM {CONTACTS_SCORED} {where_clause} ORDER BY id LIMIT {}", limit + 1);
        let rows = self.fetch_all(&sql, values).await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |c| Cursor { key: 0, id: c.id.as_uuid() }))
    }

    /// Maps e-mail keys to the ids of the contacts that have them (absent keys are left out).
    pub async fn contact_ids_by_email_keys(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, ContactId>, StoreError> {
        let mut found = HashMap::new();
        // Stay well under SQLite's limit on bound parameters.
        for chunk in keys.chunks(900) {
            let sql = format!(
                "SELECT email_key, id FROM contacts WHERE email_key IN ({})",
                Session::placeholders(1, chunk.len())
            );
            let rows = self.fetch_all(&sql, chunk.iter().map(Arg::from).collect()).await?;
            for row in rows {
                found.insert(row.get::<String>(0)?, ContactId(row.get(1)?));
            }
        }
        Ok(found)
    }

    /// Which of `ids` exist.
    pub async fn existing_contact_ids(
        &mut self,
        ids: &[ContactId],
    ) -> Result<std::collections::HashSet<ContactId>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in ids.chunks(900) {
            let sql = format!(
                "SELECT id FROM contacts WHERE id IN ({}) AND anonymised_at IS NULL",
                Session::placeholders(1, chunk.len())
            );
            let rows = self.fetch_all(&sql, chunk.iter().map(|&id| Arg::from(id)).collect()).await?;
            for row in rows {
                found.insert(ContactId(row.get(0)?));
            }
        }
        Ok(found)
    }

    /// Records the latest touch (source and campaign of a newer event) for attribution; an older
    /// event arriving late does not overwrite a newer touch. One statement per 200 contacts, so
    /// a batch of events touching a thousand contacts costs five round trips, not a thousand.
    pub async fn record_last_touches(
        &mut self,
        touches: &[Touch<'_>],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_touches(
            touches,
            "last_touch_source = v.column2, last_touch_campaign = v.column3, last_touch_at = v.column4",
            "contacts.last_touch_at IS NULL OR contacts.last_touch_at <= v.column4",
            now,
        )
        .await
    }

    /// Records the first touch of contacts that have none yet (a contact created without a
    /// source takes it from its earliest event that has one); a first touch is never replaced.
    pub async fn record_first_touches(
        &mut self,
        touches: &[Touch<'_>],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_touches(
            touches,
            "source = v.column2, campaign = v.column3",
            "contacts.source IS NULL",
            now,
        )
        .await
    }

    async fn record_touches(
        &mut self,
        touches: &[Touch<'_>],
        set: &str,
        condition: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for chunk in touches.chunks(200) {
            // VALUES columns are column1.. on both databases (SQLite has no column aliases there).
            let mut values = Vec::with_capacity(chunk.len() * 4 + 1);
            values.push(Arg::from(now));
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    values.extend([
                        Arg::from(t.contact),
                        Arg::from(t.source),
                        Arg::from(t.campaign),
                        Arg::from(t.at),
                    ]);
                    format!("({})", Session::placeholders(2 + i * 4, 4))
                })
                .collect();
            let sql = format!(
                "UPDATE contacts SET {set}, updated_at = $1 FROM (VALUES {}) AS v \
                 WHERE contacts.id = v.column1 AND ({condition})",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    /// What a work list shows of its contacts: their name (or e-mail, or phone), company,
    /// temperature, fit grade and predicted probability, by id.
    pub async fn contact_labels(
        &mut self,
        ids: &[ContactId],
    ) -> Result<std::collections::HashMap<ContactId, ContactLabel>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(900) {
            let sql = format!(
                "SELECT c.id, c.first_name, c.last_name, c.email, c.phone, co.name, s.temperature, s.fit_grade, \
                 p.probability FROM contacts c LEFT JOIN companies co ON co.id = c.company_id \
                 LEFT JOIN contact_scores s ON s.contact_id = c.id LEFT JOIN predictions p ON p.contact_id = c.id \
                 WHERE c.id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(|id| Arg::from(*id)).collect()).await? {
                let name = [r.get::<Option<String>>(1)?, r.get::<Option<String>>(2)?]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = Some(name)
                    .filter(|n| !n.is_empty())
                    .or(r.get::<Option<String>>(3)?)
                    .or(r.get::<Option<String>>(4)?)
                    .unwrap_or_default();
                let label = ContactLabel {
                    name,
                    company: r.get(5)?,
                    temperature: r.get::<Option<String>>(6)?.as_deref().and_then(Temperature::parse),
                    grade: r.get(7)?,
                    probability: r.get(8)?,
                };
                out.insert(ContactId(r.get::<Uuid>(0)?), label);
            }
        }
        Ok(out)
    }

    /// Adds a note to a contact.
    pub async fn insert_note(&mut self, note: &ContactNote) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO contact_notes (id, contact_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![note.id, note.contact_id, note.author_id, note.body.as_str(), note.created_at],
        )
        .await?;
        Ok(())
    }

    /// A contact's notes, newest first.
    pub async fn notes_of(&mut self, contact: ContactId) -> Result<Vec<ContactNote>, StoreError> {
        self.fetch_all(
            "SELECT id, contact_id, author_id, body, created_at FROM contact_notes WHERE contact_id = $1 \
             ORDER BY created_at DESC, id DESC",
            args![contact],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ContactNote {
                id: r.get(0)?,
                contact_id: ContactId(r.get(1)?),
                author_id: r.get::<Option<Uuid>>(2)?.map(leadgate_core::ids::UserId),
                body: r.get(3)?,
                created_at: r.ts(4)?,
            })
        })
        .collect()
    }

    pub async fn count_contacts(&mut self) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM contacts", vec![]).await?.get(0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_column_count_matches_the_column_list() {
        assert_eq!(super::COLUMNS.split(',').count(), super::CONTACT_COLUMNS);
        assert_eq!(super::OWN_COLUMNS.split(',').count(), super::OWN_COLUMN_COUNT);
        assert_eq!(super::COLUMNS, format!("{}, {}", super::OWN_COLUMNS, crate::scoring::SCORE_COLUMNS));
    }
}
