//! The job queue, in the database so that jobs survive restarts and several servers share them.
//! A worker *claims* a job by writing a lease (its name and an expiry) in one statement; on
//! PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass each other instead of
//! queueing, on SQLite the single writer serialises claims. A job whose lease expires (its worker
//! died) becomes claimable again, so a job runs to completion once even across crashes; handlers
//! must therefore be idempotent (they resume from their recorded progress).

use jiff::Timestamp;
use leadgate_core::ids::{JobId, UserId};
use serde::Serialize;

use crate::driver::{Dialect, Row, Session, args};
use crate::error::StoreError;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// Failed on a bug (a panic) at every attempt: set aside until an operator looks at it.
    Parked,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Parked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Parked => "parked",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    pub result: Option<serde_json::Value>,
    pub last_error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Where the job resumes after a restart.
    pub checkpoint: Option<String>,
}

/// The fencing token of a claimed job: who claimed it, at which attempt. Every write a worker
/// makes for the job (progress with the work it accounts for, the outcome) is conditional on
/// the job still being held under this token, so a worker that was paused past its lease (and
/// whose job another worker claimed since) cannot apply a stale effect, even if it is the same
/// worker claiming again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: JobId,
    pub owner: String,
    pub attempt: i64,
}

impl Lease {
    /// The lease `owner` got by claiming `job` (as `claim_job` returned it).
    pub fn of(job: &Job, owner: &str) -> Lease {
        Lease { job: job.id, owner: owner.to_string(), attempt: job.attempts }
    }
}

/// The condition of a write under a lease: `$1` the job, `$2` the owner, `$3` the attempt.
const HELD: &str = "id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'";

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    pub max_attempts: i64,
    pub created_by: Option<UserId>,
}

/// A parked job is stored as failed with `parked_at` set (the state's CHECK constraint predates
/// parking); it is read back as [`JobState::Parked`].
const COLUMNS: &str = "id, kind, payload, CASE WHEN parked_at IS NULL THEN state ELSE 'parked' END, run_at, \
    attempts, max_attempts, progress_done, progress_total, result, last_error, created_by, created_at, updated_at, \
    finished_at, checkpoint";

fn from_row(row: &Row) -> Result<Job, StoreError> {
    let payload: String = row.get(2)?;
    let state: String = row.get(3)?;
    let result: Option<String> = row.get(9)?;
    let json = |s: &str| serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("job JSON: {e}")));
    Ok(Job {
        id: JobId(row.get(0)?),
        kind: row.get(1)?,
        payload: json(&payload)?,
        state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state `{state}`")))?,
        run_at: row.ts(4)?,
        attempts: row.get(5)?,
        max_attempts: row.get(6)?,
        progress_done: row.get(7)?,
        progress_total: row.get(8)?,
        result: result.as_deref().map(json).transpose()?,
        last_error: row.get(10)?,
        created_by: row.get::<Option<uuid::Uuid>>(11)?.map(UserId),
        created_at: row.ts(12)?,
        updated_at: row.ts(13)?,
        finished_at: row.opt_ts(14)?,
        checkpoint: row.get(15)?,
    })
}

impl Session {
    pub async fn enqueue_job(&mut self, job: NewJob, now: Timestamp) -> Result<Job, StoreError> {
        self.execute(
            "INSERT INTO jobs (id, kind, payload, state, run_at, max_attempts, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7)",
            args![job.id, job.kind.as_str(), job.payload.to_string(), job.run_at, job.max_attempts, job.created_by, now],
        )
        .await?;
        self.get_job(job.id).await?.ok_or_else(|| StoreError::Corrupt("enqueued job vanished".into()))
    }

    /// Enqueues `job` unless a job with the same `key` is already queued or running (then
    /// returns `None`): how servers sharing a database queue a scheduled job once.
    pub async fn enqueue_job_once(
        &mut self,
        job: NewJob,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        let n = self
            .execute(
                "INSERT INTO jobs (id, kind, payload, state, run_at, max_attempts, created_by, created_at, updated_at, \
                 dedupe_key) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7, $8) \
                 ON CONFLICT (dedupe_key) WHERE state IN ('queued', 'running') DO NOTHING",
                args![
                    job.id,
                    job.kind.as_str(),
                    job.payload.to_string(),
                    job.run_at,
                    job.max_attempts,
                    job.created_by,
                    now,
                    key
                ],
            )
            .await?;
        if n == 0 {
            return Ok(None);
        }
        self.get_job(job.id).await
    }

