//! The background job runner. Every server runs one; they share the queue in the database, so a
//! job runs once even with several servers, and a job whose server died is taken over when its
//! lease expires. Each step of a job commits its work together with its progress and checkpoint,
//! so a restart resumes where the last committed step ended.

use std::time::Duration;

use jiff::SignedDuration;
use leadgate_core::ids::{ContactId, JobId};
use leadgate_store::jobs::Job;
use tokio::sync::watch;

use crate::prediction;
use crate::rescore_walk::RescoreWalk;
use crate::scoring::RESCORE_JOB;
use crate::{App, AppError};

/// How long a claimed job stays ours without news; each step renews it.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// How often an idle runner looks for due jobs.
const POLL: Duration = Duration::from_millis(500);
/// How often a runner checks whether scheduled retraining is due and forgets ended sessions.
const SCHEDULE_CHECK: Duration = Duration::from_secs(60);
/// Contacts rescored per committed step. Large enough that a commit writes each page of the
/// inbox index (where a rescore moves every contact to a new place) once for many contacts
/// rather than once or twice per contact (see BENCHMARKS.md, "Full rescore").
pub const RESCORE_CHUNK: u32 = 10_000;

/// Progress of a long operation, for progress bars and job endpoints.
pub trait Progress: Send {
    fn update(&mut self, done: u64, total: u64);
}

impl Progress for () {
    fn update(&mut self, _: u64, _: u64) {}
}

/// What a job step may run into.
enum StepError {
    /// Another worker took the job over: stop without touching it.
    LostLease,
    App(AppError),
}

impl From<AppError> for StepError {
    fn from(e: AppError) -> Self {
        StepError::App(e)
    }
}

impl From<leadgate_store::StoreError> for StepError {
    fn from(e: leadgate_store::StoreError) -> Self {
        StepError::App(e.into())
    }
}

