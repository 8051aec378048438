//! Scoring in storage: versions of the rules, the stored score of each contact, the qualification
//! checklist, the append-only lifecycle history, and the bulk loading of everything scoring needs
//! for many contacts in a few queries.

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::company::Company;
use leadgate_core::contact::Contact;
use leadgate_core::ids::{CompanyId, ContactId, UserId};
use leadgate_core::lifecycle::{Actor, LifecycleStage, Reached, Transition};
use leadgate_core::qualification::{Answer, Checklist, ChecklistItem, Criterion};
use leadgate_core::scoring::ScoreSummary;
use uuid::Uuid;

use crate::driver::{Arg, Columns, Gather, Session, args};
use crate::error::StoreError;

/// A stored version of the scoring rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesVersion {
    pub version: i64,
    pub document: String,
    pub comment: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
}

/// Which contacts a bulk read is about.
#[derive(Debug, Clone, Copy)]
pub enum ContactSet<'a> {
    /// These contacts (read a few hundred ids per statement).
    Ids(&'a [ContactId]),
    /// Every contact whose id is after `after` (from the first one when `None`) and at most
    /// `last`: a chunk of a walk in id order (rescoring everyone). One range condition replaces
    /// thousands of bound ids, and the database reads its indexes in order instead of looking
    /// each id up.
    Span { after: Option<ContactId>, last: ContactId },
}

impl ContactSet<'_> {
    /// Whether reading this set's rows is a long read (a span: a rescore chunk), worth
    /// a bulk [`Session::fetch_gathered`].
    pub(crate) fn is_bulk(&self) -> bool {
        matches!(self, ContactSet::Span { .. })
    }

    /// The conditions on `column` that select these contacts, each with the values it binds
    /// from `$1`: one per few hundred ids, a single one for a span.
    pub(crate) fn conditions(&self, column: &str) -> Vec<(String, Vec<Arg>)> {
        match *self {
            ContactSet::Ids(ids) => ids
                .chunks(500)
                .map(|chunk| {
                    (
                        format!("{column} IN ({})", Session::placeholders(1, chunk.len())),
                        chunk.iter().map(|&id| Arg::from(id)).collect(),
                    )
                })
                .collect(),
            ContactSet::Span { after: Some(after), last } => {
                vec![(format!("{column} > $1 AND {column} <= $2"), args![after, last])]
            }
            ContactSet::Span { after: None, last } => vec![(format!("{column} <= $1"), args![last])],
        }
    }
}

impl Session {
    /// Runs `select` (a query on one table, without its WHERE) for the contacts of `set`, whose
    /// id is in `column`, giving every row to `into`.
    pub(crate) async fn gathered_for<G: Gather>(
        &mut self,
        select: &str,
        column: &str,
        set: ContactSet<'_>,
        mut into: G,
    ) -> Result<G, StoreError> {
        for (condition, values) in set.conditions(column) {
            into = self
                .fetch_gathered(&format!("{select} WHERE {condition}"), values, into, set.is_bulk())
                .await?;
        }
        Ok(into)
    }
}

/// Everything scoring reads about one contact.
#[derive(Debug, Clone)]
pub struct ScoringInput {
    pub contact: Contact,
    pub company: Option<Company>,
    /// The stored engagement ledger (binary), if any.
    pub ledger: Option<Vec<u8>>,
    pub checklist: Checklist,
    pub sales_accepted: bool,
    pub stage_set_by_user: bool,
    pub recycle_until: Option<Timestamp>,
}

/// The score columns of `contact_scores`, in the order [`score_values`] gives them.
pub(crate) const SCORE_COLUMNS: &str =
    "fit_points, fit_grade, engagement, temperature, temperature_reason, knockouts, rules_version, scored_at";

