//! Personal data and operations from the command line: `export` (one person, or the whole
//! workspace), `erase`, `purge` (the retention rule), `backup` and `restore`.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use leadgate_app::AppError;
use leadgate_app::export::table_csv;
use leadgate_app::privacy::{ErasureReceipt, RetentionReport};
use leadgate_core::privacy::RetentionPolicy;
use leadgate_store::StoreConfig;

use super::thousands;
use crate::cli::{BackupArgs, EraseArgs, ExportArgs, PurgeArgs, RestoreArgs};
use crate::config::Setup;

pub async fn export(config: &Setup, args: ExportArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let operator = app.operator().await?;
    let result = match &args.contact {
        Some(key) => {
            let contact = app.find_contact(&operator, key).await?;
            if args.json {
                let doc = app.export_person(&operator, contact.id).await?;
                let text = serde_json::to_string_pretty(&doc)?;
                match &args.output {
                    Some(path) => write_file(path, text.as_bytes()),
                    None => {
                        println!("{text}");
                        Ok(())
                    }
                }
            } else {
                let zip = app.export_person_zip(&operator, contact.id).await?;
                let path = args
                    .output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("contact-{}.zip", contact.id)));
                write_file(&path, &zip)?;
                println!(
                    "Everything Leadgate holds about {} is in {}",
                    contact.display_name(),
                    path.display()
                );
                Ok(())
            }
        }
        None => export_workspace(&app, &operator, args.output.as_deref()).await,
    };
    store.close().await;
    result
}

/// The whole workspace as JSON Lines (lossless, one record per line) and CSV files (for a
/// spreadsheet) in a directory.
async fn export_workspace(
    app: &leadgate_app::App,
    operator: &leadgate_app::Principal,
    dir: Option<&Path>,
) -> anyhow::Result<()> {
    let dir = dir.map_or_else(|| PathBuf::from("leadgate-export"), Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tables = ["contacts", "events", "companies", "deals"];
    let mut files = Vec::new();
    for t in tables {
        let path = dir.join(format!("{t}.jsonl"));
        let file =
            std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        files.push((t, BufWriter::new(file)));
    }
    let mut sink = |table: &'static str, record: serde_json::Value| -> Result<(), AppError> {
        let (_, out) = files
            .iter_mut()
            .find(|(t, _)| *t == table)
            .ok_or_else(|| AppError::Internal(format!("no file for {table}")))?;
        serde_json::to_writer(&mut *out, &record).map_err(|e| AppError::Internal(e.to_string()))?;
        out.write_all(b"\n").map_err(|e| AppError::Internal(format!("cannot write the export: {e}")))
    };
    let counts = app.export_workspace(operator, &mut sink).await?;
    for (_, mut out) in files {
        out.flush()?;
    }
    // The CSV files, from the JSON Lines just written (their columns are the union of the keys).
    for t in tables {
        let lines = std::io::BufReader::new(std::fs::File::open(dir.join(format!("{t}.jsonl")))?);
        let rows: Vec<serde_json::Value> =
            lines.lines().map(|l| Ok(serde_json::from_str(&l?)?)).collect::<anyhow::Result<_>>()?;
        write_file(&dir.join(format!("{t}.csv")), &table_csv(&rows)?)?;
    }
    let summary: Vec<String> = counts.iter().map(|(t, n)| format!("{} {t}", thousands(*n))).collect();
    println!("Exported {} to {} (JSON Lines and CSV)", summary.join(", "), dir.display());
    Ok(())
}

pub async fn erase(config: &Setup, args: EraseArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    let operator = app.operator().await?;
    let result = async {
        let receipt = match (&args.contact, &args.emails) {
            (Some(key), None) => {
                let contact = app.find_contact(&operator, key).await?;
                app.erase_contact(&operator, contact.id).await?
            }
            (None, Some(file)) => {
                let text = if file.as_os_str() == "-" {
                    std::io::read_to_string(std::io::stdin())?
                } else {
                    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
                };
                app.erase_emails(&operator, &text).await?
            }
            _ => bail!("give either --contact ID|EMAIL or --emails FILE (one address per line, `-` for standard input)"),
        };
        print_receipt(&receipt);
        Ok(())
    }
    .await;
    store.close().await;
    result
}

fn print_receipt(r: &ErasureReceipt) {
    println!(
        "Erased {} of {} asked ({} already absent); {} e-mail(s) newly on the suppression list; {} mention(s) removed from stored answers, files and reports.",
        thousands(r.erased),
        thousands(r.asked),
        thousands(r.already_absent),
        thousands(r.newly_suppressed),
        thousands(r.mentions_scrubbed)
    );
    for bad in &r.invalid {
        println!("  skipped line {}: `{}` is not an e-mail address", bad.line, bad.value);
    }
}

pub async fn purge(config: &Setup, args: PurgeArgs) -> anyhow::Result<()> {
    let store = super::open_store(&config.store).await?;
    let app = config
        .app(store.clone())
        .await?
        .with_retention(Some(RetentionPolicy { days: args.retention_days, anonymise: args.anonymise }));
    let operator = app.operator().await?;
    let result = async {
        let report =
            if args.dry_run { app.retention_due(&operator).await? } else { app.purge(&operator).await? };
        print_report(&report);
        Ok(())
    }
    .await;
    store.close().await;
    result
}

