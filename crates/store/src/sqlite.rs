//! SQLite connections, with rusqlite. SQLite is a library, not a server: a call is a function
//! call that may block on the disk (a commit's fsync), so each call runs on tokio's blocking
//! pool with the connection moved in and back out, and a whole result set is read there into
//! owned values. That costs one thread hand-off per statement instead of one per row: reading
//! a contact's timeline for scoring was 3 µs per event through sqlx's row channel (see
//! BENCHMARKS.md).
//!
//! One writer connection (SQLite allows one writer at a time; writers queue here, in-process,
//! instead of colliding on the file lock) and a small pool of read-only readers (WAL lets them
//! read while the writer writes).
//!
//! WAL checkpoints (copying committed pages from the log back into the database file) run on a
//! thread of their own, woken by commits, instead of inside whichever commit crosses SQLite's
//! automatic threshold: that commit, and every writer queued behind it, used to wait for the
//! copy and its fsync (40 % of commit time in batch ingest). The writer keeps an automatic
//! checkpoint far above the usual size only as a bound if this thread cannot keep up.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::driver::{Arg, Gather, SqliteRowRef};
use crate::error::StoreError;

const READERS: usize = 8;
/// Waiting longer than this for the write lock held by another process (the CLI importing while
/// the server runs) is an error, not a hang.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a connection of the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The writer's own automatic checkpoint, in pages (about 80 MiB): a safety bound only, the
/// checkpoint thread normally runs long before.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 20_000;
/// The checkpoint thread waits this long after a commit for more to come, so one copy serves
/// several commits (a page rewritten by each is copied once).
const CHECKPOINT_COALESCE: Duration = Duration::from_millis(100);

/// The connections of one database file.
pub(crate) struct SqlitePool {
    path: PathBuf,
    checkpoints: Arc<Checkpoints>,
    writer: Mutex<Option<Connection>>,
    writer_permits: Arc<Semaphore>,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Arc<Semaphore>,
    open: AtomicU32,
    closed: std::sync::atomic::AtomicBool,
    /// Commits to the file so far: this process's writer counts its own, and a transaction that
    /// finds SQLite's `data_version` moved counts the other processes' (see
    /// [`SqliteConn::begin_write`]). Lets a snapshot reader ask later whether anything was
    /// committed since it started.
    commits: AtomicU64,
    /// `PRAGMA data_version` as the writer last saw it: it changes only with commits by other
    /// connections, and every write of this process goes through that one writer.
    data_version: Mutex<Option<i64>>,
}

/// A connection leased from the pool; given back (rolled back first if a transaction is open)
/// when dropped.
pub(crate) struct SqliteConn {
    conn: Option<Connection>,
    pool: Arc<SqlitePool>,
    writer: bool,
    pub(crate) in_tx: bool,
    /// The connection runs with `synchronous = NORMAL` for a batch transaction; restored to
    /// FULL before it goes back to the pool.
    pub(crate) relaxed: bool,
    _permit: OwnedSemaphorePermit,
}

fn configure(conn: &Connection, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(256);
    // WAL: readers never wait for the writer. synchronous=FULL: a commit is on disk before we
    // answer, so an acknowledged write survives a power cut, not only a crash of the process.
    // 64 MiB of page cache per connection keeps indexes of a million contacts warm.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; \
         PRAGMA temp_store = MEMORY;",
    )?;
    if writer {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}"))?;
    }
    Ok(())
}

/// What the checkpoint thread and the writer share: commits not yet checkpointed, whether the
/// pool closed, and how many checkpoints ran (for tests and curiosity).
#[derive(Default)]
struct Checkpoints {
    state: Mutex<CheckpointState>,
    wake: Condvar,
}

#[derive(Default)]
struct CheckpointState {
    pending: u64,
    closed: bool,
    done: u64,
}

impl Checkpoints {
    fn committed(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.pending += 1;
        self.wake.notify_one();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.wake.notify_one();
    }

    /// Waits for commits to checkpoint; `false` once the pool closed.
    fn wait_for_commits(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while s.pending == 0 && !s.closed {
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        if s.closed {
            return false;
        }
        drop(s);
        std::thread::sleep(CHECKPOINT_COALESCE);
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pending = 0;
        true
    }

    /// Runs on its own thread with its own connection until the pool closes. A PASSIVE
    /// checkpoint never blocks the writer or the readers: it copies what no reader still needs.
    fn run(self: Arc<Self>, path: PathBuf) {
        let conn = match Connection::open(&path).and_then(|c| c.busy_timeout(BUSY_TIMEOUT).map(|()| c)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no WAL checkpoint thread; the writer checkpoints by itself");
                return;
            }
        };
        while self.wait_for_commits() {
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                Ok(()) => self.state.lock().unwrap_or_else(|p| p.into_inner()).done += 1,
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retried after the next commit"),
            }
        }
    }
}

