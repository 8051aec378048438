//! Personal data in storage: erasing people from every table that holds their data (listed in
//! one place, [`Session::erase_contacts`]), the suppression list of erased e-mails (keyed hashes
//! only), the contacts due under the retention rule, and the audit log.

use std::collections::HashSet;

use jiff::Timestamp;
use leadgate_core::ids::{ContactId, UserId};
use leadgate_core::privacy::Mentions;
use uuid::Uuid;

use crate::cursor::{Cursor, Page};
use crate::driver::{Arg, Row, Session, Where, args};
use crate::error::StoreError;

/// What an erasure removed, for its receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// The contacts that existed and are gone.
    pub contacts: Vec<ContactId>,
    /// Stored API answers, uploaded files and rejects reports that mentioned them.
    pub mentions_scrubbed: u64,
}

impl Session {
    /// Erases contacts and everything that holds their personal data. This is the one list of
    /// where personal data lives; the erasure test scans every table of the database afterwards,
    /// so a table added without its line here fails it.
    ///
    /// - `contacts` is deleted, and with it (foreign keys, `ON DELETE CASCADE`) its events,
    ///   notes, scores, engagement, checklist, lifecycle history, predictions, assignments, tasks,
    ///   consents and consent requests, deal links, buying role and import baseline;
    /// - the webhook delivery log keeps each message's type, time and attempts; its payload
    ///   becomes `{"erased":true}` and it no longer names the contact (one not sent yet is
    ///   cancelled);
    /// - the website visitors the person identified as, and their page views, are deleted; so is
    ///   the person's place in the prediction queue;
    /// - audit entries about the person keep their action and time, and lose the identity;
    /// - free text that may mention the person (stored API answers replayed to retries, uploaded
    ///   files waiting for their import, rejects reports) is searched for their ids and e-mails:
    ///   answers and reject rows that mention them are deleted, and files lose those lines.
    pub async fn erase_contacts(&mut self, ids: &[ContactId], now: Timestamp) -> Result<Erased, StoreError> {
        self.forget(ids, &[], now, false).await
    }

    /// [`Session::erase_contacts`] of the people a list of e-mail keys names: the free-text
    /// stores are also scrubbed of the addresses that match no contact (a row an import refused
    /// is still in its rejects report and its file).
    pub async fn erase_people(
        &mut self,
        ids: &[ContactId],
        email_keys: &[String],
        now: Timestamp,
    ) -> Result<Erased, StoreError> {
        self.forget(ids, email_keys, now, false).await
    }

    /// [`Session::erase_contacts`], except that each contact's row stays for statistics, without
    /// anything that identifies the person: e-mail, names, phone, job title, city, external id
    /// and custom fields are cleared, and what holds free text or their doings goes (events,
    /// consents, tasks, the import baseline, score, prediction, buying role; checklist notes,
    /// stage-change reasons and reject reasons are cleared). What stays is what the funnel and
    /// the hand-off figures count: source, campaign, country, company, stages reached and when,
    /// stage moves, assignments and their timing, deal links. Every read of contacts for people
    /// leaves the row out (`anonymised_at`), and it is never profiled again.
    pub async fn anonymise_contacts(
        &mut self,
        ids: &[ContactId],
        email_keys: &[String],
        now: Timestamp,
    ) -> Result<Erased, StoreError> {
        self.forget(ids, email_keys, now, true).await
    }

