//! The chaos test (issue 19): three `leadgate serve` processes share one PostgreSQL while a
//! client loads them through the API; one server is killed with `kill -9`, one is paused with
//! `SIGSTOP` past its lease and then resumed, and PostgreSQL itself is restarted (an immediate
//! shutdown: crash recovery). The background work — SLA reminders and breaches, due tasks,
//! webhook deliveries, imports and rescoring jobs — must come out exact. A checker then counts,
//! from the database and from the webhook receiver:
//!
//! - each reminder, breach and due task fired exactly once (one outbox message each);
//! - each webhook message was received at least once, never with two bodies for one id, and
//!   every message ended delivered;
//! - each import row was written once, and each import's summary counts it once;
//! - no job was lost: every job ended succeeded;
//! - every write the API acknowledged is there.
//!
//! The short version runs in the test command. `scripts/chaos` runs a longer one (more leads,
//! larger imports, more rounds of faults) and prints the same counts, written in BENCHMARKS.md.
//! Sizes: LEADGATE_CHAOS_LEADS, LEADGATE_CHAOS_IMPORT_ROWS, LEADGATE_CHAOS_ROUNDS.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadgate_store::{Store, StoreConfig};
use serde_json::{Value, json};

const KEY: &str = "lg_chaos_test_key_0123456789abcdef0123456789";
/// The servers' lease: short, so a stopped server's work is taken over within the test.
const LEASE_SECS: u64 = 5;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A PostgreSQL cluster of our own (the test restarts it), from scripts/throwaway-postgres.
struct Cluster {
    url: String,
    data: PathBuf,
    bin: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let info = std::env::temp_dir().join(format!("leadgate-chaos-pg-{}", uuid::Uuid::now_v7().simple()));
        let out = Command::new(root.join("scripts/throwaway-postgres"))
            .arg(std::process::id().to_string())
            .env("LEADGATE_PG_INFO", &info)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/throwaway-postgres");
        assert!(out.status.success(), "throwaway PostgreSQL did not start");
        let text = std::fs::read_to_string(&info).expect("cluster info");
        let mut lines = text.lines();
        let (data, bin) = (lines.next().unwrap().into(), lines.next().unwrap().into());
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Cluster { url, data, bin }
    }

    /// Crashes and restarts PostgreSQL (`-m immediate`: no checkpoint, crash recovery).
    fn restart(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let args = ["-D", self.data.to_str().unwrap(), "-m", "immediate", "-w", "-t", "60", "restart"];
        let status = if is_root() {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .arg(&pg_ctl)
                .args(args)
                .stdout(Stdio::null())
                .status()
        } else {
            Command::new(&pg_ctl).args(args).stdout(Stdio::null()).status()
        };
        assert!(status.expect("run pg_ctl").success(), "PostgreSQL did not restart");
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// One `leadgate serve`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str) -> Server {
        Server::start_with(url, &[])
    }

    fn start_with(url: &str, extra: &[String]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
            .args(["--database-url", url, "--log", "warn", "serve", "--listen", "127.0.0.1:0"])
            .args([
                "--bootstrap-api-key",
                KEY,
                "--webhook-allow-private",
                "--lease-seconds",
                &LEASE_SECS.to_string(),
            ])
            .args(["--rate-limit-api-key", "off"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start leadgate serve");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        // With --public-url, the address it listens on comes on a line of its own.
        let behind_proxy = extra.iter().any(|a| a == "--public-url");
        let base = loop {
            let mut line = String::new();
            assert!(Instant::now() < deadline, "the server did not start");
            assert!(reader.read_line(&mut line).unwrap() > 0, "leadgate serve exited: {:?}", child.wait());
            let prefix = if behind_proxy { "Listening on " } else { "Leadgate is running at " };
            if let Some(rest) = line.trim().strip_prefix(prefix) {
                break rest.trim_end_matches('/').to_string();
            }
        };
        std::thread::spawn(move || for _ in reader.lines() {});
        Server { child, base }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that goes to any server that answers, retrying a request (with the same
/// Idempotency-Key) on another when one is down, paused, or its database is.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.send_bytes(method, path, body.map(|b| ("application/json", b.to_string().into_bytes()))).await
    }

    async fn send_bytes(&self, method: reqwest::Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Value {
        let key = uuid::Uuid::now_v7().to_string();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut i = (uuid::Uuid::now_v7().as_bytes()[15] as usize) % self.bases.len();
        loop {
            let base = &self.bases[i % self.bases.len()];
            i += 1;
            let mut req = self.http.request(method.clone(), format!("{base}{path}")).bearer_auth(KEY);
            if method == reqwest::Method::POST {
                req = req.header("idempotency-key", &key);
            }
            if let Some((kind, bytes)) = &body {
                req = req.header("content-type", *kind).body(bytes.clone());
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => {
                    let text = r.text().await.unwrap_or_default();
                    return serde_json::from_str(&text).unwrap_or(Value::Null);
                }
                Ok(r) if r.status().is_client_error() && r.status() != reqwest::StatusCode::CONFLICT => {
                    panic!("{method} {path}: {} {}", r.status(), r.text().await.unwrap_or_default())
                }
                // 5xx (database restarting), 409 (a retry still in flight), or no answer.
                _ => {
                    assert!(Instant::now() < deadline, "{method} {path}: no server answered for two minutes");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

/// What the webhook receiver got: the bodies received for each delivery id.
type Received = Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>;

async fn webhook_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let r = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let r = r.clone();
            async move {
                let id =
                    headers.get("leadgate-delivery").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
                r.lock().unwrap().entry(id).or_default().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The workspace: three reps working around the clock, a two-minute first-touch budget with a
/// reminder one minute before, the hand-off's events sent to the receiver.
async fn set_up(client: &Client, hook_url: &str) {
    let timers = ["lead.assigned", "sla.warning", "sla.breached", "task.due"];
    client.post("/api/v1/webhooks", json!({"url": hook_url, "event_types": timers})).await;
    let every_day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    for n in 0..3 {
        let user = client
            .post("/api/v1/users", json!({"email": format!("rep{n}@chaos.example"), "role": "sales"}))
            .await;
        let id = user["id"].as_str().unwrap();
        client
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/reps/{id}"),
                Some(json!({
                    "team": "inside", "capacity": 10_000,
                    "working_hours": {"time_zone": "UTC", "days": every_day, "start": "00:00", "end": "23:59"}
                })),
            )
            .await;
    }
    client
        .send(
            reqwest::Method::PUT,
            "/api/v1/agreement",
            Some(json!({
                "routing": [{"name": "inside", "assign": {"strategy": "round_robin", "team": "inside"}}],
                "first_touch": {"hot_minutes": 2, "warm_minutes": 2, "cold_minutes": 2},
                "reminder_minutes": 1, "on_breach": "flag", "recycle_days": 30, "follow_up_days": 2
            })),
        )
        .await;
}

/// Leads handed to sales (each gets a reminder in a minute and a breach in two) and tasks due
/// in `task_delay`.
async fn hand_over_leads(
    client: &Client,
    round: usize,
    leads: usize,
    task_delay: Duration,
    acked: &Mutex<Vec<String>>,
) {
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let client = client.clone();
            let mine: Vec<usize> = (0..leads).filter(|i| i % 4 == w).collect();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in mine {
                    let c = client.post("/api/v1/contacts", json!({"email": format!("lead{round}-{i}@chaos.example")})).await;
                    let id = c["id"].as_str().unwrap().to_string();
                    client.post(&format!("/api/v1/contacts/{id}/lifecycle"), json!({"to": "mql"})).await;
                    let due = jiff::Timestamp::now() + jiff::SignedDuration::try_from(task_delay).unwrap();
                    client
                        .post("/api/v1/tasks", json!({"contact_id": id, "kind": "call", "title": "Call back", "due_at": due.to_string()}))
                        .await;
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    for w in workers {
        let ids = w.await.unwrap();
        acked.lock().unwrap().extend(ids);
    }
}

/// Uploads a CSV of `rows` new contacts and starts its import; returns the job id.
async fn start_import(client: &Client, name: &str, rows: usize) -> String {
    let mut csv = String::from("Email,First name,Company\n");
    for i in 0..rows {
        csv.push_str(&format!("{name}-{i}@import.example,Person {i},Company {}\n", i % 97));
    }
    let up = client
        .send_bytes(
            reqwest::Method::POST,
            &format!("/api/v1/uploads?name={name}.csv"),
            Some(("text/csv", csv.into_bytes())),
        )
        .await;
    let job = client.post("/api/v1/imports", json!({"upload_id": up["id"], "entity": "contacts"})).await;
    job["id"].as_str().unwrap().to_string()
}

/// Which server runs `job`: waits until it is claimed, and reads the process id in its lease's
/// owner (`host:pid:…`).
async fn holder_of(store: &Store, job: &str, servers: &[Option<Server>]) -> usize {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let sql = format!("SELECT lease_owner FROM jobs WHERE id = '{job}' AND state = 'running'");
        let owner: Option<String> = query(store, &sql).await.first().and_then(|r| r.get(0).ok());
        if let Some(pid) = owner.as_deref().and_then(|o| o.split(':').nth(1))
            && let Some(i) =
                servers.iter().position(|s| s.as_ref().is_some_and(|s| s.child.id().to_string() == pid))
        {
            return i;
        }
        assert!(Instant::now() < until, "job {job} was never claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a read, again while the database restarts.
async fn query(store: &Store, sql: &str) -> Vec<leadgate_store::driver::Row> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = match store.read().await {
            Ok(mut s) => s.fetch_all(sql, vec![]).await,
            Err(e) => Err(e),
        };
        match rows {
            Ok(rows) => return rows,
            Err(e) => assert!(Instant::now() < until, "{sql}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    query(store, sql).await[0].get(0).unwrap()
}

/// Waits until the background work is done: no job queued or running, every deadline and
/// due task of the test passed and fired, no webhook message waiting.
async fn wait_until_quiet(store: &Store, last_deadline: jiff::Timestamp) {
    let until = Instant::now() + Duration::from_secs(240);
    loop {
        let past = jiff::Timestamp::now() > last_deadline + jiff::SignedDuration::from_secs(3);
        let busy = count(store, "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").await
            + count(store, "SELECT COUNT(*) FROM assignments WHERE closed_at IS NULL AND (warned_at IS NULL OR breached_at IS NULL)").await
            + count(store, "SELECT COUNT(*) FROM tasks WHERE done_at IS NULL AND notified_at IS NULL").await
            + count(store, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'").await;
        if past && busy == 0 {
            return;
        }
        assert!(Instant::now() < until, "the background work did not finish: {busy} items left");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_survive_kill_pause_and_a_database_restart_with_every_effect_once() {
    let leads = env_number("LEADGATE_CHAOS_LEADS", 40);
    let import_rows = env_number("LEADGATE_CHAOS_IMPORT_ROWS", 3_000);
    let rounds = env_number("LEADGATE_CHAOS_ROUNDS", 1);
    let started = Instant::now();
    let cluster = Cluster::start();
    // The first migrates and creates the admin; the others find them.
    let mut servers: Vec<Option<Server>> = (0..3).map(|_| Some(Server::start(&cluster.url))).collect();
    // The workspace builds reqwest without a default TLS provider.
    leadgate_app::webhooks::install_tls_provider();
    let mut client = Client {
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap(),
        bases: Arc::new(servers.iter().map(|s| s.as_ref().unwrap().base.clone()).collect()),
    };
    let (hook, received) = webhook_receiver().await;
    set_up(&client, &hook).await;
    let acked = Mutex::new(Vec::new());
    let mut imports = Vec::new();
    let mut last_deadline = jiff::Timestamp::now();
    let mut faults = Vec::new();
    let store = Store::open(&StoreConfig::Postgres { url: cluster.url.clone() }, jiff::Timestamp::now())
        .await
        .unwrap();
    for round in 0..rounds {
        // Leads whose reminders fire a minute from now and breaches two; tasks due in a minute.
        let t0 = Instant::now();
        imports.push((start_import(&client, &format!("r{round}a"), import_rows).await, import_rows));
        hand_over_leads(&client, round, leads, Duration::from_secs(62), &acked).await;
        last_deadline = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(121);
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        // A rescore job, then, as reminders and due tasks fire, the server running a large
        // import dies with kill -9.
        tokio::time::sleep_until(at(57).into()).await;
        let rules = client.send(reqwest::Method::GET, "/api/v1/scoring/rules", None).await;
        client.send(reqwest::Method::PUT, "/api/v1/scoring/rules", Some(rules["rules"].clone())).await;
        tokio::time::sleep_until(at(60).into()).await;
        let job = start_import(&client, &format!("r{round}b"), import_rows * 4).await;
        imports.push((job.clone(), import_rows * 4));
        let victim = holder_of(&store, &job, &servers).await;
        servers[victim].as_ref().unwrap().signal("-KILL");
        servers[victim] = None;
        faults.push(format!(
            "round {round}: server {victim} killed (kill -9) running an import, as reminders fell due"
        ));
        // As breaches fire, the server running another import is paused past its lease (its
        // job is taken over; when it wakes, the fencing token stops it), and the database
        // crashes and restarts meanwhile.
        tokio::time::sleep_until(at(112).into()).await;
        let job = start_import(&client, &format!("r{round}c"), import_rows * 4).await;
        imports.push((job.clone(), import_rows * 4));
        let paused = holder_of(&store, &job, &servers).await;
        let pause = Duration::from_secs(LEASE_SECS * 3 + 2);
        servers[paused].as_ref().unwrap().signal("-STOP");
        let resume = Instant::now() + pause;
        faults.push(format!(
            "round {round}: server {paused} paused (SIGSTOP) for {}s running an import",
            pause.as_secs()
        ));
        tokio::time::sleep_until(at(120).into()).await;
        let (data, bin) = (cluster.data.clone(), cluster.bin.clone());
        tokio::task::spawn_blocking(move || Cluster { url: String::new(), data, bin }.restart())
            .await
            .unwrap();
        faults.push(format!("round {round}: PostgreSQL restarted (immediate shutdown, crash recovery)"));
        tokio::time::sleep_until(resume.into()).await;
        servers[paused].as_ref().unwrap().signal("-CONT");
        // The killed server comes back for the next round.
        let url = cluster.url.clone();
        servers[victim] = Some(tokio::task::spawn_blocking(move || Server::start(&url)).await.unwrap());
        client.bases = Arc::new(servers.iter().flatten().map(|s| s.base.clone()).collect());
    }
    wait_until_quiet(&store, last_deadline).await;
    // Let deliveries that a paused sender may still re-send arrive, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Every acknowledged write is there.
    let acked = acked.into_inner().unwrap();
    let stored_leads =
        count(&store, "SELECT COUNT(*) FROM contacts WHERE email LIKE 'lead%@chaos.example'").await;
    assert_eq!(stored_leads as usize, acked.len(), "acknowledged leads");
    assert_eq!(acked.len(), leads * rounds);

    // Each timer fired once: one outbox message per reminder, breach and due task.
    let messages = query(&store, "SELECT id, event_type, payload, state FROM webhook_deliveries").await;
    let mut per_effect: HashMap<(String, String), usize> = HashMap::new();
    let mut not_delivered = 0;
    let mut payloads: HashMap<String, String> = HashMap::new();
    for m in &messages {
        let id: uuid::Uuid = m.get(0).unwrap();
        let (kind, payload, state): (String, String, String) =
            (m.get(1).unwrap(), m.get(2).unwrap(), m.get(3).unwrap());
        if state != "delivered" {
            not_delivered += 1;
        }
        let body: Value = serde_json::from_str(&payload).unwrap();
        let subject = match kind.as_str() {
            "sla.warning" | "sla.breached" => body["data"]["assignment"]["id"].as_str().map(String::from),
            "task.due" => body["data"]["task"]["id"].as_str().map(String::from),
            _ => None,
        };
        if let Some(s) = subject {
            *per_effect.entry((kind.clone(), s)).or_default() += 1;
        }
        payloads.insert(id.to_string(), payload);
    }
    let fired = |kind: &str| per_effect.iter().filter(|((k, _), _)| k == kind).count();
    let twice: Vec<_> = per_effect.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "effects applied more than once: {twice:?}");
    let assignments =
        count(&store, "SELECT COUNT(*) FROM assignments WHERE rep_id IS NOT NULL").await as usize;
    let routed = count(&store, "SELECT COUNT(DISTINCT contact_id) FROM assignments").await as usize;
    assert_eq!(assignments, routed, "each lead routed once");
    assert!(assignments >= leads * rounds, "every lead handed over was routed");
    assert_eq!(fired("sla.warning"), assignments, "one reminder per assignment");
    assert_eq!(fired("sla.breached"), assignments, "one breach per assignment");
    let tasks = count(&store, "SELECT COUNT(*) FROM tasks WHERE created_by IS NOT NULL").await as usize;
    assert_eq!(tasks, leads * rounds);
    let first_contact = count(&store, "SELECT COUNT(*) FROM tasks WHERE created_by IS NULL").await as usize;
    assert_eq!(fired("task.due"), tasks + first_contact, "one notice per due task");

    // Every message delivered, at least once, never with two bodies for one id.
    assert_eq!(not_delivered, 0, "messages not delivered");
    let received = received.lock().unwrap().clone();
    let mut duplicates = 0;
    for (id, payload) in &payloads {
        let got = received.get(id).unwrap_or_else(|| panic!("message {id} never received"));
        assert!(got.iter().all(|b| b == payload.as_bytes()), "message {id} received with another body");
        duplicates += got.len() - 1;
    }
    assert!(received.keys().all(|id| payloads.contains_key(id)), "a message the database does not know");

    // Each import row written once, counted once; no job lost.
    for (job, rows) in &imports {
        let j = client.send(reqwest::Method::GET, &format!("/api/v1/imports/{job}"), None).await;
        assert_eq!(j["state"], "succeeded", "{j}");
        assert_eq!(j["summary"]["created"].as_u64(), Some(*rows as u64), "each row counted once: {j}");
    }
    let imported =
        count(&store, "SELECT COUNT(*) FROM contacts WHERE email LIKE '%@import.example'").await as usize;
    assert_eq!(imported, imports.iter().map(|(_, n)| n).sum::<usize>(), "each import row written once");
    let unfinished = count(&store, "SELECT COUNT(*) FROM jobs WHERE state <> 'succeeded'").await;
    assert_eq!(unfinished, 0, "every job succeeded");
    let jobs = count(&store, "SELECT COUNT(*) FROM jobs").await;
    let taken_over = count(&store, "SELECT COUNT(*) FROM jobs WHERE attempts > 1").await;
    assert!(taken_over as usize >= 2 * rounds, "the killed and the paused servers' imports were taken over");

    // The figures scripts/chaos reports (and BENCHMARKS.md keeps).
    println!("chaos: {} s, faults:", started.elapsed().as_secs());
    for f in &faults {
        println!("  {f}");
    }
    println!(
        "chaos: leads {} | reminders {} | breaches {} | due tasks {} | webhook messages {} (received {} times; {} duplicate deliveries) | import rows {} | jobs {} ({} taken over) | effects applied twice 0 | messages lost 0 | jobs lost 0",
        acked.len(),
        fired("sla.warning"),
        fired("sla.breached"),
        fired("task.due"),
        payloads.len(),
        payloads.len() + duplicates,
        duplicates,
        imported,
        jobs,
        taken_over,
    );
    store.close().await;
}

/// `scripts/smtp-sink`: a real SMTP server logging every message it accepts.
struct SmtpSink {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl SmtpSink {
    fn start(delay_ms: u64) -> SmtpSink {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let log =
            std::env::temp_dir().join(format!("leadgate-chaos-sink-{}.jsonl", uuid::Uuid::now_v7().simple()));
        let mut child = Command::new(root.join("scripts/smtp-sink"))
            .args(["--log", log.to_str().unwrap(), "--delay-ms", &delay_ms.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start scripts/smtp-sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (run scripts/setup-test-tools): {line:?}")
        });
        SmtpSink { child, port, log }
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Nurture's exactly-once (issue 21): three servers send a two-step sequence to every enrolled
/// contact through one SMTP server that answers slowly, while one server after another is killed
/// with `kill -9` (often mid-conversation) and started again. At the end the sink's log is
/// counted per message: none twice, every step of every reachable contact sent or marked
/// ambiguous, nothing to a contact made do-not-email before sending started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_send_each_nurture_message_at_most_once_through_kill_9() {
    let enrolments = env_number("LEADGATE_CHAOS_ENROLMENTS", 300);
    let started = Instant::now();
    let cluster = Cluster::start();
    let sink = SmtpSink::start(60);
    let extra: Vec<String> = [
        "--smtp-url",
        &format!("smtp://127.0.0.1:{}", sink.port),
        "--smtp-connections",
        "2",
        "--public-url",
        "http://leadgate.test",
        "--bounce-address",
        "bounces@chaos.example",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut servers: Vec<Option<Server>> =
        (0..3).map(|_| Some(Server::start_with(&cluster.url, &extra))).collect();
    leadgate_app::webhooks::install_tls_provider();
    let mut client = Client {
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap(),
        bases: Arc::new(servers.iter().map(|s| s.as_ref().unwrap().base.clone()).collect()),
    };
    let store = Store::open(&StoreConfig::Postgres { url: cluster.url.clone() }, jiff::Timestamp::now())
        .await
        .unwrap();
    // Sending closed for now (the window opens in two hours), so enrolment and the suppressions
    // happen before any message goes.
    let closed_from =
        (jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).hour() as u8 + 2) % 24;
    let settings = |from: u8, to: u8| {
        json!({"window": {"days": [1, 2, 3, 4, 5, 6, 7], "from_hour": from, "to_hour": to},
               "cap": {"max": 10, "hours": 1}, "from_address": "news@chaos.example"})
    };
    client
        .send(reqwest::Method::PUT, "/api/v1/nurture/settings", Some(settings(closed_from, closed_from + 1)))
        .await;
    let template = |subject: &str| json!({"name": subject, "subject": subject, "html": "<p>Hello {{ first_name }}, <a href=\"https://chaos.example/x\">read</a></p>"});
    let a = client.post("/api/v1/email-templates", template("First")).await;
    let b = client.post("/api/v1/email-templates", template("Second")).await;
    let seq = client
        .post(
            "/api/v1/sequences",
            json!({"name": "Chaos", "purpose": "newsletter", "steps": [
                {"key": "first", "type": "send", "template": a["id"]},
                {"key": "second", "type": "send", "template": b["id"]}
            ]}),
        )
        .await;
    let seq = seq["id"].as_str().unwrap().to_string();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in (0..enrolments).filter(|i| i % 4 == w) {
                    let c = client
                        .post(
                            "/api/v1/contacts",
                            json!({"email": format!("n{i}@chaos.example"), "first_name": format!("N{i}")}),
                        )
                        .await;
                    let id = c["id"].as_str().unwrap().to_string();
                    let consent =
                        json!({"purpose": "newsletter", "granted": true, "text": "News", "version": "1"});
                    client.post(&format!("/api/v1/contacts/{id}/consents"), consent).await;
                    ids.push((i, id));
                }
                ids
            })
        })
        .collect();
    let mut contacts = Vec::new();
    for w in workers {
        contacts.extend(w.await.unwrap());
    }
    for chunk in contacts.chunks(1000) {
        let ids: Vec<&str> = chunk.iter().map(|(_, id)| id.as_str()).collect();
        let r = client.post(&format!("/api/v1/sequences/{seq}/enrolments"), json!({"contacts": ids})).await;
        assert_eq!(r["enrolled"].as_u64(), Some(chunk.len() as u64), "{r}");
    }
    // One in ten becomes do-not-email before sending opens: nothing may reach them.
    let suppressed: Vec<String> =
        contacts.iter().filter(|(i, _)| i % 10 == 0).map(|(i, _)| format!("n{i}@chaos.example")).collect();
    for (i, id) in contacts.iter().filter(|(i, _)| i % 10 == 0) {
        let _ = i;
        client
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v1/contacts/{id}"),
                Some(json!({"do_not_email": true})),
            )
            .await;
    }
    // Sending opens; one server after another is killed with kill -9 every two seconds and
    // started again, until every message is settled.
    client.send(reqwest::Method::PUT, "/api/v1/nurture/settings", Some(settings(0, 24))).await;
    let mut kills = 0;
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        let open =
            count(&store, "SELECT COUNT(*) FROM email_messages WHERE state IN ('reserved', 'sending')").await
                + count(&store, "SELECT COUNT(*) FROM enrolments WHERE state = 'active'").await;
        if open == 0 {
            break;
        }
        assert!(Instant::now() < until, "sending did not finish: {open} messages and enrolments open");
        tokio::time::sleep(Duration::from_secs(2)).await;
        if kills < 12 {
            let victim = kills % 3;
            servers[victim].as_ref().unwrap().signal("-KILL");
            servers[victim] = None;
            kills += 1;
            let (url, extra) = (cluster.url.clone(), extra.clone());
            servers[victim] =
                Some(tokio::task::spawn_blocking(move || Server::start_with(&url, &extra)).await.unwrap());
            client.bases = Arc::new(servers.iter().flatten().map(|s| s.base.clone()).collect());
        }
    }

    // Count at the sink, per message.
    let received = sink.received();
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *per_message.entry(m["x_leadgate"].as_str().unwrap_or("?").to_string()).or_default() += 1;
    }
    let duplicates: usize = per_message.values().map(|n| n - 1).sum();
    assert_eq!(duplicates, 0, "messages received more than once");
    let to_suppressed = received
        .iter()
        .filter(|m| m["to"].as_array().unwrap().iter().any(|to| suppressed.iter().any(|s| to == s)))
        .count();
    assert_eq!(to_suppressed, 0, "messages sent to do-not-email contacts");
    let rows = query(&store, "SELECT id, state, step_key FROM email_messages").await;
    let reachable = enrolments - suppressed.len();
    assert_eq!(rows.len(), reachable * 2, "one message per step per reachable enrolment");
    let (mut sent, mut ambiguous) = (0, 0);
    for r in &rows {
        let id: uuid::Uuid = r.get(0).unwrap();
        let state: String = r.get(1).unwrap();
        let hex = id.simple().to_string();
        match state.as_str() {
            "sent" => {
                sent += 1;
                assert_eq!(per_message.get(&hex), Some(&1), "message {hex} recorded sent but not received");
            }
            "ambiguous" => ambiguous += 1,
            other => panic!("message {hex} ended {other}"),
        }
    }
    assert!(
        per_message.keys().all(|hex| rows.iter().any(|r| r
            .get::<uuid::Uuid>(0)
            .unwrap()
            .simple()
            .to_string()
            == *hex)),
        "a message the database does not know"
    );
    let exited =
        count(&store, "SELECT COUNT(*) FROM enrolments WHERE exit_reason = 'do_not_email'").await as usize;
    assert_eq!(exited, suppressed.len(), "the do-not-email contacts left the sequence");
    println!(
        "nurture chaos: {} s | enrolments {enrolments} | steps 2 | servers 3, kill -9 {kills} times | messages {} | sent {sent} | ambiguous {ambiguous} | received at the sink {} | received twice {duplicates} | sent to do-not-email {to_suppressed}",
        started.elapsed().as_secs(),
        rows.len(),
        received.len(),
    );
    store.close().await;
}
