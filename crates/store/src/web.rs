//! What the web UI needs from storage: passwords, sessions, the user's language and time zone,
//! and the lead
//! inbox (contacts with their score, probability and owner, sorted hottest first).

use jiff::Timestamp;
use leadgate_core::access::LeadScope;
use leadgate_core::email::Email;
use leadgate_core::ids::{ContactId, UserId};
use leadgate_core::user::User;

use crate::driver::{Arg, Row, Session, args, like_pattern};
use crate::error::StoreError;
use crate::users::{USER_COLUMNS, user_from_row};

/// A live web session.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub language: Option<String>,
    /// An IANA zone name the user chose.
    pub time_zone: Option<String>,
    pub csrf: String,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What the inbox is sorted by. `Priority` is its own order: hot, then warm, then cold
/// (unscored last), the most engaged first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxSort {
    #[default]
    Priority,
    Name,
    Company,
    Stage,
    Grade,
    Engagement,
    Probability,
    Owner,
    Created,
}

impl InboxSort {
    pub const ALL: [InboxSort; 9] = [
        InboxSort::Priority,
        InboxSort::Name,
        InboxSort::Company,
        InboxSort::Stage,
        InboxSort::Grade,
        InboxSort::Engagement,
        InboxSort::Probability,
        InboxSort::Owner,
        InboxSort::Created,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InboxSort::Priority => "priority",
            InboxSort::Name => "name",
            InboxSort::Company => "company",
            InboxSort::Stage => "stage",
            InboxSort::Grade => "grade",
            InboxSort::Engagement => "engagement",
            InboxSort::Probability => "probability",
            InboxSort::Owner => "owner",
            InboxSort::Created => "created",
        }
    }

    pub fn parse(s: &str) -> Option<InboxSort> {
        InboxSort::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The column's sort key; texts compare without case (a company's name also without
    /// accents, as the companies list sorts). Stages sort in funnel order.
    fn key(self) -> String {
        match self {
            InboxSort::Priority => {
                "CASE s.temperature WHEN 'hot' THEN 0 WHEN 'warm' THEN 1 WHEN 'cold' THEN 2 ELSE 3 END".into()
            }
            InboxSort::Name => NAME_KEY.into(),
            InboxSort::Company => "co.name_key".into(),
            InboxSort::Stage => {
                let whens: Vec<String> =
                    STAGE_ORDER.iter().enumerate().map(|(i, s)| format!("WHEN '{s}' THEN {i}")).collect();
                format!("CASE c.lifecycle_stage {} ELSE {} END", whens.join(" "), STAGE_ORDER.len())
            }
            InboxSort::Grade => "s.fit_grade".into(),
            InboxSort::Engagement => "s.engagement".into(),
            InboxSort::Probability => "p.probability".into(),
            InboxSort::Owner => {
                "(SELECT LOWER(COALESCE(u.name, u.email)) FROM users u WHERE u.id = a.rep_id)".into()
            }
            InboxSort::Created => "c.created_at".into(),
        }
    }
}

/// A contact's name as the inbox sorts it: first name, else last name, else e-mail, without
/// case. Written as the index on it is (migration 35), so that both databases walk the index.
const NAME_KEY: &str = "lower(coalesce(c.first_name, c.last_name, c.email))";

/// The lifecycle stages in funnel order, as the inbox sorts them.
const STAGE_ORDER: [&str; 10] = [
    "visitor",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "nurturing",
    "intermediary",
    "disqualified",
    "churned",
];

/// Filters of the lead inbox; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub stage: Option<String>,
    /// Without a stage: leave out customers and disqualified contacts (the inbox's default).
    pub open_only: bool,
    pub temperature: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// Contacts whose open assignment is this rep's.
    pub owner: Option<UserId>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    /// Free text in names and e-mail.
    pub text: Option<String>,
    /// Contacts in this nurture sequence now (an active enrolment).
    pub sequence: Option<leadgate_core::ids::SequenceId>,
    /// Contacts added by hand to this saved view.
    pub view: Option<uuid::Uuid>,
    /// Which leads the reader may see (set by the use case from who asks).
    pub scope: leadgate_core::access::LeadScope,
    /// The order of the page (not a filter, but carried with them in links and saved views).
    pub sort: InboxSort,
    /// With a sort other than priority: smallest first (default: largest first).
    pub ascending: bool,
}

/// The most leads the inbox counts exactly.
pub const INBOX_COUNT_CAP: i64 = 10_000;

