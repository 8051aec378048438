//! The Leadgate application layer: one function per use case ("record these events", "create a
//! contact", "revoke a key"), each owning its transaction. A use case checks the caller's right,
//! validates input with the core, reads and writes through the store, and commits once, so that
//! what it does happens entirely or not at all. The HTTP API, the web UI and the CLI are adapters
//! that call these functions; none of them talks to the store for writes.

pub mod auth;
pub mod clock;
pub mod companies;
pub mod contacts;
pub mod error;
pub mod events;
pub mod fields;
pub mod idempotency;
pub mod import;
pub mod jobs;
pub mod lifecycle;
pub mod requests;
pub mod scoring;

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
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> App {
        App { store, clock, rules_cache: Arc::default() }
    }

    /// The current instant, from the injected clock (tests move it by hand), truncated to the
    /// microsecond: what storage keeps, so a value answered at creation equals the value read
    /// back later.
    pub fn now(&self) -> jiff::Timestamp {
        let t = self.clock.now();
        jiff::Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
    }
}

/// A fresh, time-ordered id.
pub(crate) fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
