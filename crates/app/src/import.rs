//! Importing CSV files of contacts, companies or deals, from the command line or as an uploaded
//! file run by a job. A file is read twice, streaming (memory does not grow with its size): once
//! to check its shape and infer the types of its extra columns, once to import it, a chunk of
//! rows per transaction. Bad rows never stop an import and are never dropped silently: each is
//! written to the rejects report with its line, column, value and reason. Rows are matched to
//! what is stored (contacts on external id, then e-mail), so importing a file again changes
//! nothing, and an import killed half-way completes when run again.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use jiff::Timestamp;
use leadgate_core::access::Permission;
use leadgate_core::company::{CompanyDraft, NewCompany};
use leadgate_core::contact::{Contact, NewContact};
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity, FieldType, merge_custom_values};
use leadgate_core::ids::{CompanyId, ContactId};
use leadgate_core::import::merge::{baseline_of, merge_row};
use leadgate_core::import::{
    ContactRow, Entity, ImportOptions, ImportPlan, MappedRow, Reject, Target, TypeInference,
};
use leadgate_core::text::fold;
use leadgate_store::Session;
use leadgate_store::imports::ContactToInsert;
use leadgate_store::pipeline::ImportedDeal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::jobs::Progress;
use crate::{App, AppError, Principal, new_uuid};

/// Rows per transaction: big enough that commits (fsync, WAL checkpoints) and index pages are
/// shared by many rows (1,000 → 5,000 took a 100k-row import from 6.2 s to 4.6 s), small enough
/// that a crash loses little and progress moves often.
pub const CHUNK: usize = 5_000;

/// The tables an import of `entity` adds rows to, the first the one that grows with every row.
fn tables_of(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Contacts => &["contacts", "contact_scores", "companies"],
        Entity::Companies => &["companies"],
        Entity::Deals => &["deals"],
    }
}

/// When an import has grown its tables enough to refresh PostgreSQL's planner statistics: each
/// time they have doubled (from at least a chunk). Why: a fresh database's tables have no
/// statistics until autovacuum's first pass (up to a minute away), and the lookups of existing
/// rows, planned meanwhile for tables thought tiny and cached, scanned both tables whole for
/// each 500 keys: a 100,000-contact import took 43 s instead of 6 (server log and
/// `auto_explain`, BENCHMARKS.md "CSV import").
#[derive(Debug)]
struct StatisticsDue {
    /// Rows in the tables when their statistics were last refreshed (or the import began).
    at: u64,
    /// Rows in the tables when the import began.
    base: u64,
}

impl StatisticsDue {
    fn new(rows_at_start: u64) -> StatisticsDue {
        StatisticsDue { at: rows_at_start, base: rows_at_start }
    }

    /// Whether to refresh now, `added` rows into the import.
    fn due(&mut self, added: u64) -> bool {
        let rows = self.base + added;
        let due = rows >= (2 * self.at).max(CHUNK as u64);
        if due {
            self.at = rows;
        }
        due
    }
}

/// A file to import, readable as many times as needed.
pub trait ImportSource: Send + Sync {
    fn name(&self) -> &str;
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>>;
    /// Size in bytes, for progress.
    fn size(&self) -> Option<u64>;
}

/// A file on disk.
pub struct FileSource(pub std::path::PathBuf);

impl ImportSource for FileSource {
    fn name(&self) -> &str {
        self.0.file_name().and_then(|n| n.to_str()).unwrap_or("the file")
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&self.0)?)))
    }
    fn size(&self) -> Option<u64> {
        std::fs::metadata(&self.0).ok().map(|m| m.len())
    }
}

/// A file held in memory (an upload).
pub struct BytesSource {
    pub name: String,
    pub content: Arc<Vec<u8>>,
}

impl ImportSource for BytesSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.content.clone().as_ref().clone())))
    }
    fn size(&self) -> Option<u64> {
        Some(self.content.len() as u64)
    }
}

/// What happened, for the summary line and the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Companies created because a contact or deal named one not stored yet.
    pub companies_created: u64,
    /// The field separator found.
    pub delimiter: String,
    /// Set when the file was not UTF-8 and was read as Windows-1252.
    pub decoded_as: Option<String>,
    /// Custom fields declared for extra columns, with their types.
    pub custom_fields: Vec<(String, String)>,
    /// The line an interrupted import resumed after, if it did.
    pub resumed_after_line: Option<u64>,
    /// Values kept because they changed in Leadgate since the last import (the file's value
    /// was not written; `--overwrite` writes it), by field.
    #[serde(default)]
    pub kept_fields: std::collections::BTreeMap<String, u64>,
    /// The built-in scoring rules made for this file (`leadgate rules import --preset NAME`),
    /// when the preset has some and other rules are active: the file's leads are otherwise
    /// scored by rules that read none of its columns.
    #[serde(default)]
    pub suggested_rules: Option<String>,
}

impl ImportSummary {
    /// Takes over the counts of an interrupted run (its committed chunks' summary), so the
    /// resumed run's summary counts each row once.
    fn carry_counts(&mut self, previous: serde_json::Value) {
        if let Ok(previous) = serde_json::from_value::<ImportSummary>(previous) {
            self.created = previous.created;
            self.updated = previous.updated;
            self.unchanged = previous.unchanged;
            self.rejected = previous.rejected;
            self.rows = previous.rows;
            self.companies_created = previous.companies_created;
            self.kept_fields = previous.kept_fields;
        }
    }

    /// How many values were kept because they changed in Leadgate since the last import.
    pub fn kept_values(&self) -> u64 {
        self.kept_fields.values().sum()
    }
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} is empty: there is no header line")]
    Empty(String),
    #[error("{0} has a header but no rows")]
    NoRows(String),
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<leadgate_store::StoreError> for ImportError {
    fn from(e: leadgate_store::StoreError) -> Self {
        ImportError::App(e.into())
    }
}

