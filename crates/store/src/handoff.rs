//! Hand-off to sales in storage: rep profiles with their current load, the versioned agreement,
//! assignments and their SLA timers, follow-up tasks, and the webhook outbox.
//!
//! Timers are claimed by a conditional `UPDATE … RETURNING` (e.g. "set `breached_at` where it is
//! still empty and the deadline passed"): with several servers on one PostgreSQL, each row is
//! claimed by exactly one of them, so a breach is handled once.

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::ids::{AssignmentId, ContactId, DeliveryId, TaskId, UserId, WebhookId};
use leadgate_core::user::User;

use crate::driver::{Arg, Dialect, Row, Session, args};
use crate::error::StoreError;
use crate::users::{USER_COLUMNS, user_from_row};

/// A sales rep with their stored profile (JSON) and current load.
#[derive(Debug, Clone, PartialEq)]
pub struct RepRecord {
    pub user: User,
    pub profile: String,
    /// Open assignments: leads waiting for a first touch and accepted leads still being worked.
    pub open: i64,
    pub assigned_total: i64,
    pub last_assigned_at: Option<Timestamp>,
}

/// One hand-over of a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentRecord {
    pub id: AssignmentId,
    pub contact_id: ContactId,
    pub rep_id: Option<UserId>,
    pub rule: Option<String>,
    pub why: String,
    pub temperature: Option<String>,
    pub grade: Option<String>,
    pub assigned_at: Timestamp,
    pub remind_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub first_touch_at: Option<Timestamp>,
    pub warned_at: Option<Timestamp>,
    pub breached_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub outcome: Option<String>,
    pub reject_reason: Option<String>,
    /// When sales accepted the lead: the assignment stays open, the rep keeps it.
    pub accepted_at: Option<Timestamp>,
    /// When the deadline was tightened because the lead warmed up before its first touch.
    pub retimed_at: Option<Timestamp>,
}

const ASSIGNMENT_COLUMNS: &str = "id, contact_id, rep_id, rule, why, temperature, grade, assigned_at, remind_at, \
     due_at, first_touch_at, warned_at, breached_at, closed_at, outcome, reject_reason, accepted_at, retimed_at";

fn assignment_from_row(r: &Row) -> Result<AssignmentRecord, StoreError> {
    Ok(AssignmentRecord {
        id: AssignmentId(r.get(0)?),
        contact_id: ContactId(r.get(1)?),
        rep_id: r.get::<Option<uuid::Uuid>>(2)?.map(UserId),
        rule: r.get(3)?,
        why: r.get(4)?,
        temperature: r.get(5)?,
        grade: r.get(6)?,
        assigned_at: r.ts(7)?,
        remind_at: r.opt_ts(8)?,
        due_at: r.opt_ts(9)?,
        first_touch_at: r.opt_ts(10)?,
        warned_at: r.opt_ts(11)?,
        breached_at: r.opt_ts(12)?,
        closed_at: r.opt_ts(13)?,
        outcome: r.get(14)?,
        reject_reason: r.get(15)?,
        accepted_at: r.opt_ts(16)?,
        retimed_at: r.opt_ts(17)?,
    })
}

/// A follow-up task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: TaskId,
    pub contact_id: ContactId,
    pub assignee_id: UserId,
    pub kind: String,
    pub title: String,
    pub due_at: Timestamp,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
    pub done_at: Option<Timestamp>,
    pub notified_at: Option<Timestamp>,
    /// What an agreement task is for (`first_contact`, `follow_up`, `breach`), so the action
    /// that fulfils it closes it; `None` for a task a person made.
    pub purpose: Option<String>,
}

const TASK_COLUMNS: &str =
    "id, contact_id, assignee_id, kind, title, due_at, created_at, created_by, done_at, notified_at, purpose";

fn task_from_row(r: &Row) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: TaskId(r.get(0)?),
        contact_id: ContactId(r.get(1)?),
        assignee_id: UserId(r.get(2)?),
        kind: r.get(3)?,
        title: r.get(4)?,
        due_at: r.ts(5)?,
        created_at: r.ts(6)?,
        created_by: r.get::<Option<uuid::Uuid>>(7)?.map(UserId),
        done_at: r.opt_ts(8)?,
        notified_at: r.opt_ts(9)?,
        purpose: r.get(10)?,
    })
}

