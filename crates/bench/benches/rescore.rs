//! Full rescore of every contact (a rules change) on SQLite and on PostgreSQL, end to end,
//! beside the same scoring kernel run over the same data already in memory (the ceiling), in
//! the same run. Also the latency scoring adds to recording one event, and the CPU time the
//! rules change used in this process and in the PostgreSQL server (Linux `/proc`; steadier than
//! wall time for comparing two builds on a shared machine, though autovacuum adds to it).
//!
//!     cargo bench -p leadgate-bench --bench rescore
//!
//! Environment: BENCH_CONTACTS (default 1000000), BENCH_EVENTS_PER_CONTACT (default 10),
//! BENCH_BACKENDS (default "sqlite,postgres"; PostgreSQL needs LEADGATE_TEST_POSTGRES_URL, which
//! `bench/rescore.sh` sets with a throwaway server), BENCH_RULES_CHANGES (default 1: timed rules
//! changes in a row on the same data, a row each).

// The allocator the `leadgate` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use leadgate_app::scoring::{ActiveRules, evaluate};
use leadgate_app::{App, SystemClock};
use leadgate_bench::{BenchDb, EVENT_MIX, Rng, print_table, rate, thousands};
use leadgate_core::event::EventDraft;
use leadgate_core::ids::ContactId;
use leadgate_core::scoring::{Ledger, ScoringRules};
use leadgate_store::driver::Arg;
use leadgate_store::{Session, Store};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const TITLES: [(&str, u32); 6] = [
    ("CTO", 2),
    ("Head of Marketing", 3),
    ("Purchasing Manager", 4),
    ("Engineer", 8),
    ("Student", 1),
    ("", 6),
];
const SECTORS: [&str; 6] = ["Software", "manufacturing", "retail", "finance", "education", "agriculture"];
const COUNTRIES: [(&str, u32); 5] =
    [("France", 5), ("Germany", 3), ("United Kingdom", 2), ("India", 2), ("Brazil", 1)];

