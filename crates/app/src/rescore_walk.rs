//! Rescoring every contact (a rules change, `leadgate score --all`): a chunk per transaction, in
//! contact id order, with the next chunk read ahead.
//!
//! Why read ahead: reading a chunk (contacts, companies, checklists, timelines) costs about as
//! much as scoring and saving it, and the two need not wait for each other. While the writer
//! scores, saves and commits chunk k, a task reads chunk k+1 on a snapshot, on another
//! connection (another core: SQLite runs in this process, PostgreSQL in its own). Measured in
//! BENCHMARKS.md, "Full rescore".
//!
//! Why it stays exact: the read-ahead is used only if nothing but this walk's own commits
//! happened since its snapshot ([`leadgate_store::Session::unchanged_since`]); otherwise the
//! writer reads the chunk again inside its transaction, as it would without read-ahead. After a
//! discarded read-ahead the next chunk is read in the transaction, so a busy database does not
//! pay for reading everything twice.

use std::collections::HashMap;

use jiff::Timestamp;
use leadgate_core::ids::ContactId;
use leadgate_store::scoring::ContactSet;
use leadgate_store::{CommitMark, ReadMark, Session, Store};
use tokio::task::JoinHandle;

use crate::scoring::{ActiveRules, ReadForScoring, read_for_scoring};
use crate::{App, AppError};

/// A chunk read on a snapshot, ahead of the writer.
struct ReadAhead {
    mark: ReadMark,
    version: i64,
    /// The last contact of the span read, `None` past the end.
    last: Option<ContactId>,
    read: ReadForScoring,
}

/// The read-ahead of the next chunk: still reading, or read.
enum Ahead {
    Reading(JoinHandle<Result<ReadAhead, AppError>>),
    Read(Result<ReadAhead, AppError>),
}

impl Ahead {
    async fn finish(self) -> Result<ReadAhead, AppError> {
        match self {
            Ahead::Reading(handle) => {
                handle.await.map_err(|e| AppError::Internal(format!("read-ahead task ended early: {e}")))?
            }
            Ahead::Read(result) => result,
        }
    }
}

/// How a walk's chunks were read, for tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    pub chunks: u64,
    /// Chunks whose read-ahead was used.
    pub read_ahead: u64,
    /// Read-aheads thrown away because something else was committed since their snapshot.
    pub discarded: u64,
}

/// Walks every contact after a starting point, one chunk per call to [`RescoreWalk::next_chunk`].
pub struct RescoreWalk {
    app: App,
    after: Option<ContactId>,
    chunk: u32,
    ahead: Option<Ahead>,
    /// This walk's last commit: it does not make a read-ahead stale.
    own: Vec<CommitMark>,
    stats: WalkStats,
}

impl RescoreWalk {
    pub fn new(app: &App, after: Option<ContactId>, chunk: u32) -> RescoreWalk {
        RescoreWalk {
            app: app.clone(),
            after,
            chunk,
            ahead: None,
            own: Vec::new(),
            stats: WalkStats::default(),
        }
    }

    pub fn stats(&self) -> WalkStats {
        self.stats
    }

    /// Rescores the next chunk inside `tx` at `now`, and starts reading the one after. Returns
    /// the number of contacts and the last one's id, `None` once every contact was walked.
    pub async fn next_chunk(
        &mut self,
        tx: &mut Session,
        now: Timestamp,
    ) -> Result<Option<(usize, ContactId)>, AppError> {
        let active = self.app.active_rules(tx).await?;
        let ahead = match self.ahead.take() {
            // A read-ahead that failed (a busy pool, say) is only a missed shortcut: the read
            // below, in the transaction, reports the error if it persists.
            Some(ahead) => ahead
                .finish()
                .await
                .inspect_err(|e| tracing::debug!(error = %e, "read-ahead failed; reading in the transaction"))
                .ok(),
            None => None,
        };
        let tried = ahead.is_some();
        let usable = match ahead {
            Some(a) if a.version == active.version && tx.unchanged_since(&a.mark, &self.own).await? => {
                Some(a)
            }
            _ => None,
        };
        if tried && usable.is_none() {
            self.stats.discarded += 1;
        }
        let read_next = usable.is_some() || !tried;
        let (last, read) = match usable {
            Some(a) => {
                self.stats.read_ahead += 1;
                (a.last, a.read)
            }
            None => {
                let last = tx.span_end(self.after, self.chunk).await?;
                let read = read_chunk(tx, &active, self.after, last).await?;
                (last, read)
            }
        };
        let Some(last) = last else { return Ok(None) };
        let contacts = read.inputs.len();
        if read_next {
            let (store, active, chunk) = (self.app.store.clone(), active.clone(), self.chunk);
            self.ahead = Some(Ahead::Reading(tokio::spawn(read_ahead(store, active, last, chunk))));
        }
        self.app.save_rescored(tx, &active, read, now).await?;
        self.after = Some(last);
        self.stats.chunks += 1;
        Ok(Some((contacts, last)))
    }

    /// Commits a chunk's transaction, remembering the commit as the walk's own.
    pub async fn commit(&mut self, tx: Session) -> Result<(), AppError> {
        self.own = vec![tx.commit_marked().await?];
        Ok(())
    }