/// How the file is laid out, found by looking at its start.
#[derive(Debug, Clone, Copy)]
struct Layout {
    delimiter: u8,
}

/// Looks at the first line: the separator is the one of `,` `;` `\t` that occurs most outside
/// quotes (French spreadsheets export with `;`).
fn sniff(head: &[u8]) -> Layout {
    let first_line: &[u8] = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first_line {
        if *b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == *b {
                    c.1 += 1;
                }
            }
        }
    }
    let delimiter = counts.iter().max_by_key(|c| c.1).filter(|c| c.1 > 0).map_or(b',', |c| c.0);
    Layout { delimiter }
}

/// A field as text: UTF-8, or Windows-1252 when it is not (old Excel exports), noted.
fn decode<'a>(bytes: &'a [u8], decoded_as: &mut Option<String>) -> std::borrow::Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            *decoded_as = Some("windows-1252".into());
            encoding_rs::WINDOWS_1252.decode(bytes).0
        }
    }
}

/// A file's records, each field read as [`decode`] reads it: the survey, the preview and the
/// import all read through this, so they cannot disagree on what a file says.
struct Records {
    rdr: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    name: String,
    /// The line the current record starts on (1 for the header).
    line: u64,
    /// Set once a field was not UTF-8.
    decoded_as: Option<String>,
}

impl Records {
    fn open(source: &dyn ImportSource) -> Result<(Records, Layout), ImportError> {
        let (rdr, layout) = reader(source)?;
        let records = Records {
            rdr,
            record: csv::ByteRecord::new(),
            name: source.name().to_string(),
            line: 0,
            decoded_as: None,
        };
        Ok((records, layout))
    }

    /// Reads the next record; false at the end of the file.
    fn advance(&mut self) -> Result<bool, ImportError> {
        let more = self
            .rdr
            .read_byte_record(&mut self.record)
            .map_err(|e| ImportError::Read(self.name.clone(), e.to_string()))?;
        if more {
            self.line = self.record.position().map_or(self.line + 1, |p| p.line());
        }
        Ok(more)
    }

    /// The current record's fields as text.
    fn fields(&mut self) -> Vec<String> {
        let decoded_as = &mut self.decoded_as;
        self.record.iter().map(|f| decode(f, decoded_as).into_owned()).collect()
    }

    /// The next record and the line it starts on; `None` at the end of the file.
    fn next_row(&mut self) -> Result<Option<(u64, Vec<String>)>, ImportError> {
        Ok(if self.advance()? { Some((self.line, self.fields())) } else { None })
    }
}

fn reader(source: &dyn ImportSource) -> Result<(csv::Reader<Box<dyn Read + Send>>, Layout), ImportError> {
    let read_err = |e: std::io::Error| ImportError::Read(source.name().to_string(), e.to_string());
    let mut head = Vec::with_capacity(64 * 1024);
    source.open().map_err(read_err)?.take(64 * 1024).read_to_end(&mut head).map_err(read_err)?;
    let layout = sniff(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head));
    let mut raw = source.open().map_err(read_err)?;
    // Skip a UTF-8 byte-order mark: Excel writes one, and it would glue itself to the first header.
    let mut bom = [0u8; 3];
    let n = raw.read(&mut bom).map_err(read_err)?;
    let prefix: Vec<u8> = if n == 3 && bom == *b"\xEF\xBB\xBF" { Vec::new() } else { bom[..n].to_vec() };
    let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(prefix).chain(raw));
    let rdr = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(chained);
    Ok((rdr, layout))
}

/// First pass: the header, the number of rows and what each column's values look like.
fn survey(
    source: &dyn ImportSource,
    plan_missing: &[String],
) -> Result<(Vec<String>, Vec<TypeInference>, u64, Layout), ImportError> {
    let (mut records, layout) = Records::open(source)?;
    if !records.advance()? {
        return Err(ImportError::Empty(source.name().to_string()));
    }
    let headers: Vec<String> = records.fields().iter().map(|f| f.trim().to_string()).collect();
    if headers.len() > MAX_COLUMNS {
        return Err(ImportError::Plan(format!(
            "{} has {} columns; at most {MAX_COLUMNS} can be imported: remove the columns you do not need",
            source.name(),
            headers.len()
        )));
    }
    if let Some(h) = headers.iter().find(|h| h.chars().count() > 200) {
        return Err(ImportError::Plan(format!(
            "{}: a column name is {} characters long (at most 200): `{}…`",
            source.name(),
            h.chars().count(),
            h.chars().take(40).collect::<String>()
        )));
    }
    let mut inferred = vec![TypeInference::default(); headers.len()];
    let mut rows = 0;
    while records.advance()? {
        rows += 1;
        // Decoded in place (no copy of UTF-8 fields): this pass reads every value of the file.
        let Records { record, decoded_as, .. } = &mut records;
        for (i, field) in record.iter().enumerate().take(headers.len()) {
            let text = decode(field, decoded_as);
            if !plan_missing.iter().any(|m| m.eq_ignore_ascii_case(text.trim())) {
                inferred[i].observe(&text);
            }
        }
    }
    if rows == 0 {
        return Err(ImportError::NoRows(source.name().to_string()));
    }
    Ok((headers, inferred, rows, layout))
}

/// The most columns a file may have (a spreadsheet of 100,000 columns is a mistake, and would
/// declare as many fields).
pub const MAX_COLUMNS: usize = 500;

