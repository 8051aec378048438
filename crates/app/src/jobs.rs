//! The background job runner. Every server runs one; they share the queue in the database, so a
//! job runs once even with several servers, and a job whose server died is taken over when its
//! lease expires. Each step of a job commits its work together with its progress and checkpoint,
//! so a restart resumes where the last committed step ended.

use std::time::Duration;

use jiff::SignedDuration;
use leadgate_core::ids::{ContactId, JobId};
use leadgate_store::jobs::{Job, Lease};
use tokio::sync::watch;

use crate::prediction;
use crate::rescore_walk::RescoreWalk;
use crate::scoring::RESCORE_JOB;
use crate::{App, AppError};

/// How long a claimed job stays ours without news; each step renews it.
pub const DEFAULT_LEASE: SignedDuration = SignedDuration::from_secs(120);
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
    /// The job's code panicked: a bug, with its message.
    Panicked(String),
}

/// A job kind that panics, for tests of the runner's supervision (feature `testing` only).
#[cfg(feature = "testing")]
pub const TEST_PANIC_JOB: &str = "test.panic";

/// How often a runner waiting on a long job says it is alive.
const BEAT: Duration = Duration::from_secs(10);
/// A running runner silent for longer than this is reported stuck by `/healthz`.
pub const STUCK_AFTER: Duration = Duration::from_secs(120);
/// How long the runner leaves a unit of between-job work (timers, deliveries…) alone after it
/// panicked, doubling each time up to half an hour: a poisoned timer neither floods the log nor
/// blocks the rest.
const UNIT_BACKOFF: Duration = Duration::from_secs(60);

/// Where this server's job runner stands, for `/healthz` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerState {
    /// No runner started in this process (tests, the CLI).
    NotStarted,
    Running,
    Stopped,
    /// The runner itself stopped on a bug.
    Crashed,
}

/// What the runner shares with the HTTP side.
#[derive(Debug)]
pub struct RunnerHealth {
    inner: std::sync::Mutex<RunnerStatus>,
}

/// A snapshot of [`RunnerHealth`].
#[derive(Debug, Clone)]
pub struct RunnerStatus {
    pub state: RunnerState,
    /// When the runner last showed it was alive.
    pub last_beat: Option<std::time::Instant>,
    /// Jobs and units of work that panicked since the server started, and the last message.
    pub panics: u64,
    pub last_panic: Option<String>,
}

impl Default for RunnerHealth {
    fn default() -> Self {
        RunnerHealth {
            inner: std::sync::Mutex::new(RunnerStatus {
                state: RunnerState::NotStarted,
                last_beat: None,
                panics: 0,
                last_panic: None,
            }),
        }
    }
}

impl RunnerHealth {
    fn update(&self, f: impl FnOnce(&mut RunnerStatus)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn beat(&self) {
        self.update(|s| s.last_beat = Some(std::time::Instant::now()));
    }

    fn panicked(&self, message: &str) {
        self.update(|s| {
            s.panics += 1;
            s.last_panic = Some(message.to_string());
        });
    }

    pub fn status(&self) -> RunnerStatus {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the runner is stuck or dead: crashed, or running without a sign of life for
    /// [`STUCK_AFTER`].
    pub fn is_failing(&self) -> bool {
        let s = self.status();
        match s.state {
            RunnerState::Crashed => true,
            RunnerState::Running => s.last_beat.is_none_or(|b| b.elapsed() > STUCK_AFTER),
            RunnerState::NotStarted | RunnerState::Stopped => false,
        }
    }
}

/// Marks the runner crashed if its loop unwinds (it stopped on a bug, not on shutdown).
struct CrashGuard<'a>(&'a RunnerHealth);

impl Drop for CrashGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.update(|s| s.state = RunnerState::Crashed);
        }
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
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

/// The kinds of job this runner runs (and, built for tests, the job that panics on purpose).
const JOB_KINDS: &[&str] = &[
    RESCORE_JOB,
    crate::import::IMPORT_JOB,
    prediction::TRAIN_JOB,
    prediction::PREDICT_JOB,
    crate::deal_model::DEAL_TRAIN_JOB,
    #[cfg(feature = "testing")]
    TEST_PANIC_JOB,
];

