//! The Leadgate application layer: one function per use case ("record these events", "create a
//! contact", "revoke a key"), each owning its transaction. A use case checks the caller's right,
//! validates input with the core, reads and writes through the store, and commits once, so that
//! what it does happens entirely or not at all. The HTTP API, the web UI and the CLI are adapters
//! that call these functions; none of them talks to the store for writes.

pub mod access;
pub mod analytics;
pub mod auth;
pub mod capture;
pub mod clock;
pub mod companies;
pub mod contacts;
pub mod deal_model;
pub mod error;
pub mod events;
pub mod export;
pub mod fields;
pub mod handoff;
pub mod idempotency;
pub mod import;
pub mod jobs;
pub mod lifecycle;
pub mod nurture;
pub mod pipeline;
pub mod prediction;
pub mod privacy;
pub mod requests;
pub mod rescore_walk;
pub mod scoring;
pub mod web;
pub mod webhooks;

use std::sync::Arc;

use leadgate_store::Store;

pub use auth::Principal;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use idempotency::{Idempotency, Recorded};

/// The application: the store and the clock every use case reads time from.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    clock: Arc<dyn Clock>,
    rules_cache: Arc<scoring::RulesCache>,
    model_cache: Arc<prediction::ModelCache>,
    /// The signing secret of form tokens and tracking links, read once from the database.
    secret: Arc<std::sync::OnceLock<Vec<u8>>>,
    /// How soon after display a form may be submitted (bots are faster than people).
    min_fill_time: jiff::SignedDuration,
    /// Retrain the model when the latest is older than this (off when `None`).
    retrain_every: Option<jiff::SignedDuration>,
    /// Where webhooks may be delivered.
    webhook_policy: webhooks::WebhookPolicy,
    /// Built on first delivery (an error is kept as text: it is reported on each attempt).
    webhook_client: Arc<std::sync::OnceLock<Result<reqwest::Client, String>>>,
    /// Concurrent event requests, recorded in shared transactions.
    ingest_queue: Arc<events::IngestQueue>,
    /// This server's job runner, as `/healthz` and `/metrics` report it.
    pub runner: Arc<jobs::RunnerHealth>,
    /// Password hashes computed at once (argon2 is slow and memory-hungry on purpose).
    password_hashes: Arc<tokio::sync::Semaphore>,
    /// How long a claimed job or webhook delivery stays claimed without a sign of life from its
    /// worker (`serve --lease-seconds`).
    pub(crate) job_lease: jiff::SignedDuration,
    /// Keys the suppression list's hashes of erased people's e-mails.
    suppression_key: privacy::SuppressionKey,
    /// How long personal data is kept after the last contact from the person (`None`: until
    /// erased by hand).
    retention: Option<leadgate_core::privacy::RetentionPolicy>,
    /// How nurture e-mail leaves (`None`: messages are reserved and wait).
    mail: Option<Arc<nurture::MailSetup>>,
    /// This process's name on the message claims it makes.
    sender_name: String,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> App {
        webhooks::install_tls_provider();
        App {
            store,
            clock,
            rules_cache: Arc::default(),
            model_cache: Arc::default(),
            secret: Arc::default(),
            min_fill_time: capture::MIN_FILL_TIME,
            retrain_every: None,
            webhook_policy: webhooks::WebhookPolicy::default(),
            webhook_client: Arc::default(),
            ingest_queue: Arc::default(),
            runner: Arc::default(),
            password_hashes: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            )),
            job_lease: jobs::DEFAULT_LEASE,
            suppression_key: privacy::SuppressionKey::generate(),
            retention: Some(Default::default()),
            mail: None,
            sender_name: jobs::worker_name(),
        }
    }

    /// Sets how long a claimed job or delivery stays claimed without a sign of life: shorter,
    /// another server takes over sooner after one stops; longer, a stalled database costs fewer
    /// takeovers. Workers extend their leases while they work.
    pub fn with_lease(mut self, lease: jiff::SignedDuration) -> App {
        self.job_lease = lease;
        self
    }

    /// Retrains the prediction model in the background whenever the latest model is older than
    /// `every` (off by default).
    pub fn with_retraining(mut self, every: Option<jiff::SignedDuration>) -> App {
        self.retrain_every = every;
        self
    }

    /// Sets where webhooks may be delivered (internal addresses are refused by default).
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> App {
        self.webhook_policy = policy;
        self
    }

    /// Changes the minimum fill time of forms (tests and demos shorten it).
    pub fn with_min_fill_time(mut self, d: jiff::SignedDuration) -> App {
        self.min_fill_time = d;
        self
    }

    /// The current instant, from the injected clock (tests move it by hand), truncated to the
    /// microsecond: what storage keeps, so a value answered at creation equals the value read
    /// back later.
    pub fn now(&self) -> jiff::Timestamp {
        let t = self.clock.now();
        jiff::Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
    }
}

/// How many times a use case runs again when the database aborted its transaction to break a
/// deadlock or a serialization conflict (PostgreSQL 40P01, 40001).
const CONTENTION_RETRIES: u32 = 3;

impl App {
    /// Runs `attempt` (which begins and commits its own transaction) again when the database
    /// aborted it to let a concurrent one finish: the whole transaction rolled back, so running
    /// it again is the same request. After a few tries the error stands (503, "retry").
    pub(crate) async fn retrying<T, F: std::future::Future<Output = Result<T, AppError>>>(
        &self,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T, AppError> {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(AppError::Contention(m)) if tries < CONTENTION_RETRIES => {
                    tries += 1;
                    tracing::debug!(attempt = tries, error = %m, "transaction aborted by the database; running it again");
                    // Jittered, growing pauses, so the two sides do not collide again in step.
                    let jitter = u64::from(uuid::Uuid::now_v7().as_bytes()[15]) % 10;
                    tokio::time::sleep(std::time::Duration::from_millis((10 << tries) + jitter)).await;
                }
                other => return other,
            }
        }
    }
}

/// A fresh, time-ordered id.
pub(crate) fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Bytes as lower-case hexadecimal (keys, digests, signatures).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