/// A fingerprint of the file and of how it is imported: a re-run of the same import resumes.
fn fingerprint(
    source: &dyn ImportSource,
    entity: Entity,
    options: &ImportOptions,
) -> Result<String, ImportError> {
    let mut h = Sha256::new();
    let mut f = source.open().map_err(|e| ImportError::Read(source.name().to_string(), e.to_string()))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| ImportError::Read(source.name().to_string(), e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.update(
        format!(
            "{entity:?}{:?}{:?}{:?}{:?}{:?}",
            options.maps, options.preset, options.types, options.outcome, options.missing
        )
        .as_bytes(),
    );
    if options.overwrite {
        h.update(b"overwrite");
    }
    Ok(h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect())
}

/// Where the rows an import refused go.
pub trait RejectSink: Send {
    fn reject(&mut self, rejects: &[Reject]) -> Result<(), AppError>;
}

/// Rejects written as CSV (line, column, value, reason).
pub struct CsvRejects<W: std::io::Write + Send> {
    out: crate::export::CsvExport<W>,
    header_written: bool,
}

impl<W: std::io::Write + Send> CsvRejects<W> {
    pub fn new(w: W) -> Self {
        CsvRejects { out: crate::export::CsvExport::new(w), header_written: false }
    }
}

impl<W: std::io::Write + Send> RejectSink for CsvRejects<W> {
    fn reject(&mut self, rejects: &[Reject]) -> Result<(), AppError> {
        if !self.header_written {
            self.out.row(crate::export::REJECTS_HEADER)?;
            self.header_written = true;
        }
        crate::export::write_rejects(&mut self.out, rejects)?;
        self.out.flush()
    }
}

/// Rejects collected in memory (API jobs store them with the job).
#[derive(Default)]
pub struct CollectedRejects(pub Vec<Reject>);

impl RejectSink for CollectedRejects {
    fn reject(&mut self, rejects: &[Reject]) -> Result<(), AppError> {
        self.0.extend_from_slice(rejects);
        Ok(())
    }
}

/// How an import records its progress so a re-run resumes.
pub enum Checkpoint {
    /// A command-line import: in the `imports` table, by file fingerprint.
    File,
    /// An API import: in its job.
    Job {
        lease: leadgate_store::jobs::Lease,
        /// The last line its committed chunks covered (0: none)…
        resume_after: u64,
        /// …and what they counted.
        counts: serde_json::Value,
    },
}

impl App {
    /// Imports a file. `progress` gets rows done and total; `rejects` gets refused rows as they
    /// are found.
    #[allow(clippy::too_many_arguments)]
    pub async fn import(
        &self,
        principal: &Principal,
        entity: Entity,
        source: &dyn ImportSource,
        options: &ImportOptions,
        rejects: &mut dyn RejectSink,
        progress: &mut dyn Progress,
        checkpoint: Checkpoint,
    ) -> Result<ImportSummary, ImportError> {
        principal.require(Permission::Import)?;
        let (headers, inferred, total, layout) = survey(source, &options.missing)?;
        let plan = ImportPlan::build(entity, &headers, options, &inferred, source.name())
            .map_err(|e| ImportError::Plan(e.to_string()))?;
        let mut summary = ImportSummary {
            delimiter: match layout.delimiter {
                b';' => ";".into(),
                b'\t' => "tab".into(),
                _ => ",".into(),
            },
            ..Default::default()
        };
        summary.custom_fields = self.declare_import_fields(&plan, entity, source, options).await?;
        let print = fingerprint(source, entity, options)?;
        // A resumed import goes on counting from what its committed chunks counted.
        let mut resume_after = match &checkpoint {
            Checkpoint::File => {
                let mut s = self.store.read().await?;
                match s.import_progress(&print).await? {
                    Some(p) if p.finished_at.is_none() && p.last_line > 1 => {
                        summary.carry_counts(p.counts);
                        p.last_line
                    }
                    _ => 0,
                }
            }
            Checkpoint::Job { resume_after, counts, .. } => {
                if *resume_after > 0 {
                    summary.carry_counts(counts.clone());
                }
                *resume_after
            }
        };
        if resume_after > 0 {
            summary.resumed_after_line = Some(resume_after);
        }

        let tables = tables_of(plan.entity);
        let mut statistics = StatisticsDue::new(self.store.estimated_rows(tables[0]).await?);
        let (mut records, _) = Records::open(source)?;
        records.advance()?; // the header
        let mut batch: Vec<(u64, Vec<String>)> = Vec::with_capacity(CHUNK);
        progress.update(resume_after.saturating_sub(1), total);
        loop {
            let more = records.advance()?;
            if more {
                if records.line <= resume_after {
                    continue;
                }
                batch.push((records.line, records.fields()));
            }
            if batch.len() >= CHUNK || (!more && !batch.is_empty()) {
                let last = batch.last().map_or(records.line, |b| b.0);
                self.import_chunk(
                    principal,
                    &plan,
                    &batch,
                    &mut summary,
                    rejects,
                    &checkpoint,
                    &print,
                    source.name(),
                    last,
                )
                .await?;
                resume_after = last;
                batch.clear();
                progress.update(summary.rows, total);
                if statistics.due(summary.created + summary.companies_created) {
                    self.store.refresh_statistics(tables).await?;
                }
            }
            if !more {
                break;
            }
        }
        summary.decoded_as = records.decoded_as;
        summary.suggested_rules = self.rules_for_preset(options.preset.as_deref(), entity).await?;
        if let Checkpoint::File = checkpoint {
            let mut tx = self.store.begin().await?;
            let counts = serde_json::to_value(&summary).unwrap_or_default();
            tx.save_import_progress(
                &print,
                entity.as_str(),
                source.name(),
                resume_after,
                &counts,
                true,
                self.now(),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(summary)
    }

    /// Declares the custom fields the plan writes (once; an existing field keeps its type).
    async fn declare_import_fields(
        &self,
        plan: &ImportPlan,
        entity: Entity,
        source: &dyn ImportSource,
        options: &ImportOptions,
    ) -> Result<Vec<(String, String)>, ImportError> {
        let field_entity = match entity {
            Entity::Contacts => FieldEntity::Contact,
            Entity::Companies => FieldEntity::Company,
            Entity::Deals => return Ok(Vec::new()),
        };
        let wanted = plan.custom_fields();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // Choice fields list the values the file holds.
        let mut choices: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
        if wanted.iter().any(|(_, _, t)| *t == FieldType::Choice) {
            let (mut records, _) = Records::open(source)?;
            records.advance()?; // the header
            while let Some((_, row)) = records.next_row()? {
                for c in &plan.columns {
                    if let Target::Custom { key, field_type: FieldType::Choice } = &c.target
                        && let Some(v) = row.get(c.index)
                        && !plan.is_missing(v)
                    {
                        choices.entry(key.clone()).or_default().insert(v.trim().to_string());
                    }
                }
            }
        }
        let _ = options;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let existing = tx.custom_fields(Some(field_entity)).await?;
        let new = wanted.iter().filter(|(key, _, _)| !existing.iter().any(|d| d.key == *key)).count();
        let limit = leadgate_core::custom_field::MAX_CUSTOM_FIELDS;
        if existing.len() + new > limit {
            return Err(ImportError::Plan(format!(
                "this file would declare {new} new custom fields; {} are declared and a workspace may have {limit}: \
                 map the columns you do not need with --map ignore=Column (or map them to existing fields)",
                existing.len()
            )));
        }
        let mut declared = Vec::new();
        for (key, header, field_type) in wanted {
            if let Some(d) = existing.iter().find(|d| d.key == key) {
                declared.push((key.to_string(), d.field_type.as_str().to_string()));
                continue;
            }
            let def = CustomFieldDefinition {
                entity: field_entity,
                key: key.to_string(),
                label: header.chars().take(200).collect(),
                field_type,
                choices: choices.remove(key).map(|s| s.into_iter().take(500).collect()).unwrap_or_default(),
            };
            def.validate().map_err(|e| ImportError::Plan(format!("column `{header}`: {e}")))?;
            tx.insert_custom_field(&def, now).await?;
            declared.push((key.to_string(), field_type.as_str().to_string()));
        }
        tx.commit().await?;
        Ok(declared)
    }

    /// Imports one chunk of rows in one transaction, with its checkpoint.
    #[allow(clippy::too_many_arguments)]
    async fn import_chunk(
        &self,
        principal: &Principal,
        plan: &ImportPlan,
        batch: &[(u64, Vec<String>)],
        summary: &mut ImportSummary,
        rejects: &mut dyn RejectSink,
        checkpoint: &Checkpoint,
        print: &str,
        file_name: &str,
        last_line: u64,
    ) -> Result<(), ImportError> {
        let now = self.now();
        let mut mapped = Vec::with_capacity(batch.len());
        let mut refused = Vec::new();
        for (line, fields) in batch {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            match plan.map_row(&refs, *line) {
                Ok(row) => mapped.push((*line, row)),
                Err(r) => refused.extend(r),
            }
        }
        let mut tx = self.store.begin().await?;
        if let Entity::Deals = plan.entity {
            // A stage the file names must be one the team's pipeline has.
            let settings = self.settings_in(&mut tx).await?;
            let column = plan
                .columns
                .iter()
                .find(|c| matches!(c.target, leadgate_core::import::Target::Stage))
                .map(|c| c.header.clone())
                .unwrap_or_default();
            mapped.retain(|(line, row)| match row {
                MappedRow::Deal(d) if !settings.has(d.stage) => {
                    refused.push(Reject {
                        line: *line,
                        column: column.clone(),
                        value: d.stage.to_string(),
                        reason: format!("is not a stage of the pipeline: one of {}", settings.stage_list()),
                    });
                    false
                }
                _ => true,
            });
        }
        let outcome = match plan.entity {
            Entity::Contacts => self.import_contacts(&mut tx, plan, mapped, now).await?,
            Entity::Companies => import_companies(&mut tx, mapped, now).await?,
            Entity::Deals => import_deals(&mut tx, mapped, now).await?,
        };
        refused.extend(outcome.refused);
        summary.rows += batch.len() as u64;
        summary.created += outcome.created;
        summary.updated += outcome.updated;
        summary.unchanged += outcome.unchanged;
        summary.companies_created += outcome.companies_created;
        for (field, n) in outcome.kept {
            *summary.kept_fields.entry(field).or_default() += n;
        }
        let refused_rows =
            refused.iter().map(|r| r.line).collect::<std::collections::HashSet<_>>().len() as u64;
        summary.rejected += refused_rows;
        match checkpoint {
            Checkpoint::File => {
                let counts = serde_json::to_value(&*summary).unwrap_or_default();
                tx.save_import_progress(
                    print,
                    plan.entity.as_str(),
                    file_name,
                    last_line,
                    &counts,
                    false,
                    now,
                )
                .await?;
            }
            Checkpoint::Job { lease, .. } => {
                tx.insert_rejects(lease.job, &refused).await?;
                let still = tx
                    .job_progress(
                        lease,
                        summary.rows as i64,
                        None,
                        Some(&serde_json::json!({ "line": last_line, "summary": &*summary }).to_string()),
                        now + self.job_lease,
                        now,
                    )
                    .await?;
                if !still {
                    return Err(
                        AppError::Internal("the import job was taken over by another worker".into()).into()
                    );
                }
            }
        }
        tx.commit().await?;
        if !matches!(checkpoint, Checkpoint::Job { .. }) && !refused.is_empty() {
            rejects.reject(&refused)?;
        }
        let _ = principal;
        Ok(())
    }

    async fn import_contacts(
        &self,
        tx: &mut Session,
        plan: &ImportPlan,
        rows: Vec<(u64, MappedRow)>,
        now: Timestamp,
    ) -> Result<ChunkOutcome, ImportError> {
        let mut out = ChunkOutcome::default();
        let mut contacts: Vec<(u64, ContactRow)> = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            if let MappedRow::Contact(mut c) = row {
                // Without an e-mail or an external id a row could not be recognised on a second
                // import; a key derived from its content makes re-importing it harmless.
                if c.draft.email.is_none() && c.draft.external_id.is_none() {
                    c.draft.external_id = Some(row_key(&c));
                }
                contacts.push((line, c));
            }
        }
        // Companies named by the rows: found by name, or created.
        let names: Vec<String> = {
            let mut n: Vec<String> = contacts.iter().filter_map(|(_, c)| c.company.clone()).collect();
            n.sort_by_cached_key(|s| fold(s));
            n.dedup_by_key(|s| fold(s));
            n
        };
        let companies = company_ids(tx, &names, now, &mut out.companies_created).await?;

        let external: Vec<String> =
            contacts.iter().filter_map(|(_, c)| c.draft.external_id.clone()).collect();
        let emails: Vec<String> =
            contacts.iter().filter_map(|(_, c)| c.draft.email.as_ref().map(|e| e.to_lowercase())).collect();
        let by_external = tx.contacts_by_external_ids(&external).await?;
        let by_email = tx.contacts_by_email_keys(&emails).await?;
        // Erased people on the suppression list are not recorded again: their rows are refused.
        let unknown: Vec<leadgate_core::email::Email> = contacts
            .iter()
            .filter_map(|(_, c)| c.draft.email.as_deref())
            .filter(|e| !by_email.contains_key(&e.to_lowercase()))
            .filter_map(|e| leadgate_core::email::Email::parse(e).ok())
            .collect();
        let suppressed = self
            .suppressed_keys(tx, &unknown.iter().collect::<Vec<_>>(), crate::privacy::WayIn::Copy)
            .await?;
        let defs = tx.custom_fields(Some(FieldEntity::Contact)).await?;
        // What the last import wrote into the stored contacts: values changed since are kept.
        let known: Vec<ContactId> = by_external.values().chain(by_email.values()).map(|c| c.id).collect();
        let mut baselines = tx.import_baselines(&known).await?;
        let mut baselines_changed: Vec<ContactId> = Vec::new();

        // New contacts of this chunk, with whether they converted.
        let mut new: Vec<(ContactId, NewContact, Option<bool>)> = Vec::new();
        // Rows of this chunk already handled, by key: a file listing someone twice merges them.
        let mut seen: HashMap<String, usize> = HashMap::new();
        // Stored contacts changed by this chunk, latest version (a person may appear twice).
        let mut changed: HashMap<ContactId, Contact> = HashMap::new();
        let mut touched: Vec<ContactId> = Vec::new();
        let mut outcomes: Vec<(ContactId, bool)> = Vec::new();
        for (line, c) in contacts {
            let mut draft = c.draft;
            draft.company_id = c.company.as_ref().and_then(|n| companies.get(&fold(n)).copied());
            let custom = draft.custom.take().unwrap_or_default();
            let checked = match leadgate_core::custom_field::check_custom_values(&defs, &custom) {
                Ok(v) => v,
                Err(errors) => {
                    out.refused.extend(errors.errors.into_iter().map(|e| Reject {
                        line,
                        column: plan
                            .columns
                            .iter()
                            .find(|col| matches!(&col.target, Target::Custom { key, .. } if format!("custom.{key}") == e.field))
                            .map_or(e.field.clone(), |col| col.header.clone()),
                        value: String::new(),
                        reason: e.message,
                    }));
                    continue;
                }
            };
            // (Only addresses no stored contact has are on the list: a row giving one to a contact
            // matched by its external id would bring the erased person back too.)
            if draft.email.as_ref().is_some_and(|e| suppressed.contains(&e.to_lowercase())) {
                // The address itself stays out of the report: it is an erased person's.
                out.refused.push(Reject {
                    line,
                    column: "email".into(),
                    value: String::new(),
                    reason: crate::privacy::SUPPRESSED.into(),
                });
                continue;
            }
            let key_ext = draft.external_id.clone().map(|k| format!("x:{k}"));
            let key_mail = draft.email.as_ref().map(|e| format!("m:{}", e.to_lowercase()));
            let stored = draft
                .external_id
                .as_ref()
                .and_then(|k| by_external.get(k))
                .or_else(|| draft.email.as_ref().and_then(|e| by_email.get(&e.to_lowercase())));
            let in_chunk = key_ext
                .as_ref()
                .and_then(|k| seen.get(k))
                .or_else(|| key_mail.as_ref().and_then(|k| seen.get(k)))
                .copied();
            let validated = match draft.clone().validate() {
                Ok(v) => v,
                Err(e) => {
                    out.refused.extend(e.errors.into_iter().map(|e| Reject {
                        line,
                        column: e.field,
                        value: String::new(),
                        reason: e.message,
                    }));
                    continue;
                }
            };
            match (stored, in_chunk) {
                (_, Some(index)) if index < new.len() && stored.is_none() => {
                    // Listed twice in this chunk, not stored yet: the later row completes the first.
                    let (_, first, converted) = &mut new[index];
                    merge_new(first, validated, checked);
                    if c.outcome.is_some() {
                        *converted = c.outcome;
                    }
                    out.unchanged += 1;
                }
                (Some(existing), _) => {
                    let id = existing.id;
                    let mut next = changed.get(&id).cloned().unwrap_or_else(|| existing.clone());
                    let before = next.clone();
                    let baseline = baselines.entry(id).or_default();
                    let baseline_before = baseline.clone();
                    for field in merge_row(&mut next, baseline, &validated, checked, plan.overwrite) {
                        *out.kept.entry(field).or_default() += 1;
                    }
                    if *baseline != baseline_before {
                        baselines_changed.push(id);
                    }
                    if next == before {
                        // The outcome is a label for training, not an input of the score.
                        out.unchanged += 1;
                    } else {
                        next.updated_at = now;
                        changed.insert(id, next);
                        touched.push(id);
                        out.updated += 1;
                    }
                    if let Some(o) = c.outcome {
                        outcomes.push((id, o));
                    }
                }
                (None, _) => {
                    let id = ContactId(new_uuid());
                    let mut n = validated;
                    n.custom = checked;
                    if let Some(k) = &key_ext {
                        seen.insert(k.clone(), new.len());
                    }
                    if let Some(k) = &key_mail {
                        seen.insert(k.clone(), new.len());
                    }
                    new.push((id, n, c.outcome));
                    out.created += 1;
                }
            }
        }
        for (id, c, _) in &new {
            baselines.insert(*id, baseline_of(c));
            baselines_changed.push(*id);
        }
        let (fresh, converted): (Vec<Contact>, Vec<Option<bool>>) =
            new.into_iter().map(|(id, c, o)| (c.into_contact(id, now), o)).unzip();
        let (scored, transitions) = self.score_new(tx, fresh, now).await?;
        let rows: Vec<ContactToInsert> = scored
            .into_iter()
            .zip(converted)
            .map(|((contact, stage_changed_at), outcome)| ContactToInsert {
                contact,
                stage_changed_at,
                outcome,
            })
            .collect();
        tx.insert_contacts(&rows, now).await?;
        tx.insert_transitions(&transitions).await?;
        for c in changed.values() {
            tx.update_contact(c).await?;
        }
        tx.set_outcomes(&outcomes, now).await?;
        baselines_changed.sort();
        baselines_changed.dedup();
        let saved: Vec<_> =
            baselines_changed.iter().filter_map(|id| Some((*id, baselines.get(id)?))).collect();
        tx.save_import_baselines(&saved).await?;
        touched.sort();
        touched.dedup();
        self.rescore_in(tx, &touched, now, &Default::default()).await?;
        Ok(out)
    }
}

#[derive(Default)]
struct ChunkOutcome {
    created: u64,
    updated: u64,
    unchanged: u64,
    companies_created: u64,
    refused: Vec<Reject>,
    /// Values kept because they changed in Leadgate since the last import, by field.
    kept: std::collections::BTreeMap<String, u64>,
}

/// A stable key for a row that has neither e-mail nor external id: its content, hashed.
fn row_key(c: &ContactRow) -> String {
    let d = &c.draft;
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        d.first_name, d.last_name, d.phone, d.job_title, c.company, d.city
    );
    let digest = Sha256::digest(text.to_lowercase().as_bytes());
    format!("row:{}", digest.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>())
}

/// Fills what `next` lacks from a later row of the same person.
fn merge_new(first: &mut NewContact, later: NewContact, custom: serde_json::Map<String, serde_json::Value>) {
    macro_rules! fill {
        ($($f:ident),*) => {$(
            if later.$f.is_some() { first.$f = later.$f; }
        )*};
    }
    fill!(
        email,
        first_name,
        last_name,
        phone,
        job_title,
        company_id,
        country,
        city,
        external_id,
        source,
        campaign
    );
    first.do_not_email |= later.do_not_email;
    first.do_not_call |= later.do_not_call;
    merge_custom_values(&mut first.custom, custom);
}

/// The id of the company named `name` (case and accents aside), created if none exists.
pub(crate) async fn company_id_by_name(
    tx: &mut Session,
    name: &str,
    now: Timestamp,
) -> Result<CompanyId, AppError> {
    let mut created = 0;
    let ids = company_ids(tx, std::slice::from_ref(&name.to_string()), now, &mut created)
        .await
        .map_err(import_app_error)?;
    ids.get(&fold(name)).copied().ok_or_else(|| AppError::invalid("company", "is not a valid company name"))
}

/// Ids of the companies named, creating those not stored yet.
async fn company_ids(
    tx: &mut Session,
    names: &[String],
    now: Timestamp,
    created: &mut u64,
) -> Result<HashMap<String, CompanyId>, ImportError> {
    let mut ids = tx.company_ids_by_names(names).await?;
    for name in names {
        let key = fold(name);
        if ids.contains_key(&key) {
            continue;
        }
        let Ok(new) = (CompanyDraft { name: name.clone(), ..Default::default() }).validate() else {
            continue;
        };
        let company = tx.insert_company(CompanyId(new_uuid()), new, now).await?;
        ids.insert(key, company.id);
        *created += 1;
    }
    Ok(ids)
}

async fn import_companies(
    tx: &mut Session,
    rows: Vec<(u64, MappedRow)>,
    now: Timestamp,
) -> Result<ChunkOutcome, ImportError> {
    let mut out = ChunkOutcome::default();
    let drafts: Vec<NewCompany> = rows
        .into_iter()
        .filter_map(|(line, r)| match r {
            MappedRow::Company(c) => match c.draft.validate() {
                Ok(n) => Some(n),
                Err(e) => {
                    out.refused.extend(e.errors.into_iter().map(|e| Reject {
                        line,
                        column: e.field,
                        value: String::new(),
                        reason: e.message,
                    }));
                    None
                }
            },
            _ => None,
        })
        .collect();
    let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    let existing = tx.companies_by_names(&names).await?;
    let defs = tx.custom_fields(Some(FieldEntity::Company)).await?;
    let mut created_in_chunk: HashMap<String, ()> = HashMap::new();
    for d in drafts {
        let key = fold(&d.name);
        let custom = leadgate_core::custom_field::check_custom_values(&defs, &d.custom).unwrap_or_default();
        match existing.get(&key) {
            Some(old) => {
                let mut next = old.clone();
                macro_rules! set {
                    ($($f:ident),*) => {$(
                        if d.$f.is_some() { next.$f = d.$f.clone(); }
                    )*};
                }
                set!(domain, sector, employees, annual_revenue, country, external_id);
                merge_custom_values(&mut next.custom, custom);
                if next == *old {
                    out.unchanged += 1;
                } else {
                    next.updated_at = now;
                    tx.update_company(&next).await?;
                    out.updated += 1;
                }
            }
            None if created_in_chunk.contains_key(&key) => out.unchanged += 1,
            None => {
                let mut new = d;
                new.custom = custom;
                tx.insert_company(CompanyId(new_uuid()), new, now).await?;
                created_in_chunk.insert(key, ());
                out.created += 1;
            }
        }
    }
    Ok(out)
}

async fn import_deals(
    tx: &mut Session,
    rows: Vec<(u64, MappedRow)>,
    now: Timestamp,
) -> Result<ChunkOutcome, ImportError> {
    let mut out = ChunkOutcome::default();
    let deals: Vec<_> = rows
        .into_iter()
        .filter_map(|(_, r)| match r {
            MappedRow::Deal(d) => Some(d),
            _ => None,
        })
        .collect();
    let names: Vec<String> = {
        let mut n: Vec<String> = deals.iter().filter_map(|d| d.company.clone()).collect();
        n.sort_by_cached_key(|s| fold(s));
        n.dedup_by_key(|s| fold(s));
        n
    };
    let companies = company_ids(tx, &names, now, &mut out.companies_created).await?;
    let new: Vec<ImportedDeal> = deals
        .into_iter()
        .map(|d| ImportedDeal {
            company_id: d.company.as_ref().and_then(|n| companies.get(&fold(n)).copied()),
            // The source has no name for a deal: its account and product say what it is.
            name: match (&d.company, &d.product) {
                (Some(c), Some(p)) => format!("{c} — {p}"),
                (Some(c), None) => c.clone(),
                (None, Some(p)) => format!("{} — {p}", d.external_id),
                (None, None) => d.external_id.clone(),
            },
            external_id: d.external_id,
            stage: d.stage,
            owner_name: d.owner,
            product: d.product,
            value: d.value,
            engaged_on: d.engaged_on,
            closed_on: d.closed_on,
            custom: d.custom,
        })
        .collect();
    let (created, updated, unchanged) = tx.upsert_deals(&new, now).await?;
    out.created += created;
    out.updated += updated;
    out.unchanged += unchanged;
    Ok(out)
}

/// The job kind that runs an uploaded import.
pub const IMPORT_JOB: &str = "import";

/// An import to run on an uploaded file (the payload of an import job).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The file, from `POST /api/v1/uploads`.
    pub upload_id: uuid::Uuid,
    /// contacts, companies or deals.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "contacts"))]
    pub entity: String,
    /// Columns sent to fields: `{"email": "Courriel", "custom.budget": "Budget"}`.
    #[serde(default)]
    pub map: std::collections::BTreeMap<String, String>,
    /// A saved mapping: `x-education` (contacts) or `maven-crm` (companies, deals).
    #[serde(default)]
    pub preset: Option<String>,
    /// Types of custom-field columns: `{"Plan": "choice"}`.
    #[serde(default)]
    pub types: std::collections::BTreeMap<String, String>,
    /// Values meaning "no value", e.g. `["Select"]`.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The column telling whether the contact converted and its positive value.
    #[serde(default)]
    pub outcome: Option<OutcomeColumn>,
    /// Replace values changed in Leadgate since the last import with the file's (by default
    /// they are kept, and counted in the summary's `kept_fields`).
    #[serde(default)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutcomeColumn {
    pub column: String,
    pub positive: String,
}

