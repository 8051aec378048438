//! Nurture at scale (issue 21).
//!
//! 1. One sequence step evaluated for BENCH_ENROLMENTS (default 1,000,000) enrolled contacts, each
//!    with a granted newsletter consent and a cold score: the evaluator claims who is due, reads
//!    their contacts, consents, recipient records and recent sends, takes a branch (hot → an
//!    offer, else the welcome), reserves the message under its unique key and saves the next
//!    position (`App::evaluate_enrolments` until nobody is due) — beside the same walk in memory
//!    (`core::nurture::sequence::advance` for every enrolment and a reservation record built),
//!    same run.
//! 2. Sending BENCH_MESSAGES (default 20,000) reserved messages to a local SMTP server
//!    (`scripts/smtp-sink`, aiosmtpd) through `App::send_due` with 4 connections (render, consent
//!    check, `sending` committed, SMTP, `sent` committed) — beside a raw lettre loop sending the
//!    same number of rendered messages to the same server with the same 4 connections, same run.
//!
//!     cargo bench -p leadgate-bench --bench nurture
//!
//! BENCH_BACKENDS: `sqlite` (default), `postgres` or both; PostgreSQL needs
//! LEADGATE_TEST_POSTGRES_URL. The sink needs `scripts/setup-test-tools` (aiosmtpd).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use leadgate_app::nurture::{MailSetup, SmtpMailer};
use leadgate_app::{App, ManualClock};
use leadgate_bench::{BenchDb, Rng, env_usize, print_table, rate, thousands};
use leadgate_core::ids::{ContactId, TemplateId};
use leadgate_core::nurture::sequence::{Action, Behaviour, Condition, Position, Step, advance};
use leadgate_core::scoring::Temperature;
use leadgate_store::Store;
use leadgate_store::driver::Arg;
use lettre::AsyncTransport;