    pub async fn get_job(&mut self, id: JobId) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        self.fetch_optional(&sql, args![id]).await?.as_ref().map(from_row).transpose()
    }

    /// Claims the next due job of one of `kinds` for `owner` until `lease_until`: a queued job
    /// whose time has come, or a running job whose lease expired. Must run in a write
    /// transaction; commit promptly so other workers see the lease.
    pub async fn claim_job(
        &mut self,
        owner: &str,
        kinds: &[&str],
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let lock = match self.dialect() {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE kind IN ({kinds}) AND \
             ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_expires_at < $3)) \
             ORDER BY run_at, id LIMIT 1 {lock}) RETURNING {COLUMNS}",
            kinds = Session::placeholders(4, kinds.len()),
        );
        let mut values = args![owner, lease_until, now];
        values.extend(kinds.iter().map(|k| crate::driver::Arg::from(*k)));
        self.fetch_optional(&sql, values).await?.as_ref().map(from_row).transpose()
    }

    /// Records progress (and where to resume) and extends the lease. Written in the same
    /// transaction as the work it accounts for, so a crash never loses or repeats a step silently.
    /// Returns false if the lease no longer holds the job (it expired and another worker took
    /// it): the caller must roll back and stop.
    pub async fn job_progress(
        &mut self,
        lease: &Lease,
        done: i64,
        total: Option<i64>,
        checkpoint: Option<&str>,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                &format!(
                    "UPDATE jobs SET progress_done = $4, progress_total = $5, checkpoint = COALESCE($6, checkpoint), \
                     lease_expires_at = $7, updated_at = $8 WHERE {HELD}"
                ),
                args![lease.job, lease.owner.as_str(), lease.attempt, done, total, checkpoint, lease_until, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Extends the lease of a job still held (a running job's heartbeat); false if it is not.
    pub async fn extend_lease(
        &mut self,
        lease: &Lease,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                &format!("UPDATE jobs SET lease_expires_at = $4, updated_at = $5 WHERE {HELD}"),
                args![lease.job, lease.owner.as_str(), lease.attempt, until, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Jobs of one kind, newest first.
    pub async fn recent_jobs(&mut self, kind: &str, limit: u32) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT {limit}"
        );
        self.fetch_all(&sql, args![kind]).await?.iter().map(from_row).collect()
    }

    /// Marks a job done with its result.
    pub async fn finish_job(
        &mut self,
        lease: &Lease,
        result: &serde_json::Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                &format!(
                    "UPDATE jobs SET state = 'succeeded', result = $4, lease_owner = NULL, lease_expires_at = NULL, \
                     updated_at = $5, finished_at = $5 WHERE {HELD}"
                ),
                args![lease.job, lease.owner.as_str(), lease.attempt, result.to_string(), now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Records a failed attempt: the job is retried at `retry_at`, or failed for good when
    /// `retry_at` is `None`.
    pub async fn fail_job(
        &mut self,
        lease: &Lease,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let held = args![lease.job, lease.owner.as_str(), lease.attempt];
        let n = match retry_at {
            Some(at) => {
                let mut values = held;
                values.extend(args![at, error, now]);
                self.execute(
                    &format!(
                        "UPDATE jobs SET state = 'queued', run_at = $4, last_error = $5, lease_owner = NULL, \
                         lease_expires_at = NULL, updated_at = $6 WHERE {HELD}"
                    ),
                    values,
                )
                .await?
            }
            None => {
                let mut values = held;
                values.extend(args![error, now]);
                self.execute(
                    &format!(
                        "UPDATE jobs SET state = 'failed', last_error = $4, lease_owner = NULL, lease_expires_at = NULL, \
                         updated_at = $5, finished_at = $5 WHERE {HELD}"
                    ),
                    values,
                )
                .await?
            }
        };
        Ok(n == 1)
    }

    /// Sets a job aside after it failed on a bug at every attempt: failed, and parked so that
    /// nobody mistakes it for a job refused for what it asked.
    pub async fn park_job(&mut self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                &format!(
                    "UPDATE jobs SET state = 'failed', parked_at = $5, last_error = $4, lease_owner = NULL, \
                     lease_expires_at = NULL, updated_at = $5, finished_at = $5 WHERE {HELD}"
                ),
                args![lease.job, lease.owner.as_str(), lease.attempt, error, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Running jobs whose lease ran out (their worker stopped, and no runner took them over
    /// yet): the oldest first, at most ten.
    pub async fn overdue_jobs(
        &mut self,
        now: Timestamp,
    ) -> Result<Vec<(JobId, String, Timestamp)>, StoreError> {
        self.fetch_all(
            "SELECT id, kind, lease_expires_at FROM jobs WHERE state = 'running' AND lease_expires_at < $1 \
             ORDER BY lease_expires_at LIMIT 10",
            args![now],
        )
        .await?
        .iter()
        .map(|r| Ok((JobId(r.get(0)?), r.get(1)?, r.ts(2)?)))
        .collect()
    }

    /// Number of jobs in each state, for `/metrics`.
    pub async fn job_counts(&mut self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT CASE WHEN parked_at IS NULL THEN state ELSE 'parked' END, COUNT(*) FROM jobs GROUP BY 1",
                vec![],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let state: String = r.get(0)?;
            if let Some(s) = JobState::parse(&state) {
                out.push((s, r.get(1)?));
            }
        }
        Ok(out)
    }
}