/// A webhook subscription; `event_types` and `secrets` are JSON arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    /// Newest first.
    pub secrets: Vec<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

const WEBHOOK_COLUMNS: &str = "id, url, description, event_types, secrets, active, created_at";

fn json_list(r: &Row, i: usize) -> Result<Vec<String>, StoreError> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("column {i} is not a JSON list: {e}")))
}

fn webhook_from_row(r: &Row) -> Result<WebhookRecord, StoreError> {
    Ok(WebhookRecord {
        id: WebhookId(r.get(0)?),
        url: r.get(1)?,
        description: r.get(2)?,
        event_types: json_list(r, 3)?,
        secrets: json_list(r, 4)?,
        active: r.get(5)?,
        created_at: r.ts(6)?,
    })
}

/// A webhook message and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_type: String,
    pub payload: String,
    pub created_at: Timestamp,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub delivered_at: Option<Timestamp>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_type, payload, created_at, state, attempts, next_attempt_at, \
     last_status, last_error, last_latency_ms, delivered_at";

fn delivery_from_row(r: &Row) -> Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        id: DeliveryId(r.get(0)?),
        webhook_id: WebhookId(r.get(1)?),
        event_type: r.get(2)?,
        payload: r.get(3)?,
        created_at: r.ts(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_at: r.ts(7)?,
        last_status: r.get(8)?,
        last_error: r.get(9)?,
        last_latency_ms: r.get(10)?,
        delivered_at: r.opt_ts(11)?,
    })
}

/// One try at delivering a message.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub at: Timestamp,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// The two clocks of an assignment.
#[derive(Debug, Clone, Copy)]
enum SlaTimer {
    Reminder,
    Deadline,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(Timestamp),
    GaveUp,
}