/// Contacts (cold score, newsletter consent) enrolled in `sequence` and due now.
async fn generate(store: &Store, n: usize, sequence: uuid::Uuid, now: Timestamp) {
    let mut rng = Rng::new(21);
    let mut done = 0;
    while done < n {
        let chunk = 10_000.min(n - done);
        let mut tx = store.begin_batch().await.unwrap();
        let (mut contacts, mut scores, mut consents, mut enrolments) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..chunk {
            let k = done + i;
            let id = uuid::Uuid::from_u128(((k as u128 + 1) << 64) | u128::from(rng.next_u64()));
            let email = format!("person{k}@company{}.example", k / 20);
            contacts.push(vec![
                Arg::from(id),
                Arg::from(email.clone()),
                Arg::from(email),
                Arg::from("nurturing"),
                Arg::from(format!("{{\"first_name\":\"P{k}\"}}")),
                Arg::from(format!("person{k}")),
                Arg::from(now),
                Arg::from(now),
            ]);
            scores.push(vec![Arg::from(id), Arg::from("cold"), Arg::from("C"), Arg::from(0_i64)]);
            consents.push(vec![
                Arg::from(uuid::Uuid::from_u128(((k as u128 + 1) << 64) | u128::from(rng.next_u64()))),
                Arg::from(id),
                Arg::from("newsletter"),
                Arg::from(true),
                Arg::from("News from us"),
                Arg::from("1"),
                Arg::from("form"),
                Arg::from(now),
            ]);
            enrolments.push(vec![
                Arg::from(uuid::Uuid::from_u128(((k as u128 + 1) << 64) | u128::from(rng.next_u64()))),
                Arg::from(sequence),
                Arg::from(id),
                Arg::from(0_i64),
                Arg::from(now),
                Arg::from(now),
                Arg::from("active"),
                Arg::from(now),
                Arg::from("bench"),
            ]);
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
            "INSERT INTO contact_scores (contact_id, temperature, fit_grade, engagement)",
            4,
            scores,
            "",
        )
        .await
        .unwrap();
        tx.insert_rows(
            "INSERT INTO consents (id, contact_id, purpose, granted, text, version, source, at)",
            8,
            consents,
            "",
        )
        .await
        .unwrap();
        tx.insert_rows(
            "INSERT INTO enrolments (id, sequence_id, contact_id, step, step_since, wake_at, state, enrolled_at, enrolled_by)",
            9,
            enrolments,
            "",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        done += chunk;
    }
}

fn steps(welcome: TemplateId, offer: TemplateId) -> Vec<Step> {
    vec![
        Step {
            key: "hot".into(),
            action: Action::Branch {
                when: Condition::TemperatureAtLeast { temperature: Temperature::Hot },
                to: "offer".into(),
            },
        },
        Step { key: "welcome".into(), action: Action::Send { template: welcome } },
        Step { key: "stop".into(), action: Action::End },
        Step { key: "offer".into(), action: Action::Send { template: offer } },
    ]
}

struct Sink(std::process::Child, u16);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sink() -> Sink {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let log =
        std::env::temp_dir().join(format!("leadgate-bench-sink-{}.jsonl", uuid::Uuid::now_v7().simple()));
    let mut child = std::process::Command::new(root.join("scripts/smtp-sink"))
        .args(["--log", log.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start scripts/smtp-sink (run scripts/setup-test-tools)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    Sink(child, line.trim().parse().expect("the sink's port"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = env_usize("BENCH_ENROLMENTS", 1_000_000);
    let m = env_usize("BENCH_MESSAGES", 20_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for backend in backends.split(',') {
        nurture_on(backend, n, m).await;
    }
}

async fn setup(app: &App, key: &str) -> (uuid::Uuid, TemplateId, TemplateId) {
    let p = app.authenticate(key).await.unwrap();
    let mut settings = leadgate_app::nurture::NurtureSettings {
        window: leadgate_core::nurture::sending::SendWindow::always(),
        from_address: Some("news@bench.example".into()),
        ..Default::default()
    };
    settings.cap.max = 10;
    app.put_nurture_settings(&p, settings).await.unwrap();
    let draft = |name: &str| {
        leadgate_app::nurture::TemplateDraft {
        name: name.into(),
        language: Some("en".into()),
        subject: "Hello {{ first_name | default(\"there\") }}".into(),
        html: "<p>Hello {{ first_name | default(\"there\") }},</p><p>Our <a href=\"https://bench.example/pricing\">prices</a> \
               and <a href=\"https://bench.example/guide\">the guide</a>.</p>"
            .into(),
        text: None,
        from_name: Some("Bench".into()),
        from_address: None,
        reply_to: None,
    }
    };
    let welcome = app.create_template(&p, draft("Welcome")).await.unwrap().id;
    let offer = app.create_template(&p, draft("Offer")).await.unwrap().id;
    let seq = app
        .create_sequence(
            &p,
            leadgate_app::nurture::SequenceDraft {
                name: "Bench".into(),
                steps: steps(welcome, offer),
                purpose: Some(leadgate_core::form::Purpose::Newsletter),
                trigger: None,
                reenrol: false,
                state: None,
            },
        )
        .await
        .unwrap();
    (seq.sequence.id.as_uuid(), welcome, offer)
}

async fn nurture_on(backend: &str, n: usize, m: usize) {
    let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let mut rows = Vec::new();

    // 1. One step evaluated for n enrolments.
    {
        let db = BenchDb::create(backend, "nurture");
        let store = Store::open(&db.config, now).await.unwrap();
        let app = App::new(store.clone(), clock.clone());
        app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
        let (seq, welcome, offer) = setup(&app, leadgate_bench::BENCH_KEY).await;
        let started = Instant::now();
        generate(&store, n, seq, now).await;
        eprintln!(
            "{backend}: generated {} enrolled contacts in {:.1} s",
            thousands(n as u64),
            started.elapsed().as_secs_f64()
        );
        let store = leadgate_bench::at_rest(&db, store, now).await;
        let app = App::new(store.clone(), clock.clone());
        let t = Instant::now();
        let mut evaluated = 0;
        loop {
            let k = app.evaluate_enrolments().await.unwrap();
            if k == 0 {
                break;
            }
            let before = evaluated;
            evaluated += k;
            // Progress every 100,000, with the pace of the last stretch (a slowdown shows).
            if evaluated / 100_000 > before / 100_000 {
                eprintln!(
                    "{backend}:   {} evaluated, {:.1} s",
                    thousands(evaluated as u64),
                    t.elapsed().as_secs_f64()
                );
            }
        }
        let took = t.elapsed();
        let mut s = store.read().await.unwrap();
        let reserved: i64 =
            s.fetch_one("SELECT COUNT(*) FROM email_messages", vec![]).await.unwrap().get(0).unwrap();
        drop(s);
        assert_eq!(reserved as usize, n, "one message reserved per enrolment");
        eprintln!("{backend}: evaluated {} enrolments in {:.1} s", thousands(n as u64), took.as_secs_f64());
        rows.push(vec![
            format!("{backend}: evaluate one step, {} enrolments", thousands(n as u64)),
            format!("{:.1} s", took.as_secs_f64()),
            rate(evaluated, took),
        ]);
        // The same walk in memory: the rule, and the reservation record built.
        let contact = leadgate_core::contact::NewContact::lead(
            leadgate_core::email::Email::parse("a@b.example").unwrap(),
        )
        .into_contact(ContactId(uuid::Uuid::nil()), now);
        let steps = steps(welcome, offer);
        let t = Instant::now();
        let mut reserved = Vec::with_capacity(n);
        for i in 0..n {
            let (effects, _) = advance(
                &steps,
                Position { step: 0, since: now },
                &contact,
                &Behaviour::default(),
                now,
                now,
                &jiff::tz::TimeZone::UTC,
            );
            for e in effects {
                if let leadgate_core::nurture::sequence::Effect::Send { step, template } = e {
                    reserved.push((i, step, template));
                }
            }
        }
        let mem = t.elapsed();
        assert_eq!(reserved.len(), n);
        rows.push(vec![
            format!("in memory: the same rule for {} enrolments", thousands(n as u64)),
            format!("{:.2} s", mem.as_secs_f64()),
            rate(n, mem),
        ]);
        store.close().await;
        db.drop_database();
    }

    // 2. Sending m messages to a local SMTP server, beside raw lettre.
    {
        let sink = sink();
        let url = format!("smtp://127.0.0.1:{}", sink.1);
        let db = BenchDb::create(backend, "nurture_send");
        let store = Store::open(&db.config, now).await.unwrap();
        let app = App::new(store.clone(), clock.clone());
        app.bootstrap_admin("bench@bench.example", Some(leadgate_bench::BENCH_KEY)).await.unwrap();
        let (seq, _, _) = setup(&app, leadgate_bench::BENCH_KEY).await;
        generate(&store, m, seq, now).await;
        let store = leadgate_bench::at_rest(&db, store, now).await;
        let mailer = SmtpMailer::new(&url, 4).unwrap();
        let app = App::new(store.clone(), clock.clone()).with_mail(MailSetup {
            mailer: Arc::new(mailer),
            public_url: "https://leads.bench.example".into(),
            return_path: Some("bounces@bench.example".into()),
            parallel: 4,
            dkim: None,
        });
        while app.evaluate_enrolments().await.unwrap() > 0 {}
        let t = Instant::now();
        let mut handled = 0;
        loop {
            let k = app.send_due().await.unwrap();
            if k == 0 {
                break;
            }
            handled += k;
        }
        let took = t.elapsed();
        let mut s = store.read().await.unwrap();
        let sent: i64 = s
            .fetch_one("SELECT COUNT(*) FROM email_messages WHERE state = 'sent'", vec![])
            .await
            .unwrap()
            .get(0)
            .unwrap();
        drop(s);
        assert_eq!(sent as usize, m, "every message sent ({handled} handled)");
        rows.push(vec![
            format!("{backend}: Leadgate sends {} messages, 4 connections", thousands(m as u64)),
            format!("{:.1} s", took.as_secs_f64()),
            rate(m, took),
        ]);

        // Raw lettre: the same rendered message, the same server, 4 connections.
        let parts = leadgate_app::nurture::render::render(
            "Hello P1",
            "<p>Hello P1,</p><p>Our <a href=\"https://leads.bench.example/e/c/0123456789abcdef0123456789abcdef.0.0123456789abcdef0123456789abcdef?u=https%3A%2F%2Fbench.example%2Fpricing\">prices</a></p>",
            "Hello P1",
            &serde_json::json!({}),
        )
        .unwrap();
        let raw = leadgate_app::nurture::render::build(
            &parts,
            leadgate_app::nurture::render::Envelope {
                from: "Bench <news@bench.example>".parse().unwrap(),
                reply_to: None,
                to: "person1@company0.example".parse().unwrap(),
                message_id: "<lg.0123456789abcdef0123456789abcdef@bench.example>".into(),
                list_unsubscribe: "<https://leads.bench.example/e/u/x>",
                token_header: "0123456789abcdef0123456789abcdef",
                dkim: None,
            },
        )
        .unwrap();
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
            .unwrap()
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(4))
            .build();
        let raw = Arc::new(raw);
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..4 {
            let (transport, raw) = (transport.clone(), raw.clone());
            tasks.spawn(async move {
                for i in (0..m).filter(|i| i % 4 == w) {
                    let envelope = lettre::address::Envelope::new(
                        Some("bounces@bench.example".parse().unwrap()),
                        vec![format!("person{i}@company0.example").parse().unwrap()],
                    )
                    .unwrap();
                    transport.send_raw(&envelope, &raw).await.unwrap();
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let raw_took = t.elapsed();
        rows.push(vec![
            format!("raw lettre: {} messages, 4 connections", thousands(m as u64)),
            format!("{:.1} s", raw_took.as_secs_f64()),
            rate(m, raw_took),
        ]);
        rows.push(vec![
            "Leadgate / raw".into(),
            format!("{:.0} %", 100.0 * raw_took.as_secs_f64() / took.as_secs_f64()),
            String::new(),
        ]);
        store.close().await;
        db.drop_database();
        let _ = SignedDuration::ZERO;
    }
    print_table(&["nurture", "time", "rate"], &rows);
}
