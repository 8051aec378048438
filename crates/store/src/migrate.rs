//! Schema migrations: versioned, forward-only, embedded in the binary and applied at start. Each
//! version has one script per dialect (`migrations/sqlite`, `migrations/postgres`); both must
//! produce the same logical schema, which the shared storage test suite checks by running every
//! test on both.

use jiff::Timestamp;

use crate::driver::{Arg, Dialect, Session, args};
use crate::error::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Work SQL cannot do, run in the same transaction right after the script.
    then: Option<Step>,
}

/// A migration's work in Rust.
#[derive(Clone, Copy)]
enum Step {
    /// Writes the folded keys of names and search texts (`core::text::fold`) of stored rows.
    FoldTextKeys,
    /// Records the contact each stored webhook message is about, read from its payload.
    DeliveryContacts,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
        then: None,
    },
    Migration {
        version: 2,
        name: "scoring",
        sqlite: include_str!("../migrations/sqlite/0002_scoring.sql"),
        postgres: include_str!("../migrations/postgres/0002_scoring.sql"),
        then: None,
    },
    Migration {
        version: 3,
        name: "capture",
        sqlite: include_str!("../migrations/sqlite/0003_capture.sql"),
        postgres: include_str!("../migrations/postgres/0003_capture.sql"),
        then: None,
    },
    Migration {
        version: 4,
        name: "forms",
        sqlite: include_str!("../migrations/sqlite/0004_forms.sql"),
        postgres: include_str!("../migrations/postgres/0004_forms.sql"),
        then: None,
    },
    Migration {
        version: 5,
        name: "models",
        sqlite: include_str!("../migrations/sqlite/0005_models.sql"),
        postgres: include_str!("../migrations/postgres/0005_models.sql"),
        then: None,
    },
    Migration {
        version: 6,
        name: "handoff",
        sqlite: include_str!("../migrations/sqlite/0006_handoff.sql"),
        postgres: include_str!("../migrations/postgres/0006_handoff.sql"),
        then: None,
    },
    Migration {
        version: 7,
        name: "web",
        sqlite: include_str!("../migrations/sqlite/0007_web.sql"),
        postgres: include_str!("../migrations/postgres/0007_web.sql"),
        then: None,
    },
    Migration {
        version: 8,
        name: "clustered timeline",
        sqlite: include_str!("../migrations/sqlite/0008_clustered_timeline.sql"),
        postgres: include_str!("../migrations/postgres/0008_clustered_timeline.sql"),
        then: None,
    },
    Migration {
        version: 9,
        name: "contact scores",
        sqlite: include_str!("../migrations/sqlite/0009_contact_scores.sql"),
        postgres: include_str!("../migrations/postgres/0009_contact_scores.sql"),
        then: None,
    },
    Migration {
        version: 10,
        name: "contact search",
        sqlite: include_str!("../migrations/sqlite/0010_contact_search.sql"),
        postgres: include_str!("../migrations/postgres/0010_contact_search.sql"),
        then: None,
    },
    Migration {
        version: 11,
        name: "text keys",
        sqlite: include_str!("../migrations/sqlite/0011_text_keys.sql"),
        postgres: include_str!("../migrations/postgres/0011_text_keys.sql"),
        then: Some(Step::FoldTextKeys),
    },
    Migration {
        version: 12,
        name: "handoff ownership",
        sqlite: include_str!("../migrations/sqlite/0012_handoff_ownership.sql"),
        postgres: include_str!("../migrations/postgres/0012_handoff_ownership.sql"),
        then: None,
    },
    Migration {
        version: 13,
        name: "import baselines",
        sqlite: include_str!("../migrations/sqlite/0013_import_baselines.sql"),
        postgres: include_str!("../migrations/postgres/0013_import_baselines.sql"),
        then: None,
    },
    Migration {
        version: 14,
        name: "delivery contacts",
        sqlite: include_str!("../migrations/sqlite/0014_delivery_contacts.sql"),
        postgres: include_str!("../migrations/postgres/0014_delivery_contacts.sql"),
        then: Some(Step::DeliveryContacts),
    },
    Migration {
        version: 15,
        name: "parked jobs",
        sqlite: include_str!("../migrations/sqlite/0015_parked_jobs.sql"),
        postgres: include_str!("../migrations/postgres/0015_parked_jobs.sql"),
        then: None,
    },
    Migration {
        version: 16,
        name: "request keys",
        sqlite: include_str!("../migrations/sqlite/0016_request_keys.sql"),
        postgres: include_str!("../migrations/postgres/0016_request_keys.sql"),
        then: None,
    },
    Migration {
        version: 17,
        name: "sign-in failures",
        sqlite: include_str!("../migrations/sqlite/0017_sign_in_failures.sql"),
        postgres: include_str!("../migrations/postgres/0017_sign_in_failures.sql"),
        then: None,
    },
    Migration {
        version: 18,
        name: "form abuse",
        sqlite: include_str!("../migrations/sqlite/0018_form_abuse.sql"),
        postgres: include_str!("../migrations/postgres/0018_form_abuse.sql"),
        then: None,
    },
    Migration {
        version: 19,
        name: "pipeline",
        sqlite: include_str!("../migrations/sqlite/0019_pipeline.sql"),
        postgres: include_str!("../migrations/postgres/0019_pipeline.sql"),
        then: None,
    },
    Migration {
        version: 20,
        name: "funnel reach",
        sqlite: include_str!("../migrations/sqlite/0020_funnel_reach.sql"),
        postgres: include_str!("../migrations/postgres/0020_funnel_reach.sql"),
        then: None,
    },
    Migration {
        version: 21,
        name: "deal models",
        sqlite: include_str!("../migrations/sqlite/0021_deal_models.sql"),
        postgres: include_str!("../migrations/postgres/0021_deal_models.sql"),
        then: None,
    },
    Migration {
        version: 22,
        name: "funnel index",
        sqlite: include_str!("../migrations/sqlite/0022_funnel_index.sql"),
        postgres: include_str!("../migrations/postgres/0022_funnel_index.sql"),
        then: None,
    },
    Migration {
        version: 23,
        name: "buying roles",
        sqlite: include_str!("../migrations/sqlite/0023_buying_roles.sql"),
        postgres: include_str!("../migrations/postgres/0023_buying_roles.sql"),
        then: None,
    },
    Migration {
        version: 24,
        name: "stage stays",
        sqlite: include_str!("../migrations/sqlite/0024_stage_stays.sql"),
        postgres: include_str!("../migrations/postgres/0024_stage_stays.sql"),
        then: None,
    },
    Migration {
        version: 25,
        name: "personal data",
        sqlite: include_str!("../migrations/sqlite/0025_personal_data.sql"),
        postgres: include_str!("../migrations/postgres/0025_personal_data.sql"),
        then: None,
    },
    Migration {
        version: 26,
        name: "contact notes",
        sqlite: include_str!("../migrations/sqlite/0026_contact_notes.sql"),
        postgres: include_str!("../migrations/postgres/0026_contact_notes.sql"),
        then: None,
    },
    Migration {
        version: 27,
        name: "nurture",
        sqlite: include_str!("../migrations/sqlite/0027_nurture.sql"),
        postgres: include_str!("../migrations/postgres/0027_nurture.sql"),
        then: None,
    },
    Migration {
        version: 28,
        name: "send rates",
        sqlite: include_str!("../migrations/sqlite/0028_send_rates.sql"),
        postgres: include_str!("../migrations/postgres/0028_send_rates.sql"),
        then: None,
    },
    Migration {
        version: 29,
        name: "step unsubscribes",
        sqlite: include_str!("../migrations/sqlite/0029_step_unsubscribes.sql"),
        postgres: include_str!("../migrations/postgres/0029_step_unsubscribes.sql"),
        then: None,
    },
    Migration {
        version: 30,
        name: "deal cycle",
        sqlite: include_str!("../migrations/sqlite/0030_deal_cycle.sql"),
        postgres: include_str!("../migrations/postgres/0030_deal_cycle.sql"),
        then: None,
    },
    Migration {
        version: 31,
        name: "user time zone",
        sqlite: include_str!("../migrations/sqlite/0031_user_time_zone.sql"),
        postgres: include_str!("../migrations/postgres/0031_user_time_zone.sql"),
        then: None,
    },
    Migration {
        version: 32,
        name: "temperature days",
        sqlite: include_str!("../migrations/sqlite/0032_temperature_days.sql"),
        postgres: include_str!("../migrations/postgres/0032_temperature_days.sql"),
        then: None,
    },
    Migration {
        version: 33,
        name: "agreement comment",
        sqlite: include_str!("../migrations/sqlite/0033_agreement_comment.sql"),
        postgres: include_str!("../migrations/postgres/0033_agreement_comment.sql"),
        then: None,
    },
    Migration {
        version: 34,
        name: "saved view members",
        sqlite: include_str!("../migrations/sqlite/0034_saved_view_members.sql"),
        postgres: include_str!("../migrations/postgres/0034_saved_view_members.sql"),
        then: None,
    },
    Migration {
        version: 35,
        name: "inbox sort indexes",
        sqlite: include_str!("../migrations/sqlite/0035_inbox_sort_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0035_inbox_sort_indexes.sql"),
        then: None,
    },
];

