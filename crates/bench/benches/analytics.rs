//! The reports of issue 23 at a sales team's scale: BENCH_CONTACTS (default 1,000,000) contacts
//! with their lifecycle histories (one move per funnel step reached) and BENCH_DEALS (default
//! 100,000) deals with their stage histories, over two years. Times the server side of three
//! reports (`App::funnel` by source for a year, `App::deal_report` by rep, `App::stage_report`),
//! p50 and p95 over BENCH_RUNS (default 30) runs, each beside the same figure computed by one
//! hand-written SQL query in the same run.
//!
//!     cargo bench -p leadgate-bench --bench analytics
//!
//! BENCH_BACKENDS: `sqlite` (default), `postgres` or both, comma-separated; PostgreSQL needs
//! LEADGATE_TEST_POSTGRES_URL (a server from `scripts/throwaway-postgres`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use leadgate_app::analytics::ReportQuery;
use leadgate_app::{App, ManualClock};
use leadgate_bench::{BenchDb, Rng, print_table, thousands};
use leadgate_core::analytics::{DealsBy, FunnelBy, FunnelMode};
use leadgate_store::Store;
use leadgate_store::driver::Arg;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SOURCES: [(&str, u32); 6] = [
    ("Google", 40),
    ("google", 2),
    ("Direct Traffic", 23),
    ("Olark Chat", 15),
    ("Reference", 5),
    ("Trade fair", 15),
];
const PRODUCTS: [(&str, u32); 7] = [
    ("GTX Basic", 20),
    ("GTX Pro", 10),
    ("GTXPro", 6),
    ("GTX Plus Basic", 15),
    ("GTX Plus Pro", 11),
    ("MG Special", 19),
    ("MG Advanced", 19),
];
const OPEN: [&str; 5] = ["awareness", "first_contact", "qualification", "proposal", "negotiation"];
const DAY: i64 = 86_400;

/// Contacts created over two years; 25 % reach MQL, 40 % of those SQL, half of those an
/// opportunity, half of those customer, each step a few days after the one before, each with
/// its move in `lifecycle_transitions`.
async fn contacts(store: &Store, n: usize, now: Timestamp) {
    let mut rng = Rng::new(23);
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        let mut rows = Vec::with_capacity(chunk);
        let mut moves = Vec::new();
        for i in 0..chunk {
            let k = done + i;
            let id = rng.uuid();
            let created = now - SignedDuration::from_secs(rng.below(730 * DAY as u64) as i64);
            let mut reached: [Option<Timestamp>; 4] = [None; 4];
            let mut at = created;
            let mut stage = "lead";
            for (step, (name, chance)) in
                [("mql", 25), ("sql", 40), ("opportunity", 50), ("customer", 50)].into_iter().enumerate()
            {
                if rng.below(100) >= chance {
                    break;
                }
                at += SignedDuration::from_secs(rng.below(20 * DAY as u64) as i64);
                if at > now {
                    break;
                }
                reached[step] = Some(at);
                moves.push(vec![
                    Arg::from(rng.uuid()),
                    Arg::from(id),
                    Arg::from(stage),
                    Arg::from(name),
                    Arg::from(at),
                ]);
                stage = name;
            }
            rows.push(vec![
                Arg::from(id),
                Arg::from(format!("lead{k}@company{}.example", k / 50)),
                Arg::from(format!("lead{k}@company{}.example", k / 50)),
                Arg::from(stage),
                Arg::from(*rng.weighted(&SOURCES)),
                Arg::from("{}"),
                Arg::from(format!("lead{k}")),
                Arg::from(created),
                Arg::from(created),
                Arg::from(reached[0]),
                Arg::from(reached[1]),
                Arg::from(reached[2]),
                Arg::from(reached[3]),
            ]);
        }
        tx.insert_rows(
            "INSERT INTO contacts (id, email, email_key, lifecycle_stage, source, custom, search_text, \
             created_at, updated_at, reached_mql_at, reached_sql_at, reached_opportunity_at, reached_customer_at)",
            13,
            rows,
            "",
        )
        .await
        .unwrap();
        let moves: Vec<Vec<Arg>> = moves
            .into_iter()
            .map(|mut m| {
                m.push(Arg::from("rule"));
                m.push(Arg::from("bench"));
                m
            })
            .collect();
        tx.insert_rows(
            "INSERT INTO lifecycle_transitions (id, contact_id, from_stage, to_stage, at, actor, reason)",
            7,
            moves,
            "",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        done += chunk;
    }
}