/// A score as the values of [`SCORE_COLUMNS`] (typed NULLs for a contact not scored yet).
pub(crate) fn score_values(s: Option<&ScoreSummary>) -> [Arg; 8] {
    [
        Arg::from(s.map(|s| s.fit_points.hundredths())),
        Arg::from(s.map(|s| s.fit_grade.as_str())),
        Arg::from(s.map(|s| s.engagement.hundredths())),
        Arg::from(s.map(|s| s.temperature.as_str())),
        Arg::from(s.map(|s| s.temperature_reason.as_str())),
        Arg::from(s.map(|s| s.knockouts.join(","))),
        Arg::from(s.map(|s| s.rules_version)),
        Arg::from(s.map(|s| s.scored_at)),
    ]
}

/// A new score (and maybe a new stage) to write for one contact.
#[derive(Debug, Clone)]
pub struct ScoreUpdate {
    pub contact: ContactId,
    pub score: ScoreSummary,
    /// The stage after automatic moves, when it changed.
    pub stage: Option<LifecycleStage>,
    /// The engagement ledger to store (binary).
    pub ledger: Vec<u8>,
}

/// What scoring reads of a contact's `contact_scores` row.
#[derive(Default)]
struct StoredScore {
    summary: Option<ScoreSummary>,
    ledger: Option<Vec<u8>>,
}

/// Stored scores by contact, read before the contacts they go with.
struct StoredScores(HashMap<ContactId, StoredScore>);

impl Gather for StoredScores {
    fn gather(&mut self, row: &impl Columns) -> Result<(), StoreError> {
        let summary = crate::contacts::score_from_row(row, 1)?;
        self.0.insert(ContactId(row.get(0)?), StoredScore { summary, ledger: row.get(9)? });
        Ok(())
    }
}

/// What scoring reads of a contact besides the contact itself.
struct ScoringExtras {
    sales_accepted: bool,
    stage_set_by_user: bool,
    recycle_until: Option<Timestamp>,
    ledger: Option<Vec<u8>>,
}

/// Contacts read for scoring, in the order read, each with its [`ScoringExtras`] and the stored
/// score read beforehand (a contact whose scores row went missing is read unscored).
struct ScoringContacts {
    read: Vec<(Contact, ScoringExtras)>,
    scores: HashMap<ContactId, StoredScore>,
}

impl Gather for ScoringContacts {
    fn gather(&mut self, row: &impl Columns) -> Result<(), StoreError> {
        let at = crate::contacts::OWN_COLUMN_COUNT;
        let stored = self.scores.remove(&ContactId(row.get(0)?)).unwrap_or_default();
        let extras = ScoringExtras {
            sales_accepted: row.opt_ts(at)?.is_some(),
            stage_set_by_user: row.get(at + 1)?,
            recycle_until: row.opt_ts(at + 2)?,
            ledger: stored.ledger,
        };
        self.read.push((crate::contacts::from_own_row(row, stored.summary)?, extras));
        Ok(())
    }
}