/// An in-memory SQLite database with every migration's script applied (for tests of plans).
#[cfg(test)]
pub(crate) fn sqlite_schema() -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().expect("an in-memory database");
    for m in MIGRATIONS {
        db.execute_batch(m.sqlite).expect("every migration applies");
    }
    db
}

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
        match m.then {
            Some(Step::FoldTextKeys) => fold_text_keys(tx).await?,
            Some(Step::DeliveryContacts) => delivery_contacts(tx).await?,
            None => {}
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            args![m.version, m.name, now],
        )
        .await?;
        applied.push(m.version);
    }
    Ok(applied)
}

/// Rewrites, from the stored names, every company's name key and search text and every
/// contact's search text, a page of rows at a time through a temporary table (one `UPDATE …
/// FROM` a page instead of a statement a row).
async fn fold_text_keys(tx: &mut Session) -> Result<(), StoreError> {
    use leadgate_core::text::{fold, search_text};
    let uuid = match tx.dialect() {
        Dialect::Sqlite => "BLOB",
        Dialect::Postgres => "UUID",
    };
    tx.execute_script(&format!(
        "CREATE TEMPORARY TABLE folded_keys (id {uuid} PRIMARY KEY, name_key TEXT, search_text TEXT NOT NULL)"
    ))
    .await?;
    const PAGE: i64 = 10_000;
    for (select, update) in [
        (
            "SELECT id, name, domain, NULL FROM companies WHERE id > $1 ORDER BY id LIMIT $2",
            "UPDATE companies SET name_key = f.name_key, search_text = f.search_text FROM folded_keys f \
             WHERE companies.id = f.id",
        ),
        (
            "SELECT id, first_name, last_name, email FROM contacts WHERE id > $1 ORDER BY id LIMIT $2",
            "UPDATE contacts SET search_text = f.search_text FROM folded_keys f WHERE contacts.id = f.id",
        ),
    ] {
        let companies = select.contains("companies");
        let mut after = uuid::Uuid::nil();
        loop {
            let rows = tx.fetch_all(select, args![after, PAGE]).await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0)?;
            let mut folded = Vec::with_capacity(rows.len());
            for r in &rows {
                let (a, b, c): (Option<String>, Option<String>, Option<String>) =
                    (r.get(1)?, r.get(2)?, r.get(3)?);
                let name_key = companies.then(|| fold(a.as_deref().unwrap_or_default()));
                let text = search_text([a.as_deref(), b.as_deref(), c.as_deref()]);
                folded.push(vec![Arg::from(r.get::<uuid::Uuid>(0)?), Arg::from(name_key), Arg::from(text)]);
            }
            tx.insert_rows("INSERT INTO folded_keys (id, name_key, search_text)", 3, folded, "").await?;
            tx.execute(update, vec![]).await?;
            tx.execute("DELETE FROM folded_keys", vec![]).await?;
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
    }
    tx.execute_script("DROP TABLE folded_keys").await?;
    Ok(())
}