    /// Waits for the read-ahead in flight to finish reading. Call it before beginning the next
    /// chunk's transaction: on SQLite that transaction holds the write lock, which others (event
    /// ingest) should not wait for while this walk waits for its reader.
    pub async fn wait_read_ahead(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            self.ahead = Some(Ahead::Read(ahead.finish().await));
        }
    }
}

impl Drop for RescoreWalk {
    fn drop(&mut self) {
        if let Some(Ahead::Reading(handle)) = self.ahead.take() {
            handle.abort();
        }
    }
}

async fn read_ahead(
    store: Store,
    active: ActiveRules,
    after: ContactId,
    chunk: u32,
) -> Result<ReadAhead, AppError> {
    let (mut s, mark) = store.read_snapshot().await?;
    let last = s.span_end(Some(after), chunk).await?;
    let read = read_chunk(&mut s, &active, Some(after), last).await?;
    Ok(ReadAhead { mark, version: active.version, last, read })
}

/// Reads a chunk: the contacts after `after` up to `last`, as a span of ids (a contact created
/// inside the span since its end was found is read, and rescored, with the others).
async fn read_chunk(
    s: &mut Session,
    active: &ActiveRules,
    after: Option<ContactId>,
    last: Option<ContactId>,
) -> Result<ReadForScoring, AppError> {
    let Some(last) = last else { return Ok(ReadForScoring::default()) };
    read_for_scoring(s, active, ContactSet::Span { after, last }, &HashMap::new()).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};
    use leadgate_core::event::EventDraft;
    use leadgate_core::scoring::Temperature;
    use leadgate_store::testing::{Backend, TestDb};
    use serde_json::json;

    use super::*;
    use crate::ManualClock;

    /// A read-ahead is used when nothing else was committed since its snapshot, and thrown away
    /// when something was: an event recorded for a contact of the chunk read ahead must not be
    /// overwritten by a score computed without it.
    async fn a_read_ahead_is_used_only_while_nothing_else_was_committed(backend: Backend) {
        let db = TestDb::new(backend).await;
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let app = App::new(db.store.clone(), Arc::new(ManualClock::new(now)));
        app.ensure_scoring_rules().await.unwrap();
        let principal = app.operator().await.unwrap();
        for i in 0..8 {
            let events: Vec<EventDraft> = serde_json::from_value(
                json!([{"email": format!("lead{i}@acme.example"), "kind": "page_view"}]),
            )
            .unwrap();
            app.record_events(&principal, events, None).await.unwrap();
        }
        let ids = db.store.read().await.unwrap().contact_ids_after(None, 100).await.unwrap();
        assert_eq!(ids.len(), 8);
        let later = now + SignedDuration::from_hours(1);
        let mut walk = RescoreWalk::new(&app, None, 2);

        // Chunk 1 is read in the transaction; chunk 2 is read ahead, then someone else records a
        // quote request for one of its contacts.
        let mut tx = db.store.begin_batch().await.unwrap();
        assert_eq!(walk.next_chunk(&mut tx, later).await.unwrap(), Some((2, ids[1])));
        walk.commit(tx).await.unwrap();
        walk.wait_read_ahead().await;
        let quote: Vec<EventDraft> =
            serde_json::from_value(json!([{"email": "lead2@acme.example", "kind": "quote_request"}]))
                .unwrap();
        app.record_events(&principal, quote, None).await.unwrap();

        let mut chunks = 1;
        loop {
            let mut tx = db.store.begin_batch().await.unwrap();
            let Some(_) = walk.next_chunk(&mut tx, later).await.unwrap() else { break };
            walk.commit(tx).await.unwrap();
            chunks += 1;
        }
        assert_eq!(chunks, 4);
        // Chunk 2's read-ahead was stale; chunk 3 was read in the transaction (a busy database
        // does not pay for reading twice); chunk 4's read-ahead, and the empty one after, served.
        assert_eq!(walk.stats(), WalkStats { chunks: 4, read_ahead: 2, discarded: 1 });

        let mut s = db.store.read().await.unwrap();
        for input in s.scoring_inputs(&ids).await.unwrap() {
            let score = input.contact.score.expect("scored");
            assert_eq!(score.scored_at, later, "every contact was rescored by the walk");
            let email = input.contact.email.map(|e| e.as_str().to_string()).unwrap_or_default();
            // The quote request makes its lead hot at once; a page view alone does not.
            let hot = score.temperature == Temperature::Hot;
            assert_eq!(hot, email == "lead2@acme.example", "{email}: {:?}", score.temperature);
        }
        drop(s);
        db.cleanup().await;
    }

    #[tokio::test]
    async fn a_read_ahead_is_used_only_while_nothing_else_was_committed_on_sqlite() {
        a_read_ahead_is_used_only_while_nothing_else_was_committed(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn a_read_ahead_is_used_only_while_nothing_else_was_committed_on_postgres() {
        a_read_ahead_is_used_only_while_nothing_else_was_committed(Backend::Postgres).await
    }
}