impl App {
    /// Runs due jobs until `shutdown` turns true. The current step finishes first.
    pub async fn run_jobs(&self, owner: String, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(%owner, "job runner started");
        let mut last_schedule_check = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.run_one_job(&owner).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "job runner could not claim a job"),
            }
            // Between jobs: the agreement's timers and webhook deliveries, each claimed in the
            // database so several servers never fire or send the same one twice.
            if let Err(e) = self.run_timers().await {
                tracing::error!(error = %e, "could not run the sales agreement's timers");
            }
            match self.deliver_webhooks().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not deliver webhooks"),
            }
            // Between jobs: predictions of contacts whose data changed.
            match self.refresh_predictions().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not refresh predictions"),
            }
            // Once a minute: forget ended web sessions, and queue retraining when it is due.
            if last_schedule_check.is_none_or(|t: std::time::Instant| t.elapsed() >= SCHEDULE_CHECK) {
                last_schedule_check = Some(std::time::Instant::now());
                if let Err(e) = self.purge_expired_sessions().await {
                    tracing::error!(error = %e, "could not forget expired web sessions");
                }
                if let Some(every) = self.retrain_every {
                    match self.schedule_retraining(every).await {
                        Ok(Some(job)) => tracing::info!(%job, "scheduled retraining queued"),
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, "could not schedule retraining"),
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(%owner, "job runner stopped");
    }

    /// Claims and runs one due job. Returns whether there was one.
    pub async fn run_one_job(&self, owner: &str) -> Result<bool, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let kinds = [RESCORE_JOB, crate::import::IMPORT_JOB, prediction::TRAIN_JOB, prediction::PREDICT_JOB];
        let job = tx.claim_job(owner, &kinds, now + LEASE, now).await?;
        tx.commit().await?;
        let Some(job) = job else { return Ok(false) };
        if job.attempts > job.max_attempts {
            let mut tx = self.store.begin().await?;
            tx.fail_job(
                job.id,
                owner,
                "gave up: the servers running it kept stopping before it finished",
                None,
                self.now(),
            )
            .await?;
            tx.commit().await?;
            return Ok(true);
        }
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
        let outcome = match job.kind.as_str() {
            RESCORE_JOB => self.rescore_job(&job, owner).await,
            crate::import::IMPORT_JOB => self.run_import_job(&job, owner).await.map_err(StepError::App),
            prediction::TRAIN_JOB => self.train_job(&job, owner).await.map_err(StepError::App),
            prediction::PREDICT_JOB => self.predict_job(&job, owner, &mut ()).await.map_err(StepError::App),
            other => Err(StepError::App(AppError::Internal(format!("unknown job kind `{other}`")))),
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match outcome {
            Ok(result) => {
                tx.finish_job(job.id, owner, &result, now).await?;
                tracing::info!(job = %job.id, "job finished");
            }
            Err(StepError::LostLease) => tracing::warn!(job = %job.id, "job lease lost to another worker"),
            Err(StepError::App(e)) => {
                // Exponential backoff: 10 s, 20 s, 40 s… up to an hour; only for faults that
                // may pass (the database, a bug hit by a race). A job refused for what it asks
                // (too few outcomes, a bad file) would fail the same way again.
                let transient = matches!(e, AppError::Unavailable(_) | AppError::Internal(_));
                let retry = (transient && job.attempts < job.max_attempts).then(|| {
                    let secs = (10_i64 << job.attempts.clamp(0, 9)).min(3600);
                    now + SignedDuration::from_secs(secs)
                });
                if transient {
                    tracing::error!(job = %job.id, error = %e, retry = retry.is_some(), "job failed");
                } else {
                    tracing::warn!(job = %job.id, error = %e, "job refused");
                }
                tx.fail_job(job.id, owner, &e.to_string(), retry, now).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Who a job acts as: the user who queued it, or the operator when it was scheduled (or
    /// that user is gone).
    pub(crate) async fn job_principal(
        &self,
        created_by: Option<leadgate_core::ids::UserId>,
    ) -> Result<crate::Principal, AppError> {
        if let Some(id) = created_by
            && let Some(user) = self.store.read().await?.get_user(id).await?
        {
            return Ok(crate::Principal { user, api_key: None });
        }
        self.operator().await
    }

    /// Rescores every contact with the job's rules version, a chunk per transaction, resuming
    /// from the checkpoint. Stops early when a newer version supersedes it (that version's own
    /// job rescores everyone).
    async fn rescore_job(&self, job: &Job, owner: &str) -> Result<serde_json::Value, StepError> {
        let version = job.payload.get("version").and_then(|v| v.as_i64()).unwrap_or(0);
        let after = job.checkpoint.as_deref().and_then(|c| c.parse().ok()).map(ContactId);
        let mut done = job.progress_done.max(0) as u64;
        let total = self.store.read().await?.count_contacts().await? as u64;
        let mut walk = RescoreWalk::new(self, after, RESCORE_CHUNK);
        loop {
            walk.wait_read_ahead().await;
            let now = self.now();
            let mut tx = self.store.begin_batch().await?;
            let latest = tx.latest_rules_version().await?;
            if latest != version {
                return Ok(serde_json::json!({ "rescored": done, "superseded_by": latest }));
            }
            let Some((n, last)) = walk.next_chunk(&mut tx, now).await? else {
                return Ok(serde_json::json!({ "rescored": done, "version": version }));
            };
            done += n as u64;
            let checkpoint = last.to_string();
            let still_ours = tx
                .job_progress(
                    job.id,
                    owner,
                    done as i64,
                    Some(total.max(done) as i64),
                    Some(&checkpoint),
                    now + LEASE,
                    now,
                )
                .await?;
            if !still_ours {
                return Err(StepError::LostLease);
            }
            walk.commit(tx).await?;
        }
    }

    /// Rescores every contact now, in this process (the CLI's `leadgate score --all`), reporting
    /// progress. Each chunk commits on its own, so an interrupted run keeps what it did (scores
    /// are derived data: a chunk lost to a power cut is simply redone by the next run).
    pub async fn rescore_all(&self, progress: &mut dyn Progress) -> Result<u64, AppError> {
        let total = self.store.read().await?.count_contacts().await? as u64;
        let mut walk = RescoreWalk::new(self, None, RESCORE_CHUNK);
        let mut done = 0;
        progress.update(0, total);
        loop {
            walk.wait_read_ahead().await;
            let now = self.now();
            let mut tx = self.store.begin_batch().await?;
            let Some((n, _)) = walk.next_chunk(&mut tx, now).await? else { break };
            walk.commit(tx).await?;
            done += n as u64;
            progress.update(done, total.max(done));
        }
        Ok(done)
    }

    /// A job, for its status endpoint.
    pub async fn job(&self, principal: &crate::Principal, id: JobId) -> Result<Job, AppError> {
        principal.require(leadgate_core::access::Permission::ReadContacts)?;
        let job =
            self.store.read().await?.get_job(id).await?.ok_or_else(|| AppError::not_found("job", id))?;
        // An import's job shows the file's rows; only those who may import see it.
        if job.kind == crate::import::IMPORT_JOB {
            principal.require(leadgate_core::access::Permission::Import)?;
        }
        Ok(job)
    }
}

/// A name for this worker in job leases: host, process and a random suffix.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "leadgate".into());
    format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[24..])
}