/// The contact a stored webhook message is about, from where each message type puts it.
fn contact_of_payload(payload: &str) -> Option<uuid::Uuid> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let data = &v["data"];
    [
        &data["contact"]["id"],
        &data["contact_id"],
        &data["assignment"]["contact_id"],
        &data["transition"]["contact_id"],
        &data["task"]["contact_id"],
    ]
    .into_iter()
    .find_map(|id| id.as_str()?.parse().ok())
}

/// Fills `webhook_deliveries.contact_id` of messages queued before migration 14.
async fn delivery_contacts(tx: &mut Session) -> Result<(), StoreError> {
    let mut after = uuid::Uuid::nil();
    loop {
        let rows = tx
            .fetch_all(
                "SELECT id, payload FROM webhook_deliveries WHERE id > $1 ORDER BY id LIMIT 1000",
                args![after],
            )
            .await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.get(0)?;
        for r in &rows {
            if let Some(contact) = contact_of_payload(&r.get::<String>(1)?) {
                tx.execute(
                    "UPDATE webhook_deliveries SET contact_id = $2 WHERE id = $1",
                    args![r.get::<uuid::Uuid>(0)?, contact],
                )
                .await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MIGRATIONS, contact_of_payload};

    /// Migration 14 reads each stored webhook message's contact from where its type puts it.
    #[test]
    fn a_stored_message_names_its_contact() {
        let id = "0192f7a4-5c1e-7b3a-9d2e-4f6a8b0c1d2e";
        for data in [
            format!(r#"{{"contact": {{"id": "{id}", "email": "a@b.co"}}}}"#),
            format!(r#"{{"form_id": "x", "contact_id": "{id}"}}"#),
            format!(r#"{{"assignment": {{"contact_id": "{id}"}}}}"#),
            format!(r#"{{"transition": {{"contact_id": "{id}"}}}}"#),
            format!(r#"{{"task": {{"contact_id": "{id}"}}}}"#),
        ] {
            let payload = format!(r#"{{"id": "m", "type": "t", "data": {data}}}"#);
            assert_eq!(contact_of_payload(&payload).map(|u| u.to_string()).as_deref(), Some(id), "{payload}");
        }
        assert_eq!(contact_of_payload(r#"{"data": {"n": 1}}"#), None);
        assert_eq!(contact_of_payload("not json"), None);
    }

    /// An in-memory SQLite database with every migration before `version` applied.
    fn sqlite_before(version: i64) -> rusqlite::Connection {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < version) {
            db.execute_batch(m.sqlite).unwrap();
        }
        db
    }

    /// Version 8 rebuilds SQLite's events table: every event of an existing database must come
    /// through with its columns, timelines read in order, and ids stay unique.
    #[test]
    fn the_clustered_timeline_keeps_every_event() {
        let db = sqlite_before(8);
        let (ada, bob) = ([1u8; 16], [2u8; 16]);
        for c in [ada, bob] {
            db.execute(
                "INSERT INTO contacts (id, lifecycle_stage, search_text, created_at, updated_at) VALUES (?1, 'lead', '', 0, 0)",
                [&c[..]],
            )
            .unwrap();
        }
        // Arrival order is not timeline order.
        let events: [([u8; 16], [u8; 16], i64, &str); 4] = [
            ([10; 16], ada, 300, "quote_request"),
            ([11; 16], bob, 100, "page_view"),
            ([12; 16], ada, 100, "page_view"),
            ([13; 16], ada, 200, "webinar_attended"),
        ];
        for (id, contact, at, kind) in events {
            db.execute(
                "INSERT INTO events (id, contact_id, kind, occurred_at, received_at, source, campaign, properties) \
                 VALUES (?1, ?2, ?3, ?4, 7, 'fair', NULL, '{\"url\":\"/x\"}')",
                rusqlite::params![&id[..], &contact[..], kind, at],
            )
            .unwrap();
        }
        let migration = MIGRATIONS.iter().find(|m| m.version == 8).unwrap();
        db.execute_batch(migration.sqlite).unwrap();

        let mut timeline = db
            .prepare("SELECT kind, occurred_at, received_at, source, campaign, properties FROM events WHERE contact_id = ?1 ORDER BY occurred_at, id")
            .unwrap();
        let rows: Vec<(String, i64, i64, String, Option<String>, String)> = timeline
            .query_map([&ada[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(kinds, ["page_view", "webinar_attended", "quote_request"]);
        assert!(rows.iter().all(|r| r.2 == 7 && r.3 == "fair" && r.4.is_none() && r.5 == "{\"url\":\"/x\"}"));
        let total: i64 = db.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).unwrap();
        assert_eq!(total, 4);
        // The same id under another contact or time is refused: ids stay unique.
        let again = db.execute(
            "INSERT INTO events (id, contact_id, kind, occurred_at, received_at) VALUES (?1, ?2, 'page_view', 999, 7)",
            rusqlite::params![&[10u8; 16][..], &bob[..]],
        );
        assert!(again.is_err(), "duplicate id accepted");
        // Deleting a contact still deletes its timeline.
        db.execute("DELETE FROM contacts WHERE id = ?1", [&ada[..]]).unwrap();
        let left: i64 = db.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 1);
    }

    /// Version 9 moves scores and ledgers out of the contacts table: every contact gets its row,
    /// scored or not, with what it had; the old columns and table are gone.
    /// Version 30 keeps each closed deal's cycle: deals closed before it get theirs from the
    /// engage date, else the creation day; open deals have none.
    #[test]
    fn closed_deals_keep_their_cycle_in_days() {
        let db = sqlite_before(30);
        let created = 1_767_225_600_000_000i64; // 2026-01-01T00:00:00Z
        for (id, engaged, closed) in
            [(1u8, Some("2025-12-01"), Some("2026-01-30")), (2, None, Some("2026-03-02")), (3, None, None)]
        {
            db.execute(
                "INSERT INTO deals (id, name, stage, currency, engaged_on, closed_on, custom, created_at, updated_at, stage_changed_at) \
                 VALUES (?1, 'd', 'won', 'EUR', ?2, ?3, '{}', ?4, ?4, ?4)",
                rusqlite::params![&[id; 16][..], engaged, closed, created],
            )
            .unwrap();
        }
        let migration = MIGRATIONS.iter().find(|m| m.version == 30).unwrap();
        db.execute_batch(migration.sqlite).unwrap();
        let cycle = |id: u8| -> Option<i64> {
            db.query_row("SELECT cycle_days FROM deals WHERE id = ?1", [&[id; 16][..]], |r| r.get(0)).unwrap()
        };
        assert_eq!((cycle(1), cycle(2), cycle(3)), (Some(60), Some(60), None));
    }

    #[test]
    fn scores_and_ledgers_move_to_their_own_table() {
        let db = sqlite_before(9);
        let (ada, bob) = ([1u8; 16], [2u8; 16]);
        db.execute(
            "INSERT INTO contacts (id, lifecycle_stage, search_text, created_at, updated_at, fit_points, fit_grade, \
             engagement, temperature, temperature_reason, knockouts, rules_version, scored_at) \
             VALUES (?1, 'mql', '', 0, 0, 4200, 'A', 1250, 'hot', 'quote request', 'student', 3, 99)",
            [&ada[..]],
        )
        .unwrap();
        db.execute(
            "INSERT INTO contacts (id, lifecycle_stage, search_text, created_at, updated_at) VALUES (?1, 'lead', '', 0, 0)",
            [&bob[..]],
        )
        .unwrap();
        db.execute("INSERT INTO engagement_ledgers (contact_id, ledger) VALUES (?1, x'0102')", [&ada[..]])
            .unwrap();
        let migration = MIGRATIONS.iter().find(|m| m.version == 9).unwrap();
        db.execute_batch(migration.sqlite).unwrap();

        type Scores = (i64, String, i64, String, String, String, i64, i64, Vec<u8>);
        let scores: Scores = db
            .query_row(
                "SELECT fit_points, fit_grade, engagement, temperature, temperature_reason, knockouts, rules_version, \
                 scored_at, ledger FROM contact_scores WHERE contact_id = ?1",
                [&ada[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)),
            )
            .unwrap();
        let expected: Scores = (
            4200,
            "A".into(),
            1250,
            "hot".into(),
            "quote request".into(),
            "student".into(),
            3,
            99,
            vec![1, 2],
        );
        assert_eq!(scores, expected);
        let unscored: (Option<String>, Option<Vec<u8>>) = db
            .query_row(
                "SELECT temperature, ledger FROM contact_scores WHERE contact_id = ?1",
                [&bob[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(unscored, (None, None), "an unscored contact has its row too");
        assert!(db.prepare("SELECT temperature FROM contacts").is_err(), "old column dropped");
        assert!(db.prepare("SELECT ledger FROM engagement_ledgers").is_err(), "old table dropped");
        // Deleting a contact deletes its scores.
        db.execute("DELETE FROM contacts WHERE id = ?1", [&ada[..]]).unwrap();
        let left: i64 = db.query_row("SELECT COUNT(*) FROM contact_scores", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 1);
    }
}