impl SqlitePool {
    /// Opens the file (creating it) with its writer connection; readers open on first use.
    pub(crate) async fn open(path: &Path) -> Result<Arc<SqlitePool>, StoreError> {
        let path = path.to_path_buf();
        let p = path.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let conn = Connection::open(&p).map_err(|e| StoreError::Open(format!("{}: {e}", p.display())))?;
            configure(&conn, true).map_err(|e| StoreError::Open(format!("{}: {e}", p.display())))?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Open(e.to_string()))??;
        let checkpoints = Arc::new(Checkpoints::default());
        let (c, p) = (checkpoints.clone(), path.clone());
        std::thread::Builder::new()
            .name("leadgate-checkpoint".into())
            .spawn(move || c.run(p))
            .map_err(|e| StoreError::Open(format!("cannot start the WAL checkpoint thread: {e}")))?;
        Ok(Arc::new(SqlitePool {
            path,
            checkpoints,
            writer: Mutex::new(Some(writer)),
            writer_permits: Arc::new(Semaphore::new(1)),
            readers: Mutex::new(Vec::new()),
            reader_permits: Arc::new(Semaphore::new(READERS)),
            open: AtomicU32::new(1),
            closed: std::sync::atomic::AtomicBool::new(false),
            commits: AtomicU64::new(0),
            data_version: Mutex::new(None),
        }))
    }

    /// Leases the writer (waiting for it) or a reader.
    pub(crate) async fn acquire(self: &Arc<Self>, writer: bool) -> Result<SqliteConn, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the database is closed".into()));
        }
        let permits = if writer { &self.writer_permits } else { &self.reader_permits };
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, permits.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("timed out waiting for a database connection".into()))?
            .map_err(|_| StoreError::Unavailable("the database is closed".into()))?;
        let pooled = if writer {
            self.writer.lock().unwrap_or_else(|p| p.into_inner()).take()
        } else {
            self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop()
        };
        let conn = match pooled {
            Some(c) => c,
            None => {
                let path = self.path.clone();
                let conn = tokio::task::spawn_blocking(move || -> rusqlite::Result<Connection> {
                    let conn = if writer {
                        Connection::open(&path)?
                    } else {
                        Connection::open_with_flags(
                            &path,
                            OpenFlags::SQLITE_OPEN_READ_ONLY
                                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                                | OpenFlags::SQLITE_OPEN_URI,
                        )?
                    };
                    configure(&conn, writer)?;
                    Ok(conn)
                })
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
                self.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(SqliteConn {
            conn: Some(conn),
            pool: self.clone(),
            writer,
            in_tx: false,
            relaxed: false,
            _permit: permit,
        })
    }

    pub(crate) fn stats(&self) -> (u32, u32) {
        let idle = self.readers.lock().map(|r| r.len()).unwrap_or(0)
            + usize::from(self.writer.lock().map(|w| w.is_some()).unwrap_or(false));
        (self.open.load(Ordering::Relaxed), idle as u32)
    }

    /// Commits counted so far (see [`SqlitePool::commits`]).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Checkpoints run by the background thread so far.
    pub(crate) fn checkpoints_done(&self) -> u64 {
        self.checkpoints.state.lock().unwrap_or_else(|p| p.into_inner()).done
    }

    /// Closes idle connections and refuses new leases; leased ones close when given back.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.checkpoints.close();
        let closed = self.readers.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        let n = closed.len() + usize::from(writer.is_some());
        drop(closed);
        drop(writer);
        self.open.fetch_sub(n as u32, Ordering::Relaxed);
    }
}

impl Drop for SqlitePool {
    fn drop(&mut self) {
        // Stops the checkpoint thread when the store goes away without `close`.
        self.checkpoints.close();
    }
}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            // Lost with a cancelled call: the blocking task closed it.
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
            return;
        };
        if self.in_tx {
            // A session dropped without commit rolls back, as a transaction must. A rollback in
            // WAL mode writes nothing, so doing it here is quick.
            let _ = conn.execute_batch("ROLLBACK");
        }
        if self.relaxed {
            let _ = conn.execute_batch("PRAGMA synchronous = FULL");
        }
        if self.pool.closed.load(Ordering::Acquire) {
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        if self.writer {
            *self.pool.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        } else {
            self.pool.readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        }
    }
}

/// The result of one statement.
pub(crate) enum Outcome {
    Changed(u64),
    Rows(Vec<Vec<Value>>),
}

