//! Event ingest through the batch API on SQLite, beside the raw insert rate of the same rows
//! straight into SQLite (one prepared statement, one transaction per 1,000 rows, same schema,
//! same durability settings), measured in the same run.
//!
//!     cargo bench -p leadgate-bench --bench ingest
//!
//! Environment: BENCH_EVENTS (default 200000), BENCH_CLIENTS (default 4), BENCH_ROUNDS (default 3:
//! baseline and live runs alternate, the median round is reported).

use std::time::{Duration, Instant};

// The allocator the `leadgate` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use jiff::{SignedDuration, Timestamp};
use leadgate_bench::{BENCH_KEY, BenchServer, EVENT_MIX, Rng, print_table, rate, temp_dir, thousands};
use leadgate_core::contact::ContactDraft;
use leadgate_core::ids::ContactId;
use leadgate_store::{Store, StoreConfig};
use serde_json::{Value, json};

const BATCH: usize = 1_000;

struct Row {
    id: uuid::Uuid,
    contact: uuid::Uuid,
    kind: &'static str,
    occurred_at: Timestamp,
    source: &'static str,
    campaign: &'static str,
    properties: String,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` events over the last 90 days. `chronological`: in time order, as a tracker or a CRM sync
/// streams them live; otherwise in random order, as a backfill of history arrives.
fn generate(contacts: &[uuid::Uuid], n: usize, now: Timestamp, chronological: bool) -> Vec<Row> {
    let mut rng = Rng::new(20261124);
    let sources: [(&str, u32); 4] =
        [("Google", 5), ("Direct Traffic", 3), ("Newsletter", 2), ("LinkedIn", 1)];
    (0..n)
        .map(|i| {
            let kind = *rng.weighted(&EVENT_MIX);
            let page = rng.below(40);
            Row {
                id: rng.uuid(),
                contact: contacts[rng.below(contacts.len() as u64) as usize],
                kind,
                occurred_at: if chronological {
                    now - SignedDuration::from_secs(90 * 86_400) + SignedDuration::from_secs((i as i64 * 90 * 86_400) / n as i64)
                } else {
                    now - SignedDuration::from_secs(rng.below(90 * 86_400) as i64)
                },
                source: rng.weighted::<&'static str>(&sources),
                campaign: if i % 3 == 0 { "autumn-webinar" } else { "always-on" },
                properties: json!({"url": format!("https://example.com/page/{page}"), "title": format!("Page {page}")})
                    .to_string(),
            }
        })
        .collect()
}

async fn add_contacts(store: &Store, n: usize, now: Timestamp) -> Vec<uuid::Uuid> {
    let mut rng = Rng::new(7);
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = rng.uuid();
        let draft = ContactDraft { email: Some(format!("lead{i}@bench.example")), ..Default::default() };
        tx.insert_contact(ContactId(id), draft.validate().unwrap(), now).await.unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

/// The baseline: the same rows into the same schema with rusqlite, one prepared statement,
/// one transaction per 1,000 rows, and the pragmas the server uses (WAL, synchronous=FULL, 64 MiB
/// page cache).
fn raw_insert(path: &std::path::Path, rows: &[Row], received_at: Timestamp) -> Duration {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=memory;",
    )
    .unwrap();
    let started = Instant::now();
    for chunk in rows.chunks(BATCH) {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (id, contact_id, kind, occurred_at, received_at, source, campaign, properties) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .unwrap();
            for r in chunk {
                stmt.execute(rusqlite::params![
                    r.id.as_bytes().as_slice(),
                    r.contact.as_bytes().as_slice(),
                    r.kind,
                    r.occurred_at.as_microsecond(),
                    received_at.as_microsecond(),
                    r.source,
                    r.campaign,
                    r.properties,
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    started.elapsed()
}

fn batch_bodies(rows: &[Row]) -> Vec<Vec<u8>> {
    rows.chunks(BATCH)
        .map(|chunk| {
            let events: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id, "contact_id": r.contact, "kind": r.kind,
                        "occurred_at": r.occurred_at.to_string(), "source": r.source, "campaign": r.campaign,
                        "properties": serde_json::from_str::<Value>(&r.properties).unwrap(),
                    })
                })
                .collect();
            serde_json::to_vec(&json!({"events": events})).unwrap()
        })
        .collect()
}

async fn api_ingest(base: &str, bodies: Vec<Vec<u8>>, clients: usize) -> Duration {
    leadgate_app::webhooks::install_tls_provider();
    let client = reqwest::Client::new();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(bodies)));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let queue = queue.clone();
            let url = format!("{base}/api/v1/events/batch");
            tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().unwrap().pop_front() else { break };
                    let r = client
                        .post(&url)
                        .bearer_auth(BENCH_KEY)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    // Read the whole answer, as a client does (it lists each event's receipt).
                    let status = r.status();
                    let answer = r.text().await.unwrap_or_default();
                    assert_eq!(status, 201, "{answer}");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    started.elapsed()
}

/// Ingests `rows` through the API into a fresh database with the same contacts.
async fn api_run(rows: &[Row], contacts: &[uuid::Uuid], clients: usize, now: Timestamp) -> Duration {
    let dir = temp_dir("ingest-api");
    let config = StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") };
    let server = BenchServer::start(&config).await;
    let api_contacts = add_contacts(&server.store, contacts.len(), now).await;
    assert_eq!(api_contacts, contacts, "the same seeded contacts");
    let elapsed = api_ingest(&server.base, batch_bodies(rows), clients).await;
    let mut s = server.store.read().await.unwrap();
    let stored = s.count_events().await.unwrap();
    drop(s);
    assert_eq!(stored as usize, rows.len(), "every event stored");
    let shared = server.app.ingest_stats();
    eprintln!(
        "  {} requests recorded in {} transactions (concurrent requests share one)",
        shared.requests, shared.transactions
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_EVENTS", 200_000);
    let clients = env_usize("BENCH_CLIENTS", 4);
    let contacts_n = 2_000;
    let now = Timestamp::now();

    // Rounds alternate the baseline and the live API run, each on a fresh database, so both
    // see the same machine load; the table reports the median round (by share of raw).
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let mut measured: Vec<(Duration, Duration)> = Vec::with_capacity(rounds);
    let mut contacts = Vec::new();
    let mut live = Vec::new();
    for round in 1..=rounds {
        // Baseline database: same schema (our migrations), same contacts.
        let raw_dir = temp_dir("ingest-raw");
        let raw_config = StoreConfig::Sqlite { path: raw_dir.join("leadgate.sqlite3") };
        let raw_store = Store::open(&raw_config, now).await.unwrap();
        contacts = add_contacts(&raw_store, contacts_n, now).await;
        raw_store.close().await;
        if live.is_empty() {
            live = generate(&contacts, n, now, true);
        }
        let raw_path = raw_dir.join("leadgate.sqlite3");
        let rows = std::mem::take(&mut live);
        let (raw_time, rows) = tokio::task::spawn_blocking(move || {
            let d = raw_insert(&raw_path, &rows, now);
            (d, rows)
        })
        .await
        .unwrap();
        live = rows;
        let _ = std::fs::remove_dir_all(raw_dir);
        let live_time = api_run(&live, &contacts, clients, now).await;
        eprintln!(
            "  round {round}: raw {:.2} s, API {:.2} s ({:.0} % of raw)",
            raw_time.as_secs_f64(),
            live_time.as_secs_f64(),
            100.0 * raw_time.as_secs_f64() / live_time.as_secs_f64()
        );
        measured.push((raw_time, live_time));
    }
    measured.sort_by(|a, b| {
        (a.0.as_secs_f64() / a.1.as_secs_f64()).total_cmp(&(b.0.as_secs_f64() / b.1.as_secs_f64()))
    });
    let (raw_time, live_time) = measured[measured.len() / 2];

    let backfill = generate(&contacts, n, now, false);
    let backfill_time = api_run(&backfill, &contacts, clients, now).await;

    let raw_rate = n as f64 / raw_time.as_secs_f64();
    let share = |d: Duration| format!("{:.0} %", 100.0 * (n as f64 / d.as_secs_f64()) / raw_rate);
    println!(
        "\nEvent ingest on SQLite: {} events for {} contacts, batches of {BATCH}, {clients} concurrent clients; \
         the API rescores every contact an event touches, in the same transaction. Raw and live: the median \
         of {rounds} rounds (by share of raw)\n",
        thousands(n as u64),
        thousands(contacts_n as u64)
    );
    print_table(
        &["path", "seconds", "events/s", "share of raw"],
        &[
            vec![
                "raw SQLite (rusqlite, prepared statement, 1 tx per 1,000 rows)".into(),
                format!("{:.2}", raw_time.as_secs_f64()),
                rate(n, raw_time),
                "100 %".into(),
            ],
            vec![
                "POST /api/v1/events/batch, events in time order (live)".into(),
                format!("{:.2}", live_time.as_secs_f64()),
                rate(n, live_time),
                share(live_time),
            ],
            vec![
                "POST /api/v1/events/batch, events in random order (backfill)".into(),
                format!("{:.2}", backfill_time.as_secs_f64()),
                rate(n, backfill_time),
                share(backfill_time),
            ],
        ],
    );
}
