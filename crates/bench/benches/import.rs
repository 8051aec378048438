//! CSV import of contacts (issue 4): `leadgate import contacts --preset x-education` on a
//! generated file with the same columns as X Education's `Leads.csv`, beside the raw SQLite
//! insert rate of the same rows (parsed with the same CSV reader, one row per contact with the
//! extra columns as JSON, transactions of as many rows as the import's, the store's pragmas) in the same run. The
//! import runs as a child process, the real binary, so its peak memory (max RSS from `wait4`) is
//! its own; it is measured on a file ten times smaller too, to show memory does not grow with
//! the file. A second import of the same file (every row unchanged) is timed as well.
//!
//!     cargo build --release -p leadgate && cargo bench -p leadgate-bench --bench import
//!
//! Environment: BENCH_ROWS (default 1000000), LEADGATE_BIN (default target/release/leadgate),
//! BENCH_LEADS_CSV (the real file whose column values are sampled; default
//! ../shared/datasets/x-education/Leads.csv), LEADGATE_TEST_POSTGRES_URL (also import into a
//! new database on that PostgreSQL server; `bench/import.sh` starts a throwaway one).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leadgate_bench::{Rng, print_table, rate, temp_dir, thousands};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The real file's header and, per column, every value it holds (its empirical distribution).
struct Marginals {
    header: csv::StringRecord,
    columns: Vec<Vec<String>>,
}

fn read_marginals(path: &Path) -> Result<Marginals> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| format!("cannot read {} ({e}); set BENCH_LEADS_CSV", path.display()))?;
    let header = reader.headers()?.clone();
    let mut columns = vec![Vec::new(); header.len()];
    for record in reader.records() {
        for (i, v) in record?.iter().enumerate() {
            columns[i].push(v.to_string());
        }
    }
    Ok(Marginals { header, columns })
}

/// Writes `rows` leads: unique `Prospect ID` and `Lead Number`, every other column drawn
/// independently from the real file's values (seeded, so every run writes the same file). The
/// first `small` rows also go to a second file.
fn generate(m: &Marginals, rows: usize, small: usize, big_path: &Path, small_path: &Path) -> Result<()> {
    let mut rng = Rng::new(4);
    let mut big = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, File::create(big_path)?));
    let mut little = csv::Writer::from_writer(BufWriter::new(File::create(small_path)?));
    big.write_record(&m.header)?;
    little.write_record(&m.header)?;
    let mut record: Vec<String> = vec![String::new(); m.header.len()];
    for n in 0..rows {
        for (i, name) in m.header.iter().enumerate() {
            record[i] = match name {
                "Prospect ID" => rng.uuid().to_string(),
                "Lead Number" => (1_000_000 + n).to_string(),
                _ => {
                    let values = &m.columns[i];
                    values[rng.below(values.len() as u64) as usize].clone()
                }
            };
        }
        big.write_record(&record)?;
        if n < small {
            little.write_record(&record)?;
        }
    }
    big.flush()?;
    little.flush()?;
    Ok(())
}

/// The baseline: the same rows into one SQLite table, as fast as rusqlite goes with the
/// durability the product keeps (WAL, synchronous=FULL) and transactions of the import's size.
fn raw_sqlite(path: &Path, db: &Path) -> Result<(usize, Duration)> {
    let started = Instant::now();
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE contacts (id BLOB PRIMARY KEY, external_id TEXT NOT NULL UNIQUE,
           source TEXT, do_not_email INTEGER NOT NULL, do_not_call INTEGER NOT NULL,
           outcome INTEGER, custom TEXT NOT NULL) STRICT;",
    )?;
    let mut reader = csv::Reader::from_path(path)?;
    let header = reader.headers()?.clone();
    let find = |name: &str| header.iter().position(|h| h == name).expect("column of Leads.csv");
    let (id, source, email, call, converted) = (
        find("Prospect ID"),
        find("Lead Source"),
        find("Do Not Email"),
        find("Do Not Call"),
        find("Converted"),
    );
    let mut rng = Rng::new(7);
    let mut n = 0;
    let mut records = reader.records().peekable();
    while records.peek().is_some() {
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO contacts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
            for record in records.by_ref().take(leadgate_app::import::CHUNK) {
                let r = record?;
                let custom: serde_json::Map<String, serde_json::Value> = header
                    .iter()
                    .zip(r.iter())
                    .enumerate()
                    .filter(|(i, (h, v))| {
                        ![id, source, email, call, converted].contains(i) && !h.is_empty() && !v.is_empty()
                    })
                    .map(|(_, (h, v))| (h.to_string(), serde_json::Value::String(v.to_string())))
                    .collect();
                insert.execute(rusqlite::params![
                    rng.uuid().as_bytes().as_slice(),
                    &r[id],
                    &r[source],
                    i64::from(&r[email] == "Yes"),
                    i64::from(&r[call] == "Yes"),
                    r[converted].parse::<i64>().ok(),
                    serde_json::to_string(&custom)?,
                ])?;
                n += 1;
            }
        }
        tx.commit()?;
    }
    Ok((n, started.elapsed()))
}