fn print_report(r: &RetentionReport) {
    let verb = match (r.erased, r.anonymised) {
        (true, true) => "Anonymised",
        (true, false) => "Erased",
        (false, _) => "Due for erasure (dry run, nothing changed):",
    };
    println!(
        "{verb} {} contact(s) with no contact coming from them since {} (retention: {} days).",
        thousands(r.due),
        r.cutoff,
        r.retention_days
    );
    for c in &r.sample {
        println!("  {} {}", c.id, c.email.as_deref().unwrap_or(""));
    }
    if r.due > r.sample.len() as u64 {
        println!("  … and {} more", thousands(r.due - r.sample.len() as u64));
    }
}

pub async fn backup(config: &Setup, args: BackupArgs) -> anyhow::Result<()> {
    if args.file.exists() {
        bail!("{} exists already: give the name of a new file", args.file.display());
    }
    match &config.store {
        StoreConfig::Sqlite { .. } => {
            let store = super::open_store(&config.store).await?;
            let done = store.backup_sqlite(&args.file).await;
            store.close().await;
            done.with_context(|| format!("cannot write the backup {}", args.file.display()))?;
        }
        StoreConfig::Postgres { url } => {
            let (url, password) = without_password(url);
            let out = with_password(Command::new(pg_tool("pg_dump")?), password)
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&args.file)
                .arg(url)
                .output()
                .context(
                    "cannot run pg_dump (install the PostgreSQL client: apt-get install postgresql-client)",
                )?;
            if !out.status.success() {
                bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
        }
    }
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    println!(
        "Backup written to {} ({} bytes). Restore it with `leadgate restore {}`.",
        args.file.display(),
        thousands(size),
        args.file.display()
    );
    println!(
        "Keep the suppression key with it ({}): without it, erased people would not be recognised.",
        config.suppression_key_path.display()
    );
    Ok(())
}

pub async fn restore(config: &Setup, args: RestoreArgs) -> anyhow::Result<()> {
    let mut head = [0_u8; 16];
    let n = std::io::Read::read(
        &mut std::fs::File::open(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?,
        &mut head,
    )?;
    let head = &head[..n];
    match &config.store {
        StoreConfig::Sqlite { path } => {
            if !head.starts_with(b"SQLite format 3\0") {
                bail!(
                    "{} is not a SQLite backup of Leadgate (a PostgreSQL backup restores with --database-url)",
                    args.file.display()
                );
            }
            if path.exists() {
                bail!("{} exists: restore into an empty data directory (--data-dir)", path.display());
            }
            let partial = path.with_extension("sqlite3.restoring");
            std::fs::copy(&args.file, &partial)
                .with_context(|| format!("cannot copy to {}", partial.display()))?;
            // Opening migrates an older backup, and refuses one made by a newer Leadgate.
            let check = StoreConfig::Sqlite { path: partial.clone() };
            let store = super::open_store(&check).await;
            match store {
                Ok(s) => s.close().await,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(e.context(format!("{} cannot be restored", args.file.display())));
                }
            }
            std::fs::rename(&partial, path)?;
        }
        StoreConfig::Postgres { url } => {
            if !head.starts_with(b"PGDMP") {
                bail!(
                    "{} is not a PostgreSQL backup of Leadgate (`leadgate backup` with --database-url makes one)",
                    args.file.display()
                );
            }
            let (url, password) = without_password(url);
            let out = with_password(Command::new(pg_tool("pg_restore")?), password)
                .args(["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--dbname"])
                .arg(url)
                .arg(&args.file)
                .output()
                .context("cannot run pg_restore (install the PostgreSQL client: apt-get install postgresql-client)")?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                if err.contains("already exists") {
                    bail!(
                        "the database is not empty: restore into a new, empty database (createdb …); nothing was changed"
                    );
                }
                bail!("pg_restore failed, nothing was changed: {}", err.trim());
            }
            let store = super::open_store(&config.store).await?;
            store.close().await;
        }
    }
    println!("Restored {}. Start the server with `leadgate serve`.", args.file.display());
    Ok(())
}

/// The URL without its password, and the password (percent-decoded): the password goes to
/// the PostgreSQL tools through their environment, never on their command line, where every
/// user of the machine could read it (`ps`).
fn without_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return (url.to_string(), None) };
    let authority_end = url[scheme_end..].find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return (url.to_string(), None) };
    let Some((user, password)) = userinfo.split_once(':') else { return (url.to_string(), None) };
    let stripped = format!("{}{user}@{host}{}", &url[..scheme_end], &url[authority_end..]);
    (stripped, Some(percent_decode(password)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn with_password(mut command: Command, password: Option<String>) -> Command {
    if let Some(p) = password {
        command.env("PGPASSWORD", p);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            without_password("postgres://ada:s%40cret:x@db.example:5432/leads?sslmode=require"),
            (
                "postgres://ada@db.example:5432/leads?sslmode=require".to_string(),
                Some("s@cret:x".to_string())
            )
        );
        assert_eq!(
            without_password("postgres://ada@db/leads"),
            ("postgres://ada@db/leads".to_string(), None)
        );
        assert_eq!(without_password("postgres://db/leads"), ("postgres://db/leads".to_string(), None));
    }
}

/// A PostgreSQL client program: on the PATH, or the newest of Debian's versioned installs.
fn pg_tool(name: &str) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return Ok(p);
    }
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    versioned.sort();
    versioned.pop().with_context(|| {
        format!("{name} was not found: install the PostgreSQL client (apt-get install postgresql-client)")
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