/// The inbox's query without its order: the tables read, the conditions, their values.
struct InboxSql {
    from: String,
    /// The tables the conditions need, for counting.
    count_from: String,
    conditions: Vec<String>,
    values: Vec<Arg>,
    scoped: bool,
}

impl InboxSql {
    fn and(&self, extra: &str) -> String {
        let mut all = self.conditions.clone();
        all.push(extra.to_string());
        format!("WHERE {}", all.join(" AND "))
    }
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    pub id: ContactId,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub stage: String,
    pub temperature: Option<String>,
    pub grade: Option<String>,
    /// Hundredths of a point.
    pub engagement: Option<i64>,
    pub probability: Option<f64>,
    pub owner: Option<UserId>,
    pub source: Option<String>,
    pub created_at: Timestamp,
    /// The contact's id in another system (shown when it has no name or e-mail).
    pub external_id: Option<String>,
}

impl Session {
    pub async fn password_hash(
        &mut self,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email_key = $1");
        self.fetch_optional(&sql, args![email.key()])
            .await?
            .map(|r| Ok((user_from_row(&r, 0)?, r.get(6)?)))
            .transpose()
    }

    /// Until when sign-in is locked for any of these (scope, key) pairs, if it is.
    pub async fn sign_in_locked_until(
        &mut self,
        keys: &[(&str, &str)],
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let mut until: Option<Timestamp> = None;
        for (scope, key) in keys {
            let row = self
                .fetch_optional(
                    "SELECT locked_until FROM sign_in_failures WHERE scope = $1 AND key = $2 AND locked_until > $3",
                    args![*scope, *key, now],
                )
                .await?;
            if let Some(r) = row {
                let t = r.ts(0)?;
                until = Some(until.map_or(t, |u| u.max(t)));
            }
        }
        Ok(until)
    }

    /// Counts one more failed sign-in for (scope, key); returns the failures in a row.
    pub async fn record_sign_in_failure(
        &mut self,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let row = self
            .fetch_one(
                "INSERT INTO sign_in_failures (scope, key, failures, last_failure_at, locked_until) VALUES ($1, $2, 1, $3, 0) \
                 ON CONFLICT (scope, key) DO UPDATE SET failures = sign_in_failures.failures + 1, last_failure_at = $3 \
                 RETURNING failures",
                args![scope, key, now],
            )
            .await?;
        Ok(u32::try_from(row.get::<i64>(0)?).unwrap_or(u32::MAX))
    }