/// Loads `contacts` contacts (one company per 100), each with `per_contact` events over the
/// last 180 days, with multi-row inserts through the store (the same SQL on both databases).
async fn generate(store: &Store, contacts: usize, per_contact: usize, now: Timestamp) {
    let started = Instant::now();
    let mut rng = Rng::new(42);
    let companies: Vec<uuid::Uuid> = (0..contacts.div_ceil(100)).map(|_| rng.uuid()).collect();
    let mut tx = store.begin().await.unwrap();
    for chunk in companies.chunks(500) {
        let mut values = Vec::new();
        let rows: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                values.extend([
                    Arg::from(*id),
                    Arg::from(format!("Company {}", &id.simple().to_string()[..8])),
                    Arg::from(SECTORS[rng.below(6) as usize]),
                    Arg::from(rng.below(5000) as i64),
                    Arg::from(now),
                ]);
                format!("({}, '{{}}', '', $%5, $%5)", Session::placeholders(1 + i * 5, 4))
                    .replace("$%5", &format!("${}", 5 + i * 5))
            })
            .collect();
        let sql = format!(
            "INSERT INTO companies (id, name, sector, employees, custom, search_text, created_at, updated_at) VALUES {}",
            rows.join(", ")
        );
        tx.execute(&sql, values).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut done = 0;
    while done < contacts {
        let n = 5_000.min(contacts - done);
        let mut tx = store.begin().await.unwrap();
        let mut ids = Vec::with_capacity(n);
        for part in 0..n.div_ceil(500) {
            let count = 500.min(n - part * 500);
            let mut values = Vec::new();
            let rows: Vec<String> = (0..count)
                .map(|i| {
                    let k = done + part * 500 + i;
                    let id = rng.uuid();
                    ids.push(id);
                    values.extend([
                        Arg::from(id),
                        Arg::from(format!("lead{k}@company{}.example", k / 100)),
                        Arg::from(format!("lead{k}@company{}.example", k / 100)),
                        Arg::from(*rng.weighted(&TITLES)).into_non_empty(),
                        Arg::from(companies[k / 100]),
                        Arg::from(*rng.weighted(&COUNTRIES)),
                        Arg::from(now),
                    ]);
                    let b = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, 'lead', '{{}}', '', ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 7
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO contacts (id, email, email_key, job_title, company_id, country, lifecycle_stage, custom, \
                 search_text, created_at, updated_at) VALUES {}",
                rows.join(", ")
            );
            tx.execute(&sql, values).await.unwrap();
        }
        // Every contact has its (unscored) scores row from creation, as the product writes it.
        let unscored = ids.iter().map(|id| vec![Arg::from(*id)]).collect();
        tx.insert_rows("INSERT INTO contact_scores (contact_id)", 1, unscored, "").await.unwrap();
        let mut events = Vec::with_capacity(n * per_contact);
        for id in &ids {
            for _ in 0..per_contact {
                let kind = *rng.weighted(&EVENT_MIX);
                let page = rng.below(30);
                let url = if page < 3 { "/pricing".to_string() } else { format!("/page/{page}") };
                events.push(leadgate_core::event::Event {
                    id: leadgate_core::ids::EventId(rng.uuid()),
                    contact_id: ContactId(*id),
                    kind: kind.parse().unwrap(),
                    occurred_at: now - SignedDuration::from_secs(rng.below(180 * 86_400) as i64),
                    received_at: now,
                    source: Some("Google".into()),
                    campaign: None,
                    properties: json!({"url": url}).as_object().unwrap().clone(),
                });
            }
        }
        tx.insert_events(&events).await.unwrap();
        tx.commit().await.unwrap();
        done += n;
        if done % 100_000 == 0 {
            eprintln!("  generated {done} contacts ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
}

trait NonEmpty {
    fn into_non_empty(self) -> Arg;
}
impl NonEmpty for Arg {
    fn into_non_empty(self) -> Arg {
        match self {
            Arg::Text(Some(t)) if t.is_empty() => Arg::Text(None),
            other => other,
        }
    }
}

/// Reads everything scoring needs into memory (not timed), then times the kernel alone.
async fn in_memory(store: &Store, active: &ActiveRules, now: Timestamp) -> (usize, Duration) {
    let mut s = store.read().await.unwrap();
    let mut after = None;
    let mut data = Vec::new();
    loop {
        let ids = s.contact_ids_after(after, 5_000).await.unwrap();
        let Some(last) = ids.last().copied() else { break };
        let inputs = s.scoring_inputs(&ids).await.unwrap();
        let mut timelines = s.events_of_contacts(&ids).await.unwrap();
        for input in inputs {
            let events = timelines.remove(&input.contact.id).unwrap_or_default();
            data.push((input, events));
        }
        after = Some(last);
    }
    drop(s);
    let started = Instant::now();
    let mut moved = 0;
    for (input, events) in &data {
        let mut ledger = Ledger::from_events(&active.rules, active.version, events);
        ledger.prune(&active.rules, now);
        let outcome = evaluate(active, input, &ledger, now);
        moved += outcome.transitions.len();
        std::hint::black_box(ledger.to_bytes());
    }
    let elapsed = started.elapsed();
    std::hint::black_box(moved);
    (data.len(), elapsed)
}

/// The PostgreSQL server's main process, parent of every backend (Linux; `None` on SQLite).
async fn postmaster_of(store: &Store) -> Option<u32> {
    let mut s = store.read().await.ok()?;
    let backend: i64 = s.fetch_one("SELECT pg_backend_pid()::BIGINT", vec![]).await.ok()?.get(0).ok()?;
    proc_stat(backend as u32).map(|f| f.ppid)
}

struct ProcStat {
    ppid: u32,
    /// utime + stime, and cutime + cstime (children waited for), in clock ticks.
    own: u64,
    children: u64,
    /// stime alone: time in the operating system's kernel on the process's behalf.
    system: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let f: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat { ppid: n(1)? as u32, own: n(11)? + n(12)?, children: n(13)? + n(14)?, system: n(12)? })
}

/// CPU seconds used so far by this process and by the PostgreSQL server under `postmaster`:
/// the server's sessions on database `database` (this bench's connections), and the rest of
/// the server (checkpointer, autovacuum workers, processes that have ended). On a shared
/// machine, CPU time compares two builds more steadily than wall time, and the split shows
/// when PostgreSQL's background work, not the rescore's statements, made a run slower. Linux
/// clock ticks are 1/100 s.
fn cpu_seconds(postmaster: Option<u32>, database: &str) -> Cpu {
    let ticks = |t: u64| t as f64 / 100.0;
    let ours = proc_stat(std::process::id()).map_or(0.0, |p| ticks(p.own));
    let Some(pm) = postmaster else {
        return Cpu { ours, sessions: 0.0, sessions_system: 0.0, background: 0.0 };
    };
    let mut background = proc_stat(pm).map_or(0, |p| p.own + p.children);
    let (mut sessions, mut sessions_system) = (0, 0);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(p) = proc_stat(pid).filter(|p| p.ppid == pm) {
            // A session's title: "postgres: user database host(port) state".
            let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if title.split_whitespace().nth(2) == Some(database) {
                sessions += p.own;
                sessions_system += p.system;
            } else {
                background += p.own;
            }
        }
    }
    Cpu {
        ours,
        sessions: ticks(sessions),
        sessions_system: ticks(sessions_system),
        background: ticks(background),
    }
}

#[derive(Clone, Copy)]
struct Cpu {
    ours: f64,
    sessions: f64,
    /// The sessions' time in the operating system (sockets, page cache, page faults).
    sessions_system: f64,
    background: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, before: Cpu) -> Cpu {
        Cpu {
            ours: self.ours - before.ours,
            sessions: self.sessions - before.sessions,
            sessions_system: self.sessions_system - before.sessions_system,
            background: self.background - before.background,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Latency of recording one event (in-process, no HTTP) beside storing the same event alone.
async fn event_latency(app: &App, store: &Store, now: Timestamp) -> (Duration, Duration, Duration, Duration) {
    let principal = app.operator().await.unwrap();
    let mut s = store.read().await.unwrap();
    let ids = s.contact_ids_after(None, 2_000).await.unwrap();
    drop(s);
    let mut rng = Rng::new(9);
    let mut with_scoring = Vec::new();
    let mut store_only = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let draft: EventDraft = serde_json::from_value(json!({
            "contact_id": id, "kind": "page_view", "properties": {"url": "/pricing"}
        }))
        .unwrap();
        if i % 2 == 0 {
            let t = Instant::now();
            app.record_event(&principal, draft, None).await.unwrap();
            with_scoring.push(t.elapsed());
        } else {
            let e = leadgate_core::event::Event {
                id: leadgate_core::ids::EventId(rng.uuid()),
                contact_id: *id,
                kind: leadgate_core::event::EventKind::PageView,
                occurred_at: now,
                received_at: now,
                source: None,
                campaign: None,
                properties: json!({"url": "/pricing"}).as_object().unwrap().clone(),
            };
            let t = Instant::now();
            let mut tx = store.begin().await.unwrap();
            tx.insert_events(&[e]).await.unwrap();
            tx.commit().await.unwrap();
            store_only.push(t.elapsed());
        }
    }
    with_scoring.sort();
    store_only.sort();
    (
        percentile(&with_scoring, 0.5),
        percentile(&with_scoring, 0.99),
        percentile(&store_only, 0.5),
        percentile(&store_only, 0.99),
    )
}

#[tokio::main]
async fn main() {
    let contacts = env_usize("BENCH_CONTACTS", 1_000_000);
    let per_contact = env_usize("BENCH_EVENTS_PER_CONTACT", 10);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rules_changes = env_usize("BENCH_RULES_CHANGES", 1).max(1);
    let now = Timestamp::now();
    let mut rows = Vec::new();
    let mut latency_rows = Vec::new();
    for backend in backends.split(',') {
        let db = BenchDb::create(backend, "rescore");
        eprintln!("{backend}: generating {contacts} contacts with {per_contact} events each…");
        let store = Store::open(&db.config, now).await.unwrap();
        generate(&store, contacts, per_contact, now).await;
        let app = App::new(store.clone(), Arc::new(SystemClock));
        app.ensure_scoring_rules().await.unwrap();

        // The generator writes contacts unscored, a state the product never leaves a contact in
        // (it scores each one as it is created): the first run scores everyone for the first
        // time and fills each scores row. The second is the case to measure, a rules change:
        // a new version (the same rules, so nothing is skipped) rescores everyone from their
        // timelines and rewrites rows that already hold a score and a ledger.
        eprintln!("{backend}: first scoring…");
        let started = Instant::now();
        let rescored = app.rescore_all(&mut ()).await.unwrap() as usize;
        let first = started.elapsed();
        assert_eq!(rescored, contacts);
        // Several rules changes on the same data (BENCH_RULES_CHANGES) show how much a pass
        // varies on this shared machine with nothing changed but the run.
        let postmaster = postmaster_of(&store).await;
        let database = db.postgres_name().unwrap_or_default().to_string();
        let mut changes = Vec::new();
        for _ in 0..rules_changes {
            let mut tx = store.begin().await.unwrap();
            let current = tx.latest_rules().await.unwrap().expect("default rules stored");
            tx.insert_rules(&current.document, Some("bench: rules change"), None, now).await.unwrap();
            tx.commit().await.unwrap();
            // The measured pass starts from a settled database, as pgbench starts each run after a
            // VACUUM: the first scoring left a million dead row versions and a WAL's worth of dirty
            // pages, and PostgreSQL's background clean-up of them (autovacuum, checkpoints) fell
            // inside the timed pass in some runs and not in others (server log: a 15 s vacuum of
            // contacts in a run whose server CPU was twice the usual). The clean-up of the pass's
            // own dead rows still runs, and counts, when autovacuum reaches it.
            for statement in ["VACUUM (ANALYZE)", "CHECKPOINT"] {
                db.psql(statement);
            }
            eprintln!("{backend}: full rescore after a rules change…");
            let cpu_before = cpu_seconds(postmaster, &database);
            let started = Instant::now();
            let rescored = app.rescore_all(&mut ()).await.unwrap() as usize;
            let end_to_end = started.elapsed();
            assert_eq!(rescored, contacts);
            let used = cpu_seconds(postmaster, &database) - cpu_before;
            let cpu = match postmaster {
                Some(_) => format!(
                    "{:.1} / {:.1} (system {:.1}) + {:.1}",
                    used.ours, used.sessions, used.sessions_system, used.background
                ),
                None => format!("{:.1} / —", used.ours),
            };
            changes.push((end_to_end, cpu));
        }
        let mut s = store.read().await.unwrap();
        let active = app.active_rules(&mut s).await.unwrap();
        drop(s);
        let (n, kernel) = in_memory(&store, &active, now).await;
        assert_eq!(n, contacts);
        for (pass, (end_to_end, cpu)) in changes.into_iter().enumerate() {
            let label =
                if rules_changes > 1 { format!("{backend} #{}", pass + 1) } else { backend.to_string() };
            rows.push(vec![
                label,
                thousands(contacts as u64),
                thousands((contacts * per_contact) as u64),
                format!("{:.1}", first.as_secs_f64()),
                format!("{:.1}", end_to_end.as_secs_f64()),
                rate(contacts, end_to_end),
                rate(contacts, kernel),
                format!("{:.1}x", end_to_end.as_secs_f64() / kernel.as_secs_f64()),
                cpu,
            ]);
        }
        let (p50, p99, base50, base99) = event_latency(&app, &store, now).await;
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        latency_rows.push(vec![backend.to_string(), ms(p50), ms(p99), ms(base50), ms(base99)]);
        store.close().await;
        db.drop_database();
        let _ = ScoringRules::default_b2b();
    }
    println!(
        "\nFull rescore: {} contacts, {} events each (180 days of history), default B2B rules\n",
        thousands(contacts as u64),
        per_contact
    );
    print_table(
        &[
            "backend",
            "contacts",
            "events",
            "first scoring (s)",
            "rules change, end to end (s)",
            "contacts/s",
            "in-memory kernel contacts/s",
            "ratio",
            "rules change CPU s, Leadgate / PostgreSQL sessions + background",
        ],
        &rows,
    );
    println!(
        "\nRecording one event (in-process, 1,000 samples each), with its rescoring, beside storing the event alone\n"
    );
    print_table(&["backend", "record + rescore p50", "p99", "store only p50", "p99"], &latency_rows);
    let _: HashMap<(), ()> = HashMap::new();
}