impl ImportRequest {
    fn entity(&self) -> Result<Entity, AppError> {
        Entity::parse(&self.entity)
            .ok_or_else(|| AppError::invalid("entity", "must be contacts, companies or deals"))
    }

    fn options(&self) -> ImportOptions {
        ImportOptions {
            maps: self.map.iter().map(|(f, c)| (f.clone(), c.clone())).collect(),
            preset: self.preset.clone(),
            types: self.types.iter().map(|(c, t)| (c.clone(), t.clone())).collect(),
            outcome: self.outcome.as_ref().map(|o| (o.column.clone(), o.positive.clone())),
            missing: self.missing.clone(),
            overwrite: self.overwrite,
        }
    }
}

/// The largest file accepted through the API (larger ones: `leadgate import` on the server).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// An uploaded file, before its import.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    pub id: uuid::Uuid,
    pub name: String,
    pub bytes: usize,
}

/// What a file would become: the detected columns and the first rows, for the import wizard.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub rows: u64,
    pub delimiter: String,
    /// Per column: header, target field, how it was chosen, type.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub columns: Vec<serde_json::Value>,
    /// The first rows, as text.
    pub sample: Vec<Vec<String>>,
    /// Set when the file is not UTF-8 and is read as Windows-1252.
    pub decoded_as: Option<String>,
}

