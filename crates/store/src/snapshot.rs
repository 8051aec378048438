//! Reading ahead of a writer. A long batch job (rescoring everyone) reads the next chunk on a
//! snapshot while its writer saves the current one; before using what it read, the writer asks
//! whether anything was committed since that snapshot by anyone but itself. If so it reads again
//! inside its own transaction, so the shortcut can never write a score computed from stale data.
//!
//! The answer is conservative ("something may have changed", not "this contact changed"): any
//! foreign commit invalidates the read-ahead. That keeps it exact without asking every write
//! path in the product to record what it touched; under a steady stream of other writes the job
//! simply falls back to reading in its transaction, as it would without read-ahead.
//!
//! SQLite: this process has one writer connection, which numbers its commits; commits by other
//! processes show as a change of `PRAGMA data_version`, seen when the writer next begins.
//! PostgreSQL: the snapshot's transaction ids (`pg_current_snapshot()`): a transaction that was
//! running when the snapshot was taken, or started after it, and is neither the writer's own nor
//! still running nor rolled back, may have committed something the snapshot does not see.
//! (One still running may commit later, while the writer works: the same window a read inside
//! the writer's own READ COMMITTED transaction has.)

use crate::driver::{Conn, Session};
use crate::error::StoreError;
use crate::{Pools, Store};

/// Where a snapshot read started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadMark {
    /// Commits counted by the SQLite pool when the snapshot began.
    Sqlite(u64),
    Postgres(PgSnapshot),
}

/// One of the writer's own commits, so that it does not invalidate its own read-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMark {
    /// The commit's number in the SQLite pool's count.
    Sqlite(u64),
    /// The transaction id that committed (xid8).
    Postgres(u64),
}

/// A PostgreSQL snapshot: transactions below `xmin` had ended, those from `xmax` on had not
/// started, and those in `running` were in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSnapshot {
    pub xmin: u64,
    pub xmax: u64,
    pub running: Vec<u64>,
}

/// More transactions than this started since the snapshot: do not even look.
const MAX_NEW_TRANSACTIONS: u64 = 1_000;

impl PgSnapshot {
    /// Parses `pg_current_snapshot()`'s text form, `xmin:xmax:xip,xip,…`.
    pub fn parse(text: &str) -> Option<PgSnapshot> {
        let mut parts = text.split(':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let running = match parts.next()? {
            "" => Vec::new(),
            list => list.split(',').map(|x| x.parse().ok()).collect::<Option<Vec<u64>>>()?,
        };
        parts.next().is_none().then_some(PgSnapshot { xmin, xmax, running })
    }

    /// The transactions that may have committed something a reader on `self` did not see, by
    /// the time of `now`, apart from those in `own`: those running when `self` was taken or
    /// started after it, and no longer running at `now` (committed, or rolled back). `None`
    /// when too many transactions started since to be worth listing.
    pub fn unseen_since(&self, now: &PgSnapshot, own: &[u64]) -> Option<Vec<u64>> {
        if now.xmax.saturating_sub(self.xmax) > MAX_NEW_TRANSACTIONS {
            return None;
        }
        let invisible = self.running.iter().copied().chain(self.xmax..now.xmax);
        Some(invisible.filter(|x| !own.contains(x) && !now.running.contains(x)).collect())
    }
}

/// Transactions that ended since a snapshot are looked up one by one (rolled back or committed)
/// up to this many; more, and the snapshot counts as stale.
const MAX_ENDED_LOOKUPS: usize = 16;

impl Store {
    /// Opens a read session on a snapshot: every statement sees the data as committed when it
    /// began. The mark tells a writer later whether anything was committed since
    /// ([`Session::unchanged_since`]).
    pub async fn read_snapshot(&self) -> Result<(Session, ReadMark), StoreError> {
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.acquire(false).await?;
                // Counted before the snapshot starts: a commit in between is counted as after it,
                // which errs on the safe side.
                let mark = ReadMark::Sqlite(pool.commits());
                conn.begin_read().await?;
                Ok((Session { conn: Conn::Sqlite(conn), health: self.health.clone(), wrote: false }, mark))
            }
            Pools::Postgres(pool) => {
                let tx = pool.begin().await?;
                let mut session =
                    Session { conn: Conn::PostgresTx(tx), health: self.health.clone(), wrote: false };
                session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", vec![]).await?;
                // The first statement fixes the transaction's snapshot: this one reports it.
                let snapshot = pg_snapshot(&mut session).await?;
                Ok((session, ReadMark::Postgres(snapshot)))
            }
        }
    }
}