    async fn forget(
        &mut self,
        ids: &[ContactId],
        email_keys: &[String],
        now: Timestamp,
        keep_statistics: bool,
    ) -> Result<Erased, StoreError> {
        let mut erased = Erased::default();
        let mut emails: Vec<String> = email_keys.to_vec();
        for chunk in ids.chunks(500) {
            let list = Session::placeholders(1, chunk.len());
            let values: Vec<Arg> = chunk.iter().map(|id| Arg::from(*id)).collect();
            let rows = self
                .fetch_all(
                    &format!(
                        "SELECT id, email_key FROM contacts WHERE id IN ({list}) AND anonymised_at IS NULL"
                    ),
                    values.clone(),
                )
                .await?;
            for r in &rows {
                erased.contacts.push(ContactId(r.get::<Uuid>(0)?));
                if let Some(email) = r.get::<Option<String>>(1)? {
                    emails.push(email);
                }
            }
            let n = chunk.len();
            let now_at = format!("${}", n + 1);
            let mut with_now = values.clone();
            with_now.push(Arg::from(now));
            self.execute(
                &format!(
                    "UPDATE webhook_deliveries SET payload = '{{\"erased\":true}}', erased_at = {now_at}, \
                     contact_id = NULL, locked_until = NULL, last_error = NULL, \
                     state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END \
                     WHERE contact_id IN ({list}) AND erased_at IS NULL"
                ),
                with_now.clone(),
            )
            .await?;
            self.execute(
                &format!(
                    "DELETE FROM visitor_events WHERE visitor_id IN \
                     (SELECT id FROM visitors WHERE contact_id IN ({list}))"
                ),
                values.clone(),
            )
            .await?;
            for table in ["visitors", "prediction_queue"] {
                self.execute(&format!("DELETE FROM {table} WHERE contact_id IN ({list})"), values.clone())
                    .await?;
            }
            self.execute(
                &format!(
                    "UPDATE audit_log SET contact_id = NULL, target = NULL, detail = '{{\"erased\":true}}', \
                     ip = NULL WHERE contact_id IN ({list})"
                ),
                values.clone(),
            )
            .await?;
            if !keep_statistics {
                self.execute(&format!("DELETE FROM contacts WHERE id IN ({list})"), values).await?;
                continue;
            }
            for table in [
                "events",
                "contact_notes",
                "consents",
                "consent_requests",
                "tasks",
                "contact_import_baselines",
                "predictions",
                "contact_scores",
                "buying_roles",
                "saved_view_members",
            ] {
                self.execute(&format!("DELETE FROM {table} WHERE contact_id IN ({list})"), values.clone())
                    .await?;
            }
            for statement in [
                "UPDATE buying_roles SET decision_maker_id = NULL WHERE decision_maker_id IN ({list})",
                "UPDATE qualification SET note = NULL, set_by = NULL WHERE contact_id IN ({list})",
                "UPDATE lifecycle_transitions SET reason = '' WHERE contact_id IN ({list})",
                "UPDATE assignments SET reject_reason = NULL WHERE contact_id IN ({list})",
            ] {
                self.execute(&statement.replace("{list}", &list), values.clone()).await?;
            }
            self.execute(
                &format!(
                    "UPDATE assignments SET closed_at = {now_at}, outcome = 'deleted' \
                     WHERE contact_id IN ({list}) AND closed_at IS NULL"
                ),
                with_now.clone(),
            )
            .await?;
            self.execute(
                &format!(
                    "UPDATE contacts SET email = NULL, email_key = NULL, first_name = NULL, last_name = NULL, \
                     phone = NULL, job_title = NULL, city = NULL, external_id = NULL, custom = '{{}}', \
                     search_text = '', do_not_email = TRUE, do_not_call = TRUE, \
                     objected_at = COALESCE(objected_at, {now_at}), anonymised_at = {now_at}, updated_at = {now_at} \
                     WHERE id IN ({list})"
                ),
                with_now,
            )
            .await?;
        }
        let mentions = Mentions::new(ids.iter().map(|id| id.to_string()), emails.iter().map(String::as_str));
        erased.mentions_scrubbed = self.scrub_mentions(&mentions).await?;
        Ok(erased)
    }

    /// Removes what free-text stores say about erased people (see [`Session::erase_contacts`]).
    /// One pass over each store whatever the number of people: they hold a day of answers and
    /// the files of imports not run yet, not the history.
    async fn scrub_mentions(&mut self, mentions: &Mentions) -> Result<u64, StoreError> {
        if mentions.is_empty() {
            return Ok(0);
        }
        let mut scrubbed = 0;
        for r in self.fetch_all("SELECT user_id, key, response_body FROM idempotency_keys", vec![]).await? {
            if mentions.in_text(&r.get::<String>(2)?) {
                scrubbed += self
                    .execute(
                        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                        args![r.get::<Uuid>(0)?, r.get::<String>(1)?],
                    )
                    .await?;
            }
        }
        for r in self
            .fetch_all("SELECT user_id, key, body FROM request_keys WHERE body IS NOT NULL", vec![])
            .await?
        {
            if mentions.in_bytes(&r.get::<Vec<u8>>(2)?) {
                scrubbed += self
                    .execute(
                        "DELETE FROM request_keys WHERE user_id = $1 AND key = $2",
                        args![r.get::<Uuid>(0)?, r.get::<String>(1)?],
                    )
                    .await?;
            }
        }
        let mut lines = HashSet::new();
        for r in self.fetch_all("SELECT job_id, line, value, reason FROM import_rejects", vec![]).await? {
            if mentions.in_text(&r.get::<String>(2)?) || mentions.in_text(&r.get::<String>(3)?) {
                lines.insert((r.get::<Uuid>(0)?, r.get::<i64>(1)?));
            }
        }
        for (job, line) in lines {
            scrubbed += self
                .execute("DELETE FROM import_rejects WHERE job_id = $1 AND line = $2", args![job, line])
                .await?;
        }
        for r in self.fetch_all("SELECT id, content FROM uploads", vec![]).await? {
            let (kept, removed) = mentions.remove_lines(&r.get::<Vec<u8>>(1)?);
            if removed > 0 {
                self.execute("UPDATE uploads SET content = $2 WHERE id = $1", args![r.get::<Uuid>(0)?, kept])
                    .await?;
                scrubbed += removed as u64;
            }
        }
        // Bounces kept for review (they matched no message, so no contact cascades them).
        for r in self.fetch_all("SELECT id, raw FROM email_bounces WHERE raw IS NOT NULL", vec![]).await? {
            if mentions.in_text(&r.get::<String>(1)?) {
                self.execute("DELETE FROM email_bounces WHERE id = $1", args![r.get::<Uuid>(0)?]).await?;
                scrubbed += 1;
            }
        }
        Ok(scrubbed)
    }