impl App {
    /// Stores an uploaded file for a later import.
    pub async fn upload(
        &self,
        principal: &Principal,
        name: &str,
        content: Vec<u8>,
    ) -> Result<Upload, AppError> {
        principal.require(Permission::Import)?;
        if content.is_empty() {
            return Err(AppError::invalid("body", "the file is empty"));
        }
        let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
        let name = if name.trim().is_empty() { "upload.csv".to_string() } else { name };
        let id = new_uuid();
        let bytes = content.len();
        let mut tx = self.store.begin().await?;
        tx.insert_upload(id, &name, content, Some(principal.user.id), self.now()).await?;
        tx.commit().await?;
        Ok(Upload { id, name, bytes })
    }

    /// The built-in scoring rules of an import preset, unless they (or rules made from them,
    /// which keep their description) are the active ones.
    async fn rules_for_preset(
        &self,
        preset: Option<&str>,
        entity: Entity,
    ) -> Result<Option<String>, AppError> {
        let Some(name) =
            preset.and_then(|p| leadgate_core::import::presets::preset(p, entity)).and_then(|p| p.scoring)
        else {
            return Ok(None);
        };
        let Some(rules) = leadgate_core::scoring::ScoringRules::preset(name) else { return Ok(None) };
        let active = self.active_rules(&mut self.store.read().await?).await?;
        Ok((active.rules.doc.description != rules.doc.description).then(|| name.to_string()))
    }