async fn pg_snapshot(s: &mut Session) -> Result<PgSnapshot, StoreError> {
    let text: String = s.fetch_one("SELECT pg_current_snapshot()::text", vec![]).await?.get(0)?;
    PgSnapshot::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("unexpected snapshot `{text}`")))
}

impl Session {
    /// Commits like [`Session::commit`] and says which commit it was, for
    /// [`Session::unchanged_since`].
    pub async fn commit_marked(mut self) -> Result<CommitMark, StoreError> {
        match &mut self.conn {
            Conn::Sqlite(c) if c.in_tx => Ok(CommitMark::Sqlite(c.commit().await?)),
            Conn::Sqlite(_) | Conn::PostgresPlain(_) => {
                Err(StoreError::Corrupt("commit_marked outside a write transaction".into()))
            }
            Conn::PostgresTx(_) => {
                let xid: String =
                    self.fetch_one("SELECT pg_current_xact_id()::text", vec![]).await?.get(0)?;
                let xid = xid.parse().map_err(|_| StoreError::Corrupt(format!("transaction id `{xid}`")))?;
                self.commit().await?;
                Ok(CommitMark::Postgres(xid))
            }
        }
    }

    /// Inside a write transaction: whether nothing was committed since `mark` but the commits in
    /// `own` (this writer's). `true` means a read on that snapshot is as good as a read here.
    pub async fn unchanged_since(&mut self, mark: &ReadMark, own: &[CommitMark]) -> Result<bool, StoreError> {
        match mark {
            ReadMark::Sqlite(at) => {
                let Conn::Sqlite(c) = &self.conn else { return Ok(false) };
                let now = c.pool_commits();
                let own_after = own.iter().filter(|m| matches!(m, CommitMark::Sqlite(n) if n > at)).count();
                Ok(now == at + own_after as u64)
            }
            ReadMark::Postgres(then) => {
                if !matches!(self.conn, Conn::PostgresTx(_)) {
                    return Ok(false);
                }
                let now = pg_snapshot(self).await?;
                let own: Vec<u64> = own
                    .iter()
                    .filter_map(|m| if let CommitMark::Postgres(x) = m { Some(*x) } else { None })
                    .collect();
                let Some(ended) = then.unseen_since(&now, &own).filter(|e| e.len() <= MAX_ENDED_LOOKUPS)
                else {
                    return Ok(false);
                };
                // A request that failed after writing got a transaction id and rolled back: it
                // changed nothing.
                for xid in ended {
                    let status: Option<String> = self
                        .fetch_one("SELECT pg_xact_status($1::text::xid8)", vec![xid.to_string().into()])
                        .await?
                        .get(0)?;
                    if status.as_deref() != Some("aborted") {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PgSnapshot;

    fn snap(xmin: u64, xmax: u64, running: &[u64]) -> PgSnapshot {
        PgSnapshot { xmin, xmax, running: running.to_vec() }
    }

    #[test]
    fn snapshots_parse_from_postgres_text() {
        assert_eq!(PgSnapshot::parse("10:12:"), Some(snap(10, 12, &[])));
        assert_eq!(PgSnapshot::parse("10:15:10,13"), Some(snap(10, 15, &[10, 13])));
        assert_eq!(PgSnapshot::parse("10:x:"), None);
        assert_eq!(PgSnapshot::parse("10:12"), None);
        assert_eq!(PgSnapshot::parse("10:12::"), None);
    }

    #[test]
    fn transactions_the_snapshot_missed_are_those_ended_since_and_not_ours() {
        let then = snap(10, 12, &[11]);
        // Nothing started since, 11 still running.
        assert_eq!(then.unseen_since(&snap(11, 12, &[11]), &[]), Some(vec![]));
        // 11 ended since: it may have committed what the snapshot did not see.
        assert_eq!(then.unseen_since(&snap(12, 12, &[]), &[]), Some(vec![11]));
        // 12 and 13 started since: ours (12), still running (13); 14 ended.
        assert_eq!(then.unseen_since(&snap(11, 14, &[11, 13]), &[12]), Some(vec![]));
        assert_eq!(then.unseen_since(&snap(11, 15, &[11, 13]), &[12]), Some(vec![14]));
        assert_eq!(then.unseen_since(&snap(11, 15, &[11, 13]), &[12, 14]), Some(vec![]));
        // Far too many new transactions: not worth listing.
        assert_eq!(then.unseen_since(&snap(11, 5_000, &[11]), &[]), None);
    }
}
