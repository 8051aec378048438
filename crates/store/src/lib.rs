//! Leadgate storage: one interface over SQLite (the zero-configuration default) and PostgreSQL
//! (for several servers sharing one database), with embedded migrations and the job queue.
//!
//! The interface is [`Store`] (open, begin a write transaction, open a read session) and the
//! methods on [`Session`], grouped by entity in the modules below. Queries are written once;
//! [`driver`] confines the differences between the two databases. The store translates between
//! rows and domain types and makes no business decision: what to write is decided by the domain
//! core and the application layer.

pub mod analytics;
pub mod capture;
pub mod companies;
pub mod contacts;
pub mod cursor;
pub mod driver;
pub mod error;
pub mod events;
pub mod fields;
pub mod handoff;
pub mod idempotency;
pub mod imports;
pub mod jobs;
mod migrate;
pub mod models;
pub mod nurture;
pub mod pipeline;
pub mod privacy;
pub mod scoring;
pub mod snapshot;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;
pub mod web;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use driver::{Dialect, Session};
pub use error::StoreError;
pub use migrate::latest_version;
pub use snapshot::{CommitMark, ReadMark};

use driver::Conn;

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// A SQLite database file (created if missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL database, by URL (`postgres://user:pass@host:5432/db`).
    Postgres { url: String },
}

impl std::fmt::Debug for StoreConfig {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Sqlite { path } => write!(f, "Sqlite({})", path.display()),
            StoreConfig::Postgres { url } => write!(f, "Postgres({})", redact_url(url)),
        }
    }
}

/// A database URL with its password replaced by `***`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Clone)]
enum Pools {
    // One writer, several readers: see `sqlite.rs`.
    Sqlite(std::sync::Arc<sqlite::SqlitePool>),
    Postgres(PgPool),
}

/// Connection-pool figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
}

/// The storage of one workspace. Cheap to clone (it is a handle on connection pools).
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// Whether the disk was last found full, for `/healthz`.
    health: std::sync::Arc<driver::DiskHealth>,
}