    /// Locks sign-in for (scope, key) until `until`.
    pub async fn lock_sign_in(&mut self, scope: &str, key: &str, until: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE sign_in_failures SET locked_until = $3 WHERE scope = $1 AND key = $2",
            args![scope, key, until],
        )
        .await?;
        Ok(())
    }

    /// Forgets the failures of (scope, key) (a successful sign-in, a new password).
    pub async fn clear_sign_in_failures(&mut self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM sign_in_failures WHERE scope = $1 AND key = $2", args![scope, key]).await?;
        Ok(())
    }

    /// Forgets failures older than `before`.
    pub async fn purge_sign_in_failures(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM sign_in_failures WHERE last_failure_at < $1 AND locked_until < $1",
            args![before],
        )
        .await
    }

    /// Revokes every active key of a user (but `except`).
    pub async fn revoke_api_keys_of(
        &mut self,
        user: UserId,
        except: Option<leadgate_core::ids::ApiKeyId>,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)",
            args![user, now, except],
        )
        .await
    }

    pub async fn set_password_hash(&mut self, user: UserId, hash: &str) -> Result<bool, StoreError> {
        Ok(self.execute("UPDATE users SET password_hash = $2 WHERE id = $1", args![user, hash]).await? == 1)
    }

    pub async fn set_language(&mut self, user: UserId, language: Option<&str>) -> Result<bool, StoreError> {
        Ok(self.execute("UPDATE users SET language = $2 WHERE id = $1", args![user, language]).await? == 1)
    }

    pub async fn set_time_zone(&mut self, user: UserId, zone: Option<&str>) -> Result<bool, StoreError> {
        Ok(self.execute("UPDATE users SET time_zone = $2 WHERE id = $1", args![user, zone]).await? == 1)
    }

    pub async fn insert_web_session(
        &mut self,
        token_digest: &str,
        user: UserId,
        csrf: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO web_sessions (token_digest, user_id, csrf, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
            args![token_digest, user, csrf, now, expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn web_session(&mut self, token_digest: &str) -> Result<Option<WebSession>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.language, s.csrf, s.last_seen_at, s.expires_at, u.time_zone FROM web_sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_digest = $1"
        );
        self.fetch_optional(&sql, args![token_digest])
            .await?
            .map(|r| {
                Ok(WebSession {
                    user: user_from_row(&r, 0)?,
                    language: r.get(6)?,
                    csrf: r.get(7)?,
                    last_seen_at: r.ts(8)?,
                    expires_at: r.ts(9)?,
                    time_zone: r.get(10)?,
                })
            })
            .transpose()
    }

    pub async fn touch_web_session(&mut self, token_digest: &str, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE web_sessions SET last_seen_at = $2 WHERE token_digest = $1",
            args![token_digest, now],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_web_session(&mut self, token_digest: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM web_sessions WHERE token_digest = $1", args![token_digest]).await?;
        Ok(())
    }

    /// Deletes sessions past their end or idle since `idle_since`. Returns how many.
    pub async fn purge_web_sessions(
        &mut self,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> Result<u64, StoreError> {
        let stale = self
            .fetch_optional(
                "SELECT 1 FROM web_sessions WHERE expires_at <= $1 OR last_seen_at < $2 LIMIT 1",
                args![now, idle_since],
            )
            .await?;
        if stale.is_none() {
            return Ok(0);
        }
        self.execute(
            "DELETE FROM web_sessions WHERE expires_at <= $1 OR last_seen_at < $2",
            args![now, idle_since],
        )
        .await
    }

    /// Ends every session of a user (password changed, user disabled).
    pub async fn delete_web_sessions_of(&mut self, user: UserId) -> Result<(), StoreError> {
        self.execute("DELETE FROM web_sessions WHERE user_id = $1", args![user]).await?;
        Ok(())
    }

    /// The inbox's tables and conditions for a filter; `None` when the reader may see no lead.
    fn inbox_sql(&self, f: &InboxFilter) -> Option<InboxSql> {
        // The page is walked in ix_contact_scores_inbox order (temperature, engagement, contact)
        // and the filters are checked on the way, joining each contact: with a page of 50 and
        // filters that keep a few percent of contacts, that stops after a few thousand rows.
        // SQLite's planner would rather use a filter's own index and then sort every match (245
        // ms for `stage = mql` at 1M contacts), so on SQLite the filter columns are written
        // `+col`, which keeps their index out of the plan. PostgreSQL weighs LIMIT itself.
        let sqlite = self.dialect() == crate::driver::Dialect::Sqlite;
        let col = |name: &str| if sqlite { format!("+{name}") } else { name.to_string() };
        let mut conditions: Vec<String> = Vec::new();
        if f.stage.is_none() && f.open_only {
            conditions.push(format!("{} NOT IN ('customer', 'disqualified')", col("c.lifecycle_stage")));
        }
        let mut values: Vec<Arg> = Vec::new();
        let mut add = |sql: String, v: Arg| {
            values.push(v);
            conditions.push(sql.replace('?', &format!("${}", values.len())));
        };
        if let Some(s) = &f.stage {
            add(format!("{} = ?", col("c.lifecycle_stage")), Arg::from(s.as_str()));
        }
        if let Some(t) = &f.temperature {
            add("s.temperature = ?".into(), Arg::from(t.as_str()));
        }
        if let Some(g) = &f.grade {
            add(format!("{} = ?", col("s.fit_grade")), Arg::from(g.as_str()));
        }
        if let Some(s) = &f.source {
            add(format!("{} = ?", col("c.source")), Arg::from(s.as_str()));
        }
        if let Some(s) = &f.campaign {
            add(format!("{} = ?", col("c.campaign")), Arg::from(s.as_str()));
        }
        if let Some(o) = f.owner {
            add(format!("{} = ?", col("a.rep_id")), Arg::from(o));
        }
        if let Some(q) = f.sequence {
            add(
                "c.id IN (SELECT contact_id FROM enrolments WHERE sequence_id = ? AND state = 'active')"
                    .into(),
                Arg::from(q),
            );
        }
        if let Some(v) = f.view {
            // A few hundred members at most, found by the primary key: an array on PostgreSQL
            // for the reason the text search gives below.
            let members = "SELECT contact_id FROM saved_view_members WHERE view_id = ?";
            add(
                if sqlite { format!("c.id IN ({members})") } else { format!("c.id = ANY(ARRAY({members}))") },
                Arg::from(v),
            );
        }
        if let Some(t) = f.created_after {
            add(format!("{} >= ?", col("c.created_at")), Arg::from(t));
        }
        if let Some(t) = f.created_before {
            add(format!("{} < ?", col("c.created_at")), Arg::from(t));
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = like_pattern(&leadgate_core::text::fold(text));
            // Matched in a subquery that reads only ids and search texts (on SQLite an index
            // of just those, migration 10), then the few matches are joined: see BENCHMARKS.md,
            // "Lead inbox of the web UI". A company's name finds its contacts too (both `?` are
            // the one parameter). The matches are one set (a UNION), not two `IN`s joined by
            // OR: with OR both databases test every contact against both lists (357 and 628 ms
            // at 1M instead of 60 and 149). PostgreSQL gets the set as an array computed once
            // (`= ANY(ARRAY(…))`), which it looks up by primary key; as `IN (…)` it re-ran the
            // subquery for the rows it walked (957 ms, and 2.6 s for the count).
            let matches = "SELECT id FROM contacts WHERE search_text LIKE ? ESCAPE '\\' \
                 UNION SELECT id FROM contacts WHERE company_id IN \
                 (SELECT id FROM companies WHERE search_text LIKE ? ESCAPE '\\')";
            add(
                if sqlite { format!("c.id IN ({matches})") } else { format!("c.id = ANY(ARRAY({matches}))") },
                Arg::from(pattern),
            );
        }
        // A reader limited to some reps' leads reads from their open assignments (a few
        // hundred rows at most, by ix_assignments_rep), then ranks them in one pass: walking the
        // whole inbox index to keep a rep's 40 leads would read every contact. SQLite joins in
        // the order written after a CROSS JOIN.
        let scoped = match &f.scope {
            LeadScope::All => None,
            LeadScope::Held { reps, unassigned } => {
                let mut held = Vec::new();
                if !reps.is_empty() {
                    let first = values.len() + 1;
                    values.extend(reps.iter().map(|r| Arg::from(*r)));
                    held.push(format!("a.rep_id IN ({})", Session::placeholders(first, reps.len())));
                }
                if *unassigned {
                    held.push("a.rep_id IS NULL".into());
                }
                if held.is_empty() {
                    return None;
                }
                conditions.push(format!("a.closed_at IS NULL AND ({})", held.join(" OR ")));
                Some(if sqlite { "CROSS JOIN" } else { "JOIN" })
            }
        };
        // Every contact has its scores row from creation on (see the contact_scores migration).
        let joins = "LEFT JOIN companies co ON co.id = c.company_id \
             LEFT JOIN predictions p ON p.contact_id = c.id";
        let from = match scoped {
            None => format!(
                "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id {joins} \
                 LEFT JOIN assignments a ON a.contact_id = c.id AND a.closed_at IS NULL"
            ),
            Some(join) => format!(
                "FROM assignments a {join} contact_scores s ON s.contact_id = a.contact_id \
                 {join} contacts c ON c.id = a.contact_id {joins}"
            ),
        };
        // The count reads only the tables its conditions name: no company, no prediction, and
        // the assignments only for an owner or a reader's scope.
        let count_from = match scoped {
            None if f.owner.is_some() => "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id \
                 LEFT JOIN assignments a ON a.contact_id = c.id AND a.closed_at IS NULL"
                .to_string(),
            None => "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id".to_string(),
            Some(join) => format!(
                "FROM assignments a {join} contact_scores s ON s.contact_id = a.contact_id \
                 {join} contacts c ON c.id = a.contact_id"
            ),
        };
        Some(InboxSql { from, count_from, conditions, values, scoped: scoped.is_some() })
    }

    /// The walks of the inbox sorted by a column the reader chose, over all contacts: each
    /// walks an index in the column's order and stops when the page is full, instead of sorting
    /// every contact by the column (about 2 s at 1M; see BENCHMARKS.md, "Lead inbox"). Empty
    /// values come last in both directions; ties go by contact, in the same direction.
    fn sort_walks(
        &self,
        f: &InboxFilter,
        from: &str,
        dir: &str,
        reps: &[UserId],
    ) -> Vec<(String, String, String)> {
        let sqlite = self.dialect() == crate::driver::Dialect::Sqlite;
        // SQLite joins in the order written after a CROSS JOIN: the walked table first.
        let cross = if sqlite { "CROSS JOIN" } else { "JOIN" };
        let rest = "LEFT JOIN predictions p ON p.contact_id = c.id \
             LEFT JOIN assignments a ON a.contact_id = c.id AND a.closed_at IS NULL";
        let by_contacts = format!(
            "FROM contacts c {cross} contact_scores s ON s.contact_id = c.id \
             LEFT JOIN companies co ON co.id = c.company_id {rest}"
        );
        let walk = |from: &str, cond: &str, order: String| (from.to_string(), cond.to_string(), order);
        let in_order = |mut values: Vec<&'static str>| {
            if !f.ascending {
                values.reverse();
            }
            values
        };
        match f.sort {
            // The index on the name (migration 35), then the contacts without any name.
            InboxSort::Name => vec![
                walk(
                    &by_contacts,
                    &format!("{NAME_KEY} IS NOT NULL"),
                    format!("ORDER BY {NAME_KEY} {dir}, c.id {dir}"),
                ),
                walk(&by_contacts, &format!("{NAME_KEY} IS NULL"), format!("ORDER BY c.id {dir}")),
            ],
            // Companies by their name's index, each one's contacts; then contacts without one.
            InboxSort::Company => vec![
                walk(
                    &format!(
                        "FROM companies co {cross} contacts c ON c.company_id = co.id \
                         {cross} contact_scores s ON s.contact_id = c.id {rest}"
                    ),
                    "1 = 1",
                    format!("ORDER BY co.name_key {dir}, co.id {dir}, c.id {dir}"),
                ),
                walk(from, "c.company_id IS NULL", format!("ORDER BY s.contact_id {dir}")),
            ],
            // One walk per stage in funnel order, each a range of ix_contacts_stage; the stages
            // the filters leave out are not walked.
            InboxSort::Stage => {
                let stages: Vec<&'static str> = STAGE_ORDER
                    .into_iter()
                    .filter(|s| match &f.stage {
                        Some(chosen) => chosen == s,
                        None => !f.open_only || !matches!(*s, "customer" | "disqualified"),
                    })
                    .collect();
                in_order(stages)
                    .into_iter()
                    .map(|s| {
                        walk(
                            &by_contacts,
                            &format!("c.lifecycle_stage = '{s}'"),
                            format!("ORDER BY c.id {dir}"),
                        )
                    })
                    .collect()
            }
            // One walk per grade, each a range of ix_contact_scores_grade (migration 35), then
            // the contacts not graded.
            InboxSort::Grade => {
                let by_scores = format!(
                    "FROM contact_scores s {cross} contacts c ON c.id = s.contact_id \
                     LEFT JOIN companies co ON co.id = c.company_id {rest}"
                );
                let grades: Vec<&'static str> = ["A", "B", "C", "D"]
                    .into_iter()
                    .filter(|g| f.grade.as_deref().is_none_or(|chosen| chosen == *g))
                    .collect();
                let mut walks: Vec<_> = in_order(grades)
                    .into_iter()
                    .map(|g| {
                        walk(
                            &by_scores,
                            &format!("s.fit_grade = '{g}'"),
                            format!("ORDER BY s.contact_id {dir}"),
                        )
                    })
                    .collect();
                if f.grade.is_none() {
                    walks.push(walk(
                        &by_scores,
                        "s.fit_grade IS NULL",
                        format!("ORDER BY s.contact_id {dir}"),
                    ));
                }
                walks
            }
            // A walk per rep in name order (`reps`), each the rep's open assignments in contact
            // order (ix_assignments_open_rep, migration 35), then the leads nobody holds.
            InboxSort::Owner => {
                let held = format!(
                    "FROM assignments a {cross} contact_scores s ON s.contact_id = a.contact_id \
                     {cross} contacts c ON c.id = a.contact_id \
                     LEFT JOIN companies co ON co.id = c.company_id LEFT JOIN predictions p ON p.contact_id = c.id"
                );
                let mut walks: Vec<_> = reps
                    .iter()
                    .map(|rep| {
                        // An id is hex digits: written in the query as each database spells it.
                        let rep =
                            if sqlite { format!("x'{}'", rep.0.simple()) } else { format!("'{}'", rep.0) };
                        walk(
                            &held,
                            &format!("a.rep_id = {rep} AND a.closed_at IS NULL"),
                            format!("ORDER BY a.contact_id {dir}"),
                        )
                    })
                    .collect();
                // With one rep chosen, every lead shown is theirs.
                if f.owner.is_none() {
                    walks.push(walk(
                        &format!("{from} LEFT JOIN users u ON u.id = a.rep_id"),
                        "u.id IS NULL",
                        format!("ORDER BY s.contact_id {dir}"),
                    ));
                }
                walks
            }
            // Creation: one sort the databases serve from ix_contacts_created.
            _ => vec![walk(
                from,
                "1 = 1",
                format!("ORDER BY {} {dir} NULLS LAST, s.contact_id {dir}", f.sort.key()),
            )],
        }
    }

    /// The inbox's tables read from the predictions, most likely first: sorted by probability,
    /// the page walks ix_predictions_probability and joins each contact, stopping when full,
    /// instead of sorting every contact (2 s at 1M).
    fn by_probability(&self) -> String {
        let cross = if self.dialect() == crate::driver::Dialect::Sqlite { "CROSS JOIN" } else { "JOIN" };
        format!(
            "FROM predictions p {cross} contact_scores s ON s.contact_id = p.contact_id \
             {cross} contacts c ON c.id = p.contact_id LEFT JOIN companies co ON co.id = c.company_id \
             LEFT JOIN assignments a ON a.contact_id = c.id AND a.closed_at IS NULL"
        )
    }

    /// How many leads match the inbox's filters, counted up to [`INBOX_COUNT_CAP`] + 1: past
    /// that, "more than 10,000" says what a reader needs, and counting a million rows to say
    /// "930,214" would cost the page two seconds (BENCHMARKS.md, "Lead inbox").
    pub async fn inbox_count(&mut self, f: &InboxFilter) -> Result<i64, StoreError> {
        let Some(q) = self.inbox_sql(f) else { return Ok(0) };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 {} {} LIMIT {}) matched",
            q.count_from,
            q.and("1 = 1"),
            INBOX_COUNT_CAP + 1
        );
        self.fetch_one(&sql, q.values).await?.get(0)
    }

    /// One page of the inbox in the filter's order; by default hot, then warm, then cold
    /// (unscored last), the most engaged first.
    pub async fn inbox(
        &mut self,
        f: &InboxFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<InboxRow>, StoreError> {
        let Some(q) = self.inbox_sql(f) else { return Ok(Vec::new()) };
        let InboxSql { from, values, scoped, .. } = &q;
        let (from, values, scoped) = (from.as_str(), values, *scoped);
        let columns = "c.id, c.email, c.first_name, c.last_name, co.name, c.lifecycle_stage, s.temperature, \
             s.fit_grade, s.engagement, p.probability, a.rep_id, c.source, c.created_at, c.external_id";
        let and = |extra: &str| q.and(extra);
        let searching = f.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        // Without a temperature chosen, one walk per temperature, hottest first, each a bounded
        // scan of ix_contact_scores_inbox, instead of sorting every contact by a computed rank
        // (85 ms at 1M, see BENCHMARKS.md); a page that the hot leads fill never reads the warm
        // ones (with a filter that keeps 1 % of contacts, a rep's own leads, each walk is
        // thousands of rows, and one query of all four paid for every one). A chosen temperature
        // is one index range, walked backwards. A text search finds its matches first (one scan
        // of the search texts), then ranks those few in one pass. Each query sees the data as of
        // its start, as the pages of a list already do.
        const BY_TEMPERATURE: [&str; 4] = [
            "s.temperature = 'hot'",
            "s.temperature = 'warm'",
            "s.temperature = 'cold'",
            "s.temperature IS NULL",
        ];
        // Each walk: its tables, its condition, its order; the page takes from one walk after
        // the other until full.
        let walk = |from: &str, cond: &str, order: String| (from.to_string(), cond.to_string(), order);
        let priority = "ORDER BY s.engagement DESC, s.contact_id DESC".to_string();
        let dir = if f.ascending { "ASC" } else { "DESC" };
        let selective = searching || scoped || f.view.is_some() || f.sequence.is_some();
        if f.sort == InboxSort::Engagement && !selective {
            // Engagement across temperatures: each temperature's range of ix_contact_scores_inbox
            // is already in engagement order, so the page is the merge of their first
            // offset + limit rows (four bounded walks), instead of a sort of every contact.
            let n = limit + offset;
            let arms: Vec<String> = BY_TEMPERATURE
                .iter()
                .map(|cond| {
                    format!(
                        "SELECT * FROM (SELECT {columns}, s.engagement AS sort_key, s.contact_id AS sort_id {from} {} \
                         ORDER BY s.engagement {dir}, s.contact_id {dir} LIMIT {n}) arm",
                        and(cond)
                    )
                })
                .collect();
            let sql = format!(
                // Not yet scored (no engagement) last in both directions, on both databases.
                "SELECT * FROM ({}) merged ORDER BY sort_key IS NULL, sort_key {dir}, sort_id {dir} \
                 LIMIT {limit} OFFSET {offset}",
                arms.join(" UNION ALL ")
            );
            return self.fetch_all(&sql, values.clone()).await?.iter().map(inbox_row).collect();
        }
        let walks: Vec<(String, String, String)> = if f.sort == InboxSort::Probability
            && !searching
            && !scoped
        {
            // The predicted contacts by the probability index, then those without a prediction.
            vec![
                walk(
                    &self.by_probability(),
                    "1 = 1",
                    format!("ORDER BY p.probability {dir}, p.contact_id {dir}"),
                ),
                walk(from, "p.contact_id IS NULL", "ORDER BY s.contact_id DESC".into()),
            ]
        } else if f.sort != InboxSort::Priority
            && !searching
            && !scoped
            && f.view.is_none()
            && f.sequence.is_none()
        {
            // Sorted by owner: the reps by name, each one's open assignments a walk.
            let reps: Vec<UserId> = if f.sort != InboxSort::Owner {
                Vec::new()
            } else if let Some(rep) = f.owner {
                vec![rep]
            } else {
                let sql =
                    format!("SELECT id FROM users ORDER BY lower(coalesce(name, email)) {dir}, id {dir}");
                self.fetch_all(&sql, vec![])
                    .await?
                    .iter()
                    .map(|r| r.get(0).map(UserId))
                    .collect::<Result<_, _>>()?
            };
            self.sort_walks(f, from, dir, &reps)
        } else if f.sort != InboxSort::Priority {
            // A few matches (a search, a rep's leads, a view's or a sequence's members): one
            // sort of them, empty values last either way.
            let order = format!("ORDER BY {} {dir} NULLS LAST, s.contact_id {dir}", f.sort.key());
            vec![walk(from, "1 = 1", order)]
        } else if searching || scoped {
            vec![walk(
                from,
                "1 = 1",
                "ORDER BY CASE s.temperature WHEN 'hot' THEN 0 WHEN 'warm' THEN 1 WHEN 'cold' THEN 2 ELSE 3 END, \
                 s.engagement DESC, s.contact_id DESC"
                    .into(),
            )]
        } else if f.temperature.is_some() {
            vec![walk(from, "1 = 1", priority)]
        } else {
            BY_TEMPERATURE.iter().map(|cond| walk(from, cond, priority.clone())).collect()
        };
        let (mut limit, mut offset) = (limit, offset);
        let mut page = Vec::new();
        for (i, (from, walk, order)) in walks.iter().enumerate() {
            if limit <= 0 {
                break;
            }
            let mut args = values.clone();
            args.extend([Arg::from(limit), Arg::from(offset)]);
            let (l, o) = (args.len() - 1, args.len());
            let sql = format!("SELECT {columns} {from} {} {order} LIMIT ${l} OFFSET ${o}", and(walk));
            let rows = self.fetch_all(&sql, args).await?;
            if rows.is_empty() && offset > 0 {
                if i + 1 == walks.len() {
                    break;
                }
                // The offset ran past this walk's leads: the next one skips the rest.
                let mut args = values.clone();
                args.push(Arg::from(offset));
                let n = args.len();
                let sql = format!("SELECT COUNT(*) FROM (SELECT 1 {from} {} LIMIT ${n}) skipped", and(walk));
                let skipped: i64 = self.fetch_one(&sql, args).await?.get(0)?;
                offset -= skipped;
                continue;
            }
            offset = 0;
            limit -= rows.len() as i64;
            for row in &rows {
                page.push(inbox_row(row)?);
            }
        }
        Ok(page)
    }
}