    /// Records an objection to direct marketing (GDPR art. 21): no marketing e-mail or call any
    /// more, and the profiling stops at once (the score, its engagement ledger and the
    /// prediction are deleted; scoring and prediction skip the contact from now on). False when
    /// the contact does not exist; an earlier objection keeps its date.
    pub async fn record_objection(&mut self, id: ContactId, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE contacts SET objected_at = COALESCE(objected_at, $2), do_not_email = TRUE, \
                 do_not_call = TRUE, updated_at = $2 WHERE id = $1",
                args![id, now],
            )
            .await?;
        for table in ["predictions", "prediction_queue"] {
            self.execute(&format!("DELETE FROM {table} WHERE contact_id = $1"), args![id]).await?;
        }
        // The score row stays, emptied (unscored), so the contact is still listed in the inbox,
        // with the leads not scored, rather than lost.
        self.execute(
            "UPDATE contact_scores SET fit_points = NULL, fit_grade = NULL, engagement = NULL, \
             temperature = NULL, temperature_reason = NULL, knockouts = NULL, rules_version = NULL, \
             scored_at = NULL, ledger = NULL WHERE contact_id = $1",
            args![id],
        )
        .await?;
        Ok(n == 1)
    }

    /// Which of these contacts asked not to be called.
    pub async fn do_not_call_among(&mut self, ids: &[ContactId]) -> Result<HashSet<ContactId>, StoreError> {
        let mut found = HashSet::new();
        for chunk in ids.chunks(900) {
            let sql = format!(
                "SELECT id FROM contacts WHERE do_not_call AND id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            for r in self.fetch_all(&sql, chunk.iter().map(|id| Arg::from(*id)).collect()).await? {
                found.insert(ContactId(r.get::<Uuid>(0)?));
            }
        }
        Ok(found)
    }

    /// Marks contacts do-not-email (an unsubscribe, a withdrawn consent); returns those changed.
    pub async fn set_do_not_email(&mut self, ids: &[ContactId], now: Timestamp) -> Result<u64, StoreError> {
        let mut changed = 0;
        for chunk in ids.chunks(900) {
            let sql = format!(
                "UPDATE contacts SET do_not_email = TRUE, updated_at = ${} WHERE do_not_email = FALSE AND id IN ({})",
                chunk.len() + 1,
                Session::placeholders(1, chunk.len())
            );
            let mut values: Vec<Arg> = chunk.iter().map(|id| Arg::from(*id)).collect();
            values.push(Arg::from(now));
            changed += self.execute(&sql, values).await?;
        }
        Ok(changed)
    }

    /// Adds keyed e-mail hashes to the suppression list (those already on it keep their date).
    pub async fn suppress(
        &mut self,
        hashes: &[String],
        reason: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows = hashes.iter().map(|h| args![h.as_str(), reason, now]).collect();
        self.insert_rows(
            "INSERT INTO suppressions (email_hash, reason, suppressed_at)",
            3,
            rows,
            "ON CONFLICT (email_hash) DO NOTHING",
        )
        .await
    }

    /// Which of these keyed hashes are on the suppression list, for one of `reasons`.
    pub async fn suppressed_among(
        &mut self,
        hashes: &[String],
        reasons: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for chunk in hashes.chunks(900) {
            let sql = format!(
                "SELECT email_hash FROM suppressions WHERE email_hash IN ({}) AND reason IN ({})",
                Session::placeholders(1, chunk.len()),
                Session::placeholders(chunk.len() + 1, reasons.len())
            );
            let mut values: Vec<Arg> = chunk.iter().map(|h| Arg::from(h.as_str())).collect();
            values.extend(reasons.iter().map(|r| Arg::from(*r)));
            for r in self.fetch_all(&sql, values).await? {
                found.insert(r.get::<String>(0)?);
            }
        }
        Ok(found)
    }

    /// How many e-mails are suppressed, by reason.
    pub async fn suppression_counts(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        self.fetch_all("SELECT reason, COUNT(*) FROM suppressions GROUP BY reason ORDER BY reason", vec![])
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Contacts due for deletion under the retention rule (`leadgate_core::privacy`): created
    /// before `cutoff`, at a stage the rule applies to, with no event of an `inbound` kind since
    /// `cutoff`, in id order after `after`, `limit` at a time. The events are read through the
    /// timeline's key (contact, time), one short range per candidate.
    pub async fn retention_due(
        &mut self,
        cutoff: Timestamp,
        inbound: &[&str],
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<(ContactId, Option<String>)>, StoreError> {
        let kinds = Session::placeholders(3, inbound.len());
        let sql = format!(
            "SELECT c.id, c.email FROM contacts c WHERE c.created_at < $1 AND c.id > $2 AND c.anonymised_at IS NULL \
             AND c.lifecycle_stage NOT IN ('opportunity', 'customer') \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.occurred_at >= $1 \
                             AND e.kind IN ({kinds})) \
             ORDER BY c.id LIMIT {limit}"
        );
        let mut values = args![cutoff, after.map_or(Uuid::nil(), |a| a.as_uuid())];
        values.extend(inbound.iter().map(|k| Arg::from(*k)));
        self.fetch_all(&sql, values)
            .await?
            .iter()
            .map(|r| Ok((ContactId(r.get::<Uuid>(0)?), r.get(1)?)))
            .collect()
    }

    /// Appends an entry to the audit log.
    pub async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO audit_log (id, at, actor_id, actor, action, target, contact_id, detail, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                entry.id,
                entry.at,
                entry.actor_id,
                entry.actor.as_str(),
                entry.action.as_str(),
                entry.target.as_deref(),
                entry.contact_id,
                entry.detail.to_string(),
                entry.ip.as_deref()
            ],
        )
        .await?;
        Ok(())
    }

    /// The audit log, newest first, `limit` at a time.
    pub async fn list_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let mut w = Where::new();
        if let Some(action) = &filter.action {
            // An action or a family of them (`user` matches `user.created`, `user.role_changed`…).
            w.add("(action = ? OR action LIKE ? || '.%')", action.as_str());
        }
        if let Some(actor) = &filter.actor {
            w.add("actor = ?", actor.as_str());
        }
        if let Some(t) = filter.since {
            w.add("at >= ?", t);
        }
        if let Some(t) = filter.until {
            w.add("at < ?", t);
        }
        if let Some(c) = after {
            w.add("id < ?", c.id);
        }
        let (where_clause, values) = w.finish();
        let sql = format!(
            "SELECT id, at, actor_id, actor, action, target, contact_id, detail, ip FROM audit_log {where_clause} \
             ORDER BY id DESC LIMIT {}",
            limit + 1
        );
        let items =
            self.fetch_all(&sql, values).await?.iter().map(audit_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |e| Cursor { key: 0, id: e.id }))
    }
}

/// One sensitive action: who, when, what, on what, from where.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// Time-ordered (UUIDv7), so the log lists in order without a sort on time.
    pub id: Uuid,
    pub at: Timestamp,
    /// The user who acted; `None` for the system or an anonymous request.
    pub actor_id: Option<UserId>,
    /// The user's e-mail, `system`, or `anonymous`.
    pub actor: String,
    /// e.g. `contact.erased`, `user.signed_in`, `api_key.created`.
    pub action: String,
    /// What was acted on (a user's e-mail, a key's id, a rules version…).
    pub target: Option<String>,
    /// The person the action was about, so that erasing them clears the entry's identity.
    pub contact_id: Option<ContactId>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

fn audit_from_row(r: &Row) -> Result<AuditEntry, StoreError> {
    let detail: String = r.get(7)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.ts(1)?,
        actor_id: r.get::<Option<Uuid>>(2)?.map(UserId),
        actor: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        contact_id: r.get::<Option<Uuid>>(6)?.map(ContactId),
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?,
        ip: r.get(8)?,
    })
}