    async fn upload_source(&self, id: uuid::Uuid) -> Result<BytesSource, AppError> {
        let (name, content) = self.store.read().await?.get_upload(id).await?.ok_or_else(|| {
            AppError::invalid("upload_id", format!("no upload has the id {id}; upload the file first"))
        })?;
        Ok(BytesSource { name, content: Arc::new(content) })
    }

    /// The mapping an import would use and the first rows, without importing.
    pub async fn preview_import(
        &self,
        principal: &Principal,
        request: &ImportRequest,
    ) -> Result<ImportPreview, AppError> {
        principal.require(Permission::Import)?;
        let entity = request.entity()?;
        let source = self.upload_source(request.upload_id).await?;
        let options = request.options();
        let (headers, inferred, rows, layout) =
            survey(&source, &options.missing).map_err(import_app_error)?;
        let plan = ImportPlan::build(entity, &headers, &options, &inferred, source.name())
            .map_err(|e| AppError::invalid("map", e.to_string()))?;
        let (mut records, _) = Records::open(&source).map_err(import_app_error)?;
        let mut sample = Vec::new();
        records.advance().map_err(import_app_error)?; // the header
        while sample.len() < 10
            && let Some((_, row)) = records.next_row().map_err(import_app_error)?
        {
            sample.push(row);
        }
        let columns = plan.columns.iter().map(|c| serde_json::to_value(c).unwrap_or_default()).collect();
        Ok(ImportPreview {
            rows,
            delimiter: (layout.delimiter as char).to_string().replace('\t', "tab"),
            columns,
            sample,
            decoded_as: records.decoded_as,
        })
    }

