//! Personal data at scale (issue 20): BENCH_CONTACTS (default 1,000,000) contacts with two events
//! each and a score row, created over five years; those older than three years have a recent
//! visit, so the retention rule finds nobody due.
//!
//! - the retention rule's daily pass (`App::retention_due`, the query `App::purge` runs) when
//!   nothing is due, beside the same count by one hand-written SQL query;
//! - erasing BENCH_ERASE (default 100,000) people by e-mail (`App::erase_emails`: lookups, the
//!   cascade over every table, the scrub of stored answers and files, the suppression list, the
//!   audit log), beside deleting another 100,000 contacts of the same database with plain
//!   `DELETE FROM contacts WHERE id IN (…)` statements (500 ids each, the foreign keys cascading
//!   to their events and scores), in the same run.
//!
//!     cargo bench -p leadgate-bench --bench privacy
//!
//! BENCH_BACKENDS: `sqlite` (default), `postgres` or both, comma-separated; PostgreSQL needs
//! LEADGATE_TEST_POSTGRES_URL (a server from `scripts/throwaway-postgres`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use leadgate_app::{App, ManualClock};
use leadgate_bench::{BenchDb, Rng, env_usize, print_table, thousands};
use leadgate_store::Store;
use leadgate_store::driver::{Arg, Session};

const DAY: i64 = 86_400;