impl Session {
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    }

    // ----- reps -----

    pub async fn put_rep(&mut self, user: UserId, profile: &str, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO reps (user_id, profile, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
            args![user, profile, now],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_rep(&mut self, user: UserId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM reps WHERE user_id = $1", args![user]).await? == 1)
    }

    /// Every rep's profile (JSON), disabled users' included: who is in which team and who
    /// manages whom, for access checks (without the load figures [`Session::reps`] computes).
    pub async fn rep_profiles(&mut self) -> Result<Vec<(UserId, String)>, StoreError> {
        self.fetch_all("SELECT user_id, profile FROM reps", vec![])
            .await?
            .iter()
            .map(|r| Ok((UserId(r.get(0)?), r.get(1)?)))
            .collect()
    }

    /// Every rep whose user is enabled, with their load. `only`: just that rep.
    pub async fn reps(&mut self, only: Option<UserId>) -> Result<Vec<RepRecord>, StoreError> {
        let filter = if only.is_some() { "AND r.user_id = $1" } else { "" };
        let sql = format!(
            "SELECT {USER_COLUMNS}, r.profile, \
             (SELECT COUNT(*) FROM assignments a WHERE a.rep_id = r.user_id AND a.closed_at IS NULL), \
             (SELECT COUNT(*) FROM assignments a WHERE a.rep_id = r.user_id), \
             (SELECT MAX(a.assigned_at) FROM assignments a WHERE a.rep_id = r.user_id) \
             FROM reps r JOIN users u ON u.id = r.user_id WHERE u.disabled_at IS NULL {filter} ORDER BY u.id"
        );
        let values = match only {
            Some(id) => args![id],
            None => vec![],
        };
        self.fetch_all(&sql, values)
            .await?
            .iter()
            .map(|r| {
                Ok(RepRecord {
                    user: user_from_row(r, 0)?,
                    profile: r.get(6)?,
                    open: r.get(7)?,
                    assigned_total: r.get(8)?,
                    last_assigned_at: r
                        .get::<Option<i64>>(9)?
                        .map(crate::driver::micros_to_ts)
                        .transpose()?,
                })
            })
            .collect()
    }

    // ----- agreement -----

    pub async fn latest_agreement(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.fetch_optional("SELECT version, document FROM agreements ORDER BY version DESC LIMIT 1", vec![])
            .await?
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
    }

    pub async fn insert_agreement(
        &mut self,
        document: &str,
        comment: Option<&str>,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.fetch_one(
            "INSERT INTO agreements (version, document, created_by, created_at, comment) \
             SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4 FROM agreements RETURNING version",
            args![document, by, now, comment],
        )
        .await?
        .get(0)
    }

    /// One version of the agreement's document.
    pub async fn agreement_version(&mut self, version: i64) -> Result<Option<String>, StoreError> {
        self.fetch_optional("SELECT document FROM agreements WHERE version = $1", args![version])
            .await?
            .map(|r| r.get(0))
            .transpose()
    }

    /// Every version of the agreement, newest first, without documents.
    pub async fn agreement_versions(&mut self) -> Result<Vec<AgreementVersion>, StoreError> {
        self.fetch_all(
            "SELECT version, comment, created_by, created_at FROM agreements ORDER BY version DESC",
            vec![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AgreementVersion {
                version: r.get(0)?,
                comment: r.get(1)?,
                created_by: r.get::<Option<uuid::Uuid>>(2)?.map(UserId),
                created_at: r.ts(3)?,
            })
        })
        .collect()
    }

    // ----- assignments -----

    /// Inserts assignments with multi-row statements (a rescore can route thousands of leads).
    pub async fn insert_assignments(&mut self, all: &[AssignmentRecord]) -> Result<(), StoreError> {
        let rows = all
            .iter()
            .map(|a| {
                args![
                    a.id,
                    a.contact_id,
                    a.rep_id,
                    a.rule.as_deref(),
                    a.why.as_str(),
                    a.temperature.as_deref(),
                    a.grade.as_deref(),
                    a.assigned_at,
                    a.remind_at,
                    a.due_at,
                    a.first_touch_at,
                    a.warned_at,
                    a.breached_at,
                    a.closed_at,
                    a.outcome.as_deref(),
                    a.reject_reason.as_deref(),
                    a.accepted_at,
                    a.retimed_at
                ]
            })
            .collect();
        self.insert_rows(&format!("INSERT INTO assignments ({ASSIGNMENT_COLUMNS})"), 18, rows, "").await?;
        Ok(())
    }

    /// The contact's open assignment (assigned or waiting unassigned), if any.
    pub async fn open_assignment(
        &mut self,
        contact: ContactId,
    ) -> Result<Option<AssignmentRecord>, StoreError> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE contact_id = $1 AND closed_at IS NULL"
        );
        self.fetch_optional(&sql, args![contact]).await?.as_ref().map(assignment_from_row).transpose()
    }

    /// The open assignments of many contacts, by contact.
    pub async fn open_assignments_of(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<HashMap<ContactId, AssignmentRecord>, StoreError> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE contact_id IN ({}) AND closed_at IS NULL",
                Session::placeholders(1, chunk.len())
            );
            let values = chunk.iter().map(|&c| Arg::from(c)).collect();
            for row in self.fetch_all(&sql, values).await? {
                let a = assignment_from_row(&row)?;
                out.insert(a.contact_id, a);
            }
        }
        Ok(out)
    }

    /// Every assignment of a contact, oldest first.
    pub async fn assignments_of(&mut self, contact: ContactId) -> Result<Vec<AssignmentRecord>, StoreError> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE contact_id = $1 ORDER BY assigned_at, id"
        );
        self.fetch_all(&sql, args![contact]).await?.iter().map(assignment_from_row).collect()
    }

    /// The latest assignment of each contact given (open or not).
    pub async fn latest_assignments(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments a WHERE contact_id IN ({}) AND NOT EXISTS \
             (SELECT 1 FROM assignments b WHERE b.contact_id = a.contact_id AND b.assigned_at > a.assigned_at)",
            Session::placeholders(1, contacts.len())
        );
        let values = contacts.iter().map(|c| crate::driver::Arg::from(*c)).collect();
        self.fetch_all(&sql, values).await?.iter().map(assignment_from_row).collect()
    }

    pub async fn close_assignment(
        &mut self,
        id: AssignmentId,
        outcome: &str,
        reject_reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE assignments SET closed_at = $2, outcome = $3, reject_reason = $4, \
                 first_touch_at = CASE WHEN rep_id IS NOT NULL AND $3 IN ('accepted', 'rejected') \
                   THEN COALESCE(first_touch_at, $2) ELSE first_touch_at END \
                 WHERE id = $1 AND closed_at IS NULL",
                args![id, now, outcome, reject_reason],
            )
            .await?;
        Ok(n == 1)
    }

    /// Sales accepted the lead: the assignment stays open (the rep keeps it), the acceptance is
    /// its first touch if none came before, and an unassigned lead becomes `by`'s.
    pub async fn accept_assignment(
        &mut self,
        id: AssignmentId,
        by: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE assignments SET outcome = 'accepted', accepted_at = $2, rep_id = COALESCE(rep_id, $3), \
                 first_touch_at = COALESCE(first_touch_at, $2) WHERE id = $1 AND closed_at IS NULL",
                args![id, now, by],
            )
            .await?;
        Ok(n == 1)
    }

    /// Moves the deadlines of an open, untouched assignment (its lead warmed up): the reminder
    /// fires again if its new time is ahead.
    pub async fn retime_assignment(
        &mut self,
        a: &AssignmentRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE assignments SET remind_at = $2, due_at = $3, temperature = $4, grade = $5, retimed_at = $6, \
                 warned_at = CASE WHEN $2 > $6 THEN NULL ELSE warned_at END \
                 WHERE id = $1 AND closed_at IS NULL AND first_touch_at IS NULL",
                args![a.id, a.remind_at, a.due_at, a.temperature.as_deref(), a.grade.as_deref(), now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Records the first touch of the contact's open assignment. Returns it when this was the
    /// first touch.
    pub async fn record_first_touch(
        &mut self,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<Option<AssignmentRecord>, StoreError> {
        let sql = format!(
            "UPDATE assignments SET first_touch_at = $2 WHERE contact_id = $1 AND closed_at IS NULL \
             AND rep_id IS NOT NULL AND first_touch_at IS NULL RETURNING {ASSIGNMENT_COLUMNS}"
        );
        self.fetch_optional(&sql, args![contact, now]).await?.as_ref().map(assignment_from_row).transpose()
    }

    /// Whether any reminder, deadline or task is due: a read, so that an idle server's timer
    /// pass never takes SQLite's single write lock (partial indexes make it three probes).
    pub async fn timers_due(&mut self, now: Timestamp) -> Result<bool, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM assignments WHERE closed_at IS NULL AND first_touch_at IS NULL \
                 AND warned_at IS NULL AND remind_at <= $1) OR EXISTS (SELECT 1 FROM assignments WHERE closed_at IS NULL \
                 AND first_touch_at IS NULL AND breached_at IS NULL AND due_at <= $1) OR EXISTS (SELECT 1 FROM tasks \
                 WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= $1)",
                args![now],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Whether any webhook delivery is due (a read, for the same reason as `timers_due`).
    pub async fn deliveries_due(&mut self, now: Timestamp) -> Result<bool, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
                 AND (locked_until IS NULL OR locked_until <= $1) LIMIT 1",
                args![now],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Claims up to `limit` untouched assignments whose reminder time passed, marking them warned.
    pub async fn claim_sla_warnings(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.claim_sla_timer(SlaTimer::Reminder, now, limit).await
    }

    /// Claims up to `limit` untouched assignments whose deadline passed, marking them breached.
    pub async fn claim_sla_breaches(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.claim_sla_timer(SlaTimer::Deadline, now, limit).await
    }

    /// Marks (`warned_at` or `breached_at`) and returns untouched open assignments whose time
    /// (`remind_at` or `due_at`) passed: the marking is the claim.
    async fn claim_sla_timer(
        &mut self,
        timer: SlaTimer,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        let (mark, time) = match timer {
            SlaTimer::Reminder => ("warned_at", "remind_at"),
            SlaTimer::Deadline => ("breached_at", "due_at"),
        };
        let sql = format!(
            "UPDATE assignments SET {mark} = $1 WHERE id IN (SELECT id FROM assignments WHERE closed_at IS NULL \
             AND first_touch_at IS NULL AND {mark} IS NULL AND {time} <= $1 ORDER BY {time} LIMIT $2 {}) \
             RETURNING {ASSIGNMENT_COLUMNS}",
            self.skip_locked()
        );
        self.fetch_all(&sql, args![now, limit]).await?.iter().map(assignment_from_row).collect()
    }

    /// Open assignments of a rep (or the unassigned queue with `None`): leads waiting for their
    /// first touch, soonest deadline first, then the accepted or touched ones being worked.
    pub async fn open_assignments(
        &mut self,
        rep: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        let (filter, values) = match rep {
            Some(id) => ("rep_id = $2", args![limit, id]),
            None => ("rep_id IS NULL", args![limit]),
        };
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE {filter} AND closed_at IS NULL \
             ORDER BY first_touch_at IS NOT NULL, due_at IS NULL, due_at, assigned_at LIMIT $1"
        );
        self.fetch_all(&sql, values).await?.iter().map(assignment_from_row).collect()
    }

    /// Rep, reminder and deadline of every open, untouched assignment: what a full SLA pass reads.
    pub async fn open_deadlines(
        &mut self,
    ) -> Result<Vec<(Option<UserId>, Option<Timestamp>, Option<Timestamp>)>, StoreError> {
        self.fetch_all(
            "SELECT rep_id, remind_at, due_at FROM assignments WHERE closed_at IS NULL AND first_touch_at IS NULL",
            vec![],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get::<Option<uuid::Uuid>>(0)?.map(UserId), r.opt_ts(1)?, r.opt_ts(2)?)))
        .collect()
    }

    /// Every assignment made in `[from, to)`, for the agreement's figures.
    pub async fn assignments_between(
        &mut self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE assigned_at >= $1 AND assigned_at < $2 ORDER BY assigned_at"
        );
        self.fetch_all(&sql, args![from, to]).await?.iter().map(assignment_from_row).collect()
    }

    // ----- tasks -----

    pub async fn insert_task(&mut self, t: &TaskRecord) -> Result<(), StoreError> {
        self.insert_tasks(std::slice::from_ref(t)).await
    }

    /// Inserts tasks with multi-row statements.
    pub async fn insert_tasks(&mut self, all: &[TaskRecord]) -> Result<(), StoreError> {
        let rows = all
            .iter()
            .map(|t| {
                args![
                    t.id,
                    t.contact_id,
                    t.assignee_id,
                    t.kind.as_str(),
                    t.title.as_str(),
                    t.due_at,
                    t.created_at,
                    t.created_by,
                    t.done_at,
                    t.notified_at,
                    t.purpose.as_deref()
                ]
            })
            .collect();
        self.insert_rows(&format!("INSERT INTO tasks ({TASK_COLUMNS})"), 11, rows, "").await?;
        Ok(())
    }

    pub async fn get_task(&mut self, id: TaskId) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(task_from_row).transpose()
    }

    /// A user's tasks, soonest due first; `open_only` leaves out done ones.
    pub async fn tasks_of(
        &mut self,
        assignee: UserId,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let filter = if open_only { "AND done_at IS NULL" } else { "" };
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE assignee_id = $1 {filter} ORDER BY done_at IS NOT NULL, due_at, id LIMIT $2"
        );
        self.fetch_all(&sql, args![assignee, limit]).await?.iter().map(task_from_row).collect()
    }

    pub async fn tasks_of_contact(&mut self, contact: ContactId) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE contact_id = $1 ORDER BY due_at, id");
        self.fetch_all(&sql, args![contact]).await?.iter().map(task_from_row).collect()
    }

    pub async fn complete_task(&mut self, id: TaskId, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self
            .execute("UPDATE tasks SET done_at = $2 WHERE id = $1 AND done_at IS NULL", args![id, now])
            .await?
            == 1)
    }

    /// Marks done the contact's open agreement tasks of these purposes (only `assignee`'s when
    /// given), because what they asked for happened. Tasks people made stay theirs to close.
    pub async fn complete_agreement_tasks(
        &mut self,
        contact: ContactId,
        assignee: Option<UserId>,
        purposes: &[&str],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut values = args![contact, now];
        values.extend(purposes.iter().map(|p| Arg::from(*p)));
        let mut sql = format!(
            "UPDATE tasks SET done_at = $2 WHERE contact_id = $1 AND done_at IS NULL AND purpose IN ({})",
            Session::placeholders(3, purposes.len())
        );
        if let Some(user) = assignee {
            values.push(Arg::from(user));
            sql.push_str(&format!(" AND assignee_id = ${}", values.len()));
        }
        self.execute(&sql, values).await
    }

    /// Moves the due time of a rep's open first-contact task on a lead (its deadline changed).
    pub async fn retime_first_contact_task(
        &mut self,
        contact: ContactId,
        assignee: UserId,
        due_at: Timestamp,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE tasks SET due_at = $3, notified_at = NULL WHERE contact_id = $1 AND assignee_id = $2 \
             AND done_at IS NULL AND purpose = 'first_contact'",
            args![contact, assignee, due_at],
        )
        .await
    }

    /// Claims up to `limit` open tasks that fell due, marking them notified.
    pub async fn claim_due_tasks(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!(
            "UPDATE tasks SET notified_at = $1 WHERE id IN (SELECT id FROM tasks WHERE done_at IS NULL \
             AND notified_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2 {}) RETURNING {TASK_COLUMNS}",
            self.skip_locked()
        );
        self.fetch_all(&sql, args![now, limit]).await?.iter().map(task_from_row).collect()
    }

    // ----- webhooks -----

    pub async fn insert_webhook(&mut self, w: &WebhookRecord) -> Result<(), StoreError> {
        self.execute(
            &format!("INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            args![
                w.id,
                w.url.as_str(),
                w.description.as_deref(),
                serde_json::to_string(&w.event_types).unwrap_or_default(),
                serde_json::to_string(&w.secrets).unwrap_or_default(),
                w.active,
                w.created_at
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_webhook(&mut self, w: &WebhookRecord) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE webhooks SET url = $2, description = $3, event_types = $4, secrets = $5, active = $6 WHERE id = $1",
                args![
                    w.id,
                    w.url.as_str(),
                    w.description.as_deref(),
                    serde_json::to_string(&w.event_types).unwrap_or_default(),
                    serde_json::to_string(&w.secrets).unwrap_or_default(),
                    w.active
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn delete_webhook(&mut self, id: WebhookId) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM webhooks WHERE id = $1", args![id]).await? == 1)
    }

    pub async fn get_webhook(&mut self, id: WebhookId) -> Result<Option<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(webhook_from_row).transpose()
    }

    pub async fn webhooks(&mut self) -> Result<Vec<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id");
        self.fetch_all(&sql, vec![]).await?.iter().map(webhook_from_row).collect()
    }

    /// Queues one message per active subscription to `event_type`. Returns how many.
    /// The active webhooks subscribed to `event_type` (by name or with `*`).
    pub async fn webhook_subscribers(&mut self, event_type: &str) -> Result<Vec<WebhookId>, StoreError> {
        Ok(self
            .fetch_all("SELECT id, event_types FROM webhooks WHERE active = $1", args![true])
            .await?
            .iter()
            .filter_map(|r| {
                let types = json_list(r, 1).ok()?;
                types.iter().any(|t| t == event_type || t == "*").then(|| r.get(0).ok().map(WebhookId))?
            })
            .collect())
    }

    /// Queues one delivery of each payload to each of `targets`. Returns how many were queued.
    pub async fn queue_deliveries(
        &mut self,
        event_type: &str,
        targets: &[WebhookId],
        payloads: &[(Option<ContactId>, String)],
        new_id: &mut (dyn FnMut() -> DeliveryId + Send),
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut rows = Vec::with_capacity(targets.len() * payloads.len());
        for (contact, payload) in payloads {
            for webhook in targets {
                rows.push(args![
                    new_id(),
                    *webhook,
                    event_type,
                    payload.as_str(),
                    now,
                    "pending",
                    0_i64,
                    now,
                    *contact
                ]);
            }
        }
        let queued = rows.len();
        self.insert_rows(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, created_at, state, attempts, \
             next_attempt_at, contact_id)",
            9,
            rows,
            "",
        )
        .await?;
        Ok(queued)
    }

    /// Copies a delivery as a new pending one (manual redelivery), keeping the original's log.
    pub async fn redeliver(
        &mut self,
        id: DeliveryId,
        new: DeliveryId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, created_at, state, attempts, \
                 next_attempt_at, contact_id) SELECT $2, webhook_id, event_type, payload, $3, 'pending', 0, $3, contact_id \
                 FROM webhook_deliveries WHERE id = $1 AND erased_at IS NULL",
                args![id, new, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Claims up to `limit` due deliveries for `lease` (another server takes them over after),
    /// with their subscription's URL and secrets.
    pub async fn claim_deliveries(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<(DeliveryRecord, WebhookRecord)>, StoreError> {
        let sql = format!(
            "UPDATE webhook_deliveries SET locked_until = $2 WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
             ORDER BY next_attempt_at LIMIT $3 {}) RETURNING {DELIVERY_COLUMNS}",
            self.skip_locked()
        );
        let deliveries: Vec<DeliveryRecord> = self
            .fetch_all(&sql, args![now, lease_until, limit])
            .await?
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?;
        // Usually a handful of subscriptions for many deliveries: read each once.
        let mut hooks: std::collections::HashMap<WebhookId, Option<WebhookRecord>> =
            std::collections::HashMap::new();
        let mut out = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            if let std::collections::hash_map::Entry::Vacant(slot) = hooks.entry(d.webhook_id) {
                slot.insert(self.get_webhook(d.webhook_id).await?);
            }
            if let Some(Some(w)) = hooks.get(&d.webhook_id) {
                out.push((d, w.clone()));
            }
        }
        Ok(out)
    }

    /// Logs an attempt and moves the delivery on (delivered, retry later, or given up), if the
    /// delivery still stands where the sender found it: `attempt` is its fencing token. A sender
    /// paused past its claim, whose delivery another server sent and recorded meanwhile, changes
    /// nothing (a delivered message never goes back to pending). Returns whether it was applied.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &mut self,
        id: DeliveryId,
        attempt: i64,
        at: Timestamp,
        status: Option<i64>,
        latency_ms: i64,
        error: Option<&str>,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        self.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (delivery_id, attempt) DO NOTHING",
            args![id, attempt, at, status, latency_ms, error],
        )
        .await?;
        let (state, next, delivered) = match outcome {
            AttemptOutcome::Delivered => ("delivered", at, Some(at)),
            AttemptOutcome::RetryAt(t) => ("pending", t, None),
            AttemptOutcome::GaveUp => ("failed", at, None),
        };
        let n = self
            .execute(
                "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, locked_until = NULL, \
                 last_status = $5, last_error = $6, last_latency_ms = $7, delivered_at = $8 \
                 WHERE id = $1 AND attempts = $3 - 1 AND state = 'pending'",
                args![id, state, attempt, next, status, error, latency_ms, delivered],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn get_delivery(&mut self, id: DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(delivery_from_row).transpose()
    }

    /// A subscription's deliveries, newest first.
    pub async fn deliveries_of(
        &mut self,
        webhook: WebhookId,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        self.fetch_all(&sql, args![webhook, limit]).await?.iter().map(delivery_from_row).collect()
    }

    pub async fn attempts_of(&mut self, delivery: DeliveryId) -> Result<Vec<AttemptRecord>, StoreError> {
        self.fetch_all(
            "SELECT attempt, at, status, latency_ms, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
            args![delivery],
        )
        .await?
        .iter()
        .map(|r| Ok(AttemptRecord { attempt: r.get(0)?, at: r.ts(1)?, status: r.get(2)?, latency_ms: r.get(3)?, error: r.get(4)? }))
        .collect()
    }
}

/// A version of the sales agreement in its history.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementVersion {
    pub version: i64,
    /// Why it was made.
    pub comment: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
}