    /// Starts an import of an uploaded file as a background job.
    pub async fn start_import(
        &self,
        principal: &Principal,
        request: ImportRequest,
    ) -> Result<leadgate_store::jobs::Job, AppError> {
        principal.require(Permission::Import)?;
        request.entity()?;
        // Refuse a file that cannot be imported now, rather than in a job nobody watches.
        self.preview_import(principal, &request).await?;
        self.queue_job(principal, IMPORT_JOB, &request, 3).await
    }

    /// Runs an import job (called by the job runner).
    pub(crate) async fn run_import_job(
        &self,
        job: &leadgate_store::jobs::Job,
        lease: &leadgate_store::jobs::Lease,
    ) -> Result<serde_json::Value, AppError> {
        let request: ImportRequest = serde_json::from_value(job.payload.clone())
            .map_err(|e| AppError::Internal(format!("bad import job payload: {e}")))?;
        let entity = request.entity()?;
        let source = self.upload_source(request.upload_id).await?;
        let principal = self.job_principal(job.created_by).await?;
        let checkpoint =
            job.checkpoint.as_deref().and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        let resume_after = checkpoint.as_ref().and_then(|v| v.get("line")?.as_u64()).unwrap_or(0);
        let counts = checkpoint
            .and_then(|mut v| v.get_mut("summary").map(serde_json::Value::take))
            .unwrap_or_default();
        let mut sink = CollectedRejects::default();
        let summary = self
            .import(
                &principal,
                entity,
                &source,
                &request.options(),
                &mut sink,
                &mut (),
                Checkpoint::Job { lease: lease.clone(), resume_after, counts },
            )
            .await
            .map_err(import_app_error)?;
        serde_json::to_value(&summary).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The rows an import job refused.
    /// An import's job: its progress and summary.
    pub async fn import_job(
        &self,
        principal: &Principal,
        job: leadgate_core::ids::JobId,
    ) -> Result<leadgate_store::jobs::Job, AppError> {
        principal.require(Permission::Import)?;
        let found = self.store.read().await?.get_job(job).await?;
        found.filter(|j| j.kind == IMPORT_JOB).ok_or_else(|| AppError::not_found("import", job))
    }

    pub async fn import_rejects(
        &self,
        principal: &Principal,
        job: leadgate_core::ids::JobId,
    ) -> Result<Vec<Reject>, AppError> {
        principal.require(Permission::Import)?;
        let mut s = self.store.read().await?;
        if s.get_job(job).await?.is_none_or(|j| j.kind != IMPORT_JOB) {
            return Err(AppError::not_found("import", job));
        }
        Ok(s.rejects_of(job).await?)
    }
}

/// An import failure as an application error (a file that cannot be read is the client's).
pub fn import_app_error(e: ImportError) -> AppError {
    match e {
        ImportError::App(e) => e,
        ImportError::Plan(text) => AppError::invalid("map", text),
        other => AppError::invalid("file", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_refreshed_each_time_the_tables_double() {
        // A fresh database: after the first chunk, then at each doubling.
        let mut due = StatisticsDue::new(0);
        let refreshed: Vec<u64> = (1..=40).map(|k| k * 5_000).filter(|&added| due.due(added)).collect();
        assert_eq!(refreshed, vec![5_000, 10_000, 20_000, 40_000, 80_000, 160_000]);
        // A table of a million rows: an import of 100,000 changes its statistics too little.
        let mut due = StatisticsDue::new(1_000_000);
        assert!((1..=20).all(|k| !due.due(k * 5_000)));
        assert!(due.due(1_000_000), "until it doubles the table");
    }
}