/// A saved view of the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    pub id: uuid::Uuid,
    pub name: String,
    pub query: String,
}

impl Session {
    /// Saves (or replaces, by name) a view of the inbox for a user.
    pub async fn save_view(
        &mut self,
        id: uuid::Uuid,
        user: UserId,
        name: &str,
        query: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO saved_views (id, user_id, name, query, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query",
            args![id, user, name, query, now],
        )
        .await?;
        Ok(())
    }

    pub async fn saved_views(&mut self, user: UserId) -> Result<Vec<SavedView>, StoreError> {
        self.fetch_all(
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name",
            args![user],
        )
        .await?
        .iter()
        .map(|r| Ok(SavedView { id: r.get(0)?, name: r.get(1)?, query: r.get(2)? }))
        .collect()
    }

    /// Adds contacts to a user's saved view (those already in it stay); returns how many
    /// were added.
    pub async fn add_to_view(
        &mut self,
        view: uuid::Uuid,
        contacts: &[ContactId],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        for chunk in contacts.chunks(500) {
            let mut values = vec![Arg::from(view), Arg::from(now)];
            values.extend(chunk.iter().map(|c| Arg::from(*c)));
            let sql = format!(
                "INSERT INTO saved_view_members (view_id, contact_id, added_at) \
                 SELECT $1, id, $2 FROM contacts WHERE id IN ({}) ON CONFLICT DO NOTHING",
                Session::placeholders(3, chunk.len())
            );
            added += self.execute(&sql, values).await?;
        }
        Ok(added)
    }

