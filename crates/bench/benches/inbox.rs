//! The web UI's lead inbox over BENCH_CONTACTS (default 1,000,000) contacts: server
//! time of one page (`App::inbox`, 51 rows: a page and the "next" probe) for every filter the
//! page offers (open leads only, as the page's default), p50 and p95 over BENCH_RUNS (default 30)
//! runs each, beside the floor of reading 51 contact rows by primary key in the same run.
//!
//!     cargo bench -p leadgate-bench --bench inbox
//!
//! BENCH_BACKENDS: `sqlite` (default), `postgres` or both, comma-separated; PostgreSQL needs
//! LEADGATE_TEST_POSTGRES_URL (a server from `scripts/throwaway-postgres`). BENCH_CASES: run the
//! cases whose name contains it (e.g. `sorted by`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use leadgate_app::{App, ManualClock};
use leadgate_bench::{BenchDb, Rng, print_table, thousands};
use leadgate_store::Store;
use leadgate_store::driver::Arg;
use leadgate_store::web::{InboxFilter, InboxSort};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const STAGES: [(&str, u32); 6] =
    [("lead", 70), ("mql", 8), ("sql", 3), ("customer", 2), ("nurturing", 12), ("disqualified", 5)];
const TEMPERATURES: [(&str, u32); 3] = [("cold", 80), ("warm", 15), ("hot", 5)];
const GRADES: [(&str, u32); 4] = [("A", 5), ("B", 15), ("C", 30), ("D", 50)];
const SOURCES: [(&str, u32); 5] =
    [("Google", 40), ("Direct Traffic", 25), ("Olark Chat", 15), ("Reference", 5), ("Trade fair", 15)];

/// Company names (with a number) in no order of their ids.
const WORDS: [&str; 8] = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne"];