/// The contacts, their events and scores; returns their ids in creation order.
async fn generate(store: &Store, n: usize, now: Timestamp) -> Vec<uuid::Uuid> {
    let mut rng = Rng::new(20);
    let mut ids = Vec::with_capacity(n);
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        let (mut contacts, mut events, mut scores) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..chunk {
            let k = done + i;
            // Time-ordered, as Leadgate's own ids (UUIDv7): rows are appended, not scattered.
            let id = uuid::Uuid::from_u128(((k as u128 + 1) << 64) | u128::from(rng.next_u64()));
            ids.push(id);
            let created = now - SignedDuration::from_secs(rng.below(5 * 365 * DAY as u64) as i64);
            let email = format!("person{k}@company{}.example", k / 20);
            contacts.push(vec![
                Arg::from(id),
                Arg::from(email.clone()),
                Arg::from(email),
                Arg::from("lead"),
                Arg::from("{}"),
                Arg::from(format!("person{k}")),
                Arg::from(created),
                Arg::from(created),
            ]);
            // A form when they arrived; the older ones visited again within the last three years.
            let last = if now - created > SignedDuration::from_secs(3 * 365 * DAY) {
                now - SignedDuration::from_secs(rng.below(3 * 365 * DAY as u64 - DAY as u64) as i64)
            } else {
                created
            };
            for (kind, at) in [("form_submitted", created), ("page_view", last)] {
                events.push(vec![
                    Arg::from(uuid::Uuid::from_u128(((k as u128 + 1) << 64) | u128::from(rng.next_u64()))),
                    Arg::from(id),
                    Arg::from(kind),
                    Arg::from(at),
                    Arg::from(at),
                    Arg::from(r#"{"url":"https://www.example.com/pricing"}"#),
                ]);
            }
            scores.push(vec![Arg::from(id), Arg::from("cold"), Arg::from("C"), Arg::from(0_i64)]);
        }
        tx.insert_rows(
            "INSERT INTO contacts (id, email, email_key, lifecycle_stage, custom, search_text, created_at, updated_at)",
            8,
            contacts,
            "",
        )
        .await
        .unwrap();
        tx.insert_rows(
            "INSERT INTO events (id, contact_id, kind, occurred_at, received_at, properties)",
            6,
            events,
            "",
        )
        .await
        .unwrap();
        tx.insert_rows(
            "INSERT INTO contact_scores (contact_id, temperature, fit_grade, engagement)",
            4,
            scores,
            "",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        done += chunk;
    }
    ids
}

async fn count(s: &mut Session, sql: &str, values: Vec<Arg>) -> i64 {
    s.fetch_one(sql, values).await.unwrap().get(0).unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = env_usize("BENCH_CONTACTS", 1_000_000);
    let erase = env_usize("BENCH_ERASE", 100_000).min(n / 3);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for backend in backends.split(',') {
        privacy_on(backend, n, erase).await;
    }
}

async fn privacy_on(backend: &str, n: usize, erase: usize) {
    let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let db = BenchDb::create(backend, "privacy");
    let store = Store::open(&db.config, now).await.unwrap();
    let app = App::new(store.clone(), Arc::new(ManualClock::new(now)));
    app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
    let started = Instant::now();
    let ids = generate(&store, n, now).await;
    eprintln!(
        "{backend}: generated {} contacts and {} events in {:.1} s",
        thousands(n as u64),
        thousands(2 * n as u64),
        started.elapsed().as_secs_f64()
    );
    let store = leadgate_bench::at_rest(&db, store, now).await;
    let app = App::new(store.clone(), Arc::new(ManualClock::new(now)));
    let principal = app.authenticate(leadgate_bench::BENCH_KEY).await.unwrap();
    let mut rows = Vec::new();

    // The daily retention pass, when nobody is due.
    let t = Instant::now();
    let report = app.retention_due(&principal).await.unwrap();
    let pass = t.elapsed();
    assert_eq!(report.due, 0, "nobody is due");
    let cutoff = report.cutoff;
    let t = Instant::now();
    let mut s = store.read().await.unwrap();
    let baseline = count(
        &mut s,
        "SELECT COUNT(*) FROM contacts c WHERE c.created_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.occurred_at >= $1 AND e.kind = 'page_view')",
        vec![Arg::from(cutoff)],
    )
    .await;
    drop(s);
    let hand = t.elapsed();
    assert_eq!(baseline, 0);
    let secs = |d: std::time::Duration| format!("{:.2}", d.as_secs_f64());
    rows.push(vec![
        format!("retention pass over {} contacts, none due", thousands(n as u64)),
        secs(pass),
        "one COUNT … NOT EXISTS query".into(),
        secs(hand),
    ]);

    // Plain deletes of one set, then Leadgate's erasure of another of the same size.
    let plain: Vec<uuid::Uuid> = ids.iter().skip(1).step_by(3).take(erase).copied().collect();
    let t = Instant::now();
    for chunk in plain.chunks(10_000) {
        let mut tx = store.begin().await.unwrap();
        for part in chunk.chunks(500) {
            let sql = format!("DELETE FROM contacts WHERE id IN ({})", Session::placeholders(1, part.len()));
            tx.execute(&sql, part.iter().map(|id| Arg::from(*id)).collect()).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let deleted = t.elapsed();
    let list: String =
        (0..n).step_by(3).take(erase).map(|k| format!("person{k}@company{}.example\n", k / 20)).collect();
    let t = Instant::now();
    let receipt = app.erase_emails(&principal, &list).await.unwrap();
    let erased = t.elapsed();
    assert_eq!(receipt.erased as usize, erase, "{receipt:?}");
    let mut s = store.read().await.unwrap();
    let left = count(&mut s, "SELECT COUNT(*) FROM contacts", vec![]).await;
    let events = count(&mut s, "SELECT COUNT(*) FROM events", vec![]).await;
    let suppressed = count(&mut s, "SELECT COUNT(*) FROM suppressions", vec![]).await;
    drop(s);
    assert_eq!(left as usize, n - 2 * erase);
    assert_eq!(events as usize, 2 * (n - 2 * erase), "their events went with them");
    assert_eq!(suppressed as usize, erase);
    rows.push(vec![
        format!("erase {} people by e-mail (of {})", thousands(erase as u64), thousands(n as u64)),
        secs(erased),
        format!("plain DELETE … WHERE id IN of {}", thousands(erase as u64)),
        secs(deleted),
    ]);
    println!("\n{backend}:");
    print_table(&["Leadgate", "seconds", "baseline", "seconds"], &rows);
    store.close().await;
    db.drop_database();
}