    /// A user's saved view by name.
    pub async fn view_named(&mut self, user: UserId, name: &str) -> Result<Option<SavedView>, StoreError> {
        self.fetch_optional(
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 AND name = $2",
            args![user, name],
        )
        .await?
        .map(|r| Ok(SavedView { id: r.get(0)?, name: r.get(1)?, query: r.get(2)? }))
        .transpose()
    }

    pub async fn delete_view(&mut self, id: uuid::Uuid, user: UserId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM saved_views WHERE id = $1 AND user_id = $2", args![id, user]).await?
            == 1)
    }
}

impl Session {
    /// Open leads (not customers, not disqualified) per temperature (`None`: not scored).
    pub async fn temperature_counts(&mut self) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        self.fetch_all(
            "SELECT s.temperature, COUNT(*) FROM contacts c LEFT JOIN contact_scores s ON s.contact_id = c.id \
             WHERE c.lifecycle_stage NOT IN ('customer', 'churned', 'disqualified') AND c.anonymised_at IS NULL \
             GROUP BY s.temperature",
            vec![],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
    }
}

/// Open leads by temperature on one day (UTC), as recorded that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemperatureDay {
    /// `2026-12-07`.
    pub day: String,
    pub hot: i64,
    pub warm: i64,
    pub cold: i64,
    pub unscored: i64,
}

