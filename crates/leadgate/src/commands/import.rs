//! `leadgate import contacts|companies|deals FILE`: load a spreadsheet, with a progress bar, a
//! summary, and a report of the rows refused.

use std::fs::File;
use std::path::PathBuf;

use crate::config::Setup;
use anyhow::Context;
use leadgate_app::AppError;
use leadgate_app::import::{Checkpoint, FileSource, ImportError, RejectSink};
use leadgate_core::import::{Entity, ImportOptions, Reject};

use super::thousands;
use crate::cli::{ImportArgs, ImportEntity};
use crate::progress::Reporter;

/// Writes the rejects report on the first refused row only, so a clean import leaves no file.
struct LazyReport {
    path: PathBuf,
    sink: Option<leadgate_app::import::CsvRejects<File>>,
    rows: u64,
}

impl RejectSink for LazyReport {
    fn reject(&mut self, rejects: &[Reject]) -> Result<(), AppError> {
        if self.sink.is_none() {
            let file = File::create(&self.path)
                .map_err(|e| AppError::Internal(format!("cannot create {}: {e}", self.path.display())))?;
            self.sink = Some(leadgate_app::import::CsvRejects::new(file));
        }
        self.rows += rejects.iter().map(|r| r.line).collect::<std::collections::HashSet<_>>().len() as u64;
        self.sink.as_mut().map_or(Ok(()), |s| s.reject(rejects))
    }
}

pub async fn run(config: &Setup, args: ImportArgs) -> anyhow::Result<()> {
    if !args.file.is_file() {
        anyhow::bail!("{} does not exist or is not a file", args.file.display());
    }
    let entity = match args.entity {
        ImportEntity::Contacts => Entity::Contacts,
        ImportEntity::Companies => Entity::Companies,
        ImportEntity::Deals => Entity::Deals,
    };
    let options = ImportOptions {
        maps: args.maps,
        preset: args.preset,
        types: args.types,
        outcome: args.outcome,
        missing: args.missing,
        overwrite: args.overwrite,
    };
    let store = super::open_store(&config.store).await?;
    let app = config.app(store.clone()).await?;
    app.ensure_scoring_rules().await?;
    let operator = app.operator().await?;
    let source = FileSource(args.file.clone());
    let name = source_name(&args.file);
    let report_path = args.rejects.unwrap_or_else(|| PathBuf::from(format!("{name}.rejects.csv")));
    let mut report = LazyReport { path: report_path.clone(), sink: None, rows: 0 };
    let mut progress = Reporter::new(&format!("importing {}", args.file.display()));
    let started = std::time::Instant::now();
    let result =
        app.import(&operator, entity, &source, &options, &mut report, &mut progress, Checkpoint::File).await;
    progress.finish();
    store.close().await;
    let summary = match result {
        Ok(s) => s,
        Err(ImportError::Plan(text)) => anyhow::bail!("cannot import {}:\n{text}", args.file.display()),
        Err(e) => return Err(e).with_context(|| format!("cannot import {}", args.file.display())),
    };
    println!(
        "Imported {} ({} rows, separator {}{}) in {:.1} s:",
        args.file.display(),
        thousands(summary.rows),
        summary.delimiter,
        summary.decoded_as.as_deref().map(|e| format!(", read as {e}")).unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    if let Some(line) = summary.resumed_after_line {
        println!("  resumed after line {line}, where an earlier run stopped");
    }
    println!(
        "  created {} · updated {} · unchanged {} · rejected {}",
        thousands(summary.created),
        thousands(summary.updated),
        thousands(summary.unchanged),
        thousands(summary.rejected)
    );
    if summary.companies_created > 0 {
        println!("  companies created: {}", thousands(summary.companies_created));
    }
    if !summary.custom_fields.is_empty() {
        let fields: Vec<String> =
            summary.custom_fields.iter().take(8).map(|(k, t)| format!("{k} ({t})")).collect();
        let more = summary.custom_fields.len().saturating_sub(8);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        println!("  custom fields: {}{more}", fields.join(", "));
    }
    if summary.kept_values() > 0 {
        let fields: Vec<String> =
            summary.kept_fields.iter().map(|(f, n)| format!("{f} {}", thousands(*n))).collect();
        println!(
            "  kept {} values changed in Leadgate since the last import ({}); --overwrite replaces them",
            thousands(summary.kept_values()),
            fields.join(", ")
        );
    }
    if report.rows > 0 {
        println!("  refused rows are listed in {} (line, column, value, reason)", report_path.display());
    }
    if let Some(rules) = &summary.suggested_rules {
        println!(
            "  scoring: the active rules read none of this file's fields, so its leads stay cold; \
             use the rules made for it:\n    leadgate rules import --preset {rules}"
        );
    }
    Ok(())
}

fn source_name(path: &std::path::Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("import").to_string()
}