/// Ten reps; deals created over two years, moved forward one stage at a time (sometimes back),
/// two thirds of those older than 60 days closed (won 60 %), each move in `deal_stage_changes`.
async fn deals(store: &Store, n: usize, now: Timestamp) {
    let mut rng = Rng::new(29);
    let reps: Vec<uuid::Uuid> = (0..10).map(|_| rng.uuid()).collect();
    {
        let mut tx = store.begin().await.unwrap();
        for (i, id) in reps.iter().enumerate() {
            tx.execute(
                "INSERT INTO users (id, email, email_key, name, role, created_at) VALUES ($1, $2, $2, $3, 'sales', $4)",
                vec![Arg::from(*id), Arg::from(format!("rep{i}@bench.example")), Arg::from(format!("Rep {i}")), Arg::from(now)],
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        let mut rows = Vec::with_capacity(chunk);
        let mut changes = Vec::new();
        for _ in 0..chunk {
            let id = rng.uuid();
            let created = now - SignedDuration::from_secs(rng.below(730 * DAY as u64) as i64);
            let mut at = created;
            let mut stage = 0usize;
            let mut since: Option<Timestamp> = None;
            let mut record = |from: Option<&str>, to: &str, at: Timestamp, rng: &mut Rng| {
                changes.push(vec![
                    Arg::from(rng.uuid()),
                    Arg::from(id),
                    Arg::from(from.map(str::to_string)),
                    Arg::from(to),
                    Arg::from(at),
                    Arg::from(since),
                ]);
                since = Some(at);
            };
            record(None, OPEN[0], at, &mut rng);
            let steps = rng.below(5) as usize;
            for _ in 0..steps {
                let next_at = at + SignedDuration::from_secs(rng.below(15 * DAY as u64) as i64 + 3600);
                if next_at > now {
                    break;
                }
                let next = if stage > 0 && rng.below(10) == 0 { stage - 1 } else { (stage + 1).min(4) };
                record(Some(OPEN[stage]), OPEN[next], next_at, &mut rng);
                stage = next;
                at = next_at;
            }
            let closes = now - created > SignedDuration::from_secs(60 * DAY) && rng.below(3) < 2;
            let engaged_on = jiff::tz::Offset::UTC.to_datetime(created).date();
            let (final_stage, closed_on, cycle_days) = if closes {
                let close_at = at + SignedDuration::from_secs(rng.below(30 * DAY as u64) as i64 + 3600);
                let won = rng.below(100) < 60;
                let to = if won { "won" } else { "lost" };
                record(Some(OPEN[stage]), to, close_at, &mut rng);
                let closed_on = jiff::tz::Offset::UTC.to_datetime(close_at).date();
                let days = engaged_on.until(closed_on).map(|s| s.get_days() as i64).ok();
                (to, Some(closed_on.to_string()), days)
            } else {
                (OPEN[stage], None, None)
            };
            rows.push(vec![
                Arg::from(id),
                Arg::from(format!("Deal {}", id.simple())),
                Arg::from(final_stage),
                Arg::from(reps[rng.below(10) as usize]),
                Arg::from(*rng.weighted(&PRODUCTS)),
                Arg::from((rng.below(20_000) + 500) as f64),
                Arg::from(engaged_on.to_string()),
                Arg::from(closed_on),
                Arg::from("{}"),
                Arg::from(created),
                Arg::from(at),
                Arg::from(at),
                Arg::from(cycle_days),
            ]);
        }
        tx.insert_rows(
            "INSERT INTO deals (id, name, stage, owner_id, product, value, engaged_on, closed_on, custom, \
             created_at, updated_at, stage_changed_at, cycle_days)",
            13,
            rows,
            "",
        )
        .await
        .unwrap();
        tx.insert_rows(
            "INSERT INTO deal_stage_changes (id, deal_id, from_stage, to_stage, at, from_since)",
            6,
            changes,
            "",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        done += chunk;
    }
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
    let d = env_usize("BENCH_DEALS", 100_000);
    let runs = env_usize("BENCH_RUNS", 30);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for backend in backends.split(',') {
        analytics_on(backend, n, d, runs).await;
    }
}

async fn timed<F, Fut>(runs: usize, mut f: F) -> (Duration, Duration, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::with_capacity(runs);
    let mut lines = 0;
    for _ in 0..runs {
        let t = Instant::now();
        lines = f().await;
        times.push(t.elapsed());
    }
    (percentile(times.clone(), 0.5), percentile(times, 0.95), lines)
}

async fn analytics_on(backend: &str, n: usize, d: usize, runs: usize) {
    let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let db = BenchDb::create(backend, "analytics");
    let store = Store::open(&db.config, now).await.unwrap();
    let app = App::new(store.clone(), Arc::new(ManualClock::new(now)));
    app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
    let started = Instant::now();
    contacts(&store, n, now).await;
    deals(&store, d, now).await;
    eprintln!(
        "{backend}: generated {} contacts and {} deals in {:.1} s",
        thousands(n as u64),
        thousands(d as u64),
        started.elapsed().as_secs_f64()
    );
    // Reports run on a database at rest, not one whose last million rows still sit in SQLite's
    // write-ahead log.
    let store = leadgate_bench::at_rest(&db, store, now).await;
    let app = App::new(store.clone(), Arc::new(ManualClock::new(now)));
    let principal = app.authenticate(leadgate_bench::BENCH_KEY).await.unwrap();
    let year = ReportQuery {
        from: Some(jiff::civil::date(2025, 11, 25)),
        to: Some(jiff::civil::date(2026, 11, 24)),
    };
    let (from, to) = (
        "2025-11-25T00:00:00Z".parse::<Timestamp>().unwrap(),
        "2026-11-25T00:00:00Z".parse::<Timestamp>().unwrap(),
    );
    // How the database plans the funnel's query (an index-only range scan is the goal).
    if backend == "sqlite" {
        let mut s = store.read().await.unwrap();
        let plan = s
            .fetch_all(
                "EXPLAIN QUERY PLAN SELECT source AS g, COUNT(*), COUNT(reached_mql_at), COUNT(reached_sql_at), \
                 COUNT(reached_opportunity_at), COUNT(reached_customer_at) FROM contacts c \
                 WHERE (c.created_at >= $1 AND c.created_at < $2) GROUP BY g",
                vec![Arg::from(from), Arg::from(to)],
            )
            .await
            .unwrap();
        for r in plan {
            eprintln!("plan: {}", r.get::<String>(3).unwrap());
        }
    }
    let mut rows = Vec::new();
    let mut add = |name: &str, (p50, p95, lines): (Duration, Duration, usize)| {
        rows.push(vec![name.to_string(), lines.to_string(), ms(p50), ms(p95)]);
    };

    let r = timed(runs, || async {
        app.funnel(&principal, year, FunnelMode::Cohort, FunnelBy::Source).await.unwrap().lines.len()
    })
    .await;
    add("funnel by source, a year (App::funnel)", r);
    let r = timed(runs, || async {
        let mut s = store.read().await.unwrap();
        s.fetch_all(
            "SELECT source, COUNT(*), COUNT(reached_mql_at), COUNT(reached_sql_at), COUNT(reached_opportunity_at), \
             COUNT(reached_customer_at) FROM contacts WHERE created_at >= $1 AND created_at < $2 GROUP BY source",
            vec![Arg::from(from), Arg::from(to)],
        )
        .await
        .unwrap()
        .len()
    })
    .await;
    add("  baseline: one GROUP BY source", r);
    let r = timed(runs, || async {
        let mut s = store.read().await.unwrap();
        s.fetch_all(
            "SELECT c.source, t.to_stage, COUNT(DISTINCT t.contact_id) FROM lifecycle_transitions t \
             JOIN contacts c ON c.id = t.contact_id WHERE c.created_at >= $1 AND c.created_at < $2 \
             GROUP BY c.source, t.to_stage",
            vec![Arg::from(from), Arg::from(to)],
        )
        .await
        .unwrap()
        .len()
    })
    .await;
    add("  for reference: the same from the stage histories", r);

    let r = timed(runs, || async {
        app.deal_report(&principal, year, DealsBy::Owner).await.unwrap().lines.len()
    })
    .await;
    add("win rate by rep, a year (App::deal_report)", r);
    let r = timed(runs, || async {
        let mut s = store.read().await.unwrap();
        s.fetch_all(
            "SELECT owner_id, SUM(CASE WHEN stage = 'won' THEN 1 ELSE 0 END), COUNT(*) FROM deals \
             WHERE stage IN ('won', 'lost') AND closed_on >= '2025-11-25' AND closed_on <= '2026-11-24' GROUP BY owner_id",
            vec![],
        )
        .await
        .unwrap()
        .len()
    })
    .await;
    add("  baseline: one GROUP BY owner", r);

    let r = timed(runs, || async { app.stage_report(&principal, year).await.unwrap().lines.len() }).await;
    add("time in stage, a year (App::stage_report)", r);
    let r = timed(runs, || async {
        let mut s = store.read().await.unwrap();
        s.fetch_all(
            "SELECT to_stage, COUNT(*), AVG(next_at - at) FROM (SELECT to_stage, at, \
             LEAD(at) OVER (PARTITION BY deal_id ORDER BY at) AS next_at FROM deal_stage_changes) s \
             WHERE next_at >= $1 AND next_at < $2 GROUP BY to_stage",
            vec![Arg::from(from), Arg::from(to)],
        )
        .await
        .unwrap()
        .len()
    })
    .await;
    add("  baseline: one window query (mean only)", r);

    println!(
        "\nReports on {backend}, {} contacts, {} deals, {runs} runs each\n",
        thousands(n as u64),
        thousands(d as u64)
    );
    print_table(&["report", "lines", "p50 ms", "p95 ms"], &rows);
    store.close().await;
    db.drop_database();
}