async fn generate(store: &Store, n: usize, now: Timestamp) -> uuid::Uuid {
    let mut rng = Rng::new(11);
    let rep = rng.uuid();
    // The rep who holds 1 % of the leads is a user (the owner column shows their name).
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(
        leadgate_core::ids::UserId(rep),
        &leadgate_core::email::Email::parse("rep@bench.example").unwrap(),
        Some("Rep"),
        leadgate_core::access::Role::Sales,
        None,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut company = rng.uuid();
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        for part in 0..chunk.div_ceil(400) {
            let count = 400.min(chunk - part * 400);
            let mut values = Vec::new();
            let mut rows = Vec::new();
            let mut scores = Vec::new();
            let mut predictions = Vec::new();
            let mut p_rows = Vec::new();
            let mut assignments = Vec::new();
            let mut a_rows = Vec::new();
            let mut companies = Vec::new();
            let mut c_rows = Vec::new();
            for i in 0..count {
                let k = done + part * 400 + i;
                let id = rng.uuid();
                // 50 contacts per company.
                if k % 50 == 0 {
                    company = rng.uuid();
                    let name = format!("{} {}", WORDS[rng.below(WORDS.len() as u64) as usize], k / 50);
                    let cb = companies.len();
                    companies.extend([
                        Arg::from(company),
                        Arg::from(name.clone()),
                        Arg::from(name.to_lowercase()),
                        Arg::from(now),
                    ]);
                    c_rows.push(format!(
                        "(${}, ${}, '{{}}', ${}, ${}, ${}, ${})",
                        cb + 1,
                        cb + 2,
                        cb + 3,
                        cb + 4,
                        cb + 4,
                        cb + 3
                    ));
                }
                let temperature = *rng.weighted(&TEMPERATURES);
                let engagement = match temperature {
                    "hot" => 3_000 + rng.below(10_000) as i64,
                    "warm" => 1_500 + rng.below(3_000) as i64,
                    _ => rng.below(2_000) as i64,
                };
                let b = values.len();
                values.extend([
                    Arg::from(id),
                    Arg::from(format!("lead{k}@company{}.example", k / 50)),
                    Arg::from(format!("First{k}")),
                    Arg::from(*rng.weighted(&STAGES)),
                    Arg::from(*rng.weighted(&SOURCES)),
                    Arg::from(format!("first{k} lead{k}@company{}.example", k / 50)),
                    Arg::from(now - SignedDuration::from_secs(rng.below(365 * 86_400) as i64)),
                    Arg::from(company),
                ]);
                rows.push(format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, '{{}}', ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 7,
                    b + 8
                ));
                scores.push(vec![
                    Arg::from(id),
                    Arg::from(temperature),
                    Arg::from(*rng.weighted(&GRADES)),
                    Arg::from(engagement),
                ]);
                if k % 2 == 0 {
                    let pb = predictions.len();
                    predictions.extend([
                        Arg::from(id),
                        Arg::from(rng.below(1000) as f64 / 1000.0),
                        Arg::from(now),
                    ]);
                    p_rows.push(format!("(${}, 1, ${}, 0.0, ${})", pb + 1, pb + 2, pb + 3));
                }
                if k % 100 == 0 {
                    let ab = assignments.len();
                    assignments.extend([
                        Arg::from(rng.uuid()),
                        Arg::from(id),
                        Arg::from(rep),
                        Arg::from(now),
                    ]);
                    a_rows.push(format!(
                        "(${}, ${}, ${}, 'bench', 'bench', ${})",
                        ab + 1,
                        ab + 2,
                        ab + 3,
                        ab + 4
                    ));
                }
            }
            if !c_rows.is_empty() {
                tx.execute(
                    &format!(
                        "INSERT INTO companies (id, name, custom, search_text, created_at, updated_at, name_key) VALUES {}",
                        c_rows.join(", ")
                    ),
                    companies,
                )
                .await
                .unwrap();
            }
            let sql = format!(
                "INSERT INTO contacts (id, email, email_key, first_name, lifecycle_stage, \
                 source, custom, search_text, created_at, updated_at, company_id) VALUES {}",
                rows.join(", ")
            );
            tx.execute(&sql, values).await.unwrap();
            tx.insert_rows(
                "INSERT INTO contact_scores (contact_id, temperature, fit_grade, engagement)",
                4,
                scores,
                "",
            )
            .await
            .unwrap();
            tx.execute(
                &format!(
                    "INSERT INTO predictions (contact_id, model_version, probability, raw_score, predicted_at) VALUES {}",
                    p_rows.join(", ")
                ),
                predictions,
            )
            .await
            .unwrap();
            if !a_rows.is_empty() {
                tx.execute(
                    &format!(
                        "INSERT INTO assignments (id, contact_id, rep_id, rule, why, assigned_at) VALUES {}",
                        a_rows.join(", ")
                    ),
                    assignments,
                )
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
        done += chunk;
    }
    rep
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = env_usize("BENCH_CONTACTS", 1_000_000);
    let runs = env_usize("BENCH_RUNS", 30);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for backend in backends.split(',') {
        inbox_on(backend, n, runs).await;
    }
}

async fn inbox_on(backend: &str, n: usize, runs: usize) {
    let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let db = BenchDb::create(backend, "inbox");
    let store = Store::open(&db.config, now).await.unwrap();
    let app = App::new(store.clone(), Arc::new(ManualClock::new(now)));
    app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
    let principal = app.authenticate(leadgate_bench::BENCH_KEY).await.unwrap();
    let started = Instant::now();
    let rep = generate(&store, n, now).await;
    eprintln!(
        "{backend}: generated {} contacts in {:.1} s",
        thousands(n as u64),
        started.elapsed().as_secs_f64()
    );
    match backend {
        // VACUUM outside a transaction also sets the visibility map PostgreSQL's index-only
        // scans rely on, as autovacuum would after a load.
        "postgres" => db.psql("VACUUM (ANALYZE)"),
        _ => {
            let mut s = store.begin().await.unwrap();
            s.execute("ANALYZE", vec![]).await.unwrap();
            s.commit().await.unwrap();
        }
    }

    let cases: Vec<(&str, InboxFilter, u32)> = vec![
        ("no filter, first page", InboxFilter::default(), 0),
        ("no filter, page 20", InboxFilter::default(), 20),
        ("stage = mql", InboxFilter { stage: Some("mql".into()), ..Default::default() }, 0),
        ("temperature = warm", InboxFilter { temperature: Some("warm".into()), ..Default::default() }, 0),
        ("fit grade = A", InboxFilter { grade: Some("A".into()), ..Default::default() }, 0),
        ("source = Reference", InboxFilter { source: Some("Reference".into()), ..Default::default() }, 0),
        (
            "owner = a rep (1 % of leads)",
            InboxFilter { owner: Some(leadgate_core::ids::UserId(rep)), ..Default::default() },
            0,
        ),
        (
            "created in the last 30 days",
            InboxFilter {
                created_after: Some(now - SignedDuration::from_hours(30 * 24)),
                ..Default::default()
            },
            0,
        ),
        ("text search `lead12345`", InboxFilter { text: Some("lead12345".into()), ..Default::default() }, 0),
        (
            "stage = lead, temperature = hot, grade = B",
            InboxFilter {
                stage: Some("lead".into()),
                temperature: Some("hot".into()),
                grade: Some("B".into()),
                ..Default::default()
            },
            0,
        ),
    ];
    let mut cases = cases;
    // Every column the page sorts by, largest first (creation: oldest first), and by name A to
    // Z on a later page.
    for sort in InboxSort::ALL.into_iter().filter(|s| *s != InboxSort::Priority) {
        let name = match sort {
            InboxSort::Probability => "sorted by probability",
            InboxSort::Name => "sorted by name",
            InboxSort::Company => "sorted by company",
            InboxSort::Stage => "sorted by stage",
            InboxSort::Grade => "sorted by fit grade",
            InboxSort::Engagement => "sorted by engagement",
            InboxSort::Owner => "sorted by owner",
            _ => "sorted by creation, oldest first",
        };
        let ascending = sort == InboxSort::Created;
        cases.push((name, InboxFilter { sort, ascending, ..Default::default() }, 0));
    }
    cases.push((
        "sorted by name, A to Z, page 20",
        InboxFilter { sort: InboxSort::Name, ascending: true, ..Default::default() },
        20,
    ));
    cases.push((
        "sorted by name, stage = mql",
        InboxFilter { sort: InboxSort::Name, stage: Some("mql".into()), ..Default::default() },
        0,
    ));
    cases.push((
        "sorted by probability, owner = a rep",
        InboxFilter {
            sort: InboxSort::Probability,
            owner: Some(leadgate_core::ids::UserId(rep)),
            ..Default::default()
        },
        0,
    ));
    cases.push((
        "sorted by probability, stage = mql",
        InboxFilter { sort: InboxSort::Probability, stage: Some("mql".into()), ..Default::default() },
        0,
    ));
    // As the page asks: open leads only unless a stage is chosen. BENCH_CASES (a part of their
    // names) runs some cases only.
    let only = std::env::var("BENCH_CASES").unwrap_or_default();
    let cases: Vec<(&str, InboxFilter, u32)> = cases
        .into_iter()
        .filter(|(n, _, _)| n.contains(only.as_str()))
        .map(|(n, f, p)| (n, InboxFilter { open_only: true, ..f }, p))
        .collect();
    let mut rows = Vec::new();
    for (name, filter, page) in &cases {
        let mut times = Vec::with_capacity(runs);
        let mut found = 0;
        for _ in 0..runs {
            let t = Instant::now();
            found = app.inbox(&principal, filter, 51, page * 50).await.unwrap().len();
            times.push(t.elapsed());
        }
        rows.push(vec![
            name.to_string(),
            found.to_string(),
            ms(percentile(times.clone(), 0.5)),
            ms(percentile(times, 0.95)),
        ]);
    }
    // The total the page shows above the list, for the same filters.
    for (name, filter, _) in cases.iter().filter(|c| c.1.sort == InboxSort::Priority && c.2 == 0) {
        let mut times = Vec::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let t = Instant::now();
            total = app.inbox_count(&principal, filter).await.unwrap();
            times.push(t.elapsed());
        }
        rows.push(vec![
            format!("count: {name}"),
            total.to_string(),
            ms(percentile(times.clone(), 0.5)),
            ms(percentile(times, 0.95)),
        ]);
    }
    // The floor: 51 contact rows read by primary key range.
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let mut s = store.read().await.unwrap();
        let r = s
            .fetch_all(
                "SELECT id, email, first_name, lifecycle_stage, source FROM contacts ORDER BY id LIMIT 51",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(r.len(), 51);
        times.push(t.elapsed());
    }
    rows.push(vec![
        "baseline: 51 rows by primary key".into(),
        "51".into(),
        ms(percentile(times.clone(), 0.5)),
        ms(percentile(times, 0.95)),
    ]);
    println!("\nLead inbox on {backend}, {} contacts, {runs} runs per filter\n", thousands(n as u64));
    print_table(&["filter", "rows", "p50 ms", "p95 ms"], &rows);
    store.close().await;
    db.drop_database();
}