impl Session {
    pub async fn latest_rules(&mut self) -> Result<Option<RulesVersion>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT version, document, comment, created_by, created_at FROM scoring_rules \
                 ORDER BY version DESC LIMIT 1",
                vec![],
            )
            .await?;
        row.map(|r| {
            Ok(RulesVersion {
                version: r.get(0)?,
                document: r.get(1)?,
                comment: r.get(2)?,
                created_by: r.get::<Option<Uuid>>(3)?.map(UserId),
                created_at: r.ts(4)?,
            })
        })
        .transpose()
    }

    /// The number of the active (newest) rules version, 0 when none is stored.
    pub async fn latest_rules_version(&mut self) -> Result<i64, StoreError> {
        let v: Option<i64> =
            self.fetch_one("SELECT MAX(version) FROM scoring_rules", vec![]).await?.get(0)?;
        Ok(v.unwrap_or(0))
    }

    pub async fn rules_version(&mut self, version: i64) -> Result<Option<RulesVersion>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT version, document, comment, created_by, created_at FROM scoring_rules WHERE version = $1",
                args![version],
            )
            .await?;
        row.map(|r| {
            Ok(RulesVersion {
                version: r.get(0)?,
                document: r.get(1)?,
                comment: r.get(2)?,
                created_by: r.get::<Option<Uuid>>(3)?.map(UserId),
                created_at: r.ts(4)?,
            })
        })
        .transpose()
    }

    /// Stores a new version of the rules and returns its number (the previous one plus one).
    pub async fn insert_rules(
        &mut self,
        document: &str,
        comment: Option<&str>,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let version = self.latest_rules_version().await? + 1;
        self.execute(
            "INSERT INTO scoring_rules (version, document, comment, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![version, document, comment, created_by, now],
        )
        .await?;
        Ok(version)
    }

    /// Versions, newest first, without their documents' text.
    pub async fn list_rules_versions(&mut self) -> Result<Vec<RulesVersion>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT version, '' , comment, created_by, created_at FROM scoring_rules ORDER BY version DESC",
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RulesVersion {
                    version: r.get(0)?,
                    document: String::new(),
                    comment: r.get(2)?,
                    created_by: r.get::<Option<Uuid>>(3)?.map(UserId),
                    created_at: r.ts(4)?,
                })
            })
            .collect()
    }

    /// Loads contacts, their companies, ledgers and checklists for scoring: a handful of queries
    /// whatever the number of contacts. Timelines are read separately, only when a ledger cannot
    /// be used ([`Session::events_of_contacts`]).
    pub async fn scoring_inputs(&mut self, ids: &[ContactId]) -> Result<Vec<ScoringInput>, StoreError> {
        self.inputs(ContactSet::Ids(ids), "ledger").await
    }

    /// [`Session::scoring_inputs`] for a set of contacts given by ids or by a span of ids, with
    /// only the ledgers written under rules version `ledgers_of`: one of another version is
    /// stale (its contact's timeline is walked instead), and after a rules change a walk would
    /// read and drop a million of them.
    pub async fn scoring_inputs_of(
        &mut self,
        set: ContactSet<'_>,
        ledgers_of: i64,
    ) -> Result<Vec<ScoringInput>, StoreError> {
        let ledger = format!("CASE WHEN rules_version = {ledgers_of} THEN ledger END");
        self.inputs(set, &ledger).await
    }

    /// Contacts and their scores are read from their two tables apart, each a plain scan of one
    /// range of its primary key, and put together here. Why not a join: PostgreSQL estimates
    /// the rows of a range of UUIDs from a histogram it cannot interpolate in, and for some
    /// spans it guessed one score row where there were 10,000, chose a nested loop over a
    /// materialized scan and compared 50 million pairs: 4.9 s for a span that takes 40 ms
    /// (found in a profile of a 1M rules change, BENCHMARKS.md "Full rescore"). Which spans
    /// met that plan changed with each ANALYZE, so a rules change took 25 s in one run and 50 s
    /// in the next. Two one-table reads have no such plan to fall into.
    async fn inputs(&mut self, set: ContactSet<'_>, ledger: &str) -> Result<Vec<ScoringInput>, StoreError> {
        let select = format!("SELECT contact_id, {SCORE_COLUMNS}, {ledger} FROM contact_scores");
        let StoredScores(scores) =
            self.gathered_for(&select, "contact_id", set, StoredScores(HashMap::new())).await?;
        let select = format!(
            "SELECT {}, sales_accepted_at, stage_set_by_user, recycle_until FROM contacts",
            crate::contacts::OWN_COLUMNS
        );
        let ScoringContacts { read, .. } =
            self.gathered_for(&select, "id", set, ScoringContacts { read: Vec::new(), scores }).await?;
        let company_ids: Vec<CompanyId> = {
            let mut v: Vec<CompanyId> = read.iter().filter_map(|(c, _)| c.company_id).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut companies: HashMap<CompanyId, Company> = HashMap::new();
        for chunk in company_ids.chunks(500) {
            for c in self.companies_by_ids(chunk).await? {
                companies.insert(c.id, c);
            }
        }
        let mut checklists = self.checklists(set).await?;
        Ok(read
            .into_iter()
            .map(|(contact, extras)| {
                let ScoringExtras { sales_accepted, stage_set_by_user, recycle_until, ledger } = extras;
                ScoringInput {
                    company: contact.company_id.and_then(|id| companies.get(&id).cloned()),
                    ledger,
                    checklist: checklists.remove(&contact.id).unwrap_or_default(),
                    sales_accepted,
                    stage_set_by_user,
                    recycle_until,
                    contact,
                }
            })
            .collect())
    }

    /// Writes new scores and ledgers (one row of `contact_scores` each, a statement per few
    /// hundred contacts) and, for the few that moved, stages.
    pub async fn save_scores(&mut self, updates: &[ScoreUpdate], now: Timestamp) -> Result<(), StoreError> {
        let rows = updates
            .iter()
            .map(|u| {
                let mut row = Vec::with_capacity(10);
                row.push(Arg::from(u.contact));
                row.extend(score_values(Some(&u.score)));
                row.push(Arg::from(u.ledger.clone()));
                row
            })
            .collect();
        // An upsert, though every contact has its row from creation: a missing row is recreated
        // rather than the score silently lost.
        self.insert_rows(
            &format!("INSERT INTO contact_scores (contact_id, {SCORE_COLUMNS}, ledger)"),
            10,
            rows,
            "ON CONFLICT (contact_id) DO UPDATE SET fit_points = excluded.fit_points, \
             fit_grade = excluded.fit_grade, engagement = excluded.engagement, temperature = excluded.temperature, \
             temperature_reason = excluded.temperature_reason, knockouts = excluded.knockouts, \
             rules_version = excluded.rules_version, scored_at = excluded.scored_at, ledger = excluded.ledger",
        )
        .await?;
        // A rule moved these: the stage is no longer a person's decision.
        let moved: Vec<(ContactId, LifecycleStage)> =
            updates.iter().filter_map(|u| u.stage.map(|s| (u.contact, s))).collect();
        for chunk in moved.chunks(500) {
            let mut values = vec![Arg::from(now), Arg::from(false)];
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, (id, stage))| {
                    values.extend([Arg::from(*id), Arg::from(stage.as_str())]);
                    format!("({})", Session::placeholders(3 + i * 2, 2))
                })
                .collect();
            let sql = format!(
                "UPDATE contacts SET lifecycle_stage = v.column2, stage_changed_at = $1, stage_set_by_user = $2 \
                 FROM (VALUES {}) AS v WHERE contacts.id = v.column1",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    /// Drops a contact's engagement ledger: its next scoring reads the whole timeline (events
    /// were added out of order, e.g. a visitor's earlier page views).
    pub async fn forget_ledger(&mut self, contact: ContactId) -> Result<(), StoreError> {
        self.execute("UPDATE contact_scores SET ledger = NULL WHERE contact_id = $1", args![contact]).await?;
        Ok(())
    }

    /// Sets a contact's stage as decided by a person (or an import), with the flags that go with it.
    pub async fn set_stage(
        &mut self,
        contact: ContactId,
        stage: LifecycleStage,
        by_user: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE contacts SET lifecycle_stage = $2, stage_changed_at = $3, stage_set_by_user = $4, updated_at = $3 \
             WHERE id = $1",
            args![contact, stage.as_str(), now, by_user],
        )
        .await?;
        Ok(())
    }

    /// Records sales' acceptance (or clears it with `None`) and the recycling period.
    pub async fn set_sales_decision(
        &mut self,
        contact: ContactId,
        accepted: Option<(UserId, Timestamp)>,
        recycle_until: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE contacts SET sales_accepted_at = $2, sales_accepted_by = $3, recycle_until = $4 WHERE id = $1",
            args![contact, accepted.map(|a| a.1), accepted.map(|a| a.0), recycle_until],
        )
        .await?;
        Ok(())
    }

    /// Notes when contacts first reached funnel steps (`reached_*_at`, for the funnel report):
    /// an earlier time replaces a later one, nothing replaces an earlier one.
    pub async fn note_reached(&mut self, reached: &[(ContactId, Reached)]) -> Result<(), StoreError> {
        let reached: Vec<&(ContactId, Reached)> = reached.iter().filter(|(_, r)| !r.is_empty()).collect();
        for chunk in reached.chunks(200) {
            let mut values = Vec::with_capacity(chunk.len() * 5);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, (id, r))| {
                    values.extend([
                        Arg::from(*id),
                        Arg::from(r.mql),
                        Arg::from(r.sql),
                        Arg::from(r.opportunity),
                        Arg::from(r.customer),
                    ]);
                    format!("({})", Session::placeholders(1 + i * 5, 5))
                })
                .collect();
            // The earlier of the stored and the new time; either may be missing.
            let min = |col: &str, v: &str| {
                format!("{col} = COALESCE(CASE WHEN {v} < {col} THEN {v} END, {col}, {v})")
            };
            let sql = format!(
                "UPDATE contacts SET {}, {}, {}, {} FROM (VALUES {}) AS v WHERE contacts.id = v.column1",
                min("reached_mql_at", "v.column2"),
                min("reached_sql_at", "v.column3"),
                min("reached_opportunity_at", "v.column4"),
                min("reached_customer_at", "v.column5"),
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    pub async fn insert_transitions(&mut self, transitions: &[Transition]) -> Result<(), StoreError> {
        let mut reached: std::collections::BTreeMap<ContactId, Reached> = std::collections::BTreeMap::new();
        for t in transitions {
            reached.entry(t.contact_id).or_default().enter(t.to, t.at);
        }
        self.note_reached(&reached.into_iter().collect::<Vec<_>>()).await?;
        for chunk in transitions.chunks(200) {
            let mut values = Vec::with_capacity(chunk.len() * 7);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    values.extend([
                        Arg::from(Uuid::now_v7()),
                        Arg::from(t.contact_id),
                        Arg::from(t.from.as_str()),
                        Arg::from(t.to.as_str()),
                        Arg::from(t.at),
                        Arg::from(serde_json::to_string(&t.actor).unwrap_or_else(|_| "{}".into())),
                        Arg::from(t.reason.as_str()),
                    ]);
                    format!("({})", Session::placeholders(1 + i * 7, 7))
                })
                .collect();
            let sql = format!(
                "INSERT INTO lifecycle_transitions (id, contact_id, from_stage, to_stage, at, actor, reason) VALUES {}",
                rows.join(", ")
            );
            self.execute(&sql, values).await?;
        }
        Ok(())
    }

    /// A contact's stage history, oldest first.
    pub async fn transitions_of(&mut self, contact: ContactId) -> Result<Vec<Transition>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT contact_id, from_stage, to_stage, at, actor, reason FROM lifecycle_transitions \
                 WHERE contact_id = $1 ORDER BY at, id",
                args![contact],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let stage = |i: usize| -> Result<LifecycleStage, StoreError> {
                    let s: String = r.get(i)?;
                    LifecycleStage::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("stage `{s}`")))
                };
                let actor: String = r.get(4)?;
                Ok(Transition {
                    contact_id: ContactId(r.get(0)?),
                    from: stage(1)?,
                    to: stage(2)?,
                    at: r.ts(3)?,
                    actor: serde_json::from_str::<Actor>(&actor)
                        .map_err(|e| StoreError::Corrupt(format!("transition actor: {e}")))?,
                    reason: r.get(5)?,
                })
            })
            .collect()
    }

    pub async fn checklist_of(&mut self, contact: ContactId) -> Result<Checklist, StoreError> {
        Ok(self.checklists(ContactSet::Ids(&[contact])).await?.remove(&contact).unwrap_or_default())
    }

    async fn checklists(&mut self, set: ContactSet<'_>) -> Result<HashMap<ContactId, Checklist>, StoreError> {
        let mut out: HashMap<ContactId, Checklist> = HashMap::new();
        for (condition, values) in set.conditions("contact_id") {
            let sql = format!(
                "SELECT contact_id, criterion, answer, set_by, set_at, note FROM qualification WHERE {condition}"
            );
            let rows = self.fetch_all(&sql, values).await?;
            for r in rows {
                let criterion: String = r.get(1)?;
                let answer: String = r.get(2)?;
                let item = ChecklistItem {
                    answer: Answer::parse(&answer)
                        .ok_or_else(|| StoreError::Corrupt(format!("answer `{answer}`")))?,
                    set_by: r.get::<Option<Uuid>>(3)?.map(UserId),
                    set_at: r.opt_ts(4)?,
                    note: r.get(5)?,
                };
                let criterion = Criterion::parse(&criterion)
                    .ok_or_else(|| StoreError::Corrupt(format!("criterion `{criterion}`")))?;
                *out.entry(ContactId(r.get(0)?)).or_default().get_mut(criterion) = item;
            }
        }
        Ok(out)
    }

    /// Sets one checklist answer (insert or replace).
    pub async fn set_checklist_item(
        &mut self,
        contact: ContactId,
        criterion: Criterion,
        item: &ChecklistItem,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO qualification (contact_id, criterion, answer, set_by, set_at, note) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (contact_id, criterion) DO UPDATE SET answer = excluded.answer, set_by = excluded.set_by, \
             set_at = excluded.set_at, note = excluded.note",
            args![contact, criterion.as_str(), item.answer.as_str(), item.set_by, item.set_at, item.note.as_deref()],
        )
        .await?;
        Ok(())
    }

    /// Ids of contacts after `after`, in id order, `limit` at a time (for jobs walking everyone).
    pub async fn contact_ids_after(
        &mut self,
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<ContactId>, StoreError> {
        let rows = match after {
            Some(a) => {
                self.fetch_all(
                    &format!("SELECT id FROM contacts WHERE id > $1 ORDER BY id LIMIT {limit}"),
                    args![a],
                )
                .await?
            }
            None => {
                self.fetch_all(&format!("SELECT id FROM contacts ORDER BY id LIMIT {limit}"), vec![]).await?
            }
        };
        rows.iter().map(|r| Ok(ContactId(r.get(0)?))).collect()
    }

    /// The last contact of the span of `size` contacts after `after` (from the first one when
    /// `None`), in id order: the `size`-th one, or the very last when fewer are left; `None`
    /// when none is. A walk asks only for where its next span ends, not for the ids in it.
    pub async fn span_end(
        &mut self,
        after: Option<ContactId>,
        size: u32,
    ) -> Result<Option<ContactId>, StoreError> {
        let (condition, values) = match after {
            Some(a) => ("WHERE id > $1", args![a]),
            None => ("", vec![]),
        };
        let offset = size.max(1) - 1;
        let sql = format!(
            "SELECT COALESCE((SELECT id FROM contacts {condition} ORDER BY id LIMIT 1 OFFSET {offset}), \
             (SELECT id FROM contacts {condition} ORDER BY id DESC LIMIT 1))"
        );
        Ok(self.fetch_one(&sql, values).await?.get::<Option<Uuid>>(0)?.map(ContactId))
    }

    /// Ids of the contacts of a company.
    pub async fn contact_ids_of_company(&mut self, company: CompanyId) -> Result<Vec<ContactId>, StoreError> {
        let rows = self.fetch_all("SELECT id FROM contacts WHERE company_id = $1", args![company]).await?;
        rows.iter().map(|r| Ok(ContactId(r.get(0)?))).collect()
    }
}