impl SqliteConn {
    /// Runs `work` with the connection on tokio's blocking pool, the connection moved there and
    /// back (a call may block on the disk). If the task is lost, so is the connection.
    async fn on_blocking<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.take().ok_or_else(|| StoreError::Unavailable("connection lost".into()))?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = work(&conn);
            (conn, result)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database call failed: {e}")))?;
        self.conn = Some(conn);
        Ok(result)
    }

    /// Runs one statement on the blocking pool: `rows` says whether to collect result rows.
    pub(crate) async fn run(
        &mut self,
        sql: String,
        args: Vec<Arg>,
        rows: bool,
    ) -> Result<Outcome, StoreError> {
        Ok(self.on_blocking(move |conn| run_statement(conn, &sql, &args, rows)).await??)
    }

    /// Runs a query on the blocking pool, decoding its rows there with `D`.
    pub(crate) async fn run_gathered<G: Gather>(
        &mut self,
        sql: String,
        args: Vec<Arg>,
        into: G,
    ) -> Result<G, StoreError> {
        self.on_blocking(move |conn| run_gathered(conn, &sql, &args, into)).await?
    }

    /// Starts a write transaction on the writer (`relaxed`: without waiting for the disk at
    /// commit), taking the write lock at once. Counts the commits other processes made since the
    /// writer's previous transaction, which SQLite reports as a change of `data_version`.
    pub(crate) async fn begin_write(&mut self, relaxed: bool) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.relaxed |= relaxed;
        self.on_blocking(move |conn| -> rusqlite::Result<()> {
            conn.execute_batch(if relaxed {
                "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE"
            } else {
                "BEGIN IMMEDIATE"
            })?;
            let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            let mut seen = pool.data_version.lock().unwrap_or_else(|p| p.into_inner());
            if seen.is_some_and(|v| v != version) {
                pool.commits.fetch_add(1, Ordering::SeqCst);
            }
            *seen = Some(version);
            Ok(())
        })
        .await??;
        self.in_tx = true;
        Ok(())
    }

    /// The pool's count of commits (see [`SqlitePool::commits`]).
    pub(crate) fn pool_commits(&self) -> u64 {
        self.pool.commits()
    }

    /// Starts a read transaction on a reader: every statement until it ends sees the data as
    /// committed when the first one ran.
    pub(crate) async fn begin_read(&mut self) -> Result<(), StoreError> {
        self.batch("BEGIN".into()).await?;
        self.in_tx = true;
        // SQLite takes the snapshot at the first read, not at BEGIN: read now.
        self.run("SELECT 1 FROM sqlite_master LIMIT 1".into(), Vec::new(), true).await?;
        Ok(())
    }

    /// Commits the open transaction, then lets the checkpoint thread know. Returns the commit's
    /// number in [`SqlitePool::commits`] (0 for a reader, which commits nothing).
    pub(crate) async fn commit(&mut self) -> Result<u64, StoreError> {
        self.batch("COMMIT".into()).await?;
        self.in_tx = false;
        if !self.writer {
            return Ok(0);
        }
        self.pool.checkpoints.committed();
        Ok(self.pool.commits.fetch_add(1, Ordering::SeqCst) + 1)
    }

    pub(crate) async fn batch(&mut self, sql: String) -> Result<(), StoreError> {
        Ok(self.on_blocking(move |conn| conn.execute_batch(&sql)).await??)
    }
}

/// Runs a query and gathers each row in place with `G` (see [`crate::Session::fetch_gathered`]).
fn run_gathered<G: Gather>(conn: &Connection, sql: &str, args: &[Arg], mut out: G) -> Result<G, StoreError> {
    let mut stmt = bound(conn, sql, args)?;
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next()? {
        out.gather(&SqliteRowRef(row))?;
    }
    Ok(out)
}

/// The statement for `sql` (from the connection's cache) with `args` bound.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Arg],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, a) in args.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, a)?;
    }
    Ok(stmt)
}

fn run_statement(conn: &Connection, sql: &str, args: &[Arg], rows: bool) -> rusqlite::Result<Outcome> {
    let mut stmt = bound(conn, sql, args)?;
    if !rows && stmt.column_count() == 0 {
        return Ok(Outcome::Changed(stmt.raw_execute()? as u64));
    }
    let columns = stmt.column_count();
    let mut out = Vec::new();
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next()? {
        let mut values = Vec::with_capacity(columns);
        for c in 0..columns {
            values.push(owned(row.get_ref(c)?));
        }
        out.push(values);
    }
    Ok(if rows { Outcome::Rows(out) } else { Outcome::Changed(conn.changes()) })
}

fn owned(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        // We only ever write UTF-8; a stray invalid byte (a hand-edited file) is replaced, not fatal.
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Arg::I64(Some(v)) => ToSqlOutput::Owned(Value::Integer(*v)),
            Arg::F64(Some(v)) => ToSqlOutput::Owned(Value::Real(*v)),
            Arg::Bool(Some(v)) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::Uuid(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v.as_bytes())),
            Arg::Bytes(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            _ => ToSqlOutput::Owned(Value::Null),
        })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(err, msg) = &e {
            let msg = msg.clone().unwrap_or_default();
            match err.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Conflict { field: crate::error::unique_field(None, &msg) };
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::MissingReference,
                _ => {}
            }
            if matches!(err.code, ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked) {
                return StoreError::Unavailable(format!("the database is busy: {msg}"));
            }
            if err.code == ffi::ErrorCode::DiskFull {
                return StoreError::DiskFull(format!("{e}"));
            }
            if matches!(err.code, ffi::ErrorCode::CannotOpen | ffi::ErrorCode::ReadOnly) {
                return StoreError::Unavailable(format!("{e}"));
            }
        }
        StoreError::Sqlite(e.to_string())
    }
}