impl App {
    /// Runs due jobs until `shutdown` turns true. The current step finishes first. Each job
    /// and each unit of between-job work runs in a task of its own: a panic there fails that job
    /// (or pauses that unit), never the runner.
    pub async fn run_jobs(&self, owner: String, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(%owner, "job runner started");
        self.runner.update(|s| s.state = RunnerState::Running);
        self.runner.beat();
        let _guard = CrashGuard(&self.runner);
        let mut last_schedule_check = None;
        let mut paused: std::collections::HashMap<&'static str, (std::time::Instant, Duration)> =
            Default::default();
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.runner.beat();
            match self.run_one_job(&owner).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "job runner could not claim a job"),
            }
            // Between jobs: the agreement's timers and webhook deliveries, each claimed in the
            // database so several servers never fire or send the same one twice; then
            // predictions of contacts whose data changed.
            let mut busy = false;
            for unit in ["timers", "webhooks", "nurture", "predictions"] {
                let app = self.clone();
                let run = async move {
                    match unit {
                        "timers" => app.run_timers().await,
                        "webhooks" => app.deliver_webhooks().await,
                        "nurture" => app.run_nurture().await,
                        _ => app.refresh_predictions().await,
                    }
                };
                match self.supervised_unit(unit, &mut paused, run).await {
                    Some(Ok(n)) => busy |= n > 0 && unit != "timers",
                    Some(Err(e)) => tracing::error!(error = %e, unit, "between-job work failed"),
                    None => {}
                }
            }
            if busy {
                continue;
            }
            // Once a minute: forget ended web sessions, and queue retraining when it is due.
            if last_schedule_check.is_none_or(|t: std::time::Instant| t.elapsed() >= SCHEDULE_CHECK) {
                last_schedule_check = Some(std::time::Instant::now());
                let app = self.clone();
                let purge = async move {
                    let sessions = app.purge_expired_sessions().await?;
                    Ok(sessions as usize + app.purge_idempotency_keys().await? as usize)
                };
                if let Some(Err(e)) = self.supervised_unit("sessions", &mut paused, purge).await {
                    tracing::error!(error = %e, "could not forget expired web sessions");
                }
                // Once a day: the open leads by temperature, for the dashboard's history.
                let app = self.clone();
                let snapshot = async move { app.record_temperature_day().await.map(usize::from) };
                if let Some(Err(e)) = self.supervised_unit("temperatures", &mut paused, snapshot).await {
                    tracing::error!(error = %e, "could not record today's leads by temperature");
                }
                // Once a day, on one server: erase who is due under the retention rule.
                let app = self.clone();
                let retention = async move { app.daily_retention().await.map(|n| n.unwrap_or(0) as usize) };
                match self.supervised_unit("retention", &mut paused, retention).await {
                    Some(Ok(n)) if n > 0 => tracing::info!(erased = n, "retention purge done"),
                    Some(Err(e)) => tracing::error!(error = %e, "the retention purge failed"),
                    _ => {}
                }
                if let Some(every) = self.retrain_every {
                    let app = self.clone();
                    let schedule =
                        async move { app.schedule_retraining(every).await.map(|j| j.map_or(0, |_| 1)) };
                    match self.supervised_unit("retraining", &mut paused, schedule).await {
                        Some(Ok(1)) => tracing::info!("scheduled retraining queued"),
                        Some(Err(e)) => tracing::error!(error = %e, "could not schedule retraining"),
                        _ => {}
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.runner.update(|s| s.state = RunnerState::Stopped);
        tracing::info!(%owner, "job runner stopped");
    }

    /// Runs one unit of between-job work in a task of its own, unless it is paused after a
    /// panic. `None` when it did not run (paused) or panicked.
    async fn supervised_unit(
        &self,
        unit: &'static str,
        paused: &mut std::collections::HashMap<&'static str, (std::time::Instant, Duration)>,
        work: impl std::future::Future<Output = Result<usize, AppError>> + Send + 'static,
    ) -> Option<Result<usize, AppError>> {
        if paused.get(unit).is_some_and(|(until, _)| std::time::Instant::now() < *until) {
            return None;
        }
        match tokio::spawn(work).await {
            Ok(outcome) => {
                paused.remove(unit);
                Some(outcome)
            }
            Err(e) => {
                let message = if e.is_panic() { panic_message(e.into_panic()) } else { e.to_string() };
                let wait =
                    paused.get(unit).map_or(UNIT_BACKOFF, |(_, w)| (*w * 2).min(Duration::from_secs(1800)));
                paused.insert(unit, (std::time::Instant::now() + wait, wait));
                self.runner.panicked(&message);
                tracing::error!(unit, panic = %message, pause_seconds = wait.as_secs(), "between-job work stopped on a bug; paused");
                None
            }
        }
    }

    /// Runs a job in a task of its own and waits for it, beating meanwhile so `/healthz` tells a
    /// long job from a dead runner. A panic comes back as the job's failure with its message.
    async fn supervised_job(&self, job: &Job, lease: &Lease) -> Result<serde_json::Value, StepError> {
        let (app, job, lease) = (self.clone(), job.clone(), lease.clone());
        let mut task =
            tokio::spawn(async move { app.with_heartbeat(&lease, app.run_job_kind(&job, &lease)).await });
        loop {
            tokio::select! {
                joined = &mut task => return match joined {
                    Ok(outcome) => outcome,
                    Err(e) if e.is_panic() => Err(StepError::Panicked(panic_message(e.into_panic()))),
                    Err(e) => Err(StepError::App(AppError::Internal(format!("the job's task ended: {e}")))),
                },
                _ = tokio::time::sleep(BEAT) => self.runner.beat(),
            }
        }
    }

    async fn run_job_kind(&self, job: &Job, lease: &Lease) -> Result<serde_json::Value, StepError> {
        match job.kind.as_str() {
            RESCORE_JOB => self.rescore_job(job, lease).await,
            crate::import::IMPORT_JOB => self.run_import_job(job, lease).await.map_err(StepError::App),
            prediction::TRAIN_JOB => self.train_job(job, lease).await.map_err(StepError::App),
            crate::deal_model::DEAL_TRAIN_JOB => {
                self.deal_train_job(job, lease).await.map_err(StepError::App)
            }
            prediction::PREDICT_JOB => self.predict_job(job, lease, &mut ()).await.map_err(StepError::App),
            // Tests of the runner's supervision: a job whose code stops on a bug.
            #[cfg(feature = "testing")]
            TEST_PANIC_JOB => panic!("{}", job.payload["message"].as_str().unwrap_or("test panic")),
            other => Err(StepError::App(AppError::Internal(format!("unknown job kind `{other}`")))),
        }
    }

    /// Runs `work` while extending `lease` every third of the lease time: a long step (training
    /// on a large history) keeps its job, while a worker that stops (killed, paused, cut off from
    /// the database) stops extending it, so another worker takes the job over once it runs out
    /// — and the lease's fencing token keeps the stopped one from writing anything after.
    pub(crate) async fn with_heartbeat<T>(
        &self,
        lease: &Lease,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let beat = Duration::from_millis((self.job_lease.as_millis() / 3).clamp(500, 60_000) as u64);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = ticker.tick() => {
                    let now = self.now();
                    let held = match self.store.begin().await {
                        Ok(mut tx) => match tx.extend_lease(lease, now + self.job_lease, now).await {
                            Ok(held) => tx.commit().await.map(|()| held).unwrap_or(true),
                            Err(_) => true,
                        },
                        Err(_) => true, // the database is away: the work's own writes will say
                    };
                    if !held {
                        tracing::warn!(job = %lease.job, "the job's lease was lost; its next write will stop it");
                    }
                }
            }
        }
    }

    /// Queues a job of `kind` for `principal` (its result and progress are theirs to follow),
    /// to run now, tried `max_attempts` times.
    pub(crate) async fn queue_job(
        &self,
        principal: &crate::Principal,
        kind: &str,
        payload: &impl serde::Serialize,
        max_attempts: i64,
    ) -> Result<Job, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let job = tx
            .enqueue_job(
                leadgate_store::jobs::NewJob {
                    id: JobId(crate::new_uuid()),
                    kind: kind.to_string(),
                    payload: serde_json::to_value(payload).map_err(|e| AppError::Internal(e.to_string()))?,
                    run_at: now,
                    max_attempts,
                    created_by: Some(principal.user.id),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Claims and runs one due job. Returns whether there was one.
    pub async fn run_one_job(&self, owner: &str) -> Result<bool, AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let job = tx.claim_job(owner, JOB_KINDS, now + self.job_lease, now).await?;
        tx.commit().await?;
        let Some(job) = job else { return Ok(false) };
        let lease = Lease::of(&job, owner);
        if job.attempts > job.max_attempts {
            // Its servers kept stopping before it finished (killed, out of memory): whatever
            // it is, running it again would stop the next one too.
            let mut tx = self.store.begin().await?;
            let why = "parked: the servers running it kept stopping before it finished";
            tx.park_job(&lease, why, self.now()).await?;
            tx.commit().await?;
            tracing::error!(job = %job.id, kind = %job.kind, "job parked: its servers kept stopping");
            return Ok(true);
        }
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
        let outcome = self.supervised_job(&job, &lease).await;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match outcome {
            Ok(result) => {
                tx.finish_job(&lease, &result, now).await?;
                tracing::info!(job = %job.id, "job finished");
            }
            Err(StepError::LostLease) => tracing::warn!(job = %job.id, "job lease lost to another worker"),
            Err(StepError::Panicked(message)) => {
                self.runner.panicked(&message);
                let error = leadgate_core::validation::printable(&format!(
                    "stopped on a bug (attempt {} of {}): {message}",
                    job.attempts, job.max_attempts
                ))
                .into_owned();
                if job.attempts < job.max_attempts {
                    let secs = (10_i64 << job.attempts.clamp(0, 9)).min(3600);
                    tx.fail_job(&lease, &error, Some(now + SignedDuration::from_secs(secs)), now).await?;
                    tracing::error!(job = %job.id, kind = %job.kind, panic = %message, "job stopped on a bug; retried later");
                } else {
                    tx.park_job(&lease, &error, now).await?;
                    tracing::error!(job = %job.id, kind = %job.kind, panic = %message, "job stopped on a bug at every attempt; parked");
                }
            }
            Err(StepError::App(e)) => {
                // Exponential backoff: 10 s, 20 s, 40 s… up to an hour; only for faults that
                // may pass (the database, a bug hit by a race). A job refused for what it asks
                // (too few outcomes, a bad file) would fail the same way again.
                let transient = matches!(
                    e,
                    AppError::Unavailable(_)
                        | AppError::Contention(_)
                        | AppError::DiskFull(_)
                        | AppError::Internal(_)
                );
                let retry = (transient && job.attempts < job.max_attempts).then(|| {
                    let secs = (10_i64 << job.attempts.clamp(0, 9)).min(3600);
                    now + SignedDuration::from_secs(secs)
                });
                if transient {
                    tracing::error!(job = %job.id, error = %e, retry = retry.is_some(), "job failed");
                } else {
                    tracing::warn!(job = %job.id, error = %e, "job refused");
                }
                let error = leadgate_core::validation::printable(&e.to_string()).into_owned();
                tx.fail_job(&lease, &error, retry, now).await?;
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
            return Ok(crate::Principal { user, api_key: None, address: None });
        }
        self.operator().await
    }

    /// Rescores every contact with the job's rules version, a chunk per transaction, resuming
    /// from the checkpoint. Stops early when a newer version supersedes it (that version's own
    /// job rescores everyone).
    async fn rescore_job(&self, job: &Job, lease: &Lease) -> Result<serde_json::Value, StepError> {
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
                    lease,
                    done as i64,
                    Some(total.max(done) as i64),
                    Some(&checkpoint),
                    now + self.job_lease,
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
