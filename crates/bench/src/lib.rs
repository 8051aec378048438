//! Shared pieces of the benchmarks: a seeded generator of realistic leads and events, a server
//! started in-process on a throwaway database, and a tidy figure table. Each benchmark prints its
//! figures beside a baseline measured in the same run, because absolute times on a shared
//! machine say little on their own.

use std::sync::Arc;
use std::time::Duration;

use leadgate_app::{App, SystemClock};
use leadgate_server::AppState;
use leadgate_store::{Store, StoreConfig};
use tokio::net::TcpListener;

/// The API key of the benchmark's admin.
pub const BENCH_KEY: &str = "lg_benchmark_key_0123456789abcdef0123456789";

/// A small, fast, seeded PRNG (SplitMix64): benchmarks must generate the same data every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Picks from weighted choices.
    pub fn weighted<'a, T>(&mut self, choices: &'a [(T, u32)]) -> &'a T {
        let total: u32 = choices.iter().map(|(_, w)| w).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (item, w) in choices {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &choices[choices.len() - 1].0
    }

    /// A version-4-shaped UUID from the stream (ids must be unique, not secret).
    pub fn uuid(&mut self) -> uuid::Uuid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes()).into_uuid()
    }
}

/// Event kinds in the proportions a B2B site sees them: mostly page views, few intent signals.
pub const EVENT_MIX: [(&str, u32); 8] = [
    ("page_view", 70),
    ("email_opened", 10),
    ("email_clicked", 5),
    ("content_downloaded", 5),
    ("form_submitted", 4),
    ("webinar_registered", 3),
    ("demo_request", 2),
    ("quote_request", 1),
];

/// A server on a fresh database in `dir`, listening on an ephemeral port.
pub struct BenchServer {
    pub base: String,
    pub app: App,
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl BenchServer {
    pub async fn start(config: &StoreConfig) -> BenchServer {
        let store = Store::open(config, jiff::Timestamp::now()).await.expect("open the benchmark database");
        let app = App::new(store.clone(), Arc::new(SystemClock));
        app.bootstrap_admin("bench@leadgate.example", Some(BENCH_KEY)).await.expect("bootstrap");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // Benchmarks measure throughput, not the per-key quota a production server keeps.
        let unlimited = leadgate_server::WebConfig {
            rate_limits: leadgate_server::ratelimit::RateLimits {
                api_key: None,
                api_anonymous: None,
                form: None,
                form_total: None,
                tracker: None,
            },
            ..Default::default()
        };
        let state = AppState::new(app.clone()).with_web(unlimited);
        let handle = tokio::spawn(leadgate_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        BenchServer { base, app, store, stop: Some(stop), handle: Some(handle) }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        self.store.close().await;
    }
}

/// A throwaway database for one benchmark run: a SQLite file in a fresh directory, or a new
/// database on the PostgreSQL server of LEADGATE_TEST_POSTGRES_URL (`bench/rescore.sh` and
/// `scripts/throwaway-postgres` start one). [`BenchDb::drop_database`] removes it.
pub struct BenchDb {
    pub config: StoreConfig,
    /// The SQLite directory, or the PostgreSQL server's URL and the database's name.
    place: Result<std::path::PathBuf, (String, String)>,
}

impl BenchDb {
    /// `backend` is `sqlite` or `postgres`; `tag` names the run's directory or database.
    pub fn create(backend: &str, tag: &str) -> BenchDb {
        match backend {
            "sqlite" => {
                let dir = temp_dir(tag);
                BenchDb { config: StoreConfig::Sqlite { path: dir.join("leadgate.sqlite3") }, place: Ok(dir) }
            }
            "postgres" => {
                let admin = std::env::var("LEADGATE_TEST_POSTGRES_URL")
                    .expect("LEADGATE_TEST_POSTGRES_URL for the PostgreSQL run (scripts/throwaway-postgres)");
                let name = format!("lg_bench_{tag}_{}", std::process::id());
                psql(&admin, &format!("CREATE DATABASE {name}"));
                let url =
                    format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
                BenchDb { config: StoreConfig::Postgres { url }, place: Err((admin, name)) }
            }
            other => panic!("unknown backend `{other}`: sqlite or postgres"),
        }
    }

    /// The PostgreSQL database's name (`None` on SQLite): its sessions carry it in their title.
    pub fn postgres_name(&self) -> Option<&str> {
        self.place.as_ref().err().map(|(_, name)| name.as_str())
    }

    /// Runs a statement outside the store (VACUUM cannot run in its transactions); PostgreSQL only.
    pub fn psql(&self, statement: &str) {
        if let StoreConfig::Postgres { url } = &self.config {
            psql(url, statement);
        }
    }

    /// Removes the database (close its store first).
    pub fn drop_database(self) {
        match self.place {
            Ok(dir) => drop(std::fs::remove_dir_all(dir)),
            Err((admin, name)) => psql(&admin, &format!("DROP DATABASE IF EXISTS {name}")),
        }
    }
}

fn psql(url: &str, statement: &str) {
    let status = std::process::Command::new("psql").args([url, "-qc", statement]).status().expect("run psql");
    assert!(status.success(), "psql: {statement}");
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("leadgate-bench-{tag}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Prints rows as an aligned table (Markdown, so it pastes into BENCHMARKS.md as is).
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("| {} |", padded.join(" | "));
    };
    line(header.iter().map(|s| s.to_string()).collect());
    println!("|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    for r in rows {
        line(r.clone());
    }
}

/// `n` per second over `d`, formatted with thousands separators.
pub fn rate(n: usize, d: Duration) -> String {
    thousands((n as f64 / d.as_secs_f64()).round() as u64)
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count from the environment (`BENCH_CONTACTS=100000`), or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The benchmark's database as at rest after its load: statistics gathered (`ANALYZE`; on
/// PostgreSQL `VACUUM (ANALYZE)`), and on SQLite reopened, so the last rows loaded are
/// checkpointed out of the write-ahead log, as the server's checkpointer does over time.
pub async fn at_rest(
    db: &BenchDb,
    store: leadgate_store::Store,
    now: jiff::Timestamp,
) -> leadgate_store::Store {
    if db.postgres_name().is_some() {
        db.psql("VACUUM (ANALYZE)");
    } else {
        let mut s = store.begin().await.expect("a transaction");
        s.execute("ANALYZE", vec![]).await.expect("ANALYZE");
        s.commit().await.expect("commit");
    }
    store.close().await;
    leadgate_store::Store::open(&db.config, now).await.expect("reopen the database")
}
