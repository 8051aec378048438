//! Schema migrations: versioned, forward-only, embedded in the binary and applied at start. Each
//! version has one script per dialect (`migrations/sqlite`, `migrations/postgres`); both must
//! produce the same logical schema, which the shared storage test suite checks by running every
//! test on both.

use jiff::Timestamp;

use crate::driver::{Dialect, Session, args};
use crate::error::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "scoring",
        sqlite: include_str!("../migrations/sqlite/0002_scoring.sql"),
        postgres: include_str!("../migrations/postgres/0002_scoring.sql"),
    },
    Migration {
        version: 3,
        name: "capture",
        sqlite: include_str!("../migrations/sqlite/0003_capture.sql"),
        postgres: include_str!("../migrations/postgres/0003_capture.sql"),
    },
    Migration {
        version: 4,
        name: "forms",
        sqlite: include_str!("../migrations/sqlite/0004_forms.sql"),
        postgres: include_str!("../migrations/postgres/0004_forms.sql"),
    },
    Migration {
        version: 5,
        name: "models",
        sqlite: include_str!("../migrations/sqlite/0005_models.sql"),
        postgres: include_str!("../migrations/postgres/0005_models.sql"),
    },
    Migration {
        version: 6,
        name: "handoff",
        sqlite: include_str!("../migrations/sqlite/0006_handoff.sql"),
        postgres: include_str!("../migrations/postgres/0006_handoff.sql"),
    },
    Migration {
        version: 7,
        name: "web",
        sqlite: include_str!("../migrations/sqlite/0007_web.sql"),
        postgres: include_str!("../migrations/postgres/0007_web.sql"),
    },
];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every missing migration inside `tx`, which must be a write transaction. On PostgreSQL
/// an advisory lock makes servers that start together migrate one after the other.
pub(crate) async fn run(tx: &mut Session, now: Timestamp) -> Result<Vec<i64>, StoreError> {
    if tx.dialect() == Dialect::Postgres {
        // Any constant works; this one spells "leadgate" in ASCII.
        tx.execute("SELECT pg_advisory_xact_lock(7813306843574985829)", vec![]).await?;
    }
    tx.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    let current: Option<i64> =
        tx.fetch_one("SELECT MAX(version) FROM schema_migrations", vec![]).await?.get(0)?;
    let current = current.unwrap_or(0);
    if current > latest_version() {
        return Err(StoreError::SchemaTooNew { found: current, known: latest_version() });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let script = match tx.dialect() {
            Dialect::Sqlite => m.sqlite,
            Dialect::Postgres => m.postgres,
        };
        tracing::info!(version = m.version, name = m.name, "applying database migration");
        tx.execute_script(script).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            args![m.version, m.name, now],
        )
        .await?;
        applied.push(m.version);
    }
    Ok(applied)
}
