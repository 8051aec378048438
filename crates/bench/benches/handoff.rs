//! Hand-off to sales (issue 8), on SQLite:
//!
//! 1. SLA evaluation over BENCH_LEADS (default 1,000,000) open assigned leads: a full pass as the
//!    product runs it (`App::sla_overview`: read every open deadline, evaluate each) beside the
//!    same evaluation over the same rows already in memory, in the same run. Also one timer pass
//!    (`App::run_timers`) when 1 % of the leads just passed their reminder.
//! 2. Webhook delivery throughput: BENCH_DELIVERIES (default 5,000) queued messages sent by
//!    `App::deliver_webhooks` to a receiver on loopback, beside plain concurrent POSTs of the same
//!    bodies with the same client settings and parallelism (the HTTP ceiling).
//!
//!     cargo bench -p leadgate-bench --bench handoff

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use leadgate_app::handoff::SlaOverview;
use leadgate_app::webhooks::WebhookPolicy;
use leadgate_app::{App, ManualClock};
use leadgate_bench::{Rng, print_table, rate, temp_dir, thousands};
use leadgate_core::ids::DeliveryId;
use leadgate_store::driver::Arg;
use leadgate_store::{Session, Store, StoreConfig};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` contacts, each with an open assignment to one of 50 reps; deadlines spread over the next
/// week, except `due_now` of them whose reminder just passed.
async fn generate(store: &Store, n: usize, due_now: usize, now: Timestamp) -> Vec<uuid::Uuid> {
    let mut rng = Rng::new(8);
    let reps: Vec<uuid::Uuid> = (0..50).map(|_| rng.uuid()).collect();
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        for part in 0..chunk.div_ceil(500) {
            let count = 500.min(chunk - part * 500);
            let mut contacts = Vec::new();
            let mut assignments = Vec::new();
            let mut c_rows = Vec::new();
            let mut a_rows = Vec::new();
            let mut scores = Vec::new();
            for i in 0..count {
                let k = done + part * 500 + i;
                let id = rng.uuid();
                scores.push(vec![Arg::from(id)]);
                contacts.extend([Arg::from(id), Arg::from(format!("lead{k}@bench.example")), Arg::from(now)]);
                c_rows.push(format!(
                    "(${}, ${}, ${}, 'mql', '{{}}', '', ${}, ${})",
                    i * 3 + 1,
                    i * 3 + 2,
                    i * 3 + 2,
                    i * 3 + 3,
                    i * 3 + 3
                ));
                let (remind, due) = if k < due_now {
                    (now - SignedDuration::from_mins(1), now + SignedDuration::from_mins(14))
                } else {
                    let due = now + SignedDuration::from_mins(30 + rng.below(7 * 24 * 60) as i64);
                    (due - SignedDuration::from_mins(15), due)
                };
                assignments.extend([
                    Arg::from(rng.uuid()),
                    Arg::from(id),
                    Arg::from(reps[rng.below(50) as usize]),
                    Arg::from(now),
                    Arg::from(remind),
                    Arg::from(due),
                ]);
                let b = i * 6;
                a_rows.push(format!(
                    "(${}, ${}, ${}, 'bench', 'bench', ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            tx.execute(
                &format!(
                    "INSERT INTO contacts (id, email, email_key, lifecycle_stage, custom, search_text, created_at, updated_at) VALUES {}",
                    c_rows.join(", ")
                ),
                contacts,
            )
            .await
            .unwrap();
            tx.insert_rows("INSERT INTO contact_scores (contact_id)", 1, scores, "").await.unwrap();
            tx.execute(
                &format!(
                    "INSERT INTO assignments (id, contact_id, rep_id, rule, why, assigned_at, remind_at, due_at) VALUES {}",
                    a_rows.join(", ")
                ),
                assignments,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        done += chunk;
    }
    reps
}

async fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, count)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let leads = env_usize("BENCH_LEADS", 1_000_000);
    let deliveries = env_usize("BENCH_DELIVERIES", 5_000);
    let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let dir = temp_dir("handoff");
    let store = Store::open(&StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") }, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let app =
        App::new(store.clone(), clock.clone()).with_webhook_policy(WebhookPolicy { allow_private: true });
    app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
    let principal = app.authenticate(leadgate_bench::BENCH_KEY).await.unwrap();

    let due_now = leads / 100;
    let started = Instant::now();
    generate(&store, leads, due_now, now).await;
    eprintln!(
        "generated {} leads with open assignments in {:.1} s",
        thousands(leads as u64),
        started.elapsed().as_secs_f64()
    );

    // 1. A full SLA pass, end to end, and the same evaluation in memory.
    let mut rows_table = Vec::new();
    let started = Instant::now();
    let overview = app.sla_overview(&principal).await.unwrap();
    let full = started.elapsed();
    let rows = store.read().await.unwrap().open_deadlines().await.unwrap();
    let started = Instant::now();
    let in_memory = SlaOverview::evaluate(&rows, now);
    let kernel = started.elapsed();
    assert_eq!(overview, in_memory, "the two passes must agree");
    assert_eq!(overview.warning as usize, due_now);
    rows_table.push(vec![
        "full SLA pass (read every open deadline + evaluate)".into(),
        format!("{:.3}", full.as_secs_f64()),
        rate(leads, full),
        format!("{:.1}x", full.as_secs_f64() / kernel.as_secs_f64()),
    ]);
    rows_table.push(vec![
        "baseline: same evaluation, rows already in memory".into(),
        format!("{:.3}", kernel.as_secs_f64()),
        rate(leads, kernel),
        "1.0x".into(),
    ]);
    let started = Instant::now();
    let fired = app.run_timers().await.unwrap();
    let timers = started.elapsed();
    assert_eq!(fired, due_now);
    rows_table.push(vec![
        format!("timer pass: {} reminders fire (1 %), the rest untouched", thousands(due_now as u64)),
        format!("{:.3}", timers.as_secs_f64()),
        rate(due_now, timers),
        "—".into(),
    ]);
    println!("\nSLA evaluation on SQLite, {} open assigned leads (50 reps)\n", thousands(leads as u64));
    print_table(&["pass", "seconds", "leads/s", "vs in-memory"], &rows_table);

    // 2. Webhook delivery throughput.
    let (url, received) = receiver().await;
    let hook = app
        .create_webhook(
            &principal,
            leadgate_app::webhooks::NewWebhook {
                url: url.clone(),
                event_types: vec!["*".into()],
                description: None,
                active: true,
            },
        )
        .await
        .unwrap();
    let body = serde_json::json!({"type": "lead.assigned", "data": {"assignment": {"why": "bench", "rule": "inside sales"}}}).to_string();
    let mut tx: Session = store.begin().await.unwrap();
    let mut rng = Rng::new(3);
    let bodies = vec![(None, body.clone()); deliveries];
    let targets = tx.webhook_subscribers("lead.assigned").await.unwrap();
    tx.queue_deliveries("lead.assigned", &targets, &bodies, &mut || DeliveryId(rng.uuid()), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let _ = hook;
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let n = app.deliver_webhooks().await.unwrap();
        if n == 0 {
            break;
        }
        sent += n;
    }
    let ours = started.elapsed();
    assert_eq!(sent, deliveries);
    assert_eq!(received.load(Ordering::Relaxed), deliveries);

    leadgate_app::webhooks::install_tls_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut launched = 0;
    let mut finished = 0;
    while finished < deliveries {
        while set.len() < 16 && launched < deliveries {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            set.spawn(async move {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            launched += 1;
        }
        if let Some(r) = set.join_next().await {
            assert!(r.unwrap().is_success());
            finished += 1;
        }
    }
    let raw = started.elapsed();
    println!(
        "\nWebhook delivery to a receiver on loopback, {} messages, 16 at a time\n",
        thousands(deliveries as u64)
    );
    print_table(
        &["path", "seconds", "messages/s", "share of raw"],
        &[
            vec![
                "deliver_webhooks (claim, sign, POST, log each attempt)".into(),
                format!("{:.2}", ours.as_secs_f64()),
                rate(deliveries, ours),
                format!("{:.0} %", 100.0 * raw.as_secs_f64() / ours.as_secs_f64()),
            ],
            vec![
                "baseline: plain POSTs, same client settings and parallelism".into(),
                format!("{:.2}", raw.as_secs_f64()),
                rate(deliveries, raw),
                "100 %".into(),
            ],
        ],
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