/// Creates the data directory readable by its owner only (it holds personal data).
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            return std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates the SQLite file readable and writable by its owner only before SQLite opens it (it
/// would create it 0644 less the umask), and tightens the database, log and shared-memory
/// files of an older install: they hold every contact. SQLite gives its `-wal` and `-shm` files
/// the database file's mode.
fn private_files(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(m) = std::fs::metadata(&p)
                && m.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Store {
    /// Opens (creating it if needed) and migrates the database.
    pub async fn open(config: &StoreConfig, now: Timestamp) -> Result<Store, StoreError> {
        let pools = match config {
            StoreConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    private_dir(dir).map_err(|e| {
                        StoreError::Open(format!("cannot create the data directory {}: {e}", dir.display()))
                    })?;
                }
                private_files(path)
                    .map_err(|e| StoreError::Open(format!("cannot create {}: {e}", path.display())))?;
                Pools::Sqlite(sqlite::SqlitePool::open(path).await?)
            }
            StoreConfig::Postgres { url } => {
                let options = PgConnectOptions::from_str(url).map_err(|e| {
                    StoreError::Open(format!("`{}` is not a valid PostgreSQL URL: {e}", redact_url(url)))
                })?;
                let defaults = session_defaults(options.get_options());
                let options = options.options(defaults);
                // One direct attempt first: a wrong host or password is reported at once instead of
                // after the pool's acquire timeout.
                let probe = sqlx::postgres::PgConnection::connect_with(&options)
                    .await
                    .map_err(|e| StoreError::Open(format!("{}: {e}", redact_url(url))))?;
                probe.close().await.ok();
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Open(format!("{}: {e}", redact_url(url))))?;
                Pools::Postgres(pool)
            }
        };
        let store = Store { pools, health: Default::default() };
        let mut tx = store.begin().await?;
        migrate::run(&mut tx, now).await?;
        tx.commit().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite(_) => Dialect::Sqlite,
            Pools::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads then writes never fails half-way on a lock held by
    /// another process (the CLI importing while the server runs).
    pub async fn begin(&self) -> Result<Session, StoreError> {
        let conn = match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.acquire(true).await?;
                conn.begin_write(false).await?;
                Conn::Sqlite(conn)
            }
            Pools::Postgres(pool) => Conn::PostgresTx(pool.begin().await?),
        };
        Ok(Session { conn, health: self.health.clone(), wrote: false })
    }

    /// Starts a write transaction for background batch work whose progress is recorded in the
    /// same transaction (a job chunk and its checkpoint). Its commit does not wait for the disk
    /// (SQLite `synchronous = NORMAL`, PostgreSQL `synchronous_commit = off`): a power cut can
    /// lose the last chunks, and with them the checkpoint, so the job redoes exactly those. Never
    /// use it for writes acknowledged to a client.
    pub async fn begin_batch(&self) -> Result<Session, StoreError> {
        let conn = match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.acquire(true).await?;
                conn.begin_write(true).await?;
                Conn::Sqlite(conn)
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
                Conn::PostgresTx(tx)
            }
        };
        Ok(Session { conn, health: self.health.clone(), wrote: false })
    }

    /// Opens a read session (no transaction: each statement sees the latest committed data).
    pub async fn read(&self) -> Result<Session, StoreError> {
        let conn = match &self.pools {
            Pools::Sqlite(pool) => Conn::Sqlite(pool.acquire(false).await?),
            Pools::Postgres(pool) => Conn::PostgresPlain(pool.acquire().await?),
        };
        Ok(Session { conn, health: self.health.clone(), wrote: false })
    }

    /// The planner's estimate of a table's rows (PostgreSQL; 0 before the table was ever
    /// analyzed, and always 0 on SQLite, which plans from its indexes alone).
    pub async fn estimated_rows(&self, table: &'static str) -> Result<u64, StoreError> {
        let Pools::Postgres(_) = &self.pools else { return Ok(0) };
        let mut s = self.read().await?;
        let rows: i64 = s
            .fetch_one(
                "SELECT GREATEST(reltuples, 0)::BIGINT FROM pg_class WHERE oid = to_regclass($1)",
                vec![driver::Arg::from(table)],
            )
            .await?
            .get(0)?;
        Ok(u64::try_from(rows).unwrap_or(0))
    }

    /// Refreshes the planner's statistics of `tables` (PostgreSQL `ANALYZE`, which also makes
    /// cached plans of statements on them be planned again; nothing to do on SQLite).
    pub async fn refresh_statistics(&self, tables: &[&'static str]) -> Result<(), StoreError> {
        let Pools::Postgres(_) = &self.pools else { return Ok(()) };
        let mut s = self.read().await?;
        s.execute(&format!("ANALYZE {}", tables.join(", ")), vec![]).await?;
        Ok(())
    }

    /// Checks that the database answers (for `/healthz`).
    /// Since when, and the database's words, if the disk holding the database was last found
    /// full (nothing written since).
    pub fn disk_full(&self) -> Option<(Timestamp, String)> {
        self.health.full_since()
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut s = self.read().await?;
        s.fetch_one("SELECT 1", vec![]).await?;
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        match &self.pools {
            Pools::Sqlite(pool) => {
                let (connections, idle) = pool.stats();
                PoolStats { connections, idle }
            }
            Pools::Postgres(pool) => PoolStats { connections: pool.size(), idle: pool.num_idle() as u32 },
        }
    }

    /// How many WAL checkpoints SQLite's background thread has run (`None` on PostgreSQL).
    pub fn wal_checkpoints(&self) -> Option<u64> {
        match &self.pools {
            Pools::Sqlite(pool) => Some(pool.checkpoints_done()),
            Pools::Postgres(_) => None,
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    /// Writes a consistent copy of a SQLite database to `path` (a new file) while servers keep
    /// working: `VACUUM INTO` reads one snapshot, so the copy is what was committed at one
    /// instant, compacted. PostgreSQL is copied with `pg_dump` instead (see the README).
    pub async fn backup_sqlite(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let Pools::Sqlite(_) = &self.pools else {
            return Err(StoreError::Corrupt("a PostgreSQL database is copied with pg_dump".into()));
        };
        let target =
            path.to_str().ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".into()))?;
        self.read().await?.execute("VACUUM INTO $1", driver::args![target]).await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite(pool) => pool.close(),
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Settings for Leadgate's PostgreSQL sessions, unless the URL's `options` set them already.
///
/// Leadgate runs many short statements side by side, and bulk jobs in chunks of ten thousand
/// rows. For those, PostgreSQL's defaults cost more than they give: past `jit_above_cost` (a
/// chunk's read passes it) it compiles the plan and loads LLVM in every process running it; and a
/// parallel plan starts worker processes for each statement, on cores the other sessions are
/// using. Measured on the full rescore (BENCHMARKS.md): 10.5 s → 8.1 s for 300,000 contacts.
fn session_defaults(url_options: Option<&str>) -> Vec<(&'static str, &'static str)> {
    const DEFAULTS: [(&str, &str); 2] = [("jit", "off"), ("max_parallel_workers_per_gather", "0")];
    let given = url_options.unwrap_or_default();
    DEFAULTS.into_iter().filter(|(name, _)| !given.contains(&format!("{name}="))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://lg:s3cret@db:5432/x"), "postgres://lg:***@db:5432/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_url("postgres://lg@db/x"), "postgres://lg@db/x");
    }

    #[test]
    fn session_defaults_leave_what_the_url_sets() {
        assert_eq!(session_defaults(None), vec![("jit", "off"), ("max_parallel_workers_per_gather", "0")]);
        assert_eq!(session_defaults(Some("-c jit=on")), vec![("max_parallel_workers_per_gather", "0")]);
        assert!(session_defaults(Some("-c max_parallel_workers_per_gather=4 -c jit=on")).is_empty());
    }
}
