//! The `leadgate` binary as users and operators meet it: help texts, configuration errors, first
//! start, graceful shutdown, and what survives `kill -9` in the middle of a batch ingest.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadgate_store::testing::{Backend, TestDb};
use leadgate_store::{Store, StoreConfig};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const KEY: &str = "lg_cli_test_key_0123456789abcdef0123456789";

fn leadgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadgate-cli-{tag}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The database arguments for a backend: a data directory, or a fresh PostgreSQL database.
fn db_args(config: &StoreConfig) -> Vec<String> {
    match config {
        StoreConfig::Sqlite { path } => {
            vec!["--data-dir".into(), path.parent().unwrap().display().to_string()]
        }
        // One suppression key per database, wherever the command runs from (the default is
        // in ./leadgate-data, which differs between the tests' working directories).
        StoreConfig::Postgres { url } => {
            let key =
                std::env::temp_dir().join(format!("leadgate-test-{}.key", url.rsplit('/').next().unwrap()));
            vec![
                "--database-url".into(),
                url.clone(),
                "--suppression-key-file".into(),
                key.display().to_string(),
            ]
        }
    }
}

/// A running `leadgate serve` and the URL it printed.
struct Server {
    child: Child,
    base: String,
    stdout_lines: Vec<String>,
}

fn start_server(args: &[String]) -> Server {
    let mut child = leadgate()
        .args(args)
        .args(["serve", "--listen", "127.0.0.1:0", "--bootstrap-api-key", KEY, "--log", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start leadgate");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let mut line = String::new();
        assert!(Instant::now() < deadline, "the server did not print its URL: {lines:?}");
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("leadgate serve exited early: {lines:?} {:?}", child.wait());
        }
        lines.push(line.trim_end().to_string());
        if let Some(rest) = line.trim().strip_prefix("Leadgate is running at ") {
            break rest.trim_end_matches('/').to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    Server { child, base, stdout_lines: lines }
}

#[test]
fn help_explains_every_command_and_option() {
    let out = leadgate().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in
        ["serve", "migrate", "--data-dir", "--database-url", "LEADGATE_DATA_DIR", "LEADGATE_DATABASE_URL"]
    {
        assert!(text.contains(needle), "`leadgate --help` mentions {needle}:\n{text}");
    }
    let out = leadgate().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in
        ["--listen", "127.0.0.1:8080", "--bootstrap-api-key", "LEADGATE_BOOTSTRAP_API_KEY", "--admin-email"]
    {
        assert!(text.contains(needle), "`leadgate serve --help` mentions {needle}:\n{text}");
    }
}

#[test]
fn bad_configuration_is_explained_not_panicked() {
    let out = leadgate().args(["--database-url", "mysql://x@y/z", "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postgres://"), "{err}");
    assert!(!err.contains("panicked"));

    let out = leadgate().args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));

    let out = leadgate()
        .args(["--database-url", "postgres://nobody:secret@127.0.0.1:1/none", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(!err.contains("secret"), "passwords are never printed: {err}");

    let file = temp_dir("notadir").join("file");
    std::fs::write(&file, "x").unwrap();
    let out = leadgate().args(["--data-dir", file.to_str().unwrap(), "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));

    // Nurture e-mail: links need the public address; a DKIM key comes with its selector and
    // domain, and one that cannot be read is named.
    let data = temp_dir("smtp");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--smtp-url",
            "smtp://127.0.0.1:1",
        ];
        args.extend(extra);
        let out = leadgate().args(&args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = serve(&[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--smtp-url needs --public-url"), "{err}");
    let (code, err) =
        serve(&["--public-url", "http://127.0.0.1:8080", "--dkim-key", "/nonexistent/dkim.key"]);
    assert_eq!(code, Some(2), "clap: the selector and domain are required with the key: {err}");
    let (code, err) = serve(&[
        "--public-url",
        "http://127.0.0.1:8080",
        "--dkim-key",
        "/nonexistent/dkim.key",
        "--dkim-selector",
        "mail",
        "--dkim-domain",
        "acme.test",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read the DKIM key"), "{err}");
    assert!(!err.contains("panicked"));
}

#[tokio::test]
async fn first_start_creates_the_database_and_prints_the_key_once() {
    let dir = temp_dir("first");
    let args = vec!["--data-dir".to_string(), dir.join("data").display().to_string()];
    let mut child = leadgate()
        .args(&args)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("Admin API key") {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "exited early: {printed}");
        printed.push_str(&line);
    }
    let key = printed
        .lines()
        .find(|l| l.contains("Admin API key"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    let base = printed
        .lines()
        .find_map(|l| l.strip_prefix("Leadgate is running at "))
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert!(dir.join("data/leadgate.sqlite3").exists());
    let me: Value = http_client()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    child.kill().unwrap();
    child.wait().unwrap();

    // Second start: the admin exists, no key is printed.
    let server = start_server(&args);
    assert!(!server.stdout_lines.join("\n").contains("Admin API key"));
    stop(server, "-TERM");
    let _ = std::fs::remove_dir_all(dir);
}

fn stop(mut server: Server, signal: &str) -> std::process::ExitStatus {
    let pid = server.child.id().to_string();
    Command::new("kill").args([signal, &pid]).status().unwrap();
    server.child.wait().unwrap()
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = start_server(&db_args(&db.config));
    let client = http_client();
    let base = server.base.clone();
    let mut sent = Vec::new();
    for i in 0..20 {
        let client = client.clone();
        let base = base.clone();
        sent.push(tokio::spawn(async move {
            let events: Vec<Value> =
                (0..200).map(|j| json!({"email": format!("t{i}@x.example"), "kind": "page_view", "properties": {"n": j}})).collect();
            client.post(format!("{base}/api/v1/events/batch")).bearer_auth(KEY).json(&json!({"events": events})).send().await
        }));
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    let status = tokio::task::spawn_blocking(move || stop(server, "-TERM")).await.unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
    let mut acknowledged = Vec::new();
    for (i, h) in sent.into_iter().enumerate() {
        if let Ok(r) = h.await.unwrap()
            && r.status() == 201
        {
            acknowledged.push(i);
        }
    }
    let store = Store::open(&db.config, jiff::Timestamp::now()).await.unwrap();
    let counts = events_per_email(&store).await;
    for i in &acknowledged {
        assert_eq!(counts.get(&format!("t{i}@x.example")), Some(&200), "acknowledged batch {i} is complete");
    }
    store.close().await;
    db.cleanup().await;
}

async fn events_per_email(store: &Store) -> HashMap<String, i64> {
    let mut s = store.read().await.unwrap();
    let rows = s
        .fetch_all(
            "SELECT c.email_key, COUNT(e.id) FROM contacts c LEFT JOIN events e ON e.contact_id = c.id GROUP BY c.email_key",
            vec![],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get::<String>(0).unwrap(), r.get::<i64>(1).unwrap())).collect()
}

/// Sends numbered batches until `stop` is set, returning the batch numbers acknowledged with 201.
async fn ingest_until_killed(
    base: String,
    worker: usize,
    next: Arc<Mutex<usize>>,
    acked: Arc<Mutex<Vec<usize>>>,
) {
    let client = {
        leadgate_app::webhooks::install_tls_provider();
        reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
    };
    loop {
        let n = {
            let mut g = next.lock().await;
            *g += 1;
            *g
        };
        let body = batch_body(n);
        let sent = client
            .post(format!("{base}/api/v1/events/batch"))
            .bearer_auth(KEY)
            .header("idempotency-key", format!("batch-{n}"))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == 201 => acked.lock().await.push(n),
            Ok(r) => panic!("worker {worker}: unexpected status {}", r.status()),
            Err(_) => return, // the server is gone
        }
    }
}

fn batch_body(n: usize) -> Value {
    // No client event ids: only the Idempotency-Key protects the retry from duplicates.
    let events: Vec<Value> = (0..100)
        .map(|j| json!({"email": format!("crash{n}@x.example"), "kind": "page_view", "properties": {"j": j}}))
        .collect();
    json!({"events": events})
}

async fn crash_during_ingest(backend: Backend) {
    let db = TestDb::new(backend).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let server = start_server(&args);
    let next = Arc::new(Mutex::new(0usize));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(ingest_until_killed(server.base.clone(), w, next.clone(), acked.clone())))
        .collect();
    // Let a good number of batches land, then pull the plug mid-stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().await.len() < 15 {
        assert!(Instant::now() < deadline, "ingest too slow to test");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL: no shutdown code runs
    server.child.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    let attempted = *next.lock().await;

    // Every acknowledged batch is complete after the crash.
    let store = Store::open(&db.config, jiff::Timestamp::now()).await.unwrap();
    let counts = events_per_email(&store).await;
    for n in &acked {
        assert_eq!(
            counts.get(&format!("crash{n}@x.example")),
            Some(&100),
            "acknowledged batch {n} survived kill -9"
        );
    }
    for (email, count) in &counts {
        assert!(
            *count == 0 || *count == 100,
            "{email} has a partial batch of {count}: transactions are atomic"
        );
    }
    store.close().await;

    // The client retries everything it sent, with the same keys: nothing is duplicated.
    let server = start_server(&args);
    let client = http_client();
    for n in 1..=attempted {
        let r = client
            .post(format!("{}/api/v1/events/batch", server.base))
            .bearer_auth(KEY)
            .header("idempotency-key", format!("batch-{n}"))
            .json(&batch_body(n))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        if acked.contains(&n) {
            assert_eq!(r.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
        }
    }
    stop(server, "-TERM");
    let store = Store::open(&db.config, jiff::Timestamp::now()).await.unwrap();
    let counts = events_per_email(&store).await;
    for n in 1..=attempted {
        assert_eq!(
            counts.get(&format!("crash{n}@x.example")),
            Some(&100),
            "batch {n}: exactly once after retry"
        );
    }
    store.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_batch_ingest_loses_nothing_acknowledged_on_sqlite() {
    crash_during_ingest(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_batch_ingest_loses_nothing_acknowledged_on_postgres() {
    crash_during_ingest(Backend::Postgres).await;
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = temp_dir("migrate");
    let out = leadgate().args(["--data-dir", dir.to_str().unwrap(), "migrate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema version"));
    assert!(Path::new(&dir).join("leadgate.sqlite3").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn explain_score_and_rules_from_the_command_line() {
    let db = TestDb::new(Backend::Sqlite).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let server = start_server(&args);
    let client = http_client();
    for kind in ["page_view", "quote_request"] {
        let r = client
            .post(format!("{}/api/v1/events", server.base))
            .bearer_auth(KEY)
            .json(&json!({"email": "ada@acme.example", "kind": kind, "properties": {"url": "/pricing"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    stop(server, "-TERM");

    let out = leadgate().args(&args).args(["explain", "ADA@acme.example"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Engagement: 60.00 points"), "{text}");
    assert!(text.contains("quote-request") && text.contains("pricing-page"), "{text}");
    assert!(text.contains("Temperature: hot"), "{text}");

    let json_out = leadgate().args(&args).args(["explain", "ada@acme.example", "--json"]).output().unwrap();
    let x: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(x["engagement"]["score"], 60.0);

    let missing = leadgate().args(&args).args(["explain", "nobody@acme.example"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nobody@acme.example"));

    let dir = temp_dir("rules");
    let file = dir.join("rules.json");
    let out =
        leadgate().args(&args).args(["rules", "export", "-o", file.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&file).unwrap().replace("\"points\": 50.0", "\"points\": 80.0");
    std::fs::write(&file, text).unwrap();
    let out = leadgate()
        .args(&args)
        .args(["rules", "import", file.to_str().unwrap(), "--comment", "quotes weigh more"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Stored rules version"));
    let out = leadgate().args(&args).args(["score", "--all"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Rescored 1 contacts"));
    let x: Value = serde_json::from_slice(
        &leadgate().args(&args).args(["explain", "ada@acme.example", "--json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(x["engagement"]["score"], 90.0, "the new weight applies after rescoring");

    std::fs::write(&file, "{ \"fit\": ").unwrap();
    let out = leadgate().args(&args).args(["rules", "import", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = leadgate().args(&args).args(["rules", "import", "--preset", "nope"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("b2b"));
    let _ = std::fs::remove_dir_all(dir);
    db.cleanup().await;
}

fn datasets() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    assert!(dir.is_dir(), "the shared datasets are missing at {}", dir.display());
    dir
}

fn run_import(args: &[String], extra: &[&str], cwd: &Path) -> (bool, String, String) {
    run_in(args, &[&["import"], extra].concat(), cwd)
}

/// Runs `leadgate` with `args` then `extra` in `cwd`: whether it succeeded, stdout, stderr.
fn run_in(args: &[String], extra: &[&str], cwd: &Path) -> (bool, String, String) {
    let out = leadgate().args(args).args(extra).current_dir(cwd).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn count(config: &StoreConfig, sql: &str) -> i64 {
    let store = Store::open(config, jiff::Timestamp::now()).await.unwrap();
    let mut s = store.read().await.unwrap();
    let n: i64 = s.fetch_one(sql, vec![]).await.unwrap().get(0).unwrap();
    drop(s);
    store.close().await;
    n
}

async fn shared_datasets_import_in_one_command(backend: Backend) {
    let db = TestDb::new(backend).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("xedu");
    let leads = datasets().join("x-education/Leads.csv");
    let leads = leads.to_str().unwrap();
    let (ok, out, err) = run_import(&args, &["contacts", leads, "--preset", "x-education"], &cwd);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("created 9,240 · updated 0 · unchanged 0 · rejected 0"), "{out}");
    // Regression (issue 18, item 14): the file's own scoring rules are offered, in one command.
    assert!(out.contains("leadgate rules import --preset x-education"), "{out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts").await, 9240);
    // Regression (issue 18, item 11): the `Lead Source` column is each contact's first touch.
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts WHERE source = 'Olark Chat'").await, 1755);
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts WHERE outcome = 'converted'").await, 3561);
    assert_eq!(
        count(&db.config, "SELECT COUNT(*) FROM contacts WHERE lifecycle_stage = 'customer'").await,
        3561
    );
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts WHERE do_not_email").await, 734);
    if backend == Backend::Postgres {
        // The import refreshed the planner's statistics of the tables it grew (from nothing to
        // 9,240 rows), rather than leaving lookups planned for empty tables until autovacuum.
        let analyzed = "SELECT COUNT(*) FROM pg_stat_user_tables \
            WHERE relname IN ('contacts', 'contact_scores', 'companies') AND last_analyze IS NOT NULL";
        assert_eq!(count(&db.config, analyzed).await, 3);
    }
    let rules = leadgate().args(&args).args(["rules", "import", "--preset", "x-education"]).output().unwrap();
    assert!(rules.status.success(), "{}", String::from_utf8_lossy(&rules.stderr));
    let scored = leadgate().args(&args).args(["score", "--all"]).output().unwrap();
    assert!(scored.status.success(), "{}", String::from_utf8_lossy(&scored.stderr));
    // The README's walk-through ends with leads scored by rules that read the file's fields.
    let graded = "SELECT COUNT(*) FROM contact_scores WHERE fit_grade IN ('A', 'B')";
    assert!(count(&db.config, graded).await > 1000, "graded by the file's rules");
    let disqualified = "SELECT COUNT(*) FROM contacts WHERE lifecycle_stage = 'disqualified'";
    assert!(count(&db.config, disqualified).await < 1000, "not knocked out by B2B rules");
    let (ok, out, _) = run_import(&args, &["contacts", leads, "--preset", "x-education"], &cwd);
    assert!(
        ok && out.contains("created 0 · updated 0 · unchanged 9,240 · rejected 0"),
        "re-importing changes nothing: {out}"
    );
    assert!(!out.contains("rules import"), "the file's rules are active: nothing to offer: {out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts").await, 9240);

    let accounts = datasets().join("maven-crm/accounts.csv");
    let (ok, out, err) =
        run_import(&args, &["companies", accounts.to_str().unwrap(), "--preset", "maven-crm"], &cwd);
    assert!(ok && out.contains("created 85"), "{out}{err}");
    let pipeline = datasets().join("maven-crm/sales_pipeline.csv");
    let (ok, out, err) =
        run_import(&args, &["deals", pipeline.to_str().unwrap(), "--preset", "maven-crm"], &cwd);
    assert!(ok && out.contains("created 8,800"), "{out}{err}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM deals WHERE stage = 'won'").await, 4238);
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM deals WHERE stage = 'lost'").await, 2473);
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM deals WHERE company_id IS NULL").await, 1425);
    assert_eq!(
        count(&db.config, "SELECT COUNT(*) FROM companies").await,
        85,
        "every account of the pipeline exists"
    );
    assert!(!cwd.join("Leads.rejects.csv").exists(), "no rejects, no report");
    let _ = std::fs::remove_dir_all(cwd);
    db.cleanup().await;
}

#[tokio::test]
async fn shared_datasets_import_in_one_command_on_sqlite() {
    shared_datasets_import_in_one_command(Backend::Sqlite).await;
}

#[tokio::test]
async fn shared_datasets_import_in_one_command_on_postgres() {
    shared_datasets_import_in_one_command(Backend::Postgres).await;
}

#[tokio::test]
async fn bad_files_and_bad_rows_get_clear_messages() {
    let db = TestDb::new(Backend::Sqlite).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("bad");
    let write = |name: &str, bytes: &[u8]| {
        let p = cwd.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let empty = write("empty.csv", b"");
    let (ok, _, err) = run_import(&args, &["contacts", &empty], &cwd);
    assert!(!ok && err.contains("empty.csv is empty"), "{err}");
    let header = write("header.csv", b"Email,Name\n");
    let (ok, _, err) = run_import(&args, &["contacts", &header], &cwd);
    assert!(!ok && err.contains("has a header but no rows"), "{err}");
    let one = write("one.csv", b"Email,Name\nada@acme.example,Ada\n");
    let (ok, _, err) = run_import(&args, &["contacts", &one, "--map", "email=Courriel"], &cwd);
    assert!(!ok && err.contains("column `Courriel` is missing in one.csv (line 1)"), "{err}");
    let (ok, _, err) = run_import(&args, &["contacts", &write("nothing.csv", b"Budget\n12\n")], &cwd);
    assert!(!ok && err.contains("--map email=<column>"), "{err}");
    let (ok, _, err) = run_import(&args, &["contacts", "/nonexistent/file.csv"], &cwd);
    assert!(!ok && err.contains("does not exist"), "{err}");

    // A French Excel export: BOM, `;`, quotes around separators and line breaks, Windows-1252.
    let mut file = b"\xEF\xBB\xBFCourriel;Pr\xC3\xA9nom;Soci\xC3\xA9t\xC3\xA9;Budget;Note\n".to_vec();
    file.extend_from_slice(b"ada@acme.example;Ada;\"Acme; Inc\";1200;\"two\nlines\"\n");
    file.extend_from_slice(b"not-an-email;Bob;Acme;12;ok\n");
    file.extend_from_slice(b"carl@acme.example;Carl;Acme;lots;ok\n");
    file.extend_from_slice(b"dora@acme.example;Dora\n");
    file.extend_from_slice(b"ELOI@acme.example;\xC9loi;Acme;3;ok\n");
    file.extend_from_slice(format!("fred@acme.example;Fred;Acme;4;\"{}\"\n", "x".repeat(70_000)).as_bytes());
    file.extend_from_slice(b"eloi@ACME.example;Eloi;Acme;5;again\n");
    let path = write("export.csv", &file);
    let (ok, out, err) = run_import(&args, &["contacts", &path, "--type", "Budget=number"], &cwd);
    assert!(ok, "bad rows never stop an import: {out}{err}");
    assert!(out.contains("separator ;") && out.contains("read as windows-1252"), "{out}");
    assert!(out.contains("created 2 · updated 0 · unchanged 1 · rejected 4"), "{out}");
    let report = std::fs::read_to_string(cwd.join("export.rejects.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "line,column,value,reason");
    assert!(report.contains("4,Courriel,not-an-email,"), "{report}");
    assert!(report.contains("5,Budget,lots,"), "{report}");
    assert!(report.contains("6,,,\"has 2 fields where the header has 5"), "{report}");
    assert!(report.contains("8,Note,,is longer than 64 KiB"), "{report}");
    let store = Store::open(&db.config, jiff::Timestamp::now()).await.unwrap();
    let mut s = store.read().await.unwrap();
    let ada = s
        .find_contact_by_email(&leadgate_core::email::Email::parse("ada@acme.example").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.custom["note"], "two\nlines");
    let eloi = s
        .find_contact_by_email(&leadgate_core::email::Email::parse("eloi@acme.example").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        eloi.first_name.as_deref(),
        Some("Eloi"),
        "the second row of the same person merged into the first"
    );
    let company = s.get_company(ada.company_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(company.name, "Acme; Inc");
    drop(s);
    store.close().await;
    let _ = std::fs::remove_dir_all(cwd);
    db.cleanup().await;
}

#[tokio::test]
async fn rows_are_matched_on_external_id_then_email() {
    let db = TestDb::new(Backend::Sqlite).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("merge");
    std::fs::write(cwd.join("a.csv"), "Id,Email,Title\n1,ada@acme.example,CTO\n,grace@acme.example,\n")
        .unwrap();
    std::fs::write(
        cwd.join("b.csv"),
        "Email,Title,Phone\nADA@ACME.EXAMPLE,CEO,\nGrace@Acme.example,,+33 1 23 45 67 89\n",
    )
    .unwrap();
    let (ok, out, _) = run_import(&args, &["contacts", "a.csv", "--map", "external_id=Id"], &cwd);
    assert!(ok && out.contains("created 2"), "{out}");
    let (ok, out, _) = run_import(&args, &["contacts", "b.csv"], &cwd);
    assert!(ok && out.contains("created 0 · updated 2 · unchanged 0"), "{out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts").await, 2);
    let store = Store::open(&db.config, jiff::Timestamp::now()).await.unwrap();
    let mut s = store.read().await.unwrap();
    let ada = s.find_contact_by_external_id("1").await.unwrap().unwrap();
    assert_eq!(ada.job_title.as_deref(), Some("CEO"));
    assert_eq!(ada.email.unwrap().as_str(), "ADA@ACME.EXAMPLE");
    let grace = s
        .find_contact_by_email(&leadgate_core::email::Email::parse("grace@acme.example").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grace.phone.as_deref(), Some("+33 1 23 45 67 89"));
    drop(s);
    store.close().await;
    // No e-mail, no id: the row's content identifies it, so a re-import adds nothing.
    std::fs::write(cwd.join("fair.csv"), "First name,Last name,Phone\nHedy,Lamarr,+1 555 0100\n").unwrap();
    for expected in ["created 1", "unchanged 1"] {
        let (ok, out, _) = run_import(&args, &["contacts", "fair.csv"], &cwd);
        assert!(ok && out.contains(expected), "{out}");
    }
    let _ = std::fs::remove_dir_all(cwd);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_half_way_completes_when_run_again() {
    let db = TestDb::new(Backend::Sqlite).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("resume");
    let mut csv = String::from("Id,Email,Country,Visits\n");
    for i in 0..60_000 {
        csv.push_str(&format!("L{i},lead{i}@acme{}.example,France,{}\n", i % 50, i % 17));
    }
    std::fs::write(cwd.join("big.csv"), &csv).unwrap();
    let mut child = leadgate()
        .args(&args)
        .args(["import", "contacts", "big.csv", "--map", "external_id=Id"])
        .current_dir(&cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = count(&db.config, "SELECT COUNT(*) FROM contacts").await;
        if n >= 5_000 {
            break;
        }
        assert!(Instant::now() < deadline, "import too slow to test");
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be killed");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = count(&db.config, "SELECT COUNT(*) FROM contacts").await;
    assert!(partial < 60_000, "killed half-way ({partial})");
    let chunk = leadgate_app::import::CHUNK as i64;
    assert_eq!(partial % chunk, 0, "whole chunks only: each commits with its checkpoint");
    let (ok, out, err) = run_import(&args, &["contacts", "big.csv", "--map", "external_id=Id"], &cwd);
    assert!(ok, "{out}{err}");
    assert!(out.contains("resumed after line"), "{out}");
    assert!(out.contains("created 60,000"), "counts include the interrupted run: {out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts").await, 60_000);
    assert_eq!(count(&db.config, "SELECT COUNT(DISTINCT external_id) FROM contacts").await, 60_000);
    let _ = std::fs::remove_dir_all(cwd);
    db.cleanup().await;
}

fn run(args: &[String], extra: &[&str]) -> (bool, String, String) {
    run_in(args, extra, Path::new("."))
}

/// The x-education history trains a model from the command line, with the leaking columns
/// excluded; every lead gets a probability and `explain` shows the factors behind it.
async fn a_model_is_trained_on_imported_history(backend: Backend) {
    let db = TestDb::new(backend).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("train");
    let (ok, out, _) = run(&args, &["train"]);
    assert!(!ok, "nothing to learn from yet: {out}");
    let (_, _, err) = run(&args, &["train"]);
    assert!(err.contains("need at least 50 converted") && err.contains("more needed"), "{err}");

    let leads = datasets().join("x-education/Leads.csv");
    let (ok, out, err) =
        run_import(&args, &["contacts", leads.to_str().unwrap(), "--preset", "x-education"], &cwd);
    assert!(ok, "{out}{err}");
    let leaks = [
        "--exclude",
        "Tags",
        "--exclude",
        "lead quality",
        "--exclude",
        "Lead Profile",
        "--exclude",
        "Asymmetrique *",
    ];
    let (ok, out, err) = run(&args, &[&["train", "--seed", "7"][..], &leaks[..]].concat());
    assert!(ok, "{out}{err}");
    assert!(out.contains("Model version 1: "), "{out}");
    assert!(out.contains("3,561 converted, 5,679 not converted"), "{out}");
    assert!(out.contains("Calibration (of the leads given this probability"), "{out}");
    assert!(out.contains("Fields excluded (7): "), "{out}");
    assert!(out.contains("Predicted 9,240 contacts"), "{out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM predictions WHERE model_version = 1").await, 9240);

    let (ok, out, err) = run(
        &args,
        &[&["train", "--json", "--family", "linear", "--no-activate", "--exclude", "Tags"][..]].concat(),
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["version"].as_i64(), v["family"].as_str(), v["active"].as_bool()),
        (Some(2), Some("linear"), Some(false))
    );
    assert!(v["quality"]["roc_auc"].as_f64().unwrap() > 0.8, "{}", v["quality"]);

    // Regression (issue 18, item 13): with no exclusion, the leak is named with the command
    // that leaves it out, and the record number is left out on its own.
    let (ok, out, err) = run(&args, &["train", "--family", "linear", "--no-activate"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Warning: these fields tell the outcome almost by themselves: Tags (ROC AUC 0.9"),
        "{out}"
    );
    assert!(out.contains("leadgate train --exclude \"Tags\""), "{out}");
    assert!(out.contains("Not used: Lead Number — every contact has its own whole number"), "{out}");

    let (ok, out, _) = run(&args, &["models"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("3 ") && lines[3].starts_with("1        yes"), "{out}");

    let (ok, out, err) = run(&args, &["explain", "7927b2df-8bba-4d29-b9a2-b6e0beafe620"]);
    assert!(ok, "{err}");
    assert!(out.contains("Prediction (model version 1): "), "{out}");
    assert!(out.contains("Total Time Spent on Website = 0"), "{out}");
    let (ok, out, _) = run(&args, &["explain", "7927b2df-8bba-4d29-b9a2-b6e0beafe620", "--json"]);
    assert!(ok);
    let x: Value = serde_json::from_str(&out).unwrap();
    let p = &x["prediction"];
    let sum: f64 = p["factors"].as_array().unwrap().iter().map(|f| f["contribution"].as_f64().unwrap()).sum();
    assert!((p["base_value"].as_f64().unwrap() + sum - p["raw_score"].as_f64().unwrap()).abs() < 1e-9);
    assert!(x["engagement"].is_object(), "the score explanation is still there");

    let (ok, out, err) = run(&args, &["models", "activate", "2"]);
    assert!(ok && out.contains("Model version 2 is active; predicted 9,240 contacts"), "{out}{err}");
    let (ok, _, err) = run(&args, &["models", "activate", "7"]);
    assert!(!ok && err.contains("model version 7 does not exist"), "{err}");
    let (ok, _, err) = run(&args, &["train", "--exclude", "Tagz"]);
    assert!(!ok && err.contains("no field is named `Tagz`"), "{err}");
    let _ = std::fs::remove_dir_all(cwd);
    db.cleanup().await;
}

#[tokio::test]
async fn a_model_is_trained_on_imported_history_on_sqlite() {
    a_model_is_trained_on_imported_history(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_model_is_trained_on_imported_history_on_postgres() {
    a_model_is_trained_on_imported_history(Backend::Postgres).await;
}

/// An HTTP client for talking to the spawned server (TLS provider installed first: the
/// workspace builds reqwest without a default one).
fn http_client() -> reqwest::Client {
    leadgate_app::webhooks::install_tls_provider();
    reqwest::Client::new()
}

/// Every row of every table of a database, sorted (to compare a database and its restore).
async fn all_rows(config: &StoreConfig) -> Vec<(String, String)> {
    let store = Store::open(config, jiff::Timestamp::now()).await.unwrap();
    let mut rows = leadgate_store::testing::every_row(&store).await;
    store.close().await;
    rows.sort();
    rows
}

/// Export, erase, purge, backup and restore as an operator runs them, on one backend: the
/// restored database holds every row of every table of the original.
async fn personal_data_and_backups_from_the_command_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    let args = db_args(&db.config);
    db.store.close().await;
    let cwd = temp_dir("privacy");
    let file = cwd.join("people.csv");
    std::fs::write(&file, "email,first_name,country\nada@acme.example,Ada,France\nbob@acme.example,Bob,Spain\ncyd@acme.example,Cyd,Italy\n").unwrap();
    let (ok, out, err) = run_import(&args, &["contacts", file.to_str().unwrap()], &cwd);
    assert!(ok, "{out}\n{err}");

    // One person's data, as a zip any tool opens, or as JSON.
    let (ok, out, err) =
        run_in(&args, &["export", "--contact", "ada@acme.example", "--output", "ada.zip"], &cwd);
    assert!(ok && out.contains("ada.zip"), "{out}\n{err}");
    let listed = Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(' '.join(z.namelist())); print(z.read('contact.csv').decode())"])
        .arg(cwd.join("ada.zip"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("person.json")
            && listed.contains("events.csv")
            && listed.contains("ada@acme.example,,Ada,"),
        "{listed}"
    );
    let (ok, out, _) = run_in(&args, &["export", "--contact", "ada@acme.example", "--json"], &cwd);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && doc["contact"]["country"] == "France", "{out}");
    let (ok, out, err) = run_in(&args, &["export", "--contact", "nobody@acme.example"], &cwd);
    assert!(!ok && err.contains("nobody@acme.example"), "{out}\n{err}");

    // The workspace, for leaving the product.
    let (ok, out, err) = run_in(&args, &["export", "--output", "all"], &cwd);
    assert!(ok && out.contains("3 contacts"), "{out}\n{err}");
    let contacts = std::fs::read_to_string(cwd.join("all/contacts.jsonl")).unwrap();
    assert_eq!(contacts.lines().count(), 3);
    let csv = std::fs::read_to_string(cwd.join("all/contacts.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("email") && csv.contains("bob@acme.example"), "{csv}");

    // Erasure by list, with its receipt; the person does not come back with the next import.
    std::fs::write(cwd.join("erase.txt"), "email\nbob@acme.example\nzed@acme.example\nnot-an-address\n")
        .unwrap();
    let (ok, out, err) = run_in(&args, &["erase", "--emails", "erase.txt"], &cwd);
    assert!(
        ok && out.contains("Erased 1 of 2 asked (1 already absent)") && out.contains("line 4"),
        "{out}\n{err}"
    );
    let (ok, out, err) = run_import(&args, &["contacts", file.to_str().unwrap()], &cwd);
    assert!(ok && out.contains("rejected 1"), "{out}\n{err}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts").await, 2);
    let (ok, out, _) = run_in(&args, &["purge", "--dry-run"], &cwd);
    assert!(ok && out.contains("Due for erasure (dry run, nothing changed): 0"), "{out}");

    // A backup while the data is there, restored elsewhere: every row of every table.
    let (ok, out, err) = run_in(&args, &["backup", "copy.bak"], &cwd);
    assert!(ok && out.contains("suppression key"), "{out}\n{err}");
    let (ok, _, err) = run_in(&args, &["backup", "copy.bak"], &cwd);
    assert!(!ok && err.contains("exists already"), "{err}");
    let original = all_rows(&db.config).await;
    assert!(original.iter().any(|(t, _)| t == "suppressions"), "the suppression list is backed up");
    let (restored_config, target_args, empty) = match backend {
        Backend::Sqlite => {
            let dir = temp_dir("restored");
            let key = db_args(&db.config)[1].clone() + "/suppression.key";
            let target = vec![
                "--data-dir".to_string(),
                dir.display().to_string(),
                "--suppression-key-file".into(),
                key,
            ];
            (StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") }, target, None)
        }
        Backend::Postgres => {
            let empty = leadgate_store::testing::EmptyPostgres::create().await;
            let mut target = args.clone();
            target[1] = empty.url.clone();
            (StoreConfig::Postgres { url: empty.url.clone() }, target, Some(empty))
        }
    };
    let backup = cwd.join("copy.bak").display().to_string();
    let (ok, out, err) = run_in(&target_args, &["restore", &backup], &cwd);
    assert!(ok, "{out}\n{err}");
    assert_eq!(all_rows(&restored_config).await, original, "the restore holds every row of every table");
    let (ok, _, err) = run_in(&target_args, &["restore", &backup], &cwd);
    assert!(!ok && (err.contains("empty") || err.contains("exists")), "a second restore is refused: {err}");
    let (ok, _, err) = run_in(&target_args, &["restore", file.to_str().unwrap()], &cwd);
    assert!(!ok && err.contains("is not a"), "{err}");
    // The restored copy works, and still refuses the erased person.
    let (ok, out, err) = run_import(&target_args, &["contacts", file.to_str().unwrap()], &cwd);
    assert!(ok && out.contains("rejected 1"), "{out}\n{err}");
    if let Some(e) = empty {
        e.cleanup().await;
    }
}

#[tokio::test]
async fn personal_data_and_backups_from_the_command_line_on_sqlite() {
    personal_data_and_backups_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn personal_data_and_backups_from_the_command_line_on_postgres() {
    personal_data_and_backups_from_the_command_line(Backend::Postgres).await;
}

/// A mail server pipes a bounce to `leadgate bounces`: a real Postfix notification about a sent
/// message disables the address; a message about none of ours is kept; no input is explained.
async fn bounces_piped_by_a_mail_server(backend: Backend) {
    use leadgate_core::ids::{ContactId, EnrolmentId, MessageId, SequenceId, TemplateId};
    use leadgate_core::nurture::SequenceState;
    use leadgate_core::nurture::sequence::{Action, Step};
    use leadgate_store::nurture::{Fence, NewMessage, SequenceRecord};
    let db = TestDb::new(backend).await;
    let args = db_args(&db.config);
    let now = jiff::Timestamp::now();
    let draft =
        leadgate_core::contact::ContactDraft { email: Some("ana@example.com".into()), ..Default::default() };
    let mut tx = db.store.begin().await.unwrap();
    let contact =
        tx.insert_contact(ContactId(uuid::Uuid::now_v7()), draft.validate().unwrap(), now).await.unwrap();
    let seq = SequenceRecord {
        id: SequenceId(uuid::Uuid::now_v7()),
        name: "S".into(),
        steps: vec![Step { key: "a".into(), action: Action::End }],
        purpose: None,
        trigger: None,
        reenrol: false,
        state: SequenceState::Active,
        created_at: now,
        updated_at: now,
    };
    tx.insert_sequence(&seq).await.unwrap();
    let e = tx.enrol(EnrolmentId(uuid::Uuid::now_v7()), &seq, contact.id, "api", now).await.unwrap().unwrap();
    let id = MessageId(uuid::Uuid::now_v7());
    let m = NewMessage {
        id,
        enrolment_id: e.id,
        step_key: "a".into(),
        contact_id: contact.id,
        sequence_id: seq.id,
        template_id: TemplateId(uuid::Uuid::nil()),
        send_after: now,
        domain: None,
    };
    tx.reserve_message(&m, now).await.unwrap();
    let claimed =
        tx.claim_messages(now, "test", now + jiff::SignedDuration::from_secs(60), 1).await.unwrap().remove(0);
    let f = Fence { message: id, token: claimed.fence };
    tx.mark_sending(f, now, now + jiff::SignedDuration::from_secs(60)).await.unwrap();
    tx.mark_sent(f, now, "250 Ok").await.unwrap();
    tx.commit().await.unwrap();
    db.store.close().await;

    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bounces/postfix-unknown-user.eml");
    let dsn = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("0192f7a45c1e7b3a9d2e4f6a8b0c1d2e", &id.as_uuid().simple().to_string());
    let pipe = |input: &[u8]| {
        let mut child = leadgate()
            .args(&args)
            .arg("bounces")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = pipe(dsn.as_bytes());
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("hard bounce") && out.contains("5.1.1"), "{out}");
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM contacts WHERE do_not_email").await, 1);
    assert_eq!(count(&db.config, "SELECT COUNT(*) FROM email_messages WHERE state = 'bounced'").await, 1);
    let (ok, out, _) = pipe(b"Subject: Out of office\r\n\r\nBack on Monday.\r\n");
    assert!(ok);
    assert!(out.contains("kept for review"), "{out}");
    let (ok, _, err) = pipe(b"");
    assert!(!ok);
    assert!(err.contains("no message on standard input"), "{err}");
}

#[tokio::test]
async fn bounces_piped_by_a_mail_server_on_sqlite() {
    bounces_piped_by_a_mail_server(Backend::Sqlite).await;
}

#[tokio::test]
async fn bounces_piped_by_a_mail_server_on_postgres() {
    bounces_piped_by_a_mail_server(Backend::Postgres).await;
}