impl Session {
    /// When `day` was last recorded, if it was.
    pub async fn temperature_day_recorded_at(&mut self, day: &str) -> Result<Option<Timestamp>, StoreError> {
        self.fetch_optional("SELECT recorded_at FROM temperature_days WHERE day = $1", args![day])
            .await?
            .map(|r| r.ts(0))
            .transpose()
    }

    /// Records a day's counts, replacing an earlier record of the same day (the day's last
    /// record is its figure).
    pub async fn record_temperature_day(
        &mut self,
        d: &TemperatureDay,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO temperature_days (day, hot, warm, cold, unscored, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (day) DO UPDATE SET hot = excluded.hot, warm = excluded.warm, cold = excluded.cold, \
             unscored = excluded.unscored, recorded_at = excluded.recorded_at",
            args![d.day.as_str(), d.hot, d.warm, d.cold, d.unscored, now],
        )
        .await?;
        Ok(())
    }

    /// The recorded days in `[from, to]` (`2026-12-07`), oldest first.
    pub async fn temperature_days(
        &mut self,
        from: &str,
        to: &str,
    ) -> Result<Vec<TemperatureDay>, StoreError> {
        self.fetch_all(
            "SELECT day, hot, warm, cold, unscored FROM temperature_days WHERE day >= $1 AND day <= $2 ORDER BY day",
            args![from, to],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(TemperatureDay { day: r.get(0)?, hot: r.get(1)?, warm: r.get(2)?, cold: r.get(3)?, unscored: r.get(4)? })
        })
        .collect()
    }
}

fn inbox_row(r: &Row) -> Result<InboxRow, StoreError> {
    Ok(InboxRow {
        id: ContactId(r.get(0)?),
        email: r.get(1)?,
        first_name: r.get(2)?,
        last_name: r.get(3)?,
        company: r.get(4)?,
        stage: r.get(5)?,
        temperature: r.get(6)?,
        grade: r.get(7)?,
        engagement: r.get(8)?,
        probability: r.get(9)?,
        owner: r.get::<Option<uuid::Uuid>>(10)?.map(UserId),
        source: r.get(11)?,
        created_at: r.ts(12)?,
        external_id: r.get(13)?,
    })
}