struct Run {
    elapsed: Duration,
    max_rss_kib: i64,
    summary: String,
}

/// Runs the binary and waits for it with `wait4`, which reports the child's own peak memory.
fn run_import(bin: &Path, store: &[String], file: &Path, work: &Path) -> Result<Run> {
    let started = Instant::now();
    let child = Command::new(bin)
        .args(store)
        .args(["import", "contacts"])
        .arg(file)
        .args(["--preset", "x-education", "--rejects"])
        .arg(work.join("rejects.csv"))
        .env("LEADGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped stdout");
    // Read the output while the child runs (a full pipe would block it).
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; both pointers are valid for the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    let out = reader.join().expect("reader thread")?;
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("the import failed (status {status}):\n{out}").into());
    }
    let summary = out.lines().rev().find(|l| l.contains("created")).unwrap_or("").trim().to_string();
    Ok(Run { elapsed, max_rss_kib: usage.ru_maxrss, summary })
}

fn mib(kib: i64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn main() -> Result<()> {
    let root = workspace_root();
    let rows = env_usize("BENCH_ROWS", 1_000_000);
    let small = (rows / 10).max(1);
    let bin = std::env::var_os("LEADGATE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/leadgate"));
    if !bin.exists() {
        return Err(format!("{} is missing: cargo build --release -p leadgate", bin.display()).into());
    }
    let leads = std::env::var_os("BENCH_LEADS_CSV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/datasets/x-education/Leads.csv"));
    let work = temp_dir("import");

    let started = Instant::now();
    let marginals = read_marginals(&leads)?;
    let (big, little) = (work.join("leads-big.csv"), work.join("leads-small.csv"));
    generate(&marginals, rows, small, &big, &little)?;
    let size = std::fs::metadata(&big)?.len();
    println!(
        "generated {} rows ({:.0} MiB) sampled from {} in {:.1?} (not measured)",
        thousands(rows as u64),
        size as f64 / 1048576.0,
        leads.display(),
        started.elapsed()
    );

    let (raw_rows, raw_time) = raw_sqlite(&big, &work.join("raw.db"))?;
    let mut table = vec![vec![
        "raw SQLite (baseline)".to_string(),
        thousands(raw_rows as u64),
        format!("{:.1?}", raw_time),
        rate(raw_rows, raw_time),
        "100 %".to_string(),
        "-".to_string(),
    ]];
    let raw_rate = raw_rows as f64 / raw_time.as_secs_f64();

    let mut stores =
        vec![("SQLite", vec!["--data-dir".to_string(), work.join("sqlite").display().to_string()])];
    let mut pg_db = None;
    if let Ok(url) = std::env::var("LEADGATE_TEST_POSTGRES_URL") {
        let name = format!("leadgate_bench_import_{}", std::process::id());
        let status =
            Command::new("psql").arg(&url).args(["-qc", &format!("CREATE DATABASE {name}")]).status()?;
        if status.success() {
            let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
            stores.push(("PostgreSQL", vec!["--database-url".to_string(), format!("{base}/{name}")]));
            pg_db = Some((url.clone(), name));
        } else {
            eprintln!("psql could not create a database; PostgreSQL skipped");
        }
    }
    for (label, args) in &stores {
        // A fresh database for the small file, so its figure is not an update of the big one.
        let small_args: Vec<String> = match *label {
            "SQLite" => vec!["--data-dir".to_string(), work.join("sqlite-small").display().to_string()],
            _ => args.clone(),
        };
        let mut runs = Vec::new();
        if *label == "SQLite" {
            runs.push((
                format!("{label}: import {} rows", thousands(small as u64)),
                small,
                run_import(&bin, &small_args, &little, &work)?,
            ));
        }
        runs.push((
            format!("{label}: import {} rows", thousands(rows as u64)),
            rows,
            run_import(&bin, args, &big, &work)?,
        ));
        runs.push((
            format!("{label}: same file again (unchanged)"),
            rows,
            run_import(&bin, args, &big, &work)?,
        ));
        for (name, n, run) in runs {
            println!("{name}: {}", run.summary);
            table.push(vec![
                name,
                thousands(n as u64),
                format!("{:.1?}", run.elapsed),
                rate(n, run.elapsed),
                format!("{:.0} %", 100.0 * (n as f64 / run.elapsed.as_secs_f64()) / raw_rate),
                mib(run.max_rss_kib),
            ]);
        }
    }
    println!();
    print_table(&["what", "rows", "time", "rows/s", "of raw SQLite", "peak memory"], &table);

    if let Some((url, name)) = pg_db {
        let _ = Command::new("psql").arg(&url).args(["-qc", &format!("DROP DATABASE {name}")]).status();
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
