//! Throwaway databases for tests, on both backends (feature `testing`). Every storage test runs
//! on SQLite (a fresh file) and on PostgreSQL (a fresh database on the server named by
//! `LEADGATE_TEST_POSTGRES_URL`, which `scripts/test` starts). A PostgreSQL test without that
//! variable fails with instructions rather than passing silently.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::{Store, StoreConfig};

/// The variable holding the URL of a PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "LEADGATE_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database, removed by [`TestDb::cleanup`] (or left behind for inspection if
/// the test panicked first).
pub struct TestDb {
    pub backend: Backend,
    pub config: StoreConfig,
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "lg_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_microsecond() % 1_000_000_000
    )
}

/// The PostgreSQL server URL for tests, or a panic that says how to get one.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server. Run the whole suite with \
             `scripts/test` (it starts a throwaway PostgreSQL), or point {POSTGRES_URL_VAR} at a server \
             where tests may create databases (e.g. postgres://postgres@127.0.0.1:5432/postgres)."
        )
    })
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        let config = StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") };
        let store = Store::open(&config, jiff::Timestamp::now()).await.expect("open a SQLite test database");
        TestDb { backend: Backend::Sqlite, config, store, cleanup: Cleanup::Dir(dir) }
    }

    pub async fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let name = unique_name();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {POSTGRES_URL_VAR}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        admin.close().await.ok();
        let url = options_to_url(&admin_url, &name);
        let config = StoreConfig::Postgres { url };
        let store =
            Store::open(&config, jiff::Timestamp::now()).await.expect("open a PostgreSQL test database");
        TestDb { backend: Backend::Postgres, config, store, cleanup: Cleanup::Database { admin_url, name } }
    }

    /// Closes the store and removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            }
        }
    }
}

/// An empty PostgreSQL database (no schema), for tests of what fills one (a restore).
pub struct EmptyPostgres {
    pub url: String,
    admin_url: String,
    name: String,
}

impl EmptyPostgres {
    pub async fn create() -> EmptyPostgres {
        let admin_url = postgres_admin_url();
        let name = unique_name();
        let mut admin = PgConnection::connect(&admin_url).await.expect("reach the test PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        admin.close().await.ok();
        EmptyPostgres { url: options_to_url(&admin_url, &name), admin_url, name }
    }

    pub async fn cleanup(self) {
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
        }
    }
}

/// Every row of every table of a database, as (table, the row as lower-case text), blobs and
/// byte strings as hexadecimal: what tests scan for a person's data, or compare between a
/// database and its restored backup.
pub async fn every_row(store: &Store) -> Vec<(String, String)> {
    let mut s = store.read().await.expect("read the database");
    let mut rows = Vec::new();
    match store.dialect() {
        crate::Dialect::Sqlite => {
            let tables = s
                .fetch_all(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                    vec![],
                )
                .await
                .expect("list tables");
            for table in tables {
                let table: String = table.get(0).expect("a name");
                let columns = s
                    .fetch_all(&format!("SELECT name FROM pragma_table_info('{table}')"), vec![])
                    .await
                    .expect("list columns");
                let cells: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        let c: String = c.get(0).expect("a name");
                        format!("COALESCE(CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE CAST(\"{c}\" AS TEXT) END, '')")
                    })
                    .collect();
                let sql = format!("SELECT {} FROM \"{table}\"", cells.join(" || '|' || "));
                for r in s.fetch_all(&sql, vec![]).await.expect("read a table") {
                    rows.push((table.clone(), r.get::<String>(0).expect("text").to_lowercase()));
                }
            }
        }
        crate::Dialect::Postgres => {
            let tables = s
                .fetch_all(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                    vec![],
                )
                .await
                .expect("list tables");
            for table in tables {
                let table: String = table.get(0).expect("a name");
                for r in s
                    .fetch_all(&format!("SELECT t::text FROM \"{table}\" t"), vec![])
                    .await
                    .expect("read a table")
                {
                    rows.push((table.clone(), r.get::<String>(0).expect("text").to_lowercase()));
                }
            }
        }
    }
    rows
}

/// The admin URL with its database replaced by `name`.
fn options_to_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let without_db = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{without_db}/{name}?{q}"),
        None => format!("{without_db}/{name}"),
    }
}

/// Defines each test twice, as `<name>::sqlite` and `<name>::postgres`, with `$store` bound to a
/// fresh [`Store`](crate::Store) (and `$db` to its [`TestDb`] when given).
#[macro_export]
macro_rules! storage_tests {
    ($(async fn $name:ident($store:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::testing::Backend::Sqlite).await;
                let $store = db.store.clone();
                $body;
                db.cleanup().await;
            }
            #[tokio::test]
            async fn postgres() {
                let db = $crate::testing::TestDb::new($crate::testing::Backend::Postgres).await;
                let $store = db.store.clone();
                $body;
                db.cleanup().await;
            }
        }
    )*};
}
